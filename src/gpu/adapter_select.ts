/**
 * `device.adapter`: which WebGPU adapter a run uses, by index or by a substring of its name.
 * WebGPU has no "list the adapters" call, so kiln lists what it can reach: the adapter returned
 * for `high-performance`, then for `low-power`, then the fallback (software) adapter, with
 * duplicates dropped. On a host with several GPUs of one kind the OS's own mechanism picks which
 * one a process sees (see README "Sweeps"); this choice is among the adapters Deno offers.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";

/** An adapter kiln can open, with the name that `device.adapter` matches against. */
export interface AdapterChoice {
  adapter: GPUAdapter;
  name: string;
}

function adapterName(a: GPUAdapter): string {
  const i = a.info;
  return i.description || [i.vendor, i.architecture, i.device].filter(Boolean).join(" ") ||
    "unknown adapter";
}

/** The distinct adapters Deno returns, in kiln's order (high-performance, low-power, fallback). */
export async function listAdapters(): Promise<AdapterChoice[]> {
  const asks: GPURequestAdapterOptions[] = [
    { powerPreference: "high-performance" },
    { powerPreference: "low-power" },
    { forceFallbackAdapter: true },
  ];
  const out: AdapterChoice[] = [];
  for (const ask of asks) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = (await navigator.gpu?.requestAdapter(ask)) ?? null;
    } catch { /* this kind is not available */ }
    if (!adapter) continue;
    const name = adapterName(adapter);
    const key = `${name}|${adapter.info.vendor}|${adapter.info.device}`;
    if (!out.some((c) => `${c.name}|${c.adapter.info.vendor}|${c.adapter.info.device}` === key)) {
      out.push({ adapter, name });
    }
  }
  return out;
}

/**
 * The adapter `selector` names: an index into {@link listAdapters}, or a case-insensitive
 * substring of an adapter's name (the first match). A selector that matches nothing is a
 * one-line UserError listing what there is.
 */
export async function selectAdapter(selector: number | string): Promise<GPUAdapter> {
  const all = await listAdapters();
  const names = all.map((c, i) => `${i}: ${c.name}`).join("; ") || "none";
  const found = typeof selector === "number"
    ? all[selector]
    : all.find((c) => c.name.toLowerCase().includes(selector.toLowerCase()));
  if (!found) {
    throw new UserError(`device.adapter ${JSON.stringify(selector)}: no such adapter (${names})`);
  }
  return found.adapter;
}

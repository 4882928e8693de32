/**
 * What a resume changes against the run's saved `config.yaml`, and which of those changes break
 * an exact resume (the batches, their order, or the model would differ from the run's own):
 * the seed, the batch size, gradient accumulation, anything under `data` or `model`.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import type { Config } from "../config/schema.ts";

/** One changed config key. */
export interface ConfigChange {
  key: string;
  from: unknown;
  to: unknown;
  /** True when the change makes the resumed run differ from an uninterrupted one. */
  breaksExactResume: boolean;
}

const BREAKING_KEYS = new Set(["seed", "training.batch_size", "training.grad_accum_steps"]);
const BREAKING_PREFIXES = ["data.", "model."];

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) out.set(prefix, value);
}

/** The keys that differ between the saved config and the one resumed with, sorted by key. */
export function configChanges(saved: Config, now: Config): ConfigChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(saved, "", a);
  flatten(now, "", b);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => !isDeepStrictEqual(a.get(k), b.get(k))).map((key) => ({
    key,
    from: a.get(key),
    to: b.get(key),
    breaksExactResume: BREAKING_KEYS.has(key) || BREAKING_PREFIXES.some((p) => key.startsWith(p)),
  }));
}

/** `seed 5 → 6` (JSON values; an absent key shows as "unset"). */
export function describeChange(c: ConfigChange): string {
  const show = (v: unknown) => v === undefined ? "unset" : JSON.stringify(v);
  return `${c.key} ${show(c.from)} → ${show(c.to)}`;
}

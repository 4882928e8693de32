/**
 * `validate --verify`: checks that a checkpoint is what it claims to be — loading it twice gives
 * bit-identical parameters equal to the file's, evaluating it reproduces the validation loss the
 * run logged at that step, KV-cached decoding gives the full forward's logits, and seeded sampling
 * is deterministic.
 *
 * @module
 */

import type { Device } from "../gpu/device.ts";
import { KVCache } from "../nn/kv_cache.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { readMetrics } from "../train/metrics.ts";
import { evaluateModel } from "./evaluate.ts";
import { generate } from "./generate.ts";
import { type LoadedModel, loadModel } from "./load.ts";

/** One verification check. `ok: null` means it could not apply (said in `detail`). */
export interface VerifyCheck {
  name: string;
  ok: boolean | null;
  detail: string;
}

/** All checks; `ok` is false when any applicable check failed. */
export interface VerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
}

/** Cached vs full logits: f32 rounding relative to the largest logit. */
const CACHE_TOLERANCE = 1e-4;

/** Relative difference allowed between the logged and the recomputed val loss. */
const LOSS_TOLERANCE = 1e-5;

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

async function checkReload(first: LoadedModel, second: LoadedModel): Promise<VerifyCheck> {
  const a = await first.model.params.read();
  const b = await second.model.params.read();
  const differing = [...a.keys()].filter((name) => !sameBits(a.get(name)!, b.get(name)!));
  const stored = first.checkpoint?.params;
  const unlike = stored
    ? [...a.keys()].filter((name) => !sameBits(a.get(name)!, stored.get(name)!.data))
    : [];
  const bad = [...new Set([...differing, ...unlike])];
  return {
    name: "reload",
    ok: bad.length === 0,
    detail: bad.length === 0
      ? `${a.size} tensors identical across two loads${stored ? " and equal to the file" : ""}`
      : `tensors differ: ${bad.slice(0, 5).join(", ")}${bad.length > 5 ? ", …" : ""}`,
  };
}

/** The val loss the run logged at the checkpoint's step (the last such line wins), or null. */
async function loggedValLoss(loaded: LoadedModel): Promise<number | null> {
  if (!loaded.runDir || !loaded.checkpoint) return null;
  const step = loaded.checkpoint.state.step;
  let found: number | null = null;
  for (const line of await readMetrics(loaded.runDir)) {
    if (line.type === "val" && line.step === step) found = line.loss;
  }
  return found;
}

async function checkValLoss(loaded: LoadedModel): Promise<VerifyCheck> {
  const logged = await loggedValLoss(loaded);
  if (logged === null) {
    return {
      name: "val loss",
      ok: null,
      detail: loaded.runDir
        ? `no validation was logged at step ${loaded.checkpoint?.state.step}; not compared`
        : "no run directory (metrics.jsonl); not compared",
    };
  }
  const { loss } = await evaluateModel(loaded);
  const diff = Math.abs(loss - logged);
  return {
    name: "val loss",
    ok: diff <= LOSS_TOLERANCE * Math.max(1, Math.abs(logged)),
    detail: `logged ${logged} at step ${loaded.checkpoint!.state.step}, recomputed ${loss} ` +
      `(|Δ| = ${diff.toExponential(2)})`,
  };
}

async function checkSampling(loaded: LoadedModel): Promise<VerifyCheck> {
  const codec = await loaded.codec();
  const prompt = [codec.startId ?? 0];
  const opts = { temperature: 1, maxNewTokens: 24, seed: 1234 };
  const a = await generate(loaded.model, prompt, opts);
  const b = await generate(loaded.model, prompt, opts);
  const same = a.ids.join(",") === b.ids.join(",");
  return {
    name: "seeded generation",
    ok: same,
    detail: same
      ? `seed 1234 gave the same ${a.ids.length} tokens twice`
      : `seed 1234 gave different tokens: ${a.ids.join(",")} vs ${b.ids.join(",")}`,
  };
}

/**
 * Cached decoding (a prefill of half the sequence, then one token at a time) against one full
 * forward, on a deterministic token sequence of the model's whole context.
 */
async function checkCache(loaded: LoadedModel): Promise<VerifyCheck> {
  const { model } = loaded;
  const { vocab_size: V, max_seq_len: context } = model.config;
  const T = Math.min(context, 64);
  const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V);
  const full = tidy(() =>
    noGrad(() =>
      model.forward(Tensor.fromArray(model.device, ids, [1, T], { dtype: "i32" })).logits!
    )
  );
  const want = await full.toArray() as Float32Array;
  full.release();
  const cache = new KVCache(model);
  const half = Math.max(1, T >> 1);
  const rows: Float32Array[] = [];
  try {
    const prefill = cache.forward(ids.slice(0, half), { allLogits: true });
    rows.push(await prefill.toArray() as Float32Array);
    prefill.release();
    for (let p = half; p < T; p++) {
      const row = cache.forward([ids[p]]);
      rows.push(await row.toArray() as Float32Array);
      row.release();
    }
  } finally {
    cache.release();
  }
  let offset = 0;
  let worst = 0;
  let scale = 0;
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) {
      worst = Math.max(worst, Math.abs(r[i] - want[offset + i]));
      scale = Math.max(scale, Math.abs(want[offset + i]));
    }
    offset += r.length;
  }
  const ok = offset === T * V && worst <= CACHE_TOLERANCE * Math.max(1, scale);
  return {
    name: "KV cache",
    ok,
    detail: `cached and full-forward logits over ${T} positions differ by at most ` +
      `${worst.toExponential(2)} (largest logit ${scale.toFixed(2)})`,
  };
}

/** Runs every check on the model at `path`. */
export async function verifyModel(
  path: string,
  opts: { device?: Device } = {},
): Promise<VerifyReport> {
  const first = await loadModel(path, opts);
  const second = await loadModel(path, { device: first.device });
  const checks = [await checkReload(first, second)];
  second.model.params.destroy();
  checks.push(await checkValLoss(first));
  checks.push(await checkCache(first));
  checks.push(await checkSampling(first));
  return { ok: checks.every((c) => c.ok !== false), checks };
}

/** One line per check: `ok`, `FAIL` or `skip`. */
export function formatVerify(r: VerifyReport): string {
  return r.checks.map((c) =>
    `${c.ok === null ? "skip" : c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`
  ).join("\n");
}

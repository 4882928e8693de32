/**
 * Deterministic parameter initialisation on the CPU. Each parameter draws from its own stream,
 * seeded by the model seed and the parameter's name, so a parameter's initial values do not change
 * when other parameters are added or reordered (e.g. adding a layer keeps h.0 as it was).
 *
 * @module
 */

import { fnv1a32, WeylFmix32 } from "../util/random.ts";

/** `n` samples of N(0, std²) from the stream for (`seed`, `name`). */
export function normalInit(seed: number, name: string, n: number, std: number): Float32Array {
  const rng = stream(seed, name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

/** `n` samples of U(−bound, bound) from the stream for (`seed`, `name`). */
export function uniformInit(seed: number, name: string, n: number, bound: number): Float32Array {
  const rng = stream(seed, name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bound * (2 * rng.uniform() - 1);
  return out;
}

function stream(seed: number, name: string): WeylFmix32 {
  return new WeylFmix32((fnv1a32(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
}

/** `n` copies of `value` (layernorm weights 1, biases 0). */
export function constantInit(n: number, value: number): Float32Array {
  return new Float32Array(n).fill(value);
}

/** GPT-2's standard deviation for weights and embeddings. */
export const INIT_STD = 0.02;

/**
 * Deterministic parameter initialisation on the CPU. Each parameter draws from its own stream,
 * seeded by the model seed and the parameter's name, so a parameter's initial values do not change
 * when other parameters are added or reordered (e.g. adding a layer keeps h.0 as it was).
 *
 * @module
 */

/** 32-bit FNV-1a hash of a string (stable across platforms and runs). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A small seeded random number generator (SplitMix32-style mixing of a Weyl sequence) with a
 * Box–Muller normal sampler. Not cryptographic; only reproducibility matters here.
 *
 * @example
 * ```ts
 * const rng = new InitRng(1234);
 * const x = rng.normal(); // the same value on every run for seed 1234
 * ```
 */
export class InitRng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform number in the open interval (0, 1). */
  uniform(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  /** A standard normal sample (Box–Muller, both values of a pair used). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** `n` samples of N(0, std²) from the stream for (`seed`, `name`). */
export function normalInit(seed: number, name: string, n: number, std: number): Float32Array {
  const rng = new InitRng((hashString(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

/** `n` copies of `value` (layernorm weights 1, biases 0). */
export function constantInit(n: number, value: number): Float32Array {
  return new Float32Array(n).fill(value);
}

/** GPT-2's standard deviation for weights and embeddings. */
export const INIT_STD = 0.02;

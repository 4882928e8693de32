/**
 * Seeded random numbers and integer hashes, in one place. kiln pins several streams in tests and
 * files (parameter init, dataset splits, batch windows for exact resume, `--seed` sampling), so
 * each generator keeps its exact algorithm; they are named for what they are, not where they are
 * used. None is cryptographic.
 *
 * @module
 */

/** murmur3's 32-bit finalizer: a bijection on 32-bit values that spreads every input bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * 32-bit FNV-1a hash of a string's UTF-16 code units (stable across platforms and runs).
 *
 * @example
 * ```ts
 * fnv1a32("h.0.attn.c_attn.weight"); // the same value everywhere
 * ```
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A uniform number in [0, 1) determined by `seed` and `index` (an integer below 2^53) alone, with
 * no generator state: item `index` gets the same draw on every run and machine.
 *
 * @example
 * ```ts
 * const inVal = hashUniform(0, documentIndex) < 0.01;
 * ```
 */
export function hashUniform(seed: number, index: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 0x100000000) >>> 0;
  const h = fmix32(fmix32(fmix32(seed >>> 0) ^ lo) ^ fmix32(hi + 0x9e3779b9));
  return h / 0x100000000;
}

/**
 * mulberry32: one 32-bit word of state, fast, good enough for sampling and test data.
 *
 * @example
 * ```ts
 * const rng = new Mulberry32(42);
 * const u = rng.next(); // in [0, 1), the same for seed 42 on every run
 * ```
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform number in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }
}

/**
 * A Weyl sequence passed through {@link fmix32} (SplitMix32-style), with a Box–Muller normal
 * sampler.
 *
 * @example
 * ```ts
 * const rng = new WeylFmix32(1234);
 * const x = rng.normal(); // the same value on every run for seed 1234
 * ```
 */
export class WeylFmix32 {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return fmix32(this.state);
  }

  /** A uniform number in the open interval (0, 1) (never 0, so its log is finite). */
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

/**
 * sfc32 whose stream is fixed by `(seed, stream, index)`: a caller can start the stream of draw
 * `index` directly, without replaying the ones before it (exact resume needs only the index).
 *
 * @example
 * ```ts
 * const rng = new KeyedSfc32(seed, 0, batchIndex);
 * const start = rng.nextInt(tokens.length - seqLen);
 * ```
 */
export class KeyedSfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number, stream: number, index: number) {
    this.a = fmix32(seed ^ 0x9e3779b9);
    this.b = fmix32(this.a ^ stream ^ 0x85ebca6b);
    this.c = fmix32(this.b ^ (index >>> 0) ^ 0xc2b2ae35);
    this.d = fmix32(this.c ^ Math.floor(index / 2 ** 32));
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    return (this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11)) / 2 ** 53;
  }

  /** A uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}

/** Hashes a list of non-negative integers (each below 2^53) into one 32-bit value. */
export function hashInts(values: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h = fmix32(h ^ lo);
    h = fmix32((h + 0x6d2b79f5) ^ hi);
  }
  return h;
}

/**
 * xoshiro128** seeded from a key of integers: every synthetic sample draws from its own stream
 * keyed by (seed, split, index, row), so a batch depends only on those numbers, never on what was
 * drawn before it (resumed runs see exactly the same data).
 *
 * @example
 * ```ts
 * const rng = new KeyedXoshiro128([seed, 0, batchIndex, row]);
 * const u = rng.next(); // in [0, 1)
 * ```
 */
export class KeyedXoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(key: readonly number[]) {
    // splitmix-style expansion of the hash into four non-zero state words
    let h = hashInts(key);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      h = (h + 0x9e3779b9) >>> 0;
      words.push(fmix32(h) || 1);
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Index drawn from a cumulative distribution (last entry ≈ 1). */
  pickCumulative(cumulative: ArrayLike<number>): number {
    const u = this.next() * cumulative[cumulative.length - 1];
    for (let i = 0; i < cumulative.length; i++) if (u < cumulative[i]) return i;
    return cumulative.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

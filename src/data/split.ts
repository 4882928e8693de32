/**
 * Deterministic document-level splits: a holdout assigns whole documents to val by a hash of
 * (seed, document index), so the same documents land in val on every run and machine, and no
 * document is ever cut between train and val.
 */

/** A holdout: `fraction` of documents go to val, chosen by `seed`. */
export interface Holdout {
  fraction: number;
  seed: number;
}

/** The holdout used when a dataset has no val split and none is configured. */
export const DEFAULT_HOLDOUT: Holdout = { fraction: 0.01, seed: 0 };

// murmur3's 32-bit finaliser: a bijection with good avalanche, enough to spread indices evenly.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) determined by `seed` and a document index (< 2^53). */
export function documentUniform(index: number, seed: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 0x100000000) >>> 0;
  const h = fmix32(fmix32(fmix32(seed >>> 0) ^ lo) ^ fmix32(hi + 0x9e3779b9));
  return h / 0x100000000;
}

/**
 * True when document number `index` (0-based, in the dataset's fixed order) belongs to val.
 *
 * @example
 * ```ts
 * isValDocument(42, { fraction: 0.1, seed: 0 }); // same answer on every run
 * ```
 */
export function isValDocument(index: number, holdout: Holdout): boolean {
  if (!(holdout.fraction >= 0 && holdout.fraction <= 1)) {
    throw new RangeError(`holdout fraction must be in [0, 1], found ${holdout.fraction}`);
  }
  return documentUniform(index, holdout.seed) < holdout.fraction;
}

/**
 * Keeps the documents of one side of a holdout, whole.
 *
 * @example
 * ```ts
 * const val = splitDocuments(docs, "val", { fraction: 0.05, seed: 1 });
 * ```
 */
export async function* splitDocuments(
  docs: AsyncIterable<string>,
  side: "train" | "val",
  holdout: Holdout,
): AsyncGenerator<string> {
  let index = 0;
  for await (const doc of docs) {
    if (isValDocument(index++, holdout) === (side === "val")) yield doc;
  }
}

/** The first `n` documents (all of them when `n` is undefined). Stops reading after the n-th. */
export async function* takeDocuments(
  docs: AsyncIterable<string>,
  n?: number,
): AsyncGenerator<string> {
  if (n === undefined) {
    yield* docs;
    return;
  }
  if (n <= 0) return;
  let count = 0;
  for await (const doc of docs) {
    yield doc;
    if (++count >= n) return;
  }
}

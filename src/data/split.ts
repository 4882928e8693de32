/**
 * Deterministic document-level splits: a holdout assigns whole documents to val by a hash of
 * (seed, document index), so the same documents land in val on every run and machine, and no
 * document is ever cut between train and val.
 */

import { hashUniform } from "../util/random.ts";

/** A holdout: `fraction` of documents go to val, chosen by `seed`. */
export interface Holdout {
  fraction: number;
  seed: number;
}

/** The holdout used when a dataset has no val split and none is configured. */
export const DEFAULT_HOLDOUT: Holdout = { fraction: 0.01, seed: 0 };

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
  return hashUniform(holdout.seed, index) < holdout.fraction;
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

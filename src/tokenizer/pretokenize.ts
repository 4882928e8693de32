/**
 * `pretokenizeDataset`: encodes a dataset into llm.c-layout token shards, train and val, with an
 * EOT token before every document, in parallel Web Workers. Shards are written into a temporary
 * folder that is renamed into place at the end, so a failed run leaves nothing behind.
 */

import { basename, dirname, join } from "node:path";
import { openDocuments } from "../data/registry.ts";
import type { Holdout } from "../data/split.ts";
import { writeShard } from "../data/shards.ts";
import { UserError } from "../util/errors.ts";
import { exists, writeJsonAtomic } from "../util/fs.ts";
import { EncodePool } from "./encode_pool.ts";
import { Tokenizer } from "./tokenizer.ts";

/** Options of `pretokenizeDataset`. */
export interface PretokenizeOptions {
  /** Registry name or path (txt, JSONL, parquet, folder) — anything `openDocuments` reads. */
  dataset: string;
  /** `gpt2` or a tokenizer.json path. */
  tokenizer: string;
  /** Output folder (default `assets/shards/<dataset>-<tokenizer>`); must not exist yet. */
  outDir?: string;
  /** Share of documents held out for val when the dataset has no val split (default 1%). */
  valFraction?: number;
  /** Tokens per shard (default 100M, llm.c's size). */
  shardTokens?: number;
  /** Web Workers encoding in parallel (default: hardware concurrency; 1 = this thread). */
  workers?: number;
  /** Cut each document to this many tokens, its EOT included (default: no limit). */
  maxLength?: number;
  /** Only the first N documents of each split. */
  subset?: number;
  /** Characters of text per batch sent to a worker (default 524,288). */
  batchChars?: number;
  /** Called as work goes: documents and tokens so far, and the split being written. */
  onProgress?: (p: { split: string; documents: number; tokens: number }) => void;
}

/** What one split produced. */
export interface SplitSummary {
  shards: string[];
  documents: number;
  tokens: number;
}

/** Result of `pretokenizeDataset`. */
export interface PretokenizeResult {
  outDir: string;
  vocabSize: number;
  eot: number;
  train: SplitSummary;
  val: SplitSummary;
}

/** Text per batch handed to an encoder (UTF-16 code units): big enough to amortize messaging. */
const BATCH_UNITS = 1 << 19;

/** Default output folder name: the dataset's and tokenizer's base names. */
export function defaultShardDir(dataset: string, tokenizer: string): string {
  const stem = (s: string) => basename(s).replace(/\.(json|txt|jsonl|parquet)$/i, "");
  return join("assets", "shards", `${stem(dataset)}-${stem(tokenizer)}`);
}

/**
 * Writes `<out>/<name>_{train,val}_NNNNNN.bin` shards, `<out>/tokenizer.json` and
 * `<out>/meta.json`. The output is identical for any number of workers.
 *
 * @example
 * ```ts
 * const r = await pretokenizeDataset({ dataset: "../shared/data/tinyshakespeare.txt",
 *   tokenizer: "gpt2", outDir: "assets/shards/shakespeare" });
 * r.train.tokens; // ≈ 330k
 * ```
 */
export async function pretokenizeDataset(opts: PretokenizeOptions): Promise<PretokenizeResult> {
  const shardTokens = opts.shardTokens ?? 100_000_000;
  if (!Number.isInteger(shardTokens) || shardTokens < 1) {
    throw new UserError(`shard tokens must be a positive integer, found ${shardTokens}`);
  }
  const valFraction = opts.valFraction;
  if (valFraction !== undefined && !(valFraction > 0 && valFraction < 1)) {
    throw new UserError(`val fraction must be between 0 and 1, found ${valFraction}`);
  }
  const maxLength = opts.maxLength ?? Infinity;
  if (!(maxLength >= 2)) throw new UserError(`max length must be at least 2, found ${maxLength}`);
  const tok = await Tokenizer.load(opts.tokenizer);
  const eot = tok.eotId;
  if (eot === null) {
    throw new UserError(`${opts.tokenizer} has no special token to mark document starts (EOT)`);
  }
  const outDir = opts.outDir ?? defaultShardDir(opts.dataset, opts.tokenizer);
  if (await exists(outDir)) {
    throw new UserError(`${outDir} already exists; remove it or choose another --out`);
  }
  const workers = opts.workers ?? Math.max(1, navigator.hardwareConcurrency ?? 1);
  const holdout: Holdout | undefined = valFraction === undefined
    ? undefined
    : { fraction: valFraction, seed: 0 };
  const name = basename(outDir);
  const tmpDir = join(dirname(outDir), `.${name}.${Deno.pid}.tmp`);
  await Deno.mkdir(tmpDir, { recursive: true });
  const pool = await EncodePool.open(tok, opts.tokenizer, eot, workers, maxLength);
  try {
    const write = (split: "train" | "val") =>
      writeSplit(
        openDocuments(opts.dataset, { split, holdout, subset: opts.subset }),
        pool,
        {
          dir: tmpDir,
          outDir,
          prefix: `${name}_${split}`,
          shardTokens,
          vocabSize: tok.vocabSize,
          batchChars: opts.batchChars ?? BATCH_UNITS,
        },
        (documents, tokens) => opts.onProgress?.({ split, documents, tokens }),
      );
    const val = await write("val");
    const train = await write("train");
    if (train.documents === 0) throw new UserError(`${opts.dataset}: no training documents`);
    if (val.documents === 0) {
      throw new UserError(
        `${opts.dataset}: the val split is empty; give a larger --val-fraction`,
      );
    }
    await writeJsonAtomic(join(tmpDir, "tokenizer.json"), tok.toJSON());
    const result = { outDir, vocabSize: tok.vocabSize, eot, train, val };
    await writeJsonAtomic(join(tmpDir, "meta.json"), {
      dataset: opts.dataset,
      tokenizer: opts.tokenizer,
      vocab_size: tok.vocabSize,
      eot,
      token_bytes: tok.vocabSize > 65536 ? 4 : 2,
      max_length: Number.isFinite(maxLength) ? maxLength : null,
      val_fraction: valFraction ?? null,
      train: { ...train, shards: train.shards.map((s) => basename(s)) },
      val: { ...val, shards: val.shards.map((s) => basename(s)) },
    });
    await Deno.rename(tmpDir, outDir);
    return result;
  } catch (err) {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    throw err;
  } finally {
    pool.close();
  }
}

interface ShardTarget {
  dir: string;
  outDir: string;
  prefix: string;
  shardTokens: number;
  vocabSize: number;
  batchChars: number;
}

/** Streams documents through the pool (several batches in flight) into numbered shards. */
async function writeSplit(
  docs: AsyncIterable<string>,
  pool: EncodePool,
  target: ShardTarget,
  progress: (documents: number, tokens: number) => void,
): Promise<SplitSummary> {
  const shards: string[] = [];
  let buffer = new Uint32Array(Math.min(target.shardTokens, 1 << 20));
  let filled = 0;
  let tokens = 0;
  let documents = 0;
  const flush = async () => {
    const file = `${target.prefix}_${String(shards.length).padStart(6, "0")}.bin`;
    await writeShard(join(target.dir, file), buffer.subarray(0, filled), target.vocabSize);
    shards.push(join(target.outDir, file));
    filled = 0;
  };
  const take = async (ids: Uint32Array) => {
    for (let at = 0; at < ids.length;) {
      const n = Math.min(ids.length - at, target.shardTokens - filled);
      if (filled + n > buffer.length) {
        const grown = new Uint32Array(Math.min(target.shardTokens, (filled + n) * 2));
        grown.set(buffer.subarray(0, filled));
        buffer = grown;
      }
      buffer.set(ids.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === target.shardTokens) await flush();
    }
    tokens += ids.length;
  };
  const inFlight: Promise<Uint32Array>[] = [];
  let batch: string[] = [];
  let units = 0;
  for await (const doc of docs) {
    batch.push(doc);
    units += doc.length;
    documents++;
    if (units >= target.batchChars) {
      inFlight.push(submit(pool, batch));
      batch = [];
      units = 0;
      // Keep every worker busy while bounding memory.
      if (inFlight.length >= 8) {
        await take(await inFlight.shift()!);
        progress(documents, tokens);
      }
    }
  }
  if (batch.length > 0) inFlight.push(submit(pool, batch));
  while (inFlight.length > 0) {
    await take(await inFlight.shift()!);
    progress(documents, tokens);
  }
  if (filled > 0) await flush();
  return { shards, documents, tokens };
}

/** Submits a batch; a failure surfaces where the result is awaited, not as an unhandled one. */
function submit(pool: EncodePool, batch: string[]): Promise<Uint32Array> {
  const p = pool.encode(batch);
  p.catch(() => {});
  return p;
}

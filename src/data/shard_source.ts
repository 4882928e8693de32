/**
 * The `shards` source kind: pretokenized llm.c-layout shards (train and validation globs), served
 * as random windows of `seqLen + 1` tokens that never straddle two shards. Shards are picked with
 * probability proportional to how many windows they hold, so every window is equally likely.
 *
 * @module
 */

import { z } from "../deps.ts";
import { UserError } from "../util/errors.ts";
import { readUserTextFile } from "../util/fs.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { KeyedSfc32 } from "../util/random.ts";
import type { Batch } from "./batch.ts";
import { type LoadedShard, loadShards } from "./shards.ts";
import {
  randomWindows,
  registerSource,
  requireSeqLen,
  type SourceContext,
  type TrainingSource,
} from "./sources.ts";

/** `data` keys of the shards kind. */
export const shardDataSchema = z.strictObject({
  /** Train shards: a directory, a file or a `*`/`?` pattern in the file name. */
  train: z.string().min(1),
  /** Validation shards, same forms. */
  val: z.string().min(1),
  /** The tokenizer.json the shards were made with (copied into the run directory). */
  tokenizer: z.string().min(1).optional(),
  /** Vocabulary size of the ids; defaults to model.vocab_size. */
  vocab_size: z.number().int().positive().optional(),
});

/** Validated `data` section of the shards kind. */
export type ShardDataConfig = z.output<typeof shardDataSchema>;

const TRAIN_STREAM = 3;
const VAL_STREAM = 4;

/** Random windows over a set of shards, none crossing a shard boundary. */
class ShardWindows {
  private readonly shards: LoadedShard[];
  private readonly cumulative: number[];

  constructor(shards: LoadedShard[], private readonly seqLen: number, what: string) {
    this.shards = shards.filter((s) => s.tokens.length > seqLen);
    if (this.shards.length === 0) {
      throw new UserError(
        `data.${what}: no shard holds more than ${seqLen} tokens (model.max_seq_len)`,
      );
    }
    let total = 0;
    this.cumulative = this.shards.map((s) => total += s.tokens.length - seqLen);
  }

  get tokens(): number {
    return this.shards.reduce((n, s) => n + s.tokens.length, 0);
  }

  batch(batchSize: number, rng: KeyedSfc32): Batch {
    const inputs = new Int32Array(batchSize * this.seqLen);
    const targets = new Int32Array(batchSize * this.seqLen);
    const total = this.cumulative[this.cumulative.length - 1];
    for (let b = 0; b < batchSize; b++) {
      const r = rng.nextInt(total);
      let lo = 0;
      while (this.cumulative[lo] <= r) lo++;
      const shard = this.shards[lo].tokens;
      const one = randomWindows(shard, this.seqLen, 1, rng);
      inputs.set(one.inputs, b * this.seqLen);
      targets.set(one.targets, b * this.seqLen);
    }
    return { inputs, targets, batchSize, seqLen: this.seqLen };
  }

  maxToken(): number {
    let max = 0;
    for (const s of this.shards) for (const t of s.tokens) if (t > max) max = t;
    return max;
  }
}

/** Pretokenized shards as a batch source. */
export class ShardSource implements TrainingSource {
  readonly name: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly metadata: Record<string, number | string>;
  readonly tokenizerJson?: string;

  constructor(
    private readonly seed: number,
    private readonly train: ShardWindows,
    private readonly val: ShardWindows,
    opts: { name: string; vocabSize: number; seqLen: number; tokenizerJson?: string },
  ) {
    this.name = opts.name;
    this.vocabSize = opts.vocabSize;
    this.seqLen = opts.seqLen;
    this.tokenizerJson = opts.tokenizerJson;
    this.metadata = { train_tokens: train.tokens, val_tokens: val.tokens };
  }

  epochBatches(batchSize: number): number {
    return Math.max(1, Math.floor(this.train.tokens / (batchSize * this.seqLen)));
  }

  trainBatch(index: number, batchSize: number): Batch {
    return this.train.batch(batchSize, new KeyedSfc32(this.seed, TRAIN_STREAM, index));
  }

  valBatch(index: number, batchSize: number): Batch {
    return this.val.batch(batchSize, new KeyedSfc32(this.seed, VAL_STREAM, index));
  }
}

/** Builds the shard source of a validated `data` section. */
export async function createShardSource(
  data: ShardDataConfig,
  ctx: SourceContext,
): Promise<ShardSource> {
  const seqLen = requireSeqLen(ctx, "a set of token shards");
  const train = new ShardWindows(await loadShards(data.train), seqLen, "train");
  const val = new ShardWindows(await loadShards(data.val), seqLen, "val");
  const tokenizer = data.tokenizer ? await readValidTokenizer(data.tokenizer) : undefined;
  const maxToken = Math.max(train.maxToken(), val.maxToken());
  // model.vocab_size auto: data.vocab_size, else the tokenizer's size, else the largest id + 1.
  const vocabSize = data.vocab_size ??
    (Number.isFinite(ctx.vocabSize)
      ? ctx.vocabSize
      : tokenizer !== undefined
      ? tokenizer.vocabSize
      : maxToken + 1);
  if (maxToken >= vocabSize) {
    throw new UserError(
      `data: the shards hold token id ${maxToken}, outside a vocabulary of ${vocabSize}: ` +
        `set model.vocab_size (or data.vocab_size) to at least ${maxToken + 1}`,
    );
  }
  return new ShardSource(ctx.seed, train, val, {
    name: `shards:${data.train}`,
    vocabSize,
    seqLen,
    tokenizerJson: tokenizer?.text,
  });
}

/**
 * Reads `data.tokenizer` and parses it as a tokenizer before the run copies it: a corrupt file
 * is an error now, not a run directory whose tokenizer.json cannot be loaded later.
 */
async function readValidTokenizer(path: string): Promise<{ text: string; vocabSize: number }> {
  const text = await readUserTextFile(path, "data.tokenizer: file");
  try {
    return { text, vocabSize: Tokenizer.fromJSON(JSON.parse(text), path).vocabSize };
  } catch (err) {
    const why = (err as Error).message.split("\n")[0];
    throw new UserError(`data.tokenizer: ${path} is not a valid tokenizer.json (${why})`);
  }
}

registerSource({
  name: "shards",
  description: "pretokenized llm.c-layout token shards (train and val globs)",
  schema: shardDataSchema,
  create: createShardSource,
});

/**
 * The `text` source kind: a text corpus (a dataset name or a .txt path), tokenized whole (by
 * characters, nanoGPT's shakespeare_char, or a BPE tokenizer), split
 * into train (first 90%) and validation (last 10%) like nanoGPT, and served as random windows of
 * `seqLen + 1` tokens chosen by a generator seeded with (seed, split, batch index).
 *
 * @module
 */

import { z } from "../deps.ts";
import { CharTokenizer } from "../tokenizer/char.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { UserError } from "../util/errors.ts";
import { KeyedSfc32 } from "../util/random.ts";
import type { Batch } from "./batch.ts";
import { readTextDocuments } from "./readers/text.ts";
import { openDocuments } from "./registry.ts";
import { newReadStats } from "./readers/utf8.ts";
import {
  randomWindows,
  registerSource,
  requireSeqLen,
  type SourceContext,
  type TrainingSource,
} from "./sources.ts";

/** `data` keys of the text kind. */
export const textDataSchema = z.strictObject({
  /** A dataset name from the registry or a path to a UTF-8 text file. */
  dataset: z.string().min(1),
  /** `char` (vocabulary built from the corpus), `gpt2`, or a tokenizer.json path. */
  tokenizer: z.string().min(1).default("char"),
  /** Share of the corpus (its end) held out for validation. */
  val_fraction: z.number().gt(0).lt(1).default(0.1),
});

/** Validated `data` section of the text kind. */
export type TextDataConfig = z.output<typeof textDataSchema>;

const TRAIN_STREAM = 1;
const VAL_STREAM = 2;

/**
 * Reads the corpus a `dataset` value names: a text file (read whole; BOM dropped, CRLF → LF), or a
 * registry/hub name, whose documents (all splits, in the dataset's order) are joined by newlines
 * and then split 90/10 like any text.
 */
export async function readCorpus(dataset: string): Promise<string> {
  let isFile = false;
  try {
    isFile = (await Deno.stat(dataset)).isFile;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const parts: string[] = [];
  const docs = isFile
    ? readTextDocuments(dataset, { delimiter: "file", stats: newReadStats() })
    : openDocuments(dataset, { split: "all" });
  for await (const doc of docs) parts.push(doc);
  if (parts.length === 0) throw new UserError(`data.dataset: "${dataset}" holds no text`);
  return parts.join("\n");
}

/** A text corpus tokenized and split, serving nanoGPT-style random windows. */
export class TextSource implements TrainingSource {
  readonly name: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly metadata: Record<string, number | string>;
  readonly tokenizerJson: string;
  private readonly train: Int32Array;
  private readonly val: Int32Array;
  private readonly seed: number;

  constructor(opts: {
    name: string;
    tokens: Int32Array;
    vocabSize: number;
    seqLen: number;
    seed: number;
    valFraction: number;
    tokenizerJson: string;
  }) {
    const n = opts.tokens.length;
    const cut = Math.floor(n * (1 - opts.valFraction));
    this.train = opts.tokens.subarray(0, cut);
    this.val = opts.tokens.subarray(cut);
    for (const [split, part] of [["train", this.train], ["validation", this.val]] as const) {
      if (part.length <= opts.seqLen) {
        throw new UserError(
          `data: the ${split} split has ${part.length} tokens, too few for windows of ` +
            `${opts.seqLen + 1}: lower model.max_seq_len or use a larger corpus`,
        );
      }
    }
    this.name = opts.name;
    this.vocabSize = opts.vocabSize;
    this.seqLen = opts.seqLen;
    this.seed = opts.seed;
    this.tokenizerJson = opts.tokenizerJson;
    this.metadata = { train_tokens: this.train.length, val_tokens: this.val.length };
  }

  epochBatches(batchSize: number): number {
    return Math.max(1, Math.floor(this.train.length / (batchSize * this.seqLen)));
  }

  trainBatch(index: number, batchSize: number): Batch {
    return randomWindows(this.train, this.seqLen, batchSize, this.rng(TRAIN_STREAM, index));
  }

  valBatch(index: number, batchSize: number): Batch {
    return randomWindows(this.val, this.seqLen, batchSize, this.rng(VAL_STREAM, index));
  }

  private rng(stream: number, index: number): KeyedSfc32 {
    return new KeyedSfc32(this.seed, stream, index);
  }
}

/** Builds the text source of a validated `data` section. */
export async function createTextSource(
  data: TextDataConfig,
  ctx: SourceContext,
): Promise<TextSource> {
  const seqLen = requireSeqLen(ctx, "a text corpus");
  const text = await readCorpus(data.dataset);
  const common = { seqLen, seed: ctx.seed, valFraction: data.val_fraction };
  if (data.tokenizer === "char") {
    const tokenizer = CharTokenizer.fromText(text);
    return new TextSource({
      ...common,
      name: `${data.dataset}/char`,
      tokens: tokenizer.encode(text),
      vocabSize: tokenizer.vocabSize,
      tokenizerJson: tokenizer.toTokenizerJson(),
    });
  }
  // A BPE tokenizer ("gpt2" or a tokenizer.json path); the split is 90/10 of the tokens.
  const tokenizer = await Tokenizer.load(data.tokenizer);
  return new TextSource({
    ...common,
    name: `${data.dataset}/${data.tokenizer}`,
    tokens: Int32Array.from(tokenizer.encode(text)),
    vocabSize: tokenizer.vocabSize,
    tokenizerJson: JSON.stringify(tokenizer.toJSON()) + "\n",
  });
}

registerSource({
  name: "text",
  description: "a text corpus (dataset name or .txt path), char or BPE tokenizer, 90/10 split",
  schema: textDataSchema,
  create: createTextSource,
});

/**
 * The registry of batch-source kinds, selected by `data.source` in a config. Each kind brings the
 * zod schema of its `data` keys (used by config validation, so errors name `data.<key>`) and a
 * `create` that builds the `BatchSource`. Adding a kind is one module that calls `registerSource`
 * and one import line in `sources_all.ts`.
 *
 * @module
 */

import type { z } from "../deps.ts";
import { dataKindNames, registerDataSchema } from "../config/data_kinds.ts";
import { UserError } from "../util/errors.ts";
import type { KeyedSfc32 } from "../util/random.ts";
import type { BatchSource } from "./batch.ts";

/** What a source may need from the rest of the config when it is created. */
export interface SourceContext {
  /** The experiment seed (`seed`); batches depend only on it and the batch index. */
  seed: number;
  /**
   * Context length the model accepts (`model.max_seq_len`): windowed sources use it. Infinity
   * when it is "auto": a source with a length of its own (task, process n_ctx) gives it; a
   * windowed one cannot (`requireSeqLen`).
   */
  seqLen: number;
  /**
   * The model's vocabulary size (`model.vocab_size`), for sources that cannot know their own;
   * Infinity when it is "auto".
   */
  vocabSize: number;
  /** Micro-batch size (`training.batch_size`). */
  batchSize: number;
  /**
   * Reads a text file (process YAML files): injected by hosts that have files (Deno), absent in a
   * browser, so the sources themselves touch no file system API.
   */
  readTextFile?: (path: string) => Promise<string>;
}

/** A kind of batch source: its `data` keys and how to build it. */
export interface SourceKind<S extends z.ZodObject = z.ZodObject> {
  /** The `data.source` value that selects it, e.g. "text". */
  name: string;
  /** One line for listings and `--help`. */
  description: string;
  /** The keys of `data` besides `source` (a strict object). */
  schema: S;
  /** Builds the source from the validated `data` section. Bad data → UserError. */
  create(data: z.output<S>, ctx: SourceContext): TrainingSource | Promise<TrainingSource>;
}

/** A batch source that may carry the tokenizer it encodes with (copied into the run). */
export type TrainingSource = BatchSource & {
  /** Contents of a Hugging Face `tokenizer.json` describing the ids, when there is one. */
  readonly tokenizerJson?: string;
};

const kinds = new Map<string, SourceKind>();

/**
 * Registers a source kind (and its `data` schema for config validation). Registering a name
 * twice (another kind object) or declaring a `source` key is a UserError.
 *
 * @example
 * ```ts
 * registerSource({ name: "text", description: "…", schema: textDataSchema, create: createTextSource });
 * ```
 */
export function registerSource<S extends z.ZodObject>(kind: SourceKind<S>): void {
  const previous = kinds.get(kind.name);
  if (previous !== undefined && previous !== (kind as unknown as SourceKind)) {
    throw new UserError(`registerSource: source kind "${kind.name}" is already registered`);
  }
  if (kind.schema?.shape && "source" in kind.schema.shape) {
    throw new UserError(
      `registerSource("${kind.name}"): schema key "source" collides with the built-in data.source`,
    );
  }
  kinds.set(kind.name, kind as unknown as SourceKind);
  registerDataSchema(kind.name, kind.schema);
}

/** The registered kind `name`; an unknown name lists the registered ones. */
export function sourceKind(name: string): SourceKind {
  const kind = kinds.get(name);
  if (!kind) {
    throw new UserError(
      `data.source: unknown kind "${name}" (registered: ${dataKindNames().join(", ")})`,
    );
  }
  return kind;
}

/** All registered kinds, sorted by name. */
export function sourceKinds(): SourceKind[] {
  return [...kinds.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Builds the batch source a validated `data` section describes. */
export async function createSource(
  data: { source: string } & Record<string, unknown>,
  ctx: SourceContext,
): Promise<TrainingSource> {
  const { source, ...rest } = data;
  return await sourceKind(source).create(rest, ctx);
}

/**
 * A batch of `batchSize` random windows of `seqLen + 1` tokens from `tokens` (nanoGPT's
 * get_batch): inputs are the first `seqLen`, targets the last `seqLen` of each window.
 */
export function randomWindows(
  tokens: ArrayLike<number>,
  seqLen: number,
  batchSize: number,
  rng: KeyedSfc32,
): { inputs: Int32Array; targets: Int32Array; batchSize: number; seqLen: number } {
  const span = tokens.length - seqLen;
  if (span < 1) {
    throw new UserError(
      `the data has ${tokens.length} tokens, too few for windows of ${seqLen + 1}: ` +
        `lower model.max_seq_len or use more data`,
    );
  }
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.nextInt(span);
    for (let t = 0; t < seqLen; t++) {
      inputs[b * seqLen + t] = tokens[start + t];
      targets[b * seqLen + t] = tokens[start + t + 1];
    }
  }
  return { inputs, targets, batchSize, seqLen };
}

/** `ctx.seqLen` for a windowed source, which has no length of its own to offer for "auto". */
export function requireSeqLen(ctx: SourceContext, what: string): number {
  if (!Number.isFinite(ctx.seqLen)) {
    throw new UserError(
      `model.max_seq_len: auto takes the length from the data, but ${what} has none: set ` +
        `model.max_seq_len (e.g. 256)`,
    );
  }
  return ctx.seqLen;
}

/**
 * The `task` batch source: examples of an algorithmic task as character ids, padded to the
 * longest example in the batch (or to the model context), with the loss on the answer only when
 * `mask_prompt` is set. Validation adds exact-match and per-token/per-digit accuracy.
 *
 * ```yaml
 * data: { source: task, task: multiplication, params: { digits: 2 }, mask_prompt: true }
 * ```
 */

import { z } from "../../../deps.ts";
import { UserError } from "../../../util/errors.ts";
import { type Batch, type BatchSource, IGNORE_INDEX } from "../../batch.ts";
import { registerSource } from "../../sources.ts";
import { KeyedXoshiro128 } from "../../../util/random.ts";
import { createTask } from "./registry.ts";
import { CharVocab, sampleInSplit, type Task } from "./task.ts";
import { MultiplicationStudySource, studyParams } from "./multiplication_study.ts";

/** The `data` keys of a task source (besides `source: task`). */
export const taskDataSchema = z.strictObject({
  /** A registered task name (multiplication, copy, histogram, sort, reverse, modular_addition). */
  task: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  /** Exclude the prompt from the loss (the answer and EOS still count). */
  mask_prompt: z.boolean().default(true),
  /** Share of problems (by hash of the prompt) held out for validation. */
  val_fraction: z.number().gt(0).lt(1).default(0.1),
  /** "longest": pad each batch to its longest example; "max": always to the model context. */
  pad_to: z.enum(["longest", "max"]).default("longest"),
});

/** A validated `data` section of kind `task`. */
export type TaskDataConfig = z.output<typeof taskDataSchema>;

const TRAIN_STREAM = 0;
const VAL_STREAM = 1;

/** Options of a task source built directly from a `Task`. */
export interface TaskSourceOptions {
  seed: number;
  maskPrompt?: boolean;
  valFraction?: number;
  padTo?: "longest" | "max";
}

/**
 * A `BatchSource` over a task: row r of batch i is drawn from the stream (seed, split, i, r).
 *
 * @example
 * ```ts
 * const src = new TaskSource(tasks.multiplication({ digits: 2 }), { seed: 1 });
 * src.vocab.decode(src.trainBatch(0, 1).inputs); // "3 1 * 0 7 #### 0 1 2 0"-like text
 * ```
 */
export class TaskSource implements BatchSource {
  readonly name: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly metadata: Record<string, number | string | boolean | null>;
  readonly task: Task;
  readonly vocab: CharVocab;
  private readonly seed: number;
  private readonly maskPrompt: boolean;
  private readonly valFraction: number;
  private readonly padTo: "longest" | "max";
  private readonly separatorIds: number[];
  private readonly digitIds: Set<number>;

  constructor(task: Task, opts: TaskSourceOptions) {
    this.task = task;
    this.name = task.name;
    this.vocab = new CharVocab(task.alphabet);
    this.vocabSize = this.vocab.size;
    // tokens = prompt + answer + EOS; inputs drop the last one
    this.seqLen = task.maxLength;
    this.seed = opts.seed;
    this.maskPrompt = opts.maskPrompt ?? true;
    this.valFraction = opts.valFraction ?? 0.1;
    this.padTo = opts.padTo ?? "longest";
    this.separatorIds = this.vocab.encode(task.separator);
    this.digitIds = new Set([...task.alphabet].flatMap((c, i) => (/[0-9]/.test(c) ? [i] : [])));
    this.metadata = {
      task: task.name,
      chars: task.alphabet,
      eos_id: this.vocab.eosId,
      mask_prompt: this.maskPrompt,
    };
  }

  /** Generated examples never run out. */
  epochBatches(_batchSize: number): null {
    return null;
  }

  trainBatch(index: number, batchSize: number): Batch {
    return this.batch(TRAIN_STREAM, index, batchSize);
  }

  valBatch(index: number, batchSize: number): Batch {
    return this.batch(VAL_STREAM, index, batchSize);
  }

  /** The prompt and answer of row `row` of batch `index` in a split. */
  example(split: "train" | "val", index: number, row: number) {
    const rng = new KeyedXoshiro128([
      this.seed,
      split === "train" ? TRAIN_STREAM : VAL_STREAM,
      index,
      row,
    ]);
    return sampleInSplit(this.task, rng, split, this.seed, this.valFraction);
  }

  private batch(stream: number, index: number, batchSize: number): Batch {
    const split = stream === TRAIN_STREAM ? "train" : "val";
    const rows: { tokens: number[]; promptLen: number }[] = [];
    for (let r = 0; r < batchSize; r++) {
      const { prompt, answer } = this.example(split, index, r);
      const promptIds = this.vocab.encode(prompt);
      rows.push({
        tokens: [...promptIds, ...this.vocab.encode(answer), this.vocab.eosId],
        promptLen: promptIds.length,
      });
    }
    const longest = Math.max(...rows.map((r) => r.tokens.length - 1));
    const T = this.padTo === "max" ? this.seqLen : longest;
    const inputs = new Int32Array(batchSize * T).fill(this.vocab.eosId);
    const targets = new Int32Array(batchSize * T).fill(IGNORE_INDEX);
    rows.forEach(({ tokens, promptLen }, r) => {
      for (let t = 0; t < tokens.length - 1; t++) {
        inputs[r * T + t] = tokens[t];
        // target t is token t+1: part of the prompt while t+1 < promptLen
        if (!this.maskPrompt || t + 1 >= promptLen) targets[r * T + t] = tokens[t + 1];
      }
    });
    return { inputs, targets, batchSize, seqLen: T };
  }

  /** First target position of the answer in a row: right after the separator in the inputs. */
  private answerStart(inputs: Int32Array, offset: number, T: number): number {
    const sep = this.separatorIds;
    for (let t = 0; t + sep.length <= T; t++) {
      let match = true;
      for (let j = 0; j < sep.length && match; j++) match = inputs[offset + t + j] === sep[j];
      if (match) return t + sep.length - 1;
    }
    return -1;
  }

  /**
   * Exact match (every answer token and the EOS predicted right), token accuracy (answer tokens,
   * EOS excluded) and, for answers with digits, digit accuracy — from teacher-forced argmax
   * predictions, which give the same exact match as greedy decoding.
   */
  taskMetrics(batch: Batch, predictions: Int32Array): Record<string, number> {
    const T = batch.seqLen;
    let exact = 0;
    let tokens = 0;
    let tokensRight = 0;
    let digits = 0;
    let digitsRight = 0;
    for (let r = 0; r < batch.batchSize; r++) {
      const start = this.answerStart(batch.inputs, r * T, T);
      if (start < 0) throw new Error(`${this.name}: row ${r} has no separator`);
      let allRight = true;
      for (let t = start; t < T; t++) {
        const target = batch.targets[r * T + t];
        const right = predictions[r * T + t] === target;
        allRight &&= right;
        if (target === this.vocab.eosId) break;
        tokens++;
        if (right) tokensRight++;
        if (this.digitIds.has(target)) {
          digits++;
          if (right) digitsRight++;
        }
      }
      if (allRight) exact++;
    }
    const metrics: Record<string, number> = {
      exact_match: exact / batch.batchSize,
      token_accuracy: tokens > 0 ? tokensRight / tokens : 0,
    };
    if (digits > 0) metrics.digit_accuracy = digitsRight / digits;
    return metrics;
  }
}

/** Builds the task source of a validated `data` section, checking it fits the model context. */
export function createTaskSource(
  data: TaskDataConfig,
  ctx: { seed: number; seqLen: number },
): TaskSource | MultiplicationStudySource {
  // The study's enumerated, bucketed problems are a source of their own (multiplication_study.ts).
  const source = data.task === "multiplication" && data.params.format === "study"
    ? new MultiplicationStudySource(studyParams(data.params), ctx.seed)
    : new TaskSource(createTask(data.task, data.params), {
      seed: ctx.seed,
      maskPrompt: data.mask_prompt,
      valFraction: data.val_fraction,
      padTo: data.pad_to,
    });
  if (source.seqLen > ctx.seqLen) {
    throw new UserError(
      `${source.name} needs sequences of ${source.seqLen} but model.max_seq_len is ${ctx.seqLen} ` +
        `(set model.max_seq_len=${source.seqLen})`,
    );
  }
  return source;
}

registerSource({
  name: "task",
  description:
    "an algorithmic task (multiplication, copy, histogram, sort, reverse, modular_addition)",
  schema: taskDataSchema,
  create: createTaskSource,
});

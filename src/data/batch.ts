/**
 * The contract between data and the trainer: a source of token batches. Token shards, text with a
 * character tokenizer, generative processes and algorithmic tasks all implement `BatchSource`.
 */

/** One batch of next-token examples, row-major `[batchSize, seqLen]`. */
export interface Batch {
  /** Input token ids, `batchSize * seqLen`. Padded positions hold any valid id (e.g. 0). */
  inputs: Int32Array;
  /** Target token ids, `batchSize * seqLen`; `IGNORE_INDEX` marks positions excluded from the loss. */
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** Target value for positions that do not count in the loss (padding, prompt part of a task). */
export const IGNORE_INDEX = -1;

/**
 * A deterministic source of batches. `trainBatch(index, …)` depends only on the source's seed and
 * `index`, so a resumed run that continues from the same index sees exactly the same data.
 */
export interface BatchSource {
  /** Human name for logs, e.g. `mess3(x=0.05,a=0.85)` or `tinyshakespeare/char`. */
  readonly name: string;
  /** Vocabulary size the model must have (including BOS/EOS/pad ids). */
  readonly vocabSize: number;
  /** Context length the model must accept (`model.max_seq_len`). */
  readonly seqLen: number;
  /** Number of train batches in one epoch at this batch size, or null when unbounded (generators). */
  epochBatches(batchSize: number): number | null;
  /** The `index`-th training batch (index counts micro-batches from the start of training). */
  trainBatch(index: number, batchSize: number): Batch;
  /** The `index`-th validation batch; the same index always gives the same batch. */
  valBatch(index: number, batchSize: number): Batch;
  /** Extra facts logged with validation, e.g. `{ optimal_loss: 0.85939 }` for a process. */
  readonly metadata?: Record<string, number | string | boolean | null>;
  /**
   * Task metrics from the model's argmax predictions under teacher forcing (`predictions[i]` is the
   * predicted next id at input position i). Exact match under teacher forcing equals exact match of
   * greedy decoding: both first differ at the first wrong answer token.
   */
  taskMetrics?(batch: Batch, predictions: Int32Array): Record<string, number>;
}

/**
 * The multiplication study's data (`data.task: multiplication`, `params.format: study`): the
 * source `a*b`, the product most significant digit first. Every pair a, b in
 * [10^(min_digits−1), 10^max_digits − 1] is enumerated, sorted by product, cut into `buckets`
 * difficulty buckets of equal size and split 80/10/10 (train/val/test) within each bucket by a
 * fixed `split_seed` (independent of the run seed, so every run sees the same split).
 *
 * Row layout (one `[T]` row, the same for decoder-only and encoder–decoder models): the source
 * characters right-padded with PAD to `source_len` = 2·max_digits + 1, then BOS, the product's
 * digits, EOS, PAD…. Vocabulary `0123456789*`, then BOS, EOS and PAD — a padding id distinct
 * from every digit, and a BOS so the first product digit is predicted too. Targets: the product
 * digits and EOS only.
 *
 * ```yaml
 * data: { source: task, task: multiplication, params: { format: study, min_digits: 2, max_digits: 2 } }
 * ```
 *
 * @module
 */

import { UserError } from "../../../util/errors.ts";
import { Mulberry32 } from "../../../util/random.ts";
import { type Batch, type BatchSource, IGNORE_INDEX } from "../../batch.ts";
import { checkKnownParams, intParam, type TaskParams } from "./task.ts";

const CHARS = "0123456789*";
/** Character and special ids of the study vocabulary. */
export const STUDY_IDS = { star: 10, bos: 11, eos: 12, pad: 13, size: 14 } as const;
const SPLIT_SHARES = { train: 0.8, val: 0.1 } as const;

/** One problem: a × b, its difficulty bucket (0 = smallest products). */
export interface StudyProblem {
  a: number;
  b: number;
  bucket: number;
}

/** A split of the study's problems. */
export type StudySplit = "train" | "val" | "test";

/** The study's parameters after defaults. */
export interface StudyParams {
  minDigits: number;
  maxDigits: number;
  buckets: number;
  splitSeed: number;
}

/** Reads `params` of `format: study`; a bad one is a UserError naming it. */
export function studyParams(params: TaskParams): StudyParams {
  checkKnownParams(
    params,
    ["format", "min_digits", "max_digits", "buckets", "split_seed"],
    "multiplication (format study)",
  );
  const what = "multiplication";
  const maxDigits = intParam(params, "max_digits", 2, what, 1, 3);
  const minDigits = intParam(params, "min_digits", 1, what, 1, maxDigits);
  const buckets = intParam(params, "buckets", 10, what, 1, 100);
  const splitSeed = intParam(params, "split_seed", 1234, what, 0, 2 ** 31 - 1);
  return { minDigits, maxDigits, buckets, splitSeed };
}

/** Fisher–Yates shuffle of `xs` in place by a seeded mulberry32. */
function shuffle<T>(xs: T[], seed: number): T[] {
  const rng = new Mulberry32(seed);
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/**
 * Every problem, sorted by product (ties by a, then b), bucketed, and split 80/10/10 within each
 * bucket; each split lists its buckets in order.
 */
export function studySplits(p: StudyParams): Record<StudySplit, StudyProblem[]> {
  const lo = 10 ** (p.minDigits - 1);
  const hi = 10 ** p.maxDigits - 1;
  const pairs: [number, number][] = [];
  for (let a = lo; a <= hi; a++) for (let b = lo; b <= hi; b++) pairs.push([a, b]);
  pairs.sort((x, y) => x[0] * x[1] - y[0] * y[1] || x[0] - y[0] || x[1] - y[1]);
  if (pairs.length < 10 * p.buckets) {
    throw new UserError(
      `multiplication: ${pairs.length} problems are too few for ${p.buckets} buckets ` +
        `(raise params.max_digits or lower params.buckets)`,
    );
  }
  const out: Record<StudySplit, StudyProblem[]> = { train: [], val: [], test: [] };
  for (let k = 0; k < p.buckets; k++) {
    const start = Math.floor((k * pairs.length) / p.buckets);
    const end = Math.floor(((k + 1) * pairs.length) / p.buckets);
    const bucket = shuffle(pairs.slice(start, end), p.splitSeed * 1009 + k);
    const nTrain = Math.round(SPLIT_SHARES.train * bucket.length);
    const nVal = Math.round(SPLIT_SHARES.val * bucket.length);
    bucket.forEach(([a, b], i) => {
      const split = i < nTrain ? "train" : i < nTrain + nVal ? "val" : "test";
      out[split].push({ a, b, bucket: k });
    });
  }
  return out;
}

/** Ids of the study vocabulary: digits and `*` as themselves, BOS/EOS/PAD after them. */
export function encodeStudyText(text: string): number[] {
  return [...text].map((c) => {
    const id = CHARS.indexOf(c);
    if (id < 0) {
      throw new UserError(`character ${JSON.stringify(c)} is not in the vocab (${CHARS})`);
    }
    return id;
  });
}

/** Text of study ids (BOS `^`, EOS `⏎`, PAD `_`). */
export function decodeStudyIds(ids: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    s += id < CHARS.length
      ? CHARS[id]
      : id === STUDY_IDS.bos
      ? "^"
      : id === STUDY_IDS.eos
      ? "⏎"
      : id === STUDY_IDS.pad
      ? "_"
      : "?";
  }
  return s;
}

/**
 * The study's digit accuracy of one prediction: position-wise matches over min(len), aligned
 * from the most significant digit, and the denominator max(len) (summed over rows by callers).
 */
export function digitMatches(predicted: string, target: string): { right: number; total: number } {
  let right = 0;
  for (let i = 0; i < Math.min(predicted.length, target.length); i++) {
    if (predicted[i] === target[i]) right++;
  }
  return { right, total: Math.max(predicted.length, target.length) };
}

/** The digits a row of predicted ids spells before its first non-digit (EOS, PAD, …). */
export function predictedDigits(ids: ArrayLike<number>, start: number, end: number): string {
  let s = "";
  for (let t = start; t < end && ids[t] < 10; t++) s += CHARS[ids[t]];
  return s;
}

/** Exact match and digit accuracy, overall and per bucket, of predictions for problems. */
export interface StudyScores {
  count: number;
  exact_match: number;
  digit_accuracy: number;
  buckets: { bucket: number; count: number; exact_match: number; digit_accuracy: number }[];
}

/** Scores predicted product strings against the problems' products. */
export function scoreStudy(
  problems: StudyProblem[],
  predicted: string[],
  buckets: number,
): StudyScores {
  const acc = Array.from({ length: buckets }, () => ({ n: 0, exact: 0, right: 0, total: 0 }));
  problems.forEach((p, i) => {
    const target = String(p.a * p.b);
    const m = digitMatches(predicted[i], target);
    const a = acc[p.bucket];
    a.n++;
    if (predicted[i] === target) a.exact++;
    a.right += m.right;
    a.total += m.total;
  });
  const sum = (f: (a: typeof acc[number]) => number) => acc.reduce((s, a) => s + f(a), 0);
  return {
    count: problems.length,
    exact_match: sum((a) => a.exact) / Math.max(1, sum((a) => a.n)),
    digit_accuracy: sum((a) => a.right) / Math.max(1, sum((a) => a.total)),
    buckets: acc.map((a, bucket) => ({
      bucket,
      count: a.n,
      exact_match: a.n ? a.exact / a.n : 0,
      digit_accuracy: a.total ? a.right / a.total : 0,
    })),
  };
}

/**
 * The study as a `BatchSource`: train batches walk the train split in a fresh seeded order every
 * epoch; validation batches cycle through the val split in a fixed shuffled order.
 *
 * @example
 * ```ts
 * const src = new MultiplicationStudySource({ minDigits: 2, maxDigits: 2, buckets: 10, splitSeed: 1234 }, 1);
 * decodeStudyIds(src.trainBatch(0, 1).inputs); // "37*52^1924⏎_"-like
 * ```
 */
export class MultiplicationStudySource implements BatchSource {
  readonly name: string;
  readonly vocabSize: number = STUDY_IDS.size;
  readonly seqLen: number;
  /** Source positions at the start of each row (the encoder–decoders' `model.source_len`). */
  readonly sourceLen: number;
  readonly padId: number = STUDY_IDS.pad;
  readonly bosId: number = STUDY_IDS.bos;
  readonly eosId: number = STUDY_IDS.eos;
  readonly metadata: Record<string, number | string | boolean | null>;
  readonly splits: Record<StudySplit, StudyProblem[]>;
  private readonly valOrder: StudyProblem[];
  private epochOrder: { epoch: number; order: StudyProblem[] } | null = null;

  constructor(readonly params: StudyParams, private readonly seed: number) {
    this.splits = studySplits(params);
    this.sourceLen = 2 * params.maxDigits + 1;
    // BOS + up to 2·max_digits product digits + EOS, minus the last token (inputs drop it)
    this.seqLen = this.sourceLen + 2 * params.maxDigits + 1;
    this.name = `multiplication(study,${params.minDigits}-${params.maxDigits} digits)`;
    this.valOrder = shuffle([...this.splits.val], params.splitSeed + 77);
    this.metadata = {
      task: this.name,
      chars: CHARS,
      source_len: this.sourceLen,
      pad_id: this.padId,
      bos_id: this.bosId,
      eos_id: this.eosId,
      train_problems: this.splits.train.length,
      val_problems: this.splits.val.length,
      test_problems: this.splits.test.length,
    };
  }

  /** Batches per pass over the train split. */
  epochBatches(batchSize: number): number {
    return Math.ceil(this.splits.train.length / batchSize);
  }

  trainBatch(index: number, batchSize: number): Batch {
    const n = this.splits.train.length;
    const rows: StudyProblem[] = [];
    for (let r = 0; r < batchSize; r++) {
      const position = index * batchSize + r;
      rows.push(this.trainOrder(Math.floor(position / n))[position % n]);
    }
    return this.rows(rows);
  }

  valBatch(index: number, batchSize: number): Batch {
    const n = this.valOrder.length;
    return this.rows(
      Array.from({ length: batchSize }, (_, r) => this.valOrder[(index * batchSize + r) % n]),
    );
  }

  /** Token rows of problems, the layout the module doc describes. */
  rows(problems: StudyProblem[]): Batch {
    const T = this.seqLen;
    const S = this.sourceLen;
    const inputs = new Int32Array(problems.length * T).fill(this.padId);
    const targets = new Int32Array(problems.length * T).fill(IGNORE_INDEX);
    problems.forEach((p, r) => {
      const source = encodeStudyText(`${p.a}*${p.b}`);
      const answer = [this.bosId, ...encodeStudyText(String(p.a * p.b)), this.eosId];
      inputs.set(source, r * T);
      inputs.set(answer.slice(0, T - S), r * T + S);
      for (let t = 0; t + 1 < answer.length; t++) targets[r * T + S + t] = answer[t + 1];
    });
    return { inputs, targets, batchSize: problems.length, seqLen: T };
  }

  /** The prompt row of `text` (`a*b`): the padded source and BOS, as generation starts it. */
  promptIds(text: string): number[] {
    const source = encodeStudyText(text);
    if (source.length > this.sourceLen) {
      throw new UserError(
        `the prompt has ${source.length} characters; this data's sources have at most ${this.sourceLen}`,
      );
    }
    return [...source, ...Array(this.sourceLen - source.length).fill(this.padId), this.bosId];
  }

  /**
   * Exact match, the study's digit accuracy and token accuracy from teacher-forced argmax
   * predictions; the predicted product is the digits predicted before the first non-digit.
   */
  taskMetrics(batch: Batch, predictions: Int32Array): Record<string, number> {
    const T = batch.seqLen;
    const S = this.sourceLen;
    let exact = 0;
    let right = 0;
    let total = 0;
    let tokens = 0;
    let tokensRight = 0;
    for (let r = 0; r < batch.batchSize; r++) {
      let target = "";
      for (let t = S; t < T; t++) {
        const y = batch.targets[r * T + t];
        if (y === IGNORE_INDEX) break;
        tokens++;
        if (predictions[r * T + t] === y) tokensRight++;
        if (y < 10) target += CHARS[y];
      }
      const predicted = predictedDigits(predictions, r * T + S, (r + 1) * T);
      if (predicted === target) exact++;
      const m = digitMatches(predicted, target);
      right += m.right;
      total += m.total;
    }
    return {
      exact_match: exact / batch.batchSize,
      digit_accuracy: total ? right / total : 0,
      token_accuracy: tokens ? tokensRight / tokens : 0,
    };
  }

  private trainOrder(epoch: number): StudyProblem[] {
    if (this.epochOrder?.epoch !== epoch) {
      const seed = (Math.imul(this.seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>>
        0;
      this.epochOrder = { epoch, order: shuffle([...this.splits.train], seed) };
    }
    return this.epochOrder.order;
  }
}

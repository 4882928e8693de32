/**
 * `metrics.jsonl`: one JSON object per line, appended as training goes (train, val and event
 * lines, DESIGN.md). Every line is written with one write call straight to the file, so a reader
 * (the visualizer) sees complete lines except possibly the last.
 *
 * @module
 */

import { join } from "node:path";
import { parseJsonLines, writeFileAtomic } from "../util/fs.ts";

/** A `{"type":"train",…}` line. */
export interface TrainLine {
  type: "train";
  step: number;
  tokens: number;
  flops: number;
  elapsed_s: number;
  loss: number;
  lr: number;
  grad_norm: number | null;
  tokens_per_s: number;
  step_ms: number;
  gpu_bytes: number;
  /** The most bytes in use at once during the window's steps (activations, gradients, …). */
  gpu_peak_bytes: number;
  /** training.loss.accuracy_weight > 0: the window's cross-entropy and 1 − mean p(correct). */
  loss_ce?: number;
  loss_acc?: number;
  /** training.clip.mode adaptive: the clip value this step used (src/train/clipping.ts). */
  clip?: number;
  /** training.teacher_forcing: the share of ground-truth decoder inputs this step used. */
  tf_ratio?: number;
}

/** A `{"type":"val",…}` line; task metrics and source metadata ride along as extra keys. */
export interface ValLine {
  type: "val";
  step: number;
  tokens: number;
  flops: number;
  elapsed_s: number;
  loss: number;
  ppl: number;
  [key: string]: number | string | boolean | null;
}

/** A `{"type":"event",…}` line. */
export interface EventLine {
  type: "event";
  step: number;
  elapsed_s: number;
  event: string;
  detail: string;
  /** On a `resume` event: the config changes it was resumed with (`key old → new`). */
  overrides?: string[];
}

/** A diagnostics line (`{"type":"diag",…}`): activation norms, grad norms, entropy, memory. */
export interface DiagLine {
  type: "diag";
  step: number;
  elapsed_s: number;
  [key: string]: number | string | number[] | null;
}

/** Any metrics line. */
export type MetricsLine = TrainLine | ValLine | EventLine | DiagLine;

/** Appends lines to a run's `metrics.jsonl`. */
export class MetricsWriter {
  private readonly file: Deno.FsFile;
  private readonly encoder = new TextEncoder();

  private constructor(file: Deno.FsFile, readonly path: string) {
    this.file = file;
  }

  /** Opens (creating if needed) `metrics.jsonl` in `dir` for appending. */
  static async open(dir: string): Promise<MetricsWriter> {
    const path = join(dir, "metrics.jsonl");
    const file = await Deno.open(path, { append: true, create: true });
    return new MetricsWriter(file, path);
  }

  /** Appends one line (one write, so concurrent readers never see a torn middle line). */
  write(line: MetricsLine): void {
    const bytes = this.encoder.encode(JSON.stringify(line, finiteOrNull) + "\n");
    let written = 0;
    while (written < bytes.length) written += this.file.writeSync(bytes.subarray(written));
  }

  /** Closes the file. */
  close(): void {
    this.file.close();
  }
}

// JSON has no NaN/Infinity; a diverged loss is logged as null rather than breaking the line.
function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

/** Reads the lines of a `metrics.jsonl` (a truncated last line is skipped). */
export async function readMetrics(dir: string): Promise<MetricsLine[]> {
  try {
    return parseJsonLines<MetricsLine>(await Deno.readTextFile(join(dir, "metrics.jsonl")));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/**
 * Rewinds `metrics.jsonl` to what was logged up to `step` (inclusive), dropping a truncated last
 * line: a resumed run recomputes the steps after its checkpoint, and the log should show them
 * once. The file is replaced atomically.
 */
export async function rewindMetrics(dir: string, step: number): Promise<void> {
  // A damaged line (a torn write, an edit by hand) is dropped rather than blocking the resume.
  const lines = (await readMetricsLenient(dir)).filter((l) => l.step <= step);
  const text = lines.map((l) => JSON.stringify(l) + "\n").join("");
  await writeFileAtomic(join(dir, "metrics.jsonl"), text);
}

/** The parseable metrics lines that have a numeric step; anything else is skipped. */
async function readMetricsLenient(dir: string): Promise<MetricsLine[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "metrics.jsonl"));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const out: MetricsLine[] = [];
  for (const line of text.split("\n")) {
    try {
      const v = JSON.parse(line);
      if (v && typeof v === "object" && Number.isFinite(v.step)) out.push(v);
    } catch {
      // skipped: see rewindMetrics
    }
  }
  return out;
}

/**
 * The belief-state probe's computation (Shai et al., NeurIPS 2024), host-agnostic so it runs in a
 * browser tab too: every input of a given length through a model trained on a process, the
 * residual stream at each position after the embedding and after each block, and an affine
 * least-squares fit to the true belief state, scored per layer next to a cross-validated fit and a
 * shuffled-belief control. Files and the terminal are `probe.ts`'s job.
 *
 * @module
 */

import type { Process } from "../data/synthetic/process.ts";
import type { Device } from "../gpu/device.ts";
import type { GPT } from "../nn/gpt.ts";
import { noGrad, Tensor } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";
import { type ProbeData, type ProbeScores, probeScores } from "./probe_fit.ts";
import { beliefColor, beliefProjection } from "./probe_plot.ts";

/** Most full-length inputs the probe enumerates (3^10 = 59,049 fits). */
export const MAX_PROBE_INPUTS = 200_000;
/** Sequences per forward pass. */
const PROBE_BATCH = 512;
/** Points drawn in the SVG (a seeded subsample beyond this). */
const MAX_SVG_POINTS = 12_000;

/**
 * Every possible input of `seqLen` positions with the belief at each position. Rows are distinct
 * prefixes (the residual at position t depends only on tokens ≤ t); `weights` counts the full
 * inputs sharing each, so a fit weighted by them equals one over all (input, position) pairs.
 * With BOS, position 0 (always the belief π) has no row.
 */
export interface BeliefInputs {
  /** Token ids, `[nSeq, seqLen]` (BOS first when used). */
  ids: Int32Array;
  nSeq: number;
  seqLen: number;
  /** Row r is position `rowPos[r]` of sequence `rowSeq[r]`. */
  rowSeq: Int32Array;
  rowPos: Int32Array;
  /** Beliefs `[rows, nStates]`. */
  beliefs: Float64Array;
  /** Number of full inputs sharing each row's prefix. */
  weights: Float64Array;
  rows: number;
  nStates: number;
}

/** Enumerates all inputs of `seqLen` positions that the process can produce (probability > 0). */
export function enumerateBeliefInputs(
  process: Process,
  opts: { seqLen: number; bos: boolean },
): BeliefInputs {
  const { seqLen, bos } = opts;
  const bosId = process.vocabSize;
  const processLen = seqLen - (bos ? 1 : 0);
  if (processLen < 1) throw new UserError(`probe: length ${seqLen} leaves no process tokens`);
  const upper = process.vocabSize ** processLen;
  if (upper > MAX_PROBE_INPUTS) {
    throw new UserError(
      `probe: ${process.vocabSize}^${processLen} = ${upper} inputs is too many ` +
        `(at most ${MAX_PROBE_INPUTS}); use a smaller --length`,
    );
  }
  const S = process.nStates;
  const ids: number[] = [];
  const rowSeq: number[] = [];
  const rowPos: number[] = [];
  const beliefs: number[] = [];
  const weights: number[] = [];
  const prefix: number[] = [];
  let nSeq = 0;

  const addRow = (pos: number, belief: ArrayLike<number>): number => {
    rowSeq.push(nSeq);
    rowPos.push(pos);
    for (let j = 0; j < S; j++) beliefs.push(belief[j]);
    weights.push(0);
    return weights.length - 1;
  };
  // returns how many full inputs extend this prefix
  const visit = (belief: Float64Array): number => {
    if (prefix.length === processLen) {
      if (bos) ids.push(bosId);
      ids.push(...prefix);
      nSeq++;
      return 1;
    }
    const probs = process.nextTokenProbs(belief);
    let leaves = 0;
    for (let k = 0; k < process.vocabSize; k++) {
      if (!(probs[k] > 0)) continue;
      const next = process.update(belief, k);
      prefix.push(k);
      const row = addRow(prefix.length - (bos ? 0 : 1), next);
      const below = visit(next);
      weights[row] = below;
      leaves += below;
      prefix.pop();
    }
    return leaves;
  };
  // The BOS position is left out: its belief is always π, and a single row that no other resembles
  // only makes held-out folds extrapolate.
  visit(Float64Array.from(process.stationary));
  return {
    ids: Int32Array.from(ids),
    nSeq,
    seqLen,
    rowSeq: Int32Array.from(rowSeq),
    rowPos: Int32Array.from(rowPos),
    beliefs: Float64Array.from(beliefs),
    weights: Float64Array.from(weights),
    rows: weights.length,
    nStates: S,
  };
}

/**
 * Residual streams of the rows of `inputs`: one `[rows, d_model]` array per capture point
 * (index 0 = after the embedding, i = after block i).
 */
export async function captureResiduals(
  dev: Device,
  model: GPT,
  inputs: BeliefInputs,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<Float32Array[]> {
  const T = inputs.seqLen;
  const C = model.config.d_model;
  const layers = model.config.n_layer + 1;
  const out = Array.from({ length: layers }, () => new Float32Array(inputs.rows * C));
  // rows grouped by sequence so each forward pass fills its own rows
  const rowsOfSeq = new Map<number, number[]>();
  for (let r = 0; r < inputs.rows; r++) {
    const s = inputs.rowSeq[r];
    const list = rowsOfSeq.get(s);
    if (list) list.push(r);
    else rowsOfSeq.set(s, [r]);
  }
  for (let start = 0; start < inputs.nSeq; start += PROBE_BATCH) {
    const count = Math.min(PROBE_BATCH, inputs.nSeq - start);
    const ids = inputs.ids.subarray(start * T, (start + count) * T);
    const residuals = noGrad(() => {
      const x = Tensor.fromArray(dev, ids, [count, T], { dtype: "i32" });
      const r = model.forward(x, { capture: true }).residuals!;
      x.release();
      return r;
    });
    for (let l = 0; l < layers; l++) {
      const values = (await residuals[l].toArray()) as Float32Array;
      for (let s = 0; s < count; s++) {
        for (const r of rowsOfSeq.get(start + s) ?? []) {
          const at = (s * T + inputs.rowPos[r]) * C;
          out[l].set(values.subarray(at, at + C), r * C);
        }
      }
    }
    for (const r of residuals) r.release();
    opts.onProgress?.(start + count, inputs.nSeq);
  }
  return out;
}

/** Scores of the probe at one capture point. */
export interface LayerProbe extends ProbeScores {
  /** 0 = after the embedding, i = after block i. */
  layer: number;
  name: string;
}

/** Everything the probe measured, as written to `probe/probe.json`. */
export interface ProbeReport {
  process: string;
  seq_len: number;
  bos: boolean;
  inputs: number;
  rows: number;
  /** Features per row (the model's d_model). */
  d_model: number;
  folds: number;
  /** True when rows were weighted by the inputs sharing them (else each prefix counts once). */
  weighted_by_inputs: boolean;
  /** MSE is the mean squared error per belief coordinate. */
  layers: LayerProbe[];
  /** The layer drawn in the picture. */
  plotted_layer: number;
  projection: {
    kind: "simplex" | "pca";
    vertices: [number, number][] | null;
    true: [number, number][];
    predicted: [number, number][];
    position: number[];
    color: string[];
  };
}

/** Options of {@link runProbe}. */
export interface ProbeOptions {
  /** Model positions per input (default: the model's max_seq_len). */
  seqLen?: number;
  bos: boolean;
  /** The layer to draw (default: the last block). */
  layer?: number;
  folds?: number;
  seed?: number;
  /** Called after each batch of inputs with the count done so far. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Weight each distinct prefix by how many full inputs contain it, which equals a fit over all
   * (input, position) pairs as in the paper. Off by default: with short contexts a few early
   * prefixes then carry most of the weight, and held-out folds become extrapolation tests.
   */
  weightByInputs?: boolean;
}

/** Runs the probe on a model and process (no files written). */
export async function runProbe(
  dev: Device,
  model: GPT,
  process: Process,
  opts: ProbeOptions,
): Promise<ProbeReport> {
  const seqLen = opts.seqLen ?? model.config.max_seq_len;
  const layerCount = model.config.n_layer + 1;
  const plotted = opts.layer ?? model.config.n_layer;
  if (!Number.isInteger(plotted) || plotted < 0 || plotted >= layerCount) {
    throw new UserError(`--layer must be in 0..${layerCount - 1} (0 = embedding), got ${plotted}`);
  }
  if (seqLen > model.config.max_seq_len) {
    throw new UserError(
      `--length ${seqLen} exceeds the model's max_seq_len ${model.config.max_seq_len}`,
    );
  }
  const folds = opts.folds ?? 5;
  const seed = opts.seed ?? 0;
  const inputs = enumerateBeliefInputs(process, { seqLen, bos: opts.bos });
  const residuals = await captureResiduals(dev, model, inputs, { onProgress: opts.onProgress });
  const layers: LayerProbe[] = [];
  let plottedPred: Float64Array | null = null;
  for (let l = 0; l < layerCount; l++) {
    const data: ProbeData = {
      x: residuals[l],
      y: inputs.beliefs,
      w: opts.weightByInputs ? inputs.weights : undefined,
      n: inputs.rows,
      dIn: model.config.d_model,
      dOut: inputs.nStates,
    };
    const { scores, predictions } = probeScores(data, { folds, seed });
    layers.push({ layer: l, name: l === 0 ? "embedding" : `block ${l}`, ...scores });
    if (l === plotted) plottedPred = predictions;
  }
  return {
    process: process.name,
    seq_len: seqLen,
    bos: opts.bos,
    inputs: inputs.nSeq,
    rows: inputs.rows,
    d_model: model.config.d_model,
    folds,
    weighted_by_inputs: opts.weightByInputs ?? false,
    layers,
    plotted_layer: plotted,
    projection: projectBeliefs(inputs, plottedPred!),
  };
}

/** Projects true and predicted beliefs of (at most MAX_SVG_POINTS, evenly strided) rows. */
export function projectBeliefs(inputs: BeliefInputs, predicted: Float64Array) {
  const S = inputs.nStates;
  const projection = beliefProjection(inputs.beliefs, S);
  const count = Math.min(inputs.rows, MAX_SVG_POINTS);
  const chosen = Array.from({ length: count }, (_, i) => Math.floor((i * inputs.rows) / count));
  const round = (p: [number, number]): [number, number] => [
    Number(p[0].toFixed(5)),
    Number(p[1].toFixed(5)),
  ];
  return {
    kind: projection.kind,
    vertices: projection.vertices,
    true: chosen.map((r) => round(projection.project(inputs.beliefs.subarray(r * S, (r + 1) * S)))),
    predicted: chosen.map((r) => round(projection.project(predicted.subarray(r * S, (r + 1) * S)))),
    position: chosen.map((r) => inputs.rowPos[r]),
    color: chosen.map((r) => beliefColor(inputs.beliefs.subarray(r * S, (r + 1) * S))),
  };
}

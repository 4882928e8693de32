/**
 * Looking inside a model: attention patterns per layer and head (`validate --attention`) as SVG,
 * PNG and JSON files in `<run>/attention/` for the visualizer, and the residual stream after the
 * embedding and after every block (`validate --activations`) as safetensors.
 *
 * Files are named after the text (a short readable slug plus a hash), so maps of different texts
 * sit side by side and nothing of another text is overwritten.
 *
 * @module
 */

import { join } from "node:path";
import type { GPT } from "../nn/gpt.ts";
import { KVCache } from "../nn/kv_cache.ts";
import { type SafetensorsTensor, writeSafetensors } from "../nn/safetensors.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { checkIdsInVocab, type TextCodec } from "./codec.ts";
import { heatmapPng, heatmapSvg } from "./heatmap.ts";

/** Attention probabilities of one head: `weights[i][j]` = how much query i attends to key j. */
export interface HeadPattern {
  layer: number;
  head: number;
  weights: number[][];
}

/** Ids of `text`, cut to the model's context from the left (the flag says whether it was cut). */
export function encodeForInspection(
  model: GPT,
  codec: TextCodec,
  text: string,
): { ids: number[]; truncated: number } {
  const ids = codec.encode(text);
  if (ids.length === 0) throw new UserError("the text is empty (no tokens to inspect)");
  checkIdsInVocab(ids, model.config.vocab_size);
  const truncated = Math.max(0, ids.length - model.config.max_seq_len);
  return { ids: ids.slice(truncated), truncated };
}

/** Checks `--layers` / `--heads` selections against the model (all when undefined). */
export function selectIndices(wanted: number[] | undefined, count: number, what: string): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (wanted === undefined) return all;
  for (const i of wanted) {
    if (!(Number.isInteger(i) && i >= 0 && i < count)) {
      throw new UserError(`--${what}: ${i} is not in 0..${count - 1}`);
    }
  }
  return [...new Set(wanted)].sort((a, b) => a - b);
}

/**
 * The softmax(QKᵀ/√D) matrices of the chosen layers and heads for `ids`, materialised with
 * unfused ops (matmul, scale, causalMask, softmax) during one forward.
 */
export async function attentionPatterns(
  model: GPT,
  ids: readonly number[],
  opts: { layers?: number[]; heads?: number[] } = {},
): Promise<HeadPattern[]> {
  const layers = selectIndices(opts.layers, model.config.n_layer, "layers");
  const heads = selectIndices(opts.heads, model.config.n_head, "heads");
  const captured = new Map<number, Tensor>();
  const cache = new KVCache(model, Math.max(1, ids.length));
  try {
    const logits = cache.forward(ids, {
      onAttention: (layer, probs) => {
        if (layers.includes(layer)) captured.set(layer, probs);
        else probs.release();
      },
    });
    logits.release();
  } finally {
    cache.release();
  }
  const T = ids.length;
  const out: HeadPattern[] = [];
  for (const layer of layers) {
    const probs = captured.get(layer);
    if (!probs) {
      for (const p of captured.values()) p.release();
      throw new UserError(
        `layer ${layer} reported no attention probabilities: its attention forward does not call ` +
          `ctx.observeAttention`,
      );
    }
    const values = await probs.toArray() as Float32Array; // [1,H,T,T]
    probs.release();
    for (const head of heads) {
      const weights = Array.from(
        { length: T },
        (_, i) => Array.from(values.subarray((head * T + i) * T, (head * T + i + 1) * T)),
      );
      out.push({ layer, head, weights });
    }
  }
  return out;
}

/** A file-name-safe name for a text: a few of its characters and a hash of all of it. */
export function textSlug(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  const readable = text.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 16);
  return `${readable || "text"}_${(h >>> 0).toString(16).padStart(8, "0")}`;
}

/**
 * Writes one SVG and one PNG per head plus `<slug>.json` (tokens and all weights) into `dir`.
 * Returns the paths written.
 */
export async function writeAttentionMaps(
  dir: string,
  text: string,
  tokens: string[],
  patterns: HeadPattern[],
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const slug = textSlug(text);
  const written: string[] = [];
  for (const p of patterns) {
    const map = {
      rows: tokens.length,
      cols: tokens.length,
      values: p.weights.flat(),
      rowLabels: tokens,
      colLabels: tokens,
      title: `layer ${p.layer} head ${p.head}`,
    };
    const base = join(dir, `${slug}_L${p.layer}_H${p.head}`);
    await writeFileAtomic(`${base}.svg`, heatmapSvg(map));
    await writeFileAtomic(`${base}.png`, await heatmapPng(map));
    written.push(`${base}.svg`, `${base}.png`);
  }
  const jsonPath = join(dir, `${slug}.json`);
  await writeJsonAtomic(jsonPath, { text, tokens, patterns });
  written.push(jsonPath);
  return written;
}

/**
 * The residual stream after the embedding (`resid.0`) and after each block (`resid.<l+1>`), from
 * `GPT.forward(…, { capture: true })`: `[T, C]` for one sequence of ids, `[B, T, C]` for a batch
 * (several sequences, T the longest; rows past a sequence's end are 0). Causal attention makes
 * each sequence's rows independent of the padding after it.
 */
export async function residualStream(
  model: GPT,
  ids: readonly number[] | readonly (readonly number[])[],
): Promise<Map<string, Float32Array>> {
  const batch = typeof ids[0] === "number" ? null : ids as readonly (readonly number[])[];
  const seqs = batch ?? [ids as readonly number[]];
  const T = Math.max(...seqs.map((s) => s.length));
  const flat = seqs.flatMap((s) => [...s, ...new Array(T - s.length).fill(0)]);
  // tidy frees everything the forward made except the residuals it returns.
  const residuals = tidy(() =>
    noGrad(() => {
      const input = Tensor.fromArray(model.device, flat, [seqs.length, T], { dtype: "i32" });
      return model.forward(input, { capture: true, lastLogitsOnly: batch === null })
        .residuals!;
    })
  );
  const C = model.config.d_model;
  const out = new Map<string, Float32Array>();
  for (const [i, r] of residuals.entries()) {
    const values = await r.toArray() as Float32Array;
    r.release();
    seqs.forEach((s, b) => values.fill(0, (b * T + s.length) * C, (b + 1) * T * C));
    out.set(`resid.${i}`, values);
  }
  return out;
}

/**
 * Saves the residual stream of `ids` as `<dir>/<slug>.safetensors` (tensors `resid.<i>`,
 * F32 `[T, C]`, plus `ids` I32 `[T]`; the text and tokens in the metadata).
 */
export async function writeActivations(
  dir: string,
  text: string,
  ids: readonly number[],
  tokens: string[],
  residuals: Map<string, Float32Array>,
  dModel: number,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${textSlug(text)}.safetensors`);
  const tensors = new Map<string, SafetensorsTensor>();
  tensors.set("ids", { dtype: "I32", shape: [ids.length], data: Int32Array.from(ids) });
  for (const [name, data] of residuals) {
    tensors.set(name, { dtype: "F32", shape: [ids.length, dModel], data });
  }
  await writeSafetensors(path, tensors, { text, tokens: JSON.stringify(tokens) });
  return path;
}

/**
 * Saves the residual stream of a batch of texts as `<dir>/<slug>.safetensors`: `resid.<i>` F32
 * `[B, T, C]` (T the longest; rows past a sequence's end 0), `ids` I32 `[B, T]` (−1 past the
 * end) and `lengths` I32 `[B]`; the texts and tokens in the metadata (JSON arrays).
 */
export async function writeBatchActivations(
  dir: string,
  texts: string[],
  ids: number[][],
  tokens: string[][],
  residuals: Map<string, Float32Array>,
  dModel: number,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${textSlug(texts.join("\n"))}.safetensors`);
  const B = ids.length;
  const T = Math.max(...ids.map((s) => s.length));
  const padded = Int32Array.from({ length: B * T }, (_, k) => ids[Math.floor(k / T)][k % T] ?? -1);
  const tensors = new Map<string, SafetensorsTensor>();
  tensors.set("ids", { dtype: "I32", shape: [B, T], data: padded });
  tensors.set("lengths", { dtype: "I32", shape: [B], data: Int32Array.from(ids, (s) => s.length) });
  for (const [name, data] of residuals) {
    tensors.set(name, { dtype: "F32", shape: [B, T, dModel], data });
  }
  await writeSafetensors(path, tensors, {
    texts: JSON.stringify(texts),
    tokens: JSON.stringify(tokens),
  });
  return path;
}

/**
 * The GPT model's configuration: defaults, validation, and the parameter count and FLOPs derived
 * from shapes alone (so a GPT-2-small-sized config can be sized without allocating it).
 *
 * @module
 */

import type { ModelConfig } from "../config/schema.ts";
import { UserError } from "../util/errors.ts";
import { INIT_STD } from "./init.ts";

/** The model section of a config; the type is the config schema's, so the two cannot drift. */
export type GPTConfig = ModelConfig;

/** Keys only other architectures read (encoder–decoders: `encdec_config.ts`); no GPT default. */
type OtherArchitectureKeys =
  | "n_encoder_layer"
  | "source_len"
  | "pad_id"
  | "num_latent"
  | "bottleneck_factor";

/** The named keys of a config, without the index signature that plugin models' keys come in by. */
type NamedKeys<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

/** A config with its defaults filled in and the derived init scale. */
export interface ResolvedConfig
  extends
    Required<Omit<NamedKeys<GPTConfig>, OtherArchitectureKeys>>,
    Pick<NamedKeys<GPTConfig>, OtherArchitectureKeys> {
  /** Keys a registered model declares with `registerModel(…, { configSchema })`. */
  [key: string]: unknown;
  /** Residual projections' std: GPT-2's init_std / sqrt(2·n_layer), or init_std with `init: pytorch`. */
  residualStd: number;
  /** Whether Linear biases start U(±1/√fan_in) (`init: pytorch`) rather than 0. */
  uniformBias: boolean;
}

/** Fills defaults and checks the shape constraints; a violated one is a one-line UserError. */
export function resolveConfig(cfg: GPTConfig): ResolvedConfig {
  const r: ResolvedConfig = {
    ...cfg,
    // `??` rather than spread order: a key present with the value undefined still takes the default.
    d_ffn: cfg.d_ffn ?? 4 * cfg.d_model,
    ln_eps: cfg.ln_eps ?? 1e-5,
    rope_base: cfg.rope_base ?? 10000,
    init: cfg.init ?? "gpt2",
    init_std: cfg.init_std ?? INIT_STD,
    residualStd: 0,
    uniformBias: cfg.init === "pytorch",
  };
  r.residualStd = r.init === "pytorch" ? r.init_std : r.init_std / Math.sqrt(2 * r.n_layer);
  for (
    const key of ["vocab_size", "max_seq_len", "n_layer", "n_head", "d_model", "d_ffn"] as const
  ) {
    if (!Number.isInteger(r[key]) || r[key] < 1) {
      throw new UserError(`model.${key}: expected a positive integer, found ${r[key]}`);
    }
  }
  if (r.d_model % r.n_head !== 0) {
    throw new UserError(
      `model.d_model (${r.d_model}) must be divisible by model.n_head (${r.n_head})`,
    );
  }
  if (r.positional === "rope" && (r.d_model / r.n_head) % 2 !== 0) {
    throw new UserError(
      `model.positional rope needs an even head size, found ${r.d_model / r.n_head}`,
    );
  }
  if (r.positional !== "learned" && r.positional !== "rope") {
    throw new UserError(`model.positional: expected learned or rope, found ${r.positional}`);
  }
  if (r.init !== "gpt2" && r.init !== "pytorch") {
    throw new UserError(`model.init: expected gpt2 or pytorch, found ${r.init}`);
  }
  if (!(r.init_std > 0 && Number.isFinite(r.init_std))) {
    throw new UserError(`model.init_std: expected a positive number, found ${r.init_std}`);
  }
  if (!(r.dropout >= 0 && r.dropout < 1)) {
    throw new UserError(`model.dropout: expected a number in [0, 1), found ${r.dropout}`);
  }
  return r;
}

/** Parameter count of a config from shapes alone (nothing allocated); a tied head counts once. */
export function countGptParams(cfg: GPTConfig): number {
  const c = resolveConfig(cfg);
  const { d_model: d, d_ffn: f, vocab_size: v } = c;
  const b = c.bias ? 1 : 0;
  const layerNorm = d + b * d;
  const perBlock = 2 * layerNorm + (3 * d * d + b * 3 * d) + (d * d + b * d) + (f * d + b * f) +
    (d * f + b * d);
  const positions = c.positional === "learned" ? c.max_seq_len * d : 0;
  const head = c.tie_embeddings ? 0 : v * d;
  return v * d + positions + c.n_layer * perBlock + layerNorm + head;
}

/**
 * Training FLOPs per token, 6·N + 12·L·d·T (the PaLM/nanoGPT form): N counts every matmul weight
 * (attention and MLP projections and the LM head, tied or not; biases, layernorms and the
 * embedding lookups are not matmuls), 12·L·d·T is attention's QKᵀ and AV work.
 */
export function gptFlopsPerToken(cfg: GPTConfig, seqLen: number): number {
  const c = resolveConfig(cfg);
  const matmulParams = c.n_layer * (4 * c.d_model * c.d_model + 2 * c.d_model * c.d_ffn) +
    c.vocab_size * c.d_model;
  return 6 * matmulParams + 12 * c.n_layer * c.d_model * seqLen;
}

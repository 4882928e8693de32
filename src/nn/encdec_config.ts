/**
 * Configuration of the encoder–decoder models (`model.name: encdec` and `latent_encdec`): their
 * own keys on top of GPT's shape keys, defaults, and one-line errors that name the key.
 *
 * An encoder–decoder reads the same `[B, T]` token rows as a GPT: the first `source_len`
 * positions are the source (the prompt, right-padded with `pad_id`), the rest are the decoder's
 * inputs (BOS, answer…). So training, validation and checkpoints need no new data path.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";
import { type GPTConfig, resolveConfig, type ResolvedConfig } from "./gpt_config.ts";

/** A resolved encoder–decoder config. */
export interface ResolvedEncDecConfig extends ResolvedConfig {
  /** Encoder blocks (`model.n_encoder_layer`, default `n_layer`); `n_layer` counts decoder blocks. */
  nEncoderLayer: number;
  /** Source positions at the start of each row (`model.source_len`). */
  sourceLen: number;
  /** Decoder positions: max_seq_len − source_len. */
  targetLen: number;
  /** The source's padding id (`model.pad_id`), hidden from attention. */
  padId: number;
  /** Latent tokens (`model.num_latent`, default 8; latent_encdec only). */
  numLatent: number;
  /** 1: the decoder sees only the latents; f < 1: also the encoder memory scaled by 1 − f. */
  bottleneckFactor: number;
  /** True for latent_encdec. */
  latent: boolean;
}

function positiveIntegerKey(key: string, v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new UserError(`model.${key}: expected ${what}, found ${v}`);
  }
  return v;
}

/**
 * Fills defaults and checks the encoder–decoder keys; a bad one is a UserError naming it.
 *
 * @example
 * ```ts
 * const c = resolveEncDecConfig({ ...gptKeys, name: "encdec", source_len: 5, pad_id: 13 }, false);
 * c.targetLen; // max_seq_len − 5
 * ```
 */
export function resolveEncDecConfig(cfg: GPTConfig, latent: boolean): ResolvedEncDecConfig {
  const base = resolveConfig(cfg);
  if (base.positional !== "learned") {
    throw new UserError(`model.positional: ${cfg.name} uses learned positions, found rope`);
  }
  if (cfg.source_len === undefined) {
    throw new UserError(
      `model.source_len: ${cfg.name} needs the source width (a data source with a prompt/answer ` +
        `split reports it, e.g. data.task multiplication with params.format study)`,
    );
  }
  const sourceLen = positiveIntegerKey("source_len", cfg.source_len, "a positive integer");
  if (sourceLen >= base.max_seq_len) {
    throw new UserError(
      `model.source_len (${sourceLen}) must be below model.max_seq_len (${base.max_seq_len})`,
    );
  }
  const padId = cfg.pad_id;
  if (
    typeof padId !== "number" || !Number.isInteger(padId) || padId < 0 || padId >= base.vocab_size
  ) {
    throw new UserError(
      `model.pad_id: expected a token id in [0, ${base.vocab_size}), found ${padId}`,
    );
  }
  const nEncoderLayer = positiveIntegerKey(
    "n_encoder_layer",
    cfg.n_encoder_layer ?? base.n_layer,
    "a positive integer",
  );
  const numLatent = positiveIntegerKey("num_latent", cfg.num_latent ?? 8, "an integer ≥ 1");
  const factor = cfg.bottleneck_factor ?? 1;
  if (typeof factor !== "number" || !(factor >= 0 && factor <= 1)) {
    throw new UserError(`model.bottleneck_factor: expected a number in [0, 1], found ${factor}`);
  }
  return {
    ...base,
    nEncoderLayer,
    sourceLen,
    targetLen: base.max_seq_len - sourceLen,
    padId,
    numLatent,
    bottleneckFactor: factor,
    latent,
  };
}

/**
 * Training FLOPs per token of an encoder–decoder row of length `seqLen`: 6·N over the matmul
 * weights plus the attention score/value work (12·d per query–key pair per layer, self and cross),
 * averaged over the row's tokens.
 */
export function encDecFlopsPerToken(c: ResolvedEncDecConfig, seqLen: number): number {
  const d = c.d_model;
  const s = c.sourceLen;
  const t = Math.max(1, seqLen - s);
  const block = 4 * d * d + 2 * d * c.d_ffn;
  const cross = 4 * d * d;
  const memory = c.latent ? c.numLatent + (c.bottleneckFactor < 1 ? s : 0) : s;
  let matmul = (c.nEncoderLayer * block * s + c.n_layer * (block + cross) * t +
    c.vocab_size * d * t) / (s + t);
  let pairs = c.nEncoderLayer * s * s + c.n_layer * (t * t / 2 + t * memory);
  if (c.latent) {
    matmul += (cross + 2 * d * c.d_ffn) * c.numLatent / (s + t);
    pairs += c.numLatent * s;
  }
  return 6 * matmul + 12 * d * pairs / (s + t);
}

/** Model names that are encoder–decoders. */
export const ENCDEC_MODELS: readonly string[] = ["encdec", "latent_encdec"];

/**
 * Checks an encoder–decoder config against its data before anything is written: the data must
 * split rows into source and answer (its metadata reports `source_len` and `pad_id`), and the
 * model's keys must agree with it. Other models pass untouched.
 */
export function checkEncDecData(
  cfg: GPTConfig,
  data: { name: string; metadata?: Record<string, unknown> },
): void {
  if (!ENCDEC_MODELS.includes(cfg.name)) return;
  const sourceLen = data.metadata?.source_len;
  const padId = data.metadata?.pad_id;
  if (typeof sourceLen !== "number" || typeof padId !== "number") {
    throw new UserError(
      `model.name: ${cfg.name} needs data with a prompt/answer split (e.g. data.task ` +
        `multiplication with params.format study); ${data.name} has none`,
    );
  }
  if (cfg.source_len !== sourceLen) {
    throw new UserError(
      `model.source_len: the data's sources are ${sourceLen} wide, found ${cfg.source_len} ` +
        `(set model.source_len=${sourceLen})`,
    );
  }
  if (cfg.pad_id !== padId) {
    throw new UserError(
      `model.pad_id: the data pads with id ${padId}, found ${cfg.pad_id} (set model.pad_id=${padId})`,
    );
  }
  resolveEncDecConfig(cfg, cfg.name === "latent_encdec");
}

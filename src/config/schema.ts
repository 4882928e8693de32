/**
 * The experiment config: zod schemas for `experiment_name`, `seed`, `device`, `model`,
 * `training` and `data` (whose keys depend on `data.source`, see `data_kinds.ts`). Every object is
 * strict, so a misspelt key is an error rather than a silently ignored setting.
 *
 * @module
 */

import { z } from "../deps.ts";

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** The `model` section's built-in keys: the GPT shape (`src/nn/gpt.ts` takes it as `GPTConfig`). */
const modelFields = z.strictObject({
  // An architecture in the model registry (src/nn/registry.ts), checked when a run is prepared.
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, {
    message: "use letters, digits, '.', '_' and '-' only",
  }).default("gpt"),
  // "auto" (the default): read from the data when the run is prepared (src/config/model_sizes.ts)
  vocab_size: positiveInt.or(z.literal("auto")).default("auto"),
  max_seq_len: positiveInt.or(z.literal("auto")).default("auto"),
  n_layer: positiveInt,
  n_head: positiveInt,
  d_model: positiveInt,
  d_ffn: positiveInt.optional(),
  dropout: z.number().min(0).max(1).default(0),
  bias: z.boolean().default(true),
  tie_embeddings: z.boolean().default(true),
  positional: z.enum(["learned", "rope"]).default("learned"),
  ln_eps: z.number().positive().optional(),
  rope_base: z.number().positive().optional(),
  init: z.enum(["gpt2", "pytorch"]).optional(),
  init_std: z.number().positive().optional(),
  // Encoder–decoder keys (src/nn/encdec_config.ts checks them, naming the key).
  n_encoder_layer: z.number().optional(),
  source_len: z.number().optional(),
  pad_id: z.number().optional(),
  num_latent: z.number().optional(),
  bottleneck_factor: z.number().optional(),
});

/** The built-in keys of `model`, which a registered model's own schema may not redeclare. */
export const BUILTIN_MODEL_KEYS: readonly string[] = Object.keys(modelFields.shape);

/** The built-in keys of `training` (besides `extra`, whose keys plugins declare). */
export const BUILTIN_TRAINING_KEYS: readonly string[] = [];

/** The `model` schema, extended by the keys a registered model declares (`registerModel`). */
function modelSchemaWith(extra: z.ZodObject | undefined) {
  // Typed as the built-in fields: extension keys are `unknown` to the static types (ModelConfig).
  const fields = (extra ? modelFields.extend(extra.shape) : modelFields) as typeof modelFields;
  return fields.refine((m) => m.d_model % m.n_head === 0, {
    message: "d_model must be a multiple of n_head",
    path: ["d_model"],
  });
}

/** Diagnostics, each off unless switched on; logged every `every` steps. */
const diagnosticsSchema = z.strictObject({
  every: positiveInt.default(100),
  activation_norms: z.boolean().default(false),
  layernorm_grad_norms: z.boolean().default(false),
  attention_entropy: z.boolean().default(false),
  gpu_memory: z.boolean().default(false),
  /** How many (head, position) pairs per layer the attention entropy samples. */
  entropy_samples: positiveInt.default(16),
});

/** Stability guards: what happens when a loss or gradient is not finite. */
const guardsSchema = z.strictObject({
  /** Failures (non-finite loss or gradient) tolerated before the run stops as failed. */
  max_failures: nonNegativeInt.default(3),
  /** Factor the learning rate is multiplied by after each failure. */
  lr_cut: z.number().gt(0).lt(1).default(0.5),
  /** Emergency checkpoint when loss or gradient norm exceeds this × its running median; 0 = off. */
  spike_factor: z.number().nonnegative().default(0),
});

/** `training.loss`: the combined loss (src/train/combined_loss.ts). */
const lossSchema = z.strictObject({
  /** w in (1 − w)·CE + w·(1 − mean p(correct)); 0 = plain cross-entropy. */
  accuracy_weight: z.number().min(0).max(1).default(0),
});

/** `training.clip`: fixed (max_grad_norm) or adaptive (AutoClip, src/train/clipping.ts). */
const clipSchema = z.strictObject({
  mode: z.enum(["fixed", "adaptive"]).default("fixed"),
  /** Adaptive: clip at this percentile of the recent gradient norms. */
  percentile: z.number().gt(0).max(100).default(10),
  /** Adaptive: how many recent gradient norms the percentile looks at. */
  history: positiveInt.default(1000),
});

/** `training.teacher_forcing`: scheduled sampling (src/train/teacher_forcing.ts). */
const teacherForcingSchema = z.strictObject({
  schedule: z.enum(["constant", "linear", "cosine", "step"]).default("linear"),
  start_step: nonNegativeInt.default(0),
  /** Where linear and cosine reach final_ratio (required by them; step and constant ignore it). */
  end_step: nonNegativeInt.optional(),
  final_ratio: z.number().min(0).max(1),
}).superRefine((tf, ctx) => {
  if (tf.end_step === undefined && (tf.schedule === "linear" || tf.schedule === "cosine")) {
    ctx.addIssue({
      code: "custom",
      path: ["end_step"],
      message: `required by schedule ${tf.schedule} (the step where final_ratio is reached)`,
    });
  }
  if (tf.end_step !== undefined && tf.end_step < tf.start_step) {
    ctx.addIssue({
      code: "custom",
      path: ["end_step"],
      message: `must not be before start_step (${tf.start_step}), found ${tf.end_step}`,
    });
  }
});

const trainingFields = z.strictObject({
  batch_size: positiveInt,
  grad_accum_steps: positiveInt.default(1),
  max_steps: positiveInt.optional(),
  num_epochs: z.number().positive().optional(),
  learning_rate: z.number().positive(),
  min_learning_rate: z.number().nonnegative().optional(),
  lr_decay: z.enum(["cosine", "linear", "constant"]).default("cosine"),
  warmup_steps: nonNegativeInt.optional(),
  warmup_ratio: z.number().min(0).lt(1).optional(),
  weight_decay: z.number().nonnegative().default(0.1),
  /** Which parameters decay: matrices and embeddings (nanoGPT's rule) or every parameter. */
  weight_decay_on: z.enum(["matrices", "all"]).default("matrices"),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
  eps: z.number().positive().default(1e-8),
  /** Global gradient-norm clip; 0 turns clipping off. */
  max_grad_norm: z.number().nonnegative().default(1.0),
  /** Validation every N steps (and at step 0 and the end); 0 turns it off. */
  eval_every: nonNegativeInt.default(250),
  eval_batches: positiveInt.default(20),
  log_every: positiveInt.default(10),
  /** Checkpoint every N steps (and at the end); 0 = only at the end. */
  checkpoint_every: nonNegativeInt.default(1000),
  keep_checkpoints: positiveInt.default(3),
  diagnostics: diagnosticsSchema.default(diagnosticsSchema.parse({})),
  guards: guardsSchema.default(guardsSchema.parse({})),
  loss: lossSchema.default(lossSchema.parse({})),
  clip: clipSchema.default(clipSchema.parse({})),
  /**
   * Gradient checkpointing: recompute each block's activations in backward instead of keeping
   * them (same losses and gradients bit for bit; less memory, about one more forward per step).
   */
  checkpoint_activations: z.boolean().default(false),
  /** Parameter-name globs to freeze (`model.params.setTrainable(glob, false)`), e.g. "h.0.*". */
  freeze: z.array(z.string().min(1)).default([]),
  /** Scheduled sampling; absent: every decoder input is ground truth. */
  teacher_forcing: teacherForcingSchema.optional(),
});
(BUILTIN_TRAINING_KEYS as string[]).push(...Object.keys(trainingFields.shape));

/**
 * The `training` section, with the either/or pairs checked and derived defaults filled in;
 * `extra` holds the keys plugins declare (`registerTrainingExtra`), strict like the rest.
 */
const trainingSchemaWith = (extra: z.ZodObject | undefined) =>
  trainingFields.extend({
    extra: ((extra ?? z.strictObject({})) as z.ZodType<Record<string, unknown>>).prefault({}),
  })
    .superRefine((t, ctx) => {
      if ((t.max_steps === undefined) === (t.num_epochs === undefined)) {
        ctx.addIssue({
          code: "custom",
          path: ["max_steps"],
          message: "set exactly one of max_steps and num_epochs",
        });
      }
      if (t.warmup_steps !== undefined && t.warmup_ratio !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["warmup_steps"],
          message: "set at most one of warmup_steps and warmup_ratio",
        });
      }
      if (t.min_learning_rate !== undefined && t.min_learning_rate > t.learning_rate) {
        ctx.addIssue({
          code: "custom",
          path: ["min_learning_rate"],
          message: "must not exceed learning_rate",
        });
      }
    })
    .transform((t) => ({
      ...t,
      // nanoGPT's convention: decay to a tenth of the peak rate.
      min_learning_rate: t.min_learning_rate ?? t.learning_rate / 10,
    }));

/** `device`: which adapter to ask for. */
const deviceSchema = z.strictObject({
  power_preference: z.enum(["high-performance", "low-power"]).optional(),
  /** An adapter index or name substring (src/gpu/adapter_select.ts); overrides the preference. */
  adapter: z.union([z.number().int().nonnegative(), z.string().min(1)]).optional(),
  f16: z.boolean().default(false),
});

/** One plugin file a run imported (`--import`), recorded so later commands load it again. */
const importSchema = z.strictObject({
  path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** What plugins add to the schema: the chosen model's own keys and `training.extra` keys. */
export interface SchemaExtensions {
  model?: z.ZodObject;
  trainingExtra?: z.ZodObject;
}

/**
 * Builds the whole-config schema around the `data` schema of the chosen source kind (and the
 * keys plugins declare for the chosen model and for `training.extra`).
 */
export function configSchema(
  dataSchema: z.ZodType<DataConfig>,
  ext: SchemaExtensions = {},
): z.ZodType<Config> {
  const modelSchema = modelSchemaWith(ext.model);
  const trainingSchema = trainingSchemaWith(ext.trainingExtra);
  const schema = z.strictObject({
    experiment_name: z.string().regex(/^[A-Za-z0-9._-]+$/, {
      message: "use letters, digits, '.', '_' and '-' only (it names a directory)",
    }),
    seed: nonNegativeInt.default(1337),
    device: deviceSchema.default(deviceSchema.parse({})),
    data: dataSchema,
    model: modelSchema,
    training: trainingSchema,
    imports: z.array(importSchema).optional(),
  });
  // The interfaces below are written out for readers; this line keeps them equal to the schema.
  const typed: z.ZodType<Config, z.input<typeof schema>> = schema;
  return typed as z.ZodType<Config>;
}

/**
 * The `model` section as validated, before "auto" sizes are resolved from the data
 * (src/config/model_sizes.ts).
 */
export interface ModelSettings {
  /** The architecture's name in the model registry (`src/nn/registry.ts`); default "gpt". */
  name: string;
  vocab_size: SizeSetting;
  max_seq_len: SizeSetting;
  n_layer: number;
  n_head: number;
  d_model: number;
  /** MLP hidden width; default 4·d_model. */
  d_ffn?: number;
  dropout: number;
  bias: boolean;
  tie_embeddings: boolean;
  positional: "learned" | "rope";
  /** Layernorm epsilon; default 1e-5. */
  ln_eps?: number;
  /** RoPE frequency base; default 10000. */
  rope_base?: number;
  /**
   * Initialisation; default "gpt2": weights N(0, init_std²), residual projections scaled by
   * 1/√(2·n_layer), biases 0. "pytorch": Linear biases U(±1/√fan_in) as nn.Linear draws them and
   * every weight N(0, init_std²), residual projections unscaled.
   */
  init?: "gpt2" | "pytorch";
  /** Standard deviation of the weights and embeddings at init; default 0.02 (GPT-2's). */
  init_std?: number;
  /** encdec / latent_encdec: encoder blocks (default n_layer); see src/nn/encdec_config.ts. */
  n_encoder_layer?: number;
  /** encdec / latent_encdec: source positions at the start of each row. */
  source_len?: number;
  /** encdec / latent_encdec: the source's padding id. */
  pad_id?: number;
  /** latent_encdec: learned latent tokens (default 8). */
  num_latent?: number;
  /** latent_encdec: 1 = pure bottleneck; f < 1 also shows the encoder memory scaled by 1 − f. */
  bottleneck_factor?: number;
  /** Keys a registered model declares with `registerModel(…, { configSchema })`. */
  [key: string]: unknown;
}

/**
 * The `model` section with its sizes resolved: the GPT shape, snake_case as in YAML.
 * `src/nn/gpt.ts` takes it as `GPTConfig`; `resolveConfig` in `src/nn/gpt_config.ts` fills the
 * optional keys.
 */
export interface ModelConfig extends ModelSettings {
  vocab_size: number;
  max_seq_len: number;
}

/** `training.diagnostics` after defaults. */
export interface DiagnosticsConfig {
  every: number;
  activation_norms: boolean;
  layernorm_grad_norms: boolean;
  attention_entropy: boolean;
  gpu_memory: boolean;
  entropy_samples: number;
}

/** `training.guards` after defaults. */
export interface GuardsConfig {
  max_failures: number;
  lr_cut: number;
  spike_factor: number;
}

/** `training.loss` after defaults. */
export interface LossConfig {
  accuracy_weight: number;
}

/** `training.clip` after defaults. */
export interface ClipConfig {
  mode: "fixed" | "adaptive";
  percentile: number;
  history: number;
}

/** `training.teacher_forcing` after defaults (see src/train/teacher_forcing.ts). */
export interface TeacherForcingConfig {
  schedule: "constant" | "linear" | "cosine" | "step";
  start_step: number;
  end_step?: number;
  /** The teacher-forcing ratio the schedule ends at, in [0, 1]. */
  final_ratio: number;
}

/** The `training` section after validation and defaults. */
export interface TrainingConfig {
  batch_size: number;
  grad_accum_steps: number;
  max_steps?: number;
  num_epochs?: number;
  learning_rate: number;
  min_learning_rate: number;
  lr_decay: "cosine" | "linear" | "constant";
  warmup_steps?: number;
  warmup_ratio?: number;
  weight_decay: number;
  /** "matrices": weights and embeddings decay, biases and layernorm gains do not; "all": all. */
  weight_decay_on: "matrices" | "all";
  betas: [number, number];
  eps: number;
  max_grad_norm: number;
  eval_every: number;
  eval_batches: number;
  log_every: number;
  checkpoint_every: number;
  keep_checkpoints: number;
  diagnostics: DiagnosticsConfig;
  guards: GuardsConfig;
  loss: LossConfig;
  clip: ClipConfig;
  /** Recompute each block's activations in backward instead of keeping them. */
  checkpoint_activations: boolean;
  /** Parameter-name globs frozen for the whole run. */
  freeze: string[];
  /** Scheduled sampling: the share of ground-truth decoder inputs falls to final_ratio. */
  teacher_forcing?: TeacherForcingConfig;
  /** Plugin settings (keys declared with `registerTrainingExtra`), read by hooks. */
  extra: Record<string, unknown>;
}

/** `device` after defaults. */
export interface DeviceConfig {
  power_preference?: "high-performance" | "low-power";
  adapter?: number | string;
  f16: boolean;
}

/** The `data` section: `source` names the kind; the other keys are the kind's own. */
export interface DataConfig {
  source: string;
  [key: string]: unknown;
}

/** A fully resolved experiment config (what `loadConfig` returns and the run directory stores). */
export interface Config {
  experiment_name: string;
  seed: number;
  device: DeviceConfig;
  data: DataConfig;
  model: ModelSettings;
  training: TrainingConfig;
  /** Plugin files the run imported (`--import`), with their SHA-256. */
  imports?: ImportRecord[];
}

/** A config whose model sizes are numbers (`resolveModelSizes`); what a run directory holds. */
export interface ResolvedConfig extends Config {
  model: ModelConfig;
}

/** `model.vocab_size` / `model.max_seq_len` as written: a number, or "auto" (from the data). */
export type SizeSetting = number | "auto";

/** A plugin file recorded in `config.yaml`. */
export interface ImportRecord {
  path: string;
  sha256: string;
}

/**
 * Training a process model where there is no file system: a browser tab. The loop is the
 * trainer's (same batches, schedule, AdamW, clipping and validation), without run directories,
 * checkpoints or signals, and it reports to callbacks instead of `metrics.jsonl`. It runs
 * unchanged under Deno, which is how its numbers are tested against the CLI's.
 *
 * @module
 */

import { YAML, z } from "../deps.ts";
import {
  type Config,
  configSchema,
  type DataConfig,
  type ResolvedConfig,
} from "../config/schema.ts";
import { resolveModelSizes } from "../config/model_sizes.ts";
import {
  processContextLength,
  processDataSchema,
  ProcessSource,
} from "../data/synthetic/process_source.ts";
import { resolveProcess } from "../data/synthetic/process_source.ts";
import type { Device } from "../gpu/device.ts";
import { type ProbeReport, runProbe } from "../eval/belief_probe.ts";
import type { GPT } from "../nn/gpt.ts";
import { createGpt } from "../nn/models_all.ts";
import { AdamW } from "../optim/adamw.ts";
import { learningRate } from "../optim/schedule.ts";
import { ops } from "../tensor/ops.ts";
import { noGrad, Tensor } from "../tensor/tensor.ts";
import { evaluate } from "../train/evaluate.ts";
import { UserError } from "../util/errors.ts";

/** A config whose data section is a process (the only kind that needs no files). */
export type ProcessConfig = Config & { data: DataConfig & z.output<typeof processDataSchema> };

const processConfigSchema = configSchema(
  z.strictObject({ source: z.literal("process"), ...processDataSchema.shape }) as z.ZodType<
    DataConfig
  >,
);

/** Parses and validates a YAML experiment config whose `data.source` is `process`. */
export function parseProcessConfig(yamlText: string, source = "config"): ProcessConfig {
  const raw = YAML.parse(yamlText);
  const result = processConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UserError(`${source}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return result.data as ProcessConfig;
}

/** One logged point of a tab run. */
export interface TabLogLine {
  type: "train" | "val";
  step: number;
  loss: number;
  lr?: number;
}

/** What a tab run ends with. */
export interface TabRunResult {
  /** Steps taken (fewer than asked when stopped). */
  steps: number;
  stopped: boolean;
  train: TabLogLine[];
  val: TabLogLine[];
  /** Validation loss at the end. */
  finalValLoss: number;
  /** L*, the optimal loss for this context (the process's entropy with perfect belief tracking). */
  optimalLoss: number;
  /** The optimal model's loss on exactly the validation batches used. */
  valSetOptimalLoss: number;
  /** The belief probe at the end (null when `probe` was false). */
  probe: ProbeReport | null;
  elapsedMs: number;
  /** Milliseconds of the training steps alone (first step to last, pipelines compiling included). */
  trainMs: number;
  /** Milliseconds of the final validation and the probe. */
  evalMs: number;
}

/** Options of {@link trainProcessInTab}. */
export interface TabRunOptions {
  /** Steps to train (default: the config's `training.max_steps`). */
  steps?: number;
  /** Run the belief probe after training (default true). */
  probe?: boolean;
  /** Called for every train and val line, as the CLI would log it. */
  onLog?: (line: TabLogLine) => void;
  /** Called once before the first step with the process's optimal loss L*. */
  onStart?: (info: { optimalLoss: number; steps: number }) => void;
  /** Polled between steps; returning true ends training (then validation and the probe run). */
  shouldStop?: () => boolean;
}

/**
 * Trains the model of `cfg` on its process, logging like `deno task train` does, then validates
 * and (optionally) probes. Every step waits for the GPU only at log steps, as the trainer does.
 */
export async function trainProcessInTab(
  dev: Device,
  cfg: ProcessConfig,
  opts: TabRunOptions = {},
): Promise<TabRunResult> {
  const t = cfg.training;
  const steps = opts.steps ?? t.max_steps ?? 0;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new UserError(`steps must be a positive integer, got ${steps}`);
  }
  const { source: _kind, ...dataSection } = cfg.data;
  const process = await resolveProcess(processDataSchema.parse(dataSection));
  const data = new ProcessSource(process, {
    seed: cfg.seed,
    nCtx: processContextLength(
      cfg.data.n_ctx,
      cfg.model.max_seq_len === "auto" ? Infinity : cfg.model.max_seq_len,
    ),
    bos: cfg.data.bos,
    eos: cfg.data.eos,
    sampling: cfg.data.sampling,
  });
  const model = createGpt(dev, modelConfigOf(resolveModelSizes(cfg, data)), {
    seed: cfg.seed,
  }) as GPT;
  const optimizer = new AdamW(model.params, {
    lr: t.learning_rate,
    betas: t.betas,
    eps: t.eps,
    weightDecay: t.weight_decay,
    decayAll: t.weight_decay_on === "all",
  });
  const schedule = {
    lr: t.learning_rate,
    minLr: t.min_learning_rate,
    warmupSteps: t.warmup_steps ?? Math.round((t.warmup_ratio ?? 0) * steps),
    totalSteps: steps,
    decay: t.lr_decay,
  };
  const start = performance.now();
  const train: TabLogLine[] = [];
  const val: TabLogLine[] = [];
  const log = (line: TabLogLine) => {
    (line.type === "train" ? train : val).push(line);
    opts.onLog?.(line);
  };
  const validate = async (step: number) => {
    const r = await evaluate(dev, model, data, {
      batches: t.eval_batches,
      batchSize: t.batch_size,
    });
    log({ type: "val", step, loss: r.loss });
    return r.loss;
  };
  opts.onStart?.({ optimalLoss: data.metadata.optimal_loss as number, steps });
  const lossSum = Tensor.zeros(dev, []);
  let windowSteps = 0;
  let step = 0;
  let batchIndex = 0;
  let stopped = false;
  try {
    while (step < steps) {
      if (opts.shouldStop?.()) {
        stopped = true;
        break;
      }
      const lr = learningRate(step, schedule);
      model.params.zeroGrad();
      for (let micro = 0; micro < t.grad_accum_steps; micro++) {
        const batch = data.trainBatch(batchIndex++, t.batch_size);
        const shape = [batch.batchSize, batch.seqLen];
        const x = Tensor.fromArray(dev, batch.inputs, shape, { dtype: "i32" });
        const y = Tensor.fromArray(dev, batch.targets, shape, { dtype: "i32" });
        const { loss } = model.forward(x, {
          targets: y,
          train: true,
          checkpointActivations: t.checkpoint_activations,
        });
        noGrad(() => ops.accumulate(lossSum, loss!));
        const scaled = t.grad_accum_steps > 1 ? ops.scale(loss!, 1 / t.grad_accum_steps) : loss!;
        scaled.backward();
        if (scaled !== loss) scaled.release();
        loss!.release();
        x.release();
        y.release();
      }
      optimizer.step({ lr, maxGradNorm: t.max_grad_norm > 0 ? t.max_grad_norm : undefined });
      dev.flush();
      step++;
      windowSteps++;
      if (step % t.log_every === 0 || step === steps) {
        const [sum] = await lossSum.toArray();
        log({ type: "train", step, loss: sum / (windowSteps * t.grad_accum_steps), lr });
        lossSum.write(new Float32Array([0]));
        windowSteps = 0;
      }
      if (t.eval_every > 0 && step % t.eval_every === 0 && step < steps) await validate(step);
    }
    const trainMs = performance.now() - start;
    const finalValLoss = await validate(step);
    const probe = opts.probe === false ? null : await runProbe(dev, model, process, {
      bos: cfg.data.bos,
      seqLen: data.seqLen,
    });
    await dev.checkErrors();
    return {
      steps: step,
      stopped,
      train,
      val,
      finalValLoss,
      optimalLoss: data.metadata.optimal_loss as number,
      valSetOptimalLoss: data.valOptimalLoss(t.eval_batches, t.batch_size),
      probe,
      elapsedMs: performance.now() - start,
      trainMs,
      evalMs: performance.now() - start - trainMs,
    };
  } finally {
    lossSum.release();
    optimizer.release();
    model.params.destroy();
  }
}

/** The model section without unset keys, as the model factories take it. */
function modelConfigOf(cfg: ResolvedConfig) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg.model)) if (v !== undefined) out[k] = v;
  return out as unknown as Config["model"];
}

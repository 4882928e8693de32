/**
 * The training loop. Each step records grad_accum micro-batches of forward + backward, AdamW with
 * clipping and the scheduled learning rate, and submits once; the loss is summed on the GPU and
 * read back only every `log_every` steps (or at a checkpoint). Writes the run directory that
 * DESIGN.md specifies and supports exact resume, stability guards and Ctrl-C.
 *
 * @module
 */

import { join } from "node:path";
import { configToYaml } from "../config/load.ts";
import type { Config, ResolvedConfig } from "../config/schema.ts";
import type { Batch } from "../data/batch.ts";
import type { TrainingSource } from "../data/sources.ts";
import { Device } from "../gpu/device.ts";
import { readScalars } from "../tensor/read_scalars.ts";
import { checkpointsRecorded } from "../tensor/checkpoint.ts";
import { createModel } from "../nn/models_all.ts";
import type { LanguageModel } from "../nn/registry.ts";
import { AdamW } from "../optim/adamw.ts";
import { learningRate } from "../optim/schedule.ts";
import { ops } from "../tensor/ops.ts";
import { noGrad, stepScope, Tensor } from "../tensor/tensor.ts";
import { GpuError, UserError } from "../util/errors.ts";
import { asIoUserError } from "../util/io_error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { ProgressBar } from "../util/progress.ts";
import {
  type Checkpoint,
  pruneCheckpoints,
  readPointer,
  saveCheckpoint,
  type TrainState,
  writePointer,
} from "./checkpoint.ts";
import { checkParamsMatch } from "./checkpoint_check.ts";
import { crashPoint } from "./crash_point.ts";
import { Diagnostics } from "./diagnostics.ts";
import { EvalInterrupted, evaluate } from "./evaluate.ts";
import { LeakDetector } from "./leak.ts";
import { describeChange } from "./resume_changes.ts";
import { RunLock, RunLocks } from "./run_lock.ts";
import { type MetricsLine, MetricsWriter, rewindMetrics } from "./metrics.ts";
import { checkFootprintFitsDevice } from "./model_fit.ts";
import { type PreparedRun, prepareRun } from "./prepare.ts";
import {
  createRunDir,
  gitState,
  readRunInfo,
  recordFailure,
  type RunInfo,
  writeRunInfo,
} from "./run_dir.ts";
import { fileTuneCache } from "../util/tune_cache_file.ts";
import { listenForStopSignals, STOP_REASONS, type StopSignal, stopStatus } from "./stop_signals.ts";
import { applyConfigFreeze, HookRunner, type TrainingHooks } from "./hooks.ts";
import { TrainingObjective } from "./combined_loss.ts";
import { GradientClipper } from "./clipping.ts";
import { checkSpike } from "./spike_guard.ts";
import { TeacherForcing } from "./teacher_forcing.ts";

/** Options of {@link train} beyond the config. */
export interface TrainOptions {
  /** Root of run directories (default `runs`). */
  runsRoot?: string;
  /** Continue a run: a run directory or a checkpoint directory. */
  resume?: string;
  /** Stop like Ctrl-C when aborted: finish the step, checkpoint, mark the run stopped. */
  signal?: AbortSignal;
  /** Listen for SIGINT, SIGTERM and SIGHUP (the CLI sets this; see stop_signals.ts). */
  handleSigint?: boolean;
  /** Show a progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** An already-open device (tests and sweeps reuse one). */
  device?: Device;
  /** The sweep values that made this config, recorded in run.json. */
  sweep?: Record<string, unknown>;
  /** Further keys recorded in a new run's run.json (the sweep id and index). */
  runInfo?: Record<string, unknown>;
  /** Called with every metrics line as it is written. */
  onMetrics?: (line: MetricsLine) => void;
  /** Called after every optimizer step (1-based step number) with the model being trained. */
  onStep?: (step: number, model: LanguageModel) => void;
  /** Hooks for this run only, after those of `registerTrainingHooks` (src/train/hooks.ts). */
  hooks?: TrainingHooks[];
  /** Resume even when the config changes what an exact resume needs (seed, batch, data, model). */
  force?: boolean;
}

/** What {@link train} returns. */
export interface TrainResult {
  dir: string;
  id: string;
  status: "finished" | "stopped" | "preempted" | "failed";
  /** The signal that stopped the run, if one did. */
  signal?: StopSignal;
  steps: number;
  tokens: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  bestValLoss: number | null;
  elapsedS: number;
  paramCount: number;
  /** Why the run stopped or failed (one line). */
  message?: string;
}

const FLOPS_FORMULA = "6*N + 12*L*d*T per token (PaLM/nanoGPT; N = matmul params incl. tied head)";

/**
 * Trains the model a config describes and writes its run directory.
 *
 * @example
 * ```ts
 * const run = await train(await loadConfig("configs/shakespeare_char_small.yaml"));
 * console.log(run.dir, run.bestValLoss);
 * ```
 */
export async function train(cfg: Config, opts: TrainOptions = {}): Promise<TrainResult> {
  // Everything that can fail on bad input happens before the first byte is written.
  const prepared = await prepareRun(cfg, opts).catch((err) => {
    throw asIoUserError(err, "preparing the run");
  });
  const locks = new RunLocks(prepared.resume?.lock);
  const ownsDevice = !opts.device;
  let dev: Device | undefined;
  try {
    dev = opts.device ?? await Device.open({
      tuneCache: fileTuneCache(),
      powerPreference: cfg.device.power_preference,
      adapter: cfg.device.adapter,
      f16: cfg.device.f16,
    });
    checkFootprintFitsDevice(prepared.footprint, dev.limits);
    const model = createModel(dev, prepared.gptConfig, { seed: cfg.seed });
    applyConfigFreeze(model, cfg.training.freeze);
    const optimizer = new AdamW(model.params, {
      lr: cfg.training.learning_rate,
      betas: cfg.training.betas,
      eps: cfg.training.eps,
      weightDecay: cfg.training.weight_decay,
      decayAll: cfg.training.weight_decay_on === "all",
    });
    const loop = new TrainingLoop(prepared.config, prepared, dev, model, optimizer, opts, locks);
    return await loop.run();
  } finally {
    if (ownsDevice) dev?.destroy();
    locks.releaseAll();
  }
}

/** One training run's mutable state and its steps. */
class TrainingLoop {
  private state: TrainState;
  private dir = "";
  private id = "";
  private info!: RunInfo;
  private metrics!: MetricsWriter;
  private readonly source: TrainingSource;
  private readonly flopsPerToken: number;
  private readonly tokensPerStep: number;
  private readonly startTime = performance.now();
  private elapsedBase = 0;
  private stopReason: string | null = null;
  private stopSignal: StopSignal | null = null;
  private lastGood: Checkpoint | null = null;
  /**
   * With the spike guard on: the state before the last log step whose loss and gradient norm
   * passed the check (the state that check measured), what a spike's emergency checkpoint holds.
   */
  private lastCheckedGood: Checkpoint | null = null;
  private skippedBase = 0;
  private lastTrainLoss: number | null = null;
  private lastGradNorm: number | null = null;
  private lastValLoss: number | null = null;
  private lastValStep = -1;
  private lastCheckpointStep = -1;
  private bestCheckpointLoss = Infinity;
  private readonly diagnostics: Diagnostics;
  private readonly hooks: HookRunner;
  private readonly leaks = new LeakDetector();
  private readonly objective: TrainingObjective;
  private readonly clipper: GradientClipper;
  private readonly teacherForcing: TeacherForcing;
  /** The most GPU bytes in use during the training steps since the last train line. */
  private windowPeakBytes = 0;
  private checkpointingChecked = false;

  constructor(
    private readonly cfg: ResolvedConfig,
    private readonly prepared: PreparedRun,
    private readonly dev: Device,
    private readonly model: LanguageModel,
    private readonly optimizer: AdamW,
    private readonly opts: TrainOptions,
    private readonly locks: RunLocks,
  ) {
    this.source = prepared.source;
    const t = cfg.training;
    this.tokensPerStep = t.batch_size * t.grad_accum_steps * this.source.seqLen;
    this.flopsPerToken = model.flopsPerToken(this.source.seqLen);
    this.state = {
      step: 0,
      tokens: 0,
      batch_index: 0,
      rng: { seed: cfg.seed, batch_index: 0 },
      schedule: {
        total_steps: prepared.totalSteps,
        warmup_steps: prepared.warmupSteps,
        lr_scale: 1,
      },
      best_val_loss: null,
      best_step: null,
      initial_val_loss: null,
      failures: 0,
      elapsed_s: 0,
      model: cfg.model,
    };
    this.diagnostics = new Diagnostics(cfg.training.diagnostics, dev, model, this.source);
    this.hooks = new HookRunner(opts.hooks ?? [], model, cfg);
    this.objective = new TrainingObjective(dev, cfg.training.loss.accuracy_weight);
    this.clipper = new GradientClipper(cfg.training.clip, cfg.training.max_grad_norm);
    this.teacherForcing = new TeacherForcing(cfg.training.teacher_forcing, cfg.seed);
  }

  async run(): Promise<TrainResult> {
    await this.openRun();
    this.bestCheckpointLoss = (await readPointer(this.dir, "best"))?.val_loss ?? Infinity;
    const stopOnAbort = () => this.requestStop("stopped (abort signal)");
    this.opts.signal?.addEventListener("abort", stopOnAbort);
    const removeSignals = this.opts.handleSigint
      ? listenForStopSignals((sig) => {
        if (!this.stopReason) this.stopSignal = sig;
        this.requestStop(STOP_REASONS[sig]);
      })
      : () => {};
    try {
      return await this.loop();
    } catch (caught) {
      // Disk full, permission denied…: one line, exit 2, like any other user-side problem.
      const err = asIoUserError(caught, `run ${this.dir}`) as Error;
      if (err instanceof GpuError && this.metrics) this.event("gpu_error", err.message);
      // Record the failure, but never let a second error hide the first.
      if (this.info) await recordFailure(this.dir, this.info, this.state.step, err.message);
      throw err;
    } finally {
      this.opts.signal?.removeEventListener("abort", stopOnAbort);
      removeSignals();
      this.metrics?.close();
    }
  }

  private requestStop(reason: string): void {
    this.stopReason ??= reason;
  }

  private elapsed(): number {
    return this.elapsedBase + (performance.now() - this.startTime) / 1000;
  }

  private log(line: MetricsLine): void {
    this.metrics.write(line);
    this.opts.onMetrics?.(line);
  }

  private event(event: string, detail: string): void {
    this.log({ type: "event", step: this.state.step, elapsed_s: this.elapsed(), event, detail });
  }

  /** Creates the run directory, or reopens the resumed one and restores its checkpoint. */
  private async openRun(): Promise<void> {
    const resume = this.prepared.resume;
    if (resume) {
      this.dir = resume.runDir;
      checkParamsMatch(
        this.model.params.tensors,
        resume.checkpoint.params,
        join(resume.checkpointDir, "model.safetensors"),
      );
      try {
        this.restore(resume.checkpoint);
      } catch (err) {
        throw err instanceof UserError
          ? new UserError(`${join(resume.checkpointDir, "optimizer.safetensors")}: ${err.message}`)
          : err;
      }
      // Only now, with the checkpoint known good, is run.json touched.
      this.info = await readRunInfo(this.dir);
      this.id = this.info.id;
      this.elapsedBase = resume.checkpoint.state.elapsed_s;
      this.lastGood = resume.checkpoint;
      await rewindMetrics(this.dir, this.state.step);
      this.metrics = await MetricsWriter.open(this.dir);
      this.info.status = "running";
      delete this.info.message;
      await writeRunInfo(this.dir, this.info);
      this.lastCheckpointStep = this.state.step;
      this.lastValStep = this.state.step;
      await this.recordResume(resume);
      return;
    }
    const { dir, id } = await createRunDir(this.opts.runsRoot ?? "runs", this.cfg.experiment_name);
    [this.dir, this.id] = [dir, id];
    this.locks.add(await RunLock.acquire(dir, "train"));
    await writeFileAtomic(join(dir, "config.yaml"), configToYaml(this.cfg));
    if (this.source.tokenizerJson) {
      await writeFileAtomic(join(dir, "tokenizer.json"), this.source.tokenizerJson);
    }
    const now = new Date().toISOString();
    this.info = {
      id,
      name: this.cfg.experiment_name,
      status: "running",
      created: now,
      updated: now,
      git: await gitState(),
      deno: Deno.version.deno,
      adapter: { description: this.dev.description, limits: { ...this.dev.limits } },
      param_count: this.model.numParams(),
      flops_per_token: this.flopsPerToken,
      flops_formula: FLOPS_FORMULA,
      peak_flops: null,
      data: {
        name: this.source.name,
        vocab_size: this.source.vocabSize,
        seq_len: this.source.seqLen,
        ...this.source.metadata,
      },
      total_steps: this.prepared.totalSteps,
      ...(this.opts.sweep && Object.keys(this.opts.sweep).length ? { sweep: this.opts.sweep } : {}),
      ...this.opts.runInfo,
    };
    await writeRunInfo(dir, this.info);
    this.metrics = await MetricsWriter.open(dir);
  }

  /** The resume event, with what recovery repaired and what the config changed. */
  private async recordResume(resume: NonNullable<PreparedRun["resume"]>): Promise<void> {
    if (resume.repaired.length) this.event("recovered", resume.repaired.join(", "));
    const changes = resume.changes.map(describeChange);
    if (changes.length) {
      await writeFileAtomic(join(this.dir, "config.yaml"), configToYaml(this.cfg));
    }
    this.log({
      type: "event",
      step: this.state.step,
      elapsed_s: this.elapsed(),
      event: "resume",
      detail: `from ${resume.checkpointDir} at step ${this.state.step}` +
        (changes.length ? `; changed ${changes.join(", ")}` : ""),
      ...(changes.length ? { overrides: changes } : {}),
    });
  }

  private async loop(): Promise<TrainResult> {
    const t = this.cfg.training;
    const total = this.prepared.totalSteps;
    const bar = new ProgressBar({ total, label: "train", enabled: this.opts.progress });
    const batchShape = [t.batch_size, this.source.seqLen];
    const inputs = Tensor.zeros(this.dev, batchShape, { dtype: "i32" });
    const targets = Tensor.zeros(this.dev, batchShape, { dtype: "i32" });
    const lossSum = Tensor.zeros(this.dev, []);
    let windowSteps = 0;
    let windowStart = performance.now();
    let status = "";
    if (this.state.step === 0 && !this.lastGood) {
      this.lastGood = await this.snapshot();
      if (t.eval_every > 0) await this.validate();
    }
    try {
      while (this.state.step < total) {
        // A GPU error since the last step makes everything after it garbage: stop here, keeping
        // the checkpoints already on disk.
        this.dev.throwIfFailed();
        const wantLog = (this.state.step + 1) % t.log_every === 0 ||
          this.state.step + 1 === total || this.isCheckpointStep(this.state.step + 1);
        await this.hooks.beforeStep(this.state.step);
        // The spike check measures the state this step starts from: keep it until it is judged.
        const beforeLogStep = wantLog && t.guards.spike_factor > 0 ? await this.snapshot() : null;
        const gradNorm = await this.recordStep(inputs, targets, lossSum, wantLog);
        this.state.step++;
        this.state.tokens += this.tokensPerStep;
        windowSteps++;
        const leak = this.leaks.observe(this.state.step, this.dev.bytesInUse());
        if (leak) this.event("leak", leak);
        const diag = this.diagnostics.due(this.state.step)
          ? await this.diagnostics.afterStep(this.state.step)
          : null;
        this.opts.onStep?.(this.state.step, this.model);
        await this.hooks.afterStep(this.state.step);
        crashPoint("train.step");
        if (wantLog) {
          const ok = await this.logTrain(lossSum, gradNorm, windowSteps, windowStart);
          windowSteps = 0;
          windowStart = performance.now();
          if (!ok) {
            const failed = await this.recoverFromNonFinite();
            if (failed) return await this.finish("failed", failed);
            continue;
          }
          status = `loss ${this.lastTrainLoss!.toFixed(4)}`;
          await this.watchForSpike(beforeLogStep);
        }
        if (diag) this.log({ ...diag, elapsed_s: this.elapsed() });
        if (t.eval_every > 0 && this.state.step % t.eval_every === 0) await this.validate();
        if (this.isCheckpointStep(this.state.step)) await this.checkpoint();
        bar.update(this.state.step, status);
        if (this.stopReason) break;
      }
    } finally {
      for (const x of [inputs, targets, lossSum]) x.release();
      this.objective.release();
    }
    bar.done(status);
    // A stop (Ctrl-C) should end quickly: no extra validation, only the checkpoint.
    if (t.eval_every > 0 && this.lastValStep !== this.state.step && !this.stopReason) {
      await this.validate();
    }
    if (this.lastCheckpointStep !== this.state.step) await this.checkpoint();
    if (this.stopReason) {
      this.event("stopped", this.stopReason);
      const status = this.stopSignal ? stopStatus(this.stopSignal) : "stopped";
      return await this.finish(status, this.stopReason);
    }
    return await this.finish("finished");
  }

  /**
   * Uploads a batch into the reused input/target tensors, or into fresh ones (the caller
   * releases them) when the source pads batches to their own length (`pad_to: longest`).
   */
  private upload(batch: Batch, inputs: Tensor, targets: Tensor): [Tensor, Tensor] {
    if (batch.inputs.length === inputs.size) {
      inputs.write(batch.inputs);
      targets.write(batch.targets);
      return [inputs, targets];
    }
    const shape = [batch.batchSize, batch.seqLen];
    return [
      Tensor.fromArray(this.dev, batch.inputs, shape, { dtype: "i32" }),
      Tensor.fromArray(this.dev, batch.targets, shape, { dtype: "i32" }),
    ];
  }

  private isCheckpointStep(step: number): boolean {
    const every = this.cfg.training.checkpoint_every;
    return every > 0 && step % every === 0;
  }

  /**
   * Records one optimizer step (no submit until the end, no readback but adaptive clipping's
   * one). Returns the gradient norm tensor when it is a log step.
   */
  private async recordStep(
    inputs: Tensor,
    targets: Tensor,
    lossSum: Tensor,
    wantGradNorm: boolean,
  ): Promise<Tensor | null> {
    const t = this.cfg.training;
    const lr = this.currentLr();
    this.model.params.zeroGrad();
    this.dev.pool.resetPeak();
    const checkpointsBefore = checkpointsRecorded();
    for (let micro = 0; micro < t.grad_accum_steps; micro++) {
      const index = this.state.batch_index++;
      const batch = await this.teacherForcing.apply(
        this.dev,
        this.model,
        this.hooks.transformBatch(
          this.source.trainBatch(index, t.batch_size),
          this.state.step,
          index,
        ),
        this.state.step,
        index,
      );
      const [x, y] = this.upload(batch, inputs, targets);
      // The step scope frees what no backward does (temporaries a forward made under noGrad).
      stepScope(() => {
        const loss = this.objective.loss(this.model, x, y, batch, {
          train: true,
          dropoutSeed: dropoutSeed(this.cfg.seed, index),
          checkpointActivations: t.checkpoint_activations,
        });
        noGrad(() => ops.accumulate(lossSum, loss));
        const scaled = t.grad_accum_steps > 1 ? ops.scale(loss, 1 / t.grad_accum_steps) : loss;
        scaled.backward();
      });
      if (x !== inputs) [x, y].forEach((z) => z.release());
    }
    if (t.checkpoint_activations && !this.checkpointingChecked) {
      this.checkpointingChecked = true;
      // A registered model whose forward ignores the option would silently keep everything.
      if (checkpointsRecorded() === checkpointsBefore) {
        this.event(
          "checkpoint_activations",
          `model "${this.cfg.model.name}" checkpoints no block: its forward must run each block ` +
            "through ForwardContext.checkpoint (or tensor/checkpoint.ts); activations are kept",
        );
      }
    }
    this.state.rng.batch_index = this.state.batch_index;
    const gradNorm = wantGradNorm ? this.optimizer.gradNorm() : null;
    await this.clipper.step(this.dev, this.optimizer, lr, this.state);
    this.dev.flush();
    this.windowPeakBytes = Math.max(this.windowPeakBytes, this.dev.pool.peakBytes());
    return gradNorm;
  }

  private currentLr(step = this.state.step): number {
    const t = this.cfg.training;
    const s = this.state.schedule;
    return s.lr_scale * learningRate(step, {
      lr: t.learning_rate,
      minLr: t.min_learning_rate,
      warmupSteps: s.warmup_steps,
      totalSteps: s.total_steps,
      decay: t.lr_decay,
    });
  }

  /** Reads back the loss window; writes a train line. False when something was not finite. */
  private async logTrain(
    lossSum: Tensor,
    gradNorm: Tensor | null,
    steps: number,
    windowStart: number,
  ): Promise<boolean> {
    const micro = steps * this.cfg.training.grad_accum_steps;
    // One readback for all three. The optimizer owns the norm tensor: read, never release.
    const counter = this.optimizer.skippedCounter();
    const [lossTotal, norm, skippedCount] = await readScalars(this.dev, [
      lossSum,
      gradNorm,
      counter,
    ]);
    counter.release();
    const loss = lossTotal! / micro;
    const skipped = skippedCount!;
    lossSum.write([0]);
    const seconds = (performance.now() - windowStart) / 1000;
    const extra = await this.hooks.metrics(this.state.step);
    const parts = await this.objective.readWindow(this.dev, micro);
    this.lastTrainLoss = loss;
    this.lastGradNorm = norm;
    this.log({
      type: "train",
      step: this.state.step,
      tokens: this.state.tokens,
      flops: this.state.tokens * this.flopsPerToken,
      elapsed_s: this.elapsed(),
      loss,
      lr: this.currentLr(this.state.step - 1),
      grad_norm: norm,
      tokens_per_s: (steps * this.tokensPerStep) / seconds,
      step_ms: (seconds * 1000) / steps,
      gpu_bytes: this.dev.bytesInUse(),
      gpu_peak_bytes: this.windowPeakBytes,
      ...parts,
      ...this.clipper.metrics(),
      ...this.teacherForcing.metrics(this.state.step),
      ...extra,
    });
    this.windowPeakBytes = 0;
    const finite = Number.isFinite(loss) && skipped <= this.skippedBase;
    this.skippedBase = skipped;
    return finite;
  }

  /**
   * A non-finite loss or gradient: log it, cut the learning rate and go back to the last good
   * state. Returns a failure message when the guard's budget is spent.
   */
  private async recoverFromNonFinite(): Promise<string | null> {
    const g = this.cfg.training.guards;
    this.state.failures++;
    const failedStep = this.state.step;
    const good = this.lastGood!;
    const failures = this.state.failures;
    const lrScale = this.state.schedule.lr_scale * g.lr_cut;
    this.restore(good);
    this.state.failures = failures;
    // The steps after the good state are redone: drop their lines so each step is logged once.
    this.metrics.close();
    await rewindMetrics(this.dir, this.state.step);
    this.metrics = await MetricsWriter.open(this.dir);
    this.event("nan", `non-finite loss or gradient at step ${failedStep} (failure ${failures})`);
    // Restoring the optimizer may reset its skip counter: measure new skips from here.
    this.skippedBase = await this.optimizer.skippedSteps();
    if (failures > g.max_failures) {
      this.lastCheckpointStep = -1;
      await this.checkpoint();
      return `training diverged: ${failures} non-finite losses/gradients (guards.max_failures ` +
        `${g.max_failures}); last good state saved at step ${this.state.step}. Lower ` +
        `training.learning_rate or raise training.warmup_steps`;
    }
    this.state.schedule.lr_scale = lrScale;
    this.event("lr_cut", `learning rate scale ${lrScale}, back to step ${this.state.step}`);
    return null;
  }

  /**
   * A loss or gradient-norm spike: log it and write an emergency checkpoint of the last state that
   * passed the check (the spiking step's own starting state already measured high), which also
   * becomes the NaN rollback's target. `before` is the state this log step started from.
   */
  private async watchForSpike(before: Checkpoint | null): Promise<void> {
    const factor = this.cfg.training.guards.spike_factor;
    const spike = checkSpike(this.state, factor, this.lastTrainLoss!, this.lastGradNorm);
    if (!spike) {
      this.lastCheckedGood = before;
      return;
    }
    this.event("spike", `${spike} at step ${this.state.step}`);
    const good = this.lastCheckedGood ?? before;
    if (!good) return;
    // Not pruned: a crash soon after is what this checkpoint is for.
    const path = await saveCheckpoint(this.dir, good);
    this.lastGood = good;
    this.event("checkpoint", path);
  }

  private async validate(): Promise<void> {
    const t = this.cfg.training;
    const r = await evaluate(this.dev, this.model, this.source, {
      batches: t.eval_batches,
      batchSize: t.batch_size,
      shouldStop: () => this.stopReason !== null,
    }).catch((err) => {
      // A stop during validation ends it at once; the loop then checkpoints and stops.
      if (err instanceof EvalInterrupted) return null;
      throw err;
    });
    if (!r) return;
    this.lastValStep = this.state.step;
    this.lastValLoss = r.loss;
    this.state.initial_val_loss ??= r.loss;
    if (Number.isFinite(r.loss) && (this.state.best_val_loss ?? Infinity) > r.loss) {
      this.state.best_val_loss = r.loss;
      this.state.best_step = this.state.step;
    }
    const extra: Record<string, number | string | boolean | null> = { ...this.source.metadata };
    const optimal = this.source.metadata?.optimal_loss;
    if (typeof optimal === "number" && this.state.initial_val_loss !== optimal) {
      extra.progress_to_optimal = (r.loss - optimal) / (this.state.initial_val_loss - optimal);
    }
    this.log({
      type: "val",
      step: this.state.step,
      tokens: this.state.tokens,
      flops: this.state.tokens * this.flopsPerToken,
      elapsed_s: this.elapsed(),
      loss: r.loss,
      ppl: r.ppl,
      ...extra,
      ...r.taskMetrics,
    });
  }

  /** The model, optimizer and loop state as a checkpoint (one readback each). */
  private async snapshot(): Promise<Checkpoint> {
    const values = await this.model.params.read();
    const params = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, tensor] of this.model.params.tensors) {
      params.set(name, { shape: [...tensor.shape], data: values.get(name)! });
    }
    const optimizer = await this.optimizer.state();
    this.state.elapsed_s = this.elapsed();
    return { params, optimizer, state: structuredClone(this.state) };
  }

  /** Puts model, optimizer and loop state back to `ckpt`. */
  private restore(ckpt: Checkpoint): void {
    const values = new Map<string, Float32Array>();
    for (const [name, t] of ckpt.params) values.set(name, t.data);
    this.model.params.write(values);
    this.optimizer.loadState(ckpt.optimizer);
    this.state = structuredClone(ckpt.state);
  }

  private async checkpoint(): Promise<void> {
    const ckpt = await this.snapshot();
    const path = await saveCheckpoint(this.dir, ckpt);
    this.lastGood = ckpt;
    this.lastCheckpointStep = this.state.step;
    const valHere = this.lastValStep === this.state.step ? this.lastValLoss : null;
    if (valHere !== null && Number.isFinite(valHere) && valHere < this.bestCheckpointLoss) {
      this.bestCheckpointLoss = valHere;
      await writePointer(this.dir, "best", {
        step: this.state.step,
        dir: `step_${this.state.step}`,
        val_loss: valHere,
      });
    }
    await pruneCheckpoints(this.dir, this.cfg.training.keep_checkpoints);
    this.event("checkpoint", path);
  }

  private async finish(
    status: TrainResult["status"],
    message?: string,
  ): Promise<TrainResult> {
    this.info.status = status;
    if (message) this.info.message = message;
    this.info.step = this.state.step;
    this.info.best_val_loss = this.state.best_val_loss;
    await writeRunInfo(this.dir, this.info);
    return {
      dir: this.dir,
      id: this.id,
      status,
      steps: this.state.step,
      tokens: this.state.tokens,
      finalTrainLoss: this.lastTrainLoss,
      finalValLoss: this.lastValLoss,
      bestValLoss: this.state.best_val_loss,
      elapsedS: this.elapsed(),
      paramCount: this.model.numParams(),
      ...(message ? { message } : {}),
      ...(this.stopSignal && status !== "failed" ? { signal: this.stopSignal } : {}),
    };
  }
}

/** Dropout seed of micro-batch `index`: fixed by (seed, index), so a resume replays it. */
export function dropoutSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(index + 1, 0x165667b1)) >>> 0;
}

/**
 * `deno task validate` for encoder–decoder checkpoints (`encdec`, `latent_encdec`): `--eval`
 * (the run's validation loss and metrics, plus the multiplication study's held-out scores per
 * bucket), `--prompt "12*34"` (greedy decoding with the decoder KV cache and a once-computed
 * cross-attention memory) and `--verify` (reload, logged val loss, cached = recomputed logits).
 * GPT-only modes (chat, attention maps, activations, perplexities) are refused with one line.
 *
 * @module
 */

import { join } from "node:path";
import "../data/sources_all.ts";
import type { TrainingSource } from "../data/sources.ts";
import { MultiplicationStudySource } from "../data/synthetic/tasks/multiplication_study.ts";
import { Device } from "../gpu/device.ts";
import { EncoderDecoder } from "../nn/encdec.ts";
import { ENCDEC_MODELS } from "../nn/encdec_config.ts";
import { EncDecSession, generateEncDec } from "../nn/encdec_generate.ts";
import { createModel } from "../nn/models_all.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { type Checkpoint, loadCheckpoint } from "../train/checkpoint.ts";
import { evaluate } from "../train/evaluate.ts";
import { readMetrics } from "../train/metrics.ts";
import { toGptConfig } from "../train/prepare.ts";
import { UserError } from "../util/errors.ts";
import { fileTuneCache } from "../util/tune_cache_file.ts";
import {
  lazyRunSource,
  locateModel,
  type ModelLocation,
  readRunConfig,
  writeCheckpointParams,
} from "./load.ts";
import { formatStudyScores, studyHeldOut } from "./study_heldout.ts";
import type { ValidateIO, ValidateOptions } from "./validate.ts";

/** An encoder–decoder checkpoint on the GPU with its run's config and data. */
interface LoadedEncDec extends ModelLocation {
  device: Device;
  model: EncoderDecoder;
  checkpoint: Checkpoint;
  runConfig: ResolvedConfig | null;
  source(): Promise<TrainingSource>;
}

/** True when `path` names a checkpoint (or run) of an encoder–decoder model. */
export async function isEncDecCheckpoint(path: string): Promise<boolean> {
  const where = await locateModel(path);
  if (where.kind === "hf") return false;
  try {
    const state = JSON.parse(await Deno.readTextFile(join(where.checkpointDir, "state.json")));
    return ENCDEC_MODELS.includes(state?.model?.name);
  } catch {
    return false; // loadModel reports the problem
  }
}

async function loadEncDec(path: string, device?: Device): Promise<LoadedEncDec> {
  const where = await locateModel(path);
  const checkpoint = await loadCheckpoint(where.checkpointDir);
  const runConfig = await readRunConfig(where.runDir);
  const dev = device ?? await Device.open({ tuneCache: fileTuneCache() });
  const model = createModel(dev, toGptConfig(checkpoint.state.model), { seed: 0 });
  if (!(model instanceof EncoderDecoder)) throw new Error("not an encoder–decoder checkpoint");
  writeCheckpointParams(model, checkpoint, join(where.checkpointDir, "model.safetensors"));
  return {
    ...where,
    device: dev,
    model,
    checkpoint,
    runConfig,
    source: lazyRunSource(runConfig, path),
  };
}

async function studySource(loaded: LoadedEncDec): Promise<MultiplicationStudySource> {
  const source = await loaded.source();
  if (!(source instanceof MultiplicationStudySource)) {
    throw new UserError(`${loaded.model.config.name}: the run's data has no source/answer split`);
  }
  return source;
}

/** Runs one `validate` mode on an encoder–decoder checkpoint. */
export async function runEncDecValidate(opts: ValidateOptions, io: ValidateIO): Promise<void> {
  const mode = opts.mode;
  const show = (value: unknown, text: string) =>
    io.out(opts.json ? JSON.stringify(value, null, 2) : text);
  if (mode.kind === "verify") {
    const checks = await verifyEncDec(opts.checkpoint);
    const ok = checks.every((c) => c.ok !== false);
    show(
      { ok, checks },
      checks.map((c) =>
        `${c.ok === null ? "skip" : c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`
      )
        .join("\n"),
    );
    if (!ok) throw new UserError(`verification failed for ${opts.checkpoint}`, 1);
    return;
  }
  if (mode.kind !== "eval" && mode.kind !== "prompt") {
    throw new UserError(
      `--${mode.kind}: not available for encoder–decoder models (use --eval, --prompt or --verify)`,
    );
  }
  const loaded = await loadEncDec(opts.checkpoint);
  try {
    if (mode.kind === "eval") {
      if (!loaded.runConfig) {
        throw new UserError(
          `--eval needs the run's data: ${loaded.checkpointDir} has no run config`,
        );
      }
      const source = await loaded.source();
      const training = loaded.runConfig.training;
      const batches = mode.maxBatches ?? training.eval_batches;
      const result = await evaluate(loaded.device, loaded.model, source, {
        batches,
        batchSize: training.batch_size,
      });
      const heldOut = source instanceof MultiplicationStudySource
        ? await studyHeldOut(loaded.device, loaded.model, source, { split: "test" })
        : null;
      const lines = [
        `val loss ${result.loss.toFixed(4)}  ppl ${
          result.ppl.toFixed(3)
        }  (${batches} batches of ` +
        `${training.batch_size}, step ${loaded.checkpoint.state.step})`,
        ...Object.entries(result.taskMetrics).map(([k, v]) => `${k} ${v.toFixed(4)}`),
      ];
      if (heldOut) lines.push(formatStudyScores(heldOut, source as MultiplicationStudySource));
      return show(
        { ...result, step: loaded.checkpoint.state.step, held_out: heldOut },
        lines.join("\n"),
      );
    }
    const source = await studySource(loaded);
    const ids = source.promptIds(mode.prompt);
    const result = await generateEncDec(loaded.model, ids.slice(0, source.sourceLen), {
      bosId: source.bosId,
      stopId: source.eosId,
      maxNewTokens: opts.maxLength,
    });
    const completion = result.ids.map((id) => (id < 10 ? String(id) : "?")).join("");
    show(
      { prompt: mode.prompt, completion, ids: result.ids, stopped: result.stopped },
      `${mode.prompt}=${completion}`,
    );
  } finally {
    loaded.device.flush();
    loaded.model.params.destroy();
  }
}

interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

/** Reload, logged val loss and cached-vs-recomputed decoding of an encoder–decoder checkpoint. */
export async function verifyEncDec(path: string): Promise<Check[]> {
  const loaded = await loadEncDec(path);
  const checks: Check[] = [];
  try {
    const values = await loaded.model.params.read();
    const differing = [...values].filter(([name, v]) => {
      const stored = loaded.checkpoint.params.get(name)!.data;
      return v.length !== stored.length || v.some((x, i) => !Object.is(x, stored[i]));
    }).map(([name]) => name);
    checks.push({
      name: "reload",
      ok: differing.length === 0,
      detail: differing.length === 0
        ? `${values.size} tensors equal to the file`
        : `tensors differ: ${differing.slice(0, 5).join(", ")}`,
    });
    checks.push(await checkLoggedLoss(loaded));
    checks.push(await checkCachedDecoding(loaded));
  } finally {
    loaded.device.flush();
    loaded.model.params.destroy();
  }
  return checks;
}

async function checkLoggedLoss(loaded: LoadedEncDec): Promise<Check> {
  const step = loaded.checkpoint.state.step;
  let logged: number | null = null;
  if (loaded.runDir) {
    for (const line of await readMetrics(loaded.runDir)) {
      if (line.type === "val" && line.step === step) logged = line.loss;
    }
  }
  if (logged === null || !loaded.runConfig) {
    return { name: "val loss", ok: null, detail: `no validation logged at step ${step}` };
  }
  const t = loaded.runConfig.training;
  const { loss } = await evaluate(loaded.device, loaded.model, await loaded.source(), {
    batches: t.eval_batches,
    batchSize: t.batch_size,
  });
  const diff = Math.abs(loss - logged);
  return {
    name: "val loss",
    ok: diff <= 1e-5 * Math.max(1, Math.abs(logged)),
    detail: `logged ${logged} at step ${step}, recomputed ${loss} (|Δ| = ${diff.toExponential(2)})`,
  };
}

/**
 * Decoder logits of one row decoded with the KV cache (a prefill of two positions, then one at a
 * time, memory computed once) against one full forward of the row.
 */
async function checkCachedDecoding(loaded: LoadedEncDec): Promise<Check> {
  const { model } = loaded;
  const c = model.resolved;
  const V = c.vocab_size;
  const T = c.max_seq_len;
  const S = c.sourceLen;
  let row: number[];
  try {
    const source = await loaded.source();
    row = [...source.valBatch(0, 1).inputs];
  } catch {
    row = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V);
  }
  const full = tidy(() =>
    noGrad(() =>
      model.forward(Tensor.fromArray(model.device, row, [1, T], { dtype: "i32" })).logits!
    )
  );
  const want = (await full.toArray() as Float32Array).subarray(S * V);
  full.release();
  const session = new EncDecSession(model, row.slice(0, S));
  const got: number[] = [];
  try {
    const target = row.slice(S);
    const prefill = Math.min(2, target.length);
    const first = session.forward(target.slice(0, prefill), { allLogits: true });
    got.push(...await first.toArray());
    first.release();
    for (let p = prefill; p < target.length; p++) {
      const next = session.forward([target[p]]);
      got.push(...await next.toArray());
      next.release();
    }
  } finally {
    session.release();
  }
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  const ok = got.length === want.length && worst <= 1e-4 * Math.max(1, scale);
  return {
    name: "KV cache",
    ok,
    detail: `cached (memory once, decoder KV cache) and full-forward logits over ${T - S} ` +
      `decoder positions differ by at most ${worst.toExponential(2)} (largest ${scale.toFixed(2)})`,
  };
}

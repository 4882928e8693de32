/**
 * The shakespeare_char training step shared by bench/train_speed.ts and bench/gpu_report.ts:
 * kiln's step (forward, backward, clip, AdamW; one submit) and the same step in PyTorch
 * (bench/train_speed.py) on the CPU or a CUDA GPU.
 */

import { cpuUsage } from "node:process";
import type { Device } from "../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../src/nn/gpt.ts";
import { AdamW } from "../src/optim/adamw.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { runCommand } from "../tests/_support/cli.ts";
import { PYTHON } from "../tests/_support/python.ts";

/** A GPT training-step shape. */
export interface Shape {
  label: string;
  nLayer: number;
  nHead: number;
  dModel: number;
  seqLen: number;
  batch: number;
  vocab: number;
}

/** The CPU-sized shakespeare_char. */
export const SMALL: Shape = {
  label: "small 4L d128 T64 B12",
  nLayer: 4,
  nHead: 4,
  dModel: 128,
  seqLen: 64,
  batch: 12,
  vocab: 65,
};
/** shakespeare_char itself. */
export const BIG: Shape = {
  label: "big 6L d384 T256 B64",
  nLayer: 6,
  nHead: 6,
  dModel: 384,
  seqLen: 256,
  batch: 64,
  vocab: 65,
};

/** Speed of a number of steps. */
export interface Result {
  tokensPerS: number;
  stepMs: number;
  /** Process CPU time per step (all threads; lavapipe's workers run inside Deno's process). */
  cpuMs: number;
}

/** Deterministic ids in [0, vocab). */
export function randomIds(n: number, vocab: number, seed: number): Int32Array {
  let s = seed >>> 0;
  return Int32Array.from(
    { length: n },
    () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % vocab,
  );
}

/**
 * Builds the model and returns a function that times `steps` steps (one submit each); `step`
 * records one step without waiting (for profiling and dispatch counts).
 */
export function kilnTrainer(dev: Device, shape: Shape) {
  const cfg: GPTConfig = {
    name: "gpt",
    vocab_size: shape.vocab,
    max_seq_len: shape.seqLen,
    n_layer: shape.nLayer,
    n_head: shape.nHead,
    d_model: shape.dModel,
    dropout: 0,
    bias: true,
    tie_embeddings: true,
    positional: "learned",
  };
  const model = new GPT(dev, cfg, { seed: 1 });
  const adam = new AdamW(model.params, { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const n = shape.batch * shape.seqLen;
  const ids = Tensor.fromArray(dev, randomIds(n, shape.vocab, 1), [shape.batch, shape.seqLen], {
    dtype: "i32",
  });
  const targets = Tensor.fromArray(dev, randomIds(n, shape.vocab, 2), [shape.batch, shape.seqLen], {
    dtype: "i32",
  });
  const step = () => {
    model.params.zeroGrad();
    const loss = model.forward(ids, { targets }).loss!;
    loss.backward();
    adam.step({ lr: 1e-3, maxGradNorm: 1 });
    loss.release();
    dev.flush();
  };
  const time = async (steps: number): Promise<Result> => {
    await dev.sync();
    const start = performance.now();
    const cpuStart = cpuUsage();
    for (let i = 0; i < steps; i++) {
      step();
      // Wait now and then so the queue of submitted steps stays short (as the trainer does).
      if (i % 10 === 9) await dev.sync();
    }
    await dev.sync();
    const elapsed = (performance.now() - start) / 1000;
    const cpu = cpuUsage(cpuStart);
    return {
      tokensPerS: (steps * n) / elapsed,
      stepMs: (1000 * elapsed) / steps,
      cpuMs: (cpu.user + cpu.system) / 1000 / steps,
    };
  };
  return Object.assign(time, { step });
}

/** The same step in PyTorch eager fp32 (TF32 off), on `device` ("cpu", "cuda", "auto"). */
export async function torchSpeed(
  shape: Shape,
  steps: number,
  warmup: number,
  threads: number,
  opts: { python?: string; device?: string } = {},
): Promise<Result & { threads: number; device: string }> {
  const script = new URL("./train_speed.py", import.meta.url).pathname;
  const args = [
    script,
    "--n-layer",
    shape.nLayer,
    "--n-head",
    shape.nHead,
    "--d-model",
    shape.dModel,
    "--seq-len",
    shape.seqLen,
    "--batch",
    shape.batch,
    "--vocab",
    shape.vocab,
    "--steps",
    steps,
    "--warmup",
    warmup,
    "--threads",
    threads,
    "--device",
    opts.device ?? "cpu",
  ].map(String);
  const out = await runCommand(opts.python ?? PYTHON, args);
  if (out.code !== 0) throw new Error(`train_speed.py failed (exit ${out.code}):\n${out.stderr}`);
  const r = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  return {
    tokensPerS: r.tokens_per_s,
    stepMs: r.step_ms,
    cpuMs: r.cpu_ms,
    threads: r.threads,
    device: r.device ?? "cpu",
  };
}

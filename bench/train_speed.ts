/**
 * Training speed: tokens/s of one full training step (forward, backward, clip, AdamW; one submit)
 * of nanoGPT's shakespeare_char models on this machine's WebGPU adapter, side by side with the same
 * model and step in PyTorch CPU (bench/train_speed.py), and the ratio.
 *
 *   deno run -A bench/train_speed.ts [--steps 20] [--big-steps 1] [--rounds 2] [--models small,big]
 *                                    [--no-torch] [--profile]
 *
 * Models: "small" = the CPU-sized shakespeare_char (4 layers, 4 heads, d 128, context 64, batch 12,
 * vocab 65); "big" = shakespeare_char itself (6 layers, 6 heads, d 384, context 256, batch 64).
 * kiln and PyTorch alternate for --rounds rounds and the best round of each is reported, because
 * the machine's load from other work changes over minutes. With --profile, the share of GPU time
 * per kernel family from timestamp queries (when the adapter has them).
 */

import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Device } from "../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../src/nn/gpt.ts";
import { AdamW } from "../src/optim/adamw.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { runPython } from "../tests/_support/python.ts";
import { formatShares, KernelProfiler } from "./gpu_profile.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";

interface Shape {
  label: string;
  nLayer: number;
  nHead: number;
  dModel: number;
  seqLen: number;
  batch: number;
  vocab: number;
}

const SMALL: Shape = {
  label: "small 4L d128 T64 B12",
  nLayer: 4,
  nHead: 4,
  dModel: 128,
  seqLen: 64,
  batch: 12,
  vocab: 65,
};
const BIG: Shape = {
  label: "big 6L d384 T256 B64",
  nLayer: 6,
  nHead: 6,
  dModel: 384,
  seqLen: 256,
  batch: 64,
  vocab: 65,
};

interface Result {
  tokensPerS: number;
  stepMs: number;
  /** Process CPU time per step (all threads; lavapipe's workers run inside Deno's process). */
  cpuMs: number;
}

function randomIds(n: number, vocab: number, seed: number): Int32Array {
  let s = seed >>> 0;
  return Int32Array.from(
    { length: n },
    () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % vocab,
  );
}

/** Builds the model and returns a function that times `steps` steps (one submit each). */
function kilnTrainer(dev: Device, shape: Shape) {
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
  return async (steps: number): Promise<Result> => {
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
}

async function torchSpeed(
  shape: Shape,
  steps: number,
  warmup: number,
  threads: number,
): Promise<Result & { threads: number }> {
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
  ].map(String);
  const stdout = await runPython(args);
  const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
  return { tokensPerS: r.tokens_per_s, stepMs: r.step_ms, cpuMs: r.cpu_ms, threads: r.threads };
}

const args = parseArgs({
  options: {
    steps: { type: "string", default: "20" },
    "big-steps": { type: "string", default: "1" },
    rounds: { type: "string", default: "2" },
    models: { type: "string", default: "small,big" },
    "no-torch": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});

const best = (a: Result | null, b: Result) => (a === null || b.tokensPerS > a.tokensPerS ? b : a);
const dev = await Device.open({ tuneCache: fileTuneCache() });
const info = dev.adapterInfo;
console.log(
  `adapter: ${info.description || info.device} | ${new Date().toISOString().slice(0, 10)} | ` +
    `${navigator.hardwareConcurrency} logical cores | load average ${Deno.loadavg()[0].toFixed(1)}`,
);
// [shape, timed steps, warm-up steps]; the big model reuses the small one's compiled pipelines,
// and one of its steps takes minutes here, so it gets no separate warm-up.
const models = args.values.models.split(",");
const plan: [Shape, number, number][] = [];
if (models.includes("small")) plan.push([SMALL, Number(args.values.steps), 1]);
if (models.includes("big")) plan.push([BIG, Number(args.values["big-steps"]), 0]);
for (const [shape, steps, warmup] of plan) {
  const timeSteps = kilnTrainer(dev, shape);
  if (warmup > 0) await timeSteps(warmup); // pipeline compilation, pool growth
  let kiln: Result | null = null;
  let torch: (Result & { threads: number }) | null = null;
  for (let round = 0; round < Number(args.values.rounds); round++) {
    kiln = best(kiln, await timeSteps(steps));
    if (!args.values["no-torch"]) {
      // One thread is often faster than all cores when other work shares the machine.
      for (const threads of new Set([1, navigator.hardwareConcurrency])) {
        const t = await torchSpeed(shape, steps, warmup, threads);
        if (torch === null || t.tokensPerS > torch.tokensPerS) torch = t;
      }
    }
  }
  const describe = (r: Result) =>
    `${r.tokensPerS.toFixed(0)} tok/s, ${r.stepMs.toFixed(0)} ms/step, ${
      r.cpuMs.toFixed(0)
    } CPU-ms/step`;
  let line = `${shape.label}: kiln ${describe(kiln!)}`;
  if (torch) {
    line += ` | PyTorch CPU (${torch.threads} threads) ${describe(torch)} | kiln/PyTorch ` +
      `wall ${(kiln!.tokensPerS / torch.tokensPerS).toFixed(3)}, ` +
      `CPU ${(torch.cpuMs / kiln!.cpuMs).toFixed(3)}`;
  }
  console.log(line);
  if (args.values.profile && dev.hasTimestamps) {
    const profiler = new KernelProfiler(dev);
    profiler.start();
    await timeSteps(1);
    const totals = await profiler.stop();
    const gpuMs = [...totals.values()].reduce((a, b) => a + b, 0) / 1e6;
    console.log(`  GPU time per step ${gpuMs.toFixed(0)} ms: ${formatShares(totals)}`);
  }
}
dev.destroy();

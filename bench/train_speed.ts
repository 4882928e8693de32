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

import { parseArgs } from "node:util";
import { Device } from "../src/gpu/device.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";
import { formatShares, KernelProfiler } from "./gpu_profile.ts";
import { BIG, kilnTrainer, type Result, type Shape, SMALL, torchSpeed } from "./train_step.ts";

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

/**
 * One command for a GPU host: prints the adapter, its features and limits, the matmul tuning,
 * and measures matmul GFLOP/s (NT, NN, TN at 16384×384→1536 and 4096³; % of `--peak-tflops`
 * when given), fused causal attention forward+backward, and a shakespeare_char training step
 * (6L d384 T256 B64) with its dispatch count and per-kernel-family share of GPU time. When
 * `python3 -c "import torch"` works, the same step in PyTorch eager (fp32, TF32 off; CUDA when
 * available) and the ratio. Meant to finish in under 5 minutes on a GPU; `--quick` shrinks
 * every size so it smoke-tests on a CPU adapter.
 *
 *   deno run -A bench/gpu_report.ts [--peak-tflops 67] [--quick] [--no-torch] [--python python3]
 *   DIR/run.sh bench gpu_report …          (from an offline pack, see `deno task pack`)
 */

import { parseArgs } from "node:util";
import { timeGpu } from "../src/gpu/autotune.ts";
import { Device } from "../src/gpu/device.ts";
import { type Gemm, recordGemm } from "../src/tensor/ops/matmul.ts";
import { ops } from "../src/tensor/ops.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";
import { formatShares, KernelProfiler } from "./gpu_profile.ts";
import { BIG, kilnTrainer, type Shape, torchSpeed } from "./train_step.ts";

const HELP = `deno run -A bench/gpu_report.ts [--peak-tflops T] [--quick] [--no-torch] [--python P]

  --peak-tflops T  the GPU's fp32 peak in TFLOP/s, to print matmul as % of peak
  --quick          tiny sizes (a smoke test on a CPU adapter; figures mean little)
  --no-torch       skip the PyTorch comparison
  --python P       the interpreter with torch (default: python3)
  --help           this help`;

const { values } = parseArgs({
  options: {
    "peak-tflops": { type: "string" },
    quick: { type: "boolean", default: false },
    "no-torch": { type: "boolean", default: false },
    python: { type: "string", default: "python3" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(HELP);
  Deno.exit(0);
}
const quick = values.quick;
const peak = values["peak-tflops"] ? Number(values["peak-tflops"]) * 1e12 : null;
if (peak !== null && !(peak > 0)) {
  console.error("--peak-tflops: expected a positive number");
  Deno.exit(2);
}

const dev = await Device.open({ tuneCache: fileTuneCache() });
const adapter = (await navigator.gpu.requestAdapter())!;
console.log(`# kiln GPU report — ${new Date().toISOString()}`);
console.log(
  `adapter: ${dev.description} (vendor ${dev.adapterInfo.vendor || "?"}, ` +
    `architecture ${dev.adapterInfo.architecture || "?"}); ${navigator.userAgent}`,
);
console.log(`features: ${[...adapter.features].sort().join(", ")}`);
const limitNames = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupsPerDimension",
  "minStorageBufferOffsetAlignment",
  "maxStorageBuffersPerShaderStage",
];
console.log(`limits: ${limitNames.map((k) => `${k} ${dev.limits[k]}`).join(", ")}`);
const tuning = dev.matmulTuning;
console.log(
  `matmul tuning (${tuning.source}): tiles ${tuning.tiles.map((t) => t.name).join(" > ")}, ` +
    `concurrency ${tuning.concurrency} workgroups; timing by ${
      dev.hasTimestamps ? "timestamp queries" : "wall clock"
    }`,
);

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

const percent = (flops: number) => peak === null ? "" : ` (${(100 * flops / peak).toFixed(1)}%)`;

/** GFLOP/s of one layout: `rows×inner→cols`, fastest of 3 timed batches of `reps` products. */
async function matmulRate(label: string, M: number, K: number, N: number): Promise<string> {
  const cells: string[] = [];
  for (const layout of ["NT", "NN", "TN"]) {
    const transA = layout === "TN";
    const transB = layout === "NT";
    const a = Tensor.fromArray(dev, random(M * K, 1), transA ? [K, M] : [M, K]);
    const b = Tensor.fromArray(dev, random(K * N, 2), transB ? [N, K] : [K, N]);
    const c = Tensor.empty(dev, [M, N]);
    const g: Gemm = { batch: 1, M, N, K, transA, transB, strideA: 0, strideB: 0 };
    const flops = 2 * M * N * K;
    const reps = Math.max(1, Math.min(20, Math.round(2e11 / flops)));
    const record = () => {
      for (let r = 0; r < reps; r++) recordGemm(c, a, b, g);
    };
    await timeGpu(dev, record); // compile
    let best = Infinity;
    for (let i = 0; i < 3; i++) best = Math.min(best, await timeGpu(dev, record));
    const rate = flops * reps / (best / 1000);
    cells.push(`${layout} ${(rate / 1e9).toFixed(1)}${percent(rate)}`);
    [a, b, c].forEach((t) => t.release());
  }
  return `matmul ${label}: ${cells.join(", ")} GFLOP/s`;
}

const matmulShapes: [string, number, number, number][] = quick
  ? [["512×128→256", 512, 128, 256], ["256³", 256, 256, 256]]
  : [["16384×384→1536", 16384, 384, 1536], ["4096³", 4096, 4096, 4096]];
for (const [label, M, K, N] of matmulShapes) console.log(await matmulRate(label, M, K, N));

/** Causal attention forward+backward over [B, H, T, D], wall clock over a few reps. */
async function attentionRate(B: number, H: number, T: number, D: number): Promise<string> {
  const shape = [B, H, T, D];
  const n = B * H * T * D;
  const [q, k, v] = [1, 2, 3].map((s) =>
    Tensor.fromArray(dev, random(n, s), shape, { requiresGrad: true })
  );
  const run = () => {
    for (const t of [q, k, v]) t.grad = null;
    ops.sum(ops.attention(q, k, v)).backward();
  };
  run();
  await dev.sync();
  const reps = quick ? 2 : 10;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run();
  await dev.sync();
  const ms = (performance.now() - t0) / reps;
  // Causal: half the T×T scores; forward 2 products, backward 5 (FlashAttention-2's count).
  const flops = 0.5 * 7 * 2 * B * H * T * T * D;
  [q, k, v].forEach((t) => t.release());
  return `attention fwd+bwd [B${B} H${H} T${T} D${D}]: ${ms.toFixed(2)} ms, ` +
    `${(flops / ms / 1e6).toFixed(1)} GFLOP/s${percent(flops / ms * 1000)}`;
}

console.log(quick ? await attentionRate(2, 2, 64, 32) : await attentionRate(64, 6, 256, 64));

const stepShape: Shape = quick
  ? {
    label: "quick 2L d64 T32 B4",
    nLayer: 2,
    nHead: 2,
    dModel: 64,
    seqLen: 32,
    batch: 4,
    vocab: 65,
  }
  : BIG;
const trainer = kilnTrainer(dev, stepShape);
await trainer(1); // compile, pool growth
const before = dev.recorder.dispatches;
trainer.step();
const dispatches = dev.recorder.dispatches - before;
await dev.sync();
const steps = quick ? 3 : 20;
const kiln = await trainer(steps);
let shares = "no timestamp-query: shares unmeasured";
if (dev.hasTimestamps) {
  const profiler = new KernelProfiler(dev);
  profiler.start();
  trainer.step();
  shares = formatShares(await profiler.stop());
}
console.log(
  `train step ${stepShape.label}: ${kiln.tokensPerS.toFixed(0)} tokens/s, ` +
    `${kiln.stepMs.toFixed(1)} ms/step, ${dispatches} dispatches/step`,
);
console.log(`  GPU time by kernel family (a pass per dispatch while profiling): ${shares}`);

if (!values["no-torch"]) {
  const probe = await new Deno.Command(values.python!, {
    args: ["-c", "import torch"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (probe?.success) {
    const torch = await torchSpeed(stepShape, steps, 2, navigator.hardwareConcurrency, {
      python: values.python,
      device: "auto",
    });
    console.log(
      `PyTorch eager fp32 (TF32 off) on ${torch.device}: ${torch.tokensPerS.toFixed(0)} ` +
        `tokens/s, ${torch.stepMs.toFixed(1)} ms/step; kiln/PyTorch ` +
        `${(kiln.tokensPerS / torch.tokensPerS).toFixed(3)}`,
    );
  } else {
    console.log(`PyTorch: "${values.python} -c 'import torch'" failed; comparison skipped`);
  }
}
dev.destroy();

/**
 * Matmul GFLOP/s: kiln's WGSL kernels against TensorFlow.js's WebGPU backend on the same adapter
 * in the same process, for 512³, 1024³ and the linear layers of a d_model 384 GPT (rows =
 * batch·context = 64·256). Every product is `x · wᵀ` (what `ops.linear` records), timed as R
 * back-to-back products followed by one wait, so the ≥10 ms wait is amortised. kiln and tfjs
 * alternate round by round so both see the same machine load; on a CPU adapter the CPU time the
 * process used is also reported, which stays meaningful when other jobs share the cores.
 *
 *   deno run -A bench/matmul_bench.ts [--quick] [--rows 16384] [--head-rows 512]
 *   deno bench -A bench/matmul_bench.ts      # 512³ and 1024³ as deno benchmarks (ratio summary)
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { parseArgs } from "node:util";
import { Device } from "../src/gpu/device.ts";
import { ops } from "../src/tensor/ops.ts";
import { noGrad, Tensor } from "../src/tensor/tensor.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";

/** [label, M (rows), K (in), N (out)] */
type Shape = [string, number, number, number];

function shapes(rows: number, headRows: number, quick: boolean): Shape[] {
  const square: Shape[] = [["512³", 512, 512, 512], ["1024³", 1024, 1024, 1024]];
  if (quick) return square.slice(0, 1);
  return [
    ...square,
    [`attn qkv ${rows}×384→1152`, rows, 384, 1152],
    [`mlp fc ${rows}×384→1536`, rows, 384, 1536],
    [`mlp proj ${rows}×1536→384`, rows, 1536, 384],
    [`lm head ${rows}×384→65`, rows, 384, 65],
    // 16384 rows of 50304 logits would exceed the 128 MiB binding limit; the fused classifier
    // works in row chunks, so a chunk is what is timed here.
    [`lm head ${headRows}×384→50304`, headRows, 384, 50304],
  ];
}

function random(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.random() - 0.5);
}

interface Runner {
  record: () => void;
  wait: () => Promise<void>;
  dispose: () => void;
}

function kilnRunner(dev: Device, M: number, K: number, N: number): Runner {
  const x = Tensor.fromArray(dev, random(M * K), [M, K]);
  const w = Tensor.fromArray(dev, random(N * K), [N, K]);
  return {
    record: () => noGrad(() => ops.linear(x, w)).release(),
    wait: () => dev.sync(),
    dispose: () => [x, w].forEach((t) => t.release()),
  };
}

function tfjsRunner(M: number, K: number, N: number): Runner {
  const x = tf.tensor2d(random(M * K), [M, K]);
  const w = tf.tensor2d(random(N * K), [N, K]);
  let last: tf.Tensor | null = null;
  return {
    record: () => {
      last?.dispose();
      last = tf.matMul(x, w, false, true);
    },
    wait: async () => {
      // Reading one element waits for the queue without copying the whole result back.
      const one = tf.slice(last!, [0, 0], [1, 1]);
      await one.data();
      one.dispose();
    },
    dispose: () => [x, w, last].forEach((t) => t?.dispose()),
  };
}

/** CPU seconds used by this process so far (lavapipe's worker threads included). */
function cpuSeconds(): number {
  try {
    const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Median wall and CPU milliseconds per product for each runner, rounds alternating. */
async function timeSideBySide(runners: Runner[], reps: number, rounds = 3) {
  for (const r of runners) {
    r.record();
    await r.wait(); // warm-up: pipeline compile, buffer allocation
  }
  const wall = runners.map(() => [] as number[]);
  const cpu = runners.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, r] of runners.entries()) {
      const c0 = cpuSeconds();
      const t0 = performance.now();
      for (let k = 0; k < reps; k++) r.record();
      await r.wait();
      wall[i].push((performance.now() - t0) / reps);
      cpu[i].push(((cpuSeconds() - c0) * 1000) / reps);
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return runners.map((_, i) => ({ wallMs: median(wall[i]), cpuMs: median(cpu[i]) }));
}

async function setup(): Promise<Device> {
  const dev = await Device.open({ tuneCache: fileTuneCache() });
  await tf.setBackend("webgpu");
  await tf.ready();
  return dev;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      rows: { type: "string", default: "16384" },
      "head-rows": { type: "string", default: "512" },
    },
  });
  const dev = await setup();
  console.log(`adapter: ${dev.description}; ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    "shape".padEnd(30) + "kiln GFLOP/s".padStart(13) + "tfjs GFLOP/s".padStart(13) +
      "ratio".padStart(8) + "  | per CPU-s: kiln".padStart(18) + "tfjs".padStart(7) +
      "ratio".padStart(8),
  );
  const list = shapes(Number(values.rows), Number(values["head-rows"]), values.quick!);
  for (const [label, M, K, N] of list) {
    const flops = 2 * M * K * N;
    const reps = Math.max(1, Math.min(8, Math.round(1.5e9 / flops)));
    const runners = [kilnRunner(dev, M, K, N), tfjsRunner(M, K, N)];
    const [ours, theirs] = await timeSideBySide(runners, reps);
    runners.forEach((r) => r.dispose());
    const g = (ms: number) => (flops / ms / 1e6).toFixed(2);
    console.log(
      label.padEnd(30) + g(ours.wallMs).padStart(13) + g(theirs.wallMs).padStart(13) +
        `${(theirs.wallMs / ours.wallMs).toFixed(2)}×`.padStart(8) + g(ours.cpuMs).padStart(18) +
        g(theirs.cpuMs).padStart(7) + `${(theirs.cpuMs / ours.cpuMs).toFixed(2)}×`.padStart(8),
    );
  }
}

if (import.meta.main) {
  await main(Deno.args);
} else {
  const dev = await setup();
  for (const [label, M, K, N] of shapes(0, 0, false).slice(0, 2)) {
    const ours = kilnRunner(dev, M, K, N);
    const theirs = tfjsRunner(M, K, N);
    const group = `matmul ${label}`;
    Deno.bench({ name: `kiln ${label}`, group, baseline: true, n: 5, warmup: 1 }, async () => {
      ours.record();
      await ours.wait();
    });
    Deno.bench({ name: `tfjs ${label}`, group, n: 5, warmup: 1 }, async () => {
      theirs.record();
      await theirs.wait();
    });
  }
}

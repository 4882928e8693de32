/**
 * Matmul GFLOP/s: kiln's WGSL kernels against TensorFlow.js's WebGPU backend on the same adapter
 * in the same process, for 512³, 1024³ and the linear layers of a d_model 384 GPT (rows =
 * batch·context = 64·256). Every product is `x · wᵀ` (what `ops.linear` records), timed as R
 * back-to-back products followed by one wait, so the ≥10 ms wait is amortised.
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
    [`lm head ${headRows}×384→50304`, headRows, 384, 50304],
  ];
}

function random(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.random() - 0.5);
}

/** Runs `record` `reps` times then `wait` once; returns ms per product (median of 3 rounds). */
async function timeIt(record: () => void, wait: () => Promise<void>, reps: number) {
  record();
  await wait(); // warm-up: pipeline compile, buffer allocation
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) record();
    await wait();
    rounds.push((performance.now() - t0) / reps);
  }
  return rounds.sort((a, b) => a - b)[1];
}

function kilnRunner(dev: Device, M: number, K: number, N: number) {
  const x = Tensor.fromArray(dev, random(M * K), [M, K]);
  const w = Tensor.fromArray(dev, random(N * K), [N, K]);
  return {
    record: () => noGrad(() => ops.linear(x, w)).release(),
    wait: () => dev.sync(),
    dispose: () => [x, w].forEach((t) => t.release()),
  };
}

function tfjsRunner(M: number, K: number, N: number) {
  const x = tf.tensor2d(random(M * K), [M, K]);
  const w = tf.tensor2d(random(N * K), [N, K]);
  let last: tf.Tensor | null = null;
  return {
    record: () => {
      last?.dispose();
      last = tf.matMul(x, w, false, true);
    },
    wait: async () => {
      // Reading one element waits for the queue without copying the whole result.
      await tf.slice(last!, [0, 0], [1, 1]).data();
    },
    dispose: () => [x, w, last].forEach((t) => t?.dispose()),
  };
}

async function setup() {
  const dev = await Device.open();
  await tf.setBackend("webgpu");
  await tf.ready();
  return dev;
}

async function main(args: string[]) {
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
    "shape".padEnd(34) + "kiln GFLOP/s".padStart(14) + "tfjs GFLOP/s".padStart(14) +
      "kiln/tfjs".padStart(11),
  );
  for (
    const [label, M, K, N] of shapes(
      Number(values.rows),
      Number(values["head-rows"]),
      values.quick!,
    )
  ) {
    const flops = 2 * M * K * N;
    const reps = Math.max(1, Math.min(8, Math.round(1.5e9 / flops)));
    const ours = kilnRunner(dev, M, K, N);
    const msOurs = await timeIt(ours.record, ours.wait, reps);
    ours.dispose();
    const theirs = tfjsRunner(M, K, N);
    const msTheirs = await timeIt(theirs.record, theirs.wait, reps);
    theirs.dispose();
    const g = (ms: number) => flops / ms / 1e6;
    console.log(
      label.padEnd(34) + g(msOurs).toFixed(2).padStart(14) + g(msTheirs).toFixed(2).padStart(14) +
        (msTheirs / msOurs).toFixed(2).padStart(10) + "×",
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

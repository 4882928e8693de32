/**
 * Fused flash-style attention vs the same attention built from unfused ops (matmul q·kᵀ, scale,
 * causal mask, softmax, matmul with v), forward + backward, on the same adapter in the same
 * process. Run: `deno bench -A bench/attention_bench.ts` (the unfused version is the baseline,
 * so Deno prints "× faster than" for the fused one). On a shared machine wall time swings with
 * the load, so `deno run -A bench/attention_bench.ts` measures the process's CPU time instead
 * (lavapipe runs the kernels on this process's threads), alternating the two versions.
 */

import { Device } from "../src/gpu/device.ts";
import { ops } from "../src/tensor/ops.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";

const dev = await Device.open({ tuneCache: fileTuneCache() });

/** GPT shapes: nanoGPT's CPU-sized shakespeare model and its GPU-sized one. */
const SHAPES = [
  { b: 12, h: 4, t: 64, d: 32, iterations: 10 },
  { b: 8, h: 6, t: 256, d: 64, iterations: 4 },
];

function randomTensor(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.random() * 2 - 1;
  return Tensor.fromArray(dev, data, shape, { requiresGrad: true });
}

function unfusedAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const scores = ops.scale(ops.matmul(q, k, { transB: true }), 1 / Math.sqrt(q.shape[3]));
  return ops.matmul(ops.softmax(ops.causalMask(scores)), v);
}

/** One forward + backward, waited for, with gradients dropped so iterations stay alike. */
async function step(
  attend: (q: Tensor, k: Tensor, v: Tensor) => Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  w: Tensor,
): Promise<void> {
  ops.sum(ops.mul(attend(q, k, v), w)).backward();
  await dev.sync();
  for (const x of [q, k, v]) {
    x.grad?.release();
    x.grad = null;
  }
}

/** CPU time (user + system) of this process in ms, from /proc/self/stat (Linux). */
function cpuMs(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The `deno run` mode: CPU ms per fwd+bwd for both versions, alternated, and their ratio. */
async function compareCpuTime(): Promise<void> {
  console.log(`adapter: ${dev.description}`);
  console.log("shape                  unfused ms  fused ms  unfused/fused  (CPU time per fwd+bwd)");
  for (const { b, h, t, d, iterations } of SHAPES) {
    const [q, k, v, w] = [0, 1, 2, 3].map(() => randomTensor([b, h, t, d]));
    w.requiresGrad = false;
    const fused = (a: Tensor, bb: Tensor, c: Tensor) => ops.attention(a, bb, c);
    await step(unfusedAttention, q, k, v, w);
    await step(fused, q, k, v, w);
    const total = { unfused: 0, fused: 0 };
    for (let i = 0; i < iterations; i++) {
      let c0 = cpuMs();
      await step(unfusedAttention, q, k, v, w);
      total.unfused += cpuMs() - c0;
      c0 = cpuMs();
      await step(fused, q, k, v, w);
      total.fused += cpuMs() - c0;
    }
    const [u, f] = [total.unfused / iterations, total.fused / iterations];
    const name = `B${b} H${h} T${t} D${d}`.padEnd(22);
    console.log(
      `${name} ${u.toFixed(0).padStart(10)} ${f.toFixed(0).padStart(9)} ${
        (u / f).toFixed(2).padStart(14)
      }`,
    );
    for (const x of [q, k, v, w]) x.release();
  }
}

// `deno run` sets import.meta.main (`deno bench` does not): then compare CPU time.
if (import.meta.main) await compareCpuTime();

for (const { b, h, t, d, iterations } of SHAPES) {
  const [q, k, v, w] = [0, 1, 2, 3].map(() => randomTensor([b, h, t, d]));
  w.requiresGrad = false;
  const group = `attention B${b} H${h} T${t} D${d} fwd+bwd`;
  Deno.bench({
    name: `unfused ${group}`,
    group,
    baseline: true,
    n: iterations,
    warmup: 1,
    fn: () => step(unfusedAttention, q, k, v, w),
  });
  Deno.bench({
    name: `fused ${group}`,
    group,
    n: iterations,
    warmup: 1,
    fn: () => step((a, bb, c) => ops.attention(a, bb, c), q, k, v, w),
  });
}

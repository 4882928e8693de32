/**
 * Fused flash-style attention vs the same attention built from unfused ops (matmul q·kᵀ, scale,
 * causal mask, softmax, matmul with v), forward + backward, on the same adapter in the same
 * process. Run: `deno bench -A bench/attention_bench.ts` (the unfused version is the baseline,
 * so Deno prints "× faster than" for the fused one).
 */

import { Device } from "../src/gpu/device.ts";
import { ops } from "../src/tensor/ops.ts";
import { Tensor } from "../src/tensor/tensor.ts";

const dev = await Device.open();

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

/**
 * `ops.relu` vs the ReLU a user had to fake before it existed: x·sigmoid(1e4·x), the sigmoid built
 * from two linears and a softmax (softmax([1e4·x, 0])₀ = sigmoid(1e4·x)). Forward + backward on
 * [8,64,128], loss = Σ y·w, then `backward()` and a GPU wait. `deno bench -A bench/relu_bench.ts`
 * (wall time, the hack is the baseline); `deno run -A bench/relu_bench.ts` measures the process's
 * CPU time instead (lavapipe runs the kernels on this process's threads), alternating the two.
 */

import { Device } from "../src/gpu/device.ts";
import { ops } from "../src/tensor/ops.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";

const dev = await Device.open({ tuneCache: fileTuneCache() });
const SHAPE = [8, 64, 128];
const ITERATIONS = 10;

function randomTensor(shape: number[], requiresGrad: boolean): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  return Tensor.fromArray(dev, data, shape, { requiresGrad });
}

const x = randomTensor(SHAPE, true);
const w = randomTensor(SHAPE, false);
// [1e4, 0]ᵀ makes the softmax pair; [1, 0] picks its first entry.
const toPair = Tensor.fromArray(dev, [1e4, 0], [2, 1]);
const pickFirst = Tensor.fromArray(dev, [1, 0], [1, 2]);

function reluHack(t: Tensor): Tensor {
  const column = t.reshape([t.size, 1]);
  const gate = ops.linear(ops.softmax(ops.linear(column, toPair)), pickFirst);
  return ops.mul(t, gate.reshape(t.shape));
}

async function step(relu: (t: Tensor) => Tensor): Promise<void> {
  ops.sum(ops.mul(relu(x), w)).backward();
  await dev.sync();
  x.grad?.release();
  x.grad = null;
}

/** CPU time (user + system) of this process in ms, from /proc/self/stat (Linux). */
function cpuMs(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function compareCpuTime(): Promise<void> {
  console.log(`adapter: ${dev.description}`);
  await step(reluHack);
  await step(ops.relu);
  const total = { hack: 0, relu: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    let c0 = cpuMs();
    await step(reluHack);
    total.hack += cpuMs() - c0;
    c0 = cpuMs();
    await step(ops.relu);
    total.relu += cpuMs() - c0;
  }
  const [h, r] = [total.hack / ITERATIONS, total.relu / ITERATIONS];
  console.log(`relu fwd+bwd on [${SHAPE}] (CPU ms, mean of ${ITERATIONS}):`);
  console.log(
    `  x·sigmoid(1e4·x) hack ${h.toFixed(1)}  ops.relu ${r.toFixed(1)}  ratio ${
      (h / r).toFixed(1)
    }×`,
  );
}

// `deno run` sets import.meta.main (`deno bench` does not): then compare CPU time.
if (import.meta.main) await compareCpuTime();

const group = `relu [${SHAPE}] fwd+bwd`;
Deno.bench({
  name: `x·sigmoid(1e4·x) hack, ${group}`,
  group,
  baseline: true,
  n: ITERATIONS,
  warmup: 1,
  fn: () => step(reluHack),
});
Deno.bench({
  name: `ops.relu, ${group}`,
  group,
  n: ITERATIONS,
  warmup: 1,
  fn: () => step(ops.relu),
});

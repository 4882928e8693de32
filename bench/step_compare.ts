/**
 * Training-step speed and dispatch counts of one kiln checkout, for side-by-side comparisons
 * with another commit (run it once per checkout, e.g. a `git worktree` of the older commit):
 * the mess3 demo's step (configs/mess3.yaml: 2L d64, context 6, batch 64), the CPU-sized
 * shakespeare_char step (4L d128 T64 B12), and the dispatches one shakespeare_char step records
 * (6L d384 T256 B64; recorded, not run). It imports the engine from `--root`, using only APIs
 * that older commits have too.
 *
 *   deno run -A bench/step_compare.ts [--root ../other-checkout] [--steps 30]
 */

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const { values } = parseArgs({
  options: {
    root: { type: "string", default: "." },
    steps: { type: "string", default: "30" },
  },
});
const root = pathToFileURL(resolve(values.root!)).href;
const { Device } = await import(`${root}/src/gpu/device.ts`);
const { GPT } = await import(`${root}/src/nn/gpt.ts`);
const { AdamW } = await import(`${root}/src/optim/adamw.ts`);
const { Tensor } = await import(`${root}/src/tensor/tensor.ts`);

interface Shape {
  label: string;
  vocab: number;
  seqLen: number;
  nLayer: number;
  nHead: number;
  dModel: number;
  batch: number;
}

const SHAPES: Shape[] = [
  { label: "mess3 2L d64 T6 B64", vocab: 4, seqLen: 6, nLayer: 2, nHead: 2, dModel: 64, batch: 64 },
  {
    label: "shakespeare_char small 4L d128 T64 B12",
    vocab: 65,
    seqLen: 64,
    nLayer: 4,
    nHead: 4,
    dModel: 128,
    batch: 12,
  },
];
const BIG: Shape = {
  label: "shakespeare_char 6L d384 T256 B64",
  vocab: 65,
  seqLen: 256,
  nLayer: 6,
  nHead: 6,
  dModel: 384,
  batch: 64,
};

// deno-lint-ignore no-explicit-any
type Any = any;

function makeStep(dev: Any, s: Shape) {
  const model = new GPT(dev, {
    name: "gpt",
    vocab_size: s.vocab,
    max_seq_len: s.seqLen,
    n_layer: s.nLayer,
    n_head: s.nHead,
    d_model: s.dModel,
    dropout: 0,
    bias: true,
    tie_embeddings: true,
    positional: "learned",
  }, { seed: 1 });
  const adam = new AdamW(model.params, { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const n = s.batch * s.seqLen;
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919) % s.vocab);
  const inputs = Tensor.zeros(dev, [s.batch, s.seqLen], { dtype: "i32" });
  const targets = Tensor.fromArray(dev, ids.map((v) => (v + 1) % s.vocab), [s.batch, s.seqLen], {
    dtype: "i32",
  });
  return () => {
    inputs.write(ids); // as the trainer does: the batch is uploaded every step
    model.params.zeroGrad();
    const loss = model.forward(inputs, { targets }).loss!;
    loss.backward();
    adam.step({ lr: 1e-3, maxGradNorm: 1 });
    loss.release();
  };
}

const dev = await Device.open();
console.log(
  `root ${values.root}; load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
);
const steps = Number(values.steps);
for (const s of SHAPES) {
  const step = makeStep(dev, s);
  step();
  await dev.sync(); // compile, pool growth
  const d0 = dev.recorder.dispatches;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    step();
    dev.flush();
    if (i % 10 === 9) await dev.sync();
  }
  await dev.sync();
  const ms = (performance.now() - t0) / steps;
  const dispatches = (dev.recorder.dispatches - d0) / steps;
  console.log(
    `${s.label}: ${ms.toFixed(1)} ms/step, ${(s.batch * s.seqLen / ms * 1000).toFixed(0)} ` +
      `tokens/s, ${dispatches.toFixed(0)} dispatches/step`,
  );
}
// The big step is only recorded: running it takes minutes on a CPU adapter.
const big = makeStep(dev, BIG);
const d0 = dev.recorder.dispatches;
big();
console.log(`${BIG.label}: ${dev.recorder.dispatches - d0} dispatches/step (recorded)`);
Deno.exit(0);

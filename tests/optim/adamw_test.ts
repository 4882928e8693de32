import assert from "node:assert/strict";
import { AdamW, decayMaskBits, type FlatParameterEntry } from "../../src/optim/adamw.ts";
import {
  type ReferenceAdamWState,
  referenceAdamWStep,
  referenceGradNorm,
} from "../../src/optim/reference.ts";
import { ops } from "../../src/tensor/ops.ts";
import { ParameterSet } from "../../src/tensor/parameters.ts";
import { crossEntropyReference } from "../../src/tensor/reference.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { hasPyTorch, testNeeding } from "../_support/env.ts";
import { pythonJson } from "../_support/python.ts";
import { assertClose, f32, gpuTest, randomArray, testDevice } from "../tensor/_helpers.ts";

type Dev = Awaited<ReturnType<typeof testDevice>>;

/** Two decaying matrices and a non-decaying bias with padding gaps, like a ParameterSet. */
const ENTRIES: FlatParameterEntry[] = [
  { offset: 0, numel: 300, decay: true },
  { offset: 320, numel: 7, decay: false },
  { offset: 384, numel: 1000, decay: true },
];
const N = 1408;

function decayFlags(): boolean[] {
  const flags = new Array<boolean>(N).fill(false);
  for (const e of ENTRIES) for (let i = 0; i < e.numel; i++) flags[e.offset + i] = e.decay;
  return flags;
}

/** Random gradients, zero in the padding between parameters (as a ParameterSet's are). */
function gradients(seed: number, scale = 1): Float64Array {
  const g = f32(randomArray(N, seed, -scale, scale));
  const inside = new Array<boolean>(N).fill(false);
  for (const e of ENTRIES) for (let i = 0; i < e.numel; i++) inside[e.offset + i] = true;
  return g.map((x, i) => (inside[i] ? x : 0));
}

function makeSet(dev: Dev, init: Float64Array) {
  const flat = Tensor.fromArray(dev, init, [N]);
  const flatGrad = Tensor.zeros(dev, [N]);
  return { flat, flatGrad, entries: ENTRIES };
}

Deno.test("decay mask has one bit per decaying element", () => {
  const bits = decayMaskBits(N, ENTRIES);
  const flags = decayFlags();
  for (let i = 0; i < N; i++) assert.equal(((bits[i >>> 5] >>> (i & 31)) & 1) === 1, flags[i]);
});

Deno.test("decay mask with `all` covers every parameter but not the padding between them", () => {
  const bits = decayMaskBits(N, ENTRIES, true);
  for (let i = 0; i < N; i++) {
    const inside = ENTRIES.some((e) => i >= e.offset && i < e.offset + e.numel);
    assert.equal(((bits[i >>> 5] >>> (i & 31)) & 1) === 1, inside, `element ${i}`);
  }
});

gpuTest(
  "AdamW with decayAll shrinks a no-decay parameter by (1 − lr·wd) under zero gradient",
  async (dev) => {
    const init = f32(randomArray(N, 3));
    for (const decayAll of [false, true]) {
      const set = makeSet(dev, init);
      const opt = new AdamW(set, { lr: 0.1, weightDecay: 0.5, decayAll });
      opt.step({ lr: 0.1, maxGradNorm: 0 });
      const after = await set.flat.toArray();
      const bias = ENTRIES[1];
      for (let i = bias.offset; i < bias.offset + bias.numel; i++) {
        const expected = decayAll ? init[i] * (1 - 0.1 * 0.5) : init[i];
        assert.ok(
          Math.abs(after[i] - expected) < 1e-6,
          `decayAll ${decayAll}: ${after[i]} vs ${expected}`,
        );
      }
      assert.ok(Math.abs(after[0] - init[0] * 0.95) < 1e-6, "matrices decay either way");
      opt.release();
      set.flat.release();
      set.flatGrad.release();
    }
  },
);

gpuTest(
  "AdamW tracks a float64 PyTorch-algorithm reference over 6 steps with clipping",
  async (dev) => {
    const init = f32(randomArray(N, 1));
    const set = makeSet(dev, init);
    const opt = new AdamW(set, { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    const ref: ReferenceAdamWState = {
      params: Float64Array.from(init),
      m: new Float64Array(N),
      v: new Float64Array(N),
      step: 0,
      skipped: 0,
    };
    const decay = decayFlags();
    for (let s = 0; s < 6; s++) {
      // Large gradients on odd steps so clipping engages, small on even steps so it does not.
      const g = gradients(100 + s, s % 2 ? 0.5 : 0.01);
      set.flatGrad.write(g);
      const lr = 1e-2 * (1 - s / 10);
      const norm = opt.gradNorm();
      assertClose([await norm.item()], [referenceGradNorm(g)], { rtol: 1e-5, what: `norm ${s}` });
      opt.step({ lr, maxGradNorm: 1 });
      referenceAdamWStep(ref, g, {
        lr,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        decay,
        maxGradNorm: 1,
      });
    }
    assertClose(await set.flat.toArray(), ref.params, { atol: 1e-6, rtol: 1e-5, what: "params" });
    const state = await opt.state();
    assert.equal(state.step, 6);
    assert.equal(opt.stepCount, 6);
    assertClose(state.m, ref.m, { atol: 1e-8, rtol: 1e-5, what: "m" });
    assertClose(state.v, ref.v, { atol: 1e-10, rtol: 1e-5, what: "v" });
    // Padding slots have zero grads and no decay: they stay exactly as they were.
    const after = await set.flat.toArray();
    for (const i of [300, 319, 327, 383]) assert.equal(after[i], Math.fround(init[i]));
    opt.release();
    set.flat.release();
    set.flatGrad.release();
  },
);

gpuTest("a non-finite gradient skips the step on the GPU and counts it", async (dev) => {
  const init = f32(randomArray(N, 2));
  const set = makeSet(dev, init);
  const opt = new AdamW(set, { lr: 1e-3 });
  const g = gradients(3);
  set.flatGrad.write(g);
  opt.step({ lr: 1e-3 });
  const afterOne = await set.flat.toArray();
  const bad = Float32Array.from(g);
  bad[17] = NaN;
  set.flatGrad.write(bad);
  opt.step({ lr: 1e-3 });
  bad[17] = Infinity;
  set.flatGrad.write(bad);
  opt.step({ lr: 1e-3 });
  assert.deepEqual(await set.flat.toArray(), afterOne);
  assert.equal(await opt.skippedSteps(), 2);
  assert.equal((await opt.state()).step, 1);
  assert.equal(opt.stepCount, 3);
  // The next good step uses t = 2 for bias correction, as if the bad ones never happened.
  const ref: ReferenceAdamWState = {
    params: Float64Array.from(init),
    m: new Float64Array(N),
    v: new Float64Array(N),
    step: 0,
    skipped: 0,
  };
  const h = {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0.01,
    decay: decayFlags(),
  };
  referenceAdamWStep(ref, g, h);
  set.flatGrad.write(g);
  opt.step({ lr: 1e-3 });
  referenceAdamWStep(ref, g, h);
  assertClose(await set.flat.toArray(), ref.params, { atol: 1e-6, rtol: 1e-5, what: "params" });
  opt.release();
  set.flat.release();
  set.flatGrad.release();
});

gpuTest("state() / loadState() resume gives bit-identical parameters", async (dev) => {
  const init = f32(randomArray(N, 4));
  const grads = [5, 6, 7, 8].map((s) => gradients(s));
  const run = async (split: boolean) => {
    let set = makeSet(dev, init);
    let opt = new AdamW(set, { lr: 1e-2, weightDecay: 0.1 });
    for (const [i, g] of grads.entries()) {
      if (split && i === 2) {
        const state = await opt.state();
        const params = await set.flat.toArray();
        opt.release();
        set.flat.release();
        set.flatGrad.release();
        set = makeSet(dev, Float64Array.from(params));
        opt = new AdamW(set, { lr: 1e-2, weightDecay: 0.1 });
        opt.loadState(state);
      }
      set.flatGrad.write(g);
      opt.step({ lr: 1e-2, maxGradNorm: 5 });
    }
    const out = await set.flat.toArray();
    opt.release();
    set.flat.release();
    set.flatGrad.release();
    return out;
  };
  assert.deepEqual(await run(true), await run(false));
});

gpuTest("AdamW rejects bad hyper-parameters and mismatched state", (dev) => {
  const set = makeSet(dev, new Float64Array(N));
  assert.throws(() => new AdamW(set, { lr: -1 }), /lr must be >= 0/);
  assert.throws(() => new AdamW(set, { lr: 1, betas: [0.9, 1] }), /beta2 must be in \[0, 1\)/);
  const opt = new AdamW(set, { lr: 1 });
  assert.throws(
    () => opt.loadState({ m: new Float32Array(3), v: new Float32Array(3), step: 1 }),
    /3\/3 moments for 1408/,
  );
  opt.release();
  set.flat.release();
  set.flatGrad.release();
});

const torchPresent = await hasPyTorch();
testNeeding(
  "PyTorch",
  torchPresent,
  "AdamW agrees with torch.optim.AdamW + clip_grad_norm_",
  async () => {
    const dev = await testDevice();
    const init = f32(randomArray(N, 9));
    const grads = [0, 1, 2, 3, 4].map((s) => gradients(20 + s, 2));
    const decay = decayFlags();
    const script = `
import json, sys, torch
d = json.load(sys.stdin)
p = torch.tensor(d["init"], dtype=torch.float32)
mask = torch.tensor(d["decay"])
a = p[mask].clone().requires_grad_()
b = p[~mask].clone().requires_grad_()
opt = torch.optim.AdamW([{"params": [a], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                        lr=3e-3, betas=(0.9, 0.99), eps=1e-8)
for g in d["grads"]:
    g = torch.tensor(g, dtype=torch.float32)
    a.grad = g[mask].clone(); b.grad = g[~mask].clone()
    torch.nn.utils.clip_grad_norm_([a, b], 1.0)
    opt.step()
out = p.clone(); out[mask] = a.detach(); out[~mask] = b.detach()
print(json.dumps(out.tolist()))
`;
    const payload = { init: [...init], decay, grads: grads.map((g) => [...g]) };
    const torchParams = await pythonJson<number[]>(script, payload);
    const set = makeSet(dev, init);
    const opt = new AdamW(set, { lr: 3e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
    for (const g of grads) {
      set.flatGrad.write(g);
      opt.step({ lr: 3e-3, maxGradNorm: 1 });
    }
    assertClose(await set.flat.toArray(), torchParams, { atol: 1e-6, rtol: 1e-5, what: "params" });
    opt.release();
    set.flat.release();
    set.flatGrad.release();
  },
);

gpuTest("AdamW trains a ParameterSet end to end like the float64 reference", async (dev) => {
  const [rows, inDim, outDim] = [5, 4, 3];
  const x = f32(randomArray(rows * inDim, 30));
  const targets = [0, 2, -1, 1, 2];
  const w0 = f32(randomArray(outDim * inDim, 31));
  const b0 = f32(randomArray(outDim, 32));
  const set = new ParameterSet(dev, [
    { name: "w", shape: [outDim, inDim], init: Float32Array.from(w0), decay: true },
    { name: "b", shape: [outDim], init: Float32Array.from(b0), decay: false },
  ]);
  const opt = new AdamW(set, { lr: 0.05, weightDecay: 0.2 });
  const xt = Tensor.fromArray(dev, x, [rows, inDim]);
  const tt = Tensor.fromArray(dev, targets, [rows], { dtype: "i32" });
  // The same model in float64 on flat arrays laid out like the ParameterSet.
  const [we, be] = set.entries;
  const flat = new Float64Array(set.flatLength);
  flat.set(w0, we.offset);
  flat.set(b0, be.offset);
  const ref: ReferenceAdamWState = {
    params: flat,
    m: new Float64Array(set.flatLength),
    v: new Float64Array(set.flatLength),
    step: 0,
    skipped: 0,
  };
  const decay = Array.from({ length: set.flatLength }, (_, i) => i < we.offset + we.numel);
  for (let s = 0; s < 3; s++) {
    set.zeroGrad();
    ops.crossEntropy(ops.linear(xt, set.tensors.get("w")!, set.tensors.get("b")!), tt).backward();
    opt.step({ maxGradNorm: 0.5 });
    const logits = new Float64Array(rows * outDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let acc = flat[be.offset + o];
        for (let i = 0; i < inDim; i++) acc += x[r * inDim + i] * flat[we.offset + o * inDim + i];
        logits[r * outDim + o] = acc;
      }
    }
    const { dlogits } = crossEntropyReference(logits, targets, outDim);
    const grads = new Float64Array(set.flatLength);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        const g = dlogits[r * outDim + o];
        grads[be.offset + o] += g;
        for (let i = 0; i < inDim; i++) grads[we.offset + o * inDim + i] += g * x[r * inDim + i];
      }
    }
    const h = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.2, decay };
    referenceAdamWStep(ref, grads, { ...h, maxGradNorm: 0.5 });
  }
  const got = await set.read();
  assertClose(got.get("w")!, flat.subarray(we.offset, we.offset + we.numel), { what: "w" });
  assertClose(got.get("b")!, flat.subarray(be.offset, be.offset + be.numel), { what: "b" });
  opt.release();
  set.destroy();
  xt.release();
  tt.release();
});

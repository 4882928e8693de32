/**
 * `checkpoint(fn)`: the gradients of a checkpointed block equal those of the block run directly,
 * bit for bit, for leaves it closes over and for tensors from an outer tape; the block's
 * intermediates are freed after its forward; outside a tape it is `fn()`; a replay that computes
 * something else is refused. The models' use of it is tests/nn/checkpoint_activations_test.ts.
 */

import assert from "node:assert/strict";
import type { Device } from "../../src/gpu/device.ts";
import { checkpoint, checkpointsRecorded } from "../../src/tensor/checkpoint.ts";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, stepScope, Tensor } from "../../src/tensor/tensor.ts";
import { assertSameBits, gpuTest, randomArray } from "./_helpers.ts";

interface Leaves {
  w1: Tensor;
  w2: Tensor;
  gain: Tensor;
  x: Tensor;
}

function leaves(dev: Device): Leaves {
  const leaf = (n: number, shape: number[], seed: number) =>
    Tensor.fromArray(dev, randomArray(n, seed), shape, { requiresGrad: true });
  return {
    w1: leaf(24 * 8, [24, 8], 1),
    w2: leaf(8 * 24, [8, 24], 2),
    gain: leaf(8, [8], 3),
    x: leaf(6 * 8, [2, 3, 8], 4),
  };
}

/** A pre-LN MLP block with its residual, closing over its weights; `h` comes from outside. */
function block(h: Tensor, p: Leaves): Tensor {
  const y = ops.layerNorm(h, p.gain, null, 1e-5);
  const z = ops.linear(ops.gelu(ops.linear(y, p.w1)), p.w2);
  return ops.add(h, ops.dropout(z, 0.25, 77));
}

/** Loss and every leaf's gradient of two stacked blocks, the second optionally checkpointed. */
async function run(p: Leaves, wrap: boolean) {
  for (const t of Object.values(p)) t.grad = null;
  const loss = stepScope(() => {
    // The block input is not a leaf: the gradient must flow on through the outer tape.
    const h0 = ops.scale(p.x, 1.5);
    const h1 = wrap ? checkpoint(() => block(h0, p)) : block(h0, p);
    const h2 = wrap ? checkpoint(() => block(h1, p)) : block(h1, p);
    const loss = ops.mean(ops.mul(h2, h2)).retain();
    loss.backward();
    return loss;
  });
  const value = (await loss.toArray()) as Float32Array;
  loss.release();
  const grads: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(p)) {
    grads[name] = (await t.grad!.toArray()) as Float32Array;
    t.grad!.release();
  }
  return { value, grads };
}

gpuTest(
  "checkpoint: loss and gradients bit-identical to running the blocks directly",
  async (dev) => {
    const p = leaves(dev);
    const before = checkpointsRecorded();
    const wrapped = await run(p, true);
    assert.equal(checkpointsRecorded() - before, 2, "two blocks joined the tape");
    const direct = await run(p, false);
    assertSameBits(wrapped.value, direct.value, "loss");
    for (const name of Object.keys(p)) {
      const g = direct.grads[name];
      assert.ok(g.some((v) => v !== 0), `${name} gets a gradient`);
      assertSameBits(wrapped.grads[name], g, `d loss / d ${name}`);
    }
    for (const t of Object.values(p)) t.release();
  },
);

gpuTest("checkpoint: a block's intermediates are freed after its forward", (dev) => {
  const p = leaves(dev);
  const held = (wrap: boolean) =>
    stepScope(() => {
      const start = dev.bytesInUse();
      const h = wrap ? checkpoint(() => block(p.x, p)) : block(p.x, p);
      const bytes = dev.bytesInUse() - start;
      assert.ok(h.requiresGrad && h.node !== null, "the output is on the tape");
      return bytes;
    });
  const direct = held(false);
  const wrapped = held(true);
  // Kept: the output only (the inputs live outside); direct keeps layernorm, linear, gelu, ….
  assert.ok(wrapped < direct, `${wrapped} B kept vs ${direct} B`);
  for (const t of Object.values(p)) t.release();
});

gpuTest("checkpoint: outside a tape it is fn() and records nothing", (dev) => {
  const p = leaves(dev);
  const before = checkpointsRecorded();
  const y = noGrad(() => checkpoint(() => block(p.x, p)));
  assert.equal(y.node, null);
  assert.equal(checkpointsRecorded(), before);
  y.release();
  // Nothing needing a gradient inside: no node either.
  const c = Tensor.fromArray(dev, [1, 2, 3], [3]);
  const z = checkpoint(() => ops.gelu(c));
  assert.ok(z.node === null && !z.requiresGrad);
  for (const t of [...Object.values(p), c, z]) t.release();
});

gpuTest("checkpoint: a replay that computes something else is refused", (dev) => {
  const p = leaves(dev);
  let calls = 0;
  stepScope(() => {
    // The second call (the replay) takes another route: a different shape comes back.
    const y = checkpoint(() => (calls++ === 0 ? block(p.x, p) : ops.linear(p.x, p.w1)));
    assert.throws(
      () => ops.sum(y).backward(),
      /checkpoint: the replay gave \[2,3,24\] where the forward gave \[2,3,8\]/,
    );
  });
  for (const t of Object.values(p)) t.release();
});

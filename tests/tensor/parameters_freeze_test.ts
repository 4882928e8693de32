import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { GPT } from "../../src/nn/gpt.ts";
import { AdamW } from "../../src/optim/adamw.ts";
import { parameterMatcher } from "../../src/tensor/parameters.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";

const gpu = await hasWebGpuAdapter();

Deno.test("parameterMatcher: globs over dotted names, lists, RegExp, predicates", () => {
  const m = parameterMatcher("h.0.*");
  assert.ok(m("h.0.attn.c_attn.weight") && m("h.0.ln_1.bias"));
  assert.ok(!m("h.10.ln_1.bias") && !m("wte.weight") && !m("hx0.a"));
  assert.ok(parameterMatcher(["wte.*", "*.bias"])("h.1.mlp.c_fc.bias"));
  assert.ok(parameterMatcher(/^h\.1\./)("h.1.x"));
  assert.ok(parameterMatcher((n) => n.length === 3)("abc"));
});

/** One forward + backward + AdamW step on a fixed batch. */
function step(dev: Device, model: GPT, opt: AdamW, ids: Tensor, targets: Tensor): void {
  model.params.zeroGrad();
  const { loss } = model.forward(ids, { targets, train: true });
  loss!.backward();
  loss!.release();
  opt.step({ lr: 1e-2, maxGradNorm: 1 });
  dev.flush();
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "setTrainable: a frozen block gets no gradient (fused QKV views included), no update, no moments",
  async () => {
    const dev = await Device.open();
    try {
      const cfg = gptConfig({ vocab_size: 11, max_seq_len: 6, n_layer: 2, n_head: 2, d_model: 8 });
      const model = new GPT(dev, cfg, { seed: 3 });
      // weight decay on, so a zero-gradient parameter would still move if AdamW touched it.
      const opt = new AdamW(model.params, { lr: 1e-2, weightDecay: 0.1, betas: [0.9, 0.99] });
      const ids = Tensor.fromArray(dev, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2], [2, 6], {
        dtype: "i32",
      });
      const targets = Tensor.fromArray(dev, [2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3], [2, 6], {
        dtype: "i32",
      });
      // One step first, so the moments of the soon-frozen block are not zero: a frozen parameter
      // must keep them too (PyTorch skips it entirely; no moment decay).
      step(dev, model, opt, ids, targets);
      const frozen = model.params.setTrainable("h.0.*", false);
      assert.ok(frozen.includes("h.0.attn.c_attn.weight") && frozen.includes("h.0.ln_1.weight"));
      assert.deepEqual(model.params.frozenNames(), frozen);
      const before = await model.params.read();
      const momentsBefore = await opt.state();
      step(dev, model, opt, ids, targets);
      step(dev, model, opt, ids, targets);
      const grads = await model.params.readGrads();
      const after = await model.params.read();
      const momentsAfter = await opt.state();
      for (const e of model.params.entries) {
        const isFrozen = e.name.startsWith("h.0.");
        const same = before.get(e.name)!.every((v, i) => Object.is(v, after.get(e.name)![i]));
        const maxGrad = Math.max(...grads.get(e.name)!.map(Math.abs));
        if (isFrozen) {
          assert.ok(same, `${e.name} frozen: bit-identical after two steps`);
          assert.equal(maxGrad, 0, `${e.name} frozen: no gradient`);
          const range = [e.offset, e.offset + e.numel] as const;
          assert.deepEqual(
            momentsAfter.m.slice(...range),
            momentsBefore.m.slice(...range),
            `${e.name}: first moment untouched`,
          );
          assert.deepEqual(momentsAfter.v.slice(...range), momentsBefore.v.slice(...range));
        } else {
          assert.ok(!same, `${e.name} trainable: moves`);
        }
      }
      // Unfreezing makes the block train again.
      model.params.setTrainable((n) => n.startsWith("h.0."), true);
      step(dev, model, opt, ids, targets);
      const again = await model.params.read();
      const w = "h.0.attn.c_attn.weight";
      assert.ok(!again.get(w)!.every((v, i) => v === after.get(w)![i]), "unfrozen: moves again");
      assert.throws(
        () => model.params.setTrainable("h.9.*", false),
        (e: Error) => e instanceof UserError && /matches no parameter/.test(e.message),
      );
      [ids, targets].forEach((t) => t.release());
      opt.release();
      model.params.destroy();
    } finally {
      dev.destroy();
    }
  },
);

/**
 * The encoder–decoders' config errors, data checks, and decoding: the once-computed memory plus
 * decoder KV cache give the full forward's logits, and greedy decoding one token at a time
 * equals the batched held-out decoding. PyTorch parity is tests/reference/encdec_parity_test.ts.
 */

import assert from "node:assert/strict";
import {
  MultiplicationStudySource,
  scoreStudy,
  studyParams,
} from "../../src/data/synthetic/tasks/multiplication_study.ts";
import { studyHeldOut } from "../../src/eval/study_heldout.ts";
import { EncoderDecoder } from "../../src/nn/encdec.ts";
import { checkEncDecData } from "../../src/nn/encdec_config.ts";
import { EncDecSession, generateEncDec } from "../../src/nn/encdec_generate.ts";
import type { GPTConfig } from "../../src/nn/gpt.ts";
import { createModel } from "../../src/nn/models_all.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { UserError } from "../../src/util/errors.ts";
import { gptConfig } from "../_support/gpt.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";
import { gpuTest } from "../tensor/_helpers.ts";

const base: GPTConfig = {
  ...gptConfig({ vocab_size: 14, max_seq_len: 10, n_layer: 2, n_head: 2, d_model: 16 }),
  name: "encdec",
  source_len: 5,
  pad_id: 13,
  init_std: 0.3, // large weights: decisive argmaxes, distinct logits per position
};

function userError(pattern: RegExp) {
  return (e: unknown) =>
    e instanceof UserError && pattern.test(e.message) && !e.message.includes("\n");
}

gpuTest("encdec configs: bad keys are one-line UserErrors naming them", (dev) => {
  const make = (cfg: Partial<GPTConfig>) => createModel(dev, { ...base, ...cfg }, { seed: 1 });
  assert.throws(
    () => make({ name: "latent_encdec", num_latent: 0 }),
    userError(/^model\.num_latent: expected an integer ≥ 1, found 0/),
  );
  assert.throws(
    () => make({ name: "latent_encdec", bottleneck_factor: 1.5 }),
    userError(/^model\.bottleneck_factor: expected a number in \[0, 1\], found 1\.5/),
  );
  assert.throws(
    () => make({ source_len: undefined }),
    userError(/^model\.source_len: encdec needs the source width/),
  );
  assert.throws(
    () => make({ source_len: 10 }),
    userError(/^model\.source_len \(10\) must be below model\.max_seq_len/),
  );
  assert.throws(
    () => make({ pad_id: 14 }),
    userError(/^model\.pad_id: expected a token id in \[0, 14\), found 14/),
  );
  assert.throws(
    () => make({ positional: "rope" }),
    userError(/^model\.positional: encdec uses learned positions/),
  );
  const ok = make({ name: "latent_encdec", num_latent: 4, bottleneck_factor: 0 });
  assert.ok(ok instanceof EncoderDecoder && ok.latent !== null);
  dev.flush();
  ok.params.destroy();
});

Deno.test("encdec on data without a source/answer split is refused, naming the key", () => {
  assert.throws(
    () => checkEncDecData(base, { name: "mess3", metadata: { optimal_loss: 0.8 } }),
    userError(/^model\.name: encdec needs data with a prompt\/answer split/),
  );
  const study = new MultiplicationStudySource(studyParams({ max_digits: 2 }), 1);
  checkEncDecData(base, study);
  assert.throws(
    () => checkEncDecData({ ...base, source_len: 4 }, study),
    userError(/^model\.source_len: the data's sources are 5 wide/),
  );
  assert.throws(
    () => checkEncDecData({ ...base, pad_id: 12 }, study),
    userError(/^model\.pad_id: the data pads with id 13/),
  );
  assert.throws(
    () => checkEncDecData({ ...base, name: "latent_encdec", num_latent: -1 }, study),
    userError(/^model\.num_latent/),
  );
  checkEncDecData({ ...base, name: "gpt", source_len: undefined }, { name: "mess3" }); // not an encdec
});

gpuTest(
  "decoding with the memory computed once and a decoder KV cache = the full forward",
  async (dev) => {
    for (
      const [cfg, latent] of [[base, false], [{
        ...base,
        name: "latent_encdec",
        num_latent: 3,
        bottleneck_factor: 0.5,
      }, true]] as const
    ) {
      const model = new EncoderDecoder(dev, cfg, { seed: 3, latent });
      // A padded source "7*8__", then BOS and four decoder ids.
      const row = [7, 10, 8, 13, 13, 11, 5, 6, 12, 13];
      const full = noGrad(() =>
        model.forward(Tensor.fromArray(dev, row, [1, 10], { dtype: "i32" })).logits!
      );
      const want = (await full.toArray()).subarray(5 * 14);
      full.release();
      const session = new EncDecSession(model, row.slice(0, 5));
      const first = session.forward(row.slice(5, 7), { allLogits: true });
      const got = [...await first.toArray()];
      for (const id of row.slice(7)) got.push(...await session.forward([id]).toArray());
      session.release();
      assert.equal(got.length, want.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      assert.ok(worst <= 1e-5, `${cfg.name}: cached logits differ by ${worst}`);
      assert.ok(new Set([...want].map((x) => x.toFixed(3))).size > 20, "logits vary");
      dev.flush();
      model.params.destroy();
    }
  },
);

gpuTest("greedy decoding token by token equals the batched held-out decoding", async (dev) => {
  const source = new MultiplicationStudySource(studyParams({ max_digits: 2, buckets: 2 }), 1);
  const model = new EncoderDecoder(dev, base, { seed: 5 });
  const problems = source.splits.test.slice(0, 12);
  const scores = await studyHeldOut(
    dev,
    model,
    source,
    { problems, batchSize: 5 },
  );
  assert.equal(scores.count, 12);
  const predicted: string[] = [];
  for (const p of problems) {
    const ids = source.promptIds(`${p.a}*${p.b}`).slice(0, 5);
    const out = await generateEncDec(model, ids, {
      bosId: source.bosId,
      stopId: source.eosId,
      maxNewTokens: 5,
    });
    const digits = out.ids.findIndex((id) => id > 9);
    const text = (digits < 0 ? out.ids : out.ids.slice(0, digits)).join("");
    predicted.push(text);
  }
  assert.deepEqual(scores, { split: "test", ...scoreStudy(problems, predicted, 2) });
  assert.ok(scores.digit_accuracy > 0 && predicted.some((s) => s.length > 0), "something decoded");
  dev.flush();
  model.params.destroy();
});

Deno.test("train: bad encoder–decoder input exits 2 with one line naming the key", async () => {
  const runs = await Deno.makeTempDir({ prefix: "kiln-encdec-cli-" });
  try {
    const cases: [string[], RegExp][] = [
      [[
        "--config",
        "configs/multiplication.yaml",
        "model.name=encdec",
        "model.source_len=5",
        "model.pad_id=12",
      ], /model\.name: encdec needs data with a prompt\/answer split/],
      [
        ["--config", "configs/multiplication_latent.yaml", "model.num_latent=0"],
        /model\.num_latent: expected an integer ≥ 1, found 0/,
      ],
      [
        ["--config", "configs/multiplication_latent.yaml", "model.bottleneck_factor=1.5"],
        /model\.bottleneck_factor: expected a number in \[0, 1\]/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const out = await runTool("train", [...args, "--runs", runs]);
      assertOneLineError(out, pattern);
    }
    assert.deepEqual([...Deno.readDirSync(runs)], [], "no run directory left behind");
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

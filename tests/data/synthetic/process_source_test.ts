import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createProcessSource,
  processDataSchema,
  ProcessSource,
} from "../../../src/data/synthetic/process_source.ts";
import { processes } from "../../../src/data/synthetic/processes.ts";
import {
  generatorLength,
  modelContextLength,
  modelDataMismatch,
  modelVocabSize,
  specialTokenIds,
} from "../../../src/data/synthetic/sequence.ts";
import { UserError } from "../../../src/util/errors.ts";

const mess3 = processes.mess3({ x: 0.05, a: 0.85 });

/**
 * Pearson's chi-square of observed word counts against exact probabilities. With 26 degrees of
 * freedom P(chi2 > 80) is about 1e-7, so a correct sampler passes this bound with any seed.
 */
function chiSquare(counts: number[], probs: number[], total: number): number {
  let chi = 0;
  for (let i = 0; i < counts.length; i++) {
    const expected = probs[i] * total;
    chi += (counts[i] - expected) ** 2 / expected;
  }
  return chi;
}

for (const sampling of ["path", "belief"] as const) {
  Deno.test(`${sampling} sampling: 3-token word frequencies follow the process law`, () => {
    const src = new ProcessSource(mess3, { seed: 7, nCtx: 6, bos: true, sampling });
    const counts = new Array(27).fill(0);
    const batches = 150;
    const batchSize = 100;
    for (let i = 0; i < batches; i++) {
      const b = src.trainBatch(i, batchSize);
      for (let r = 0; r < batchSize; r++) {
        const t = b.targets.subarray(r * 6, r * 6 + 3);
        counts[t[0] * 9 + t[1] * 3 + t[2]]++;
      }
    }
    const probs = counts.map((_, w) =>
      mess3.sequenceProbability([Math.floor(w / 9), Math.floor(w / 3) % 3, w % 3])
    );
    assert.ok(Math.abs(probs.reduce((s, p) => s + p, 0) - 1) < 1e-12);
    const chi = chiSquare(counts, probs, batches * batchSize);
    assert.ok(chi < 80, `chi-square ${chi.toFixed(1)} with 26 dof`);
  });
}

Deno.test("batches: BOS first, inputs/targets shifted by one, reproducible per index", () => {
  const src = new ProcessSource(mess3, { seed: 3, nCtx: 6, bos: true });
  assert.equal(src.vocabSize, 4);
  assert.equal(src.seqLen, 6);
  assert.equal(src.generatorLen, 6);
  assert.equal(src.epochBatches(32), null);
  const a = src.trainBatch(5, 4);
  assert.deepEqual(a, src.trainBatch(5, 4));
  assert.deepEqual(a, new ProcessSource(mess3, { seed: 3, nCtx: 6, bos: true }).trainBatch(5, 4));
  assert.notDeepEqual(a.inputs, src.trainBatch(6, 4).inputs);
  assert.notDeepEqual(a.inputs, src.valBatch(5, 4).inputs);
  assert.notDeepEqual(
    a.inputs,
    new ProcessSource(mess3, { seed: 4, nCtx: 6, bos: true }).trainBatch(5, 4).inputs,
  );
  for (let r = 0; r < 4; r++) {
    assert.equal(a.inputs[r * 6], 3);
    for (let t = 1; t < 6; t++) assert.equal(a.inputs[r * 6 + t], a.targets[r * 6 + t - 1]);
    for (let t = 0; t < 6; t++) assert.ok(a.targets[r * 6 + t] < 3);
  }
  // a larger batch keeps the rows of a smaller one (each row has its own stream)
  assert.deepEqual(src.trainBatch(5, 8).inputs.subarray(0, 24), a.inputs);
  assert.ok(Math.abs((src.metadata.optimal_loss as number) - 0.85939) < 5e-6);
});

Deno.test("EOS ends every sequence; zero-probability transitions never appear", () => {
  const z1r = processes.zero_one_random({ p: 0.5 });
  const src = new ProcessSource(z1r, { seed: 1, nCtx: 9, bos: true, eos: true });
  assert.equal(src.vocabSize, 4);
  assert.equal(src.generatorLen, 8);
  const b = src.trainBatch(0, 50);
  for (let r = 0; r < 50; r++) {
    const row = b.targets.subarray(r * 9, r * 9 + 9);
    assert.equal(row[8], 3);
    const tokens = Array.from(row.subarray(0, 8));
    assert.ok(z1r.sequenceProbability(tokens) > 0, `impossible word ${tokens}`);
  }
});

Deno.test("resolution helpers: n_ctx <-> generator length, vocab, special ids, clear errors", () => {
  for (const bos of [false, true]) {
    for (const eos of [false, true]) {
      const g = generatorLength(10, { bos, eos });
      assert.equal(g, 11 - Number(bos) - Number(eos));
      assert.equal(modelContextLength(g, { bos, eos }), 10);
    }
  }
  assert.equal(modelVocabSize(3, { bos: true, eos: true }), 5);
  assert.deepEqual(specialTokenIds(3, { bos: true, eos: true }), { bos: 3, eos: 4 });
  assert.deepEqual(specialTokenIds(3, { bos: false, eos: true }), { bos: null, eos: 3 });
  assert.throws(() => generatorLength(1, { bos: true, eos: true }), /raise model.max_seq_len/);
  assert.throws(() => modelContextLength(1, { bos: false, eos: false }), UserError);
  assert.match(
    modelDataMismatch({ vocab_size: 3, max_seq_len: 6 }, {
      name: "mess3",
      vocabSize: 4,
      seqLen: 6,
    })!,
    /set model.vocab_size=4/,
  );
  assert.match(
    modelDataMismatch({ vocab_size: 4, max_seq_len: 5 }, {
      name: "mess3",
      vocabSize: 4,
      seqLen: 6,
    })!,
    /set model.max_seq_len=6/,
  );
  assert.equal(
    modelDataMismatch({ vocab_size: 64, max_seq_len: 6 }, { name: "m", vocabSize: 4, seqLen: 6 }),
    null,
  );
});

Deno.test("createProcessSource from a config section and from a YAML matrix file", async () => {
  const data = processDataSchema.parse({
    process: "mess3",
    params: { x: 0.05, a: 0.85 },
    bos: true,
  });
  const src = await createProcessSource(data, { seed: 1, seqLen: 6 });
  assert.equal(src.vocabSize, 4);
  await assert.rejects(
    createProcessSource(processDataSchema.parse({ process: "mess3", n_ctx: 8 }), {
      seed: 1,
      seqLen: 6,
    }),
    /set model.max_seq_len=8/,
  );
  assert.throws(() => processDataSchema.parse({ process: "mess3", bogus: 1 }));
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "golden.yaml");
    await Deno.writeTextFile(file, "matrices:\n  - [[0.5, 0], [1, 0]]\n  - [[0, 0.5], [0, 0]]\n");
    const golden = await createProcessSource(processDataSchema.parse({ process: file }), {
      seed: 1,
      seqLen: 8,
    });
    assert.ok(Math.abs((golden.metadata.entropy_rate as number) - (2 / 3) * Math.log(2)) < 1e-9);
    await Deno.writeTextFile(file, "matrices:\n  - [[0.5, 0], [1, 0]]\n  - [[0, 0.4], [0, 0]]\n");
    await assert.rejects(
      createProcessSource(processDataSchema.parse({ process: file }), { seed: 1, seqLen: 8 }),
      /row 0 of the summed transition matrix sums to 0.9/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("valOptimalLoss: the Bayes loss of the val batches, near L* and exact on a coin", () => {
  const src = new ProcessSource(mess3, { seed: 9, nCtx: 6, bos: true });
  const v = src.valOptimalLoss(20, 64);
  assert.ok(Math.abs(v - 0.85939) < 0.03, `val optimum ${v}`);
  // a fair coin has loss ln 2 on every token whatever was drawn; EOS positions add 0
  const coin = new ProcessSource(processes.coin({ p: 0.5 }), { seed: 1, nCtx: 5, eos: true });
  assert.ok(Math.abs(coin.valOptimalLoss(3, 10) - (Math.log(2) * 4) / 5) < 1e-12);
  // by hand: the first row of val batch 0 without BOS scores x2..x7 given their prefixes
  const noBos = new ProcessSource(mess3, { seed: 2, nCtx: 6 });
  const row = noBos.sequence(1, 0, 0);
  let expected = 0;
  for (let t = 1; t < 7; t++) {
    const prefix = Array.from(row.subarray(0, t));
    expected -= Math.log(mess3.nextTokenProbs(mess3.beliefAfter(prefix))[row[t]]);
  }
  assert.ok(Math.abs(noBos.valOptimalLoss(1, 1) - expected / 6) < 1e-12);
});

Deno.test("a generalized HMM samples through beliefs (path sampling is refused)", () => {
  // coin(0.3) in a basis where states are not probabilities (see process_test.ts)
  const matrices = [
    [[0.3, 0], [0.3, 0]],
    [[0.7, 0], [0.7, 0]],
  ];
  const ghmm = processes.custom({ name: "ghmm-coin", matrices, normalizer: [1, 1] });
  assert.equal(ghmm.isHmm, false);
  assert.throws(
    () => new ProcessSource(ghmm, { seed: 1, nCtx: 8, sampling: "path" }),
    /needs an HMM/,
  );
  const src = new ProcessSource(ghmm, { seed: 1, nCtx: 8 });
  const b = src.trainBatch(0, 500);
  const zeros = b.targets.reduce((n, t) => n + (t === 0 ? 1 : 0), 0);
  // 4000 draws of a 0.3 coin: sd 29, so 6 sd is 174
  assert.ok(Math.abs(zeros - 1200) < 174, `zeros ${zeros}`);
});

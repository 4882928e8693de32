import assert from "node:assert/strict";
import { IGNORE_INDEX } from "../../../src/data/batch.ts";
import {
  decodeStudyIds,
  digitMatches,
  MultiplicationStudySource,
  scoreStudy,
  STUDY_IDS,
  studyParams,
  studySplits,
} from "../../../src/data/synthetic/tasks/multiplication_study.ts";
import { createTaskSource, taskDataSchema } from "../../../src/data/synthetic/tasks/task_source.ts";
import { UserError } from "../../../src/util/errors.ts";

const twoByTwo = studyParams({ format: "study", min_digits: 2, max_digits: 2 });

Deno.test("study: every pair once, buckets ordered by product, 80/10/10 within each bucket", () => {
  const splits = studySplits(twoByTwo);
  const all = [...splits.train, ...splits.val, ...splits.test];
  assert.equal(all.length, 90 * 90);
  assert.equal(new Set(all.map((p) => `${p.a}*${p.b}`)).size, 8100);
  assert.ok(all.every((p) => p.a >= 10 && p.a <= 99 && p.b >= 10 && p.b <= 99));
  for (let k = 0; k < 10; k++) {
    const count = (split: keyof typeof splits) =>
      splits[split].filter((p) => p.bucket === k).length;
    // 810 per bucket: 648 / 81 / 81
    assert.deepEqual([count("train"), count("val"), count("test")], [648, 81, 81], `bucket ${k}`);
  }
  const products = (k: number) => all.filter((p) => p.bucket === k).map((p) => p.a * p.b);
  for (let k = 0; k + 1 < 10; k++) {
    assert.ok(Math.max(...products(k)) <= Math.min(...products(k + 1)), `bucket ${k} overlaps`);
  }
  assert.equal(Math.min(...products(0)), 100);
  assert.equal(Math.max(...products(9)), 99 * 99);
  // min_digits 1: 99² = 9801 problems, buckets of 980 (nine) and 981 (the last): 9·784 + 785
  // train problems. The split is fixed by split_seed alone.
  assert.equal(studySplits(studyParams({ max_digits: 2 })).train.length, 7841);
  assert.deepEqual(studySplits(twoByTwo).test, splits.test);
  const other = studySplits({ ...twoByTwo, splitSeed: 7 }).test;
  assert.notDeepEqual(other, splits.test);
});

Deno.test("study rows: source padded with PAD, then BOS, product MSB first, EOS; loss on answer", () => {
  const src = new MultiplicationStudySource(twoByTwo, 1);
  assert.equal(src.vocabSize, 14);
  assert.equal(src.sourceLen, 5);
  assert.equal(src.seqLen, 10);
  const specials: number[] = [STUDY_IDS.bos, STUDY_IDS.eos, STUDY_IDS.pad];
  assert.ok(specials.every((id) => id > 9) && new Set(specials).size === 3);
  const batch = src.rows([{ a: 12, b: 34, bucket: 0 }, { a: 99, b: 99, bucket: 9 }]);
  assert.equal(decodeStudyIds(batch.inputs.subarray(0, 10)), "12*34^408⏎");
  assert.equal(decodeStudyIds(batch.inputs.subarray(10, 20)), "99*99^9801");
  const t0 = [...batch.targets.subarray(0, 10)];
  assert.deepEqual(t0, [-1, -1, -1, -1, -1, 4, 0, 8, STUDY_IDS.eos, -1]);
  const t1 = [...batch.targets.subarray(10, 20)];
  assert.deepEqual(t1, [-1, -1, -1, -1, -1, 9, 8, 0, 1, STUDY_IDS.eos]);
  assert.equal(batch.targets.filter((t) => t === IGNORE_INDEX).length, 11);
  // A shorter source is padded: 1-digit operands with min_digits 1.
  const small = new MultiplicationStudySource(studyParams({ max_digits: 2 }), 1);
  const row = small.rows([{ a: 3, b: 4, bucket: 0 }]);
  assert.equal(decodeStudyIds(row.inputs), "3*4__^12⏎_");
  assert.deepEqual(small.promptIds("3*4"), [3, 10, 4, 13, 13, 11]);
});

Deno.test("study batches: deterministic by index, epochs reshuffle, val cycles the val split", () => {
  const a = new MultiplicationStudySource(twoByTwo, 5);
  const b = new MultiplicationStudySource(twoByTwo, 5);
  assert.deepEqual(a.trainBatch(3, 16), b.trainBatch(3, 16));
  assert.deepEqual(a.valBatch(1, 8), b.valBatch(1, 8));
  assert.equal(a.epochBatches(128), Math.ceil(6480 / 128));
  // One epoch of batch size 80 covers every train problem exactly once.
  const seen = new Set<string>();
  for (let i = 0; i < 6480 / 80; i++) {
    const batch = a.trainBatch(i, 80);
    for (let r = 0; r < 80; r++) {
      seen.add(decodeStudyIds(batch.inputs.subarray(r * 10, r * 10 + 5)));
    }
  }
  assert.equal(seen.size, 6480);
  const val = new Set(a.splits.val.map((p) => `${p.a}*${p.b}`));
  assert.ok([...seen].every((s) => !val.has(s)));
  assert.notDeepEqual(a.trainBatch(0, 80).inputs, a.trainBatch(81, 80).inputs);
});

Deno.test("study digit accuracy: matches over min(len) / max(len), MSB aligned", () => {
  assert.deepEqual(digitMatches("408", "408"), { right: 3, total: 3 });
  assert.deepEqual(digitMatches("40", "408"), { right: 2, total: 3 });
  assert.deepEqual(digitMatches("4081", "408"), { right: 3, total: 4 });
  assert.deepEqual(digitMatches("418", "408"), { right: 2, total: 3 });
  assert.deepEqual(digitMatches("", "12"), { right: 0, total: 2 });
  const problems = [{ a: 12, b: 34, bucket: 0 }, { a: 99, b: 99, bucket: 1 }];
  const s = scoreStudy(problems, ["408", "9800"], 2);
  assert.equal(s.exact_match, 0.5);
  assert.equal(s.digit_accuracy, 6 / 7);
  assert.deepEqual(s.buckets.map((b) => [b.exact_match, b.digit_accuracy]), [[1, 1], [0, 0.75]]);
});

Deno.test("study taskMetrics from teacher-forced predictions", () => {
  const src = new MultiplicationStudySource(twoByTwo, 1);
  const batch = src.rows([{ a: 12, b: 34, bucket: 0 }, { a: 99, b: 99, bucket: 9 }]);
  // Perfect predictions are the targets (anything at ignored positions).
  const perfect = Int32Array.from(batch.targets, (t) => (t < 0 ? STUDY_IDS.pad : t));
  assert.deepEqual(src.taskMetrics(batch, perfect), {
    exact_match: 1,
    digit_accuracy: 1,
    token_accuracy: 1,
  });
  // Row 0 predicts "40" then EOS: 2 of max(2, 3) digits; row 1 right.
  const wrong = perfect.slice();
  wrong[7] = STUDY_IDS.eos;
  const m = src.taskMetrics(batch, wrong);
  assert.equal(m.exact_match, 0.5);
  assert.equal(m.digit_accuracy, (2 + 4) / (3 + 4));
  assert.equal(m.token_accuracy, 8 / 9);
});

Deno.test("study parameters: bad ones are one-line UserErrors naming them", () => {
  const make = (params: Record<string, unknown>) =>
    createTaskSource(
      taskDataSchema.parse({ task: "multiplication", params: { format: "study", ...params } }),
      { seed: 1, seqLen: 64 },
    );
  assert.ok(make({ max_digits: 2 }) instanceof MultiplicationStudySource);
  assert.throws(
    () => make({ min_digits: 3, max_digits: 2 }),
    (e) => e instanceof UserError && /min_digits must be an integer in \[1, 2\]/.test(e.message),
  );
  assert.throws(
    () => make({ digits: 2 }),
    (e) => e instanceof UserError && /unknown parameter "digits"/.test(e.message),
  );
  assert.throws(
    () =>
      createTaskSource(
        taskDataSchema.parse({
          task: "multiplication",
          params: { format: "study", max_digits: 2 },
        }),
        { seed: 1, seqLen: 8 },
      ),
    /needs sequences of 10 but model.max_seq_len is 8/,
  );
});

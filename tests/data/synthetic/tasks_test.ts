import assert from "node:assert/strict";
import { IGNORE_INDEX } from "../../../src/data/batch.ts";
import { multiplicationExample } from "../../../src/data/synthetic/tasks/arithmetic.ts";
import { createTask, taskNames, tasks } from "../../../src/data/synthetic/tasks/registry.ts";
import { histogramOf } from "../../../src/data/synthetic/tasks/strings.ts";
import {
  createTaskSource,
  taskDataSchema,
  TaskSource,
} from "../../../src/data/synthetic/tasks/task_source.ts";
import { KeyedXoshiro128 } from "../../../src/util/random.ts";
import { UserError } from "../../../src/util/errors.ts";

Deno.test("multiplication format matches REFERENCE.md: 3719 x 3349, least significant first", () => {
  const { prompt, answer } = multiplicationExample(3719n, 3349n, 4, "lsb");
  assert.equal(prompt + answer, "9 1 7 3 * 9 4 3 3 #### 1 3 9 4 5 4 2 1");
  const msb = multiplicationExample(3719n, 3349n, 4, "msb");
  assert.equal(msb.prompt + msb.answer, "3 7 1 9 * 3 3 4 9 #### 1 2 4 5 4 9 3 1");
  const compact = multiplicationExample(3719n, 3349n, 4, "lsb", "compact");
  assert.equal(compact.prompt + compact.answer, "9173*9433=13945421");
});

Deno.test("every task's answers are right (checked by independent arithmetic/string code)", () => {
  const rng = new KeyedXoshiro128([1]);
  const undigit = (s: string, order: string) => {
    const d = s.trim().split(" ");
    return Number((order === "lsb" ? d.reverse() : d).join(""));
  };
  for (const order of ["lsb", "msb"]) {
    for (const format of ["spaced", "compact"]) {
      const t = tasks.multiplication({ digits: 3, order, format });
      for (let i = 0; i < 200; i++) {
        const { prompt, answer } = t.sample(rng);
        const spaced = (s: string) => format === "spaced" ? s : s.split("").join(" ");
        const [a, b] = spaced(prompt).replace(/ ?(####|=) ?$/, "").split(" * ")
          .map((x) => undigit(x, order));
        assert.equal(undigit(spaced(answer), order), a * b, `${prompt}${answer}`);
        assert.equal(answer.length, format === "spaced" ? 11 : 6);
        assert.equal(prompt.length + answer.length, t.maxLength);
      }
    }
  }
  const mod = tasks.modular_addition({ p: 13 });
  for (let i = 0; i < 100; i++) {
    const { prompt, answer } = mod.sample(rng);
    const [a, b] = prompt.slice(0, -1).split("+").map(Number);
    assert.ok(a < 13 && b < 13);
    assert.equal(Number(answer), (a + b) % 13);
  }
  assert.equal(histogramOf("abca"), "[2, 1, 1, 2]");
  for (
    const [name, f] of [
      ["copy", (s: string) => s],
      ["reverse", (s: string) => s.split("").reverse().join("")],
      ["sort", (s: string) => s.split("").sort().join("")],
      ["histogram", (s: string) => `[${s.split("").map((c) => s.split(c).length - 1).join(", ")}]`],
    ] as const
  ) {
    const t = createTask(name);
    for (let i = 0; i < 100; i++) {
      const { prompt, answer } = t.sample(rng);
      assert.ok(prompt.endsWith(" :: "));
      assert.equal(answer, f(prompt.slice(0, -4)));
      assert.ok(prompt.length + answer.length <= t.maxLength, `${name} longer than maxLength`);
    }
  }
  const copy = tasks.copy();
  const lens = Array.from({ length: 500 }, () => copy.sample(rng).prompt.length - 4);
  assert.equal(Math.min(...lens), 10);
  assert.equal(Math.max(...lens), 60);
});

Deno.test("histogram letters: k draws from the first k letters, and its vocabulary shrinks with it", () => {
  const rng = new KeyedXoshiro128([2]);
  const t = tasks.histogram({ min_len: 12, max_len: 12, letters: 3 });
  assert.equal(t.alphabet, "abc :0123456789[],");
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const { prompt, answer } = t.sample(rng);
    const s = prompt.slice(0, -4);
    for (const c of s) seen.add(c);
    // 12 letters out of 3: the counts sum to the sum of squared letter frequencies
    const counts = answer.slice(1, -1).split(", ").map(Number);
    const byLetter = [..."abc"].map((c) => s.split(c).length - 1);
    assert.equal(counts.reduce((a, b) => a + b), byLetter.reduce((a, n) => a + n * n, 0));
  }
  assert.deepEqual([...seen].sort(), ["a", "b", "c"]);
  assert.throws(() => tasks.histogram({ letters: 53 }), /letters must be an integer in \[1, 52\]/);
});

Deno.test("registry lists names; bad names and parameters are one-line user errors", () => {
  assert.deepEqual(taskNames(), [
    "copy",
    "histogram",
    "modular_addition",
    "multiplication",
    "reverse",
    "sort",
  ]);
  assert.throws(
    () => createTask("division"),
    (e: unknown) =>
      e instanceof UserError && /unknown task "division"; known: copy, histogram/.test(e.message),
  );
  assert.throws(() => createTask("multiplication", { digits: 0 }), /digits must be an integer/);
  assert.throws(() => createTask("multiplication", { order: "big" }), /"lsb" or "msb"/);
  assert.throws(() => createTask("multiplication", { format: "dense" }), /"spaced" or "compact"/);
  assert.throws(() => createTask("copy", { length: 3 }), /unknown parameter "length"/);
});

Deno.test("train and validation problems never overlap and are reproducible per (seed, index)", () => {
  const src = new TaskSource(tasks.multiplication({ digits: 2 }), { seed: 5, valFraction: 0.1 });
  const prompts = (split: "train" | "val", n: number) => {
    const set = new Set<string>();
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < 50; r++) set.add(src.example(split, i, r).prompt);
    }
    return set;
  };
  const train = prompts("train", 60);
  const val = prompts("val", 20);
  for (const p of val) assert.ok(!train.has(p), `${p} in both splits`);
  // about 10% of the 10^4 problems are held out
  assert.ok(val.size > 500 && val.size < 1000, `val problems ${val.size}`);
  assert.deepEqual(src.trainBatch(3, 8), src.trainBatch(3, 8));
  assert.deepEqual(
    src.trainBatch(3, 8),
    new TaskSource(tasks.multiplication({ digits: 2 }), { seed: 5 }).trainBatch(3, 8),
  );
  assert.notDeepEqual(src.trainBatch(3, 8).inputs, src.trainBatch(4, 8).inputs);
});

Deno.test("batches pad to the longest example; prompt and padding excluded from the loss", () => {
  const src = new TaskSource(tasks.copy({ min_len: 2, max_len: 9 }), { seed: 1 });
  const b = src.trainBatch(0, 16);
  const eos = src.vocab.eosId;
  let longest = 0;
  for (let r = 0; r < 16; r++) {
    const { prompt, answer } = src.example("train", 0, r);
    const tokens = src.vocab.encode(prompt + answer).concat([eos]);
    longest = Math.max(longest, tokens.length - 1);
    for (let t = 0; t < b.seqLen; t++) {
      const input = b.inputs[r * b.seqLen + t];
      const target = b.targets[r * b.seqLen + t];
      if (t < tokens.length - 1) {
        assert.equal(input, tokens[t]);
        assert.equal(target, t + 1 < prompt.length ? IGNORE_INDEX : tokens[t + 1]);
      } else {
        assert.equal(input, eos);
        assert.equal(target, IGNORE_INDEX);
      }
    }
  }
  assert.equal(b.seqLen, longest);
  assert.equal(src.vocab.decode(b.inputs.subarray(0, 4)).length, 4);
  const unmasked = new TaskSource(tasks.copy({ min_len: 2, max_len: 9 }), {
    seed: 1,
    maskPrompt: false,
    padTo: "max",
  }).trainBatch(0, 16);
  assert.equal(unmasked.seqLen, src.seqLen);
  assert.notEqual(unmasked.targets[0], IGNORE_INDEX);
});

Deno.test("taskMetrics: exact match, token and digit accuracy from argmax predictions", () => {
  const src = new TaskSource(tasks.multiplication({ digits: 2 }), { seed: 2 });
  const b = src.valBatch(0, 4);
  const T = b.seqLen;
  // perfect answers; the prompt part is arbitrary (not scored)
  const pred = b.targets.map((t) => (t === IGNORE_INDEX ? 0 : t));
  assert.deepEqual(src.taskMetrics(b, pred), {
    exact_match: 1,
    token_accuracy: 1,
    digit_accuracy: 1,
  });
  // row 1: one wrong digit (answer "d d d d" starts right after the separator)
  const wrong = pred.slice();
  const firstAnswer = b.targets.findIndex((t, i) => i >= T && t !== IGNORE_INDEX);
  wrong[firstAnswer] = (wrong[firstAnswer] + 1) % 10;
  const m = src.taskMetrics(b, wrong);
  assert.equal(m.exact_match, 0.75);
  assert.equal(m.digit_accuracy, 15 / 16);
  assert.equal(m.token_accuracy, 27 / 28); // 7 answer characters per row
  // row 2: a missing EOS alone breaks exact match but not token accuracy
  const noEos = pred.slice();
  const eosAt = b.targets.findIndex((t, i) => i >= 2 * T && t === src.vocab.eosId);
  noEos[eosAt] = 0;
  assert.deepEqual(src.taskMetrics(b, noEos), {
    exact_match: 0.75,
    token_accuracy: 1,
    digit_accuracy: 1,
  });
});

Deno.test("createTaskSource checks the model context and says what to set", () => {
  const data = taskDataSchema.parse({ task: "multiplication", params: { digits: 2 } });
  assert.equal(createTaskSource(data, { seed: 1, seqLen: 32 }).seqLen, 22);
  assert.throws(() => createTaskSource(data, { seed: 1, seqLen: 16 }), /set model.max_seq_len=22/);
  assert.throws(() => taskDataSchema.parse({ task: "copy", mask: true }));
});

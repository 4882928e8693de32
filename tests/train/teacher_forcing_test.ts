/**
 * Scheduled sampling (`training.teacher_forcing`, src/train/teacher_forcing.ts): the schedules'
 * closed-form values, which inputs are mixed and from where, determinism in the seed, the
 * trainer at ratio 1 (the plain run, bit for bit) and across a `step` switch, resume in the
 * middle of a schedule equal to a straight run, and bad input on the command line.
 */

import assert from "node:assert/strict";
import "../../src/data/sources_all.ts";
import { resolveConfigs } from "../../src/config/load.ts";
import type { Config, TeacherForcingConfig } from "../../src/config/schema.ts";
import type { Batch } from "../../src/data/batch.ts";
import {
  MultiplicationStudySource,
  STUDY_IDS,
  studyParams,
} from "../../src/data/synthetic/tasks/multiplication_study.ts";
import { argmaxRows } from "../../src/train/evaluate.ts";
import type { GPTConfig } from "../../src/nn/gpt.ts";
import { createModel } from "../../src/nn/models_all.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { readMetrics, type TrainLine } from "../../src/train/metrics.ts";
import {
  mixInputs,
  samplingStream,
  teacherForcedPositions,
  TeacherForcing,
  teacherForcingRatio,
} from "../../src/train/teacher_forcing.ts";
import { train } from "../../src/train/trainer.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";
import { gptConfig } from "../_support/gpt.ts";
import { gpuTest } from "../tensor/_helpers.ts";
import { withDeviceAndRoot } from "./_tiny.ts";

const source = new MultiplicationStudySource(
  studyParams({ format: "study", min_digits: 2, max_digits: 2 }),
  3,
);
const S = source.sourceLen;

function tf(
  schedule: TeacherForcingConfig["schedule"],
  start_step: number,
  end_step: number | undefined,
  final_ratio: number,
): TeacherForcingConfig {
  return { schedule, start_step, end_step, final_ratio };
}

Deno.test("teacher-forcing schedules: closed-form values at chosen steps", () => {
  const at = (cfg: TeacherForcingConfig, steps: number[]) =>
    steps.map((s) => teacherForcingRatio(cfg, s));
  const close = (actual: number[], expected: number[]) =>
    actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) < 1e-12, `${actual}`));
  close(at(tf("constant", 5, 9, 0.3), [0, 5, 100]), [0.3, 0.3, 0.3]);
  // step: ground truth before start_step, final_ratio from it on; end_step plays no part
  close(at(tf("step", 4, 4, 0.25), [0, 3, 4, 1000]), [1, 1, 0.25, 0.25]);
  close(at(tf("step", 4, undefined, 0), [3, 4]), [1, 0]);
  // linear from (10, 1) to (20, 0.2)
  close(at(tf("linear", 10, 20, 0.2), [0, 10, 15, 18, 20, 50]), [1, 1, 0.6, 0.36, 0.2, 0.2]);
  // cosine over 0…30: 0.2 + 0.8·(1 + cos πp)/2, cos(π/3) = 0.5, cos(π/2) = 0, cos(2π/3) = −0.5
  close(at(tf("cosine", 0, 30, 0.2), [0, 10, 15, 20, 30, 31]), [1, 0.8, 0.6, 0.4, 0.2, 0.2]);
  // an empty ramp (end = start) is the step schedule
  close(at(tf("linear", 7, 7, 0.5), [6, 7]), [1, 0.5]);
  close(at(tf("cosine", 7, 7, 0.5), [6, 7]), [1, 0.5]);
});

Deno.test("teacher-forced positions: the answer inputs after BOS, never source, BOS or PAD", () => {
  const batch = source.trainBatch(0, 64);
  const T = batch.seqLen;
  // independently: a decoder position after BOS whose input is a digit or EOS (not PAD)
  const expected: number[] = [];
  for (let i = 0; i < batch.inputs.length; i++) {
    if (i % T > S && batch.inputs[i] !== STUDY_IDS.pad) expected.push(i);
  }
  assert.deepEqual([...teacherForcedPositions(batch)], expected);
  assert.ok(expected.length >= 64 * 3, "every row has at least 3 product digits");
  // plain next-token rows (every target scored): every position but each row's first
  const lm: Batch = {
    inputs: Int32Array.from([5, 6, 7, 8, 1, 2, 3, 4]),
    targets: Int32Array.from([6, 7, 8, 9, 2, 3, 4, 5]),
    batchSize: 2,
    seqLen: 4,
  };
  assert.deepEqual([...teacherForcedPositions(lm)], [1, 2, 3, 5, 6, 7]);
});

Deno.test("mixing: ratio 1 keeps the inputs, ratio 0 takes every prediction, the share is 1 − ratio", () => {
  const batch = source.trainBatch(2, 256);
  const original = batch.inputs.slice();
  // fake predictions that no input holds, so each replaced input shows where it came from
  const predictions = Int32Array.from(batch.inputs, (_, i) => 1000 + i);
  const eligible = new Set(teacherForcedPositions(batch));

  assert.deepEqual(mixInputs(batch, predictions, 1, samplingStream(1, 0, 0)), original);
  const all = mixInputs(batch, predictions, 0, samplingStream(1, 0, 0));
  for (let i = 0; i < all.length; i++) {
    assert.equal(all[i], eligible.has(i) ? 1000 + i - 1 : original[i], `position ${i}`);
  }
  assert.deepEqual(batch.inputs, original, "the batch itself is not changed");

  const replaced = (mixed: Int32Array) => [...eligible].filter((i) => mixed[i] !== original[i]);
  for (const ratio of [0.25, 0.5, 0.9]) {
    const n = eligible.size;
    const share = replaced(mixInputs(batch, predictions, ratio, samplingStream(7, 3, 11))).length;
    const sd = Math.sqrt(n * ratio * (1 - ratio));
    assert.ok(
      Math.abs(share - n * (1 - ratio)) < 5 * sd,
      `ratio ${ratio}: ${share} of ${n} replaced`,
    );
  }
  // fixed by (seed, step, micro-batch): the same key replays the choice, another key does not
  const mix = (seed: number, step: number, index: number) =>
    replaced(mixInputs(batch, predictions, 0.5, samplingStream(seed, step, index)));
  assert.deepEqual(mix(7, 3, 11), mix(7, 3, 11));
  assert.notDeepEqual(mix(7, 3, 11), mix(8, 3, 11));
  assert.notDeepEqual(mix(7, 3, 11), mix(7, 4, 11));
  assert.notDeepEqual(mix(7, 3, 11), mix(7, 3, 12));
});

gpuTest(
  "ratio 0: every teacher-forced input is the model's argmax one position earlier",
  async (dev) => {
    const batch = source.trainBatch(1, 8);
    const shape = [batch.batchSize, batch.seqLen];
    for (const name of ["encdec", "latent_encdec", "gpt"]) {
      const cfg: GPTConfig = {
        ...gptConfig({ vocab_size: 14, max_seq_len: 10, n_layer: 1, n_head: 2, d_model: 16 }),
        name,
        source_len: S,
        pad_id: STUDY_IDS.pad,
        num_latent: 2,
        init_std: 0.3, // decisive argmaxes
      };
      const model = createModel(dev, cfg, { seed: 4 });
      const logits = noGrad(() =>
        model.forward(Tensor.fromArray(dev, batch.inputs, shape, { dtype: "i32" })).logits!
      );
      const argmax = argmaxRows(await logits.toArray() as Float32Array, 14);
      logits.release();
      const mixed = await new TeacherForcing(tf("constant", 0, undefined, 0), 1)
        .apply(dev, model, batch, 0, 0);
      const eligible = new Set(teacherForcedPositions(batch));
      let changed = 0;
      for (let i = 0; i < batch.inputs.length; i++) {
        const want = eligible.has(i) ? argmax[i - 1] : batch.inputs[i];
        assert.equal(mixed.inputs[i], want, `${name}: position ${i}`);
        if (want !== batch.inputs[i]) changed++;
      }
      assert.ok(changed > 0, `${name}: an untrained model gets some digits wrong`);
      assert.equal(mixed.targets, batch.targets);
      dev.flush();
      model.params.destroy();
    }
  },
);

/** A tiny encoder–decoder on the study's products: a dozen steps take seconds on lavapipe. */
function tinyEncDec(overrides: string[] = []): Config {
  const raw = {
    experiment_name: "tiny_tf",
    seed: 3,
    data: {
      source: "task",
      task: "multiplication",
      params: { format: "study", min_digits: 2, max_digits: 2 },
    },
    model: {
      name: "encdec",
      vocab_size: 14,
      max_seq_len: 10,
      source_len: 5,
      pad_id: 13,
      n_layer: 1,
      n_encoder_layer: 1,
      n_head: 2,
      d_model: 16,
      init_std: 0.1,
    },
    training: {
      batch_size: 16,
      max_steps: 12,
      learning_rate: 1e-2,
      warmup_steps: 1,
      log_every: 1,
      eval_every: 0,
      checkpoint_every: 0,
      keep_checkpoints: 1,
    },
  };
  return resolveConfigs(raw, overrides, "tiny_tf")[0].config;
}

async function trainLines(dir: string): Promise<TrainLine[]> {
  return (await readMetrics(dir)).filter((l): l is TrainLine => l.type === "train");
}

gpuTest(
  "trainer: ratio 1 is the plain run bit for bit; a step schedule switches at start_step",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const opts = { runsRoot: root, device: dev, progress: false };
      const plain = await trainLines((await train(tinyEncDec(), opts)).dir);
      assert.equal(plain[0].tf_ratio, undefined, "no tf_ratio without teacher_forcing");
      const one = await trainLines(
        (await train(
          tinyEncDec(["training.teacher_forcing={schedule: constant, final_ratio: 1}"]),
          opts,
        )).dir,
      );
      assert.deepEqual(one.map((l) => l.loss), plain.map((l) => l.loss));
      assert.deepEqual(one.map((l) => l.tf_ratio), plain.map(() => 1));

      const switched = await trainLines(
        (await train(
          tinyEncDec(["training.teacher_forcing={schedule: step, start_step: 4, final_ratio: 0}"]),
          opts,
        )).dir,
      );
      // train line N logs step N − 1's ratio (as lr does): steps 0…3 teacher-forced
      assert.deepEqual(switched.map((l) => l.tf_ratio), plain.map((_, i) => i < 4 ? 1 : 0));
      assert.deepEqual(
        switched.slice(0, 4).map((l) => l.loss),
        plain.slice(0, 4).map((l) => l.loss),
      );
      assert.notEqual(switched[4].loss, plain[4].loss, "the model's own inputs change the loss");
      // the extra no-grad pass leaves no tensors behind
      assert.equal(new Set(switched.map((l) => l.gpu_bytes)).size, 1);
    });
  },
);

gpuTest(
  "trainer: resume in the middle of a teacher-forcing schedule equals a straight run",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyEncDec([
        "training.grad_accum_steps=2",
        "training.teacher_forcing={schedule: linear, start_step: 2, end_step: 10, final_ratio: 0}",
      ]);
      const opts = { runsRoot: root, device: dev, progress: false };
      const straight = await trainLines((await train(cfg, opts)).dir);
      const ratios = straight.map((l) => l.tf_ratio!);
      const expected = straight.map((l) => Math.min(1, Math.max(0, 1 - (l.step - 1 - 2) / 8)));
      ratios.forEach((r, i) => assert.ok(Math.abs(r - expected[i]) < 1e-12, `${ratios}`));

      const stop = new AbortController();
      const half = await train(cfg, {
        ...opts,
        signal: stop.signal,
        onStep: (step) => step === 6 && stop.abort(),
      });
      assert.equal(half.steps, 6);
      const resumed = await train(cfg, { ...opts, resume: half.dir });
      assert.equal(resumed.status, "finished");
      const lines = await trainLines(half.dir);
      assert.deepEqual(lines.map((l) => l.loss), straight.map((l) => l.loss));
      assert.deepEqual(lines.map((l) => l.tf_ratio), ratios);

      // …and the schedule does something: the plain run's losses differ once the ratio is < 1
      const plain = await trainLines(
        (await train(tinyEncDec(["training.grad_accum_steps=2"]), opts)).dir,
      );
      assert.deepEqual(
        plain.slice(0, 3).map((l) => l.loss),
        straight.slice(0, 3).map((l) => l.loss),
      );
      assert.notDeepEqual(plain.slice(3).map((l) => l.loss), straight.slice(3).map((l) => l.loss));
    });
  },
);

Deno.test("train: a bad teacher_forcing exits 2 with one line naming the key", async () => {
  const runs = await Deno.makeTempDir({ prefix: "kiln-tf-cli-" });
  try {
    const cases: [string, RegExp][] = [
      [
        "{schedule: linear, start_step: 10, end_step: 5, final_ratio: 0.5}",
        /training\.teacher_forcing\.end_step: must not be before start_step \(10\), found 5/,
      ],
      [
        "{schedule: cosine, end_step: 5, final_ratio: 1.5}",
        /training\.teacher_forcing\.final_ratio: must be <=1, found number 1\.5/,
      ],
      [
        "{schedule: linear, end_step: 5, final_ratio: -0.1}",
        /training\.teacher_forcing\.final_ratio: must be >=0/,
      ],
      [
        "{schedule: exponential, final_ratio: 0.5}",
        /training\.teacher_forcing\.schedule: expected one of "constant", "linear", "cosine", "step"/,
      ],
      [
        "{schedule: cosine, final_ratio: 0.5}",
        /training\.teacher_forcing\.end_step: required by schedule cosine/,
      ],
    ];
    for (const [value, pattern] of cases) {
      const out = await runTool("train", [
        "--config",
        "configs/multiplication_simple.yaml",
        `training.teacher_forcing=${value}`,
        "--runs",
        runs,
      ]);
      assertOneLineError(out, pattern);
    }
    assert.deepEqual([...Deno.readDirSync(runs)], [], "no run directory left behind");
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

/**
 * Corrupted checkpoints (issue 19): every damaged field is refused, by resume and by validate
 * alike (one loader), with a one-line error naming the file and the field, and the run is left
 * as it was; damage the loader can route around (a torn pointer, a garbage metrics line) ends in
 * a resume equal to the uninterrupted run.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel } from "../../src/eval/load.ts";
import { Device } from "../../src/gpu/device.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/nn/safetensors.ts";
import { launchTraining } from "../../src/train/launch.ts";
import { buildManifest, CHECKPOINT_FILES, MANIFEST } from "../../src/train/checkpoint_manifest.ts";
import { UserError } from "../../src/util/errors.ts";
import { fileTuneCache } from "../../src/util/tune_cache_file.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import {
  assertEqualsReference,
  copyOfReference,
  lossCurve,
  referenceRun,
  statusOf,
  trainCli,
} from "./_faults.ts";

const gpu = await hasWebGpuAdapter();

/** Rewrites the manifest to match the files, as a writer with a bug would have. */
async function remanifest(dir: string): Promise<void> {
  const files = new Map<string, Uint8Array>();
  for (const f of CHECKPOINT_FILES) files.set(f, await Deno.readFile(join(dir, f)));
  await Deno.writeTextFile(join(dir, MANIFEST), JSON.stringify(await buildManifest(files)));
}

type Damage = (ckpt: string) => Promise<void>;

/** Replaces state.json with `edit(state)` (and a manifest that matches). */
function state(edit: (s: Record<string, unknown>) => unknown): Damage {
  return async (ckpt) => {
    const path = join(ckpt, "state.json");
    const s = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify(edit(s)));
    await remanifest(ckpt);
  };
}

/** Rewrites a tensor of a safetensors file (and the manifest). */
function tensors(
  file: string,
  edit: (t: Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>) => void,
  metadata?: Record<string, string>,
): Damage {
  return async (ckpt) => {
    const path = join(ckpt, file);
    const decoded = decodeSafetensors(await Deno.readFile(path), path);
    const t = decoded.tensors as unknown as Map<
      string,
      { dtype: "F32"; shape: number[]; data: Float32Array }
    >;
    edit(t);
    await Deno.writeFile(path, encodeSafetensors(t, metadata ?? decoded.metadata));
    await remanifest(ckpt);
  };
}

/** Changes bytes of a file without telling the manifest. */
function bytes(file: string, edit: (b: Uint8Array) => Uint8Array): Damage {
  return async (ckpt) => {
    const path = join(ckpt, file);
    await Deno.writeFile(path, edit(await Deno.readFile(path)));
  };
}

const FIRST_WEIGHT = "wte.weight";

/** Each damage and the error it must give (the same from resume and from validate). */
const CASES: [what: string, damage: Damage, error: RegExp][] = [
  [
    '"step": "abc"',
    state((s) => ({ ...s, step: "abc" })),
    /state\.json: step must be a non-negative integer, found "abc"/,
  ],
  [
    "state {}",
    state(() => ({})),
    /state\.json: step must be a non-negative integer, found nothing/,
  ],
  ["state null", state(() => null), /state\.json: expected a JSON object, found null/],
  ["state []", state(() => []), /state\.json: expected a JSON object, found \[\]/],
  [
    "fractional step",
    state((s) => ({ ...s, step: 5.5 })),
    /state\.json: step must be a non-negative integer, found 5\.5/,
  ],
  [
    "negative tokens",
    state((s) => ({ ...s, tokens: -1 })),
    /state\.json: tokens must be a non-negative integer, found -1/,
  ],
  [
    "batch_index ≠ rng.batch_index",
    state((s) => ({ ...s, batch_index: 7 })),
    /state\.json: rng\.batch_index 6 differs from batch_index 7/,
  ],
  [
    "schedule missing",
    state((s) => ({ ...s, schedule: undefined })),
    /state\.json: schedule must be an object, found nothing/,
  ],
  [
    "lr_scale a string",
    state((s) => ({ ...s, schedule: { ...(s.schedule as object), lr_scale: "1" } })),
    /state\.json: schedule\.lr_scale must be a positive number, found "1"/,
  ],
  [
    "optimizer step ≠ state step",
    state((s) => ({ ...s, step: 5, best_step: null })),
    /optimizer\.safetensors: optimizer step 6 differs from state\.json step 5/,
  ],
  [
    "missing tensor",
    tensors("model.safetensors", (t) => t.delete(FIRST_WEIGHT)),
    /model\.safetensors: missing tensor wte\.weight/,
  ],
  [
    "renamed tensor",
    tensors("model.safetensors", (t) => {
      t.set("wte.weights", t.get(FIRST_WEIGHT)!);
      t.delete(FIRST_WEIGHT);
    }),
    /model\.safetensors: missing tensor wte\.weight/,
  ],
  [
    "NaN weight",
    tensors("model.safetensors", (t) => {
      t.get(FIRST_WEIGHT)!.data[3] = NaN;
    }),
    /model\.safetensors: tensor wte\.weight: element 3 is NaN/,
  ],
  [
    "negative second moment",
    tensors("optimizer.safetensors", (t) => {
      t.get("adamw.v")!.data[0] = -1;
    }),
    /optimizer\.safetensors: adamw\.v: element 0 is -1, expected a finite number ≥ 0/,
  ],
  [
    "optimizer step metadata",
    tensors("optimizer.safetensors", () => {}, { step: "six" }),
    /optimizer\.safetensors: metadata step must be a non-negative integer, found "six"/,
  ],
  [
    "flipped bit in the weights",
    bytes("model.safetensors", (b) => {
      b[b.length - 5] ^= 0x10;
      return b;
    }),
    /model\.safetensors: SHA-256 differs from manifest\.json/,
  ],
  [
    "flipped bit in state.json",
    bytes("state.json", (b) => {
      b[b.indexOf(0x3a) + 2] ^= 0x01; // the first value after a colon
      return b;
    }),
    /state\.json: SHA-256 differs from manifest\.json/,
  ],
  [
    "truncated optimizer",
    bytes("optimizer.safetensors", (b) => b.subarray(0, 1000)),
    /optimizer\.safetensors: 1000 bytes, manifest\.json says \d+/,
  ],
  [
    "garbage manifest",
    bytes(MANIFEST, () => new TextEncoder().encode("{not json")),
    /manifest\.json: /,
  ],
  ["no manifest (legacy) and a bad step", async (ckpt) => {
    await Deno.remove(join(ckpt, MANIFEST));
    await state((s) => ({ ...s, step: null }))(ckpt);
    await Deno.remove(join(ckpt, MANIFEST));
  }, /state\.json: step must be a non-negative integer, found null/],
];

testNeeding(
  "a WebGPU adapter",
  gpu,
  `${CASES.length} corrupted checkpoint fields: resume and validate refuse alike, the run untouched`,
  async () => {
    const ref = await referenceRun();
    const dev = await Device.open({ tuneCache: fileTuneCache() });
    try {
      for (const [what, damage, error] of CASES) {
        const dir = await copyOfReference(`corrupt-${CASES.findIndex((c) => c[0] === what)}`);
        const ckpt = join(dir, "checkpoints", "step_6");
        await damage(ckpt);
        const resume = launchTraining({
          resume: ckpt,
          overrides: [],
          trainOptions: { device: dev, progress: false },
        });
        await assert.rejects(resume, (err: Error) => {
          assert.ok(err instanceof UserError, `${what}: a UserError, not ${err.stack}`);
          assert.match(err.message, error, what);
          assert.ok(err.message.includes(ckpt), `${what}: names the checkpoint: ${err.message}`);
          assert.ok(!err.message.includes("\n"), `${what}: one line`);
          return true;
        });
        await assert.rejects(() => loadModel(ckpt, { device: dev }), (err: Error) => {
          assert.ok(err instanceof UserError, `${what} (validate): ${err.stack}`);
          assert.match(err.message, error, `${what} (validate)`);
          return true;
        });
        assert.equal(await statusOf(dir), "finished", `${what}: run.json untouched`);
        assert.deepEqual(await lossCurve(dir), ref.curve, `${what}: metrics untouched`);
        await assert.rejects(() => Deno.stat(join(dir, "lock")), Deno.errors.NotFound);
      }
    } finally {
      dev.destroy();
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "resume-only checks: a data position that does not match the step; changed seed/batch/data need --force and are recorded",
  async () => {
    const dir = await copyOfReference("position");
    const ckpt = join(dir, "checkpoints", "step_4");
    await state((s) => ({ ...s, batch_index: 99, rng: { ...(s.rng as object), batch_index: 99 } }))(
      ckpt,
    );
    assertOneLineError(
      await trainCli(["--resume", ckpt]),
      /step_4\/state\.json: batch_index 99 does not match step 4 × grad_accum_steps 1/,
    );

    const forced = await copyOfReference("forced");
    for (const change of ["seed=4", "training.batch_size=8", "data.params.x=0.1"]) {
      assertOneLineError(
        await trainCli(["--resume", forced, change]),
        new RegExp(
          `would change ${change.split("=")[0].replaceAll(".", "\\.")} .* → .*` +
            "breaks exact resume: pass --force",
        ),
      );
    }
    assert.equal(await statusOf(forced), "finished", "refused resumes wrote nothing");
    const ok = await trainCli([
      "--resume",
      join(forced, "checkpoints", "step_4"),
      "seed=4",
      "training.max_steps=8",
      "--force",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const config = await Deno.readTextFile(join(forced, "config.yaml"));
    assert.match(config, /^seed: 4$/m);
    assert.match(config, /max_steps: 8/);
    const resume = (await Deno.readTextFile(join(forced, "metrics.jsonl"))).split("\n")
      .filter((l) => l.includes('"event":"resume"')).map((l) => JSON.parse(l));
    assert.deepEqual(resume.at(-1).overrides, ["seed 3 → 4", "training.max_steps 6 → 8"]);
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "routed around: a torn or dangling latest pointer, a garbage metrics line; the CLI says one line",
  async () => {
    const dev = await Device.open({ tuneCache: fileTuneCache() });
    try {
      const torn = await copyOfReference("torn-latest");
      await Deno.writeTextFile(join(torn, "checkpoints", "latest"), '{"step": 6, "di');
      const dangling = await copyOfReference("dangling-latest");
      await Deno.writeTextFile(
        join(dangling, "checkpoints", "latest"),
        JSON.stringify({ step: 9, dir: "step_9" }),
      );
      for (const dir of [torn, dangling]) {
        const loaded = await loadModel(dir, { device: dev });
        assert.equal(loaded.checkpointDir, join(dir, "checkpoints", "step_6"));
        await launchTraining({
          resume: dir,
          overrides: [],
          trainOptions: { device: dev, progress: false },
        });
        await assertEqualsReference(dir);
        const latest = JSON.parse(await Deno.readTextFile(join(dir, "checkpoints", "latest")));
        assert.deepEqual(latest, { step: 6, dir: "step_6" }, "the pointer is repaired");
      }
      const garbage = await copyOfReference("garbage-metrics");
      const path = join(garbage, "metrics.jsonl");
      const lines = (await Deno.readTextFile(path)).split("\n");
      lines.splice(5, 0, '{"type":"train","step":');
      await Deno.writeTextFile(path, lines.join("\n"));
      await launchTraining({
        resume: join(garbage, "checkpoints", "step_4"),
        overrides: [],
        trainOptions: { device: dev, progress: false },
      });
      await assertEqualsReference(garbage);
    } finally {
      dev.destroy();
    }

    const cli = await copyOfReference("cli");
    const ckpt = join(cli, "checkpoints", "step_6");
    await state((s) => ({ ...s, step: "abc" }))(ckpt);
    assertOneLineError(await trainCli(["--resume", ckpt]), /step must be a non-negative integer/);
    assertOneLineError(
      await runTool("validate", ["--checkpoint", ckpt, "--eval"]),
      /step must be a non-negative integer/,
    );
  },
);

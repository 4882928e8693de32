import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Checkpoint,
  loadCheckpoint,
  pruneCheckpoints,
  readPointer,
  resolveResumeTarget,
  saveCheckpoint,
  writePointer,
} from "../../src/train/checkpoint.ts";
import { createRunDir } from "../../src/train/run_dir.ts";
import { MetricsWriter, readMetrics, rewindMetrics } from "../../src/train/metrics.ts";
import { gptConfig } from "../_support/gpt.ts";

const MODEL = gptConfig({
  vocab_size: 8,
  max_seq_len: 4,
  n_layer: 1,
  n_head: 1,
  d_model: 4,
});

function checkpoint(step: number): Checkpoint {
  const data = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i + step) * 1e-3);
  return {
    params: new Map([["wte.weight", { shape: [8, 4], data }]]),
    optimizer: { m: data.map((x) => x / 3), v: data.map((x) => x * x), step },
    state: {
      step,
      tokens: step * 16,
      batch_index: step,
      rng: { seed: 1, batch_index: step },
      schedule: { total_steps: 100, warmup_steps: 0, lr_scale: 1 },
      best_val_loss: null,
      best_step: null,
      initial_val_loss: null,
      failures: 0,
      elapsed_s: 1.5,
      model: MODEL,
    },
  };
}

Deno.test("checkpoints round-trip bit for bit; last K plus best are kept", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { dir } = await createRunDir(root, "exp");
    await Deno.writeTextFile(join(dir, "run.json"), "{}");
    for (const step of [10, 20, 30, 40]) {
      await saveCheckpoint(dir, checkpoint(step));
      if (step === 20) await writePointer(dir, "best", { step: 20, dir: "step_20", val_loss: 1 });
      await pruneCheckpoints(dir, 2);
    }
    const names = [];
    for await (const e of Deno.readDir(join(dir, "checkpoints"))) names.push(e.name);
    assert.deepEqual(names.sort(), ["best", "latest", "step_20", "step_30", "step_40"]);
    assert.deepEqual(await readPointer(dir, "latest"), { step: 40, dir: "step_40" });
    const back = await loadCheckpoint(join(dir, "checkpoints", "step_30"));
    const orig = checkpoint(30);
    assert.deepEqual(back.params.get("wte.weight"), orig.params.get("wte.weight"));
    assert.deepEqual(back.optimizer, orig.optimizer);
    assert.deepEqual(back.state, orig.state);
    // resume targets: a run dir means its latest checkpoint; a checkpoint dir means itself
    assert.equal(
      (await resolveResumeTarget(dir)).checkpointDir,
      join(dir, "checkpoints", "step_40"),
    );
    const ck = join(dir, "checkpoints", "step_20");
    assert.deepEqual(await resolveResumeTarget(ck), { runDir: dir, checkpointDir: ck });
    await assert.rejects(() => resolveResumeTarget(join(root, "nope")), /resume target not found/);
    await assert.rejects(() => resolveResumeTarget(root), /neither a run nor a checkpoint/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run directories are never reused", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dirs = await Promise.all([1, 2, 3].map(() => createRunDir(root, "exp")));
    assert.equal(new Set(dirs.map((d) => d.dir)).size, 3);
    assert.match(dirs[0].id, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("metrics: appended lines read back; rewind drops later steps and a torn line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = await MetricsWriter.open(dir);
    for (const step of [1, 2, 3]) {
      w.write({ type: "event", step, elapsed_s: step, event: "x", detail: `${NaN}` });
    }
    w.write({ type: "val", step: 3, tokens: 1, flops: 1, elapsed_s: 1, loss: NaN, ppl: Infinity });
    w.close();
    await Deno.writeTextFile(join(dir, "metrics.jsonl"), '{"type":"train","st', { append: true });
    const lines = await readMetrics(dir);
    assert.equal(lines.length, 4);
    assert.equal((lines[3] as { loss: number | null }).loss, null);
    await rewindMetrics(dir, 2);
    assert.deepEqual((await readMetrics(dir)).map((l) => l.step), [1, 2]);
    assert.ok((await Deno.readTextFile(join(dir, "metrics.jsonl"))).endsWith("}\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

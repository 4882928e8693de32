/**
 * The audit's hanging and escaping config values (issue 19, item 6): each is refused by the real
 * `train` command with one line naming the key, exit 2, and nothing written under the runs root.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import "../../src/data/sources_all.ts";
import { resolveConfigs } from "../../src/config/load.ts";
import { MAX_SWEEP_POINTS } from "../../src/config/limits.ts";
import { writeShard } from "../../src/data/shards.ts";
import {
  checkFootprintFitsDevice,
  checkFootprintFitsMemory,
  trainingFootprint,
} from "../../src/train/model_fit.ts";
import { isUserError } from "../../src/util/errors.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";

const CONFIG = new URL("../../configs/mess3.yaml", import.meta.url).pathname;

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(root)) out.push(e.name);
  return out;
}

/** Runs `train` with overrides in a fresh cwd and runs root; returns output and what was written. */
async function trainWith(args: string[]) {
  const cwd = await Deno.makeTempDir();
  const runs = join(cwd, "runs");
  await Deno.mkdir(runs);
  try {
    const out = await runTool("train", ["--runs", runs, "--no-progress", ...args], {
      cwd,
      env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? cwd },
    });
    const outside = (await listTree(cwd)).filter((n) => n !== "runs" && !n.endsWith(".yaml"));
    return { out, written: await listTree(runs), outside, cwd };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

const AUDIT_CASES: [string, RegExp][] = [
  ["model.d_model=1000000000", /model\.d_model: 1000000000 is over/],
  ["model.n_layer=100000", /model\.n_layer: 100000 is over/],
  ["training.eval_batches=1000000000000", /training\.eval_batches: 1000000000000 is over/],
  ["training.grad_accum_steps=1000000000", /training\.grad_accum_steps: 1000000000 is over/],
  ["model.vocab_size=1000000000000", /model\.vocab_size: 1000000000000 is over/],
  ["model.max_seq_len=1000000000", /model\.max_seq_len: 1000000000 is over/],
  [`experiment_name=${"a".repeat(300)}`, /experiment_name: 300 bytes long/],
  ["experiment_name=..", /experiment_name: "\.\." cannot name a directory/],
];

for (const [override, pattern] of AUDIT_CASES) {
  Deno.test(`limits: train ${override.slice(0, 40)} → one-line error, nothing written`, async () => {
    const { out, written, outside } = await trainWith(["--config", CONFIG, override]);
    assertOneLineError(out, pattern);
    assert.deepEqual(written, [], "nothing under the runs root");
    assert.deepEqual(outside, [], "nothing beside it either");
  });
}

Deno.test("limits: a corrupt data.tokenizer is refused before the run copies it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeShard(join(dir, "train.bin"), Array.from({ length: 4096 }, (_, i) => i % 4), 4);
    await writeShard(join(dir, "val.bin"), Array.from({ length: 1024 }, (_, i) => i % 4), 4);
    const tokenizer = join(dir, "tokenizer.json");
    await Deno.writeTextFile(tokenizer, '{"model": {"type": "BPE", "vocab": {"a": 0}, "merg');
    const config = join(dir, "shards.yaml");
    const mess3 = await Deno.readTextFile(CONFIG);
    const data = `data:\n  source: shards\n  train: ${join(dir, "train.bin")}\n` +
      `  val: ${join(dir, "val.bin")}\n  tokenizer: ${tokenizer}\nmodel:`;
    await Deno.writeTextFile(config, mess3.replace(/^data:[\s\S]*?^model:/m, data));
    const { out, written } = await trainWith(["--config", config]);
    assertOneLineError(out, /data\.tokenizer: .* is not a valid tokenizer\.json/);
    assert.deepEqual(written, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("limits: a 10⁶-point sweep is refused before any point is built", () => {
  const raw = {
    experiment_name: "s",
    data: { source: "process", process: "mess3" },
    model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 1, d_model: 8 },
    training: { batch_size: 1, max_steps: 1, learning_rate: 1e-3 },
    sweep: {
      seed: Array.from({ length: 1000 }, (_, i) => i),
      training: { learning_rate: Array.from({ length: 1000 }, (_, i) => (i + 1) * 1e-5) },
    },
  };
  assert.throws(
    () => resolveConfigs(raw, [], "s.yaml"),
    (e: unknown) =>
      isUserError(e) && /1000 × 1000 = 1000000 runs, over kiln's limit of 10000/.test(e.message),
  );
  // The limit itself still expands.
  raw.sweep = {
    seed: Array.from({ length: 10 }, (_, i) => i),
    training: { learning_rate: [1e-3] },
  };
  assert.equal(resolveConfigs(raw, [], "s.yaml").length, 10);
  assert.ok(MAX_SWEEP_POINTS >= 1000);
});

Deno.test("limits: the footprint is the closed form and its checks name the limits", () => {
  const model = {
    name: "gpt",
    vocab_size: 10,
    max_seq_len: 4,
    n_layer: 1,
    n_head: 1,
    d_model: 2,
    dropout: 0,
    bias: false,
    tie_embeddings: true,
    positional: "learned" as const,
  };
  const f = trainingFootprint(model, 3, 4);
  // wte 10·2 + wpe 4·2 + block (2 ln 2·2, qkv 6·2, proj 2·2, fc 8·2, proj 2·8) + ln_f 2 = 82.
  assert.equal(f.params, 20 + 8 + (4 + 12 + 4 + 16 + 16) + 2);
  assert.equal(f.parameterBytes, 16 * 82);
  // 12 tokens × (1 layer × (16·2 + 2·8) + 2·10) floats.
  assert.equal(f.activationBytes, 4 * 12 * (48 + 20));
  assert.deepEqual(f.largest, { name: "logits [batch·seq, vocab_size]", bytes: 4 * 12 * 10 });
  checkFootprintFitsMemory(f, 1e6);
  assert.throws(() => checkFootprintFitsMemory(f, 1000), /more than the .* of memory here/);
  checkFootprintFitsDevice(f, { maxStorageBufferBindingSize: 480, maxBufferSize: 1e9 });
  assert.throws(
    () => checkFootprintFitsDevice(f, { maxStorageBufferBindingSize: 479, maxBufferSize: 1e9 }),
    /logits .* 480 bytes, more than .*\(479 bytes\)/,
  );
  assert.throws(
    () => checkFootprintFitsDevice(f, { maxStorageBufferBindingSize: 1e9, maxBufferSize: 300 }),
    /82 parameters need one buffer of 328 bytes/,
  );
});

Deno.test("limits: a model under every key limit but too big in total fails before allocating", async () => {
  const { out, written } = await trainWith([
    "--config",
    CONFIG,
    "model.d_model=65536",
    "model.n_head=64",
    "model.n_layer=4096",
  ]);
  assertOneLineError(out, /model: .* parameters need about .* to train/);
  assert.deepEqual(written, []);
});

import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { exists } from "../../src/util/fs.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const REPO = resolve(new URL("../..", import.meta.url).pathname);
const SMALL = join(REPO, "configs", "shakespeare_char_small.yaml");
const ASCII95 = Array.from(
  { length: 95 },
  (_, i) => String.fromCharCode(32 + i),
).join("");

Deno.test("train --print-config: a 95-character text resolves vocab_size 95 and trains nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln-print-" });
  try {
    await Deno.writeTextFile(
      join(dir, "my.txt"),
      Array(300).fill(ASCII95).join(""),
    );
    const args = ["--config", SMALL, "data.dataset=my.txt", "--runs", "out"];
    const out = await runTool("train", [...args, "--print-config"], {
      cwd: dir,
    });
    assert.equal(out.code, 0, out.stderr);
    const printed = parse(out.stdout);
    assert.equal(printed.model.vocab_size, 95);
    assert.equal(printed.model.max_seq_len, 64);
    assert.equal(printed.data.dataset, "my.txt");
    assert.equal(await exists(join(dir, "out")), false, "nothing written");
    assertOneLineError(
      await runTool(
        "train",
        [...args, "model.vocab_size=65", "--print-config"],
        { cwd: dir },
      ),
      /model\.vocab_size is 65 but the data .* has 95 token ids: set model\.vocab_size=95/,
    );
    assertOneLineError(
      await runTool("train", [
        ...args,
        "model.max_seq_len=auto",
        "--print-config",
      ], { cwd: dir }),
      /model\.max_seq_len: auto takes the length from the data, but a text corpus has none/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testNeeding(
  "a WebGPU adapter",
  await hasWebGpuAdapter(),
  "a run's config.yaml holds the resolved sizes, not auto",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "kiln-print-" });
    try {
      await Deno.writeTextFile(
        join(dir, "c.yaml"),
        "experiment_name: auto_sizes\n" +
          "data: { source: process, process: mess3, n_ctx: 5, bos: true }\n" +
          "model: { n_layer: 1, n_head: 1, d_model: 8 }\n" +
          "training: { batch_size: 2, max_steps: 2, learning_rate: 0.001, eval_every: 0, " +
          "checkpoint_every: 0 }\n",
      );
      const out = await runTool("train", [
        "--config",
        "c.yaml",
        "--runs",
        "out",
        "--no-progress",
      ], {
        cwd: dir,
      });
      assert.equal(out.code, 0, out.stderr);
      const runs = [...Deno.readDirSync(join(dir, "out", "auto_sizes"))];
      assert.equal(runs.length, 1);
      const saved = parse(
        await Deno.readTextFile(
          join(dir, "out", "auto_sizes", runs[0].name, "config.yaml"),
        ),
      );
      assert.equal(saved.model.vocab_size, 4); // 3 tokens + BOS
      assert.equal(saved.model.max_seq_len, 5);
      // Resuming with the same auto config finds no model change against the saved numbers.
      const resumed = await runTool("train", [
        "--config",
        "c.yaml",
        "training.max_steps=3",
        "--resume",
        "--runs",
        "out",
        "--no-progress",
      ], { cwd: dir });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.doesNotMatch(
        resumed.stdout + resumed.stderr,
        /vocab_size|max_seq_len/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

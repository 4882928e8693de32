/**
 * `deno task validate` on an encoder–decoder run, as a user runs it: --prompt decodes with the
 * once-computed cross memory and the decoder KV cache, --eval reports the study's held-out
 * metrics for all ten buckets, --verify checks cached = recomputed, and GPT-only modes are
 * refused with one line.
 */

import assert from "node:assert/strict";
import { assertOneLineError, runTool } from "../_support/cli.ts";

Deno.test("validate on an encdec run: --prompt, --eval per bucket, --verify; chat refused", async () => {
  const runs = await Deno.makeTempDir();
  try {
    const trained = await runTool("train", [
      "--config",
      "configs/multiplication_simple.yaml",
      "training.max_steps=4",
      "training.eval_every=0",
      "training.eval_batches=2",
      "training.batch_size=16",
      "--runs",
      runs,
      "--no-progress",
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const [experiment] = [...Deno.readDirSync(runs)].map((e) => e.name);
    const [id] = [...Deno.readDirSync(`${runs}/${experiment}`)].map((e) => e.name);
    const run = `${runs}/${experiment}/${id}`;

    const prompt = await runTool("validate", ["--checkpoint", run, "--prompt", "12*34"]);
    assert.equal(prompt.code, 0, prompt.stderr);
    // the completion is whatever 4 steps learnt, but it follows the prompt and its "="
    assert.match(prompt.stdout, /^12\*34=/m);

    const evaluated = await runTool("validate", [
      "--checkpoint",
      run,
      "--eval",
      "--max-batches",
      "2",
    ]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const buckets = evaluated.stdout.match(
      /^ {2}bucket \d+ \(products \d+–\d+, \d+\): exact_match/gm,
    );
    assert.equal(buckets?.length, 10, evaluated.stdout);

    const verified = await runTool("validate", ["--checkpoint", run, "--verify"]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);

    const chat = await runTool("validate", ["--checkpoint", run, "--chat"], { stdin: "" });
    assertOneLineError(chat, /--chat: not available for encoder–decoder models/);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

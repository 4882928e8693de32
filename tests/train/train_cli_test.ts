import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { saveCheckpoint } from "../../src/train/checkpoint.ts";
import { exists } from "../../src/util/fs.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";
import { gptConfig } from "../_support/gpt.ts";

const REPO = resolve(new URL("../..", import.meta.url).pathname);
const CORPUS = resolve(REPO, "../shared/data/tinyshakespeare.txt");

const CONFIG = `experiment_name: cli
data: { source: text, dataset: ${CORPUS} }
model: { vocab_size: 65, max_seq_len: 16, n_layer: 1, n_head: 2, d_model: 16 }
training: { batch_size: 2, max_steps: 3, learning_rate: 0.001 }
`;

function runTrain(args: string[], cwd: string) {
  return runTool("train", args, { cwd });
}

/** Asserts exit 2 with one `error: …` line matching `pattern`, and no run directory written. */
async function assertUserError(dir: string, args: string[], pattern: RegExp) {
  assertOneLineError(await runTrain([...args, "--runs", "out"], dir), pattern);
  assert.equal(await exists(join(dir, "out")), false, "nothing written");
}

Deno.test("train CLI: --help, and bad input is one line, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "c.yaml"), CONFIG);
    const help = await runTrain(["--help"], dir);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: deno task train --config/);

    await assertUserError(
      dir,
      ["--config", "missing.yaml"],
      /config file not found: missing\.yaml/,
    );
    await assertUserError(dir, [], /--config is required/);
    await assertUserError(
      dir,
      ["--config", "c.yaml", "training.batch_sise=4"],
      /training\.batch_sise: unknown key \(did you mean batch_size\?\)/,
    );
    await assertUserError(
      dir,
      ["--config", "c.yaml", "training.learning_rate=fast"],
      /training\.learning_rate: expected number, found string "fast"/,
    );
    await assertUserError(
      dir,
      ["--config", "c.yaml", "model.vocab_size=20"],
      /has 65 token ids: set model\.vocab_size=65/,
    );
    await assertUserError(dir, ["--config", "c.yaml", "--bogus"], /Unknown option '--bogus'/);
    await assertUserError(dir, ["--resume", "no/such/run"], /resume target not found/);
    await assertUserError(dir, ["--config", "c.yaml", "--resume"], /no run of experiment "cli"/);

    // A run whose checkpoint has another shape (written directly: no GPU needed).
    const run = join(dir, "runs", "cli", "20260101-000000-abcdef");
    await Deno.mkdir(run, { recursive: true });
    await Deno.writeTextFile(join(run, "run.json"), "{}");
    const model = gptConfig({
      vocab_size: 65,
      max_seq_len: 16,
      n_layer: 2,
      n_head: 2,
      d_model: 16,
    });
    await saveCheckpoint(run, {
      params: new Map([["wte.weight", { shape: [1], data: new Float32Array(1) }]]),
      optimizer: { m: new Float32Array(1), v: new Float32Array(1), step: 1 },
      state: {
        step: 1,
        tokens: 32,
        batch_index: 1,
        rng: { seed: 1, batch_index: 1 },
        schedule: { total_steps: 3, warmup_steps: 0, lr_scale: 1 },
        best_val_loss: null,
        best_step: null,
        initial_val_loss: null,
        failures: 0,
        elapsed_s: 0,
        model,
      },
    });
    const before = await Deno.readTextFile(join(run, "checkpoints", "latest"));
    await assertUserError(
      dir,
      ["--config", "c.yaml", "--resume", run],
      /different model shape: model\.n_layer 1 vs 2/,
    );
    assert.equal(await Deno.readTextFile(join(run, "checkpoints", "latest")), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

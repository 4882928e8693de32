import assert from "node:assert/strict";
import "../../src/data/sources_all.ts";
import { loadConfig, loadConfigs, resolveConfigs } from "../../src/config/load.ts";
import { UserError } from "../../src/util/errors.ts";

const BASE = {
  experiment_name: "t",
  data: { source: "text", dataset: "corpus.txt" },
  model: { vocab_size: 65, max_seq_len: 64, n_layer: 2, n_head: 2, d_model: 32 },
  training: { batch_size: 4, max_steps: 10, learning_rate: 1e-3 },
};

function resolve(overrides: string[] = [], raw: Record<string, unknown> = BASE) {
  return resolveConfigs(structuredClone(raw), overrides, "x.yaml");
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    assert.ok(!err.message.includes("\n"), `message is one line: ${err.message}`);
    return err.message;
  }
  assert.fail("expected an error");
}

Deno.test("a minimal config gets its defaults, min_learning_rate = lr/10", () => {
  const [{ config }] = resolve();
  assert.equal(config.seed, 1337);
  assert.equal(config.training.grad_accum_steps, 1);
  assert.equal(config.training.min_learning_rate, 1e-4);
  assert.deepEqual(config.training.betas, [0.9, 0.95]);
  assert.equal(config.model.positional, "learned");
  assert.equal(config.data.tokenizer, "char");
  assert.equal(config.data.val_fraction, 0.1);
  assert.equal(config.training.diagnostics.activation_norms, false);
});

Deno.test("a misspelt key is named with its path and a suggestion", () => {
  const msg = errorOf(() => resolve(["training.batch_sise=64"]));
  assert.match(msg, /training\.batch_sise: unknown key \(did you mean batch_size\?\)/);
  const data = errorOf(() => resolve(["data.datset=x"]));
  assert.match(data, /data\.datset: unknown key \(did you mean dataset\?\)/);
  const top = errorOf(() => resolve(["sed=3"]));
  assert.match(top, /sed: unknown key \(did you mean seed\?\)/);
});

Deno.test("a wrong type names the path, the expected type and what was found", () => {
  const msg = errorOf(() => resolve(["training.batch_size=abc"]));
  assert.match(msg, /training\.batch_size: expected number, found string "abc"/);
  const missing = errorOf(() =>
    resolve([], { ...BASE, training: { batch_size: 4, max_steps: 3 } })
  );
  assert.match(missing, /training\.learning_rate: required \(expected number\)/);
  const enumMsg = errorOf(() => resolve(["training.lr_decay=cosin"]));
  assert.match(enumMsg, /training\.lr_decay: expected one of "cosine", "linear", "constant"/);
  assert.match(errorOf(() => resolve(["training.batch_size=0"])), /training\.batch_size: must be/);
  assert.match(
    errorOf(() => resolve(["model.init=torch"])),
    /model\.init: expected one of "gpt2", "pytorch"/,
  );
  assert.match(errorOf(() => resolve(["model.init_std=0"])), /model\.init_std: must be/);
  assert.match(
    errorOf(() => resolve(["training.weight_decay_on=biases"])),
    /training\.weight_decay_on: expected one of "matrices", "all"/,
  );
});

Deno.test("overrides parse YAML scalars and lists", () => {
  const [{ config }] = resolve([
    "training.learning_rate=3e-4",
    "training.betas=[0.9, 0.99]",
    "seed=3",
    "model.bias=false",
  ]);
  assert.equal(config.training.learning_rate, 3e-4);
  assert.deepEqual(config.training.betas, [0.9, 0.99]);
  assert.equal(config.seed, 3);
  assert.equal(config.model.bias, false);
  assert.match(errorOf(() => resolve(["training.batch_size.x=3"])), /batch_size is not a section/);
  assert.match(errorOf(() => resolve(["nonsense"])), /expected key\.path=value/);
});

Deno.test("either/or keys: an override of one replaces the other", () => {
  const [{ config }] = resolve(["training.num_epochs=2"]);
  assert.equal(config.training.max_steps, undefined);
  assert.equal(config.training.num_epochs, 2);
  const both = { ...BASE, training: { ...BASE.training, num_epochs: 1 } };
  assert.match(errorOf(() => resolve([], both)), /set exactly one of max_steps and num_epochs/);
});

Deno.test("data.source: an unknown kind lists the registered ones", () => {
  const msg = errorOf(() => resolve(["data.source=nope"]));
  assert.match(msg, /unknown kind "nope" \(registered: .*shards.*text/);
});

Deno.test("model checks: d_model must divide into heads", () => {
  assert.match(errorOf(() => resolve(["model.n_head=3"])), /model\.d_model: .*multiple of n_head/);
});

Deno.test("a sweep expands to the cartesian product; an override fixes a swept key", () => {
  const raw = {
    ...BASE,
    sweep: { seed: [1, 2], training: { learning_rate: [1e-3, 3e-4, 1e-4] } },
  };
  const all = resolve([], raw);
  assert.equal(all.length, 6);
  const pairs = all.map((c) => [c.config.seed, c.config.training.learning_rate]);
  assert.deepEqual(pairs, [[1, 1e-3], [1, 3e-4], [1, 1e-4], [2, 1e-3], [2, 3e-4], [2, 1e-4]]);
  assert.deepEqual(all[4].sweep, { "seed": 2, "training.learning_rate": 3e-4 });
  const fixed = resolve(["seed=7"], raw);
  assert.equal(fixed.length, 3);
  assert.ok(fixed.every((c) => c.config.seed === 7));
});

Deno.test("loadConfig reads YAML files; missing file and bad YAML are one-line errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.yaml`;
    await Deno.writeTextFile(
      path,
      `experiment_name: t
data: { source: text, dataset: a.txt }
model: { vocab_size: 65, max_seq_len: 8, n_layer: 1, n_head: 1, d_model: 8 }
training: { batch_size: 2, max_steps: 5, learning_rate: 0.01 }
`,
    );
    const cfg = await loadConfig(path, ["training.max_steps=7"]);
    assert.equal(cfg.training.max_steps, 7);
    await assert.rejects(() => loadConfig(`${dir}/missing.yaml`), /config file not found/);
    await Deno.writeTextFile(`${dir}/bad.yaml`, "a: [1, 2\n");
    await assert.rejects(() => loadConfig(`${dir}/bad.yaml`), /not valid YAML/);
    await Deno.writeTextFile(
      `${dir}/sweep.yaml`,
      (await Deno.readTextFile(path)) + "sweep: { seed: [1, 2] }\n",
    );
    await assert.rejects(() => loadConfig(`${dir}/sweep.yaml`), /sweep gives 2 configs/);
    assert.equal((await loadConfigs(`${dir}/sweep.yaml`)).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

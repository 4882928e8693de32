import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import YAML from "yaml";
import { importPlugins, importRunPlugins, sha256Hex } from "../../src/plugins/imports.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const gpu = await hasWebGpuAdapter();
const MOD = pathToFileURL(resolve("mod.ts")).href;

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    assert.ok(!err.message.includes("\n"), `one line: ${err.message}`);
    return err.message;
  }
  assert.fail("expected an error");
}

Deno.test("importPlugins: records path + SHA-256; missing, throwing or clashing modules are one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ok = join(dir, "ok.ts");
    await Deno.writeTextFile(ok, `export const loaded = true;\n`);
    const [rec] = await importPlugins([ok]);
    assert.equal(rec.sha256, await sha256Hex(await Deno.readFile(ok)));
    // SHA-256 of "abc" (FIPS 180-2 test vector).
    assert.equal(
      await sha256Hex(new TextEncoder().encode("abc")),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assert.match(await errorOf(importPlugins([join(dir, "nope.ts")])), /nope\.ts: file not found/);
    const bad = join(dir, "bad.ts");
    await Deno.writeTextFile(bad, `throw new Error("boom");\n`);
    assert.match(await errorOf(importPlugins([bad])), /bad\.ts: the module failed to load: boom/);
    const twice = join(dir, "twice.ts");
    await Deno.writeTextFile(
      twice,
      `import { GPT, registerModel } from "${MOD}";\n` +
        `registerModel("imports_test_twice", (d, c, o) => new GPT(d, c, o));\n` +
        `registerModel("imports_test_twice", (d, c, o) => new GPT(d, c, o));\n`,
    );
    assert.match(
      await errorOf(importPlugins([twice])),
      /twice\.ts: registerModel: model "imports_test_twice" is already registered/,
    );
    // A run's record: a changed or missing file is refused, naming the override.
    assert.match(
      await errorOf(importRunPlugins([{ ...rec, sha256: "0".repeat(64) }], [], "runs/x/1")),
      /plugin .*ok\.ts changed since run runs\/x\/1 was trained .*pass --import .*ok\.ts/,
    );
    assert.match(
      await errorOf(
        importRunPlugins([{ path: join(dir, "gone.ts"), sha256: rec.sha256 }], [], "r"),
      ),
      /gone\.ts, which is missing; pass --import/,
    );
    assert.deepEqual(await importRunPlugins([rec], [], "r"), [rec]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function kiln(tool: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tools/${tool}.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { KILN_NO_TYPECHECK: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "--import: train records the plugin; validate reloads it, refuses it changed, --import overrides",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const plugin = join(dir, "plugin.ts");
      await Deno.writeTextFile(
        plugin,
        `import { GPT, registerModel, z } from "${MOD}";\n` +
          `registerModel("imports_cli_gpt", (d, c, o) => new GPT(d, c, o), {\n` +
          `  configSchema: z.object({ my_knob: z.number().default(1) }),\n});\n`,
      );
      const config = join(dir, "c.yaml");
      await Deno.writeTextFile(
        config,
        YAML.stringify({
          experiment_name: "imports_cli",
          data: { source: "text", dataset: resolve("../shared/data/tinyshakespeare.txt") },
          model: {
            name: "imports_cli_gpt",
            my_knob: 2,
            vocab_size: 65,
            max_seq_len: 8,
            n_layer: 1,
            n_head: 2,
            d_model: 16,
          },
          training: { batch_size: 2, max_steps: 2, learning_rate: 1e-3, eval_every: 0 },
        }),
      );
      const runs = join(dir, "runs");
      const noPlugin = await kiln("train", ["--config", config, "--runs", runs, "--no-progress"]);
      assert.equal(noPlugin.code, 2, noPlugin.stderr);
      assert.match(noPlugin.stderr, /^error: .*model\.my_knob: unknown key .*"imports_cli_gpt"/);
      const trained = await kiln("train", [
        "--config",
        config,
        "--import",
        plugin,
        "--runs",
        runs,
        "--no-progress",
      ]);
      assert.equal(trained.code, 0, trained.stderr);
      const [runName] = [...Deno.readDirSync(join(runs, "imports_cli"))].map((e) => e.name);
      const run = join(runs, "imports_cli", runName);
      const saved = YAML.parse(await Deno.readTextFile(join(run, "config.yaml")));
      assert.deepEqual(saved.imports, [{
        path: plugin,
        sha256: await sha256Hex(await Deno.readFile(plugin)),
      }]);
      assert.equal(saved.model.my_knob, 2);
      const again = await kiln("validate", ["--checkpoint", run, "--eval", "--max-batches", "1"]);
      assert.equal(again.code, 0, again.stderr);
      await Deno.writeTextFile(plugin, "// edited\n", { append: true });
      const changed = await kiln("validate", ["--checkpoint", run, "--eval", "--max-batches", "1"]);
      assert.equal(changed.code, 2);
      assert.match(changed.stderr, /^error: plugin .*plugin\.ts changed since run .* was trained/);
      assert.equal(changed.stderr.trim().split("\n").length, 1, changed.stderr);
      const forced = await kiln("validate", [
        "--checkpoint",
        run,
        "--eval",
        "--max-batches",
        "1",
        "--import",
        plugin,
      ]);
      assert.equal(forced.code, 0, forced.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

import assert from "node:assert/strict";
import { join } from "node:path";
import { runDeno } from "../_support/cli.ts";

/** Packages only tests, benchmarks and peer comparisons use: never in the runtime import map. */
const DEV_ONLY = [
  "playwright-core",
  "gpt-tokenizer",
  "@huggingface/tokenizers",
  "tokenizers",
  "tiktoken",
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-backend-webgpu",
  "hyparquet-writer",
];

async function importsOf(path: string): Promise<Record<string, string>> {
  return JSON.parse(await Deno.readTextFile(path)).imports ?? {};
}

Deno.test("the root import map holds runtime packages only; tests/ and bench/ share theirs", async () => {
  const root = await importsOf("deno.json");
  const tests = await importsOf("tests/deno.json");
  const bench = await importsOf("bench/deno.json");
  for (const name of DEV_ONLY) {
    assert.ok(!(name in root), `${name} is in the root import map`);
    assert.ok(name in tests, `${name} is missing from tests/deno.json`);
  }
  assert.deepEqual(
    bench,
    tests,
    "bench/deno.json and tests/deno.json must list the same imports",
  );
  // A runtime package resolves to the same version for the tools and for the tests.
  for (const [name, target] of Object.entries(root)) {
    assert.equal(tests[name], target, name);
  }
  const lock = JSON.parse(await Deno.readTextFile("deno.lock"));
  for (const key of Object.keys(lock.npm ?? {})) {
    const name = key.slice(0, key.lastIndexOf("@"));
    assert.ok(
      !DEV_ONLY.includes(name),
      `${key} is in deno.lock (every run would install it)`,
    );
  }
});

Deno.test("a clean Deno cache for the CLI's graph receives no test or peer package", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "kiln-denodir-" });
  try {
    const out = await runDeno([
      "cache",
      "--config",
      "deno.json",
      "tools/kiln.ts",
    ], {
      env: { DENO_DIR: denoDir },
    });
    assert.equal(out.code, 0, out.stderr);
    const names: string[] = [];
    const registry = join(denoDir, "npm", "registry.npmjs.org");
    for await (const e of Deno.readDir(registry)) {
      if (!e.name.startsWith("@")) names.push(e.name);
      else {for await (const s of Deno.readDir(join(registry, e.name))) {
          names.push(`${e.name}/${s.name}`);
        }}
    }
    for (const name of DEV_ONLY) {
      assert.ok(!names.includes(name), `${name}: ${names.join(",")}`);
    }
    assert.ok(names.includes("zod") && names.includes("yaml"), names.join(","));
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

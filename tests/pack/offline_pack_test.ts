import assert from "node:assert/strict";
import { join } from "node:path";
import { commandSucceeds, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { assertOneLineError, runCommand, runTool } from "../_support/cli.ts";

const canIsolate = await commandSucceeds("unshare", ["-n", "true"]);
const adapter = await hasWebGpuAdapter();

testNeeding(
  "unshare -n (a network namespace) and a WebGPU adapter",
  canIsolate && adapter,
  "pack: the folder moved to an empty dir runs the demo and a benchmark with no network",
  async () => {
    const tmp = await Deno.makeTempDir({ prefix: "kiln-pack-" });
    try {
      const out = join(tmp, "pack");
      const packed = await runTool("pack", ["--out", out]);
      assert.equal(packed.code, 0, packed.stderr);
      assert.match(packed.stdout, /wrote .*pack: \d+ repo files/);
      for (const f of ["deno.gz", "run.sh", "repo/deno.json", "repo/tools/kiln.ts"]) {
        await Deno.stat(join(out, f));
      }
      // Only runtime packages: no test-only or peer-benchmark ones.
      const npm = join(out, "deno_dir", "npm", "registry.npmjs.org");
      const names = [];
      for await (const e of Deno.readDir(npm)) names.push(e.name);
      assert.ok(names.includes("zod") && names.includes("yaml"), names.join(","));
      for (const testOnly of ["playwright-core", "@tensorflow", "tokenizers", "tiktoken"]) {
        assert.ok(!names.includes(testOnly), `${testOnly} in the pack: ${names.join(",")}`);
      }
      // "Unpack" elsewhere: a plain copy into an empty directory, then no network at all.
      const moved = join(tmp, "elsewhere", "kiln");
      await Deno.mkdir(join(tmp, "elsewhere"));
      const cp = await runCommand("cp", ["-a", out, moved]);
      assert.equal(cp.code, 0, cp.stderr);
      const offline = (args: string[]) =>
        runCommand("unshare", ["-n", "sh", join(moved, "run.sh"), ...args], {
          env: { XDG_CACHE_HOME: join(tmp, "cache"), HOME: tmp },
        });
      const demo = await offline([
        "demo",
        "training.max_steps=4",
        "training.eval_every=4",
        "training.eval_batches=1",
        "training.log_every=2",
        "--no-progress",
      ]);
      assert.equal(demo.code, 0, demo.stderr);
      assert.match(demo.stdout, /L\*/);
      const bench = await offline(["bench", "gpu_report", "--help"]);
      assert.equal(bench.code, 0, bench.stderr);
      assert.match(bench.stdout, /--peak-tflops/);
      const unknown = await offline(["bench", "nope"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /usage: run\.sh bench <name>/);
      // A folder that is not empty is never overwritten.
      assertOneLineError(await runTool("pack", ["--out", moved]), /is not empty/);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
);

Deno.test("pack --help and a missing --out", async () => {
  const help = await runTool("pack", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /run\.sh demo/);
  assertOneLineError(await runTool("pack", []), /--out DIR is required/);
});

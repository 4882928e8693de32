/**
 * The op-vs-oracle suite, the optimizer and the GPT tests (determinism included) again, on a
 * device opened at WebGPU's default limits (KILN_WEBGPU_LIMITS=default): 256-byte binding
 * alignment, 16 KiB of workgroup memory, 128 MiB bindings — what macOS, Dawn and browsers give.
 * Same files, same tolerances, in a child `deno test`.
 */

import assert from "node:assert/strict";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { runDeno } from "../_support/cli.ts";

const SUITE = ["tests/tensor/", "tests/optim/adamw_test.ts", "tests/nn/gpt_test.ts"];

testNeeding(
  "a WebGPU adapter",
  await hasWebGpuAdapter(),
  "engine suite at WebGPU's default limits",
  async () => {
    const root = new URL("../../", import.meta.url).pathname;
    const out = await runDeno(["test", "-A", "--no-check=remote", ...SUITE], {
      cwd: root,
      env: { KILN_WEBGPU_LIMITS: "default" },
    });
    const failed = [...out.stdout.matchAll(/^(.*) \.\.\. FAILED/gm)].map((m) => m[1]);
    assert.deepEqual(failed, [], out.stdout.slice(-4000));
    assert.equal(out.code, 0, out.stderr.slice(-2000));
    const passed = Number(
      /(\d+) passed/.exec(out.stdout.split("\n").reverse().find((l) => /passed/.test(l)) ?? "")
        ?.[1],
    );
    assert.ok(passed >= 60, `only ${passed} tests ran at default limits`);
  },
);

/**
 * Every shaders/*.wgsl family compiles with no error and no warning, and every entry point
 * builds, in Naga (Deno's wgpu, here) and in Tint (Chromium's Dawn, through
 * tests/browser/shader_suite.ts) — with the subgroup variant of the row reductions where the
 * device has subgroups and the workgroup-memory variant everywhere.
 */

import assert from "node:assert/strict";
import { chromiumPath, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import {
  bundleForBrowser,
  launchWebGpuChromium,
  openServedPage,
  shimmedPage,
  waitForGlobal,
} from "../_support/browser_gpu.ts";
import { compileEveryShader } from "./_compile_all.ts";

const ADAPTER = await hasWebGpuAdapter();
const CHROMIUM = await chromiumPath();

testNeeding("a WebGPU adapter", ADAPTER, "every WGSL family compiles cleanly in Naga", async () => {
  const adapter = (await navigator.gpu.requestAdapter())!;
  const requiredFeatures = (["shader-f16", "subgroups"] as GPUFeatureName[])
    .filter((f) => adapter.features.has(f));
  const gpu = await adapter.requestDevice({ requiredFeatures });
  try {
    const variants = gpu.features.has("subgroups") ? [false, true] : [false];
    for (const subgroups of variants) {
      const { problems, compiled } = await compileEveryShader(gpu, { subgroups });
      assert.deepEqual(problems, []);
      assert.ok(compiled.length >= 38, `only ${compiled.length} entry points compiled`);
    }
  } finally {
    gpu.destroy();
  }
});

testNeeding(
  "Debian's chromium",
  CHROMIUM !== null,
  "every WGSL family compiles cleanly in Tint",
  async () => {
    const bundle = await bundleForBrowser("tests/browser/shader_suite.ts", { testShims: true });
    const browser = await launchWebGpuChromium(CHROMIUM!);
    try {
      const opened = await openServedPage(browser, shimmedPage(bundle));
      try {
        const reports = await waitForGlobal<
          { subgroups: boolean; problems: string[]; compiled: string[] }[]
        >(opened, "__kilnShaders", 120_000);
        assert.deepEqual(reports.map((r) => r.subgroups), [false, true], "both variants compiled");
        for (const r of reports) {
          assert.deepEqual(r.problems, [], `subgroups=${r.subgroups}`);
          assert.ok(r.compiled.length >= 36, `only ${r.compiled.length} entry points compiled`);
        }
      } finally {
        await opened.close();
      }
    } finally {
      await browser.close();
    }
  },
);

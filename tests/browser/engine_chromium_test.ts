/**
 * The engine on a second WebGPU implementation: the op-vs-oracle suite and the training
 * determinism tests (tests/browser/engine_suite.ts: the same test files, the same tolerances)
 * run in headless Chromium on Dawn/Tint + SwiftShader, with subgroups and 256-byte alignment.
 * Each browser test is reported as a step.
 */

import assert from "node:assert/strict";
import { chromiumPath, testNeeding } from "../_support/env.ts";
import {
  bundleForBrowser,
  launchWebGpuChromium,
  openServedPage,
  shimmedPage,
  waitForGlobal,
} from "../_support/browser_gpu.ts";
import type { BrowserTestResult } from "../_support/browser_runner.ts";

const CHROMIUM = await chromiumPath();

testNeeding(
  "Debian's chromium",
  CHROMIUM !== null,
  "engine suite in Chromium (Dawn/Tint)",
  async (t) => {
    const bundle = await bundleForBrowser("tests/browser/engine_suite.ts", { testShims: true });
    const browser = await launchWebGpuChromium(CHROMIUM!);
    try {
      const opened = await openServedPage(browser, shimmedPage(bundle));
      try {
        const results = await waitForGlobal<BrowserTestResult[]>(opened, "__kilnResults", 900_000);
        const adapter = await opened.page.evaluate(async () => {
          const a = await navigator.gpu.requestAdapter();
          return a ? [...a.features].includes("subgroups") : null;
        });
        assert.equal(adapter, true, "Chromium's adapter has subgroups (the subgroup path runs)");
        assert.ok(results.length > 50, `only ${results.length} tests registered`);
        const errors = opened.console.filter((l) => /^(error|pageerror)/.test(l));
        for (const r of results) {
          await t.step({
            name: r.name,
            ignore: r.status === "ignored",
            fn: () => {
              if (r.status === "failed") throw new Error(r.error);
            },
          });
        }
        assert.deepEqual(errors, [], "no WebGPU error or page error in the console");
      } finally {
        await opened.close();
      }
    } finally {
      await browser.close();
    }
  },
);

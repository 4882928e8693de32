/**
 * The same GPTs (d_model 40 and 48, biases, learned and RoPE positions) trained 20 AdamW steps in
 * Deno (wgpu/Naga on lavapipe, at the adapter's limits and at WebGPU's default limits) and in
 * Chromium (Dawn/Tint on SwiftShader, subgroups, 256-byte alignment) give losses that agree to
 * 1e-3 relative, with no WebGPU error on either side.
 */

import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { chromiumPath, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import {
  bundleForBrowser,
  launchWebGpuChromium,
  openServedPage,
  shimmedPage,
  waitForGlobal,
} from "../_support/browser_gpu.ts";
import { PARITY_MODELS, parityLosses } from "../_support/gpt_steps.ts";

const CHROMIUM = await chromiumPath();
const ADAPTER = await hasWebGpuAdapter();

async function denoLosses(limits: "adapter" | "default"): Promise<number[][]> {
  const dev = await Device.open({ limits });
  try {
    const out: number[][] = [];
    for (let i = 0; i < PARITY_MODELS.length; i++) out.push(await parityLosses(dev, i));
    await dev.checkErrors();
    return out;
  } finally {
    dev.destroy();
  }
}

function assertAgree(a: number[][], b: number[][], what: string): void {
  a.forEach((run, i) => {
    const m = PARITY_MODELS[i];
    run.forEach((x, step) => {
      const rel = Math.abs(x - b[i][step]) / Math.abs(b[i][step]);
      assert.ok(
        rel <= 1e-3,
        `${what}, d_model ${m.d_model} ${m.positional}, step ${step + 1}: ${x} vs ${b[i][step]}`,
      );
    });
    assert.ok(run[run.length - 1] < run[0] - 0.1, `d_model ${m.d_model}: the loss falls`);
  });
}

testNeeding(
  "a WebGPU adapter and Debian's chromium",
  ADAPTER && CHROMIUM !== null,
  "GPTs of width 40/48 train 20 steps alike in Deno (both limit modes) and Chromium",
  async () => {
    const adapterLimits = await denoLosses("adapter");
    const defaultLimits = await denoLosses("default");
    assertAgree(defaultLimits, adapterLimits, "Deno default limits vs adapter limits");
    const bundle = await bundleForBrowser("tests/browser/gpt_parity_suite.ts", { testShims: true });
    const browser = await launchWebGpuChromium(CHROMIUM!);
    try {
      const opened = await openServedPage(browser, shimmedPage(bundle));
      try {
        const page = await waitForGlobal<
          { losses: number[][]; alignment: number; subgroups: boolean }
        >(opened, "__kilnParity", 600_000);
        assert.equal(page.alignment, 256);
        assert.equal(page.subgroups, true);
        assertAgree(page.losses, adapterLimits, "Chromium vs Deno");
        assert.deepEqual(opened.console.filter((l) => /^(error|pageerror)/.test(l)), []);
      } finally {
        await opened.close();
      }
    } finally {
      await browser.close();
    }
  },
);

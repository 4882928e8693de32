/**
 * The in-browser trainer: the page built by `deno task web` trains mess3 in headless Chromium
 * (Dawn/Tint on SwiftShader) to within 0.03 of the closed-form optimum L*, and its Stop button
 * ends a run early with validation and the probe still reported. The visualizer serves the same
 * page at /train/.
 */

import assert from "node:assert/strict";
import { startVizServer } from "../../src/viz/server.ts";
import { lossChartSvg } from "../../src/web/loss_chart.ts";
import { TRAIN_PAGE_HTML, trainPageScript } from "../../src/web/train_page_build.ts";
import { chromiumPath, testNeeding } from "../_support/env.ts";
import { launchWebGpuChromium, openServedPage, waitForGlobal } from "../_support/browser_gpu.ts";

const CHROMIUM = await chromiumPath();
/** mess3(x=0.05, a=0.85) with BOS at context 6 (REFERENCE.md). */
const L_STAR = 0.85939;

interface PageResult {
  steps: number;
  stopped: boolean;
  finalValLoss: number;
  optimalLoss: number;
  trainLines: number;
  elapsedMs: number;
  trainMs: number;
  evalMs: number;
  valLines: number;
  probe: { name: string; cv_r2: number }[] | null;
}

testNeeding(
  "Debian's chromium",
  CHROMIUM !== null,
  "the /train page trains mess3 in Chromium (60 steps at lr 3e-3) to within 0.03 of L*; Stop ends a run early",
  async () => {
    const files = {
      "/index.html": { type: "text/html", body: TRAIN_PAGE_HTML },
      "/train.js": { type: "text/javascript", body: await trainPageScript() },
    };
    const browser = await launchWebGpuChromium(CHROMIUM!);
    try {
      const full = await openServedPage(
        browser,
        files,
        "/index.html?steps=60&lr=0.003&eval_batches=4",
      );
      try {
        const r = await waitForGlobal<PageResult>(full, "__kilnTrainResult", 400_000);
        assert.equal(r.steps, 60);
        console.log(
          `mess3 in Chromium: ${(r.trainMs / 1000).toFixed(1)} s for 60 steps, ` +
            `${(r.evalMs / 1000).toFixed(1)} s for val + probe; ` +
            `val loss ${r.finalValLoss.toFixed(4)} vs L* ${r.optimalLoss.toFixed(4)}`,
        );
        assert.equal(r.stopped, false);
        assert.ok(Math.abs(r.optimalLoss - L_STAR) < 1e-5, `L* ${r.optimalLoss}`);
        assert.ok(
          Math.abs(r.finalValLoss - r.optimalLoss) < 0.03,
          `val loss ${r.finalValLoss} vs L* ${r.optimalLoss}`,
        );
        assert.equal(r.trainLines, 3); // log_every 25, and the last step
        assert.equal(r.valLines, 1);
        assert.equal(r.probe?.length, 3);
        const chart = await full.page.locator("#chart svg polyline.train").count();
        assert.equal(chart, 1);
        assert.ok(!full.console.some((l) => /^(error|pageerror)/.test(l)), full.console.join("\n"));
      } finally {
        await full.close();
      }
      const stop = await openServedPage(
        browser,
        files,
        "/index.html?steps=100000&eval_batches=1&log_every=1",
      );
      try {
        // a string: the predicate runs in the page, where `document` exists
        await stop.page.waitForFunction(
          `/step \\d+/.test(document.getElementById("status").textContent)`,
          undefined,
          { timeout: 120_000 },
        );
        await stop.page.click("#stop");
        const r = await waitForGlobal<PageResult>(stop, "__kilnTrainResult", 120_000);
        assert.equal(r.stopped, true);
        assert.ok(r.steps >= 1 && r.steps < 100000, `stopped at ${r.steps}`);
        assert.ok(Number.isFinite(r.finalValLoss));
      } finally {
        await stop.close();
      }
    } finally {
      await browser.close();
    }
  },
);

Deno.test("deno task viz serves the trainer at /train/ with its bundled script", async () => {
  const logdir = await Deno.makeTempDir();
  const viz = await startVizServer({ logdir, port: 0, pollMs: 100, rescanMs: 0 });
  try {
    const moved = await fetch(`${viz.url}train`, { redirect: "manual" });
    await moved.body?.cancel();
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.get("location"), "/train/");
    const page = await fetch(`${viz.url}train/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="train\.js">/);
    const script = await fetch(`${viz.url}train/train.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /javascript/);
    const body = await script.text();
    // the engine's shaders travel inside the bundle
    assert.ok(body.includes("@compute"), "bundle carries WGSL");
    assert.ok(!/\bDeno\.(readFile|readTextFile|Command)\b/.test(body), "no Deno API in the page");
  } finally {
    await viz.shutdown();
    await Deno.remove(logdir, { recursive: true });
  }
});

Deno.test("the loss chart draws train as a line, val as dots and L* dashed", () => {
  const svg = lossChartSvg([
    { type: "train", step: 25, loss: 1.2 },
    { type: "train", step: 50, loss: 1.0 },
    { type: "val", step: 50, loss: 0.95 },
  ], { optimalLoss: L_STAR, totalSteps: 100 });
  assert.equal(svg.match(/<polyline class="train"/g)?.length, 1);
  assert.equal(svg.match(/<circle class="val"/g)?.length, 1);
  assert.match(svg, /L\* 0\.8594/);
  // L* sits below every loss, so its line is the lowest drawn element
  const lineY = Number(svg.match(/class="optimal"[^>]*y1="([\d.]+)"/)![1]);
  const dotY = Number(svg.match(/<circle class="val" cx="[\d.]+" cy="([\d.]+)"/)![1]);
  assert.ok(lineY > dotY);
});

/**
 * The visualizer's extra charts in Chromium: every numeric train field beyond the built-in ones
 * and every diag field that varies gets a chart, constants and non-numbers get none.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startVizServer } from "../../src/viz/server.ts";
import { chromiumPath, testNeeding } from "../_support/env.ts";
import { launchChromium, newDesktopPage } from "./_browser.ts";
import { writeFixtureRun } from "./_fixture.ts";

const CHROMIUM = await chromiumPath();
const RUN = { experiment: "d", dirName: "20250101-000000-dddd", steps: 60, evalEvery: 20 };

/** Diagnostics lines as the trainer writes them (src/train/diagnostics.ts), every 10 steps. */
function diagLines(): string[] {
  const lines: string[] = [];
  for (let step = 10; step <= RUN.steps; step += 10) {
    lines.push(JSON.stringify({
      type: "diag",
      step,
      elapsed_s: step * 0.05,
      "grad_norm/h.0.ln_1.weight": 0.1 + 1 / step,
      "attention_entropy/h.0": 1.5 - step / 100,
      gpu_bytes: 4096, // constant: no chart
      note: "text", // not a number: no chart
    }));
  }
  return lines;
}

testNeeding(
  "Chromium",
  CHROMIUM !== null,
  "viz: varying diag and extra train fields get charts; constants and text do not",
  async () => {
    const logdir = await Deno.makeTempDir({ prefix: "kiln-viz-diag-" });
    const dir = await writeFixtureRun(logdir, RUN);
    // Extra train fields: tf_ratio varies, loss_scale stays put.
    const metrics = join(dir, "metrics.jsonl");
    const train = (await Deno.readTextFile(metrics)).trimEnd().split("\n").map((l) => {
      const r = JSON.parse(l);
      if (r.type === "train") Object.assign(r, { tf_ratio: 1 - r.step / 120, loss_scale: 1024 });
      return JSON.stringify(r);
    });
    await Deno.writeTextFile(metrics, [...train, ...diagLines()].join("\n") + "\n");
    const viz = await startVizServer({ logdir, port: 0, pollMs: 100, rescanMs: 0 });
    const browser = await launchChromium(CHROMIUM!);
    try {
      const page = await newDesktopPage(browser);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${viz.url}#runs=${RUN.dirName}`);
      await page.waitForFunction("globalThis.kiln?.ready === true");
      await page.waitForFunction(
        `document.querySelector('[data-chart="diag_attention_entropy/h.0"] .plot')` +
          `?.dataset.series === "1"`,
      );
      const charts = await page.$$eval(
        "[data-chart]",
        (boxes) =>
          Object.fromEntries(boxes.map((b) => [
            b.getAttribute("data-chart"),
            Number(b.querySelector(".plot")!.getAttribute("data-series")),
          ])),
      );
      const extras = Object.keys(charts).filter((k) => /^(diag|train)_/.test(k)).sort();
      assert.deepEqual(extras, [
        "diag_attention_entropy/h.0",
        "diag_grad_norm/h.0.ln_1.weight",
        "train_loss",
        "train_tf_ratio",
      ]);
      for (const k of extras) assert.equal(charts[k], k === "train_loss" ? 2 : 1, k);
      // The diag chart holds the six diag points at their steps.
      const xs = await page.evaluate(
        `kiln.state.data.get("${RUN.dirName}").diag["attention_entropy/h.0"].x`,
      );
      assert.deepEqual(xs, [10, 20, 30, 40, 50, 60]);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await viz.shutdown();
      await Deno.remove(logdir, { recursive: true });
    }
  },
);

/**
 * The page in a real browser: headless Debian Chromium driven by playwright-core opens the
 * visualizer on fixture runs, selects two runs, switches the x axis and checks what was drawn.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chromiumPath, testNeeding } from "../_support/env.ts";
import { startVizServer } from "../../src/viz/server.ts";
import { launchChromium, newDesktopPage } from "./_browser.ts";
import { metricsLines, writeFixtureRun } from "./_fixture.ts";

const CHROMIUM = await chromiumPath();

/** A page expression: the chart `key` has drawn `n` series. */
function seriesDrawn(key: string, n: number): string {
  return `document.querySelector('[data-chart="${key}"] .plot')?.dataset.series === "${n}"`;
}
const ARTIFACTS = ".test-artifacts";

const RUNS = [
  {
    experiment: "mess3",
    dirName: "20250101-000000-aaaa",
    steps: 2000,
    spikes: [700],
    taskMetrics: true,
    created: "2025-01-01T00:00:00Z",
  },
  {
    experiment: "mess3",
    dirName: "20250102-000000-bbbb",
    steps: 1500,
    lossScale: 1.15,
    lr: 3e-4,
    taskMetrics: true,
    created: "2025-01-02T00:00:00Z",
  },
  {
    experiment: "shakespeare",
    dirName: "20250103-000000-cccc",
    steps: 300,
    status: "running",
    created: "2025-01-03T00:00:00Z",
  },
];

testNeeding(
  "Chromium",
  CHROMIUM !== null,
  "the page plots two selected runs, switches x axis, follows a live run",
  async () => {
    const logdir = await Deno.makeTempDir({ prefix: "kiln-viz-browser-" });
    for (const run of RUNS) await writeFixtureRun(logdir, run);
    const viz = await startVizServer({ logdir, port: 0, pollMs: 100, rescanMs: 0 });
    const browser = await launchChromium(CHROMIUM!);
    try {
      const page = await newDesktopPage(browser);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      // Start with nothing selected, then pick the two mess3 runs by clicking their checkboxes.
      await page.goto(`${viz.url}#runs=`);
      await page.waitForFunction("globalThis.kiln?.ready === true");
      assert.equal(await page.locator("#run-list li").count(), 3);
      await page.fill("#filter", "mess3");
      assert.equal(await page.locator("#run-list li").count(), 2);
      await page.fill("#filter", "learning_rate=0.0003");
      assert.equal(await page.locator("#run-list li").count(), 1);
      await page.fill("#filter", "");
      for (const run of RUNS.slice(0, 2)) {
        await page.locator(`#run-list input[data-run="${run.dirName}"]`).check();
      }
      await page.waitForFunction(seriesDrawn("lr", 2));
      const seriesCount = () =>
        page.$$eval("[data-chart]", (boxes) =>
          Object.fromEntries(boxes.map((b) => [
            b.getAttribute("data-chart"),
            Number(b.querySelector(".plot")!.getAttribute("data-series")),
          ])));
      // Two runs: train loss raw + smoothed each, val loss + ppl each, one line per run elsewhere.
      assert.deepEqual(await seriesCount(), {
        train_loss: 4,
        val_loss: 4,
        lr: 2,
        tokens_per_s: 2,
        grad_norm: 2,
        progress_to_optimal: 2,
        val_accuracy: 2,
      });
      assert.equal(await page.locator("canvas").count(), 7);
      assert.equal(await page.locator("#summary-table tr").count(), 3);
      // Config comparison highlights the keys that differ: learning_rate and max_steps.
      assert.deepEqual(
        await page.$$eval(
          "#config-table tr.diff td:first-child",
          (tds) => tds.map((t) => t.textContent),
        ),
        ["training.learning_rate", "training.max_steps"],
      );

      // Switch the x axis to tokens: the series are refetched against tokens.
      await page.selectOption("#x-axis", "tokens");
      await page.waitForFunction(`kiln.state.data.get("${RUNS[0].dirName}")?.x === "tokens"`);
      await page.waitForFunction(seriesDrawn("lr", 2));
      assert.equal((await seriesCount()).train_loss, 4);
      const lastX = await page.evaluate(
        `kiln.state.data.get("${RUNS[0].dirName}").train.loss.x.at(-1)`,
      );
      assert.equal(lastX, 2000 * 1024);

      // Hovering a chart lists every selected run's value.
      const box = (await page.locator('[data-chart="train_loss"] .u-over').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForSelector("#tooltip:not([hidden])");
      assert.equal(await page.locator("#tooltip .row").count(), 4);

      // Select the running run too and append to it: the live stream brings the new points.
      await page.locator(`#run-list input[data-run="${RUNS[2].dirName}"]`).check();
      await page.waitForFunction(seriesDrawn("lr", 3));
      const live = { ...RUNS[2], steps: 320 };
      await Deno.writeTextFile(
        join(logdir, "shakespeare", RUNS[2].dirName, "metrics.jsonl"),
        metricsLines(live, 301, 320).join("\n") + "\n",
        { append: true },
      );
      await page.waitForFunction(
        `kiln.state.data.get("${RUNS[2].dirName}")?.train.lr.x.at(-1) === ${320 * 1024}`,
      );

      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.mouse.move(0, 0);
      await page.screenshot({ path: join(ARTIFACTS, "viz_page.png"), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await viz.shutdown();
    }
  },
);

/** The visualizer's sweep filter and its table of varied keys against best val loss (Chromium). */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startVizServer } from "../../src/viz/server.ts";
import { chromiumPath, testNeeding } from "../_support/env.ts";
import { launchChromium, newDesktopPage } from "./_browser.ts";
import { fixtureValLoss, writeFixtureRun } from "./_fixture.ts";

const CHROMIUM = await chromiumPath();

const RUNS = [
  { experiment: "m", dirName: "20250101-000000-aaaa", steps: 200, lossScale: 1.2, lr: 1e-3 },
  { experiment: "m", dirName: "20250101-000001-bbbb", steps: 200, lossScale: 1.0, lr: 3e-3 },
  { experiment: "m", dirName: "20250101-000002-cccc", steps: 200 },
];

testNeeding(
  "Chromium",
  CHROMIUM !== null,
  "viz: the sweep filter shows one sweep's runs and its varied keys by best val loss",
  async () => {
    const logdir = await Deno.makeTempDir({ prefix: "kiln-viz-sweep-" });
    for (const [i, run] of RUNS.entries()) {
      const dir = await writeFixtureRun(logdir, run);
      if (i === 2) continue; // not part of the sweep
      const info = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
      info.sweep_id = "m-0123456789ab";
      info.sweep_index = i;
      info.sweep = { "training.learning_rate": run.lr };
      await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(info));
    }
    const viz = await startVizServer({ logdir, port: 0, pollMs: 100, rescanMs: 0 });
    const browser = await launchChromium(CHROMIUM!);
    try {
      const page = await newDesktopPage(browser);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${viz.url}#runs=`);
      await page.waitForFunction("globalThis.kiln?.ready === true");
      assert.equal(await page.locator("#run-list li").count(), 3);
      assert.equal(await page.locator("#sweep-section").isHidden(), true);
      await page.selectOption("#sweep-filter", "m-0123456789ab");
      assert.equal(await page.locator("#run-list li").count(), 2);
      const rows = await page.$$eval(
        "#sweep-table tr",
        (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)),
      );
      const best = (run: typeof RUNS[number]) => fixtureValLoss(run, 200);
      assert.deepEqual(rows, [
        ["run", "status", "training.learning_rate", "best val loss"],
        ["m/20250101-000001-bbbb", "finished", "3.00e-3", best(RUNS[1]).toPrecision(4)],
        ["m/20250101-000000-aaaa", "finished", "1.00e-3", best(RUNS[0]).toPrecision(4)],
      ]);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await viz.shutdown();
      await Deno.remove(logdir, { recursive: true });
    }
  },
);

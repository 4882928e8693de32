/**
 * The mess3 demo step on two WebGPU implementations in one run: kiln's in-tab trainer
 * (`src/web/train_tab.ts`, the code behind viz's `/train` page) under Deno (wgpu/Naga on the
 * default adapter, lavapipe here) and the same page in headless Chromium (Dawn/Tint, SwiftShader
 * here). Both train configs/mess3.yaml for `--steps` steps, logging every `--every`; the steady
 * ms/step is measured between the first and the last log line, so pipeline compilation (the
 * first window) is reported apart.
 *
 *   deno run -A bench/tab_step.ts [--steps 40] [--every 4] [--chromium /usr/bin/chromium]
 */

import { parseArgs } from "node:util";
import mess3Yaml from "../configs/mess3.yaml" with { type: "text" };
import { Device } from "../src/gpu/device.ts";
import { TRAIN_PAGE_HTML, trainPageScript } from "../src/web/train_page_build.ts";
import { parseProcessConfig, trainProcessInTab } from "../src/web/train_tab.ts";
import {
  launchWebGpuChromium,
  openServedPage,
  waitForGlobal,
} from "../tests/_support/browser_gpu.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "40" },
    every: { type: "string", default: "4" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});
const steps = Number(values.steps);
const every = Number(values.every);

interface Timing {
  adapter: string;
  firstWindowS: number;
  steadyMsPerStep: number;
  finalValLoss: number;
}

/** ms/step between the first and last log line (each `every` steps apart). */
function timingOf(
  adapter: string,
  logTimesMs: number[],
  finalValLoss: number,
): Timing {
  const trainTimes = logTimesMs.slice(0, Math.floor(steps / every));
  const span = trainTimes.at(-1)! - trainTimes[0];
  return {
    adapter,
    firstWindowS: trainTimes[0] / 1000,
    steadyMsPerStep: span / ((trainTimes.length - 1) * every),
    finalValLoss,
  };
}

async function inDeno(): Promise<Timing> {
  const cfg = parseProcessConfig(mess3Yaml, "configs/mess3.yaml");
  cfg.training.log_every = every;
  cfg.training.eval_batches = 4;
  const dev = await Device.open();
  const start = performance.now();
  const times: number[] = [];
  const r = await trainProcessInTab(dev, cfg, {
    steps,
    probe: false,
    onLog: (line) => {
      if (line.type === "train") times.push(performance.now() - start);
    },
  });
  const adapter = `${dev.adapterInfo.vendor} ${dev.adapterInfo.description}`
    .trim();
  dev.destroy();
  return timingOf(
    `Deno ${Deno.version.deno}, ${adapter}`,
    times,
    r.finalValLoss,
  );
}

async function inChromium(): Promise<Timing> {
  const files = {
    "/index.html": { type: "text/html", body: TRAIN_PAGE_HTML },
    "/train.js": { type: "text/javascript", body: await trainPageScript() },
  };
  const browser = await launchWebGpuChromium(values.chromium!);
  try {
    const page = await openServedPage(
      browser,
      files,
      `/index.html?steps=${steps}&eval_batches=4&log_every=${every}`,
    );
    const r = await waitForGlobal<
      { logTimesMs: number[]; finalValLoss: number }
    >(
      page,
      "__kilnTrainResult",
      1_200_000,
    );
    const adapter = await page.page.locator("#adapter").textContent();
    await page.close();
    return timingOf(
      `Chromium ${browser.version()}, ${adapter}`,
      r.logTimesMs,
      r.finalValLoss,
    );
  } finally {
    await browser.close();
  }
}

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(
  `mess3 demo step, ${steps} steps, log every ${every}; load ${load()}`,
);
for (const run of [inDeno, inChromium]) {
  const t = await run();
  console.log(
    `${t.adapter}: first ${every} steps ${t.firstWindowS.toFixed(1)} s (compilation), then ` +
      `${t.steadyMsPerStep.toFixed(0)} ms/step; val loss ${t.finalValLoss.toFixed(4)}; ` +
      `load ${load()}`,
  );
}

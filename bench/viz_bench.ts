/**
 * Visualizer speed with many long runs. `deno run -A bench/viz_bench.ts [runs] [steps]` (default
 * 50 runs × 100,000 steps) writes fixture runs once (cached in the temp dir), then measures:
 * indexing at startup, the API's time to downsample one 100,000-step series to 2,000 points,
 * and page load to first chart in headless Chromium — with the page's downsampled series and,
 * side by side, the same page asking for full resolution (the naive peer). Under `deno bench` only
 * the in-process downsampling is timed.
 */

import { join } from "node:path";
import { chromiumPath } from "../tests/_support/env.ts";
import { downsampleMinMax } from "../src/viz/downsample.ts";
import { startVizServer } from "../src/viz/server.ts";
import { launchChromium, newDesktopPage } from "../tests/viz/_browser.ts";
import { type FixtureRun, metricsLines, writeFixtureRun } from "../tests/viz/_fixture.ts";

const N = 100_000;
const steps = Float64Array.from({ length: N }, (_, i) => i + 1);
const losses = Float64Array.from({ length: N }, (_, i) => 3 * Math.exp(-i / 2e4) + Math.sin(i));

Deno.bench("downsampleMinMax 100,000 → 2,000 points", () => {
  downsampleMinMax(steps, losses, 2000);
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function writeFixtures(runs: number, stepsPerRun: number): Promise<string> {
  const logdir = join(Deno.env.get("TMPDIR") ?? "/tmp", `kiln-viz-bench-${runs}x${stepsPerRun}`);
  const done = join(logdir, ".complete");
  if (await Deno.stat(done).catch(() => null)) return logdir;
  await Deno.remove(logdir, { recursive: true }).catch(() => {});
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) {
    const day = String(1 + (r % 28)).padStart(2, "0");
    const run: FixtureRun = {
      experiment: `sweep${r % 5}`,
      dirName: `202501${day}-${String(r).padStart(6, "0")}-${r.toString(16).padStart(4, "0")}`,
      steps: 0,
      lossScale: 1 + r / 100,
      spikes: [1000 + r * 37],
      created: `2025-01-${day}T00:00:${String(r % 60).padStart(2, "0")}Z`,
    };
    const dir = await writeFixtureRun(logdir, run);
    const file = await Deno.open(join(dir, "metrics.jsonl"), { append: true });
    const enc = new TextEncoder();
    for (let from = 1; from <= stepsPerRun; from += 10_000) {
      const lines = metricsLines(
        { ...run, steps: stepsPerRun },
        from,
        Math.min(stepsPerRun, from + 9_999),
      );
      const bytes = enc.encode(lines.join("\n") + "\n");
      for (let w = 0; w < bytes.length;) w += await file.write(bytes.subarray(w));
    }
    file.close();
  }
  await Deno.writeTextFile(done, "");
  console.log(
    `fixtures: ${runs} runs × ${stepsPerRun} steps written in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  return logdir;
}

async function main(runs: number, stepsPerRun: number) {
  const logdir = await writeFixtures(runs, stepsPerRun);
  let t0 = performance.now();
  const viz = await startVizServer({ logdir, port: 0 });
  const indexS = (performance.now() - t0) / 1000;
  const rssMb = Deno.memoryUsage().rss / 2 ** 20;
  console.log(
    `server: indexed ${runs} runs in ${indexS.toFixed(2)} s (rss ${rssMb.toFixed(0)} MiB)`,
  );
  try {
    const id = viz.index.all()[0].ref.id;
    const api = async (query: string) => {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 15; i++) {
        t0 = performance.now();
        const body = await (await fetch(new URL(`/api/runs/${id}/series?${query}`, viz.url)))
          .text();
        times.push(performance.now() - t0);
        bytes = body.length;
      }
      return { ms: median(times), kb: bytes / 1024 };
    };
    const down = await api("points=2000&fields=loss");
    const full = await api(`points=${stepsPerRun}&fields=loss`);
    const inProc: number[] = [];
    const entry = viz.index.all()[0];
    for (let i = 0; i < 15; i++) {
      t0 = performance.now();
      downsampleMinMax(entry.log.train.column("step")!, entry.log.train.column("loss")!, 2000);
      inProc.push(performance.now() - t0);
    }
    console.log(
      `api: one ${stepsPerRun}-step loss series → 2000 points: ${down.ms.toFixed(1)} ms HTTP ` +
        `(${down.kb.toFixed(0)} KiB; downsample alone ${median(inProc).toFixed(2)} ms) vs full ` +
        `resolution ${full.ms.toFixed(1)} ms (${full.kb.toFixed(0)} KiB): ${
          (full.ms / down.ms).toFixed(1)
        }×`,
    );
    const exe = await chromiumPath();
    if (!exe) return console.log("page: skipped, Chromium not found");
    const browser = await launchChromium(exe);
    try {
      const allIds = viz.index.all().map((e) => e.ref.id).join(",");
      const firstChart = async (hash: string) => {
        const times: number[] = [];
        for (let i = 0; i < 3; i++) {
          const page = await newDesktopPage(browser);
          await page.goto(`${viz.url}#${hash}`);
          await page.waitForFunction("globalThis.kiln?.ready === true", null, { timeout: 120_000 });
          times.push(
            await page.evaluate(
              "new Promise((r) => requestAnimationFrame(() => r(performance.now())))",
            ) as number,
          );
          await page.close();
        }
        return median(times);
      };
      const rows: [string, string][] = [
        ["default view (6 newest runs)", ""],
        [`all ${runs} runs selected`, `runs=${allIds}`],
      ];
      for (const [label, hash] of rows) {
        const fast = await firstChart(hash);
        const naive = await firstChart(`${hash}&points=${stepsPerRun}`);
        console.log(
          `page: ${label}: first chart ${(fast / 1000).toFixed(2)} s with 1000-point series vs ` +
            `${(naive / 1000).toFixed(2)} s at full resolution: ${(naive / fast).toFixed(1)}×`,
        );
      }
    } finally {
      await browser.close();
    }
  } finally {
    await viz.shutdown();
  }
}

if (import.meta.main) {
  await main(Number(Deno.args[0] ?? 50), Number(Deno.args[1] ?? 100_000));
}

/// <reference lib="dom" />
/**
 * The `/train` page: trains the mess3 demo model in the tab on the visitor's GPU (WebGPU), with a
 * live loss chart against L*, a Stop button and the belief probe's numbers at the end. Nothing is
 * computed on a server. `?steps=N`, `?eval_batches=N`, `?log_every=N` and `?lr=X` shorten the run or log more often
 * (the tests use them).
 * When it ends the page sets `globalThis.__kilnTrainResult` (or `__kilnTrainError`).
 *
 * @module
 */

import mess3Yaml from "../../configs/mess3.yaml" with { type: "text" };
import { Device } from "../gpu/device.ts";
import { lossChartSvg } from "./loss_chart.ts";
import { parseProcessConfig, type TabLogLine, trainProcessInTab } from "./train_tab.ts";

const $ = (id: string) => document.getElementById(id)!;
const global = globalThis as unknown as Record<string, unknown>;

function positiveParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`?${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const cfg = parseProcessConfig(mess3Yaml, "configs/mess3.yaml");
  const steps = positiveParam(params, "steps") ?? cfg.training.max_steps!;
  cfg.training.eval_batches = positiveParam(params, "eval_batches") ?? cfg.training.eval_batches;
  cfg.training.log_every = positiveParam(params, "log_every") ?? cfg.training.log_every;
  const lr = Number(params.get("lr") ?? cfg.training.learning_rate);
  if (!(lr > 0)) throw new Error("?lr must be a positive number");
  cfg.training.learning_rate = lr;
  if (!("gpu" in navigator)) throw new Error("this browser has no WebGPU (navigator.gpu)");
  const dev = await Device.open();
  $("adapter").textContent = `${dev.adapterInfo.vendor} ${dev.adapterInfo.description}`.trim() ||
    "WebGPU adapter";
  const lines: TabLogLine[] = [];
  let stop = false;
  const button = $("stop") as HTMLButtonElement;
  button.disabled = false;
  button.onclick = () => {
    stop = true;
    button.disabled = true;
    $("status").textContent = "stopping after this step…";
  };
  let lStar = NaN;
  const pageStart = performance.now();
  const logTimes: number[] = [];
  const result = await trainProcessInTab(dev, cfg, {
    steps,
    shouldStop: () => stop,
    onLog: (line) => {
      lines.push(line);
      logTimes.push(Math.round(performance.now() - pageStart));
      const last = lines.filter((l) => l.type === "train").at(-1);
      $("status").textContent = `step ${line.step}/${steps}` +
        (last ? `, train loss ${last.loss.toFixed(4)}` : "") +
        (line.type === "val" ? `, val loss ${line.loss.toFixed(4)}` : "");
      $("chart").innerHTML = lossChartSvg(lines, { optimalLoss: lStar, totalSteps: steps });
    },
    onStart: (info) => {
      lStar = info.optimalLoss;
      $("lstar").textContent = lStar.toFixed(5);
    },
  });
  button.disabled = true;
  $("chart").innerHTML = lossChartSvg(lines, { optimalLoss: lStar, totalSteps: steps });
  const gap = result.finalValLoss - result.optimalLoss;
  $("status").textContent = `${result.stopped ? "stopped" : "finished"} at step ${result.steps} ` +
    `in ${(result.elapsedMs / 1000).toFixed(1)} s: val loss ${result.finalValLoss.toFixed(4)}, ` +
    `L* ${result.optimalLoss.toFixed(4)} (gap ${gap.toFixed(4)})`;
  if (result.probe) {
    $("probe").innerHTML = "<tr><th>layer</th><th>MSE</th><th>R²</th><th>CV R²</th>" +
      "<th>shuffled R²</th></tr>" + result.probe.layers.map((l) =>
        `<tr><td>${l.name}</td><td>${l.mse.toExponential(2)}</td><td>${l.r2.toFixed(3)}</td>` +
        `<td>${l.cv_r2.toFixed(3)}</td><td>${l.shuffled_r2.toFixed(3)}</td></tr>`
      ).join("");
  }
  dev.destroy();
  global.__kilnTrainResult = {
    steps: result.steps,
    stopped: result.stopped,
    finalValLoss: result.finalValLoss,
    optimalLoss: result.optimalLoss,
    valSetOptimalLoss: result.valSetOptimalLoss,
    trainLines: result.train.length,
    valLines: result.val.length,
    probe: result.probe?.layers.map((l) => ({ name: l.name, cv_r2: l.cv_r2 })) ?? null,
    elapsedMs: result.elapsedMs,
    trainMs: result.trainMs,
    evalMs: result.evalMs,
    logTimesMs: logTimes,
  };
}

main().catch((err) => {
  const message = (err as Error).message ?? String(err);
  $("status").textContent = `error: ${message}`;
  global.__kilnTrainError = message;
});

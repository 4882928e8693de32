/**
 * The browser trainer's loss chart as an SVG string: train and val loss against step, and the
 * optimal loss L* as a dashed line, on axes that keep L* in view.
 *
 * @module
 */

/** A point of a loss curve. */
export interface LossPoint {
  type: "train" | "val";
  step: number;
  loss: number;
}

const WIDTH = 640;
const HEIGHT = 320;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };

/**
 * Draws `points` (train as a line, val as dots) with L* dashed.
 *
 * @example
 * ```ts
 * const svg = lossChartSvg([{ type: "train", step: 25, loss: 1.1 }], { optimalLoss: 0.859, totalSteps: 600 });
 * ```
 */
export function lossChartSvg(
  points: LossPoint[],
  opts: { optimalLoss: number; totalSteps: number },
): string {
  const finite = points.filter((p) => Number.isFinite(p.loss));
  const values = finite.map((p) => p.loss);
  if (Number.isFinite(opts.optimalLoss)) values.push(opts.optimalLoss);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const margin = Math.max((hi - lo) * 0.05, 1e-3);
  const [y0, y1] = [lo - margin, hi + margin];
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (step: number) => PAD.left + (step / Math.max(1, opts.totalSteps)) * plotW;
  const y = (loss: number) => PAD.top + (1 - (loss - y0) / (y1 - y0)) * plotH;
  const path = (type: LossPoint["type"]) =>
    finite.filter((p) => p.type === type).map((p) =>
      `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`
    );
  const train = path("train");
  const val = path("val");
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    parts.push(
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`,
      `<text x="${x((opts.totalSteps * i) / 4)}" y="${HEIGHT - PAD.bottom + 16}" ` +
        `text-anchor="middle">${Math.round((opts.totalSteps * i) / 4)}</text>`,
    );
  }
  parts.push(
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 4}" text-anchor="middle">step</text>`,
  );
  if (Number.isFinite(opts.optimalLoss)) {
    const ly = y(opts.optimalLoss).toFixed(1);
    parts.push(
      `<line class="optimal" x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${ly}" y2="${ly}" ` +
        `stroke="#2a7" stroke-dasharray="6 4"/>`,
      `<text x="${PAD.left + plotW - 4}" y="${Number(ly) - 4}" text-anchor="end" fill="#2a7">` +
        `L* ${opts.optimalLoss.toFixed(4)}</text>`,
    );
  }
  if (train.length) {
    parts.push(
      `<polyline class="train" points="${
        train.join(" ")
      }" fill="none" stroke="#36c" stroke-width="1.5"/>`,
    );
  }
  for (const p of val) {
    const [cx, cy] = p.split(",");
    parts.push(`<circle class="val" cx="${cx}" cy="${cy}" r="3.5" fill="#d52"/>`);
  }
  parts.push("</svg>");
  return parts.join("");
}

/**
 * 2-D pictures of belief states: for 3-state processes the probability simplex drawn as an
 * equilateral triangle (mess3's beliefs make a Sierpinski-like fractal there); otherwise the top
 * two principal axes of the true beliefs, with predicted beliefs projected on the same axes.
 *
 * @module
 */

import { escapeXml } from "./heatmap.ts";

/** How points were placed in the plane. */
export interface Projection {
  kind: "simplex" | "pca";
  /** Corner positions of the simplex (3-state case), else null. */
  vertices: [number, number][] | null;
  /** Projects one belief vector. */
  project(belief: ArrayLike<number>): [number, number];
}

const SIMPLEX_VERTICES: [number, number][] = [[0, 0], [1, 0], [0.5, Math.sqrt(3) / 2]];

/** The projection for beliefs with `dim` coordinates, fitted to `beliefs` (row-major) for PCA. */
export function beliefProjection(beliefs: Float64Array, dim: number): Projection {
  if (dim === 3) {
    return {
      kind: "simplex",
      vertices: SIMPLEX_VERTICES,
      project: (b) => [
        b[0] * SIMPLEX_VERTICES[0][0] + b[1] * SIMPLEX_VERTICES[1][0] +
        b[2] * SIMPLEX_VERTICES[2][0],
        b[0] * SIMPLEX_VERTICES[0][1] + b[1] * SIMPLEX_VERTICES[1][1] +
        b[2] * SIMPLEX_VERTICES[2][1],
      ],
    };
  }
  const n = beliefs.length / dim;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) mean[c] += beliefs[i * dim + c] / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      for (let b = 0; b < dim; b++) {
        cov[a * dim + b] += (beliefs[i * dim + a] - mean[a]) * (beliefs[i * dim + b] - mean[b]) / n;
      }
    }
  }
  const axes = topEigenvectors(cov, dim, Math.min(2, dim));
  while (axes.length < 2) axes.push(new Float64Array(dim));
  return {
    kind: "pca",
    vertices: null,
    project: (b) => {
      const p: [number, number] = [0, 0];
      for (let k = 0; k < 2; k++) {
        for (let c = 0; c < dim; c++) p[k] += (b[c] - mean[c]) * axes[k][c];
      }
      return p;
    },
  };
}

/** Leading eigenvectors of a symmetric matrix by power iteration with deflation. */
function topEigenvectors(m: Float64Array, n: number, count: number): Float64Array[] {
  const a = Float64Array.from(m);
  const out: Float64Array[] = [];
  for (let k = 0; k < count; k++) {
    let v = Float64Array.from({ length: n }, (_, i) => 1 + i * 0.1 + k);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i] += a[i * n + j] * v[j];
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      lambda = norm;
      v = w.map((x) => x / norm);
    }
    out.push(v);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] -= lambda * v[i] * v[j];
  }
  return out;
}

/** One panel of the picture: projected points with a colour each. */
export interface ScatterPanel {
  title: string;
  points: [number, number][];
}

/**
 * An SVG with the panels side by side on shared axes. `colors[i]` colours point i in every panel
 * (for 3-state beliefs, the belief itself as RGB, as in the belief-geometry papers).
 */
export function scatterSvg(
  panels: ScatterPanel[],
  colors: string[],
  opts: { vertices?: [number, number][] | null; caption?: string } = {},
): string {
  const size = 360;
  const pad = 24;
  const all = panels.flatMap((p) => p.points).concat(opts.vertices ?? []);
  const xs = all.map((p) => p[0]).filter(Number.isFinite);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0, 1e-12);
  const sx = (x: number) => pad + ((x - x0) / span) * (size - 2 * pad);
  const sy = (y: number) => size - pad - ((y - y0) / span) * (size - 2 * pad);
  const height = size + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size * panels.length}" height="${height}" ` +
    `viewBox="0 0 ${size * panels.length} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  panels.forEach((panel, k) => {
    parts.push(`<g transform="translate(${k * size},20)">`);
    parts.push(`<text x="${size / 2}" y="0" text-anchor="middle">${escapeXml(panel.title)}</text>`);
    if (opts.vertices) {
      const pts = opts.vertices.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
      parts.push(`<polygon points="${pts.join(" ")}" fill="none" stroke="#999"/>`);
    }
    panel.points.forEach(([x, y], i) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      parts.push(
        `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="1.2" fill="${colors[i]}"/>`,
      );
    });
    parts.push("</g>");
  });
  if (opts.caption) {
    parts.push(
      `<text x="8" y="${height - 6}" fill="#444">${escapeXml(opts.caption)}</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** A belief's colour: its first three coordinates as RGB (grey for 1–2 states). */
export function beliefColor(b: ArrayLike<number>): string {
  const c = (i: number) => Math.round(255 * Math.min(1, Math.max(0, b[i] ?? b[0])));
  return `rgb(${c(0)},${c(1)},${c(2)})`;
}

/**
 * Attention maps as pictures: SVG and PNG, both with token labels on the axes, a title and a
 * colour bar (the PNG draws its text with kiln's own bitmap font and its own PNG encoder).
 */

import {
  drawableChar,
  GLYPH_ADVANCE,
  GLYPH_HEIGHT,
  GLYPH_WIDTH,
  glyphPixel,
} from "./bitmap_font.ts";

/** A row-major matrix of values in [0, 1] (attention probabilities: rows are queries). */
export interface Heatmap {
  rows: number;
  cols: number;
  values: ArrayLike<number>;
  rowLabels?: string[];
  colLabels?: string[];
  title?: string;
}

const XML_ENTITIES: Record<string, string> = {
  "<": "&lt;",
  ">": "&gt;",
  "&": "&amp;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => XML_ENTITIES[c]);
}

/** White (0) to dark blue (1). */
export function shade(v: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, v));
  return [Math.round(255 - 247 * t), Math.round(255 - 207 * t), Math.round(255 - 148 * t)];
}

/** Renders a heatmap as a standalone SVG document with token labels on both axes. */
export function heatmapSvg(map: Heatmap, cell = 18): string {
  const labelW = map.rowLabels ? 80 : 0;
  const labelH = map.colLabels ? 80 : 0;
  const top = (map.title ? 20 : 0) + labelH;
  const w = labelW + map.cols * cell + 4;
  const h = top + map.rows * cell + 4;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="monospace" font-size="10">`,
  ];
  if (map.title) parts.push(`<text x="2" y="14" font-size="12">${escapeXml(map.title)}</text>`);
  for (let i = 0; i < map.rows; i++) {
    for (let j = 0; j < map.cols; j++) {
      const v = map.values[i * map.cols + j];
      const [r, g, b] = shade(v);
      parts.push(
        `<rect x="${labelW + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" ` +
          `fill="rgb(${r},${g},${b})"><title>${v.toFixed(4)}</title></rect>`,
      );
    }
    if (map.rowLabels) {
      parts.push(
        `<text x="${labelW - 4}" y="${top + i * cell + cell * 0.7}" text-anchor="end">` +
          `${escapeXml(map.rowLabels[i] ?? "")}</text>`,
      );
    }
  }
  if (map.colLabels) {
    for (let j = 0; j < map.cols; j++) {
      const x = labelW + j * cell + cell * 0.7;
      parts.push(
        `<text x="${x}" y="${top - 4}" transform="rotate(-60 ${x} ${top - 4})">` +
          `${escapeXml(map.colLabels[j] ?? "")}</text>`,
      );
    }
  }
  parts.push("</svg>");
  return parts.join("\n");
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function zlibDeflate(data: Uint8Array): Promise<Uint8Array> {
  // CompressionStream("deflate") emits the zlib format PNG's IDAT expects.
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Characters of an axis label drawn in the PNG at most (longer ones are cut). */
export const PNG_LABEL_CHARS = 8;
const MARGIN = 4;
const BAR_WIDTH = 10;
const BAR_TICKS = [[1, "1"], [0.5, "0.5"], [0, "0"]] as const;

/** Where each part of a heatmap PNG sits (pixels from the top left). */
export interface HeatmapLayout {
  width: number;
  height: number;
  /** Top left of the title text. */
  title: { x: number; y: number };
  /** Top left of cell (0, 0); cells are `cell` pixels square. */
  grid: { x: number; y: number; cell: number };
  /** The colour bar: value 1 at the top row, 0 at the bottom row. */
  bar: { x: number; y: number; width: number; height: number };
}

/** Labels as the PNG draws them: printable ASCII, cut to {@link PNG_LABEL_CHARS}. */
export function pngLabel(label: string): string {
  return [...label].slice(0, PNG_LABEL_CHARS).map(drawableChar).join("");
}

/** The PNG's layout: title on top, column labels above the grid, row labels left, bar right. */
export function heatmapLayout(map: Heatmap, scale = 8): HeatmapLayout {
  const widest = (labels?: string[]) =>
    labels?.length ? Math.max(...labels.map((l) => pngLabel(l).length)) * GLYPH_ADVANCE + 4 : 0;
  const titleH = map.title ? GLYPH_HEIGHT + 6 : 0;
  const grid = {
    x: MARGIN + widest(map.rowLabels),
    y: MARGIN + titleH + widest(map.colLabels),
    cell: scale,
  };
  const gridH = map.rows * scale;
  const bar = {
    x: grid.x + map.cols * scale + 8,
    y: grid.y,
    width: BAR_WIDTH,
    height: Math.max(gridH, 3 * GLYPH_HEIGHT),
  };
  const tickW = Math.max(...BAR_TICKS.map(([, t]) => t.length)) * GLYPH_ADVANCE;
  const titleW = map.title ? MARGIN + pngLabelTitle(map.title).length * GLYPH_ADVANCE : 0;
  return {
    width: Math.max(bar.x + BAR_WIDTH + 3 + tickW + MARGIN, titleW + MARGIN),
    height: Math.max(grid.y + gridH, bar.y + bar.height + GLYPH_HEIGHT / 2) + MARGIN,
    title: { x: MARGIN, y: MARGIN },
    grid,
    bar,
  };
}

function pngLabelTitle(title: string): string {
  return [...title].map(drawableChar).join("");
}

/** An RGB pixel buffer with the few drawing operations the heatmap needs. */
class RgbImage {
  readonly pixels: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.pixels = new Uint8Array(width * height * 3).fill(255);
  }

  set(x: number, y: number, rgb: readonly number[]): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.pixels.set(rgb, (y * this.width + x) * 3);
  }

  fill(x: number, y: number, w: number, h: number, rgb: readonly number[]): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, rgb);
  }

  /** Text left to right from (x, y) (its top left), or bottom to top from (x, y) (bottom left). */
  text(x: number, y: number, text: string, vertical = false): void {
    [...text].forEach((c, k) => {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
          if (!glyphPixel(c, gx, gy)) continue;
          if (vertical) this.set(x + gy, y - k * GLYPH_ADVANCE - gx, INK);
          else this.set(x + k * GLYPH_ADVANCE + gx, y + gy, INK);
        }
      }
    });
  }
}

const INK = [0, 0, 0] as const;

/**
 * Renders a heatmap as an RGB PNG, `scale` pixels per cell, with the title, the row and column
 * labels (printable ASCII, at most {@link PNG_LABEL_CHARS} characters; columns read bottom to
 * top) and a colour bar from 0 to 1 (see {@link heatmapLayout}).
 */
export async function heatmapPng(map: Heatmap, scale = 8): Promise<Uint8Array> {
  const layout = heatmapLayout(map, scale);
  const { grid, bar } = layout;
  const image = new RgbImage(layout.width, layout.height);
  if (map.title) image.text(layout.title.x, layout.title.y, pngLabelTitle(map.title));
  for (let i = 0; i < map.rows; i++) {
    for (let j = 0; j < map.cols; j++) {
      const v = map.values[i * map.cols + j];
      image.fill(grid.x + j * scale, grid.y + i * scale, scale, scale, shade(v));
    }
  }
  // Labels are centred on their row or column (glyphs are 8 tall).
  const offset = Math.floor((scale - GLYPH_HEIGHT) / 2);
  map.rowLabels?.forEach((label, i) => {
    const text = pngLabel(label);
    image.text(grid.x - 3 - text.length * GLYPH_ADVANCE, grid.y + i * scale + offset, text);
  });
  map.colLabels?.forEach((label, j) => {
    image.text(grid.x + j * scale + offset, grid.y - 3, pngLabel(label), true);
  });
  for (let y = 0; y < bar.height; y++) {
    image.fill(bar.x, bar.y + y, bar.width, 1, shade(1 - y / Math.max(1, bar.height - 1)));
  }
  for (const [value, label] of BAR_TICKS) {
    const y = bar.y + Math.round((1 - value) * (bar.height - 1));
    image.fill(bar.x + bar.width, y, 2, 1, INK);
    const top = Math.min(Math.max(y - GLYPH_HEIGHT / 2, 0), layout.height - GLYPH_HEIGHT);
    image.text(bar.x + bar.width + 3, top, label);
  }
  return await encodePng(layout.width, layout.height, image.pixels);
}

/** An 8-bit truecolour PNG of `rgb` (width·height·3 bytes, rows top to bottom). */
export async function encodePng(
  width: number,
  height: number,
  rgb: Uint8Array,
): Promise<Uint8Array> {
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const rowStart = y * (1 + width * 3);
    raw[rowStart] = 0; // filter: none
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), rowStart + 1);
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter, no interlace
  const signature = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
  const chunks = [
    signature,
    pngChunk("IHDR", header),
    pngChunk("IDAT", await zlibDeflate(raw)),
    pngChunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Attention maps as pictures: SVG (labelled, for people) and PNG (pixels, for tools). */

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
function shade(v: number): [number, number, number] {
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

/** Renders a heatmap as an RGB PNG, `scale` pixels per cell, no labels. */
export async function heatmapPng(map: Heatmap, scale = 8): Promise<Uint8Array> {
  const width = map.cols * scale;
  const height = map.rows * scale;
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const rowStart = y * (1 + width * 3);
    raw[rowStart] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b] = shade(map.values[Math.floor(y / scale) * map.cols + Math.floor(x / scale)]);
      raw.set([r, g, b], rowStart + 1 + x * 3);
    }
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

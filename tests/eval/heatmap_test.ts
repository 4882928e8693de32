import assert from "node:assert/strict";
import { glyphPixel } from "../../src/eval/bitmap_font.ts";
import { heatmapLayout, heatmapPng, heatmapSvg, pngLabel, shade } from "../../src/eval/heatmap.ts";

const map = {
  rows: 3,
  cols: 3,
  values: [1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5],
  rowLabels: ["a", "<b>", "c"],
  colLabels: ["a", "<b>", "c"],
  title: "layer 0 head 1",
};

Deno.test("heatmap SVG has one cell per entry and escapes labels", () => {
  const svg = heatmapSvg(map);
  assert.equal((svg.match(/<rect /g) ?? []).length, 9);
  assert.match(svg, /&lt;b&gt;/);
  assert.doesNotMatch(svg, /<b>/);
});

/** Decodes a PNG this module wrote (one IDAT, filter 0 on every row) into RGB rows. */
async function decodePng(png: Uint8Array) {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer, png.byteOffset);
  const [width, height] = [view.getUint32(16), view.getUint32(20)];
  const idatLen = view.getUint32(33);
  assert.equal(new TextDecoder().decode(png.subarray(37, 41)), "IDAT");
  const idat = png.subarray(41, 41 + idatLen);
  const raw = new Uint8Array(
    await new Response(
      new Blob([idat as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate")),
    ).arrayBuffer(),
  );
  assert.equal(raw.length, height * (1 + width * 3));
  const at = (x: number, y: number) => {
    assert.equal(raw[y * (1 + width * 3)], 0, "filter none");
    const i = y * (1 + width * 3) + 1 + x * 3;
    return [raw[i], raw[i + 1], raw[i + 2]];
  };
  return { width, height, at };
}

Deno.test("heatmap PNG: cells, title, token labels and colour bar where the layout says", async () => {
  const png = await heatmapPng(map, 8);
  const { width, height, at } = await decodePng(png);
  const layout = heatmapLayout(map, 8);
  assert.deepEqual([width, height], [layout.width, layout.height]);
  const { grid, bar } = layout;
  // Cells: the centre of cell (i, j) has the value's shade (1 → darkest, 0 → white).
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      assert.deepEqual(at(grid.x + j * 8 + 4, grid.y + i * 8 + 4), shade(map.values[i * 3 + j]));
    }
  }
  assert.deepEqual(shade(1), [8, 48, 107]);
  // The title is drawn glyph by glyph with the bitmap font: "l" of "layer" at its top left.
  for (let gx = 0; gx < 5; gx++) {
    for (let gy = 0; gy < 8; gy++) {
      const ink = glyphPixel("l", gx, gy);
      assert.deepEqual(
        at(layout.title.x + gx, layout.title.y + gy),
        ink ? [0, 0, 0] : [255, 255, 255],
      );
    }
  }
  assert.ok(glyphPixel("l", 2, 3) && !glyphPixel(" ", 2, 3), "the font has ink where expected");
  // Row label "c" sits left of row 2; column label "a" reads upward above column 0.
  const inkIn = (x0: number, y0: number, w: number, h: number) => {
    let n = 0;
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) if (at(x, y)[0] === 0) n++;
    return n;
  };
  assert.ok(inkIn(grid.x - 3 - 6, grid.y + 2 * 8, 6, 8) > 5, "row label c");
  assert.ok(inkIn(grid.x, grid.y - 3 - 6, 8, 6) > 5, "column label a");
  assert.equal(inkIn(grid.x + 3 * 8, grid.y - 20, 4, 20), 0, "nothing right of the last column");
  // The colour bar runs from 1 (top) to 0 (bottom).
  assert.deepEqual(at(bar.x + 5, bar.y), shade(1));
  assert.deepEqual(at(bar.x + 5, bar.y + bar.height - 1), shade(0));
  assert.ok(inkIn(bar.x + bar.width + 3, bar.y, 18, bar.height) > 10, "tick labels");
  assert.equal(pngLabel("héllo wörld!"), "h?llo w?");
});

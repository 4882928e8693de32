import assert from "node:assert/strict";
import { heatmapPng, heatmapSvg } from "../../src/eval/heatmap.ts";

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

Deno.test("heatmap PNG decodes back to the expected pixels", async () => {
  const png = await heatmapPng(map, 2);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer);
  assert.equal(view.getUint32(16), 6); // width = 3 cols × 2
  assert.equal(view.getUint32(20), 6);
  // Inflate IDAT with the platform's zlib and check the first pixel (value 1 → darkest).
  const idatLen = view.getUint32(33);
  assert.equal(new TextDecoder().decode(png.subarray(37, 41)), "IDAT");
  const idat = png.subarray(41, 41 + idatLen);
  const raw = new Uint8Array(
    await new Response(
      new Blob([idat as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate")),
    )
      .arrayBuffer(),
  );
  assert.equal(raw.length, 6 * (1 + 6 * 3));
  assert.deepEqual([...raw.subarray(1, 4)], [8, 48, 107]);
  assert.deepEqual([...raw.subarray(1 + 3 * 2, 1 + 3 * 2 + 3)], [255, 255, 255]);
});

import assert from "node:assert/strict";
import { chartableFields, isVarying } from "../../src/viz/static/series_select.js";

Deno.test("series selection: every varying numeric field, no constants, no known ones", () => {
  const s = (...y: number[]) => ({ x: y.map((_, i) => i), y });
  const table = {
    loss: s(3, 2, 1),
    bos: s(0, 0, 0),
    eos: s(1, 1, 1),
    generator_len: s(64, 64),
    "act_norm/last": s(1.5, 1.7),
    "attention_entropy.1": s(2, 1.9),
    single: s(4),
    broken: s(NaN, 5),
  };
  assert.deepEqual(chartableFields(table, new Set(["loss"])), [
    "act_norm/last",
    "attention_entropy.1",
  ]);
  assert.equal(isVarying(s(1, 1, 2)), true);
  assert.equal(isVarying(undefined), false);
  assert.deepEqual(chartableFields(undefined), []);
});

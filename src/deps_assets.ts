/**
 * npm files kiln embeds as data (GPT-2's BPE ranks, the visualizer's uPlot script and style), by
 * full `npm:name@version` specifier like `deps.ts`. A module of its own so that code importing
 * `deps.ts` (the browser bundle of `web.ts`) does not pull in megabytes of data.
 *
 * @module
 */

export { default as gpt2Ranks } from "npm:js-tiktoken@1.0.21/ranks/gpt2";
export { default as uplotScript } from "npm:uplot@1.6.32/dist/uPlot.iife.min.js" with {
  type: "text",
};
export { default as uplotStyle } from "npm:uplot@1.6.32/dist/uPlot.min.css" with { type: "text" };

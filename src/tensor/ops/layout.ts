/** Head split/merge: [B,T,H·D] ↔ [B,H,T,D] copies (shaders/layout.wgsl). */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkInputs, recordOp } from "../op.ts";
import { formatShape, Tensor } from "../tensor.ts";

const WORKGROUP = 256;
const swapKernel = defineKernel({
  shader: "layout",
  entryPoint: "swap_middle",
  uniforms: [["a", "u32"], ["b", "u32"], ["c", "u32"], ["d", "u32"]],
});

/** [a,b,c,d] → [a,c,b,d] as a new tensor (no tape). */
export function swapMiddle(x: Tensor, a: number, b: number, c: number, d: number): Tensor {
  const out = Tensor.empty(x.device, [a, c, b, d]);
  swapKernel.dispatch(x.device, {
    bindings: [x, out],
    uniforms: { a, b, c, d },
    workgroups: grid1d(x.size, WORKGROUP),
  });
  return out;
}

/** [B,T,H·D] → [B,H,T,D]. */
export function splitHeads(x: Tensor, nHeads: number): Tensor {
  checkInputs("splitHeads", x);
  if (x.shape.length !== 3 || x.shape[2] % nHeads !== 0) {
    throw new Error(
      `splitHeads: expected [B,T,C] with C divisible by ${nHeads}, got ${formatShape(x.shape)}`,
    );
  }
  const [B, T, C] = x.shape;
  const D = C / nHeads;
  const y = swapMiddle(x, B, T, nHeads, D);
  return recordOp("splitHeads", y, [x], (g) => {
    const swapped = swapMiddle(g, B, nHeads, T, D);
    const dx = swapped.reshape([B, T, C]);
    swapped.release(); // the view keeps the memory
    return [dx];
  });
}

/** [B,H,T,D] → [B,T,H·D]. */
export function mergeHeads(x: Tensor): Tensor {
  checkInputs("mergeHeads", x);
  if (x.shape.length !== 4) {
    throw new Error(`mergeHeads: expected [B,H,T,D], got ${formatShape(x.shape)}`);
  }
  const [B, H, T, D] = x.shape;
  const swapped = swapMiddle(x, B, H, T, D);
  const y = swapped.reshape([B, T, H * D]);
  swapped.release();
  return recordOp("mergeHeads", y, [x], (g) => [swapMiddle(g, B, T, H, D)]);
}

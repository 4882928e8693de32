/** Softmax over the last dim (shaders/softmax.wgsl). */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkInputs, recordOp } from "../op.ts";
import { Tensor } from "../tensor.ts";

const uniforms = [["rows", "u32"], ["cols", "u32"]] as const;
const forwardKernel = defineKernel({ shader: "softmax", entryPoint: "softmax_forward", uniforms });
const backwardKernel = defineKernel({
  shader: "softmax",
  entryPoint: "softmax_backward",
  uniforms,
});

/** Softmax over the last dim (numerically stable); one workgroup per row. */
export function softmax(x: Tensor): Tensor {
  checkInputs("softmax", x);
  const cols = x.lastDim;
  const rows = cols === 0 ? 0 : x.size / cols;
  const y = Tensor.empty(x.device, x.shape);
  forwardKernel.dispatch(x.device, {
    bindings: [x, y],
    uniforms: { rows, cols },
    workgroups: grid1d(rows, 1),
  });
  // The backward reads y, which the engine keeps alive until the replay is done.
  return recordOp("softmax", y, [x], (g) => {
    const dx = Tensor.empty(x.device, x.shape);
    backwardKernel.dispatch(x.device, {
      bindings: [y, g, dx],
      uniforms: { rows, cols },
      workgroups: grid1d(rows, 1),
    });
    return [dx];
  });
}

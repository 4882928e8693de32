/** Elementwise ops: add and mul (with trailing-dim broadcast), scale, GELU, accumulate. */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkInputs, checkSameShape, isTrailingBroadcast, recordOp } from "../op.ts";
import { accumulateInto, formatShape, Tensor } from "../tensor.ts";
import { sumToShape } from "./reduce.ts";

const WORKGROUP = 256;
const broadcastUniforms = [["n", "u32"], ["nb", "u32"]] as const;
const addKernel = defineKernel({
  shader: "elementwise",
  entryPoint: "add_broadcast",
  uniforms: broadcastUniforms,
});
const mulKernel = defineKernel({
  shader: "elementwise",
  entryPoint: "mul_broadcast",
  uniforms: broadcastUniforms,
});
const scaleKernel = defineKernel({
  shader: "elementwise",
  entryPoint: "scale",
  uniforms: [["n", "u32"], ["s", "f32"]],
});
const geluForwardKernel = defineKernel({
  shader: "elementwise",
  entryPoint: "gelu_forward",
  uniforms: [["n", "u32"]],
});
const geluBackwardKernel = defineKernel({
  shader: "elementwise",
  entryPoint: "gelu_backward",
  uniforms: [["n", "u32"]],
});

function checkBroadcast(op: string, a: Tensor, b: Tensor): void {
  checkInputs(op, a, b);
  if (!isTrailingBroadcast(a.shape, b.shape)) {
    throw new Error(
      `${op}: cannot broadcast ${formatShape(b.shape)} over ${formatShape(a.shape)} ` +
        `(the second shape must match the trailing dims of the first)`,
    );
  }
}

function broadcastBinary(kernel: typeof addKernel, a: Tensor, b: Tensor): Tensor {
  const out = Tensor.empty(a.device, a.shape);
  kernel.dispatch(a.device, {
    bindings: [a, b, out],
    uniforms: { n: a.size, nb: Math.max(1, b.size) },
    workgroups: grid1d(a.size, WORKGROUP),
  });
  return out;
}

/**
 * `a + b`; `b` may have the trailing dims of `a` (a bias): its gradient sums over the leading
 * dims.
 */
export function add(a: Tensor, b: Tensor): Tensor {
  checkBroadcast("add", a, b);
  const out = broadcastBinary(addKernel, a, b);
  const bShape = b.shape;
  return recordOp("add", out, [a, b], (g) => [
    a.requiresGrad ? g : null,
    b.requiresGrad ? (b.size === g.size ? g : sumToShape(g, bShape)) : null,
  ]);
}

/** `a * b` elementwise; `b` may have the trailing dims of `a`. */
export function mul(a: Tensor, b: Tensor): Tensor {
  checkBroadcast("mul", a, b);
  const out = broadcastBinary(mulKernel, a, b);
  return recordOp("mul", out, [a, b], (g) => {
    const ga = a.requiresGrad ? broadcastBinary(mulKernel, g, b) : null;
    let gb: Tensor | null = null;
    if (b.requiresGrad) {
      const prod = broadcastBinary(mulKernel, g, a);
      gb = b.size === g.size ? prod : sumToShape(prod, b.shape);
      if (gb !== prod) prod.release();
    }
    return [ga, gb];
  });
}

/** `x * s` for a number `s`. */
export function scale(x: Tensor, s: number): Tensor {
  checkInputs("scale", x);
  const y = Tensor.empty(x.device, x.shape);
  scaleKernel.dispatch(x.device, {
    bindings: [x, y],
    uniforms: { n: x.size, s },
    workgroups: grid1d(x.size, WORKGROUP),
  });
  return recordOp("scale", y, [x], (g) => [scale(g, s)]);
}

/** GELU, tanh form: `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))` (GPT-2's). */
export function gelu(x: Tensor): Tensor {
  checkInputs("gelu", x);
  const y = Tensor.empty(x.device, x.shape);
  geluForwardKernel.dispatch(x.device, {
    bindings: [x, y],
    uniforms: { n: x.size },
    workgroups: grid1d(x.size, WORKGROUP),
  });
  return recordOp("gelu", y, [x], (g) => {
    const dx = Tensor.empty(x.device, x.shape);
    geluBackwardKernel.dispatch(x.device, {
      bindings: [x, g, dx],
      uniforms: { n: x.size },
      workgroups: grid1d(x.size, WORKGROUP),
    });
    return [dx];
  });
}

/** `acc += x` in place with no tape (e.g. the loss summed over steps on the GPU). */
export function accumulate(acc: Tensor, x: Tensor): void {
  checkInputs("accumulate", acc, x);
  checkSameShape("accumulate", acc, x);
  accumulateInto(acc, x);
}

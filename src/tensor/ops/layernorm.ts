/** LayerNorm over the last dim (shaders/layernorm.wgsl). */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkInputs, recordOp } from "../op.ts";
import { formatShape, Tensor } from "../tensor.ts";
import { sumRows } from "./reduce.ts";

const uniforms = [["rows", "u32"], ["cols", "u32"], ["eps", "f32"]] as const;
const forwardKernel = defineKernel({
  shader: "layernorm",
  entryPoint: "layernorm_forward",
  uniforms,
});
const backwardKernel = defineKernel({
  shader: "layernorm",
  entryPoint: "layernorm_backward",
  uniforms,
});

/**
 * `(x − mean) / sqrt(var + eps) · weight + bias` over the last dim (biased variance, like
 * PyTorch). `bias` may be null.
 *
 * @example
 * ```ts
 * const h = ops.layerNorm(x, lnWeight, lnBias); // x [B,T,C], weight/bias [C]
 * ```
 */
export function layerNorm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  checkInputs("layerNorm", x, weight, ...(bias ? [bias] : []));
  const cols = x.lastDim;
  if (weight.size !== cols || (bias && bias.size !== cols)) {
    throw new Error(
      `layerNorm: input ${formatShape(x.shape)} does not match weight ${
        formatShape(weight.shape)
      }` +
        (bias ? ` / bias ${formatShape(bias.shape)}` : ""),
    );
  }
  const dev = x.device;
  const rows = cols === 0 ? 0 : x.size / cols;
  const y = Tensor.empty(dev, x.shape);
  const stats = Tensor.empty(dev, [rows, 2]);
  const zeroBias = bias ? null : Tensor.zeros(dev, [cols]);
  forwardKernel.dispatch(dev, {
    bindings: [x, weight, bias ?? zeroBias!, y, stats],
    uniforms: { rows, cols, eps },
    workgroups: grid1d(rows, 1),
  });
  zeroBias?.release();
  const out = recordOp("layerNorm", y, bias ? [x, weight, bias] : [x, weight], (g) => {
    const dx = Tensor.empty(dev, x.shape);
    const gxhat = Tensor.empty(dev, x.shape);
    backwardKernel.dispatch(dev, {
      bindings: [x, weight, stats, g, dx, gxhat],
      uniforms: { rows, cols, eps },
      workgroups: grid1d(rows, 1),
    });
    stats.release();
    const dw = weight.requiresGrad ? sumRows(gxhat, cols, weight.shape) : null;
    gxhat.release();
    const db = bias?.requiresGrad ? sumRows(g, cols, bias.shape) : null;
    return [x.requiresGrad ? dx : (dx.release(), null), dw, db];
  });
  if (out.node === null) stats.release();
  return out;
}

/**
 * Fused classifier: mean cross-entropy of logits [N,V] against i32 targets [N], with the
 * gradient written in the same pass over each row (llm.c style). Kernel: shaders/classifier.wgsl.
 *
 * @module
 */

import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkDType, checkInputs, recordOp } from "../op.ts";
import { formatShape, isGradEnabled, Tensor } from "../tensor.ts";

const WORKGROUP = 256;
const MAX_GROUPS_PER_DIM = 65535;
const classifierUniforms = [
  ["rows", "u32"],
  ["vocab", "u32"],
  ["ignore_index", "i32"],
  ["write_grad", "u32"],
  ["nan_bits", "u32"],
] as const;
/** A quiet NaN's bits: the loss of a row whose target is out of range (see classifier.wgsl). */
const QUIET_NAN_BITS = 0x7fc00000;
const countKernel = defineKernel({
  shader: "classifier",
  entryPoint: "count_targets",
  uniforms: classifierUniforms,
});
const rowsKernel = defineKernel({
  shader: "classifier",
  entryPoint: "classifier_rows",
  uniforms: classifierUniforms,
});
const meanKernel = defineKernel({
  shader: "classifier",
  entryPoint: "classifier_mean",
  uniforms: classifierUniforms,
});
const scaleKernel = defineKernel({
  shader: "classifier",
  entryPoint: "scale_by_scalar",
  uniforms: [["n", "u32"]],
});

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (no loss, zero gradient). Default -1. */
  ignoreIndex?: number;
}

/**
 * Mean cross-entropy over the rows whose target is not `ignoreIndex` → a scalar tensor that
 * stays on the GPU. One workgroup per row computes the row max and sum of exp, the row's loss
 * and, when the tape is recording, d(loss)/d(logits) = (softmax − onehot)/count, so backward
 * only scales that by the incoming gradient. All targets ignored → loss 0 and zero gradient
 * (PyTorch returns NaN there). A target outside [0, V) makes the loss NaN.
 *
 * @example
 * ```ts
 * const loss = ops.crossEntropy(logits.reshape([B * T, V]), targets, { ignoreIndex: -1 });
 * loss.backward();
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: CrossEntropyOptions = {},
): Tensor {
  checkInputs("crossEntropy", logits, targets);
  checkDType("crossEntropy", logits, "f32", "logits");
  checkDType("crossEntropy", targets, "i32", "targets");
  if (logits.shape.length !== 2 || targets.size !== logits.shape[0]) {
    throw new Error(
      `crossEntropy: logits must be [N,V] and targets [N], got ${formatShape(logits.shape)} ` +
        `and ${formatShape(targets.shape)}`,
    );
  }
  const dev = logits.device;
  const [rows, vocab] = logits.shape;
  const uniforms = {
    rows,
    vocab,
    ignore_index: opts.ignoreIndex ?? -1,
    write_grad: isGradEnabled() && logits.requiresGrad ? 1 : 0,
    nan_bits: QUIET_NAN_BITS,
  };
  const count = Tensor.empty(dev, [1]);
  countKernel.dispatch(dev, { bindings: [targets, count], uniforms, workgroups: [1] });
  const rowLosses = Tensor.empty(dev, [rows]);
  // Without a gradient the kernel still needs something bound at the dlogits slot.
  const dlogits = Tensor.empty(dev, uniforms.write_grad ? logits.shape : [1]);
  rowsKernel.dispatch(dev, {
    bindings: [logits, targets, count, rowLosses, dlogits],
    uniforms,
    workgroups: rowGrid(rows),
  });
  const loss = Tensor.empty(dev, []);
  meanKernel.dispatch(dev, { bindings: [rowLosses, count, loss], uniforms, workgroups: [1] });
  count.release();
  rowLosses.release();
  if (!uniforms.write_grad) {
    dlogits.release();
    return loss;
  }
  const recorded = recordOp("crossEntropy", loss, [logits, targets], (gradOut) => {
    scaleKernel.dispatch(dev, {
      bindings: [dlogits, gradOut],
      uniforms: { n: dlogits.size },
      workgroups: grid1d(dlogits.size, WORKGROUP),
    });
    return [dlogits, null];
  });
  return recorded;
}

/** One workgroup per row, folded into y past the 65,535-per-dimension limit. */
function rowGrid(rows: number): [number, number] {
  if (rows <= MAX_GROUPS_PER_DIM) return [rows, 1];
  const y = Math.ceil(rows / MAX_GROUPS_PER_DIM);
  return [Math.ceil(rows / y), y];
}

/**
 * Gradient checkpointing: `checkpoint(fn)` runs a block of a forward without keeping its
 * activations and, in backward, runs it again with the tape on to back-propagate through it.
 * Memory for activations drops from every intermediate of every block to each block's inputs
 * plus one block's intermediates at a time; the price is a second forward of each block.
 *
 * Bit-identical to running `fn` directly: the replay dispatches the same kernels on the same
 * inputs, and its gradients join the outer tape where the block's inputs would have received
 * them (a parameter's gradient is still accumulated once per backward, into the same `.grad`).
 *
 * @module
 */

import { collectGradInputs, isGradEnabled, noGrad, trackCreated, withGrad } from "./scope.ts";
import { backwardTo, formatShape, type Tensor } from "./tensor.ts";

/** Why a checkpointed block's forward intermediate was freed (shown when it is used later). */
const CHECKPOINT_REASON = "freed by checkpoint() at the end of its block (recomputed in backward)";

let recorded = 0;

/**
 * How many checkpointed blocks have joined a tape so far: the trainer checks that a model asked
 * to checkpoint its activations really does.
 */
export function checkpointsRecorded(): number {
  return recorded;
}

/**
 * Runs `fn` under `noGrad`, frees everything it made but its result, and records one tape node
 * whose inputs are every tensor from outside `fn` that needed a gradient (the block's input,
 * its parameters, a memory it attends to: found by watching the ops, so `fn` simply closes over
 * them). Its backward calls `fn` again with the tape on and back-propagates through that graph
 * to those inputs. Outside a recording tape it is `fn()`.
 *
 * `fn` must compute the same thing every time it is called: draw dropout masks from seeds fixed
 * before the call (`ForwardContext.checkpoint` rewinds its seed counter for the replay).
 *
 * @example
 * ```ts
 * for (const block of blocks) {
 *   const input = x;
 *   x = checkpoint(() => block.forward(input, ctx));
 * }
 * ```
 */
export function checkpoint(fn: () => Tensor, name = "checkpoint"): Tensor {
  if (!isGradEnabled()) return fn();
  const { result: { result: out, inputs: used }, created } = trackCreated(() =>
    collectGradInputs<Tensor, Tensor>(() => noGrad(fn))
  );
  // A result that already has a gradient comes from outside (fn returned an input).
  if (out.requiresGrad) return out;
  const made = new Set(created);
  // A leaf fn made itself is made anew by the replay: not an input of the block.
  const inputs = used.filter((t) => !made.has(t));
  for (const t of created) if (t !== out) t.release(CHECKPOINT_REASON);
  if (inputs.length === 0) return out; // nothing in the block needs a gradient
  out.madeBy = name;
  out.requiresGrad = true;
  out.node = { op: name, inputs, backward: (gradOut) => replay(fn, name, inputs, gradOut) };
  recorded++;
  return out;
}

/** The backward of a checkpoint: `fn` again with the tape on, then back to `inputs`. */
function replay(
  fn: () => Tensor,
  name: string,
  inputs: readonly Tensor[],
  gradOut: Tensor,
): (Tensor | null)[] {
  const { result: out, created } = trackCreated(() => withGrad(fn));
  if (out.size !== gradOut.size || !out.requiresGrad) {
    throw new Error(
      `${name}: the replay gave ${formatShape(out.shape)}${
        out.requiresGrad ? "" : " without a gradient"
      } where the forward gave ${formatShape(gradOut.shape)}; a checkpointed block must ` +
        "compute the same thing each time it runs",
    );
  }
  const grads = backwardTo(out, gradOut, new Set(inputs), new Set(created));
  // Tensors the replay made off the tape (masks, noGrad temporaries) die with it too.
  for (const t of created) t.release(CHECKPOINT_REASON);
  return inputs.map((t) => grads.get(t) ?? null);
}

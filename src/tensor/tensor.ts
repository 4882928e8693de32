/**
 * Tensor: a contiguous row-major region of a GPU buffer with a shape and dtype, and the tape
 * autograd that replays op backward closures in reverse.
 */

import type { Device } from "../gpu/device.ts";
import { defineKernel, grid1d } from "../gpu/kernel.ts";
import type { BufferRegion } from "../gpu/recorder.ts";
import { isGradEnabled, noGrad, noteGradInputs, registerInScope, untracked } from "./scope.ts";
import { Storage } from "./storage.ts";

export { isGradEnabled, noGrad, stepScope, tidy, untracked } from "./scope.ts";
export { Storage } from "./storage.ts";

/**
 * Element types. f16 is storage only (adapters with "shader-f16"): convert with `ops.cast` before
 * computing; `toArray()` widens it to f32.
 */
export type DType = "f32" | "f16" | "i32" | "u32";

/** Options for tensor constructors. */
export interface TensorOptions {
  requiresGrad?: boolean;
  dtype?: DType;
}

/** How gradients flow back through the op that produced a tensor. */
export interface GradNode {
  /** Op name, for error messages. */
  readonly op: string;
  /** The op's tensor inputs, in the order `backward` returns their gradients. */
  readonly inputs: readonly Tensor[];
  /**
   * Given d(loss)/d(output), records kernels computing d(loss)/d(input) for each input (null when
   * not needed). Runs under `noGrad`. Returned tensors are owned by the engine; returning
   * `gradOut` itself (or one tensor for two inputs) is allowed.
   */
  readonly backward: (gradOut: Tensor) => readonly (Tensor | null)[];
}

/** Number of elements of `shape` ([] is a scalar: 1). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2,3]`-style formatting for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape ${formatShape(shape)}`);
  }
}

const BYTES: Record<DType, number> = { f32: 4, f16: 2, i32: 4, u32: 4 };

/**
 * A GPU tensor. Ops record work into the device's open command encoder; nothing runs until a
 * flush or a readback.
 *
 * @example
 * ```ts
 * const a = Tensor.fromArray(dev, [1, 2, 3, 4], [2, 2], { requiresGrad: true });
 * const loss = ops.sum(ops.gelu(a));
 * loss.backward();
 * console.log(await a.grad!.toArray());
 * ```
 */
export class Tensor implements BufferRegion {
  readonly device: Device;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** The op that produced this tensor while recording the tape (null for leaves). */
  node: GradNode | null = null;
  readonly #storage: Storage;
  readonly #offset: number;
  #released = false;
  #releaseReason = "";
  #retained = false;
  /** Name of the op that produced this tensor (set by `recordOp`), for error messages. */
  madeBy: string | null = null;
  #graphFreed = false;
  #hostValues: Int32Array | Uint32Array | null = null;

  /** Low level: wraps `storage` at element `offset`. Use the static constructors instead. */
  constructor(
    device: Device,
    storage: Storage,
    shape: readonly number[],
    dtype: DType,
    opts: { offset?: number; requiresGrad?: boolean } = {},
  ) {
    checkShape(shape);
    this.device = device;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = numel(shape);
    this.#storage = storage;
    this.#offset = opts.offset ?? 0;
    this.requiresGrad = opts.requiresGrad ?? false;
    storage.retain();
    registerInScope(this);
  }

  /** An uninitialised tensor from the device's pool. */
  static empty(dev: Device, shape: readonly number[], opts: TensorOptions = {}): Tensor {
    checkShape(shape);
    const dtype = opts.dtype ?? "f32";
    const bytes = Math.max(4, Math.ceil((numel(shape) * BYTES[dtype]) / 4) * 4);
    const buffer = dev.pool.acquire(bytes);
    const storage = new Storage(buffer, 0, bytes, () => dev.pool.release(buffer));
    return new Tensor(dev, storage, shape, dtype, { requiresGrad: opts.requiresGrad });
  }

  /** A tensor holding `data` (converted to `dtype`, default f32). */
  static fromArray(
    dev: Device,
    data: ArrayLike<number>,
    shape: readonly number[],
    opts: TensorOptions = {},
  ): Tensor {
    if (data.length !== numel(shape)) {
      throw new Error(`fromArray: ${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    const t = Tensor.empty(dev, shape, opts);
    t.write(data);
    return t;
  }

  /** A zero-filled tensor. */
  static zeros(dev: Device, shape: readonly number[], opts: TensorOptions = {}): Tensor {
    const t = Tensor.empty(dev, shape, opts);
    const r = t.#region();
    // Clears must cover whole words; an odd-length f16 tensor owns the padding of its last word.
    dev.clear({ ...r, byteLength: Math.ceil(r.byteLength / 4) * 4 });
    return t;
  }

  /** The GPU buffer behind this tensor (throws when released). */
  get buffer(): GPUBuffer {
    this.#check();
    return this.#storage.buffer;
  }

  /** Byte offset of element 0 in `buffer`. */
  get byteOffset(): number {
    return this.#storage.byteOffset + this.#offset * BYTES[this.dtype];
  }

  /** Bytes spanned by the elements (not rounded). */
  get byteLength(): number {
    return this.size * BYTES[this.dtype];
  }

  /** True after `release()`. */
  get released(): boolean {
    return this.#released;
  }

  /** Element count of the last dimension (1 for a scalar). */
  get lastDim(): number {
    return this.shape.length === 0 ? 1 : this.shape[this.shape.length - 1];
  }

  /** Queues a host→GPU upload, ordered after everything recorded so far. */
  write(data: ArrayLike<number>): void {
    this.#check();
    if (data.length !== this.size) {
      throw new Error(
        `write: ${data.length} values into a tensor of shape ${formatShape(this.shape)}`,
      );
    }
    const typed = toTyped(data, this.dtype);
    this.device.upload(this.#region(), typed);
    // Integer tensors (token ids) come from the host; ops that can use the values on the CPU
    // (the embedding backward buckets ids there) read this copy instead of a GPU pass.
    this.#hostValues = typed instanceof Int32Array || typed instanceof Uint32Array
      ? typed.slice()
      : null;
  }

  /**
   * The values last written from the host into this integer tensor, or null (float tensors,
   * tensors a kernel produced). Valid until the next write; no kernel writes id tensors.
   */
  get hostValues(): Int32Array | Uint32Array | null {
    return this.#hostValues;
  }

  /** Reads the elements back (flushes recorded work first). */
  async toArray(): Promise<Float32Array | Int32Array | Uint32Array> {
    this.#check();
    if (this.size === 0) return this.dtype === "f32" ? new Float32Array(0) : new Int32Array(0);
    const bytes = await this.device.readback(this.#region());
    switch (this.dtype) {
      case "i32":
        return new Int32Array(bytes);
      case "u32":
        return new Uint32Array(bytes);
      case "f16":
        // Widened to f32 on the host: callers always get 32-bit floats.
        return Float32Array.from(new Float16Array(bytes, 0, this.size));
      default:
        return new Float32Array(bytes);
    }
  }

  /** Reads a one-element tensor back as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`item: tensor of shape ${formatShape(this.shape)} is not a scalar`);
    }
    return (await this.toArray())[0];
  }

  /**
   * A view with another shape over the same elements (free). With the tape on, gradients flow
   * back through it.
   */
  reshape(shape: readonly number[]): Tensor {
    this.#check();
    const resolved = resolveShape(shape, this.size, this.shape);
    const view = new Tensor(this.device, this.#storage, resolved, this.dtype, {
      offset: this.#offset,
    });
    view.#hostValues = this.#hostValues;
    noteGradInputs([this]);
    if (isGradEnabled() && this.requiresGrad) {
      const inShape = this.shape;
      view.requiresGrad = true;
      view.node = { op: "reshape", inputs: [this], backward: (g) => [g.reshape(inShape)] };
    }
    return view;
  }

  /** A view of elements [offset, offset + numel(shape)) with `shape` (no autograd). */
  view(offset: number, shape: readonly number[]): Tensor {
    this.#check();
    if (offset < 0 || offset + numel(shape) > this.size) {
      throw new Error(
        `view: ${formatShape(shape)} at ${offset} is outside ${formatShape(this.shape)}`,
      );
    }
    return new Tensor(this.device, this.#storage, shape, this.dtype, {
      offset: this.#offset + offset,
    });
  }

  /**
   * Keeps this tensor alive when `backward()` frees the graph's intermediate tensors and when
   * its training step ends (see `stepScope`).
   */
  retain(): this {
    this.#retained = true;
    return this;
  }

  /** True after `retain()`. */
  get retained(): boolean {
    return this.#retained;
  }

  /**
   * Returns the memory to the pool; any later use throws an error naming the op that made the
   * tensor, its shape and `reason` (default: "released by release()").
   */
  release(reason = "released by release()"): void {
    if (this.#released) return;
    this.#released = true;
    this.#releaseReason = reason;
    this.node = null;
    this.#storage.drop();
  }

  /**
   * Back-propagates from this scalar: seeds 1, replays the tape in reverse and accumulates into
   * `.grad` of every leaf that requires grad. Only records GPU work (no submit, no readback).
   * Afterwards the graph's intermediate tensors are released (except this one and tensors
   * marked with `retain()`).
   */
  backward(): void {
    this.#check();
    if (this.size !== 1) {
      throw new Error(`backward: needs a scalar, got shape ${formatShape(this.shape)}`);
    }
    if (!this.requiresGrad) throw new Error("backward: tensor does not require grad");
    if (this.#graphFreed) {
      throw new Error(
        "backward: this graph was already back-propagated and freed; run the forward again",
      );
    }
    const order = topologicalOrder(this, null);
    const seed = Tensor.fromArray(this.device, [1], this.shape);
    noGrad(() => runBackward(order, this, seed, null));
    freeGraph(order, this, null);
    this.#graphFreed = this.#graphFreed || order.length > 1;
  }

  /** Throws when released; ops call it on every input (`use` names the op, for the message). */
  check(use?: string): void {
    this.#check(use);
  }

  #check(use?: string): void {
    if (!this.#released) return;
    const what = `${this.madeBy ? `the output of ${this.madeBy}` : "a tensor"} ` +
      `${formatShape(this.shape)}`;
    throw new Error(
      `${use ? `${use}: ` : ""}tensor was released: ${what} was ${this.#releaseReason}`,
    );
  }

  /**
   * A copy in fresh storage, with no tape: for a slice (`view`) that a kernel must bind but that
   * does not start at the adapter's minStorageBufferOffsetAlignment.
   */
  clone(): Tensor {
    this.#check();
    const out = Tensor.empty(this.device, this.shape, { dtype: this.dtype });
    this.device.copy(this.#region(), out.#region());
    return out;
  }

  /** True when a kernel can bind this tensor where it starts (its offset is aligned). */
  get bindable(): boolean {
    return this.byteOffset % this.device.limits.minStorageBufferOffsetAlignment === 0;
  }

  #region(): BufferRegion {
    return { buffer: this.buffer, byteOffset: this.byteOffset, byteLength: this.byteLength };
  }
}

/** Why `backward()` freed a graph intermediate (shown when it is used afterwards). */
const BACKWARD_REASON = "freed by backward(); keep it with .retain()";

/** Releases the intermediates of a replayed graph (not `keep`, not `stop`, not retained ones). */
function freeGraph(order: Tensor[], keep: Tensor | null, stop: ReadonlySet<Tensor> | null): void {
  for (const t of order) {
    if (stop?.has(t)) continue; // the tape below the stop stays for the outer backward
    if (t.node !== null && t !== keep && !t.retained) t.release(BACKWARD_REASON);
    t.node = null;
  }
}

/**
 * Low level, for `checkpoint`: back-propagates `gradOut` (shaped like `root`, owned by the
 * caller) from `root` down to the tensors of `stop` and returns their gradients, which the caller
 * then owns (one tensor may serve several, and `gradOut` itself may be among them). Leaves above
 * `stop` accumulate into `.grad` as in `backward()`; the graph between `root` and `stop` is freed,
 * `root` included. Every tensor with a grad node on the way must be in `made` (the replay's own
 * tensors): reaching another one means the replay used a tensor its forward never reported.
 */
export function backwardTo(
  root: Tensor,
  gradOut: Tensor,
  stop: ReadonlySet<Tensor>,
  made: ReadonlySet<unknown>,
): Map<Tensor, Tensor> {
  const order = topologicalOrder(root, stop);
  const stray = order.find((t) => t.node !== null && !stop.has(t) && !made.has(t));
  if (stray) {
    throw new Error(
      `checkpoint: the replayed block reached ${stray.madeBy ?? "a tensor"} ` +
        `${formatShape(stray.shape)} from outside it that its forward never used; a checkpointed ` +
        "block must compute the same thing each time it runs",
    );
  }
  const reached = noGrad(() => runBackward(order, root, gradOut, stop));
  freeGraph(order, null, stop);
  return reached;
}

function resolveShape(
  shape: readonly number[],
  size: number,
  from: readonly number[],
): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free >= 0) {
    const rest = numel(out.filter((_, i) => i !== free));
    out[free] = rest === 0 ? 0 : size / rest;
  }
  checkShape(out);
  if (numel(out) !== size) {
    throw new Error(`reshape: cannot view ${formatShape(from)} as ${formatShape(shape)}`);
  }
  return out;
}

function toTyped(
  data: ArrayLike<number>,
  dtype: DType,
): Float32Array | Int32Array | Uint32Array | Uint16Array {
  if (dtype === "i32") return data instanceof Int32Array ? data : Int32Array.from(data);
  if (dtype === "u32") return data instanceof Uint32Array ? data : Uint32Array.from(data);
  if (dtype === "f16") return Float16Array.from(data) as unknown as Uint16Array;
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/**
 * Tensors reachable from `root` through grad nodes, inputs before the ops that use them; those in
 * `stop` are listed but not expanded.
 */
function topologicalOrder(root: Tensor, stop: ReadonlySet<Tensor> | null): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    if (stop?.has(t)) continue;
    for (const input of t.node?.inputs ?? []) {
      if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
    }
  }
  return order;
}

/**
 * Replays `order` in reverse from `root`, seeded with `seed`. Without `stop` the seed is the
 * engine's to free; with `stop` it belongs to the caller, and the gradients reaching `stop` are
 * returned (held, not freed) instead of flowing further.
 */
function runBackward(
  order: Tensor[],
  root: Tensor,
  seed: Tensor,
  stop: ReadonlySet<Tensor> | null,
): Map<Tensor, Tensor> {
  const dev = root.device;
  const reached = new Map<Tensor, Tensor>();
  const grads = new Map<Tensor, Tensor>();
  // How many slots of `grads` hold a tensor: aliased gradients are freed only when unreferenced.
  const holders = new Map<Tensor, number>();
  const hold = (g: Tensor) => holders.set(g, (holders.get(g) ?? 0) + 1);
  const drop = (g: Tensor) => {
    const n = (holders.get(g) ?? 0) - 1;
    if (n > 0) holders.set(g, n);
    else {
      holders.delete(g);
      g.release();
    }
  };
  grads.set(root, seed);
  hold(seed);
  if (stop) hold(seed); // the caller's: one hold that is never dropped
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const g = grads.get(t);
    if (g === undefined) continue;
    grads.delete(t);
    if (stop?.has(t)) {
      reached.set(t, g); // its hold passes to the caller
      continue;
    }
    if (t.node === null) {
      // A leaf's gradient belongs to the leaf, not to the step or scope that first made it.
      if (t.grad === null) t.grad = untracked(() => Tensor.zeros(dev, t.shape));
      accumulateInto(t.grad, g);
      drop(g);
      continue;
    }
    const inputGrads = t.node.backward(g);
    t.node.inputs.forEach((input, k) => {
      const ig = inputGrads[k];
      if (ig === null || ig === undefined) return;
      if (!input.requiresGrad) {
        if (ig !== g && !holders.has(ig)) ig.release();
        return;
      }
      checkGradShape(t.node!.op, input, ig);
      const prev = grads.get(input);
      hold(ig);
      if (prev === undefined) {
        grads.set(input, ig);
      } else {
        const sum = addInto(prev, ig);
        drop(prev);
        drop(ig);
        grads.set(input, sum);
        hold(sum);
      }
    });
    drop(g);
  }
  for (const g of grads.values()) drop(g);
  return reached;
}

function checkGradShape(op: string, input: Tensor, g: Tensor): void {
  if (g.size !== input.size) {
    throw new Error(
      `${op} backward: gradient ${formatShape(g.shape)} does not match input ${
        formatShape(input.shape)
      }`,
    );
  }
}

const WORKGROUP = 256;
const accumulateKernel = defineKernel({
  shader: "elementwise",
  entryPoint: "accumulate",
  uniforms: [["n", "u32"]],
});
const addKernel = defineKernel({
  shader: "elementwise",
  entryPoint: "add_same",
  uniforms: [["n", "u32"]],
});

/** `acc += x` elementwise in place (same element count), recorded without tape. */
export function accumulateInto(acc: Tensor, x: Tensor): void {
  acc.check();
  x.check();
  if (acc.size !== x.size) {
    throw new Error(
      `accumulate: shapes differ: ${formatShape(acc.shape)} += ${formatShape(x.shape)}`,
    );
  }
  accumulateKernel.dispatch(acc.device, {
    bindings: [acc, x],
    uniforms: { n: acc.size },
    workgroups: grid1d(acc.size, WORKGROUP),
  });
}

/** A new tensor `a + b` (same element count, shape of `a`), recorded without tape. */
function addInto(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.empty(a.device, a.shape);
  addKernel.dispatch(a.device, {
    bindings: [a, b, out],
    uniforms: { n: a.size },
    workgroups: grid1d(a.size, WORKGROUP),
  });
  return out;
}

/**
 * Parameter declaration for modules. A module declares its parameters (name, shape, initialiser,
 * weight decay) while the model is being assembled; `build` then creates the one flat
 * {@link ParameterSet} on the GPU and binds every handle to its tensor view. Declaring first lets
 * the parameter count and FLOPs be computed from shapes alone, without allocating anything.
 *
 * @module
 */

import type { Device } from "../gpu/device.ts";
import { ParameterSet } from "../tensor/parameters.ts";
import { type Tensor, untracked } from "../tensor/tensor.ts";
import { constantInit, normalInit, uniformInit } from "./init.ts";

/** A declared parameter; `tensor` is available once the owning {@link ParamBuilder} is built. */
export class Param {
  private bound: Tensor | null = null;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    readonly decay: boolean,
    readonly init: () => Float32Array,
  ) {}

  /** Number of elements. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The GPU tensor (a view into the flat parameter buffer). */
  get tensor(): Tensor {
    if (!this.bound) throw new Error(`parameter ${this.name} used before the model was built`);
    return this.bound;
  }

  /** Binds the GPU view (called by {@link ParamBuilder.build}). */
  bind(t: Tensor): void {
    this.bound = t;
    this.parts.clear();
  }

  private readonly parts = new Map<number, Tensor[]>();

  /**
   * The parameter cut into `count` equal blocks along its first dimension, each a leaf tensor
   * whose `.grad` is the matching block of this parameter's gradient. Gradients therefore land in
   * the flat gradient buffer directly, with no copy: `h.0.attn.c_attn.weight` [3C, C] serves as
   * the separate q, k and v projections while keeping its Hugging Face name and layout.
   */
  split(count: number): Tensor[] {
    const whole = this.tensor;
    const cached = this.parts.get(count);
    if (cached && cached[0].grad !== null) {
      // The blocks are views of one parameter: frozen with it (ParameterSet.setTrainable).
      for (const block of cached) block.requiresGrad = whole.requiresGrad;
      return cached;
    }
    if (this.shape[0] % count !== 0) {
      throw new Error(`parameter ${this.name} [${this.shape}] does not split into ${count} blocks`);
    }
    if (whole.grad === null) throw new Error(`parameter ${this.name} has no gradient buffer`);
    const shape = [this.shape[0] / count, ...this.shape.slice(1)];
    const blockSize = this.numel / count;
    // Cached views must survive the tidy scope of an evaluation that may first ask for them.
    const blocks = untracked(() =>
      Array.from({ length: count }, (_, i) => {
        const block = whole.view(i * blockSize, shape);
        block.requiresGrad = whole.requiresGrad;
        block.grad = whole.grad!.view(i * blockSize, shape);
        return block;
      })
    );
    this.parts.set(count, blocks);
    return blocks;
  }
}

/**
 * Collects parameter declarations in order. Weight decay follows nanoGPT's rule: tensors with two
 * or more dimensions (matmul weights, embeddings) decay; biases and layernorm gains do not.
 *
 * @example
 * ```ts
 * const pb = new ParamBuilder(1337);
 * const w = pb.normal("h.0.mlp.c_fc.weight", [512, 128], 0.02);
 * const params = pb.build(dev); // w.tensor is now usable
 * ```
 */
export class ParamBuilder {
  private readonly declared: Param[] = [];

  constructor(readonly seed: number) {}

  /** Declares a parameter drawn from N(0, std²). */
  normal(name: string, shape: number[], std: number): Param {
    return this.declare(name, shape, (n) => normalInit(this.seed, name, n, std));
  }

  /** Declares a parameter drawn from U(−bound, bound). */
  uniform(name: string, shape: number[], bound: number): Param {
    return this.declare(name, shape, (n) => uniformInit(this.seed, name, n, bound));
  }

  /** Declares a parameter filled with `value`. */
  constant(name: string, shape: number[], value: number): Param {
    return this.declare(name, shape, (n) => constantInit(n, value));
  }

  /** All declarations so far, in declaration order. */
  get params(): readonly Param[] {
    return this.declared;
  }

  /** Total element count of the declarations. */
  numel(): number {
    return this.declared.reduce((s, p) => s + p.numel, 0);
  }

  /** Runs the initialisers, uploads everything as one flat ParameterSet and binds the handles. */
  build(dev: Device): ParameterSet {
    const set = new ParameterSet(
      dev,
      this.declared.map((p) => ({
        name: p.name,
        shape: [...p.shape],
        init: p.init(),
        decay: p.decay,
      })),
    );
    for (const p of this.declared) p.bind(set.tensors.get(p.name)!);
    return set;
  }

  /** A parameter with nanoGPT's decay rule: two or more dimensions decay. */
  private declare(name: string, shape: number[], init: (n: number) => Float32Array): Param {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.add(new Param(name, shape, shape.length >= 2, () => init(n)));
  }

  private add(p: Param): Param {
    if (this.declared.some((q) => q.name === p.name)) {
      throw new Error(`parameter ${p.name} declared twice`);
    }
    this.declared.push(p);
    return p;
  }
}

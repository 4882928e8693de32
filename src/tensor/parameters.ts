/**
 * Flat parameters: every parameter lives in one GPU buffer (and every gradient in a second one),
 * each a Tensor view at a 256-byte-aligned offset. AdamW and the gradient norm then run as one
 * dispatch over the whole buffer, and a checkpoint is one readback.
 */

import type { Device } from "../gpu/device.ts";
import { STORAGE_USAGE } from "../gpu/buffer_pool.ts";
import { UserError } from "../util/errors.ts";
import { formatShape, numel, Storage, Tensor } from "./tensor.ts";

/** Declaration of one parameter. */
export interface ParameterSpec {
  name: string;
  shape: number[];
  /** Initial values (row-major, numel(shape) long). */
  init: Float32Array;
  /** Whether AdamW applies weight decay to it. */
  decay: boolean;
}

/** Where a parameter sits in the flat buffers. */
export interface ParameterEntry {
  name: string;
  shape: readonly number[];
  /** Element offset in the flat buffers (a multiple of 64 = 256 bytes). */
  offset: number;
  numel: number;
  decay: boolean;
}

/** Offset alignment in elements: 256 bytes satisfies every adapter's minStorageBufferOffsetAlignment. */
export const PARAMETER_ALIGNMENT = 64;

/**
 * All parameters of a model in one flat f32 buffer plus a flat gradient buffer.
 *
 * @example
 * ```ts
 * const params = new ParameterSet(dev, [
 *   { name: "w", shape: [4, 3], init: new Float32Array(12), decay: true },
 * ]);
 * const w = params.tensors.get("w")!; // requiresGrad view; w.grad views the flat grad buffer
 * ```
 */
export class ParameterSet {
  readonly device: Device;
  /** requiresGrad views, by name, in declaration order. */
  readonly tensors: Map<string, Tensor>;
  /** Layout of every parameter in the flat buffers, in declaration order. */
  readonly entries: readonly ParameterEntry[];
  /** Total parameter count (without alignment padding). */
  readonly numel: number;
  /** Length of the flat buffers in elements (with padding; padding stays zero). */
  readonly flatLength: number;
  /** The whole flat parameter buffer as one tensor [flatLength]. */
  readonly flat: Tensor;
  /** The whole flat gradient buffer as one tensor [flatLength]. */
  readonly flatGrad: Tensor;

  constructor(dev: Device, specs: readonly ParameterSpec[]) {
    this.device = dev;
    const entries: ParameterEntry[] = [];
    const seen = new Set<string>();
    let offset = 0;
    for (const s of specs) {
      if (seen.has(s.name)) throw new Error(`ParameterSet: parameter "${s.name}" declared twice`);
      seen.add(s.name);
      const n = numel(s.shape);
      if (s.init.length !== n) {
        throw new Error(
          `ParameterSet: "${s.name}" has ${s.init.length} initial values for shape ${
            formatShape(s.shape)
          }`,
        );
      }
      entries.push({ name: s.name, shape: [...s.shape], offset, numel: n, decay: s.decay });
      offset += Math.ceil(n / PARAMETER_ALIGNMENT) * PARAMETER_ALIGNMENT;
    }
    this.entries = entries;
    this.numel = entries.reduce((s, e) => s + e.numel, 0);
    this.flatLength = Math.max(offset, PARAMETER_ALIGNMENT);
    const bytes = this.flatLength * 4;
    const limit = dev.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new UserError(
        `the model's ${this.numel} parameters need ${bytes} bytes, more than this adapter's ` +
          `maxStorageBufferBindingSize (${limit} bytes); use a smaller model`,
      );
    }
    const makeFlat = (label: string) => {
      const buffer = dev.gpu.createBuffer({ label, size: bytes, usage: STORAGE_USAGE });
      return new Tensor(dev, new Storage(buffer, 0, bytes, () => buffer.destroy()), [
        this.flatLength,
      ], "f32");
    };
    this.flat = makeFlat("parameters");
    this.flatGrad = makeFlat("gradients");
    const init = new Float32Array(this.flatLength);
    for (let i = 0; i < specs.length; i++) init.set(specs[i].init, entries[i].offset);
    this.flat.write(init);
    dev.clear(this.flatGrad);
    this.tensors = new Map();
    for (const e of entries) {
      const t = this.flat.view(e.offset, e.shape);
      t.requiresGrad = true;
      t.grad = this.flatGrad.view(e.offset, e.shape);
      this.tensors.set(e.name, t);
    }
  }

  readonly #frozen = new Set<string>();
  #trainableVersion = 0;

  /**
   * Freezes (`false`) or unfreezes (`true`) the parameters `which` selects, as setting
   * `requires_grad` in PyTorch: a frozen parameter gets no gradient (backward skips it, and every
   * view of it, such as the split q/k/v blocks of a fused projection) and AdamW leaves it alone (no
   * update, no moment decay, no weight decay). `which` is a glob over names (`*` matches anything,
   * so "h.0.*" is block 0), a list of globs, a RegExp or a predicate. Returns the names matched;
   * matching none is a UserError (a misspelt pattern should not silently train everything).
   *
   * @example
   * ```ts
   * model.params.setTrainable("h.0.*", false); // freeze the first block
   * ```
   */
  setTrainable(
    which: string | readonly string[] | RegExp | ((name: string) => boolean),
    trainable: boolean,
  ): string[] {
    const match = parameterMatcher(which);
    const names = this.entries.map((e) => e.name).filter(match);
    if (names.length === 0) {
      throw new UserError(
        `setTrainable: ${describeMatcher(which)} matches no parameter (names look like ${
          this.entries.slice(0, 3).map((e) => e.name).join(", ")
        })`,
      );
    }
    let changed = false;
    for (const name of names) {
      if (this.#frozen.has(name) === !trainable) continue;
      changed = true;
      if (trainable) this.#frozen.delete(name);
      else this.#frozen.add(name);
      this.tensors.get(name)!.requiresGrad = trainable;
    }
    if (changed) this.#trainableVersion++;
    return names;
  }

  /** Whether `name` takes gradients and updates (see {@link setTrainable}). */
  isTrainable(name: string): boolean {
    return !this.#frozen.has(name);
  }

  /** Names of the frozen parameters, in declaration order. */
  frozenNames(): string[] {
    return this.entries.map((e) => e.name).filter((n) => this.#frozen.has(n));
  }

  /** Changes whenever the frozen set does (AdamW re-uploads its mask then). */
  get trainableVersion(): number {
    return this.#trainableVersion;
  }

  /** One bit per flat element, set where the element's parameter is trainable (padding clear). */
  trainableBits(): Uint32Array {
    const bits = new Uint32Array(Math.max(1, Math.ceil(this.flatLength / 32)));
    for (const e of this.entries) {
      if (this.#frozen.has(e.name)) continue;
      for (let i = e.offset; i < e.offset + e.numel; i++) bits[i >>> 5] |= 1 << (i & 31);
    }
    return bits;
  }

  /** Records zero-filling of every gradient (one clear of the flat gradient buffer). */
  zeroGrad(): void {
    this.device.clear(this.flatGrad);
  }

  /** One readback of the flat buffer, split into a copy per parameter. */
  async read(): Promise<Map<string, Float32Array>> {
    const all = (await this.flat.toArray()) as Float32Array;
    return new Map(this.entries.map((e) => [e.name, all.slice(e.offset, e.offset + e.numel)]));
  }

  /** One readback of the flat gradient buffer, split per parameter. */
  async readGrads(): Promise<Map<string, Float32Array>> {
    const all = (await this.flatGrad.toArray()) as Float32Array;
    return new Map(this.entries.map((e) => [e.name, all.slice(e.offset, e.offset + e.numel)]));
  }

  /** Queues uploads of the given parameters (others keep their values). */
  write(values: Map<string, Float32Array>): void {
    for (const [name, data] of values) {
      const t = this.tensors.get(name);
      if (!t) {
        const known = this.entries.map((e) => e.name).join(", ");
        throw new Error(`ParameterSet.write: unknown parameter "${name}" (known: ${known})`);
      }
      if (data.length !== t.size) {
        throw new Error(
          `ParameterSet.write: "${name}" has ${data.length} values for shape ${
            formatShape(t.shape)
          }`,
        );
      }
      t.write(data);
    }
  }

  /** 1 where the element's parameter takes weight decay, else 0 (padding 0), [flatLength]. */
  decayMask(): Float32Array {
    const mask = new Float32Array(this.flatLength);
    for (const e of this.entries) if (e.decay) mask.fill(1, e.offset, e.offset + e.numel);
    return mask;
  }

  /** Frees both flat buffers; the views become unusable. */
  destroy(): void {
    for (const t of this.tensors.values()) {
      t.grad?.release();
      t.release();
    }
    this.flat.release();
    this.flatGrad.release();
  }
}

/** A name predicate from a glob, a list of globs, a RegExp or a predicate. */
export function parameterMatcher(
  which: string | readonly string[] | RegExp | ((name: string) => boolean),
): (name: string) => boolean {
  if (typeof which === "function") return which;
  if (which instanceof RegExp) return (name) => which.test(name);
  const globs = typeof which === "string" ? [which] : which;
  const res = globs.map((g) =>
    new RegExp(`^${g.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
  );
  return (name) => res.some((re) => re.test(name));
}

function describeMatcher(which: unknown): string {
  if (typeof which === "function") return "the predicate";
  if (which instanceof RegExp) return String(which);
  return JSON.stringify(which);
}

/**
 * Rotary position embedding (RoPE), forward and backward (the reverse rotation), over
 * x [B,H,T,D]. Kernel: shaders/rope.wgsl.
 *
 * @module
 */

import type { Device } from "../../gpu/device.ts";
import { defineKernel, grid1d } from "../../gpu/kernel.ts";
import { checkDType, checkInputs, recordOp } from "../op.ts";
import { formatShape, Tensor, untracked } from "../tensor.ts";

const WORKGROUP = 256;
const ropeKernel = defineKernel({
  shader: "rope",
  entryPoint: "rope_rotate",
  uniforms: [["rows", "u32"], ["seq", "u32"], ["head_dim", "u32"], ["offset", "u32"], [
    "direction",
    "f32",
  ]],
});

/** Options of `rope`. */
export interface RopeOptions {
  /** Position of the first row (a KV cache's length when decoding). Default 0. */
  offset?: number;
  /** Frequency base θ. Default 10,000. */
  base?: number;
}

interface AngleTable {
  tensor: Tensor;
  positions: number;
}

/** Per device and (D, base): the cos/sin table, grown by doubling and never shrunk. */
const angleTables = new WeakMap<Device, Map<string, AngleTable>>();

/** cos/sin of pos·base^(−2c/D) for pos < `positions`, computed in float64. */
function angleTable(dev: Device, headDim: number, base: number, positions: number): Tensor {
  let tables = angleTables.get(dev);
  if (tables === undefined) angleTables.set(dev, tables = new Map());
  const key = `${headDim}/${base}`;
  const have = tables.get(key);
  if (have !== undefined && have.positions >= positions) return have.tensor;
  // Old tables are kept (not released): a recorded backward may still read them.
  const size = Math.max(positions, 2 * (have?.positions ?? 0), 64);
  const half = headDim / 2;
  const data = new Float32Array(size * half * 2);
  for (let pos = 0; pos < size; pos++) {
    for (let c = 0; c < half; c++) {
      const angle = pos * Math.pow(base, (-2 * c) / headDim);
      data[(pos * half + c) * 2] = Math.cos(angle);
      data[(pos * half + c) * 2 + 1] = Math.sin(angle);
    }
  }
  // The table is a cache that outlives any tidy scope that first asks for it.
  const tensor = untracked(() => Tensor.fromArray(dev, data, [size, half, 2]));
  tables.set(key, { tensor, positions: size });
  return tensor;
}

function rotate(x: Tensor, table: Tensor, offset: number, direction: number): Tensor {
  const [b, h, t, d] = x.shape;
  const y = Tensor.empty(x.device, x.shape);
  const rows = b * h * t;
  ropeKernel.dispatch(x.device, {
    bindings: [x, table, y],
    uniforms: { rows, seq: t, head_dim: d, offset, direction },
    workgroups: grid1d((rows * d) / 2, WORKGROUP),
  });
  return y;
}

/**
 * Rotates channel pairs (c, c + D/2) of x [B,H,T,D] by angle (t + offset)·base^(−2c/D), the
 * GPT-NeoX / Hugging Face Llama convention. D must be even.
 *
 * @example
 * ```ts
 * const qr = ops.rope(q);                     // training
 * const qn = ops.rope(qNew, { offset: 17 });  // decoding the 18th token
 * ```
 */
export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  checkInputs("rope", x);
  checkDType("rope", x, "f32");
  if (x.shape.length !== 4 || x.shape[3] % 2 !== 0) {
    throw new Error(`rope: x must be [B,H,T,D] with D even, got ${formatShape(x.shape)}`);
  }
  const offset = opts.offset ?? 0;
  const base = opts.base ?? 10000;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new Error(`rope: offset must be a non-negative integer, got ${offset}`);
  }
  const table = angleTable(x.device, x.shape[3], base, offset + x.shape[2]);
  const y = rotate(x, table, offset, 1);
  return recordOp("rope", y, [x], (g) => [rotate(g, table, offset, -1)]);
}

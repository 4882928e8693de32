/**
 * One readback for several scalars: a log step needs the loss, the gradient norm and the
 * optimizer's skip counter, and each separate `mapAsync` costs a GPU round trip (≥ 10 ms on
 * lavapipe). The staging buffer is kept per device and reused.
 */

import type { Device } from "../gpu/device.ts";
import { GpuError } from "../util/errors.ts";
import type { Tensor } from "./tensor.ts";

const SLOT = 4;
const idle = new WeakMap<Device, GPUBuffer[]>();

/**
 * The values of one-element tensors (null stays null), read back with one copy pass and one map.
 *
 * @example
 * ```ts
 * const [loss, norm] = await readScalars(dev, [lossSum, gradNorm]);
 * ```
 */
export async function readScalars(
  dev: Device,
  tensors: readonly (Tensor | null)[],
): Promise<(number | null)[]> {
  for (const t of tensors) {
    if (t !== null && t.size !== 1) throw new Error(`readScalars: tensor of ${t.size} elements`);
  }
  dev.throwIfFailed();
  const size = Math.max(16, Math.ceil((tensors.length * SLOT) / 16) * 16);
  const free = idle.get(dev) ?? [];
  idle.set(dev, free);
  const index = free.findIndex((b) => b.size >= size);
  const staging = index >= 0 ? free.splice(index, 1)[0] : dev.gpu.createBuffer({
    label: "scalar readback",
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = dev.recorder.copyEncoder();
  tensors.forEach((t, i) => {
    if (t !== null) encoder.copyBufferToBuffer(t.buffer, t.byteOffset, staging, i * SLOT, SLOT);
  });
  dev.flush();
  try {
    // A lost device may never resolve the map; its loss is the answer then.
    const lost = dev.gpu.lost.then((info) => Promise.reject(new Error(info.message)));
    lost.catch(() => {}); // a loss after this read is someone else's to report
    await Promise.race([staging.mapAsync(GPUMapMode.READ, 0, size), lost]);
  } catch (err) {
    // Let the device's own loss or error handler name what happened, as `readback` does.
    await new Promise((resolve) => setTimeout(resolve, 100));
    dev.throwIfFailed();
    const message = ((err as Error).message ?? "").trim().split("\n")[0];
    throw new GpuError(`WebGPU readback failed: ${message}`);
  }
  const view = new DataView(staging.getMappedRange(0, size).slice(0));
  staging.unmap();
  free.push(staging);
  // Values computed by an invalid pipeline are garbage: never hand them out.
  await dev.checkErrors();
  return tensors.map((t, i) => {
    if (t === null) return null;
    if (t.dtype === "u32") return view.getUint32(i * SLOT, true);
    if (t.dtype === "i32") return view.getInt32(i * SLOT, true);
    if (t.dtype === "f32") return view.getFloat32(i * SLOT, true);
    throw new Error(`readScalars: ${t.dtype} is not a 4-byte type`);
  });
}

/** Shared helpers for engine tests: one device per test file, seeded data, f32 closeness. */

import { Device } from "../../src/gpu/device.ts";
import { Mulberry32 } from "../../src/util/random.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const adapterPresent = await hasWebGpuAdapter();
let device: Promise<Device> | null = null;

/** The test file's device (opened on first use). */
export function testDevice(): Promise<Device> {
  // No tuning: every stage depth gives bit-identical results (tests/gpu/autotune_test.ts), and
  // this file also runs in a browser, where no file cache exists.
  device ??= Device.open();
  return device;
}

/** Registers a test that needs a WebGPU adapter (skipped with a reason when there is none). */
export function gpuTest(name: string, fn: (dev: Device) => void | Promise<void>): void {
  testNeeding("a WebGPU adapter", adapterPresent, name, async () => fn(await testDevice()));
}

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const rng = new Mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

/** Rounds through f32, so the oracle sees exactly the values the GPU got. */
export function f32(x: Float64Array): Float64Array {
  return Float64Array.from(Float32Array.from(x));
}

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise, reporting the worst index.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, what = "values" }: { atol?: number; rtol?: number; what?: string } =
    {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} vs expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const excess = err - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Asserts two float arrays hold the same bits (so −0 ≠ 0 and NaN payloads count). */
export function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} vs expected ${expected.length}`);
  }
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const i = a.findIndex((bits, k) => bits !== e[k]);
  if (i >= 0) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
}

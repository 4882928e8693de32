import assert from "node:assert/strict";
import { sizeClass } from "../../src/gpu/buffer_pool.ts";
import { pipelineKey } from "../../src/gpu/pipeline_cache.ts";
import { loadShader, shaderNames } from "../../src/gpu/shader_loader.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { gpuTest } from "../tensor/_helpers.ts";
import { assertOneLineError, runDeno } from "../_support/cli.ts";

Deno.test("size classes: powers of two, then sixteenths; never smaller than asked", () => {
  assert.equal(sizeClass(1), 256);
  assert.equal(sizeClass(257), 512);
  assert.equal(sizeClass(1 << 20), 1 << 20);
  for (const n of [1_000_001, 3_000_000, 77_250_000]) {
    const c = sizeClass(n);
    assert.ok(c >= n && c <= n * 1.125, `${n} → ${c}`);
  }
});

Deno.test("pipeline key ignores constant order; shader loader reads shaders/", () => {
  assert.equal(pipelineKey("m", "e", { B: 2, A: 1 }), pipelineKey("m", "e", { A: 1, B: 2 }));
  assert.notEqual(pipelineKey("m", "e", { A: 1 }), pipelineKey("m", "e", { A: 2 }));
  assert.match(loadShader("elementwise"), /fn gelu_forward/);
  assert.throws(() => loadShader("../etc/passwd"), /unknown shader/);
  const files = [...Deno.readDirSync(new URL("../../shaders/", import.meta.url))].filter((e) =>
    e.isFile
  )
    .map((e) => e.name.replace(/\.wgsl$/, "")).sort();
  assert.deepEqual(shaderNames().sort(), files, "every shaders/*.wgsl is imported");
});

gpuTest(
  "device: real limits, pooled buffers reused, bytesInUse tracks live tensors",
  (dev) => {
    assert.ok(dev.limits.maxStorageBufferBindingSize >= 128 << 20);
    assert.ok(dev.limits.maxComputeInvocationsPerWorkgroup >= 256);
    assert.ok(dev.description.length > 0);
    const base = dev.bytesInUse();
    const a = Tensor.zeros(dev, [1000]);
    assert.equal(dev.bytesInUse() - base, 4096);
    const buffer = a.buffer;
    a.release();
    assert.equal(dev.bytesInUse(), base);
    const b = Tensor.zeros(dev, [900]);
    assert.equal(b.buffer, buffer, "same size class reuses the released buffer");
    b.release();
  },
);

gpuTest("upload after recorded work keeps order: earlier dispatches see old data", async (dev) => {
  const { ops } = await import("../../src/tensor/ops.ts");
  const x = Tensor.fromArray(dev, [1, 2, 3], [3]);
  const y = ops.scale(x, 2); // recorded, not yet submitted
  x.write([10, 20, 30]);
  const z = ops.scale(x, 2);
  assert.deepEqual(Array.from(await y.toArray()), [2, 4, 6]);
  assert.deepEqual(Array.from(await z.toArray()), [20, 40, 60]);
});

gpuTest(
  "a pooled buffer freed mid-recording is reused without corrupting earlier work",
  async (dev) => {
    const { ops } = await import("../../src/tensor/ops.ts");
    const x = Tensor.fromArray(dev, [1, 2, 3, 4], [4]);
    const y = ops.scale(x, 3);
    x.release();
    const w = Tensor.fromArray(dev, [5, 5, 5, 5], [4]); // likely x's old buffer
    const z = ops.add(y, w);
    assert.deepEqual(Array.from(await z.toArray()), [8, 11, 14, 17]);
  },
);

Deno.test("no adapter: Device.open throws a one-line UserError saying how to get one", async () => {
  const script = `
    Object.defineProperty(navigator, "gpu", { value: { requestAdapter: async () => null } });
    const { Device } = await import(${
    JSON.stringify(new URL("../../src/gpu/device.ts", import.meta.url).href)
  });
    const { runCli } = await import(${
    JSON.stringify(new URL("../../src/cli/run.ts", import.meta.url).href)
  });
    await runCli(async () => { await Device.open(); });
  `;
  assertOneLineError(
    await runDeno(["eval", script]),
    /^error: no WebGPU adapter found.*mesa-vulkan-drivers.*XDG_RUNTIME_DIR/,
  );
});

gpuTest("bind groups are reused when a step repeats the same dispatches", async (dev) => {
  const { ops } = await import("../../src/tensor/ops.ts");
  const { noGrad, tidy } = await import("../../src/tensor/tensor.ts");
  const x = Tensor.fromArray(dev, [1, 2, 3], [3]);
  const step = async () => {
    const y = tidy(() => noGrad(() => ops.scale(ops.scale(x, 2), 3)));
    const values = Array.from(await y.toArray());
    y.release();
    return values;
  };
  // The pool hands buffers out in an order that settles within a couple of steps.
  const results = [await step(), await step()];
  const before = dev.bindGroups.misses;
  results.push(await step(), await step());
  assert.equal(dev.bindGroups.misses, before, "repeated steps created no bind group");
  for (const r of results) assert.deepEqual(r, [6, 12, 18]);
});

gpuTest(
  "default-limits mode: limits within WebGPU's defaults; oversized kernels refused by name",
  async () => {
    const { Device } = await import("../../src/gpu/device.ts");
    const { WEBGPU_DEFAULT_LIMITS } = await import("../../src/gpu/limits.ts");
    const { defineKernel } = await import("../../src/gpu/kernel.ts");
    const { GpuError } = await import("../../src/util/errors.ts");
    const dev = await Device.open({ limits: "default" });
    try {
      assert.equal(dev.limitsMode, "default");
      for (const [name, value] of Object.entries(WEBGPU_DEFAULT_LIMITS)) {
        if (name.startsWith("min")) assert.ok(dev.limits[name] >= value, name);
        else assert.ok(dev.limits[name] <= value, `${name} ${dev.limits[name]} > ${value}`);
      }
      // A 128×128 tile with a 32-deep stage needs 32 KiB of workgroup memory (the tile menu
      // never offers it): refused before wgpu sees it.
      const deep = defineKernel({
        shader: "matmul",
        entryPoint: "matmul_tiled",
        constants: { TRANS_A: 0, TRANS_B: 1, ACCUMULATE: 0, BM: 128, BN: 128, BK: 32 },
      });
      const a = Tensor.zeros(dev, [128, 128]);
      assert.throws(
        () => deep.dispatch(dev, { bindings: [a, a, a], workgroups: [1, 1, 1] }),
        (err: Error) =>
          err instanceof GpuError &&
          /kernel matmul\/matmul_tiled\{.*BK=32.*\} does not fit this device: 32768 bytes of workgroup memory \(maxComputeWorkgroupStorageSize 16384\)/
            .test(err.message),
      );
      a.release();
    } finally {
      dev.destroy();
    }
  },
);

Deno.test("KILN_WEBGPU_LIMITS with a bad value is a one-line error", async () => {
  const script = `const { Device } = await import(${
    JSON.stringify(new URL("../../src/gpu/device.ts", import.meta.url).href)
  });
  await Device.open();`;
  const wrapper = `import { runCli } from ${
    JSON.stringify(new URL("../../src/cli/run.ts", import.meta.url).href)
  }; await runCli(async () => { ${script} });`;
  const out = await runDeno(["eval", wrapper], { env: { KILN_WEBGPU_LIMITS: "huge" } });
  if (/no WebGPU adapter/.test(out.stderr)) return;
  assertOneLineError(out, /KILN_WEBGPU_LIMITS must be "adapter" or "default", found "huge"/);
});

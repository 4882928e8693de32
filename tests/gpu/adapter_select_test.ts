import assert from "node:assert/strict";
import { listAdapters, selectAdapter } from "../../src/gpu/adapter_select.ts";
import { Device } from "../../src/gpu/device.ts";
import { UserError } from "../../src/util/errors.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const gpu = await hasWebGpuAdapter();

testNeeding("a WebGPU adapter", gpu, "device.adapter: by index or name substring", async () => {
  const all = await listAdapters();
  assert.ok(all.length >= 1);
  // The first adapter by index and by a piece of its name are the same adapter.
  const first = all[0].name;
  const piece = first.slice(0, Math.min(6, first.length)).toUpperCase();
  assert.equal((await selectAdapter(0)).info.description, all[0].adapter.info.description);
  assert.equal((await selectAdapter(piece)).info.description, all[0].adapter.info.description);
  const dev = await Device.open({ adapter: 0 });
  try {
    assert.equal(dev.description, first);
  } finally {
    dev.destroy();
  }
  await assert.rejects(() => selectAdapter(all.length), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, new RegExp(`device.adapter ${all.length}: no such adapter \\(0: `));
    return true;
  });
  await assert.rejects(() => selectAdapter("no-such-gpu-xyz"), /no such adapter/);
});

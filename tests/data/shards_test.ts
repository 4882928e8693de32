import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeShard,
  encodeShard,
  listShards,
  loadShards,
  readShard,
  writeShard,
} from "../../src/data/shards.ts";
import { UserError } from "../../src/util/errors.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiln-shards-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("uint16 shard has llm.c's header and round-trips", async () => {
  await withTempDir(async (dir) => {
    const tokens = [50256, 15496, 995, 0, 65535];
    const path = join(dir, "x_train_000000.bin");
    await writeShard(path, tokens, 50257);
    const bytes = await Deno.readFile(path);
    assert.equal(bytes.length, 1024 + 2 * tokens.length);
    const header = new Int32Array(bytes.buffer, 0, 256);
    assert.deepEqual([header[0], header[1], header[2]], [20240520, 1, 5]);
    assert.ok(header.subarray(3).every((v) => v === 0));
    // Tokens read back by hand as little-endian uint16, independent of the reader.
    const view = new DataView(bytes.buffer);
    assert.deepEqual(tokens.map((_, i) => view.getUint16(1024 + 2 * i, true)), tokens);
    const back = await readShard(path);
    assert.ok(back instanceof Uint16Array);
    assert.deepEqual(Array.from(back), tokens);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), [
      "x_train_000000.bin",
    ]);
  });
});

Deno.test("vocabularies over 65,536 give uint32 shards (magic 20240801, version 7)", async () => {
  await withTempDir(async (dir) => {
    const tokens = [0, 65536, 128255, 4000000000];
    const path = join(dir, "big.bin");
    await writeShard(path, tokens, 128256);
    const bytes = await Deno.readFile(path);
    const view = new DataView(bytes.buffer);
    assert.deepEqual([view.getInt32(0, true), view.getInt32(4, true), view.getInt32(8, true)], [
      20240801,
      7,
      4,
    ]);
    assert.equal(bytes.length, 1024 + 4 * tokens.length);
    const back = await readShard(path);
    assert.ok(back instanceof Uint32Array);
    assert.deepEqual(Array.from(back), tokens);
  });
});

Deno.test("a token that does not fit the width is refused", () => {
  assert.throws(() => encodeShard([65536], 65536), RangeError);
  assert.throws(() => encodeShard([-1], 100), RangeError);
});

Deno.test("reader rejects wrong magic, version and size with a one-line UserError", () => {
  const good = encodeShard([1, 2, 3], 100);
  const cases: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    ["magic", (b) => (new DataView(b.buffer).setInt32(0, 1234, true), b), /magic 1234/],
    ["version", (b) => (new DataView(b.buffer).setInt32(4, 2, true), b), /version 2/],
    ["truncated", (b) => b.slice(0, b.length - 1), /does not match its header/],
    ["too long", (b) => new Uint8Array([...b, 0, 0]), /does not match its header/],
    ["count", (b) => (new DataView(b.buffer).setInt32(8, 4, true), b), /does not match/],
    ["tiny", () => new Uint8Array(10), /smaller than the 1024-byte header/],
  ];
  for (const [what, corrupt, message] of cases) {
    const bad = corrupt(good.slice());
    assert.throws(() => decodeShard(bad, "f.bin"), (err: unknown) => {
      assert.ok(err instanceof UserError, what);
      assert.match(err.message, message, what);
      assert.match(err.message, /^f\.bin: /, what);
      assert.ok(!err.message.includes("\n"), what);
      return true;
    });
  }
});

Deno.test("loadShards takes a directory, a glob or a file, in path order", async () => {
  await withTempDir(async (dir) => {
    await writeShard(join(dir, "d_train_000001.bin"), [3, 4], 10);
    await writeShard(join(dir, "d_train_000000.bin"), [1, 2], 10);
    await writeShard(join(dir, "d_val_000000.bin"), [9], 10);
    const train = await loadShards(join(dir, "d_train_*.bin"));
    assert.deepEqual(train.map((s) => Array.from(s.tokens)), [[1, 2], [3, 4]]);
    assert.equal((await listShards(dir)).length, 3);
    assert.deepEqual(await listShards(join(dir, "d_val_000000.bin")), [
      join(dir, "d_val_000000.bin"),
    ]);
    await assert.rejects(() => loadShards(join(dir, "nope_*.bin")), UserError);
    await assert.rejects(() => readShard(join(dir, "missing.bin")), UserError);
  });
});

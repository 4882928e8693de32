import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type SafetensorsTensor,
  writeSafetensors,
} from "../../src/nn/safetensors.ts";
import { UserError } from "../../src/util/errors.ts";

/** Builds a safetensors file by hand from the format's definition (the independent truth). */
function handMade(headerJson: string, data: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(headerJson);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

function sample(): Map<string, SafetensorsTensor> {
  return new Map<string, SafetensorsTensor>([
    ["b", { dtype: "I32", shape: [3], data: new Int32Array([-1, 0, 7]) }],
    ["a", { dtype: "F32", shape: [2, 2], data: new Float32Array([1.5, -2, 3.25, 4]) }],
    ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
    ["half", { dtype: "BF16", shape: [1, 3], data: new Uint16Array([0x3fc0, 1, 65535]) }],
    ["mask", { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) }],
    ["big", { dtype: "I64", shape: [1], data: new BigInt64Array([-(2n ** 40n)]) }],
  ]);
}

Deno.test("safetensors: encoding matches the format byte for byte", () => {
  const tensors = new Map<string, SafetensorsTensor>([
    ["x", { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) }],
  ]);
  const bytes = encodeSafetensors(tensors, { format: "pt" });
  // 63 bytes of JSON, padded with one space to 64 (a multiple of 8).
  const json =
    '{"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const padded = json + " ".repeat((8 - (json.length % 8)) % 8);
  const expected = handMade(padded, new Uint8Array(new Float32Array([1, 2]).buffer));
  assert.deepEqual(bytes, expected);
  assert.equal((bytes.length - 8 - 8) % 8, 0);
});

Deno.test("safetensors: write/read round trip keeps names, dtypes, shapes, data and metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "m.safetensors");
    await writeSafetensors(path, sample(), { format: "pt", step: "12" });
    const { tensors, metadata } = await readSafetensors(path);
    assert.deepEqual(metadata, { format: "pt", step: "12" });
    assert.deepEqual([...tensors.keys()].sort(), ["a", "b", "big", "empty", "half", "mask"]);
    for (const [name, t] of sample()) {
      const got = tensors.get(name)!;
      assert.equal(got.dtype, t.dtype);
      assert.deepEqual(got.shape, t.shape);
      assert.deepEqual(got.data, t.data);
    }
    // Nothing but the file itself is left behind (atomic write cleans up its temp file).
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["m.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: decodes a hand-made file with unaligned offsets", () => {
  const data = new Uint8Array([1, 2, 3, 0, 0, 128, 63]); // U8[3] then F32 1.0 at offset 3
  const json = '{"u":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},' +
    '"f":{"dtype":"F32","shape":[1,1],"data_offsets":[3,7]}}';
  const { tensors, metadata } = decodeSafetensors(handMade(json, data));
  assert.deepEqual(metadata, {});
  assert.deepEqual(tensors.get("u")!.data, new Uint8Array([1, 2, 3]));
  assert.deepEqual(tensors.get("f")!.data, new Float32Array([1]));
});

Deno.test("safetensors: corrupt files are one-line UserErrors", async (t) => {
  const good = encodeSafetensors(sample());
  const headerLength = Number(new DataView(good.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(good.subarray(8, 8 + headerLength));
  const body = good.subarray(8 + headerLength);
  const cases: [string, Uint8Array, RegExp][] = [
    ["too short", new Uint8Array(5), /shorter than the 8-byte header length/],
    ["truncated data", good.subarray(0, good.length - 4), /data section has|ends at byte/],
    ["extra data", new Uint8Array([...good, 0, 0, 0, 0]), /cover .* bytes but the data section/],
    [
      "header length past end",
      (() => {
        const b = good.slice();
        new DataView(b.buffer).setBigUint64(0, BigInt(b.length), true);
        return b;
      })(),
      /does not fit/,
    ],
    ["not JSON", handMade("{nope      ", body), /header is not JSON/],
    [
      "shape disagrees with offsets",
      handMade(header.replace('"shape":[3]', '"shape":[4]'), body),
      /needs 16 bytes but data_offsets span 12/,
    ],
    ["unknown dtype", handMade(header.replace('"I32"', '"Q7"'), body), /unsupported dtype/],
    [
      "overlap",
      handMade(
        '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},' +
          '"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}',
        new Uint8Array(3),
      ),
      /gap or overlap/,
    ],
  ];
  for (const [name, bytes, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(() => decodeSafetensors(bytes, "x.safetensors"), (err: unknown) => {
        assert.ok(err instanceof UserError, `expected UserError, got ${err}`);
        assert.match(err.message, /^x\.safetensors: not a valid safetensors file: /);
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes("\n"));
        return true;
      });
    });
  }
  await t.step("missing file", async () => {
    await assert.rejects(readSafetensors("/nonexistent/m.safetensors"), UserError);
  });
});

Deno.test("safetensors: writing data that disagrees with the shape is refused", () => {
  const bad = new Map<string, SafetensorsTensor>([
    ["w", { dtype: "F32", shape: [2, 3], data: new Float32Array(5) }],
  ]);
  assert.throws(() => encodeSafetensors(bad), /has 5 elements of 4 bytes, expected 6 of 4 for F32/);
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { zstdCompressSync } from "node:zlib";
import { parquetWriteBuffer } from "hyparquet-writer";
import { readFileDocuments } from "../../../src/data/readers/file.ts";
import { readParquetDocuments } from "../../../src/data/readers/parquet.ts";
import { newReadStats } from "../../../src/data/readers/utf8.ts";
import { UserError } from "../../../src/util/errors.ts";
import { tempDir } from "../temp_dir.ts";

async function write(name: string, buf: ArrayBuffer): Promise<string> {
  const path = join(await tempDir(), name);
  await Deno.writeFile(path, new Uint8Array(buf));
  return path;
}

async function read(path: string, textField = "text") {
  const stats = newReadStats();
  const docs: string[] = [];
  for await (const d of readParquetDocuments(path, { textField, stats })) docs.push(d);
  return { docs, stats };
}

Deno.test("parquet: many row groups, row order kept, empty and null texts skipped", async () => {
  const texts = Array.from(
    { length: 1000 },
    (_, i) => (i % 97 === 0 ? "" : `row ${i} ${"ü".repeat(i % 5)}`),
  );
  const withNull: (string | null)[] = [...texts];
  withNull[500] = null;
  const path = await write(
    "t.parquet",
    parquetWriteBuffer({
      columnData: [
        { name: "url", data: texts.map((_, i) => `u${i}`), type: "STRING" },
        { name: "text", data: withNull, type: "STRING" },
      ],
      rowGroupSize: 64,
    }),
  );
  const { docs, stats } = await read(path);
  const expected = withNull.filter((t): t is string => t !== null && t !== "");
  assert.deepEqual(docs, expected);
  assert.equal(stats.documents, expected.length);
  // The extension routes .parquet files here too.
  const viaFile: string[] = [];
  for await (const d of readFileDocuments(path, { stats: newReadStats() })) viaFile.push(d);
  assert.equal(viaFile.length, expected.length);
});

Deno.test("parquet: ZSTD pages (as Hub datasets use) and invalid UTF-8 counted", async () => {
  const bad = new Uint8Array([0x68, 0xff, 0x69]);
  const path = await write(
    "z.parquet",
    parquetWriteBuffer({
      columnData: [{ name: "content", data: [bad, new TextEncoder().encode("fine")] }],
      schema: [
        { name: "root", num_children: 1 },
        {
          name: "content",
          type: "BYTE_ARRAY",
          converted_type: "UTF8",
          repetition_type: "OPTIONAL",
        },
      ],
      codec: "ZSTD",
      compressors: { ZSTD: (b: Uint8Array) => new Uint8Array(zstdCompressSync(b)) },
    }),
  );
  const { docs, stats } = await read(path, "content");
  assert.deepEqual(docs, ["h\ufffdi", "fine"]);
  assert.equal(stats.invalidUtf8, 1);
});

Deno.test("parquet: a missing column names the columns that exist", async () => {
  const path = await write(
    "c.parquet",
    parquetWriteBuffer({ columnData: [{ name: "sentence", data: ["a"], type: "STRING" }] }),
  );
  await assert.rejects(
    () => read(path, "text"),
    (e) => e instanceof UserError && /no column "text" \(columns: sentence\)/.test(e.message),
  );
  const junk = await write("junk.parquet", new TextEncoder().encode("not parquet").buffer);
  await assert.rejects(() => read(junk), /not a readable parquet file/);
});

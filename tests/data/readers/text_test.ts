import assert from "node:assert/strict";
import { join } from "node:path";
import { readTextDocuments } from "../../../src/data/readers/text.ts";
import { newReadStats } from "../../../src/data/readers/utf8.ts";
import { tempDir } from "../temp_dir.ts";

const GRIMM = "../shared/data/grimm_tales.txt";

async function collect(path: string, delimiter: string) {
  const stats = newReadStats();
  const docs: string[] = [];
  for await (const d of readTextDocuments(path, { delimiter, stats })) docs.push(d);
  return { docs, stats };
}

async function tempFile(bytes: Uint8Array | string): Promise<string> {
  const dir = await tempDir();
  const path = join(dir, "f.txt");
  await Deno.writeFile(path, typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  return path;
}

/** The whole file decoded in one go: the reference the streaming reader must match. */
async function wholeText(path: string): Promise<string> {
  let bytes = await Deno.readFile(path);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes).replaceAll("\r\n", "\n");
}

Deno.test("grimm_tales: BOM dropped and CRLF normalised, whole file as one document", async () => {
  const raw = await Deno.readFile(GRIMM);
  assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf], "fixture starts with a BOM");
  const { docs, stats } = await collect(GRIMM, "file");
  assert.equal(docs.length, 1);
  assert.equal(docs[0], await wholeText(GRIMM));
  assert.ok(!docs[0].includes("\r") && !docs[0].startsWith("\ufeff"));
  assert.equal(stats.invalidUtf8, 0);
});

Deno.test("grimm_tales: blank-line paragraphs match a whole-string split", async () => {
  const expected = (await wholeText(GRIMM)).split(/\n[ \t]*\n/)
    .map((p) => p.replace(/^\n+|\n+$/g, "")).filter((p) => p.trim() !== "");
  const { docs, stats } = await collect(GRIMM, "blank_line");
  assert.ok(docs.length > 1000);
  assert.deepEqual(docs, expected);
  assert.equal(stats.documents, expected.length);
});

Deno.test("line and literal delimiters match whole-string splits across 64 KiB chunk edges", async () => {
  // Many short records so separators and CRLF pairs straddle the reader's chunk boundaries.
  const records = Array.from({ length: 30000 }, (_, i) => `story ${i} ${"x".repeat(i % 13)}`);
  const sep = "<|endoftext|>";
  const crlf = await tempFile(records.join("\r\n"));
  assert.deepEqual((await collect(crlf, "line")).docs, records);
  const lit = await tempFile(records.join(`\n${sep}\n`));
  assert.deepEqual((await collect(lit, sep)).docs, records);
});

Deno.test("empty documents are skipped for every delimiter", async () => {
  const path = await tempFile("a\n\n\n\nb b\n  \n\t\nc\n<S><S>\n<S>d");
  assert.deepEqual((await collect(path, "blank_line")).docs, ["a", "b b", "c\n<S><S>\n<S>d"]);
  assert.deepEqual((await collect(path, "line")).docs, ["a", "b b", "c", "<S><S>", "<S>d"]);
  assert.deepEqual((await collect(path, "<S>")).docs, ["a\n\n\n\nb b\n  \n\t\nc", "d"]);
  const empty = await tempFile("");
  for (const d of ["file", "line", "blank_line", "<S>"]) {
    assert.deepEqual((await collect(empty, d)).docs, [], d);
  }
});

Deno.test("a very long line (6 MB) is one document, intact", async () => {
  const long = "abcdefghij".repeat(600_000);
  const path = await tempFile(`short\n${long}\nend`);
  const { docs } = await collect(path, "line");
  assert.equal(docs.length, 3);
  assert.equal(docs[1].length, long.length);
  assert.equal(docs[1], long);
});

Deno.test("invalid UTF-8 is replaced and counted; a real U+FFFD is not an error", async () => {
  const enc = (s: string) => [...new TextEncoder().encode(s)];
  // Put a valid encoded U+FFFD across the first 64 KiB chunk edge (bytes 65535..65537).
  const pad = new Array(65535).fill(0x61);
  const bytes = new Uint8Array([
    ...pad,
    0xef,
    0xbf,
    0xbd,
    ...enc("\nok "),
    0xff, // invalid start byte
    ...enc(" x "),
    0xc3,
    0x28, // truncated two-byte sequence
    ...enc("\nlast "),
    0xe2,
    0x82, // truncated at end of file
  ]);
  const path = await tempFile(bytes);
  const { docs, stats } = await collect(path, "line");
  assert.equal(docs.length, 3);
  assert.ok(docs[0].endsWith("a\ufffd"));
  assert.equal(docs[1], "ok \ufffd x \ufffd(");
  assert.equal(docs[2], "last \ufffd");
  assert.equal(stats.invalidUtf8, 3);
});

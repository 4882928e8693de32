import assert from "node:assert/strict";
import { join } from "node:path";
import { readJsonlDocuments } from "../../../src/data/readers/jsonl.ts";
import { newReadStats } from "../../../src/data/readers/utf8.ts";
import { UserError } from "../../../src/util/errors.ts";
import { tempDir } from "../temp_dir.ts";

async function read(content: string | Uint8Array, textField = "text") {
  const path = join(await tempDir(), "d.jsonl");
  await Deno.writeFile(
    path,
    typeof content === "string" ? new TextEncoder().encode(content) : content,
  );
  const stats = newReadStats();
  const docs: string[] = [];
  for await (const d of readJsonlDocuments(path, { textField, stats })) docs.push(d);
  return { docs, stats };
}

Deno.test("jsonl: text field, CRLF, blank lines, empty texts, nested field", async () => {
  const { docs } = await read('{"text":"a\\nb"}\r\n\r\n{"text":""}\r\n{"text":"c","x":1}\r\n');
  assert.deepEqual(docs, ["a\nb", "c"]);
  const nested = await read('{"meta":{"body":"deep"}}\n', "meta.body");
  assert.deepEqual(nested.docs, ["deep"]);
});

Deno.test("jsonl: a truncated last line is skipped; a malformed middle line is an error", async () => {
  assert.deepEqual((await read('{"text":"a"}\n{"text":"b"}\n{"text":"c')).docs, ["a", "b"]);
  await assert.rejects(
    () => read('{"text":"a"}\n{"text":\n{"text":"c"}\n'),
    (e) => e instanceof UserError && /d\.jsonl:2: malformed JSON/.test(e.message),
  );
  await assert.rejects(
    () => read('{"body":"a","id":1}\n'),
    (e) => e instanceof UserError && /no string field "text" \(fields: body, id\)/.test(e.message),
  );
});

Deno.test("jsonl: a 3 MB text value and invalid UTF-8 inside a string", async () => {
  const long = "z".repeat(3_000_000);
  assert.equal((await read(JSON.stringify({ text: long }) + "\n")).docs[0].length, long.length);
  const bytes = new Uint8Array([
    ...new TextEncoder().encode('{"text":"a'),
    0xc0,
    ...new TextEncoder().encode('b"}\n'),
  ]);
  const { docs, stats } = await read(bytes);
  assert.deepEqual(docs, ["a\ufffdb"]);
  assert.equal(stats.invalidUtf8, 1);
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "../../src/util/errors.ts";
import {
  parseJsonLines,
  readUserFile,
  readUserTextFile,
  writeFileAtomic,
} from "../../src/util/fs.ts";

Deno.test("writeFileAtomic replaces the file and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "a", "x.json");
  await writeFileAtomic(path, "one");
  await writeFileAtomic(path, "two");
  assert.equal(await Deno.readTextFile(path), "two");
  const names = [...Deno.readDirSync(join(dir, "a"))].map((e) => e.name);
  assert.deepEqual(names, ["x.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseJsonLines tolerates a truncated last line only", () => {
  assert.deepEqual(parseJsonLines('{"a":1}\n{"a":2}\n{"a":'), [{ a: 1 }, { a: 2 }]);
  assert.throws(() => parseJsonLines('{"a":1}\n{"a":\n{"a":3}\n'), /line 2/);
});

Deno.test("readUserFile / readUserTextFile: contents, or a one-line UserError naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.txt");
    await Deno.writeTextFile(path, "héllo");
    assert.equal(await readUserTextFile(path), "héllo");
    assert.deepEqual(await readUserFile(path), new TextEncoder().encode("héllo"));
    const missing = join(dir, "nope.bin");
    await assert.rejects(readUserFile(missing, "shard"), (err: Error) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, `shard not found: ${missing}`);
      return true;
    });
    await assert.rejects(readUserTextFile(missing), /file not found: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

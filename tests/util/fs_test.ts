import assert from "node:assert/strict";
import { join } from "node:path";
import { parseJsonLines, writeFileAtomic } from "../../src/util/fs.ts";

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

import assert from "node:assert/strict";
import { join } from "node:path";
import { firstTypeError, typecheckLocal } from "../../src/plugins/typecheck.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("firstTypeError: deno check's first diagnostic as file:line:col: code message", () => {
  const out =
    "\x1b[0m\x1b[1mTS2322 \x1b[0m[ERROR]: Type 'string' is not assignable to type 'number'.\n" +
    'const x: number = "a";\n    ~\n    at file:///r/p/plugin.ts:3:7\n\nFound 2 errors.\n';
  assert.equal(
    firstTypeError(out, "/r"),
    "p/plugin.ts:3:7: TS2322 Type 'string' is not assignable to type 'number'. (and 1 more)",
  );
});

Deno.test("typecheckLocal: a type error is one line; a pass is cached by content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cacheDir = join(dir, "cache");
    const bad = join(dir, "bad.ts");
    await Deno.writeTextFile(bad, `export const x: number = "not a number";\n`);
    const opts = { root: dir, editedFiles: false, cacheDir, deno: Deno.execPath() };
    await assert.rejects(
      typecheckLocal({ ...opts, plugins: [bad] }),
      (e: Error) =>
        e instanceof UserError && !e.message.includes("\n") &&
        /^type error before starting: bad\.ts:1:14: TS2322 Type 'string' is not assignable/.test(
          e.message,
        ),
    );
    const good = join(dir, "good.ts");
    await Deno.writeTextFile(good, `export const x: number = 3;\n`);
    await typecheckLocal({ ...opts, plugins: [good] });
    assert.equal([...Deno.readDirSync(cacheDir)].length, 1, "one pass stamp");
    // The rerun does not run deno at all: a deno that cannot start would fail it.
    await typecheckLocal({ ...opts, plugins: [good], deno: join(dir, "no-such-deno") });
    // Changed content is checked again (and here the missing deno shows it ran).
    await Deno.writeTextFile(good, `export const x: number = 4;\n`);
    await assert.rejects(typecheckLocal({ ...opts, plugins: [good], deno: join(dir, "nope") }));
    // Nothing local to check: nothing runs.
    await typecheckLocal({ ...opts, plugins: [], deno: join(dir, "nope") });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { assertOneLineError, runTool } from "../_support/cli.ts";

function kiln(...args: string[]) {
  return runTool("kiln", args);
}

Deno.test("kiln lists its commands and dispatches to them", async () => {
  const help = await kiln("--help");
  assert.equal(help.code, 0);
  for (const c of ["train", "viz", "runs", "download", "tokenize", "validate", "demo", "probe"]) {
    assert.match(help.stdout, new RegExp(`\\b${c}\\b`));
  }
  const sub = await kiln("train", "--help");
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /--config/);
});

Deno.test("kiln: an unknown command is a one-line error with exit 2", async () => {
  const r = await kiln("trian");
  assertOneLineError(r, /unknown command "trian"; commands: .*train/);
});

import assert from "node:assert/strict";

async function kiln(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/kiln.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("kiln lists its commands and dispatches to them", async () => {
  const help = await kiln("--help");
  assert.equal(help.code, 0);
  for (const c of ["train", "viz", "runs", "download"]) {
    assert.match(help.stdout, new RegExp(`\\b${c}\\b`));
  }
  const sub = await kiln("train", "--help");
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /--config/);
});

Deno.test("kiln: an unknown command is a one-line error with exit 2", async () => {
  const r = await kiln("trian");
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /unknown command "trian"; commands: .*train/);
});

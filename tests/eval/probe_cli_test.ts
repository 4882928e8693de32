import assert from "node:assert/strict";

async function runTool(tool: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tools/${tool}.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("probe and demo: --help, and bad input is one error line with exit 2", async () => {
  for (const tool of ["probe", "demo"]) {
    const help = await runTool(tool, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`Usage: deno task ${tool}`));
  }
  const missing = await runTool("probe", ["--checkpoint", "runs/does-not-exist"]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  assert.match(missing.stderr, /^error: .*not found: runs\/does-not-exist/);
  const noFlag = await runTool("probe", []);
  assert.equal(noFlag.code, 2);
  assert.match(noFlag.stderr, /--checkpoint is required/);
  const badDemo = await runTool("demo", ["--config", "configs/shakespeare_char_small.yaml"]);
  assert.equal(badDemo.code, 2);
  assert.match(badDemo.stderr, /must use data.source=process/);
});

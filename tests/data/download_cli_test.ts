import assert from "node:assert/strict";
import { join } from "node:path";
import { type FakeRepo, startFakeHub } from "./fake_hub.ts";
import { tempDir } from "./temp_dir.ts";
import { assertOneLineError, runTool } from "../_support/cli.ts";

function runDownload(args: string[], env: Record<string, string>, cwd: string) {
  return runTool("download", args, { cwd, env: { HF_TOKEN: "", ...env } });
}

Deno.test("deno task download (subprocess): success, then one-line errors with exit 2", async () => {
  const enc = new TextEncoder();
  const repo: FakeRepo = {
    id: "kiln-test/cli",
    sha: "c".repeat(40),
    files: {
      "train.jsonl": enc.encode('{"text":"a"}\n{"text":"b"}\n'),
      "test.jsonl": enc.encode('{"text":"c"}\n'),
    },
  };
  const hub = startFakeHub([repo, { ...repo, id: "kiln-test/gated", token: "hf_ok" }]);
  const cwd = await tempDir();
  const env = { HF_ENDPOINT: hub.url };
  try {
    const ok = await runDownload(["kiln-test/cli", "--split", "train"], env, cwd);
    assert.equal(ok.code, 0, ok.stderr);
    const dir = join(cwd, "assets", "datasets", "kiln-test", "cli");
    assert.equal(ok.stdout.trim(), join("assets", "datasets", "kiln-test", "cli"));
    assert.equal(await Deno.readTextFile(join(dir, "train.jsonl")), '{"text":"a"}\n{"text":"b"}\n');
    assert.ok(!(await Deno.stat(join(dir, "test.jsonl")).catch(() => null)));

    const cases: [string[], Record<string, string>, RegExp][] = [
      [["kiln-test/missing"], env, /^error: dataset kiln-test\/missing: not found \(HTTP 404\)/],
      [["kiln-test/gated"], env, /^error: .*401.*HF_TOKEN/],
      [["kiln-test/cli", "--config", "nope"], env, /available configs: default/],
      [["kiln-test/cli", "--max-files", "0"], env, /--max-files: expected at least 1/],
      [["not a dataset"], env, /unknown dataset "not a dataset"/],
    ];
    for (const [args, e, re] of cases) {
      assertOneLineError(await runDownload(args, e, cwd), re);
    }
    const gated = await runDownload(["kiln-test/gated", "--out", "g"], {
      ...env,
      HF_TOKEN: "hf_ok",
    }, cwd);
    assert.equal(gated.code, 0, gated.stderr);
    assert.ok(await Deno.stat(join(cwd, "g", "manifest.json")));
    const help = await runDownload(["--help"], env, cwd);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--max-files N/);
  } finally {
    await hub.close();
  }
});

/**
 * Downloads against a hostile or broken local hub (issue 19, item 8): a server that stalls
 * before answering or in the middle of a body is timed out and retried (resuming by Range), and
 * tree entries whose paths would leave `--out` are refused before anything is written.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { downloadDataset } from "../../src/data/hub.ts";
import { assertOneLineError, type CommandOutput, runTool } from "../_support/cli.ts";
import { type FakeRepo, startFakeHub } from "./fake_hub.ts";
import { tempDir } from "./temp_dir.ts";

const enc = new TextEncoder();
const BODY = enc.encode(
  Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: `line ${i}` })).join("\n") + "\n",
);

function repo(files: Record<string, Uint8Array>): FakeRepo {
  return { id: "kiln-test/stall", sha: "d".repeat(40), files };
}

/** Exit 2 and, after the status line `download` prints first, one `error:` line. */
function assertFailsWith(out: CommandOutput, pattern: RegExp): void {
  assert.equal(out.code, 2, out.stderr);
  const lines = out.stderr.trim().split("\n");
  assert.ok(lines.length <= 2, out.stderr);
  assert.match(lines.at(-1)!, /^error: /);
  assert.match(lines.at(-1)!, pattern);
}

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(e.name);
    if (e.isDirectory) out.push(...(await listAll(join(dir, e.name))).map((n) => `${e.name}/${n}`));
  }
  return out.sort();
}

Deno.test("download: a body that stalls mid-file times out and resumes with Range", async () => {
  const hub = startFakeHub([repo({ "train.jsonl": BODY })]);
  hub.faults.set("kiln-test/stall/train.jsonl", { stallAfter: { bytes: 1000, times: 1 } });
  const root = await tempDir();
  try {
    const result = await downloadDataset("kiln-test/stall", {
      endpoint: hub.url,
      root,
      token: "",
      retryBaseMs: 5,
      idleTimeoutMs: 300,
      log: () => {},
    });
    const got = await Deno.readFile(join(result.dir, "train.jsonl"));
    const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    assert.equal(hex(got), hex(BODY));
    const ranges = hub.requests.filter((r) => r.path.startsWith("/cdn/") && r.range)
      .map((r) => r.range);
    assert.deepEqual(ranges, ["bytes=1000-"]);
  } finally {
    await hub.close();
  }
});

Deno.test("download CLI: a server that never answers, or stalls every time, is one line, exit 2", async () => {
  const hub = startFakeHub([repo({ "train.jsonl": BODY })]);
  const cwd = await tempDir();
  const env = { HF_ENDPOINT: hub.url, HF_TOKEN: "" };
  try {
    hub.faults.set("kiln-test/stall/train.jsonl", { stallHeaders: 2 });
    const args = ["kiln-test/stall", "--out", "ds", "--timeout", "0.3", "--retries", "1"];
    const silent = await runTool("download", args, { cwd, env });
    assertFailsWith(
      silent,
      /train\.jsonl: download failed after 2 attempts \(no response within 0\.3 s\)/,
    );
    assert.ok(!(await Deno.stat(join(cwd, "ds", "train.jsonl")).catch(() => null)));

    hub.faults.set("kiln-test/stall/train.jsonl", { stallAfter: { bytes: 1000, times: 2 } });
    const stalls = await runTool("download", args, { cwd, env });
    // Each attempt resumed where the last stalled: 1000 bytes, then 1000 more.
    assertFailsWith(
      stalls,
      new RegExp(`no data for 0\\.3 s after 2000 of ${BODY.length} bytes\\); run again to resume`),
    );
    // What arrived is kept for the next run; the file itself is only renamed in when verified.
    assert.equal((await Deno.stat(join(cwd, "ds", "train.jsonl.partial"))).size, 2000);
    assert.ok(!(await Deno.stat(join(cwd, "ds", "train.jsonl")).catch(() => null)));

    // The next run resumes and finishes.
    const again = await runTool("download", args, { cwd, env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await Deno.readFile(join(cwd, "ds", "train.jsonl")), BODY);
  } finally {
    await hub.close();
  }
});

Deno.test("download CLI: tree paths that would leave --out are refused, nothing written", async () => {
  for (
    const path of ["../escape/train.jsonl", "/tmp/kiln-escape/train.jsonl", "a/../../train.jsonl"]
  ) {
    const hub = startFakeHub([{
      ...repo({ [path]: BODY }),
      cardData: { configs: [{ config_name: "default", data_files: [{ split: "train", path }] }] },
    }]);
    const cwd = await tempDir();
    try {
      await Deno.mkdir(join(cwd, "inside"));
      const out = await runTool("download", ["kiln-test/stall", "--out", "inside/ds"], {
        cwd,
        env: { HF_ENDPOINT: hub.url, HF_TOKEN: "" },
      });
      assertOneLineError(out, /file list: refusing file path ".*train\.jsonl" \(/);
      assert.deepEqual(await listAll(cwd), ["inside"], path);
      assert.ok(!(await Deno.stat("/tmp/kiln-escape").catch(() => null)));
      assert.equal(hub.requests.filter((r) => r.path.includes("/cdn/")).length, 0);
    } finally {
      await hub.close();
    }
  }
});

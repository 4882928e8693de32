/**
 * The visualizer under hostile inputs (issue 19, item 7): a 70 MB metrics line, a client that
 * never reads its SSE stream, and symlinks that lead out of the logdir.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_CLIENT_BUFFER_BYTES } from "../../src/viz/live.ts";
import { MAX_LINE_BYTES, readMetricsFrom } from "../../src/viz/metrics_log.ts";
import { startVizServer } from "../../src/viz/server.ts";
import { runTool } from "../_support/cli.ts";
import { type FixtureRun, metricsLines, trainLine, writeFixtureRun } from "./_fixture.ts";

const RUN: FixtureRun = { experiment: "exp", dirName: "20250101-000000-aaaaaa", steps: 20 };

/** A JSON line of exactly `bytes` bytes (newline excluded) that parses as an object. */
function hugeLine(bytes: number): string {
  const head = '{"type":"train","step":99,"junk":"';
  return head + "x".repeat(bytes - head.length - 2) + '"}';
}

async function withLogdir(fn: (logdir: string, runDir: string) => Promise<void>) {
  const logdir = await Deno.makeTempDir();
  try {
    await fn(logdir, await writeFixtureRun(logdir, RUN));
  } finally {
    await Deno.remove(logdir, { recursive: true });
  }
}

Deno.test("metrics: a line over MAX_LINE_BYTES is skipped and counted, its neighbours kept", async () => {
  await withLogdir(async (_logdir, dir) => {
    const path = join(dir, "metrics.jsonl");
    const lines = metricsLines(RUN, 1, 2);
    const long = hugeLine(3 * MAX_LINE_BYTES);
    await Deno.writeTextFile(path, [lines[0], long, lines[1]].join("\n") + "\n");
    const size = (await Deno.stat(path)).size;
    // A chunk smaller than the long line: it is skipped by scanning, not buffered.
    let chunk = await readMetricsFrom(path, 0, 1024);
    const records = [...chunk.records];
    let oversized = chunk.oversized;
    while (chunk.more) {
      chunk = await readMetricsFrom(path, chunk.cursor, 1024, chunk.ino);
      records.push(...chunk.records);
      oversized += chunk.oversized;
    }
    assert.equal(chunk.cursor, size);
    assert.equal(oversized, 1);
    assert.deepEqual(records, [JSON.parse(lines[0]), JSON.parse(lines[1])]);
    // Unfinished (no newline yet): the reader waits at its start rather than consuming it.
    await Deno.writeTextFile(path, lines[0] + "\n" + long);
    const partial = await readMetricsFrom(path, 0);
    assert.equal(partial.cursor, lines[0].length + 1);
    assert.equal(partial.more, false);
    assert.equal(partial.oversized, 0);
  });
});

Deno.test("runs and viz: a 70 MB metrics line is reported once and skipped", async () => {
  await withLogdir(async (logdir, dir) => {
    const lines = metricsLines(RUN);
    const text = [...lines.slice(0, 10), hugeLine(70 * 1024 * 1024), ...lines.slice(10)];
    await Deno.writeTextFile(join(dir, "metrics.jsonl"), text.join("\n") + "\n");
    const runs = await runTool("runs", ["--logdir", logdir, "--json"]);
    assert.equal(runs.code, 0, runs.stderr);
    const [summary] = JSON.parse(runs.stdout);
    assert.equal(summary.step, RUN.steps);
    assert.equal(runs.stderr.match(/skipped a line longer than/g)?.length, 1, runs.stderr);

    const viz = await startVizServer({ logdir, port: 0, pollMs: 50, rescanMs: 0 });
    try {
      const detail = await (await fetch(new URL(`/api/runs/${RUN.dirName}`, viz.url))).json();
      assert.equal(detail.oversized_lines, 1);
      assert.equal(detail.summary.step, RUN.steps);
    } finally {
      await viz.shutdown();
    }
  });
});

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)![1]) * 1024;
}

/** Starts `_sse_server.ts` on `logdir` in its own process; resolves with it and its port. */
async function spawnServer(logdir: string) {
  const script = new URL("./_sse_server.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script, logdir],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the server exited before listening");
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, port: Number(text.trim()) };
}

Deno.test("SSE: clients that never read are dropped and the server's RSS stays bounded", async () => {
  if (Deno.build.os !== "linux") return console.log("skipped: reads /proc/<pid>/status");
  await withLogdir(async (logdir, dir) => {
    // 200,000 lines (~40 MB) for each client to be sent from cursor 0.
    const rows: string[] = [];
    for (let s = 1; s <= 200_000; s++) rows.push(trainLine({ ...RUN, steps: 200_000 }, s));
    const fileBytes = new TextEncoder().encode(rows.join("\n") + "\n").length;
    await Deno.writeTextFile(join(dir, "metrics.jsonl"), rows.join("\n") + "\n");
    rows.length = 0;
    const { child, port } = await spawnServer(logdir);
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const clients: Deno.TcpConn[] = [];
    try {
      await new Promise((r) => setTimeout(r, 500)); // a few collections after indexing
      const before = rssBytes(child.pid);
      let peak = before;
      const request = `GET /api/stream?runs=${RUN.dirName}&cursors=0 HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\n\r\n`;
      for (let i = 0; i < 4; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(new TextEncoder().encode(request));
        clients.push(conn);
      }
      // Four clients × 40 MB would be queued without a bound; give the server time to try.
      for (let t = 0; t < 40; t++) {
        await new Promise((r) => setTimeout(r, 100));
        peak = Math.max(peak, rssBytes(child.pid));
      }
      const grew = peak - before;
      console.log(`server RSS grew by ${(grew / 2 ** 20).toFixed(1)} MiB at peak`);
      // The bound: each client's buffer plus one event in flight, far below 4 × 40 MB.
      assert.ok(grew < 4 * 2 * MAX_CLIENT_BUFFER_BYTES + 48 * 2 ** 20, `grew ${grew} bytes`);
      // Each connection was ended by the server after at most its buffer (plus what the
      // kernel's socket buffers held): far less than the file.
      for (const conn of clients) {
        let received = 0;
        const buf = new Uint8Array(1 << 20);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            received += n;
          }
        } catch { /* reset by the server: also dropped */ }
        assert.ok(received > 0 && received < fileBytes / 2, `received ${received} bytes`);
      }
      child.kill("SIGKILL");
      let log = "";
      for (;;) {
        const { value, done } = await stderr.read();
        if (done) break;
        log += value;
      }
      // Each drop is reported in one line.
      assert.equal(log.match(/dropped an SSE client that left 4 MiB unread/g)?.length, 4, log);
    } finally {
      for (const c of clients) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    }
  });
});

Deno.test("symlinks that leave the logdir are not followed (artifacts 404, runs not listed)", async () => {
  await withLogdir(async (logdir, dir) => {
    const outside = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(outside, "secret.svg"), "<svg>secret</svg>");
      await Deno.symlink(outside, join(dir, "attention"));
      await Deno.mkdir(join(dir, "probe"));
      await Deno.writeTextFile(join(dir, "probe", "own.svg"), "<svg>own</svg>");
      await Deno.symlink(join(outside, "secret.svg"), join(dir, "probe", "link.svg"));
      // An experiment directory that is a symlink to a run tree elsewhere.
      await writeFixtureRun(outside, { ...RUN, dirName: "20250101-000000-bbbbbb" });
      await Deno.symlink(join(outside, RUN.experiment), join(logdir, "elsewhere"));
      const viz = await startVizServer({ logdir, port: 0, pollMs: 50, rescanMs: 0 });
      try {
        const get = (p: string) => fetch(new URL(p, viz.url));
        const base = `/api/runs/${RUN.dirName}/files`;
        const own = await get(`${base}/probe/own.svg`);
        assert.equal(own.status, 200);
        assert.equal(await own.text(), "<svg>own</svg>");
        for (const p of [`${base}/attention/secret.svg`, `${base}/probe/link.svg`]) {
          const res = await get(p);
          assert.equal(res.status, 404, p);
          assert.doesNotMatch(await res.text(), /secret/);
        }
        const { runs } = await (await get("/api/runs")).json();
        assert.deepEqual(runs.map((r: { id: string }) => r.id), [RUN.dirName]);
      } finally {
        await viz.shutdown();
      }
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

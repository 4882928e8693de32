import assert from "node:assert/strict";
import { join } from "node:path";
import { startVizServer, type VizServer } from "../../src/viz/server.ts";
import {
  FIXTURE_OPTIMAL_LOSS,
  type FixtureRun,
  fixtureValLoss,
  metricsLines,
  writeFixtureRun,
} from "./_fixture.ts";

const BASELINE: FixtureRun = {
  experiment: "mess3",
  dirName: "20250101-000000-aaaa",
  steps: 3000,
  spikes: [1234],
  taskMetrics: true,
};
const WIDE: FixtureRun = {
  experiment: "mess3",
  dirName: "20250102-000000-bbbb",
  steps: 500,
  lossScale: 1.1,
  lr: 3e-4,
  params: 250_000,
};
const LIVE: FixtureRun = {
  experiment: "shakespeare",
  dirName: "20250103-000000-cccc",
  steps: 0,
  status: "running",
};

async function withServer(fn: (viz: VizServer, logdir: string) => Promise<void>) {
  const logdir = await Deno.makeTempDir({ prefix: "kiln-viz-runs-" });
  for (const run of [BASELINE, WIDE, LIVE]) await writeFixtureRun(logdir, run);
  await Deno.mkdir(join(logdir, "mess3", BASELINE.dirName, "attention"));
  await Deno.writeTextFile(
    join(logdir, "mess3", BASELINE.dirName, "attention", "layer0_head0.svg"),
    '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>',
  );
  await Deno.writeTextFile(join(logdir, "secret.txt"), "outside any run");
  const viz = await startVizServer({ logdir, port: 0, pollMs: 50, rescanMs: 0 });
  try {
    await fn(viz, logdir);
  } finally {
    await viz.shutdown();
  }
}

async function getJson(viz: VizServer, path: string) {
  const res = await fetch(new URL(path, viz.url));
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return await res.json();
}

/** Sends a request byte for byte (fetch would normalise `..` away) and returns status + body. */
async function rawGet(viz: VizServer, target: string, host = `127.0.0.1:${viz.port}`) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: viz.port });
  const request = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  await conn.write(new TextEncoder().encode(request));
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  conn.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return { status: Number(text.split(" ")[1]), body: text.split("\r\n\r\n").slice(1).join("") };
}

Deno.test("GET /api/runs lists every run with summaries computed from its metrics", async () => {
  await withServer(async (viz) => {
    const { runs } = await getJson(viz, "/api/runs");
    assert.deepEqual(runs.map((r: { id: string }) => r.id), [
      BASELINE.dirName,
      WIDE.dirName,
      LIVE.dirName,
    ]);
    const base = runs[0];
    assert.equal(base.path, `mess3/${BASELINE.dirName}`);
    assert.equal(base.status, "finished");
    assert.equal(base.step, 3000);
    assert.equal(base.tokens, 3000 * 1024);
    assert.equal(base.params, 100_000);
    // val loss decreases monotonically in the fixture, so the best is the last eval (step 3000)
    assert.ok(Math.abs(base.best_val_loss - fixtureValLoss(BASELINE, 3000)) < 1e-12);
    assert.equal(base.optimal_loss, FIXTURE_OPTIMAL_LOSS);
    assert.equal(base.config["training.learning_rate"], "0.001");
    assert.equal(runs[1].params, 250_000);
    assert.equal(runs[2].status, "running");
    assert.equal(runs[2].step, null);
  });
});

Deno.test("a run's detail has run.json, config and its artifacts", async () => {
  await withServer(async (viz) => {
    const detail = await getJson(viz, `/api/runs/${BASELINE.dirName}`);
    assert.equal(detail.meta.flops_per_token_formula, "6N + 12LdT");
    assert.equal(detail.config.model.n_layer, 2);
    assert.deepEqual(detail.artifacts, [{ dir: "attention", name: "layer0_head0.svg" }]);
    const svg = await fetch(
      new URL(`/api/runs/${BASELINE.dirName}/files/attention/layer0_head0.svg`, viz.url),
    );
    assert.equal(svg.headers.get("content-type"), "image/svg+xml");
    assert.match(await svg.text(), /<svg/);
  });
});

Deno.test("series are downsampled to the requested points, keep spikes, and follow ?x=", async () => {
  await withServer(async (viz) => {
    const s = await getJson(
      viz,
      `/api/runs/${BASELINE.dirName}/series?points=200&x=step&smooth=0.9`,
    );
    assert.equal(s.train_count, 3000);
    assert.ok(s.train.loss.x.length <= 200 && s.train.loss.x.length > 150);
    const spikeAt = s.train.loss.x.indexOf(1234);
    assert.ok(spikeAt >= 0, "spike step kept");
    assert.ok(s.train.loss.y[spikeAt] > 5 * s.train.loss.y[spikeAt + 1]);
    assert.ok(s.train.loss_smoothed.y.length <= 200);
    assert.deepEqual(Object.keys(s.val).sort(), [
      "accuracy",
      "loss",
      "optimal_loss",
      "ppl",
      "progress_to_optimal",
    ]);
    assert.equal(s.val.loss.x.length, 30); // 3000 steps, eval every 100: all kept
    const byTokens = await getJson(
      viz,
      `/api/runs/${BASELINE.dirName}/series?points=200&x=tokens&fields=loss`,
    );
    assert.deepEqual(Object.keys(byTokens.train), ["loss"]);
    assert.equal(byTokens.train.loss.x.at(-1), 3000 * 1024);
    assert.equal(byTokens.events[0].x, 1000 * 1024); // checkpoint event at step 1000
    const bad = await fetch(new URL(`/api/runs/${BASELINE.dirName}/series?x=banana`, viz.url));
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  });
});

Deno.test("a run being appended to is followed by cursor and by the SSE stream", async () => {
  await withServer(async (viz, logdir) => {
    const path = join(logdir, "shakespeare", LIVE.dirName, "metrics.jsonl");
    const run = { ...LIVE, steps: 40 };
    await Deno.writeTextFile(path, metricsLines(run, 1, 10).join("\n") + "\n", { append: true });
    const first = await getJson(viz, `/api/runs/${LIVE.dirName}/series?points=100`);
    assert.equal(first.train_count, 10);

    const res = await fetch(
      new URL(`/api/stream?runs=${LIVE.dirName}&cursors=${first.cursor}`, viz.url),
    );
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();

    // Append steps 11..20 with the last line cut in half, as a writer mid-line leaves it.
    const more = metricsLines(run, 11, 20);
    const lastLine = more.pop()!;
    const half = lastLine.slice(0, 25);
    await Deno.writeTextFile(path, more.join("\n") + "\n" + half, { append: true });
    const steps = await readStreamSteps(reader, 9);
    assert.deepEqual(steps, [11, 12, 13, 14, 15, 16, 17, 18, 19]);

    const inc = await getJson(viz, `/api/runs/${LIVE.dirName}/metrics?cursor=${first.cursor}`);
    assert.deepEqual(inc.records.map((r: { step: number }) => r.step), [
      11,
      12,
      13,
      14,
      15,
      16,
      17,
      18,
      19,
    ]);

    await Deno.writeTextFile(path, lastLine.slice(25) + "\n", { append: true });
    assert.deepEqual(await readStreamSteps(reader, 1), [20]);
    const after = await getJson(viz, `/api/runs/${LIVE.dirName}/metrics?cursor=${inc.cursor}`);
    assert.deepEqual(after.records.map((r: { step: number }) => r.step), [20]);
    const { runs } = await getJson(viz, "/api/runs");
    assert.equal(runs[2].step, 20);
    await reader.cancel();
  });
});

async function readStreamSteps(
  reader: ReadableStreamDefaultReader<string>,
  count: number,
): Promise<number[]> {
  const steps: number[] = [];
  let buffer = "";
  const deadline = setTimeout(() => reader.cancel(), 10_000);
  while (steps.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!block.startsWith("event: metrics")) continue;
      const data = JSON.parse(block.split("\ndata: ")[1]);
      for (const r of data.records) if (r.type === "train") steps.push(r.step);
    }
  }
  clearTimeout(deadline);
  return steps;
}

Deno.test("paths outside the run ids are refused: .., encoded .., absolute, unknown files", async () => {
  await withServer(async (viz) => {
    const id = BASELINE.dirName;
    const targets = [
      "/../secret.txt",
      "/api/runs/../../secret.txt",
      "/api/runs/%2e%2e/series",
      "/api/runs/..%2fsecret.txt",
      `/api/runs/${id}/files/attention/..%2f..%2f..%2fsecret.txt`,
      `/api/runs/${id}/files/attention/%2e%2e`,
      `/api/runs/${id}/files/..%2f..%2f/secret.txt`,
      `/api/runs/${id}/files/attention//etc/passwd`,
      "/api/runs//etc/passwd",
      "/etc/passwd",
      "//etc/passwd",
      `/api/runs/${id}/files/probe/run.json`,
      `/api/runs/${id}/files/attention/%2Fetc%2Fpasswd`,
    ];
    for (const target of targets) {
      const { status, body } = await rawGet(viz, target);
      assert.ok(status === 404 || status === 400, `${target} answered ${status}`);
      assert.ok(!body.includes("outside any run") && !body.includes("root:"), `${target} leaked`);
    }
  });
});

Deno.test("a Host header that is not the bound host is refused (DNS rebinding); writes are 405", async () => {
  await withServer(async (viz) => {
    assert.equal((await rawGet(viz, "/api/runs", "evil.example:80")).status, 403);
    assert.equal((await rawGet(viz, "/api/runs", `evil.example:${viz.port}`)).status, 403);
    assert.equal((await rawGet(viz, "/api/runs", `localhost:${viz.port}`)).status, 200);
    const post = await fetch(new URL("/api/runs", viz.url), { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });
});

Deno.test("the page, its script and uPlot are served; CSV export has every row", async () => {
  await withServer(async (viz) => {
    for (
      const [path, type] of [
        ["/", "text/html"],
        ["/app.js", "text/javascript"],
        ["/style.css", "text/css"],
        ["/vendor/uPlot.iife.min.js", "text/javascript"],
        ["/vendor/uPlot.min.css", "text/css"],
      ]
    ) {
      const res = await fetch(new URL(path, viz.url));
      assert.equal(res.status, 200, path);
      assert.ok(res.headers.get("content-type")!.startsWith(type), path);
      assert.ok((await res.text()).length > 0, path);
    }
    const csv = await (await fetch(new URL(`/api/runs/${WIDE.dirName}/metrics.csv`, viz.url)))
      .text();
    const lines = csv.trim().split("\n");
    assert.equal(lines[0].split(",").slice(0, 5).join(","), "type,step,tokens,elapsed_s,flops");
    assert.equal(lines.length, 1 + 500 + 5);
    assert.equal(lines.filter((l) => l.startsWith("val,")).length, 5);
  });
});

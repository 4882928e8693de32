import assert from "node:assert/strict";
import { join } from "node:path";
import { ColumnTable, MetricsLog, readMetricsFrom } from "../../src/viz/metrics_log.ts";

async function tempFile(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kiln-viz-" });
  return join(dir, "metrics.jsonl");
}

Deno.test("readMetricsFrom leaves a half-written last line for the next read", async () => {
  const path = await tempFile();
  const a = '{"type":"train","step":1,"loss":2.5}\n';
  const half = '{"type":"train","step":2,"lo';
  await Deno.writeTextFile(path, a + half);
  const first = await readMetricsFrom(path, 0);
  assert.equal(first.records.length, 1);
  assert.equal(first.cursor, new TextEncoder().encode(a).length);
  await Deno.writeTextFile(path, 'ss":2.25}\n{"type":"val","step":2,"loss":2.4}\n', {
    append: true,
  });
  const second = await readMetricsFrom(path, first.cursor);
  assert.deepEqual(second.records.map((r) => r.loss), [2.25, 2.4]);
  const third = await readMetricsFrom(path, second.cursor);
  assert.equal(third.records.length, 0);
  assert.equal(third.cursor, second.cursor);
});

Deno.test("readMetricsFrom reads a complete final line that lacks its newline", async () => {
  const path = await tempFile();
  await Deno.writeTextFile(path, '{"type":"train","step":1}\n{"type":"train","step":2}');
  const chunk = await readMetricsFrom(path, 0);
  assert.deepEqual(chunk.records.map((r) => r.step), [1, 2]);
  await Deno.writeTextFile(path, '\n{"type":"train","step":3}\n', { append: true });
  assert.deepEqual((await readMetricsFrom(path, chunk.cursor)).records.map((r) => r.step), [3]);
});

Deno.test("readMetricsFrom skips a malformed middle line and restarts when the file shrank", async () => {
  const path = await tempFile();
  await Deno.writeTextFile(path, '{"step":1}\nnot json\n{"step":3}\n');
  const chunk = await readMetricsFrom(path, 0);
  assert.deepEqual(chunk.records.map((r) => r.step), [1, 3]);
  assert.equal(chunk.malformed, 1);
  await Deno.writeTextFile(path, '{"step":9}\n');
  const again = await readMetricsFrom(path, chunk.cursor);
  assert.equal(again.reset, true);
  assert.deepEqual(again.records.map((r) => r.step), [9]);
  assert.equal((await readMetricsFrom(join(path, "..", "missing.jsonl"), 0)).records.length, 0);
});

Deno.test("MetricsLog.refresh appends only new lines, into train/val/event tables", async () => {
  const path = await tempFile();
  const log = new MetricsLog(path);
  assert.equal(await log.refresh(), false);
  await Deno.writeTextFile(
    path,
    '{"type":"train","step":1,"loss":3}\n{"type":"val","step":1,"loss":3.1,"ppl":22.2}\n',
  );
  assert.equal(await log.refresh(), true);
  await Deno.writeTextFile(
    path,
    '{"type":"train","step":2,"loss":2,"grad_norm":0.5}\n{"type":"event","step":2,"event":"nan"}\n',
    { append: true },
  );
  // Two overlapping refreshes must not add the same lines twice.
  await Promise.all([log.refresh(), log.refresh()]);
  assert.equal(log.train.length, 2);
  assert.deepEqual([...log.train.column("loss")!], [3, 2]);
  assert.ok(Number.isNaN(log.train.column("grad_norm")![0]));
  assert.equal(log.val.min("loss"), 3.1);
  assert.equal(log.events.length, 1);
  assert.equal(await log.refresh(), false);
});

Deno.test("ColumnTable grows past its first capacity and reduces finite values", () => {
  const t = new ColumnTable();
  for (let i = 0; i < 1000; i++) t.push({ step: i, loss: i === 500 ? "x" : 1000 - i });
  assert.equal(t.length, 1000);
  assert.equal(t.min("loss"), 1);
  assert.equal(t.max("loss"), 1000);
  assert.equal(t.last("step"), 999);
  assert.ok(Number.isNaN(t.column("loss")![500]));
  assert.equal(t.mean("step"), 499.5);
});

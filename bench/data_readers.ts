/**
 * Reader throughput: kiln's streaming readers vs the naive peer (whole file in memory, one
 * `split`) on the same data, same process. Run: `deno run -A bench/data_readers.ts`.
 */

import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { readFileDocuments } from "../src/data/readers/file.ts";
import { newReadStats } from "../src/data/readers/utf8.ts";

const CORPUS = "../shared/data/gutenberg_mix.txt";

async function timeIt(fn: () => Promise<number>): Promise<{ ms: number; docs: number }> {
  let best = Infinity;
  let docs = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    docs = await fn();
    best = Math.min(best, performance.now() - t);
  }
  return { ms: best, docs };
}

async function count(path: string, delimiter?: string): Promise<number> {
  let n = 0;
  for await (const _ of readFileDocuments(path, { delimiter, stats: newReadStats() })) n++;
  return n;
}

const dir = await Deno.makeTempDir({ prefix: "kiln-bench-" });
try {
  const text = await Deno.readTextFile(CORPUS);
  const paragraphs = text.replaceAll("\r\n", "\n").split(/\n[ \t]*\n/).filter((p) => p.trim());
  const jsonl = join(dir, "c.jsonl");
  await Deno.writeTextFile(jsonl, paragraphs.map((p) => JSON.stringify({ text: p })).join("\n"));
  const parquet = join(dir, "c.parquet");
  await Deno.writeFile(
    parquet,
    new Uint8Array(parquetWriteBuffer({
      columnData: [{ name: "text", data: paragraphs, type: "STRING" }],
      rowGroupSize: 2000,
    })),
  );
  const mb = new TextEncoder().encode(text).length / 1e6;
  const rows: [string, () => Promise<number>, () => Promise<number>][] = [
    [
      "txt blank_line",
      () => count(CORPUS, "blank_line"),
      async () =>
        (await Deno.readTextFile(CORPUS)).replaceAll("\r\n", "\n").split(/\n[ \t]*\n/)
          .filter((p) => p.trim()).length,
    ],
    [
      "jsonl",
      () => count(jsonl),
      async () =>
        (await Deno.readTextFile(jsonl)).split("\n").map((l) => JSON.parse(l).text).length,
    ],
    ["parquet", () => count(parquet), async () => {
      const buf = (await Deno.readFile(parquet)).buffer;
      return (await parquetReadObjects({ file: buf, columns: ["text"] })).length;
    }],
  ];
  console.log(`corpus ${CORPUS}: ${mb.toFixed(1)} MB of text, ${paragraphs.length} documents`);
  console.log(
    "reader            kiln MB/s   peer MB/s   kiln/peer   (peer = whole file in memory)",
  );
  for (const [name, kiln, peer] of rows) {
    const k = await timeIt(kiln);
    const p = await timeIt(peer);
    if (k.docs !== p.docs) throw new Error(`${name}: ${k.docs} vs ${p.docs} documents`);
    const line = `${name.padEnd(16)} ${(mb / k.ms * 1000).toFixed(1).padStart(9)} ` +
      `${(mb / p.ms * 1000).toFixed(1).padStart(11)} ${(p.ms / k.ms).toFixed(2).padStart(11)}`;
    console.log(line);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

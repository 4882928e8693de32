import assert from "node:assert/strict";
import { join } from "node:path";
import { writeManifest } from "../../src/data/manifest.ts";
import {
  getDatasetEntry,
  loadDatasetRegistry,
  openDocuments,
  type OpenDocumentsOptions,
} from "../../src/data/registry.ts";
import { UserError } from "../../src/util/errors.ts";
import { tempDir } from "./temp_dir.ts";

async function all(name: string, opts: OpenDocumentsOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const d of openDocuments(name, opts)) out.push(d);
  return out;
}

Deno.test("built-in aliases name real hub datasets; a failed lookup lists the names", () => {
  assert.equal(getDatasetEntry("tinystories").hubId, "roneneldan/TinyStories");
  assert.equal(getDatasetEntry("fineweb").config, "sample-10BT");
  assert.equal(getDatasetEntry("wikitext-103").config, "wikitext-103-raw-v1");
  assert.equal(getDatasetEntry("ptb").textField, "sentence");
  assert.throws(
    () => getDatasetEntry("tinystorys"),
    (e) => e instanceof UserError && /known datasets: .*tinystories/.test(e.message),
  );
});

Deno.test("openDocuments: unknown names and missing downloads are one-line user errors", async () => {
  const root = await tempDir();
  await assert.rejects(() => all("no-such-thing", { root }), /unknown dataset "no-such-thing"/);
  await assert.rejects(
    () => all("tinystories", { root }),
    (e) =>
      e instanceof UserError && /not downloaded.*deno task download tinystories/.test(e.message),
  );
});

Deno.test("a YAML registry adds local entries with paths relative to the file", async () => {
  const dir = await tempDir();
  await Deno.mkdir(join(dir, "data"));
  await Deno.writeTextFile(join(dir, "data", "a.txt"), "one\n\ntwo\n\nthree\n");
  await Deno.writeTextFile(join(dir, "data", "b.jsonl"), '{"body":"x"}\n{"body":"y"}\n');
  await Deno.writeTextFile(
    join(dir, "reg.yaml"),
    [
      "datasets:",
      "  notes: { kind: local_text, path: data/a.txt, delimiter: blank_line }",
      "  lines: { kind: local_text, path: data/a.txt, delimiter: line }",
      "  records:",
      "    kind: jsonl",
      "    text_field: body",
      "    split_paths: { train: data/b.jsonl, validation: data/a.txt }",
    ].join("\n"),
  );
  assert.deepEqual(await loadDatasetRegistry(join(dir, "reg.yaml")), ["notes", "lines", "records"]);
  assert.deepEqual(await all("notes", { split: "all" }), ["one", "two", "three"]);
  assert.deepEqual(await all("records"), ["x", "y"]);
  assert.deepEqual(await all("records", { split: "val", delimiter: "line" }), [
    "one",
    "two",
    "three",
  ]);
  // Local data without a val split: a holdout, whole documents, train ∪ val = all.
  const h = { holdout: { fraction: 0.5, seed: 3 } };
  const train = await all("notes", { split: "train", ...h });
  const val = await all("notes", { split: "val", ...h });
  assert.deepEqual([...train, ...val].sort(), ["one", "three", "two"]);
  await Deno.writeTextFile(join(dir, "bad.yaml"), "datasets:\n  x: { kind: hub }\n");
  await assert.rejects(() => loadDatasetRegistry(join(dir, "bad.yaml")), /needs hub_id/);
  await Deno.writeTextFile(join(dir, "bad2.yaml"), "datasets:\n  x: { kind: web, path: a }\n");
  await assert.rejects(() => loadDatasetRegistry(join(dir, "bad2.yaml")), /datasets\.x\.kind/);
});

Deno.test("datasets.yaml in the project root is picked up", async () => {
  const root = await tempDir();
  await Deno.writeTextFile(join(root, "t.txt"), "alpha\nbeta\n");
  await Deno.writeTextFile(
    join(root, "datasets.yaml"),
    "datasets:\n  rooted: { kind: local_text, path: t.txt, delimiter: line }\n",
  );
  assert.deepEqual(await all("rooted", { root, split: "all" }), ["alpha", "beta"]);
});

Deno.test("a downloaded hub dataset reads through its manifest; subset and holdout", async () => {
  const root = await tempDir();
  const dir = join(root, "assets", "datasets", "someone", "stories");
  await Deno.mkdir(dir, { recursive: true });
  const stories = Array.from({ length: 200 }, (_, i) => `story ${i}`);
  await Deno.writeTextFile(join(dir, "train.txt"), stories.join("\n<|endoftext|>\n"));
  await Deno.writeTextFile(join(dir, "valid.jsonl"), '{"text":"v1"}\n{"text":"v2"}\n');
  const file = (path: string) => ({ path, size: 1, sha256: null, revision: "abc", url: "u" });
  const manifest = (availableSplits: string[], splits: Record<string, string[]>) => ({
    kiln_manifest_version: 1 as const,
    hub_id: "someone/stories",
    source: "http://hub",
    revision: "abc",
    configs: {
      default: {
        splits,
        available_splits: availableSplits,
        text_field: "text",
        format: null,
        delimiter: "<|endoftext|>",
      },
    },
    files: [file("train.txt"), file("valid.jsonl")],
    updated_at: "now",
  });
  await writeManifest(dir, manifest(["train", "validation"], { train: ["train.txt"] }));
  assert.deepEqual(await all("someone/stories", { root, subset: 3 }), stories.slice(0, 3));
  await assert.rejects(
    () => all("someone/stories", { root, split: "val" }),
    /split "validation" of someone\/stories is not downloaded/,
  );
  await writeManifest(
    dir,
    manifest(["train", "validation"], { train: ["train.txt"], validation: ["valid.jsonl"] }),
  );
  assert.deepEqual(await all("someone/stories", { root, split: "val" }), ["v1", "v2"]);
  assert.equal((await all("someone/stories", { root })).length, 200);
  // Without a val split on the Hub, val is a holdout of train and train excludes it.
  await writeManifest(dir, manifest(["train"], { train: ["train.txt"] }));
  const h = { fraction: 0.1, seed: 0 };
  const train = await all("someone/stories", { root, holdout: h });
  const val = await all("someone/stories", { root, split: "validation", holdout: h });
  assert.equal(train.length + val.length, 200);
  assert.ok(val.length > 5 && val.length < 40);
  assert.deepEqual([...train, ...val].sort(), [...stories].sort());
  await assert.rejects(() => all("someone/stories", { root, split: "test" }), /no split "test"/);
  // The folder path works as well as the hub id.
  assert.equal((await all(dir, { split: "all" })).length, 200);
});

Deno.test("invalid UTF-8 is reported once through onWarning with the count", async () => {
  const dir = await tempDir();
  const path = join(dir, "bad.txt");
  await Deno.writeFile(path, new Uint8Array([0x61, 0xff, 0x0a, 0x0a, 0x62, 0xfe, 0xfe]));
  const warnings: string[] = [];
  const stats = { documents: 0, invalidUtf8: 0 };
  const docs = await all(path, { split: "all", stats, onWarning: (m) => warnings.push(m) });
  assert.deepEqual(docs, ["a\ufffd", "b\ufffd\ufffd"]);
  assert.equal(stats.invalidUtf8, 3);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /replaced 3 invalid UTF-8/);
});

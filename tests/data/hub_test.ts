import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { downloadDataset, type DownloadOptions } from "../../src/data/hub.ts";
import { readManifest } from "../../src/data/manifest.ts";
import { openDocuments, registerDataset } from "../../src/data/registry.ts";
import { UserError } from "../../src/util/errors.ts";
import { exists } from "../../src/util/fs.ts";
import { type FakeRepo, startFakeHub } from "./fake_hub.ts";
import { tempDir } from "./temp_dir.ts";

const enc = new TextEncoder();

function parquetOf(texts: string[], rowGroupSize = 50): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: "id", data: texts.map((_, i) => i), type: "INT32" },
      { name: "text", data: texts, type: "STRING" },
    ],
    rowGroupSize,
  }));
}

const trainA = Array.from({ length: 180 }, (_, i) => `train story ${i}: ${"once ".repeat(i % 9)}`);
const trainB = Array.from({ length: 120 }, (_, i) => `more story ${i} é ✓`);
const valid = ["valid one", "valid two", "valid three"];

function storiesRepo(): FakeRepo {
  return {
    id: "kiln-test/stories",
    sha: "a".repeat(40),
    files: {
      "README.md": enc.encode("---\nlicense: mit\n---\n# stories\n"),
      "data/train-00000-of-00002.parquet": parquetOf(trainA),
      "data/train-00001-of-00002.parquet": parquetOf(trainB),
      "data/validation-00000-of-00001.jsonl": enc.encode(
        valid.map((t) => JSON.stringify({ text: t })).join("\n") + "\n",
      ),
      "other/ignored.txt": enc.encode("not part of any split"),
      "tiny/TinyStoriesV2-train.txt": enc.encode("s1\n<|endoftext|>\ns2\n<|endoftext|>\ns3"),
    },
    cardData: {
      configs: [
        {
          config_name: "default",
          default: true,
          data_files: [
            { split: "train", path: "data/train-*" },
            { split: "validation", path: "data/validation-*" },
          ],
        },
        { config_name: "small", data_files: "data/train-00001-*" },
      ],
    },
  };
}

async function all(name: string, opts: Parameters<typeof openDocuments>[1] = {}) {
  const out: string[] = [];
  for await (const d of openDocuments(name, opts)) out.push(d);
  return out;
}

function quiet(hubUrl: string, root: string, extra: DownloadOptions = {}): DownloadOptions {
  return { endpoint: hubUrl, root, token: "", retryBaseMs: 5, log: () => {}, ...extra };
}

function hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("download: card configs pick the files, manifest records them, readers see the data", async () => {
  const repo = storiesRepo();
  const hub = startFakeHub([repo]);
  const root = await tempDir();
  try {
    const result = await downloadDataset("kiln-test/stories", quiet(hub.url, root));
    assert.equal(result.downloadedFiles, 3);
    assert.equal(result.dir, join(root, "assets", "datasets", "kiln-test", "stories"));
    for (const p of Object.keys(repo.files).filter((p) => p.startsWith("data/"))) {
      assert.deepEqual(await Deno.readFile(join(result.dir, p)), repo.files[p], p);
    }
    assert.ok(!(await exists(join(result.dir, "other"))), "files outside the config stay away");
    // Pagination (2 entries a page) was followed to the end of the tree.
    assert.ok(hub.requests.filter((r) => r.path.includes("/tree/")).length >= 3);
    const m = (await readManifest(result.dir))!;
    assert.equal(m.revision, repo.sha);
    assert.equal(m.source, hub.url);
    assert.deepEqual(m.configs.default.available_splits, ["train", "validation"]);
    assert.deepEqual(m.configs.default.splits.train, [
      "data/train-00000-of-00002.parquet",
      "data/train-00001-of-00002.parquet",
    ]);
    const f = m.files.find((x) => x.path === "data/validation-00000-of-00001.jsonl")!;
    assert.equal(f.sha256, hex(repo.files[f.path]));
    assert.equal(f.size, repo.files[f.path].length);

    assert.deepEqual(await all("kiln-test/stories", { root }), [...trainA, ...trainB]);
    assert.deepEqual(await all("kiln-test/stories", { root, split: "val" }), valid);
    assert.deepEqual(await all(result.dir, { split: "train", subset: 2 }), trainA.slice(0, 2));

    // A second run finds everything present and transfers nothing.
    const before = hub.requests.filter((r) => r.path.startsWith("/cdn/")).length;
    const again = await downloadDataset("kiln-test/stories", quiet(hub.url, root));
    assert.equal(again.downloadedFiles, 0);
    assert.equal(again.skippedFiles, 3);
    assert.equal(hub.requests.filter((r) => r.path.startsWith("/cdn/")).length, before);

    // Another config and --max-files merge into the same manifest.
    await downloadDataset("kiln-test/stories", quiet(hub.url, root, { config: "small" }));
    const merged = (await readManifest(result.dir))!;
    assert.deepEqual(Object.keys(merged.configs).sort(), ["default", "small"]);
    assert.deepEqual(
      await all("kiln-test/stories", { root, config: "small", split: "all" }),
      trainB,
    );
  } finally {
    await hub.close();
  }
});

Deno.test("download: a connection cut mid-file resumes with Range, byte-identical", async () => {
  const repo = storiesRepo();
  const hub = startFakeHub([repo]);
  const root = await tempDir();
  const path = "data/train-00000-of-00002.parquet";
  hub.faults.set(`${repo.id}/${path}`, { cutAfter: 1000 });
  try {
    const r = await downloadDataset(repo.id, quiet(hub.url, root, { split: "train" }));
    assert.deepEqual(await Deno.readFile(join(r.dir, path)), repo.files[path]);
    const ranged = hub.requests.filter((q) => q.path.endsWith(path) && q.range);
    assert.ok(ranged.some((q) => q.range === "bytes=1000-"), JSON.stringify(ranged));
    assert.ok(!(await exists(join(r.dir, path + ".partial"))));
  } finally {
    await hub.close();
  }
});

Deno.test("download: HTTP 500 is retried, then succeeds", async () => {
  const repo = storiesRepo();
  const hub = startFakeHub([repo]);
  const root = await tempDir();
  const path = "data/validation-00000-of-00001.jsonl";
  hub.faults.set(`${repo.id}/${path}`, { fail500: 2 });
  try {
    const r = await downloadDataset(repo.id, quiet(hub.url, root, { split: "validation" }));
    assert.deepEqual(await Deno.readFile(join(r.dir, path)), repo.files[path]);
    assert.equal(
      hub.requests.filter((q) => q.path === `/cdn/${repo.id}/${repo.sha}/${path}`).length,
      3,
    );
  } finally {
    await hub.close();
  }
});

Deno.test("download: 404, 401, unknown config/split are clear one-line errors", async () => {
  const priv = { ...storiesRepo(), id: "kiln-test/private", token: "hf_secret" };
  const hub = startFakeHub([storiesRepo(), priv]);
  const root = await tempDir();
  const rejects = (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(
      p,
      (e) => e instanceof UserError && re.test(e.message) && !e.message.includes("\n"),
    );
  try {
    await rejects(
      downloadDataset("kiln-test/nope", quiet(hub.url, root)),
      /not found \(HTTP 404\)/,
    );
    await rejects(downloadDataset("kiln-test/private", quiet(hub.url, root)), /401.*HF_TOKEN/);
    await rejects(
      downloadDataset("kiln-test/private", quiet(hub.url, root, { token: "wrong" })),
      /401.*refused/,
    );
    const ok = await downloadDataset(
      "kiln-test/private",
      quiet(hub.url, root, { token: "hf_secret" }),
    );
    assert.equal(ok.downloadedFiles, 3);
    await rejects(
      downloadDataset("kiln-test/stories", quiet(hub.url, root, { config: "huge" })),
      /no config "huge"; available configs: default, small/,
    );
    await rejects(
      downloadDataset("kiln-test/stories", quiet(hub.url, root, { split: "test" })),
      /no split "test"; available splits: train, validation/,
    );
  } finally {
    await hub.close();
  }
});

Deno.test("download: a wrong sha256 is an error and leaves no file behind", async () => {
  const repo = storiesRepo();
  const path = "data/validation-00000-of-00001.jsonl";
  repo.wrongSha = [path];
  const hub = startFakeHub([repo]);
  const root = await tempDir();
  try {
    await assert.rejects(
      downloadDataset(repo.id, quiet(hub.url, root, { split: "val" })),
      (e) => e instanceof UserError && /checksum mismatch.*removed/.test(e.message),
    );
    const dir = join(root, "assets", "datasets", repo.id);
    assert.ok(!(await exists(join(dir, path))));
    assert.ok(!(await exists(join(dir, path + ".partial"))));
    assert.ok(!(await exists(join(dir, "manifest.json"))));
  } finally {
    await hub.close();
  }
});

Deno.test("download: a repo without readable files uses the parquet conversion", async () => {
  const repo: FakeRepo = {
    id: "kiln-test/scripted",
    sha: "b".repeat(40),
    files: { "scripted.py": enc.encode("# a loading script"), "README.md": enc.encode("# hi\n") },
    converted: {
      "penn/train/0000.parquet": parquetOf(["s one", "s two"], 1),
      "penn/train/0001.parquet": parquetOf(["s three"]),
      "penn/test/0000.parquet": parquetOf(["t one"]),
    },
  };
  const hub = startFakeHub([repo]);
  const root = await tempDir();
  try {
    const r = await downloadDataset(repo.id, quiet(hub.url, root));
    assert.equal(r.manifest.configs.penn.splits.train.length, 2);
    const f = r.manifest.files.find((x) => x.path === "penn/train/0001.parquet")!;
    assert.equal(f.sha256, hex(repo.converted!["penn/train/0001.parquet"]));
    assert.deepEqual(await all(repo.id, { root, split: "all" }), [
      "t one",
      "s one",
      "s two",
      "s three",
    ]);
    // No val split on the Hub: val is a holdout of train.
    const h = { fraction: 0.5, seed: 2 };
    const train = await all(repo.id, { root, holdout: h });
    const val = await all(repo.id, { root, split: "val", holdout: h });
    assert.deepEqual([...train, ...val].sort(), ["s one", "s three", "s two"]);
  } finally {
    await hub.close();
  }
});

Deno.test("download: a registry alias with data_files and a txt delimiter", async () => {
  const repo = storiesRepo();
  const hub = startFakeHub([repo]);
  const root = await tempDir();
  registerDataset({
    name: "test-tiny-alias",
    kind: "hub",
    hubId: repo.id,
    dataFiles: { train: ["tiny/*-train.txt"] },
    textField: "text",
    delimiter: "<|endoftext|>",
    format: "txt",
  });
  try {
    const r = await downloadDataset("test-tiny-alias", quiet(hub.url, root, { maxFiles: 1 }));
    assert.equal(r.downloadedFiles, 1);
    assert.deepEqual(await all("test-tiny-alias", { root, split: "all" }), ["s1", "s2", "s3"]);
  } finally {
    await hub.close();
  }
});

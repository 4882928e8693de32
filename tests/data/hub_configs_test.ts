import assert from "node:assert/strict";
import {
  cardConfigs,
  cardDataFromReadme,
  matchFiles,
  parseDataFiles,
  splitsByFileName,
} from "../../src/data/hub_configs.ts";
import { nextLink } from "../../src/data/hub_api.ts";
import { globToRegExp } from "../../src/data/glob.ts";

Deno.test("data_files globs: * stays in a folder, ** crosses folders", () => {
  assert.ok(globToRegExp("sample/10BT/*").test("sample/10BT/000_00000.parquet"));
  assert.ok(!globToRegExp("sample/10BT/*").test("sample/10BT/sub/x.parquet"));
  assert.ok(globToRegExp("data/**/*.parquet").test("data/a/b/c.parquet"));
  assert.ok(globToRegExp("data/**/*.parquet").test("data/c.parquet"));
  assert.ok(!globToRegExp("data/train-*").test("data/validation-0.parquet"));
  assert.ok(globToRegExp("a+b(1).txt").test("a+b(1).txt"));
  assert.deepEqual(
    matchFiles(["w/train-1.parquet", "w/train-0.parquet", "w/test-0.parquet"], ["w/train-*"]),
    ["w/train-0.parquet", "w/train-1.parquet"],
  );
});

Deno.test("card configs in the forms the Hub writes them", () => {
  assert.deepEqual(parseDataFiles("x/*"), { train: ["x/*"] });
  assert.deepEqual(parseDataFiles(["a", "b"]), { train: ["a", "b"] });
  assert.deepEqual(
    parseDataFiles([{ split: "train", path: ["t1", "t2"] }, { split: "test", path: "s" }]),
    { train: ["t1", "t2"], test: ["s"] },
  );
  assert.deepEqual(parseDataFiles({ validation: "v*" }), { validation: ["v*"] });
  const card = cardConfigs({
    configs: [
      { config_name: "default", data_files: [{ split: "train", path: "data/*" }] },
      { config_name: "sample-10BT", data_files: [{ split: "train", path: "sample/10BT/*" }] },
      { config_name: "x", default: true, data_files: "x/*" },
    ],
  });
  assert.deepEqual(Object.keys(card!.configs), ["default", "sample-10BT", "x"]);
  assert.equal(card!.defaultConfig, "x");
  assert.equal(cardConfigs({ license: "mit" }), null);
  assert.deepEqual(
    cardDataFromReadme("---\nconfigs:\n- config_name: a\n  data_files: a/*\n---\n# Card\n"),
    { configs: [{ config_name: "a", data_files: "a/*" }] },
  );
  assert.equal(cardDataFromReadme("# no front matter"), undefined);
});

Deno.test("split names in file names, as the Hub infers them", () => {
  const byName = splitsByFileName([
    "README.md",
    "TinyStoriesV2-GPT4-train.txt",
    "TinyStoriesV2-GPT4-valid.txt",
    "data/test-00000.parquet",
    "script.py",
    "trainer_notes.txt",
  ]);
  assert.deepEqual(byName, {
    train: ["TinyStoriesV2-GPT4-train.txt"],
    validation: ["TinyStoriesV2-GPT4-valid.txt"],
    test: ["data/test-00000.parquet"],
  });
  assert.deepEqual(splitsByFileName(["corpus.txt", "x.py"]), { train: ["corpus.txt"] });
});

Deno.test("Link header pagination", () => {
  const cur = "https://hub/api/datasets/a/b/tree/main?recursive=true";
  assert.equal(
    nextLink('<https://hub/api/datasets/a/b/tree/main?recursive=true&cursor=xyz>; rel="next"', cur),
    "https://hub/api/datasets/a/b/tree/main?recursive=true&cursor=xyz",
  );
  assert.equal(nextLink(null, cur), null);
  assert.equal(nextLink('<https://x>; rel="prev"', cur), null);
});

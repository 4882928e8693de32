import assert from "node:assert/strict";
import { parseExperimentArgs } from "../../src/cli/experiment_args.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("parseExperimentArgs: flags and key=value overrides", () => {
  assert.deepEqual(
    parseExperimentArgs("train", ["--config", "c.yaml", "seed=3", "--runs", "out", "a.b=1"]),
    {
      help: false,
      configPath: "c.yaml",
      overrides: ["seed=3", "a.b=1"],
      runsRoot: "out",
      progress: undefined,
      imports: [],
    },
  );
  assert.deepEqual(
    parseExperimentArgs("train", ["--import", "a.ts", "--import", "b.ts"]).imports,
    ["a.ts", "b.ts"],
  );
  assert.equal(parseExperimentArgs("demo", ["--no-progress"]).progress, false);
  assert.equal(parseExperimentArgs("demo", ["-h", "stray"]).help, true);
});

Deno.test("parseExperimentArgs: stray positionals and unknown flags are UserErrors", () => {
  assert.throws(
    () => parseExperimentArgs("demo", ["stray"]),
    (e: Error) => e instanceof UserError && /^demo: unexpected argument "stray"/.test(e.message),
  );
  assert.throws(
    () => parseExperimentArgs("train", ["--bogus"]),
    (e: Error) => e instanceof UserError && /train: .*--bogus/.test(e.message),
  );
});

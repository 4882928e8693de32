/** `deno task download`: fetch a Hugging Face Hub dataset (or a registry alias) into the cache. */

import { intFlag, numberFlag, parseCliArgs, runCli } from "../src/cli/run.ts";
import { downloadDataset } from "../src/data/hub.ts";
import { listDatasets, loadDatasetRegistry, loadProjectRegistry } from "../src/data/registry.ts";
import { UserError } from "../src/util/errors.ts";

const HELP =
  `deno task download <hub dataset id | alias> [--config NAME] [--split S] [--max-files N]
                    [--out DIR] [--revision REV] [--registry FILE]

Downloads a dataset from the Hugging Face Hub into assets/datasets/<owner>/<name>/ and writes
manifest.json there, so tokenize/train can read it offline (openDocuments, data.dataset).
Interrupted downloads resume; files already present and verified are not fetched again.

  <id | alias>     owner/name on the Hub, or a registry alias: ${listDatasets().join(", ")}
                   (plus entries in ./datasets.yaml or --registry FILE)
  --config NAME    dataset config (subset), e.g. sample-10BT for HuggingFaceFW/fineweb
  --split S        only this split (train, validation/val, test, ...); default: all splits
  --max-files N    at most N files per split (large datasets come in many parquet files)
  --out DIR        dataset folder instead of assets/datasets/<owner>/<name>
  --revision REV   branch, tag or commit (default main)
  --registry FILE  extra YAML registry of dataset entries
  --timeout S      give up on a request after S seconds without a response, or without
                   data while a file streams; it is then retried (default 30 s / 60 s)
  --retries N      attempts after the first for timeouts, cut connections, 5xx (default 5)
  --help           show this help

Environment: HF_TOKEN (Bearer token for gated/private datasets), HF_ENDPOINT (Hub URL,
default https://huggingface.co).

Examples:
  deno task download tinystories
  deno task download HuggingFaceFW/fineweb --config sample-10BT --split train --max-files 1`;

/** Runs the command with its CLI arguments (also used by the `kiln` binary). */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs("download", args, {
    config: { type: "string" },
    split: { type: "string" },
    "max-files": { type: "string" },
    out: { type: "string" },
    revision: { type: "string" },
    registry: { type: "string" },
    timeout: { type: "string" },
    retries: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) return console.log(HELP);
  if (positionals.length !== 1) {
    throw new UserError("download: expected one dataset id or alias (see --help)");
  }
  await loadProjectRegistry();
  if (values.registry) await loadDatasetRegistry(values.registry as string);
  const maxFiles = values["max-files"] === undefined
    ? undefined
    : intFlag("max-files", values["max-files"]);
  if (maxFiles !== undefined && maxFiles < 1) {
    throw new UserError("--max-files: expected at least 1");
  }
  const timeout = values.timeout === undefined ? undefined : numberFlag("timeout", values.timeout);
  if (timeout !== undefined && !(timeout > 0)) throw new UserError("--timeout: expected S > 0");
  const retries = values.retries === undefined ? undefined : intFlag("retries", values.retries);
  if (retries !== undefined && retries < 0) throw new UserError("--retries: expected N ≥ 0");
  const result = await downloadDataset(positionals[0], {
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    idleTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
    retries,
    config: values.config as string | undefined,
    split: values.split as string | undefined,
    maxFiles,
    out: values.out as string | undefined,
    revision: values.revision as string | undefined,
  });
  console.log(result.dir);
}

if (import.meta.main) await runCli(() => main(Deno.args));

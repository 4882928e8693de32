/** `deno task tokenize analyze|train|pretokenize|encode|decode …` — byte-level BPE tokenizers. */

import { intFlag, numberFlag, parseCliArgs, runCli } from "../src/cli/run.ts";
import {
  analyzeCommand,
  decodeCommand,
  encodeCommand,
  pretokenizeCommand,
  trainCommand,
} from "../src/tokenizer/commands.ts";
import { UserError } from "../src/util/errors.ts";

const HELP: Record<string, string> = {
  "": `usage: deno task tokenize <analyze|train|pretokenize|encode|decode> … (--help on each)
  analyze <dataset>                       corpus statistics and compression per vocab size
  train registry <dataset> <vocab_size>   train a byte-level BPE tokenizer.json on a dataset
  train file <files…> <vocab_size>        … on txt / JSONL / parquet files
  pretokenize <dataset> <tokenizer>       write llm.c token shards (train and val)
  encode <tokenizer> <file>               print the ids of a text file
  decode <tokenizer> <ids.json>           print the text of a JSON array of ids
<dataset> is a registry name or a path; <tokenizer> is "gpt2" or a tokenizer.json path.`,
  analyze:
    `usage: deno task tokenize analyze <dataset> [--subset N] [--vocab-sizes 1024,4096,…] [--json]
  --subset N          documents to analyze (default 10000)
  --vocab-sizes LIST  candidate sizes (default 1024,2048,4096,8192,16384,32768)
  --json              print JSON instead of a table`,
  train: `usage: deno task tokenize train registry <dataset> <vocab_size> [options]
       deno task tokenize train file <files…> <vocab_size> [options]
  --out PATH          output tokenizer.json (default assets/tokenizers/<dataset>-<vocab>.json)
  --min-frequency N   stop when the best pair occurs fewer than N times (default 0)
  --special TOKEN     a special token (repeatable; default <|endoftext|>; "none" for none)
  --subset N          only the first N documents`,
  pretokenize: `usage: deno task tokenize pretokenize <dataset> <tokenizer> [options]
  --out DIR           output folder (default assets/shards/<dataset>-<tokenizer>; must not exist)
  --val-fraction F    documents held out for val when the dataset has no val split (default 0.01)
  --shard-tokens N    tokens per shard (default 100000000)
  --workers N         parallel encoders (default: CPU count)
  --max-length N      cut each document to N tokens, its EOT included
  --subset N          only the first N documents of each split`,
  encode: `usage: deno task tokenize encode <tokenizer> <file|-> [--json]
  --json              print a JSON array (default: ids separated by spaces)`,
  decode: `usage: deno task tokenize decode <tokenizer> <ids.json|->`,
};

const optional = (name: string, v: unknown) => v === undefined ? undefined : intFlag(name, v);

/** Runs the command with its CLI arguments (also used by the `kiln` binary). */
export async function main(args: string[]): Promise<void> {
  const command = args[0] ?? "";
  if (!(command in HELP) || command === "") {
    if (command === "" || command === "--help" || command === "-h") return console.log(HELP[""]);
    throw new UserError(
      `unknown subcommand "${command}" (analyze, train, pretokenize, encode, decode)`,
    );
  }
  const { values: v, positionals: p } = parseCliArgs(`tokenize ${command}`, args.slice(1), {
    help: { type: "boolean", short: "h" },
    json: { type: "boolean" },
    subset: { type: "string" },
    "vocab-sizes": { type: "string" },
    out: { type: "string" },
    "min-frequency": { type: "string" },
    special: { type: "string", multiple: true },
    "val-fraction": { type: "string" },
    "shard-tokens": { type: "string" },
    workers: { type: "string" },
    "max-length": { type: "string" },
  });
  if (v.help) return console.log(HELP[command]);
  const need = (n: number, what: string) => {
    if (p.length !== n) throw new UserError(`tokenize ${command}: expected ${what} (see --help)`);
  };
  const subset = optional("subset", v.subset);
  if (command === "analyze") {
    need(1, "<dataset>");
    const vocabSizes = (v["vocab-sizes"] as string | undefined)?.split(",")
      .map((s) => intFlag("vocab-sizes", s.trim()));
    console.log(await analyzeCommand(p[0], { subset, vocabSizes, json: Boolean(v.json) }));
  } else if (command === "train") {
    const source = p[0];
    if (
      (source !== "registry" && source !== "file") || p.length < 3 ||
      (source === "registry" && p.length !== 3)
    ) {
      throw new UserError(
        "tokenize train: expected registry <dataset> <vocab_size> or file <files…> <vocab_size>",
      );
    }
    const special = v.special as string[] | undefined;
    console.log(
      await trainCommand({
        source,
        inputs: p.slice(1, -1),
        vocabSize: intFlag("vocab_size", p[p.length - 1]),
        out: v.out as string | undefined,
        minFrequency: optional("min-frequency", v["min-frequency"]),
        specialTokens: special?.includes("none") ? [] : special,
        subset,
      }),
    );
  } else if (command === "pretokenize") {
    need(2, "<dataset> <tokenizer>");
    console.log(
      await pretokenizeCommand({
        dataset: p[0],
        tokenizer: p[1],
        outDir: v.out as string | undefined,
        valFraction: v["val-fraction"] === undefined
          ? undefined
          : numberFlag("val-fraction", v["val-fraction"]),
        shardTokens: optional("shard-tokens", v["shard-tokens"]),
        workers: optional("workers", v.workers),
        maxLength: optional("max-length", v["max-length"]),
        subset,
      }),
    );
  } else if (command === "encode") {
    need(2, "<tokenizer> <file>");
    console.log(await encodeCommand(p[0], p[1], Boolean(v.json)));
  } else {
    need(2, "<tokenizer> <ids.json>");
    console.log(await decodeCommand(p[0], p[1]));
  }
}

if (import.meta.main) await runCli(() => main(Deno.args));

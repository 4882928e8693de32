/**
 * The work behind `deno task tokenize …` subcommands, taking already-parsed options (the tool
 * parses flags and prints help). Each reads its inputs, reports progress and writes atomically.
 */

import { basename, extname } from "node:path";
import { openDocuments } from "../data/registry.ts";
import { UserError } from "../util/errors.ts";
import { writeJsonAtomic } from "../util/fs.ts";
import { ProgressBar } from "../util/progress.ts";
import { analyzeDataset, formatAnalysis } from "./analyze.ts";
import { pretokenizeDataset, type PretokenizeOptions } from "./pretokenize.ts";
import { Tokenizer } from "./tokenizer.ts";
import { checkVocabSize } from "./tokenizer.ts";
import { trainBpeFromCounts, WordCounter } from "./trainer.ts";

/** Options of `trainCommand`. */
export interface TrainCommandOptions {
  /** `registry`: one dataset name or path; `file`: the files themselves (split "all"). */
  source: "registry" | "file";
  inputs: string[];
  vocabSize: number;
  out?: string;
  minFrequency?: number;
  specialTokens?: string[];
  subset?: number;
}

/** Default output path of a trained tokenizer: `assets/tokenizers/<dataset>-<vocab>.json`. */
export function defaultTokenizerPath(dataset: string, vocabSize: number): string {
  const stem = basename(dataset, extname(dataset)) || "tokenizer";
  return `assets/tokenizers/${stem}-${vocabSize}.json`;
}

/** Trains a tokenizer on the inputs and writes its tokenizer.json; returns the path. */
export async function trainCommand(opts: TrainCommandOptions): Promise<string> {
  const specials = opts.specialTokens ?? ["<|endoftext|>"];
  checkVocabSize(opts.vocabSize, specials);
  const out = opts.out ?? defaultTokenizerPath(opts.inputs[0], opts.vocabSize);
  const counter = new WordCounter();
  const reading = new ProgressBar({ total: opts.subset ?? 0, label: "reading" });
  let documents = 0;
  for (const input of opts.inputs) {
    const split = opts.source === "file" ? "all" : "train";
    for await (const doc of openDocuments(input, { split, subset: opts.subset })) {
      counter.add(doc);
      reading.update(++documents, `${documents} docs, ${(counter.units / 1e6).toFixed(1)}M chars`);
    }
  }
  reading.done();
  const merging = new ProgressBar({
    total: opts.vocabSize - 256 - specials.length,
    label: "merges",
  });
  const parts = trainBpeFromCounts(counter.counts, {
    vocabSize: opts.vocabSize,
    minFrequency: opts.minFrequency,
    specialTokens: specials,
    onProgress: (done) => merging.update(done),
    name: basename(out),
  });
  merging.done();
  await writeJsonAtomic(out, new Tokenizer(parts).toJSON());
  return out;
}

/** Encodes a text file; returns the ids as a JSON array or space-separated. */
export async function encodeCommand(
  tokenizer: string,
  file: string,
  json: boolean,
): Promise<string> {
  const tok = await Tokenizer.load(tokenizer);
  const text = await readText(file);
  const ids = Array.from(tok.encode(text));
  return json ? JSON.stringify(ids) : ids.join(" ");
}

/** Decodes a JSON array of ids (or whitespace-separated ids) from a file; returns the text. */
export async function decodeCommand(tokenizer: string, file: string): Promise<string> {
  const tok = await Tokenizer.load(tokenizer);
  const source = (await readText(file)).trim();
  let ids: unknown;
  try {
    ids = source.startsWith("[") ? JSON.parse(source) : source.split(/\s+/).map(Number);
  } catch (err) {
    throw new UserError(`${file}: not a JSON array of ids (${(err as Error).message})`);
  }
  if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new UserError(`${file}: expected a JSON array of non-negative integer ids`);
  }
  const bad = ids.find((id) => id >= tok.vocabSize);
  if (bad !== undefined) {
    throw new UserError(`${file}: id ${bad} is outside the vocabulary (size ${tok.vocabSize})`);
  }
  return tok.decode(ids);
}

/** Runs `analyzeDataset` and formats it (JSON or a table). */
export async function analyzeCommand(
  dataset: string,
  opts: { subset?: number; vocabSizes?: number[]; json: boolean },
): Promise<string> {
  const analysis = await analyzeDataset(dataset, opts);
  return opts.json ? JSON.stringify(analysis, null, 2) : formatAnalysis(analysis);
}

/** Runs `pretokenizeDataset` with a progress bar; returns a one-paragraph summary. */
export async function pretokenizeCommand(opts: PretokenizeOptions): Promise<string> {
  const bar = new ProgressBar({ total: opts.subset ?? 0, label: "pretokenize" });
  const r = await pretokenizeDataset({
    ...opts,
    onProgress: (p) =>
      bar.update(p.documents, `${p.split}: ${p.documents} docs, ${p.tokens} tokens`),
  });
  bar.done();
  return [
    `wrote ${r.outDir}`,
    `  train: ${r.train.tokens} tokens, ${r.train.documents} documents, ${r.train.shards.length} shard(s)`,
    `  val:   ${r.val.tokens} tokens, ${r.val.documents} documents, ${r.val.shards.length} shard(s)`,
    `  vocab ${r.vocabSize}, EOT ${r.eot}, ${r.vocabSize > 65536 ? "uint32" : "uint16"} tokens`,
  ].join("\n");
}

async function readText(path: string): Promise<string> {
  try {
    return path === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`file not found: ${path}`);
    if (err instanceof Deno.errors.IsADirectory) throw new UserError(`${path} is a directory`);
    throw err;
  }
}

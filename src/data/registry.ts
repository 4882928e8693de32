/**
 * The dataset registry: named entries (hub datasets and local files) and `openDocuments`, the one
 * way the rest of kiln reads text. A name resolves to a registry entry, a local path, or a hub id
 * already in the cache; a failed lookup lists what exists.
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseYaml, z } from "../deps.ts";
import { UserError } from "../util/errors.ts";
import { exists, readUserTextFile } from "../util/fs.ts";
import { datasetDir, type DatasetManifest, MANIFEST_NAME, readManifest } from "./manifest.ts";
import { type FileFormat, formatOfPath, readFileDocuments } from "./readers/file.ts";
import type { Delimiter } from "./readers/text.ts";
import { newReadStats, type ReadStats } from "./readers/utf8.ts";
import { DEFAULT_HOLDOUT, type Holdout, splitDocuments, takeDocuments } from "./split.ts";

/** Where an entry's data lives: on the Hugging Face Hub, or in the user's own files. */
export type DatasetKind = "hub" | "local_text" | "jsonl" | "parquet";

/** A registry entry. Hub entries name the repo; local entries point at files. */
export interface DatasetEntry {
  name: string;
  kind: DatasetKind;
  description?: string;
  /** Hub dataset id, e.g. `roneneldan/TinyStories` (kind `hub`). */
  hubId?: string;
  /** Hub config (subset) name, e.g. `sample-10BT`; default: the dataset's default config. */
  config?: string;
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** Split → file glob(s) in the repo, overriding the dataset card (as HF's `data_files`). */
  dataFiles?: Record<string, string[]>;
  /** Local file or folder (local kinds). */
  path?: string;
  /** Split → local file or folder, for local data that comes already split. */
  splitPaths?: Record<string, string>;
  /** Field/column holding the text (JSONL, parquet). Default `text`. */
  textField: string;
  /** How txt files are cut into documents. */
  delimiter?: Delimiter;
  /** File format when the extension does not tell. */
  format?: FileFormat;
  /** Holdout used for val when the data has no val split. */
  holdout?: Holdout;
}

const registry = new Map<string, DatasetEntry>();

/**
 * Adds (or replaces) a registry entry.
 *
 * @example
 * ```ts
 * registerDataset({ name: "notes", kind: "local_text", path: "notes.txt", textField: "text",
 *   delimiter: "blank_line" });
 * ```
 */
export function registerDataset(entry: DatasetEntry): void {
  if (entry.kind === "hub" && !entry.hubId) {
    throw new UserError(`dataset "${entry.name}": a hub entry needs hub_id`);
  }
  if (entry.kind !== "hub" && !entry.path && !entry.splitPaths) {
    throw new UserError(`dataset "${entry.name}": a ${entry.kind} entry needs path or split_paths`);
  }
  registry.set(entry.name, entry);
}

/** Names of all registered datasets, sorted. */
export function listDatasets(): string[] {
  return [...registry.keys()].sort();
}

/** The entry named `name`, or undefined. */
export function findDatasetEntry(name: string): DatasetEntry | undefined {
  return registry.get(name);
}

/**
 * The entry named `name`; a `UserError` listing the registered names when there is none.
 *
 * @example
 * ```ts
 * getDatasetEntry("tinystories").hubId; // "roneneldan/TinyStories"
 * ```
 */
export function getDatasetEntry(name: string): DatasetEntry {
  const entry = registry.get(name);
  if (!entry) {
    throw new UserError(`unknown dataset "${name}"; known datasets: ${listDatasets().join(", ")}`);
  }
  return entry;
}

const HoldoutSchema = z.object({
  fraction: z.number().min(0).max(1),
  seed: z.number().int().default(0),
});

const YamlEntrySchema = z.object({
  kind: z.enum(["hub", "local_text", "jsonl", "parquet"]),
  description: z.string().optional(),
  hub_id: z.string().optional(),
  config: z.string().optional(),
  revision: z.string().optional(),
  data_files: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  path: z.string().optional(),
  split_paths: z.record(z.string(), z.string()).optional(),
  text_field: z.string().default("text"),
  delimiter: z.string().optional(),
  format: z.enum(["txt", "jsonl", "parquet"]).optional(),
  holdout: HoldoutSchema.optional(),
}).strict();

const YamlRegistrySchema = z.object({
  datasets: z.record(z.string(), YamlEntrySchema),
}).strict();

/**
 * Registers the entries of a YAML registry file (`datasets: { name: { kind, … } }`); local
 * paths in it are relative to the file. Returns the names it added.
 *
 * @example
 * ```yaml
 * datasets:
 *   my_notes: { kind: local_text, path: data/notes.txt, delimiter: blank_line }
 *   my_web: { kind: hub, hub_id: HuggingFaceFW/fineweb-edu, config: sample-10BT }
 * ```
 */
export async function loadDatasetRegistry(path: string): Promise<string[]> {
  const text = await readUserTextFile(path, "registry file");
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new UserError(`${path}: invalid YAML (${(err as Error).message.split("\n")[0]})`);
  }
  const parsed = YamlRegistrySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const base = dirname(resolve(path));
  const at = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const names: string[] = [];
  for (const [name, e] of Object.entries(parsed.data.datasets)) {
    registerDataset({
      name,
      kind: e.kind,
      description: e.description,
      hubId: e.hub_id,
      config: e.config,
      revision: e.revision,
      dataFiles: e.data_files
        ? Object.fromEntries(
          Object.entries(e.data_files).map(([s, g]) => [s, typeof g === "string" ? [g] : g]),
        )
        : undefined,
      path: e.path ? at(e.path) : undefined,
      splitPaths: e.split_paths
        ? Object.fromEntries(Object.entries(e.split_paths).map(([s, p]) => [s, at(p)]))
        : undefined,
      textField: e.text_field,
      delimiter: e.delimiter,
      format: e.format,
      holdout: e.holdout,
    });
    names.push(name);
  }
  return names;
}

/** File name of the project's own registry, loaded automatically from the project root. */
export const PROJECT_REGISTRY = "datasets.yaml";
const loadedProjectRegistries = new Set<string>();

/** Loads `<root>/datasets.yaml` once, when it exists. */
export async function loadProjectRegistry(root = "."): Promise<void> {
  const path = resolve(root, PROJECT_REGISTRY);
  if (loadedProjectRegistries.has(path)) return;
  loadedProjectRegistries.add(path);
  if (await exists(path)) await loadDatasetRegistry(path);
}

/** Options for `openDocuments`. */
export interface OpenDocumentsOptions {
  /** `train` (default), `val`/`validation`, `test`, any hub split name, or `all` (no split). */
  split?: string;
  /** Only the first N documents of the split (deterministic). */
  subset?: number;
  /** Project root holding `assets/datasets/` and `datasets.yaml` (default: the working dir). */
  root?: string;
  /** Hub config to read when the name does not fix one. */
  config?: string;
  /** Overrides for plain paths (and entries): txt delimiter, text field, format. */
  delimiter?: Delimiter;
  textField?: string;
  format?: FileFormat;
  /** Holdout for data without a val split (default 1% with seed 0, or the entry's). */
  holdout?: Holdout;
  /** Filled while reading: documents read from files, invalid UTF-8 replaced. */
  stats?: ReadStats;
  /** Where the invalid-UTF-8 report goes (default: a `warning:` line on stderr). */
  onWarning?: (message: string) => void;
}

/** Names of val splits, in the order they are looked for. */
const VAL_SPLITS = ["validation", "valid", "val", "dev"];

function isValName(split: string): boolean {
  return VAL_SPLITS.includes(split);
}

interface FileToRead {
  path: string;
  format?: FileFormat;
  textField: string;
  delimiter?: Delimiter;
}

interface ReadPlan {
  files: FileToRead[];
  /** Keep one side of a holdout over `files`, or everything when undefined. */
  holdoutSide?: "train" | "val";
  holdout: Holdout;
}

/**
 * Streams the documents (strings) of a dataset: a registry name (`tinystories`), a hub id
 * already downloaded (`roneneldan/TinyStories`), or a path to a .txt / .jsonl / .parquet file or
 * a folder of them. The order is fixed, so `subset` and holdout splits are identical across runs.
 * A dataset without a val split gets a document-level holdout (train excludes it).
 *
 * @example
 * ```ts
 * for await (const doc of openDocuments("tinystories", { split: "val", subset: 1000 })) {}
 * for await (const doc of openDocuments("../shared/data/grimm_tales.txt")) {}
 * ```
 */
export async function* openDocuments(
  nameOrPath: string,
  opts: OpenDocumentsOptions = {},
): AsyncGenerator<string> {
  const root = opts.root ?? ".";
  await loadProjectRegistry(root);
  const plan = await planRead(nameOrPath, opts, root);
  const stats = opts.stats ?? newReadStats();
  const invalidBefore = stats.invalidUtf8;
  let docs: AsyncIterable<string> = readFiles(plan.files, stats);
  if (plan.holdoutSide) docs = splitDocuments(docs, plan.holdoutSide, plan.holdout);
  try {
    yield* takeDocuments(docs, opts.subset);
  } finally {
    const invalid = stats.invalidUtf8 - invalidBefore;
    if (invalid > 0) {
      const warn = opts.onWarning ?? ((m: string) => console.error(`warning: ${m}`));
      warn(`${nameOrPath}: replaced ${invalid} invalid UTF-8 sequence(s) with U+FFFD`);
    }
  }
}

async function* readFiles(files: FileToRead[], stats: ReadStats): AsyncGenerator<string> {
  for (const f of files) {
    yield* readFileDocuments(f.path, { ...f, stats });
  }
}

async function planRead(name: string, opts: OpenDocumentsOptions, root: string): Promise<ReadPlan> {
  const split = opts.split ?? "train";
  const entry = findDatasetEntry(name);
  if (entry) return planForEntry(entry, split, opts, root);
  if (await exists(name)) return planForPath(name, split, opts, undefined);
  if (name.includes("/") && await exists(join(datasetDir(name, root), MANIFEST_NAME))) {
    return planForManifestDir(datasetDir(name, root), name, split, opts, undefined);
  }
  throw new UserError(
    `unknown dataset "${name}": not a registry name (${listDatasets().join(", ")}), ` +
      `an existing path, or a downloaded hub dataset (run: deno task download ${name})`,
  );
}

function planForEntry(
  entry: DatasetEntry,
  split: string,
  opts: OpenDocumentsOptions,
  root: string,
): Promise<ReadPlan> {
  if (entry.kind === "hub") {
    return planForManifestDir(datasetDir(entry.hubId!, root), entry.name, split, opts, entry);
  }
  const splitPath = entry.splitPaths && pickSplit(Object.keys(entry.splitPaths), split);
  if (splitPath) return planForPath(entry.splitPaths![splitPath], "all", opts, entry);
  if (!entry.path) {
    throw new UserError(
      `dataset "${entry.name}" has no split "${split}" (splits: ${
        Object.keys(entry.splitPaths ?? {}).join(", ")
      })`,
    );
  }
  const hasVal = Object.keys(entry.splitPaths ?? {}).some(isValName);
  return planForPath(entry.path, hasVal && split === "train" ? "all" : split, opts, entry);
}

/** The split among `available` that answers a request for `split` (val names are synonyms). */
function pickSplit(available: string[], split: string): string | undefined {
  if (available.includes(split)) return split;
  if (isValName(split)) return VAL_SPLITS.find((s) => available.includes(s));
  return undefined;
}

function holdoutFor(opts: OpenDocumentsOptions, entry?: DatasetEntry): Holdout {
  return opts.holdout ?? entry?.holdout ?? DEFAULT_HOLDOUT;
}

/** `all` reads everything; `train` and val names become a holdout; anything else is an error. */
function sideForUnsplitData(split: string, what: string): "train" | "val" | undefined {
  if (split === "all") return undefined;
  if (split === "train") return "train";
  if (isValName(split)) return "val";
  throw new UserError(`${what} has no split "${split}" (use train, val or all)`);
}

async function planForPath(
  path: string,
  split: string,
  opts: OpenDocumentsOptions,
  entry: DatasetEntry | undefined,
): Promise<ReadPlan> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info) throw new UserError(`dataset path not found: ${path}`);
  const label = entry ? `dataset "${entry.name}"` : path;
  if (info.isDirectory) {
    if (await exists(join(path, MANIFEST_NAME))) {
      return planForManifestDir(path, label, split, opts, entry);
    }
    const names: string[] = [];
    for await (const e of Deno.readDir(path)) {
      if (e.isFile && formatOfPath(e.name)) names.push(e.name);
    }
    if (names.length === 0) {
      throw new UserError(`${path}: no .txt, .jsonl or .parquet files in this folder`);
    }
    names.sort();
    return {
      files: names.map((n) => fileToRead(join(path, n), opts, entry)),
      holdoutSide: sideForUnsplitData(split, label),
      holdout: holdoutFor(opts, entry),
    };
  }
  return {
    files: [fileToRead(path, opts, entry)],
    holdoutSide: sideForUnsplitData(split, label),
    holdout: holdoutFor(opts, entry),
  };
}

function fileToRead(path: string, opts: OpenDocumentsOptions, entry?: DatasetEntry): FileToRead {
  const format = opts.format ?? entry?.format ?? formatOfPath(path) ??
    (entry?.kind === "jsonl" ? "jsonl" : entry?.kind === "parquet" ? "parquet" : undefined);
  return {
    path,
    format,
    textField: opts.textField ?? entry?.textField ?? "text",
    // Paragraphs are the natural documents of a plain text file without other instructions.
    delimiter: opts.delimiter ?? entry?.delimiter ?? "blank_line",
  };
}

async function planForManifestDir(
  dir: string,
  label: string,
  split: string,
  opts: OpenDocumentsOptions,
  entry: DatasetEntry | undefined,
): Promise<ReadPlan> {
  const manifest = await readManifest(dir);
  if (!manifest) {
    throw new UserError(
      `dataset "${label}" is not downloaded (no ${join(dir, MANIFEST_NAME)}); ` +
        `run: deno task download ${label}`,
    );
  }
  const configName = pickConfig(manifest, opts.config ?? entry?.config, label);
  const config = manifest.configs[configName];
  const downloaded = Object.keys(config.splits);
  const fileFor = (p: string): FileToRead => ({
    path: join(dir, p),
    format: opts.format ?? config.format ?? undefined,
    textField: opts.textField ?? config.text_field,
    delimiter: opts.delimiter ?? config.delimiter ?? entry?.delimiter ?? "blank_line",
  });
  const holdout = holdoutFor(opts, entry);
  const found = pickSplit(downloaded, split);
  const hubHasVal = config.available_splits.some(isValName);
  if (split === "all") {
    return { files: downloaded.flatMap((s) => config.splits[s].map(fileFor)), holdout };
  }
  if (found && !(split === "train" && !hubHasVal)) {
    return { files: config.splits[found].map(fileFor), holdout };
  }
  const hubSplit = pickSplit(config.available_splits, split);
  if (hubSplit && hubSplit !== "train") {
    throw new UserError(
      `split "${hubSplit}" of ${label} is not downloaded; run: ` +
        `deno task download ${label} --config ${configName} --split ${hubSplit}`,
    );
  }
  if ((split === "train" || isValName(split)) && !hubHasVal) {
    if (!config.splits.train) {
      throw new UserError(
        `split "train" of ${label} is not downloaded; run: deno task download ${label} ` +
          `--config ${configName} --split train`,
      );
    }
    return {
      files: config.splits.train.map(fileFor),
      holdoutSide: split === "train" ? "train" : "val",
      holdout,
    };
  }
  throw new UserError(
    `${label} (config ${configName}) has no split "${split}"; ` +
      `splits: ${config.available_splits.join(", ")} (val/validation, or all)`,
  );
}

function pickConfig(manifest: DatasetManifest, wanted: string | undefined, label: string): string {
  const names = Object.keys(manifest.configs);
  if (wanted) {
    if (!manifest.configs[wanted]) {
      throw new UserError(
        `config "${wanted}" of ${label} is not downloaded (downloaded: ${names.join(", ")}); ` +
          `run: deno task download ${label} --config ${wanted}`,
      );
    }
    return wanted;
  }
  if (names.length === 1) return names[0];
  if (manifest.configs.default) return "default";
  throw new UserError(`${label} has several configs downloaded (${names.join(", ")}); name one`);
}

// Built-in entries. Hub repos, configs and fields were checked against the Hub's pages.
const BUILTIN: DatasetEntry[] = [
  {
    name: "tinystories",
    kind: "hub",
    description: "TinyStories V2 (GPT-4 stories), roneneldan/TinyStories text files",
    hubId: "roneneldan/TinyStories",
    dataFiles: {
      train: ["TinyStoriesV2-GPT4-train.txt"],
      validation: ["TinyStoriesV2-GPT4-valid.txt"],
    },
    textField: "text",
    delimiter: "<|endoftext|>",
    format: "txt",
  },
  {
    name: "fineweb",
    kind: "hub",
    description: "FineWeb 10B-token sample (HuggingFaceFW/fineweb, config sample-10BT)",
    hubId: "HuggingFaceFW/fineweb",
    config: "sample-10BT",
    textField: "text",
    format: "parquet",
    holdout: { fraction: 0.001, seed: 0 },
  },
  {
    name: "tinyshakespeare",
    kind: "hub",
    description: "Tiny Shakespeare (karpathy/tiny_shakespeare): one document per split",
    hubId: "karpathy/tiny_shakespeare",
    textField: "text",
    format: "parquet",
  },
  {
    name: "ptb",
    kind: "hub",
    description: "Penn Treebank, text only (ptb-text-only/ptb_text_only, one sentence per row)",
    hubId: "ptb-text-only/ptb_text_only",
    config: "penn_treebank",
    textField: "sentence",
    format: "parquet",
  },
  {
    name: "wikitext-103",
    kind: "hub",
    description:
      "WikiText-103 raw (Salesforce/wikitext, config wikitext-103-raw-v1), one line per row",
    hubId: "Salesforce/wikitext",
    config: "wikitext-103-raw-v1",
    textField: "text",
    format: "parquet",
  },
];
for (const entry of BUILTIN) registerDataset(entry);

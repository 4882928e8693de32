/**
 * `downloadDataset`: fetches a Hugging Face Hub dataset (or a registry alias of one) into the
 * local cache and writes its `manifest.json`. Files already present and verified are not
 * downloaded again.
 */

import { basename, join } from "node:path";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import { formatDuration, ProgressBar } from "../util/progress.ts";
import {
  getWithRetry,
  type HubClient,
  hubClient,
  type HubClientOptions,
  hubHeaders,
  listTree,
  parquetConversion,
  repoInfo,
  resolveUrl,
  throwForStatus,
  type TreeFile,
} from "./hub_api.ts";
import {
  cardConfigs,
  cardDataFromReadme,
  matchFiles,
  type SplitPatterns,
  splitsByFileName,
} from "./hub_configs.ts";
import { downloadFile, sha256File } from "./hub_download.ts";
import { checkPathInside } from "./safe_path.ts";
import {
  datasetDir,
  type DatasetManifest,
  type ManifestFile,
  readManifest,
  writeManifest,
} from "./manifest.ts";
import { findDatasetEntry } from "./registry.ts";

/** Options for `downloadDataset`. */
export interface DownloadOptions extends HubClientOptions {
  /** Config (subset) name; default: the alias's, the card's default, or the only one. */
  config?: string;
  /** One split (`train`, `validation`/`val`, `test`, …); default: every split of the config. */
  split?: string;
  /** At most this many files per split (the first ones in name order). */
  maxFiles?: number;
  /** Dataset folder (default `<root>/assets/datasets/<owner>/<name>`). */
  out?: string;
  /** Project root for the default folder (default: the working dir). */
  root?: string;
  /** Branch, tag or commit (default: the alias's, else `main`). */
  revision?: string;
  /** Draw progress bars (default: when stderr is a terminal). */
  progress?: boolean;
  /** Status lines (default: stderr). */
  log?: (line: string) => void;
}

/** What a download did. */
export interface DownloadResult {
  dir: string;
  manifest: DatasetManifest;
  /** Files fetched in this run, and files that were already present. */
  downloadedFiles: number;
  skippedFiles: number;
  /** Bytes transferred in this run. */
  bytes: number;
}

/** A file chosen for download. */
interface PlannedFile extends TreeFile {
  url: string;
  revision: string;
  split: string;
}

interface Selection {
  config: string;
  availableSplits: string[];
  files: PlannedFile[];
}

const VAL_NAMES = ["validation", "valid", "val", "dev"];

/**
 * Downloads a dataset: a registry alias (`tinystories`, `fineweb`, …) or a hub id
 * (`roneneldan/TinyStories`). Honours `HF_ENDPOINT` and `HF_TOKEN`.
 *
 * @example
 * ```ts
 * const { dir } = await downloadDataset("fineweb", { maxFiles: 1 });
 * for await (const doc of openDocuments("fineweb", { subset: 10 })) console.log(doc);
 * ```
 */
export async function downloadDataset(
  nameOrId: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const entry = findDatasetEntry(nameOrId);
  if (entry && entry.kind !== "hub") {
    throw new UserError(
      `dataset "${nameOrId}" is a local ${entry.kind} entry; nothing to download`,
    );
  }
  const id = entry?.hubId ?? nameOrId;
  if (!/^[\w.-]+\/[\w.-]+$/.test(id)) {
    throw new UserError(
      `unknown dataset "${nameOrId}": expected a hub id like owner/name or a registry alias`,
    );
  }
  const client = hubClient(opts);
  const log = opts.log ?? ((l: string) => console.error(l));
  const revision = opts.revision ?? entry?.revision ?? "main";
  const info = await repoInfo(client, id, revision);
  const selection = await selectFiles(client, id, info.sha, info.cardData, {
    config: opts.config ?? entry?.config,
    split: opts.split,
    dataFiles: opts.config && opts.config !== entry?.config ? undefined : entry?.dataFiles,
    maxFiles: opts.maxFiles,
  });
  const dir = opts.out ?? datasetDir(id, opts.root);
  // Every path the server named is checked before anything is written.
  for (const f of selection.files) checkPathInside(dir, f.path, `${id} file list`);
  const previous = await readManifest(dir);
  const known = new Map((previous?.files ?? []).map((f) => [f.path, f]));

  const totalBytes = selection.files.reduce((s, f) => s + f.size, 0);
  log(
    `${id} (config ${selection.config}, revision ${info.sha.slice(0, 10)}): ` +
      `${selection.files.length} file(s), ${formatBytes(totalBytes)} → ${dir}`,
  );
  let downloaded = 0;
  let skipped = 0;
  let bytes = 0;
  let doneBefore = 0;
  const started = performance.now();
  const records: ManifestFile[] = [];
  for (const [i, f] of selection.files.entries()) {
    const dest = join(dir, f.path);
    const record: ManifestFile = {
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      revision: f.revision,
      url: f.url,
    };
    if (await isPresent(dest, f, known.get(f.path))) {
      skipped++;
    } else {
      const bar = new ProgressBar({
        total: f.size,
        label: `[${i + 1}/${selection.files.length}] ${basename(f.path)}`,
        enabled: opts.progress,
      });
      const overall = (done: number) =>
        `total ${formatBytes(doneBefore + done)}/${formatBytes(totalBytes)}`;
      bytes += await downloadFile(
        client,
        { url: f.url, dest, size: f.size || null, sha256: f.sha256, label: f.path },
        (done) => bar.update(done, overall(done)),
      );
      bar.done(overall(f.size));
      downloaded++;
    }
    doneBefore += f.size;
    records.push(record);
  }
  const manifest = mergeManifest(previous, id, client, info.sha, selection, records, {
    textField: entry?.textField ?? "text",
    format: entry?.format ?? null,
    delimiter: entry?.delimiter ?? null,
  });
  await writeManifest(dir, manifest);
  const secs = (performance.now() - started) / 1000;
  log(
    `done: ${downloaded} downloaded (${formatBytes(bytes)}), ${skipped} already present, ` +
      `${formatDuration(secs)}`,
  );
  return { dir, manifest, downloadedFiles: downloaded, skippedFiles: skipped, bytes };
}

/** A file counts as present when its size matches and its sha256 was verified (now or before). */
async function isPresent(dest: string, f: PlannedFile, known?: ManifestFile): Promise<boolean> {
  if (!(await exists(dest))) return false;
  const size = (await Deno.stat(dest)).size;
  if (f.size && size !== f.size) return false;
  if (!f.sha256) return true;
  if (known?.sha256 === f.sha256 && known.size === size) return true;
  return (await sha256File(dest)) === f.sha256.toLowerCase();
}

interface SelectOptions {
  config?: string;
  split?: string;
  dataFiles?: Record<string, string[]>;
  maxFiles?: number;
}

/** Picks the config, its splits and their files (see `hub_configs.ts` for the rules). */
async function selectFiles(
  client: HubClient,
  id: string,
  sha: string,
  cardData: Record<string, unknown> | undefined,
  opts: SelectOptions,
): Promise<Selection> {
  const tree = await listTree(client, id, sha);
  const paths = tree.map((f) => f.path);
  let configs: Record<string, SplitPatterns>;
  let defaultConfig: string | undefined;
  if (opts.dataFiles) {
    configs = { [opts.config ?? "default"]: opts.dataFiles };
  } else {
    const card = cardConfigs(cardData ?? await readmeCardData(client, id, sha, paths));
    if (card) {
      configs = card.configs;
      defaultConfig = card.defaultConfig;
    } else {
      const byName = splitsByFileName(paths);
      if (Object.keys(byName).length === 0) return await selectConverted(client, id, opts);
      configs = { default: byName };
    }
  }
  const config = chooseConfig(id, Object.keys(configs), opts.config ?? defaultConfig);
  const patterns = configs[config];
  const availableSplits = Object.keys(patterns);
  const splits = chooseSplits(id, config, availableSplits, opts.split);
  const byPath = new Map(tree.map((f) => [f.path, f]));
  const files: PlannedFile[] = [];
  for (const split of splits) {
    let matched = matchFiles(paths, patterns[split]);
    if (matched.length === 0) {
      throw new UserError(
        `${id} (config ${config}, split ${split}): no files match ${patterns[split].join(", ")}`,
      );
    }
    if (opts.maxFiles !== undefined) matched = matched.slice(0, opts.maxFiles);
    for (const p of matched) {
      files.push({ ...byPath.get(p)!, url: resolveUrl(client, id, sha, p), revision: sha, split });
    }
  }
  return { config, availableSplits, files };
}

/** Card metadata from README.md when the info response did not carry it. */
async function readmeCardData(
  client: HubClient,
  id: string,
  sha: string,
  paths: string[],
): Promise<Record<string, unknown> | undefined> {
  if (!paths.includes("README.md")) return undefined;
  const url = resolveUrl(client, id, sha, "README.md");
  const res = await getWithRetry(client, url, hubHeaders(client), `${id} README.md`);
  if (!res.ok) await throwForStatus(res, `${id} README.md`, client);
  return cardDataFromReadme(await res.text());
}

/**
 * For repos whose own files kiln cannot read (e.g. a loading script), the Hub's parquet
 * conversion (`refs/convert/parquet`) serves every config and split as parquet.
 */
async function selectConverted(
  client: HubClient,
  id: string,
  opts: SelectOptions,
): Promise<Selection> {
  const listing = await parquetConversion(client, id);
  const names = Object.keys(listing);
  if (names.length === 0) {
    throw new UserError(`${id}: no .parquet, .jsonl or .txt files and no parquet conversion`);
  }
  const config = chooseConfig(id, names, opts.config);
  const availableSplits = Object.keys(listing[config]);
  const splits = chooseSplits(id, config, availableSplits, opts.split);
  const revision = "refs/convert/parquet";
  // Sizes and hashes of the converted files come from that branch's tree.
  const tree = await listTree(client, id, revision, config).catch(() => [] as TreeFile[]);
  const byPath = new Map(tree.map((f) => [f.path, f]));
  const files: PlannedFile[] = [];
  for (const split of splits) {
    let urls = listing[config][split];
    if (opts.maxFiles !== undefined) urls = urls.slice(0, opts.maxFiles);
    const branchFiles = [...byPath.keys()].filter((p) => p.startsWith(`${config}/${split}/`))
      .sort();
    for (const url of urls) {
      const path = convertedPath(url, config, split, branchFiles);
      const known = byPath.get(path);
      files.push({
        path,
        size: known?.size ?? 0,
        sha256: known?.sha256 ?? null,
        url: known ? resolveUrl(client, id, revision, path) : url,
        revision,
        split,
      });
    }
  }
  return { config, availableSplits, files };
}

/**
 * The branch path of a conversion URL. The API names files `<n>.parquet` while the branch holds
 * them as `0000.parquet` (newer) or `<name>-<split>.parquet` (older): the n-th file in name order.
 */
function convertedPath(url: string, config: string, split: string, branchFiles: string[]): string {
  const name = basename(new URL(url).pathname);
  const direct = `${config}/${split}/${name}`;
  if (branchFiles.includes(direct)) return direct;
  const n = name.match(/^(\d+)\.parquet$/);
  if (n && Number(n[1]) < branchFiles.length) return branchFiles[Number(n[1])];
  return direct;
}

function chooseConfig(id: string, names: string[], wanted: string | undefined): string {
  if (wanted) {
    if (names.includes(wanted)) return wanted;
    throw new UserError(`${id} has no config "${wanted}"; available configs: ${names.join(", ")}`);
  }
  if (names.length === 1) return names[0];
  if (names.includes("default")) return "default";
  throw new UserError(`${id} has several configs; pick one with --config: ${names.join(", ")}`);
}

function chooseSplits(
  id: string,
  config: string,
  available: string[],
  wanted: string | undefined,
): string[] {
  if (!wanted) return available;
  if (available.includes(wanted)) return [wanted];
  if (VAL_NAMES.includes(wanted)) {
    const val = VAL_NAMES.find((s) => available.includes(s));
    if (val) return [val];
  }
  throw new UserError(
    `${id} (config ${config}) has no split "${wanted}"; available splits: ${available.join(", ")}`,
  );
}

function mergeManifest(
  previous: DatasetManifest | null,
  id: string,
  client: HubClient,
  sha: string,
  selection: Selection,
  records: ManifestFile[],
  reading: {
    textField: string;
    format: "txt" | "jsonl" | "parquet" | null;
    delimiter: string | null;
  },
): DatasetManifest {
  const files = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  for (const r of records) files.set(r.path, r);
  const configs = { ...(previous?.configs ?? {}) };
  const splits = { ...(configs[selection.config]?.splits ?? {}) };
  for (const split of new Set(selection.files.map((f) => f.split))) {
    splits[split] = selection.files.filter((f) => f.split === split).map((f) => f.path);
  }
  configs[selection.config] = {
    splits,
    available_splits: selection.availableSplits,
    text_field: reading.textField,
    format: reading.format,
    delimiter: reading.delimiter,
  };
  return {
    kiln_manifest_version: 1,
    hub_id: id,
    source: client.endpoint,
    revision: sha,
    configs,
    files: [...files.values()].sort((a, b) => a.path.localeCompare(b.path)),
    updated_at: new Date().toISOString(),
  };
}

/** `1.2 GB`-style sizes for messages. */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

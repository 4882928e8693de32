/**
 * `manifest.json` in a downloaded dataset's folder: where the files came from and how to read
 * them, so later steps (tokenize, train) find the data without the network.
 */

import { join } from "node:path";
import { z } from "../deps.ts";
import { UserError } from "../util/errors.ts";
import { exists, writeJsonAtomic } from "../util/fs.ts";

const FileSchema = z.object({
  /** Path relative to the dataset folder (the same as in the hub repository). */
  path: z.string(),
  size: z.number(),
  /** sha256 (hex) when the Hub gave one (LFS files), else null. */
  sha256: z.string().nullable(),
  /** The revision (commit sha or ref) the file was downloaded from. */
  revision: z.string(),
  url: z.string(),
});

const ConfigSchema = z.object({
  /** Split name → files (paths relative to the dataset folder), in reading order. */
  splits: z.record(z.string(), z.array(z.string())),
  /** Every split the Hub has for this config (downloaded or not); decides whether val is a holdout. */
  available_splits: z.array(z.string()),
  text_field: z.string(),
  format: z.enum(["txt", "jsonl", "parquet"]).nullable(),
  delimiter: z.string().nullable(),
});

const ManifestSchema = z.object({
  kiln_manifest_version: z.literal(1),
  hub_id: z.string(),
  /** Hub endpoint the files came from. */
  source: z.string(),
  /** Commit sha the file list was resolved at. */
  revision: z.string(),
  configs: z.record(z.string(), ConfigSchema),
  files: z.array(FileSchema),
  updated_at: z.string(),
});

/** One downloaded file. */
export type ManifestFile = z.infer<typeof FileSchema>;
/** How one config of a dataset is read. */
export type ManifestConfig = z.infer<typeof ConfigSchema>;
/** The whole `manifest.json`. */
export type DatasetManifest = z.infer<typeof ManifestSchema>;

/** File name of the manifest inside a dataset folder. */
export const MANIFEST_NAME = "manifest.json";

/** Default dataset cache below a project root: `<root>/assets/datasets`. */
export function datasetsRoot(root = "."): string {
  return join(root, "assets", "datasets");
}

/** Folder of a hub dataset in the cache: `<root>/assets/datasets/<owner>/<name>`. */
export function datasetDir(hubId: string, root = "."): string {
  return join(datasetsRoot(root), ...hubId.split("/"));
}

/** Reads and validates `dir/manifest.json`; null when there is none. */
export async function readManifest(dir: string): Promise<DatasetManifest | null> {
  const path = join(dir, MANIFEST_NAME);
  if (!(await exists(path))) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Writes `dir/manifest.json` atomically. */
export function writeManifest(dir: string, manifest: DatasetManifest): Promise<void> {
  return writeJsonAtomic(join(dir, MANIFEST_NAME), manifest);
}

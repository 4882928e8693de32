/**
 * Which repo files make up each config and split of a hub dataset, decided the way Hugging Face's
 * `datasets` does: the card's `configs:` (`data_files` globs) when present, else split names in
 * file names (`train`, `validation`/`valid`/`dev`, `test`).
 */

import { parseYaml } from "../deps.ts";
import { globToRegExp } from "./glob.ts";
import { formatOfPath } from "./readers/file.ts";

/** Split name → glob patterns, for one config. */
export type SplitPatterns = Record<string, string[]>;

/** Config name → its splits; `defaultConfig` is the card's `default: true` config, if any. */
export interface CardConfigs {
  configs: Record<string, SplitPatterns>;
  defaultConfig?: string;
}

function asList(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

/** Normalises one config's `data_files` (string, list, list of {split, path}, or record). */
export function parseDataFiles(dataFiles: unknown): SplitPatterns {
  if (
    typeof dataFiles === "string" ||
    (Array.isArray(dataFiles) && dataFiles.every((x) => typeof x === "string"))
  ) {
    return { train: asList(dataFiles) };
  }
  const out: SplitPatterns = {};
  if (Array.isArray(dataFiles)) {
    for (const item of dataFiles) {
      if (item && typeof item === "object") {
        const { split, path } = item as { split?: unknown; path?: unknown };
        const name = typeof split === "string" ? split : "train";
        out[name] = [...(out[name] ?? []), ...asList(path)];
      }
    }
  } else if (dataFiles && typeof dataFiles === "object") {
    for (const [split, path] of Object.entries(dataFiles)) out[split] = asList(path);
  }
  return out;
}

/** Reads `configs:` from a dataset card's metadata; null when the card declares none. */
export function cardConfigs(cardData: Record<string, unknown> | undefined): CardConfigs | null {
  const list = cardData?.configs;
  if (!Array.isArray(list) || list.length === 0) return null;
  const result: CardConfigs = { configs: {} };
  for (const c of list) {
    if (!c || typeof c !== "object") continue;
    const { config_name, data_files, default: isDefault } = c as Record<string, unknown>;
    const name = typeof config_name === "string" ? config_name : "default";
    result.configs[name] = parseDataFiles(data_files);
    if (isDefault === true) result.defaultConfig = name;
  }
  return Object.keys(result.configs).length > 0 ? result : null;
}

/** The YAML front matter of a README.md (the dataset card's metadata), or undefined. */
export function cardDataFromReadme(readme: string): Record<string, unknown> | undefined {
  const m = readme.replace(/^\ufeff/, "").match(/^---\r?\n([\s\S]*?)\r?\n---\s*(\r?\n|$)/);
  if (!m) return undefined;
  try {
    const data = parseYaml(m[1]);
    return data && typeof data === "object" ? data as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** The repo paths (sorted) that match any of `patterns`. */
export function matchFiles(paths: string[], patterns: string[]): string[] {
  const res = patterns.map(globToRegExp);
  return paths.filter((p) => res.some((r) => r.test(p))).sort();
}

const SPLIT_WORDS: Record<string, string> = {
  train: "train",
  training: "train",
  validation: "validation",
  valid: "validation",
  val: "validation",
  dev: "validation",
  test: "test",
  testing: "test",
};

/**
 * Groups readable data files (.parquet, .jsonl, .txt) by the split word in their path, as the Hub
 * does for repos without `configs:`; when no file names a split, all of them are `train`.
 */
export function splitsByFileName(paths: string[]): SplitPatterns {
  const data = paths.filter((p) => formatOfPath(p) !== null && !p.startsWith("."));
  const out: SplitPatterns = {};
  for (const p of data) {
    const words = p.toLowerCase().split(/[^a-z0-9]+/);
    const split = words.map((w) => SPLIT_WORDS[w]).find((s) => s !== undefined);
    if (split) out[split] = [...(out[split] ?? []), p];
  }
  if (Object.keys(out).length === 0 && data.length > 0) out.train = data;
  for (const s of Object.keys(out)) out[s].sort();
  return out;
}

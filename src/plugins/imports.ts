/**
 * User plugins: `--import FILE.ts` loads a module (which registers models, sources, hooks)
 * before anything else reads a config. A run records the files it imported, by path and
 * SHA-256, in its config.yaml (`imports:`), so `validate`, `probe` and `--resume` load the same
 * code again without the flag, and refuse when a file is missing or changed.
 *
 * @module
 */

import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readConfigFile } from "../config/load.ts";
import type { ImportRecord } from "../config/schema.ts";
import { isUserError, UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";

/** Hex SHA-256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** How a path is recorded: relative to the working directory when inside it, else absolute. */
function recordedPath(abs: string): string {
  const rel = relative(Deno.cwd(), abs);
  return rel.startsWith("..") || isAbsolute(rel) ? abs : rel;
}

async function readPlugin(path: string, flag: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`${flag}: file not found`);
    throw new UserError(`${flag}: cannot read (${(err as Error).message.split("\n")[0]})`);
  }
}

/**
 * Imports each plugin file in order and returns what a run records about them. A missing file,
 * a module that does not load, or one that throws while registering is a one-line UserError
 * naming the file.
 *
 * @example
 * ```ts
 * const records = await importPlugins(["examples/relu_after_block/plugin.ts"]);
 * ```
 */
export async function importPlugins(paths: readonly string[]): Promise<ImportRecord[]> {
  const records: ImportRecord[] = [];
  for (const path of paths) {
    const flag = `--import ${path}`;
    const abs = resolve(path);
    const bytes = await readPlugin(abs, flag);
    try {
      await import(pathToFileURL(abs).href);
    } catch (err) {
      const message = (err as Error)?.message?.split("\n")[0] ?? String(err);
      if (isUserError(err)) throw new UserError(`${flag}: ${message}`);
      throw new UserError(`${flag}: the module failed to load: ${message}`);
    }
    records.push({ path: recordedPath(abs), sha256: await sha256Hex(bytes) });
  }
  return records;
}

/**
 * Loads the plugins a run recorded, or `explicit` ones instead when given (`--import`
 * overrides). A recorded file that is missing or whose content changed is a UserError saying how
 * to override. Returns the records now in effect.
 */
export async function importRunPlugins(
  recorded: readonly ImportRecord[] | undefined,
  explicit: readonly string[],
  runDir: string,
): Promise<ImportRecord[]> {
  if (explicit.length > 0) return await importPlugins(explicit);
  const checked: string[] = [];
  for (const r of recorded ?? []) {
    const path = isAbsolute(r.path) ? r.path : resolve(r.path);
    if (!(await exists(path))) {
      throw new UserError(
        `run ${runDir} was trained with plugin ${r.path}, which is missing; ` +
          `pass --import <file> to load another`,
      );
    }
    const now = await sha256Hex(await Deno.readFile(path));
    if (now !== r.sha256) {
      throw new UserError(
        `plugin ${r.path} changed since run ${runDir} was trained (sha256 ${
          r.sha256.slice(0, 12)
        }… now ${now.slice(0, 12)}…); pass --import ${r.path} to load it anyway`,
      );
    }
    checked.push(path);
  }
  return await importPlugins(checked);
}

/** The `imports:` a run's config.yaml records, read without validating the config. */
export async function recordedImports(runDir: string): Promise<ImportRecord[]> {
  const path = join(runDir, "config.yaml");
  if (!(await exists(path))) return [];
  const raw = await readConfigFile(path);
  const imports = raw.imports;
  if (!Array.isArray(imports)) return [];
  return imports.filter((r): r is ImportRecord =>
    typeof r?.path === "string" && typeof r?.sha256 === "string"
  );
}

/**
 * The run directory behind a model path as `validate` and `probe` take it (a run, one of its
 * checkpoints, or an experiment directory's newest run), or null when there is none.
 */
export async function runDirOf(path: string): Promise<string | null> {
  if (await exists(join(path, "run.json"))) return path;
  if (await exists(join(path, "state.json"))) {
    const run = dirname(dirname(path));
    return await exists(join(run, "run.json")) ? run : null;
  }
  // An experiment directory: its newest run (names sort by time).
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) {
      if (e.isDirectory && await exists(join(path, e.name, "run.json"))) names.push(e.name);
    }
  } catch {
    return null;
  }
  return names.length ? join(path, names.sort().at(-1)!) : null;
}

/**
 * What `validate` and `probe` do first: load the plugins of the run behind `modelPath` (or the
 * explicit `--import` files instead).
 */
export async function importPluginsForModel(
  modelPath: string,
  explicit: readonly string[],
): Promise<ImportRecord[]> {
  const runDir = await runDirOf(modelPath);
  if (runDir === null) return await importPlugins(explicit);
  return await importRunPlugins(await recordedImports(runDir), explicit, runDir);
}

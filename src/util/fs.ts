/**
 * File helpers: writes that never leave a half-written file behind, and reads of files a user
 * named whose absence is a one-line error.
 */

import { basename, dirname, join } from "node:path";
import { UserError } from "./errors.ts";

let tempCounter = 0;

/** A temp path next to `path` (same directory, so rename is atomic on the same filesystem). */
export function tempPathFor(path: string): string {
  tempCounter++;
  return join(dirname(path), `.${basename(path)}.${Deno.pid}.${tempCounter}.tmp`);
}

/**
 * Writes `data` to `path` atomically: write a temp file in the same directory, fsync, rename.
 * Readers see either the old file or the complete new one.
 *
 * @example
 * ```ts
 * await writeFileAtomic("runs/x/run.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Writes JSON (pretty, trailing newline) atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Reads a file a user named (in a flag or a config); a missing one is the UserError
 * `<what> not found: <path>`.
 *
 * @example
 * ```ts
 * const bytes = await readUserFile("data/x_val_000000.bin", "shard");
 * ```
 */
export function readUserFile(path: string, what = "file"): Promise<Uint8Array> {
  return missingAsUserError(Deno.readFile(path), path, what);
}

/** {@link readUserFile} as text (`Deno.readTextFile`). */
export function readUserTextFile(path: string, what = "file"): Promise<string> {
  return missingAsUserError(Deno.readTextFile(path), path, what);
}

async function missingAsUserError<T>(read: Promise<T>, path: string, what: string): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`${what} not found: ${path}`);
    throw err;
  }
}

/** True when `path` exists (file or directory). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Parses a JSON-lines text, skipping a truncated (unparseable) last line, which is what a file
 * that is still being appended to may end with. Malformed lines elsewhere are an error.
 */
export function parseJsonLines<T = unknown>(text: string): T[] {
  const lines = text.split("\n");
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (err) {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === "");
      if (isLast) break;
      throw new Error(`malformed JSON on line ${i + 1}: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * True when `path`, with every symlink resolved, is `root` or lies under it (`root` resolved the
 * same way). A missing path is not inside. This is what stops a symlink from leading a server
 * that serves files under `root` to files elsewhere.
 */
export async function isInsideDir(root: string, path: string): Promise<boolean> {
  try {
    const [r, p] = await Promise.all([Deno.realPath(root), Deno.realPath(path)]);
    const base = r.endsWith(SEP) ? r : r + SEP;
    return p === r || p.startsWith(base);
  } catch {
    return false;
  }
}

const SEP = Deno.build.os === "windows" ? "\\" : "/";

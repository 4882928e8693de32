/**
 * `manifest.json` of a checkpoint: the size and SHA-256 of each of its files, written last into
 * the temp directory, so a loader can tell a complete, intact checkpoint from a torn or
 * bit-flipped one.
 *
 * @module
 */

import { join } from "node:path";
import { UserError } from "../util/errors.ts";

/** The files a checkpoint holds besides its manifest. */
export const CHECKPOINT_FILES = ["model.safetensors", "optimizer.safetensors", "state.json"];

/** The manifest's file name. */
export const MANIFEST = "manifest.json";

/** What `manifest.json` holds. */
export interface CheckpointManifest {
  format: 1;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** Lower-case hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The manifest of files given by name and content. */
export async function buildManifest(files: Map<string, Uint8Array>): Promise<CheckpointManifest> {
  const out: CheckpointManifest = { format: 1, files: {} };
  for (const [name, bytes] of files) {
    out.files[name] = { bytes: bytes.length, sha256: await sha256Hex(bytes) };
  }
  return out;
}

/**
 * Reads and checks `dir/manifest.json` (null when the checkpoint predates manifests). A
 * malformed manifest is a one-line UserError naming it.
 */
export async function readManifest(dir: string): Promise<CheckpointManifest | null> {
  const path = join(dir, MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new UserError(`${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  const bad = (what: string) => new UserError(`${path}: ${what}`);
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw bad("expected a JSON object");
  const m = raw as Record<string, unknown>;
  if (m.format !== 1) throw bad(`format: expected 1, found ${JSON.stringify(m.format)}`);
  const files = m.files as Record<string, { bytes?: unknown; sha256?: unknown }> | undefined;
  if (!files || typeof files !== "object" || Array.isArray(files)) {
    throw bad("files: expected an object");
  }
  for (const name of CHECKPOINT_FILES) {
    const f = files[name];
    if (!f || typeof f !== "object") throw bad(`files.${name}: missing`);
    if (!Number.isInteger(f.bytes) || (f.bytes as number) < 0) {
      throw bad(`files.${name}.bytes: expected a non-negative integer`);
    }
    if (typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      throw bad(`files.${name}.sha256: expected 64 hex digits`);
    }
  }
  return m as unknown as CheckpointManifest;
}

/** Checks one file's bytes against its manifest entry; a mismatch is a UserError naming it. */
export async function checkAgainstManifest(
  path: string,
  name: string,
  bytes: Uint8Array,
  manifest: CheckpointManifest | null,
): Promise<void> {
  const entry = manifest?.files[name];
  if (!entry) return;
  if (bytes.length !== entry.bytes) {
    throw new UserError(
      `${path}: ${bytes.length} bytes, manifest.json says ${entry.bytes} (truncated or replaced)`,
    );
  }
  if (await sha256Hex(bytes) !== entry.sha256) {
    throw new UserError(`${path}: SHA-256 differs from manifest.json (the file is corrupted)`);
  }
}

/**
 * True when `dir` looks like a complete checkpoint without reading its tensors: every file is
 * there, with the size its manifest records (a legacy checkpoint: the files exist).
 */
export async function isCompleteCheckpoint(dir: string): Promise<boolean> {
  let manifest: CheckpointManifest | null;
  try {
    manifest = await readManifest(dir);
  } catch {
    return false;
  }
  for (const name of CHECKPOINT_FILES) {
    try {
      const info = await Deno.stat(join(dir, name));
      if (manifest && info.size !== manifest.files[name].bytes) return false;
    } catch {
      return false;
    }
  }
  return true;
}

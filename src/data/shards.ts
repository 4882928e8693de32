/**
 * Token shards in llm.c's layout: a header of 256 little-endian int32 (magic, version, token
 * count, zeros) followed by the tokens. uint16 tokens (magic 20240520, version 1) fit vocabularies
 * up to 65,536; larger ones use uint32 tokens (magic 20240801, version 7, llm.c's Llama-3 variant).
 * nanoGPT and llm.c readers load these files as they are.
 */

import { basename, dirname, join } from "node:path";
import { UserError } from "../util/errors.ts";
import { readUserFile, writeFileAtomic } from "../util/fs.ts";
import { globToRegExp } from "./glob.ts";

/** Header size in bytes (256 int32). */
export const SHARD_HEADER_BYTES = 1024;
/** Magic and version of uint16 shards. */
export const SHARD_MAGIC_U16 = 20240520;
export const SHARD_VERSION_U16 = 1;
/** Magic and version of uint32 shards. */
export const SHARD_MAGIC_U32 = 20240801;
export const SHARD_VERSION_U32 = 7;

/** Token array type a shard holds: uint16 for vocabularies up to 65,536, else uint32. */
export type ShardTokens = Uint16Array | Uint32Array;

/** Bytes per token a vocabulary of `vocabSize` needs in a shard (2 or 4). */
export function shardTokenWidth(vocabSize: number): 2 | 4 {
  return vocabSize > 65536 ? 4 : 2;
}

/**
 * Serializes tokens into shard bytes (header + tokens). Throws when a token does not fit the
 * width `vocabSize` asks for.
 */
export function encodeShard(tokens: ArrayLike<number>, vocabSize: number): Uint8Array {
  const width = shardTokenWidth(vocabSize);
  const n = tokens.length;
  const bytes = new Uint8Array(SHARD_HEADER_BYTES + width * n);
  const header = new DataView(bytes.buffer);
  header.setInt32(0, width === 2 ? SHARD_MAGIC_U16 : SHARD_MAGIC_U32, true);
  header.setInt32(4, width === 2 ? SHARD_VERSION_U16 : SHARD_VERSION_U32, true);
  header.setInt32(8, n, true);
  const limit = width === 2 ? 65536 : 4294967296;
  // Typed-array views need little-endian hosts; every platform Deno ships on is.
  const body = width === 2
    ? new Uint16Array(bytes.buffer, SHARD_HEADER_BYTES, n)
    : new Uint32Array(bytes.buffer, SHARD_HEADER_BYTES, n);
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    if (!(t >= 0 && t < limit) || t !== Math.floor(t)) {
      throw new RangeError(`token ${t} at position ${i} does not fit a ${width * 8}-bit shard`);
    }
    body[i] = t;
  }
  return bytes;
}

/**
 * Writes `tokens` as a shard at `path` atomically (temp file + rename), uint16 when
 * `vocabSize` ≤ 65,536, else uint32.
 *
 * @example
 * ```ts
 * await writeShard("data/x_train_000000.bin", [50256, 15496, 995], 50257);
 * ```
 */
export async function writeShard(
  path: string,
  tokens: ArrayLike<number>,
  vocabSize: number,
): Promise<void> {
  await writeFileAtomic(path, encodeShard(tokens, vocabSize));
}

/**
 * Parses shard bytes, validating magic, version and size (1024 + width × count). `name` appears
 * in error messages.
 */
export function decodeShard(bytes: Uint8Array, name = "shard"): ShardTokens {
  if (bytes.length < SHARD_HEADER_BYTES) {
    throw new UserError(
      `${name}: not a token shard: ${bytes.length} bytes is smaller than the 1024-byte header`,
    );
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const magic = header.getInt32(0, true);
  const version = header.getInt32(4, true);
  const count = header.getInt32(8, true);
  let width: 2 | 4;
  if (magic === SHARD_MAGIC_U16) {
    width = 2;
    if (version !== SHARD_VERSION_U16) {
      throw new UserError(`${name}: unsupported shard version ${version} (expected 1)`);
    }
  } else if (magic === SHARD_MAGIC_U32) {
    width = 4;
    if (version !== SHARD_VERSION_U32) {
      throw new UserError(`${name}: unsupported shard version ${version} (expected 7)`);
    }
  } else {
    throw new UserError(
      `${name}: not a token shard: magic ${magic} (expected ${SHARD_MAGIC_U16} or ${SHARD_MAGIC_U32})`,
    );
  }
  const expected = SHARD_HEADER_BYTES + width * count;
  if (count < 0 || bytes.length !== expected) {
    throw new UserError(
      `${name}: shard size ${bytes.length} bytes does not match its header ` +
        `(${count} tokens × ${width} + 1024 = ${expected}); the file is truncated or corrupt`,
    );
  }
  // Copy into an aligned buffer: the file bytes may sit at any offset.
  const body = bytes.slice(SHARD_HEADER_BYTES);
  return width === 2
    ? new Uint16Array(body.buffer, 0, count)
    : new Uint32Array(body.buffer, 0, count);
}

/**
 * Reads a shard, validating magic, version and size; a bad file is a one-line `UserError`.
 *
 * @example
 * ```ts
 * const tokens = await readShard("data/x_val_000000.bin"); // Uint16Array
 * ```
 */
export async function readShard(path: string): Promise<ShardTokens> {
  return decodeShard(await readUserFile(path, "shard"), path);
}

/**
 * Shard paths that `globOrDir` names, sorted: a directory (its `*.bin` files), one file, or a
 * pattern with `*`/`?` in the file-name part (`data/tiny/*_train_*.bin`). No match is a
 * `UserError`.
 */
export async function listShards(globOrDir: string): Promise<string[]> {
  let dir: string;
  let pattern: RegExp;
  const stat = await Deno.stat(globOrDir).catch(() => null);
  if (stat?.isFile) return [globOrDir];
  if (stat?.isDirectory) {
    dir = globOrDir;
    pattern = /\.bin$/;
  } else {
    dir = dirname(globOrDir);
    pattern = globToRegExp(basename(globOrDir));
  }
  const paths: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && pattern.test(entry.name)) paths.push(join(dir, entry.name));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (paths.length === 0) throw new UserError(`no token shards match ${globOrDir}`);
  return paths.sort();
}

/** One loaded shard. */
export interface LoadedShard {
  path: string;
  tokens: ShardTokens;
}

/**
 * Loads every shard that `globOrDir` names (see `listShards`), in path order.
 *
 * @example
 * ```ts
 * const train = await loadShards("datasets/tiny/tokens/*_train_*.bin");
 * const total = train.reduce((n, s) => n + s.tokens.length, 0);
 * ```
 */
export async function loadShards(globOrDir: string): Promise<LoadedShard[]> {
  const paths = await listShards(globOrDir);
  return await Promise.all(paths.map(async (path) => ({ path, tokens: await readShard(path) })));
}

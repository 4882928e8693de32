/**
 * The safetensors file format (Hugging Face): an 8-byte little-endian header length N, N bytes of
 * JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`
 * padded with spaces to a multiple of 8, then the raw little-endian tensor bytes. Offsets are
 * relative to the end of the header. Checkpoints are written in it so outside tools can read them.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";
import { readUserFile, writeFileAtomic } from "../util/fs.ts";

/** Element types kiln reads and writes (the safetensors spelling). */
export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "U64"
  | "I32"
  | "U32"
  | "I16"
  | "U16"
  | "I8"
  | "U8"
  | "BOOL";

/** Typed array matching a dtype; F16 and BF16 are carried as raw `Uint16Array` bits, BOOL as bytes. */
export type SafetensorsData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Int16Array
  | Uint16Array
  | Uint8Array
  | Int8Array;

/** One named tensor: dtype, shape and its row-major data. */
export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

/** The content of a safetensors file. */
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const BYTES_PER_ELEMENT: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

// Headers larger than this are not plausible checkpoints; Hugging Face's reader uses the same cap.
const MAX_HEADER_BYTES = 100_000_000;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function viewAs(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsData {
  // Copy into a fresh aligned buffer: the tensor's offset in the file need not be aligned.
  const buf = bytes.slice().buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf);
    case "F64":
      return new Float64Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "U32":
      return new Uint32Array(buf);
    case "I64":
      return new BigInt64Array(buf);
    case "U64":
      return new BigUint64Array(buf);
    case "I16":
      return new Int16Array(buf);
    case "F16":
    case "BF16":
    case "U16":
      return new Uint16Array(buf);
    case "U8":
    case "BOOL":
      return new Uint8Array(buf);
    case "I8":
      return new Int8Array(buf);
  }
}

/**
 * Encodes tensors (and optional string metadata) as safetensors bytes. Tensors are laid out in
 * name order, as the reference implementation does, so equal inputs give equal bytes.
 */
export function encodeSafetensors(
  tensors: Map<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bpe = BYTES_PER_ELEMENT[t.dtype];
    if (bpe === undefined) throw new UserError(`safetensors: unsupported dtype ${t.dtype}`);
    const n = elementCount(t.shape);
    if (t.data.length !== n || t.data.BYTES_PER_ELEMENT !== bpe) {
      throw new UserError(
        `safetensors: tensor ${name} has ${t.data.length} elements of ${t.data.BYTES_PER_ELEMENT} ` +
          `bytes, expected ${n} of ${bpe} for ${t.dtype} [${t.shape.join(",")}]`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n * bpe] };
    offset += n * bpe;
  }
  let json = JSON.stringify(header);
  const rawLength = new TextEncoder().encode(json).length;
  json += " ".repeat((8 - (rawLength % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/**
 * Decodes safetensors bytes, checking that the header agrees with the file: known dtypes, shapes
 * matching byte ranges, ranges inside the data section, covering it without gaps or overlaps.
 * Any disagreement is a one-line {@link UserError} naming `source`.
 */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors"): SafetensorsFile {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) {
    fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  }
  const headerLength = Number(
    new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    fail(`header length ${headerLength} does not fit in a file of ${bytes.length} bytes`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    ));
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail("header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: {
    name: string;
    dtype: SafetensorsDType;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (value === null || typeof value !== "object") fail("__metadata__ is not an object");
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info?.dtype as SafetensorsDType;
    if (typeof dtype !== "string" || !(dtype in BYTES_PER_ELEMENT)) {
      fail(`tensor ${name} has unsupported dtype ${JSON.stringify(info?.dtype)}`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor ${name} has a bad shape ${JSON.stringify(shape)}`);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]
    ) {
      fail(`tensor ${name} has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(shape as number[]) * BYTES_PER_ELEMENT[dtype];
    if (end - begin !== expected) {
      fail(
        `tensor ${name} ${dtype} [${(shape as number[]).join(",")}] needs ${expected} bytes ` +
          `but data_offsets span ${end - begin}`,
      );
    }
    if (end > dataLength) {
      fail(`tensor ${name} ends at byte ${end} but the data section has ${dataLength} bytes`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The format requires the tensors to tile the data section exactly.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor) {
      fail(`tensor ${e.name} starts at byte ${e.begin}, expected ${cursor} (gap or overlap)`);
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    fail(`tensors cover ${cursor} bytes but the data section has ${dataLength}`);
  }
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    const data = viewAs(e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/**
 * Writes tensors to a safetensors file atomically (temp file + rename).
 *
 * @example
 * ```ts
 * await writeSafetensors("model.safetensors", new Map([
 *   ["wte.weight", { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
 * ]), { format: "pt" });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Reads a safetensors file; a missing or malformed file is a one-line {@link UserError}.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = await readSafetensors("model.safetensors");
 * const wte = tensors.get("wte.weight")!.data as Float32Array;
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return decodeSafetensors(await readUserFile(path), path);
}

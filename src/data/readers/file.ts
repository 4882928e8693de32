/** Picks the reader for a file by its extension. */

import { extname } from "node:path";
import { UserError } from "../../util/errors.ts";
import { readJsonlDocuments } from "./jsonl.ts";
import { readParquetDocuments } from "./parquet.ts";
import { type Delimiter, readTextDocuments } from "./text.ts";
import type { ReadStats } from "./utf8.ts";

/** File formats kiln reads documents from. */
export type FileFormat = "txt" | "jsonl" | "parquet";

/** The format a file's extension implies, or null when kiln cannot read it. */
export function formatOfPath(path: string): FileFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === ".parquet") return "parquet";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".txt" || ext === ".text" || ext === ".raw" || ext === ".tokens") return "txt";
  return null;
}

/** How to read one file: its format (else from the extension), text field and txt delimiter. */
export interface FileReadOptions {
  format?: FileFormat;
  textField?: string;
  delimiter?: Delimiter;
  stats: ReadStats;
}

/**
 * Streams the documents of one file with the reader its format (or extension) calls for.
 *
 * @example
 * ```ts
 * for await (const doc of readFileDocuments("data/train.jsonl", { stats: newReadStats() })) {}
 * ```
 */
export function readFileDocuments(path: string, opts: FileReadOptions): AsyncGenerator<string> {
  const format = opts.format ?? formatOfPath(path);
  switch (format) {
    case "parquet":
      return readParquetDocuments(path, opts);
    case "jsonl":
      return readJsonlDocuments(path, opts);
    case "txt":
      return readTextDocuments(path, opts);
    default:
      throw new UserError(
        `${path}: cannot tell the format from the extension (expected .txt, .jsonl or .parquet)`,
      );
  }
}

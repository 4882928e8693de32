/**
 * Parquet reader: streams one text column row group by row group with `hyparquet`, so memory
 * holds one row group, never the whole file.
 */

import {
  type AsyncBuffer,
  type Compressors,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
} from "../../deps.ts";
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib";
import { UserError } from "../../util/errors.ts";
import { decodeUtf8Counting, type ReadStats } from "./utf8.ts";

/** Options for `readParquetDocuments`. */
export interface ParquetReadOptions {
  /** Column holding the text (default `text`). */
  textField?: string;
  stats: ReadStats;
}

// hyparquet decodes SNAPPY itself; Hub datasets also use ZSTD (and sometimes GZIP/BROTLI).
const COMPRESSORS: Compressors = {
  ZSTD: (input) => new Uint8Array(zstdDecompressSync(input)),
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
};

/**
 * Streams the non-empty strings of one column of a parquet file, in row order. A missing column is
 * a `UserError` that lists the columns; invalid UTF-8 is replaced and counted in `stats`.
 *
 * @example
 * ```ts
 * for await (const doc of readParquetDocuments("train.parquet", { textField: "text", stats })) {}
 * ```
 */
export async function* readParquetDocuments(
  path: string,
  opts: ParquetReadOptions,
): AsyncGenerator<string> {
  const field = opts.textField ?? "text";
  const { file, close } = await openAsyncBuffer(path);
  try {
    const metadata = await parquetMetadataAsync(file).catch((err) => {
      throw new UserError(`${path}: not a readable parquet file (${(err as Error).message})`);
    });
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    if (!columns.includes(field)) {
      throw new UserError(
        `${path}: no column "${field}" (columns: ${
          columns.join(", ")
        }); set the dataset's text_field`,
      );
    }
    const parsers = { stringFromBytes: (b: Uint8Array) => b && decodeUtf8Counting(b, opts.stats) };
    let rowStart = 0;
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows);
      let rows: unknown[][] = [];
      await parquetRead({
        file,
        metadata,
        columns: [field],
        rowStart,
        rowEnd,
        parsers,
        compressors: COMPRESSORS,
        onComplete: (r) => rows = r,
      });
      rowStart = rowEnd;
      for (const [value] of rows) {
        if (typeof value !== "string" || value.trim() === "") continue;
        opts.stats.documents++;
        yield value;
      }
      rows = [];
    }
  } finally {
    close();
  }
}

/** A random-access view of a local file in the shape hyparquet reads from. */
async function openAsyncBuffer(path: string): Promise<{ file: AsyncBuffer; close: () => void }> {
  const handle = await Deno.open(path, { read: true });
  const { size } = await handle.stat();
  // hyparquet may issue several reads at once; a file handle has one cursor, so serialise them.
  let queue: Promise<unknown> = Promise.resolve();
  const readRange = async (start: number, end: number): Promise<ArrayBuffer> => {
    const out = new Uint8Array(end - start);
    await handle.seek(start, Deno.SeekMode.Start);
    let got = 0;
    while (got < out.length) {
      const n = await handle.read(out.subarray(got));
      if (n === null) throw new Error(`${path}: unexpected end of file`);
      got += n;
    }
    return out.buffer;
  };
  const file: AsyncBuffer = {
    byteLength: size,
    slice(start: number, end?: number): Promise<ArrayBuffer> {
      const result = queue.then(() => readRange(start, end ?? size));
      queue = result.catch(() => {});
      return result;
    },
  };
  return { file, close: () => handle.close() };
}

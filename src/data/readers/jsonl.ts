/** JSON-lines reader: one JSON object per line, the document is one string field of it. */

import { UserError } from "../../util/errors.ts";
import { decodedChunks } from "./text.ts";
import type { ReadStats } from "./utf8.ts";

/** Options for `readJsonlDocuments`. */
export interface JsonlReadOptions {
  /** Field holding the text; a dotted path (`meta.text`) reaches into nested objects. */
  textField?: string;
  stats: ReadStats;
}

/**
 * Streams the `textField` strings of a JSONL file. Blank lines and empty texts are skipped; an
 * unparseable last line (a file still being written) is skipped; a malformed line elsewhere, or a
 * record without the field, is a `UserError` naming the line.
 *
 * @example
 * ```ts
 * for await (const doc of readJsonlDocuments("data.jsonl", { textField: "text", stats })) {}
 * ```
 */
export async function* readJsonlDocuments(
  path: string,
  opts: JsonlReadOptions,
): AsyncGenerator<string> {
  const field = opts.textField ?? "text";
  const path_ = field.split(".");
  let lineNo = 0;
  // One line is held back: only the last line of the file may be truncated.
  let pending: { line: string; no: number } | null = null;
  for await (const lines of lineBatches(path, opts.stats)) {
    const docs: string[] = [];
    for (const line of lines) {
      lineNo++;
      if (line.trim() === "") continue;
      if (pending) {
        const doc = documentOf(pending.line, pending.no, path_, path, false);
        if (doc !== null) docs.push(doc);
      }
      pending = { line, no: lineNo };
    }
    for (const doc of docs) {
      opts.stats.documents++;
      yield doc;
    }
  }
  if (pending) {
    const doc = documentOf(pending.line, pending.no, path_, path, true);
    if (doc !== null) {
      opts.stats.documents++;
      yield doc;
    }
  }
}

function documentOf(
  line: string,
  lineNo: number,
  fieldPath: string[],
  path: string,
  isLast: boolean,
): string | null {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (err) {
    if (isLast) return null; // truncated last line
    throw new UserError(`${path}:${lineNo}: malformed JSON (${(err as Error).message})`);
  }
  const field = fieldPath.join(".");
  const value = fieldPath.reduce<unknown>(
    (
      obj,
      key,
    ) => (obj !== null && typeof obj === "object"
      ? (obj as Record<string, unknown>)[key]
      : undefined),
    record,
  );
  if (typeof value !== "string") {
    const keys = record !== null && typeof record === "object"
      ? Object.keys(record).join(", ")
      : "";
    throw new UserError(
      `${path}:${lineNo}: no string field "${field}" (fields: ${keys || "none"}); ` +
        `set the dataset's text_field`,
    );
  }
  return value.trim() === "" ? null : value;
}

/** The complete lines of each decoded chunk (terminators removed), streamed. */
async function* lineBatches(path: string, stats: ReadStats): AsyncGenerator<string[]> {
  let partial: string[] = [];
  for await (const text of decodedChunks(path, stats)) {
    const lines: string[] = [];
    let from = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
      partial.push(text.slice(from, nl));
      lines.push(partial.join(""));
      partial = [];
      from = nl + 1;
    }
    if (from < text.length) partial.push(text.slice(from));
    if (lines.length > 0) yield lines;
  }
  if (partial.length > 0) yield [partial.join("")];
}

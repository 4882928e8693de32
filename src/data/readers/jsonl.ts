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
  let lineNo = 0;
  let pending: { line: string; no: number } | null = null;
  for await (const line of lines(path, opts.stats)) {
    lineNo++;
    if (line.trim() === "") continue;
    if (pending) {
      const doc = documentOf(pending.line, pending.no, field, path, false);
      if (doc) {
        opts.stats.documents++;
        yield doc;
      }
    }
    pending = { line, no: lineNo };
  }
  if (pending) {
    const doc = documentOf(pending.line, pending.no, field, path, true);
    if (doc) {
      opts.stats.documents++;
      yield doc;
    }
  }
}

function documentOf(
  line: string,
  lineNo: number,
  field: string,
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
  const value = field.split(".").reduce<unknown>(
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

/** Lines of a text file, streamed (the line terminator removed). */
async function* lines(path: string, stats: ReadStats): AsyncGenerator<string> {
  let partial: string[] = [];
  for await (const text of decodedChunks(path, stats)) {
    let from = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
      partial.push(text.slice(from, nl));
      yield partial.join("");
      partial = [];
      from = nl + 1;
    }
    if (from < text.length) partial.push(text.slice(from));
  }
  if (partial.length > 0) yield partial.join("");
}

/**
 * Plain-text reader: streams a file in chunks and splits it into documents by a delimiter, in
 * time linear in the file size even when a "line" is hundreds of megabytes long.
 */

import { CountingUtf8Decoder, type ReadStats } from "./utf8.ts";

/**
 * How a text file is cut into documents: `"file"` (the whole file is one document), `"line"`
 * (each line), `"blank_line"` (paragraphs separated by one or more blank lines), or any other
 * string, taken literally (e.g. `"<|endoftext|>"` for TinyStories' text files).
 */
export type Delimiter = "file" | "line" | "blank_line" | (string & Record<never, never>);

/** Options for `readTextDocuments`. */
export interface TextReadOptions {
  delimiter?: Delimiter;
  /** Filled while reading (invalid UTF-8 count, documents). */
  stats: ReadStats;
}

/**
 * Streams the documents of a UTF-8 text file. A BOM is dropped, CRLF becomes LF, invalid UTF-8 is
 * replaced by U+FFFD and counted in `stats`. Documents that are empty or only whitespace are
 * skipped; with `blank_line` or a literal delimiter, line breaks around a document are trimmed.
 *
 * @example
 * ```ts
 * for await (const doc of readTextDocuments("corpus.txt", { delimiter: "blank_line", stats })) {}
 * ```
 */
export async function* readTextDocuments(
  path: string,
  opts: TextReadOptions,
): AsyncGenerator<string> {
  const delimiter = opts.delimiter ?? "file";
  const splitter = delimiter === "file"
    ? new WholeFileSplitter()
    : delimiter === "line"
    ? new LineSplitter(false)
    : delimiter === "blank_line"
    ? new LineSplitter(true)
    : new LiteralSplitter(delimiter);
  for await (const text of decodedChunks(path, opts.stats)) {
    for (const doc of splitter.push(text)) {
      opts.stats.documents++;
      yield doc;
    }
  }
  for (const doc of splitter.end()) {
    opts.stats.documents++;
    yield doc;
  }
}

/** Decoded, CRLF-normalised text chunks of a file (a trailing CR waits for the next chunk). */
export async function* decodedChunks(path: string, stats: ReadStats): AsyncGenerator<string> {
  const decoder = new CountingUtf8Decoder(stats);
  let heldCR = false;
  const file = await Deno.open(path, { read: true });
  try {
    for await (const bytes of file.readable) {
      let text: string = (heldCR ? "\r" : "") + decoder.decode(bytes);
      heldCR = text.endsWith("\r");
      if (heldCR) text = text.slice(0, -1);
      if (text.length > 0) yield text.replaceAll("\r\n", "\n");
    }
  } finally {
    try {
      file.close();
    } catch { /* readable already closed it */ }
  }
  const rest = (heldCR ? "\r" : "") + decoder.decode();
  if (rest.length > 0) yield rest.replaceAll("\r\n", "\n");
}

interface Splitter {
  push(text: string): string[];
  end(): string[];
}

function isBlank(s: string): boolean {
  return s.trim().length === 0;
}

function trimLineBreaks(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) === 10) start++;
  while (end > start && s.charCodeAt(end - 1) === 10) end--;
  return s.slice(start, end);
}

class WholeFileSplitter implements Splitter {
  private pieces: string[] = [];
  push(text: string): string[] {
    this.pieces.push(text);
    return [];
  }
  end(): string[] {
    const doc = this.pieces.join("");
    this.pieces = [];
    return isBlank(doc) ? [] : [doc];
  }
}

/** Splits on lines; `paragraphs` groups lines into documents separated by blank lines. */
class LineSplitter implements Splitter {
  // Pieces of the current, unfinished line (kept as pieces so a huge line is joined once).
  private partial: string[] = [];
  private paragraph: string[] = [];

  constructor(private readonly paragraphs: boolean) {}

  push(text: string): string[] {
    const out: string[] = [];
    let from = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
      this.partial.push(text.slice(from, nl));
      this.finishLine(this.partial.join(""), out);
      this.partial = [];
      from = nl + 1;
    }
    if (from < text.length) this.partial.push(text.slice(from));
    return out;
  }

  end(): string[] {
    const out: string[] = [];
    if (this.partial.length > 0) this.finishLine(this.partial.join(""), out);
    this.partial = [];
    if (this.paragraphs) this.finishParagraph(out);
    return out;
  }

  private finishLine(line: string, out: string[]): void {
    if (!this.paragraphs) {
      if (!isBlank(line)) out.push(line);
    } else if (isBlank(line)) {
      this.finishParagraph(out);
    } else {
      this.paragraph.push(line);
    }
  }

  private finishParagraph(out: string[]): void {
    if (this.paragraph.length > 0) out.push(this.paragraph.join("\n"));
    this.paragraph = [];
  }
}

/** Splits on a literal separator that may straddle chunk boundaries. */
class LiteralSplitter implements Splitter {
  private pieces: string[] = [];
  // The last (separator length - 1) characters, which may be the start of a separator.
  private carry = "";

  constructor(private readonly separator: string) {
    if (separator.length === 0) throw new Error("document delimiter must not be empty");
  }

  push(text: string): string[] {
    const out: string[] = [];
    const s = this.carry + text;
    let from = 0;
    for (let at = s.indexOf(this.separator); at !== -1; at = s.indexOf(this.separator, from)) {
      this.pieces.push(s.slice(from, at));
      this.emit(out);
      from = at + this.separator.length;
    }
    const keep = Math.min(s.length - from, this.separator.length - 1);
    this.pieces.push(s.slice(from, s.length - keep));
    this.carry = s.slice(s.length - keep);
    return out;
  }

  end(): string[] {
    const out: string[] = [];
    this.pieces.push(this.carry);
    this.carry = "";
    this.emit(out);
    return out;
  }

  private emit(out: string[]): void {
    const doc = trimLineBreaks(this.pieces.join(""));
    this.pieces = [];
    if (!isBlank(doc)) out.push(doc);
  }
}

/**
 * Printing generated text while it is generated. Each new id re-decodes the whole sequence and
 * writes the part not yet written, so codecs whose tokens are not independent strings (byte-level
 * BPE splitting a character across tokens, ids joined by spaces) still print exactly the final
 * text. A decode ending in U+FFFD (half of a multi-byte character) waits for the next token.
 *
 * @module
 */

import type { TextCodec } from "./codec.ts";

/** Streams `decode(context + new ids)` past the context's own text to `write`. */
export class TextStream {
  private readonly ids: number[];
  private written: string;

  /** With `echo`, the context's text is written first (a prompt shown before its continuation). */
  constructor(
    private readonly codec: TextCodec,
    context: readonly number[],
    private readonly write: (text: string) => void,
    echo: boolean,
  ) {
    this.ids = [...context];
    this.written = codec.decode(this.ids);
    if (echo) write(this.written);
  }

  /** Adds a generated id and writes whatever text it completes. */
  push(id: number): void {
    this.ids.push(id);
    const text = this.codec.decode(this.ids);
    if (text.endsWith("\uFFFD") || !text.startsWith(this.written)) return;
    this.write(text.slice(this.written.length));
    this.written = text;
  }

  /** Writes what is left (also a held-back partial character), then `end`. */
  finish(end = "\n"): void {
    const text = this.codec.decode(this.ids);
    const rest = text.startsWith(this.written) ? text.slice(this.written.length) : "\n" + text;
    this.write(rest + end);
  }
}

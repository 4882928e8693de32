/**
 * UTF-8 decoding that replaces invalid byte sequences with U+FFFD (as every text reader must, or
 * one bad byte would stop a multi-gigabyte corpus) and counts how many it replaced, so the caller
 * can report it instead of silently changing the data.
 */

/** Counters a reader fills while it decodes a dataset; pass one in to see what happened. */
export interface ReadStats {
  /** Documents yielded so far. */
  documents: number;
  /** Invalid UTF-8 sequences that were replaced by U+FFFD. */
  invalidUtf8: number;
}

/** A fresh, zeroed `ReadStats`. */
export function newReadStats(): ReadStats {
  return { documents: 0, invalidUtf8: 0 };
}

/** Counts U+FFFD characters in a decoded string. */
export function countReplacementChars(text: string): number {
  let n = 0;
  let i = text.indexOf("\ufffd");
  while (i !== -1) {
    n++;
    i = text.indexOf("\ufffd", i + 1);
  }
  return n;
}

/** Counts the encoded replacement character (EF BF BD), which is valid UTF-8 and not an error. */
export function countEncodedReplacementChars(bytes: Uint8Array): number {
  let n = 0;
  for (
    let i = bytes.indexOf(0xef);
    i !== -1 && i + 2 < bytes.length;
    i = bytes.indexOf(0xef, i + 1)
  ) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) n++;
  }
  return n;
}

/**
 * Decodes one complete byte string (a parquet or JSON value), adding the number of invalid
 * sequences to `stats.invalidUtf8`.
 */
export function decodeUtf8Counting(bytes: Uint8Array, stats: ReadStats): string {
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  if (text.includes("\ufffd")) {
    stats.invalidUtf8 += countReplacementChars(text) - countEncodedReplacementChars(bytes);
  }
  return text;
}

/**
 * A streaming decoder for files read in chunks: strips a leading BOM, keeps multi-byte
 * characters that straddle chunk boundaries intact, and counts invalid sequences.
 */
export class CountingUtf8Decoder {
  private readonly decoder = new TextDecoder("utf-8");
  // Last two bytes of the previous chunk, so an encoded U+FFFD split across chunks is recognised.
  private tail = new Uint8Array(0);

  constructor(private readonly stats: ReadStats) {}

  /** Decodes the next chunk; call with no argument at the end of the stream to flush. */
  decode(chunk?: Uint8Array): string {
    const text = chunk ? this.decoder.decode(chunk, { stream: true }) : this.decoder.decode();
    // A character is emitted in the same call that receives its last byte, so per-call deltas
    // of (U+FFFD in the text) - (valid EF BF BD in the bytes) add up to the invalid count.
    const encoded = chunk ? this.countEncodedEndingIn(chunk) : 0;
    const replaced = text.includes("\ufffd") ? countReplacementChars(text) : 0;
    this.stats.invalidUtf8 += replaced - encoded;
    return text;
  }

  private countEncodedEndingIn(chunk: Uint8Array): number {
    const joined = new Uint8Array(this.tail.length + chunk.length);
    joined.set(this.tail);
    joined.set(chunk, this.tail.length);
    let n = 0;
    for (
      let i = joined.indexOf(0xef);
      i !== -1 && i + 2 < joined.length;
      i = joined.indexOf(0xef, i + 1)
    ) {
      if (joined[i + 1] === 0xbf && joined[i + 2] === 0xbd && i + 2 >= this.tail.length) n++;
    }
    this.tail = joined.slice(Math.max(0, joined.length - 2));
    return n;
  }
}

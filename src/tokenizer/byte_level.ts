/**
 * GPT-2's byte↔unicode map and UTF-8 helpers. Byte-level BPE works on bytes; tokenizer.json
 * stores each byte as a printable character (printable Latin-1 bytes map to themselves, the
 * rest to U+0100 onwards, so space becomes `Ġ` and newline `Ċ`).
 */

function buildByteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Array<string>(256);
  for (const b of printable) map[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (map[b] === undefined) map[b] = String.fromCharCode(256 + next++);
  }
  return map;
}

/** `BYTE_TO_UNICODE[b]` is the printable character that stands for byte `b` in tokenizer.json. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

const UNICODE_TO_BYTE = new Int16Array(512).fill(-1);
for (let b = 0; b < 256; b++) UNICODE_TO_BYTE[BYTE_TO_UNICODE[b].charCodeAt(0)] = b;

/**
 * The 256 bytes in the order of their printable characters' code points (`!` first). This is
 * the id order of GPT-2's first 256 tokens and of Hugging Face's byte-level trainer alphabet.
 */
export const BYTES_IN_ALPHABET_ORDER: readonly number[] = Array.from({ length: 256 }, (_, b) => b)
  .sort((x, y) => BYTE_TO_UNICODE[x].charCodeAt(0) - BYTE_TO_UNICODE[y].charCodeAt(0));

/** The printable (tokenizer.json) form of `bytes`. */
export function bytesToVisible(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]];
  return s;
}

/** Bytes of a printable (tokenizer.json) token, or null when it holds a character outside the map. */
export function visibleToBytes(visible: string): Uint8Array | null {
  const out = new Uint8Array(visible.length);
  for (let i = 0; i < visible.length; i++) {
    const c = visible.charCodeAt(i);
    const b = c < 512 ? UNICODE_TO_BYTE[c] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/**
 * Writes the UTF-8 bytes of `text[start, end)` into `out` from index 0 and returns the byte
 * count (`out` needs room for 3 bytes per code unit). A lone surrogate becomes U+FFFD's bytes,
 * as `TextEncoder` does, so every string has one well-defined byte form.
 */
export function utf8EncodeInto(text: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const low = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 63);
        out[n++] = 0x80 | ((c >> 6) & 63);
        out[n++] = 0x80 | (c & 63);
      } else {
        out[n++] = 0xef;
        out[n++] = 0xbf;
        out[n++] = 0xbd;
      }
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

/**
 * Decodes `bytes` as strict UTF-8 (no surrogate code points, no overlongs), or returns null when
 * they are not a complete, valid UTF-8 text. Cheaper than a fatal `TextDecoder` when many inputs
 * are invalid (no exceptions).
 */
export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  let s = "";
  const n = bytes.length;
  for (let i = 0; i < n;) {
    const b = bytes[i];
    let cp: number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      s += String.fromCharCode(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [cp, need, min] = [b & 0x1f, 1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [cp, need, min] = [b & 0x0f, 2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [cp, need, min] = [b & 0x07, 3, 0x10000];
    else return null;
    if (i + need >= n) return null;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    s += String.fromCodePoint(cp);
    i += need + 1;
  }
  return s;
}

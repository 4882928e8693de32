/**
 * GPT-2's pre-tokenizer: splits text into pieces ("words") that BPE encodes independently.
 * It is a hand-written scanner equivalent to the regex below, several times faster than V8's
 * regex engine. `\s` means Unicode White_Space, as in tiktoken (Rust) and Hugging Face
 * tokenizers (Oniguruma); JavaScript's `\s` differs (it includes U+FEFF, excludes U+0085), so
 * the JS form of the pattern spells the class out.
 */

/** GPT-2's split pattern as tiktoken and Hugging Face write it. */
export const GPT2_SPLIT_PATTERN = String
  .raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

const WS = String.raw`\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

/** The same pattern as a JavaScript regex with Unicode White_Space spelled out (a reference). */
export const GPT2_SPLIT_REGEX = new RegExp(
  String
    .raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  "gu",
);

const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const OTHER = 4;

/** Class of each BMP code unit, filled lazily (0 = not yet known). */
const bmpClass = new Uint8Array(65536);
const astralClass = new Map<number, number>();
const letterRe = /\p{L}/u;
const numberRe = /\p{N}/u;

function classifyCodePoint(cp: number): number {
  if (
    (cp >= 9 && cp <= 13) || cp === 32 || cp === 0x85 || cp === 0xa0 || cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f ||
    cp === 0x205f || cp === 0x3000
  ) return SPACE;
  // Lone surrogates stand for U+FFFD (a symbol), which is OTHER too.
  if (cp >= 0xd800 && cp <= 0xdfff) return OTHER;
  const ch = String.fromCodePoint(cp);
  if (letterRe.test(ch)) return LETTER;
  if (numberRe.test(ch)) return NUMBER;
  return OTHER;
}

for (let c = 0; c < 128; c++) bmpClass[c] = classifyCodePoint(c);

/** Class of the code point at `i` (LETTER, NUMBER, SPACE, OTHER); `i` must be < text.length. */
function classAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const low = text.charCodeAt(i + 1);
    if (low >= 0xdc00 && low <= 0xdfff) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      let k = astralClass.get(cp);
      if (k === undefined) astralClass.set(cp, k = classifyCodePoint(cp));
      return k;
    }
  }
  const k = bmpClass[c];
  return k !== 0 ? k : (bmpClass[c] = classifyCodePoint(c));
}

/** Code units of the code point at `i` (2 for a surrogate pair, else 1). */
function widthAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const low = text.charCodeAt(i + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return 2;
  }
  return 1;
}

/** End of the run of code points of class `k` starting at `i`. */
function runEnd(text: string, i: number, k: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      if (bmpClass[c] !== k) return i;
      i++;
    } else {
      if (classAt(text, i) !== k) return i;
      i += widthAt(text, i);
    }
  }
  return n;
}

/** Length of a contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at `i`, or 0. */
function contractionLength(text: string, i: number): number {
  const a = text.charCodeAt(i + 1);
  if (a === 115 || a === 116 || a === 109 || a === 100) return 2; // s t m d
  const b = text.charCodeAt(i + 2);
  if ((a === 114 && b === 101) || (a === 118 && b === 101) || (a === 108 && b === 108)) return 3;
  return 0;
}

/**
 * End (exclusive) of the piece that starts at `start` (< text.length). Calling it repeatedly
 * from 0 walks the same pieces `GPT2_SPLIT_REGEX` matches.
 */
export function nextPieceEnd(text: string, start: number): number {
  const n = text.length;
  const c = text.charCodeAt(start);
  if (c === 39) { // apostrophe
    const len = contractionLength(text, start);
    if (len > 0) return start + len;
  }
  const k = classAt(text, start);
  if (k !== SPACE) return runEnd(text, start + widthAt(text, start), k);
  if (c === 32 && start + 1 < n) {
    const next = classAt(text, start + 1);
    if (next !== SPACE) return runEnd(text, start + 1 + widthAt(text, start + 1), next);
  }
  // Whitespace: the whole run at the end of text, else all but its last character (which then
  // prefixes the following word), and a single character when that is all there is.
  const end = runEnd(text, start + 1, SPACE);
  if (end === n || end - start === 1) return end;
  return end - 1;
}

/** Splits `text` into GPT-2 pre-tokenizer pieces. */
export function splitPieces(text: string): string[] {
  const pieces: string[] = [];
  for (let s = 0; s < text.length;) {
    const e = nextPieceEnd(text, s);
    pieces.push(text.slice(s, e));
    s = e;
  }
  return pieces;
}

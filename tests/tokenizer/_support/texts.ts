/** Test texts for the tokenizer: the shared corpora (read in place) and generated torture text. */

import { Mulberry32 } from "../../../src/util/random.ts";

/** The shared corpora, relative to the repo root (CI clones shared/ beside the repo). */
export const CORPUS_FILES = [
  "tinyshakespeare.txt",
  "grimm_tales.txt",
  "gutenberg_mix.txt",
  "ptb_valid.txt",
].map((f) => new URL(`../../../../shared/data/${f}`, import.meta.url).pathname);

/** Text that stresses the pre-tokenizer and byte-level BPE. */
export const TORTURE_TEXT = [
  "Hello world! It's John's book; they're here, we've gone, I'm sure, you'll see, he'd go.",
  "IT'S LOUD 'S 's ''s '' 'sx 'tis 're've'm'll'd rock'n'roll",
  "emoji: 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️‍🔥 🤖🤖🤖 ✨",
  "CJK: 日本語のテキスト、中文文本，한국어 텍스트。",
  "combining: e\u0301 a\u0308\u0304 Z\u0351\u0362\u0327a\u0337l\u0353g\u0308o",
  "lone CR\rthen CRLF\r\nthen LF\n\n\nthen tabs\t\t\tx\t",
  "spaces:" + " ".repeat(1000) + "end" + " ".repeat(37),
  "digits: " + "1234567890".repeat(300) + " ٣١٤ ²³ ４２ Ⅻ 3.14159e-10 1,000,000",
  "scripts: Ελληνικά русский עברית العربية हिन्दी ไทย ქართული 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐷",
  "spaces of all kinds: a\u00a0b\u2003c\u3000d\u0085e\u2028f\ufeffg \ufeff\ufeffh !\ufeff x\u200bz",
  'symbols: ©®™ §¶ †‡ ← → ⇒ ∀∃ ∑∫ ≤≥ «» “quotes” ‘single’ — – … @#$%^&*()_+-={}[]|\\:";<>?,./~`',
  "code: for (let i = 0; i < n; i++) { x[i] += y[i] * 2; }  // comment\n    return;\n",
  "mixed: abc123def 123abc !!!??? ...   ---   ___ a-b_c.d",
  "\u0000\u0001\u001f\u007f control chars",
].join("\n");

/** A small seeded PRNG (mulberry32) so property tests are reproducible. */
export function seededRandom(seed: number): () => number {
  const rng = new Mulberry32(seed);
  return () => rng.next();
}

const ALPHABET = [
  "a",
  "b",
  "e",
  "s",
  "t",
  "Z",
  "'",
  " ",
  " ",
  " ",
  "\n",
  "\r",
  "\t",
  "1",
  "9",
  "!",
  ".",
  "-",
  "é",
  "ß",
  "日",
  "本",
  "👍",
  "🏽",
  "\u0301",
  "\u00a0",
  "\u0085",
  "\ufeff",
  "\u3000",
  "٣",
  "𝔘",
  "\ud800",
  "\udfff",
  "\ud83d",
  "re",
  "ll",
  "ve",
  "\u2028",
  "€",
  "\u0000",
];

/** A random string of up to `maxLength` atoms (letters, spaces, emoji, lone surrogates, …). */
export function randomText(random: () => number, maxLength: number): string {
  const n = Math.floor(random() * maxLength);
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return s;
}

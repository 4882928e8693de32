/**
 * A character-level tokenizer as nanoGPT's shakespeare_char builds it: the vocabulary is the
 * sorted set of distinct characters (Unicode code points) of the corpus, id = rank in that order.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";

/** Character vocabulary with encode/decode and a Hugging Face `tokenizer.json` form. */
export class CharTokenizer {
  /** The characters, id order (sorted by code point). */
  readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(chars: readonly string[]) {
    this.chars = [...chars];
    this.ids = new Map(this.chars.map((c, i) => [c, i]));
    if (this.ids.size !== this.chars.length) throw new Error("CharTokenizer: duplicate characters");
  }

  /**
   * Builds the vocabulary of `text`: every distinct code point, sorted by code point (as Python's
   * `sorted(set(text))`).
   *
   * @example
   * ```ts
   * CharTokenizer.fromText("hello").chars; // ["e", "h", "l", "o"]
   * ```
   */
  static fromText(text: string): CharTokenizer {
    const set = new Set<string>();
    for (const ch of text) set.add(ch);
    const chars = [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer(chars);
  }

  /** Number of ids. */
  get vocabSize(): number {
    return this.chars.length;
  }

  /** Ids of `text`; a character outside the vocabulary is a UserError naming it. */
  encode(text: string): Int32Array {
    const out = new Int32Array(text.length);
    let n = 0;
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id === undefined) {
        throw new UserError(`character ${JSON.stringify(ch)} is not in the character vocabulary`);
      }
      out[n++] = id;
    }
    return out.slice(0, n);
  }

  /** Text of `ids`. */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const ch = this.chars[ids[i]];
      if (ch === undefined) throw new UserError(`token id ${ids[i]} is outside the vocabulary`);
      s += ch;
    }
    return s;
  }

  /**
   * A Hugging Face `tokenizer.json` for this vocabulary: a WordLevel model over single characters
   * (a regex pre-tokenizer isolates each code point) and a Fuse decoder that joins them back.
   */
  toTokenizerJson(): string {
    const vocab: Record<string, number> = {};
    this.chars.forEach((c, i) => vocab[c] = i);
    return JSON.stringify(
      {
        version: "1.0",
        truncation: null,
        padding: null,
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: {
          type: "Split",
          pattern: { Regex: "[\\s\\S]" },
          behavior: "Isolated",
          invert: false,
        },
        post_processor: null,
        decoder: { type: "Fuse" },
        model: { type: "WordLevel", vocab, unk_token: this.chars[0] },
      },
      null,
      2,
    ) + "\n";
  }

  /** Reads the vocabulary back from `toTokenizerJson()` output. */
  static fromTokenizerJson(json: string): CharTokenizer {
    const parsed = JSON.parse(json);
    const vocab = parsed?.model?.vocab as Record<string, number> | undefined;
    if (parsed?.model?.type !== "WordLevel" || !vocab) {
      throw new UserError("not a character tokenizer.json (expected a WordLevel model)");
    }
    const chars: string[] = [];
    for (const [c, id] of Object.entries(vocab)) chars[id] = c;
    return new CharTokenizer(chars);
  }
}

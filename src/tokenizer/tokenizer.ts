/**
 * `Tokenizer`: GPT-2 style byte-level BPE with special tokens — encode, decode, tokenizer.json
 * in and out, and `Tokenizer.load("gpt2" | path)`.
 */

import { UserError } from "../util/errors.ts";
import { BpeModel, type PairMerge } from "./bpe.ts";
import { decodeUtf8Strict, utf8EncodeInto } from "./byte_level.ts";
import { gpt2Parts } from "./gpt2.ts";
import { nextPieceEnd } from "./pre_tokenizer.ts";
import { partsFromTokenizerJson, type TokenizerJson, tokenizerToJson } from "./tokenizer_json.ts";

/** A special token such as `<|endoftext|>`: matched verbatim in text, never split by BPE. */
export interface SpecialToken {
  id: number;
  content: string;
}

/** What a `Tokenizer` is built from (see `tokenizer_json.ts` for the file form). */
export interface TokenizerParts {
  /** Bytes of each regular token, indexed by id (special tokens excluded). */
  tokens: Uint8Array[];
  /** Merge rules in rank order. */
  merges: PairMerge[];
  specials: SpecialToken[];
  /**
   * When true a piece that is itself a token is emitted directly even if the merges would not
   * build it (tiktoken's behaviour; Hugging Face's `ignore_merges`). When false the merges
   * decide, as Hugging Face does by default.
   */
  ignoreMerges: boolean;
  /** Merge list as written in tokenizer.json (pairs of ids, rank order), or how to derive it. */
  mergeList?: [number, number][] | (() => [number, number][]);
  /** Short description, e.g. `gpt2` or the file it came from. */
  name?: string;
}

/** Pieces cached per tokenizer before the cache is cleared (bounds memory on huge corpora). */
const CACHE_LIMIT = 1 << 19;

/**
 * A byte-level BPE tokenizer. Encoding splits out special tokens, pre-tokenizes with GPT-2's
 * pattern and BPE-encodes each piece (with a per-piece cache). `decode(encode(x)) === x` for
 * every well-formed string; lone surrogates are encoded as U+FFFD, so they decode to U+FFFD
 * (`x.toWellFormed()`).
 *
 * @example
 * ```ts
 * const tok = await Tokenizer.load("gpt2");
 * const ids = tok.encode("Hello world"); // Uint32Array [15496, 995]
 * tok.decode(ids); // "Hello world"
 * ```
 */
export class Tokenizer {
  readonly model: BpeModel;
  readonly specials: readonly SpecialToken[];
  readonly ignoreMerges: boolean;
  readonly name: string;
  private mergeList?: [number, number][] | (() => [number, number][]);
  private readonly specialIds = new Map<string, number>();
  private readonly specialById = new Map<number, Uint8Array>();
  private readonly specialPattern: RegExp | null;
  /** Pieces that are exactly one token (seeded from the vocabulary). */
  private readonly wholeTokens = new Map<string, number>();
  private readonly cache = new Map<string, Uint32Array>();
  private byteScratch = new Uint8Array(1024);
  private out = new Uint32Array(1024);
  private outLength = 0;

  constructor(parts: TokenizerParts) {
    this.model = new BpeModel(parts.tokens, parts.merges);
    this.specials = parts.specials.slice().sort((a, b) => a.id - b.id);
    this.ignoreMerges = parts.ignoreMerges;
    this.mergeList = parts.mergeList;
    this.name = parts.name ?? "bpe";
    const encoder = new TextEncoder();
    for (const s of this.specials) {
      this.specialIds.set(s.content, s.id);
      this.specialById.set(s.id, encoder.encode(s.content));
    }
    this.specialPattern = this.specials.length === 0 ? null : new RegExp(
      // Longest first so that a special that prefixes another does not cut it short.
      this.specials.map((s) => s.content).sort((a, b) => b.length - a.length)
        .map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
      "g",
    );
    this.seedWholeTokens();
  }

  /** Ids in use: regular tokens and special tokens (max id + 1). */
  get vocabSize(): number {
    let size = this.model.size;
    for (const s of this.specials) size = Math.max(size, s.id + 1);
    return size;
  }

  /** Id of `<|endoftext|>` (or the first special token), or null when there is none. */
  get eotId(): number | null {
    return this.specialIds.get("<|endoftext|>") ?? this.specials[0]?.id ?? null;
  }

  /** Id of a special token by its text, or undefined. */
  specialId(content: string): number | undefined {
    return this.specialIds.get(content);
  }

  /** The merge list as id pairs in rank order (for tokenizer.json). */
  merges(): [number, number][] {
    if (typeof this.mergeList === "function") this.mergeList = this.mergeList();
    if (this.mergeList) return this.mergeList;
    throw new Error(`tokenizer ${this.name} does not carry its merge list`);
  }

  /** Encodes text; special tokens written in the text become their ids. */
  encode(text: string): Uint32Array {
    this.outLength = 0;
    if (this.specialPattern === null) {
      this.encodeOrdinaryInto(text);
    } else {
      let last = 0;
      this.specialPattern.lastIndex = 0;
      for (let m; (m = this.specialPattern.exec(text)) !== null;) {
        if (m.index > last) this.encodeOrdinaryInto(text.slice(last, m.index));
        this.push(this.specialIds.get(m[0])!);
        last = m.index + m[0].length;
      }
      if (last < text.length) this.encodeOrdinaryInto(last === 0 ? text : text.slice(last));
    }
    return this.out.slice(0, this.outLength);
  }

  /** Encodes text treating special-token strings as ordinary text. */
  encodeOrdinary(text: string): Uint32Array {
    this.outLength = 0;
    this.encodeOrdinaryInto(text);
    return this.out.slice(0, this.outLength);
  }

  /** Decodes ids to bytes (UTF-8 of the text). Unknown ids are a RangeError. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const model = this.model;
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.byteLengthOf(ids[i]);
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < model.size && model.tokenStart[id + 1] > model.tokenStart[id]) {
        out.set(model.tokenBytes.subarray(model.tokenStart[id], model.tokenStart[id + 1]), at);
        at += model.tokenStart[id + 1] - model.tokenStart[id];
      } else {
        const special = this.specialById.get(id)!;
        out.set(special, at);
        at += special.length;
      }
    }
    return out;
  }

  /**
   * Decodes ids to text. Byte sequences that are not valid UTF-8 (a prefix of a multi-byte
   * character) become U+FFFD, as `TextDecoder` does.
   */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(this.decodeBytes(ids));
  }

  /** The token text of one id, as bytes. */
  tokenBytes(id: number): Uint8Array {
    this.byteLengthOf(id);
    return this.specialById.get(id) ?? this.model.bytesOf(id);
  }

  private byteLengthOf(id: number): number {
    const model = this.model;
    if (id >= 0 && id < model.size) {
      const len = model.tokenStart[id + 1] - model.tokenStart[id];
      if (len > 0) return len;
    }
    const special = this.specialById.get(id);
    if (special === undefined) {
      throw new RangeError(`token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    }
    return special.length;
  }

  private push(id: number): void {
    if (this.outLength === this.out.length) {
      const grown = new Uint32Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.outLength++] = id;
  }

  private encodeOrdinaryInto(text: string): void {
    const n = text.length;
    for (let s = 0; s < n;) {
      const e = nextPieceEnd(text, s);
      const piece = text.slice(s, e);
      s = e;
      const whole = this.wholeTokens.get(piece);
      if (whole !== undefined) {
        this.push(whole);
        continue;
      }
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.encodePiece(piece);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      if (this.outLength + ids.length > this.out.length) {
        const grown = new Uint32Array((this.outLength + ids.length) * 2);
        grown.set(this.out.subarray(0, this.outLength));
        this.out = grown;
      }
      this.out.set(ids, this.outLength);
      this.outLength += ids.length;
    }
  }

  /** BPE-encodes one piece (no cache). */
  encodePiece(piece: string): Uint32Array {
    if (this.byteScratch.length < piece.length * 3) {
      this.byteScratch = new Uint8Array(piece.length * 3);
    }
    const n = utf8EncodeInto(piece, 0, piece.length, this.byteScratch);
    return Uint32Array.from(this.model.encodeBytes(this.byteScratch, n));
  }

  /**
   * Seeds the whole-piece fast path: every token whose bytes are valid UTF-8 and that BPE
   * builds from its own bytes (or any token, under ignoreMerges).
   */
  private seedWholeTokens(): void {
    const model = this.model;
    for (let id = 0; id < model.size; id++) {
      const bytes = model.bytesOf(id);
      if (bytes.length === 0) continue;
      const text = decodeUtf8Strict(bytes);
      if (text === null || this.wholeTokens.has(text)) continue;
      // Only pieces the pre-tokenizer can produce are ever looked up.
      if (nextPieceEnd(text, 0) !== text.length) continue;
      if (!this.ignoreMerges) {
        const ids = model.encodeBytes(bytes, bytes.length);
        if (ids.length !== 1 || ids[0] !== id) continue;
      }
      this.wholeTokens.set(text, id);
    }
  }

  /** The Hugging Face `tokenizer.json` object of this tokenizer. */
  toJSON(): TokenizerJson {
    return tokenizerToJson(this);
  }

  /** Builds a tokenizer from a parsed Hugging Face `tokenizer.json` object. */
  static fromJSON(json: unknown, name = "tokenizer.json"): Tokenizer {
    return new Tokenizer(partsFromTokenizerJson(json, name));
  }

  /**
   * Loads `gpt2` (offline, from the ranks the js-tiktoken package ships) or a Hugging Face
   * tokenizer.json path. A missing or malformed file is a UserError.
   */
  static async load(nameOrPath: string): Promise<Tokenizer> {
    if (nameOrPath === "gpt2") return new Tokenizer(gpt2Parts());
    let text: string;
    try {
      text = await Deno.readTextFile(nameOrPath);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.IsADirectory) {
        throw new UserError(`tokenizer not found: ${nameOrPath} (give "gpt2" or a tokenizer.json)`);
      }
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new UserError(`${nameOrPath}: not valid JSON (${(err as Error).message})`);
    }
    return Tokenizer.fromJSON(json, nameOrPath);
  }
}

/** Throws a UserError unless `size` leaves room for the 256 bytes and `specials`. */
export function checkVocabSize(size: number, specials: readonly string[]): void {
  const min = 256 + specials.length;
  if (!Number.isInteger(size) || size < min) {
    throw new UserError(
      `vocab size ${size} is too small: byte-level BPE needs at least 256 + ${specials.length} ` +
        `special token(s) = ${min}`,
    );
  }
}

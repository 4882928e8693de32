/**
 * Hugging Face `tokenizer.json` for byte-level BPE: read it into tokenizer parts and write a
 * tokenizer back in the same shape Hugging Face's libraries write (and load).
 */

import { UserError } from "../util/errors.ts";
import type { PairMerge } from "./bpe.ts";
import { bytesToVisible, visibleToBytes } from "./byte_level.ts";
import type { SpecialToken, Tokenizer, TokenizerParts } from "./tokenizer.ts";

/** One entry of `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The parts of `tokenizer.json` kiln reads and writes. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown>;
  model: {
    type: "BPE";
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: [string, string][];
  };
}

const BYTE_LEVEL = {
  type: "ByteLevel",
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: true,
};

/** The tokenizer.json object for `tok` (vocab holds regular and special tokens). */
export function tokenizerToJson(tok: Tokenizer): TokenizerJson {
  const model = tok.model;
  const vocab: Record<string, number> = {};
  const visible: string[] = [];
  for (let id = 0; id < model.size; id++) {
    const bytes = model.bytesOf(id);
    if (bytes.length === 0) continue;
    visible[id] = bytesToVisible(bytes);
    vocab[visible[id]] = id;
  }
  for (const s of tok.specials) vocab[s.content] = s.id;
  const merges = tok.merges().map(([a, b]) => [visible[a], visible[b]] as [string, string]);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: tok.specials.map((s) => ({
      id: s.id,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { ...BYTE_LEVEL },
    post_processor: {
      type: "ByteLevel",
      add_prefix_space: true,
      trim_offsets: false,
      use_regex: true,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: tok.ignoreMerges,
      vocab,
      merges,
    },
  };
}

function fail(name: string, what: string): never {
  throw new UserError(`${name}: ${what}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** True when a pre-tokenizer config is GPT-2's byte-level split (directly or in a Sequence). */
function isGpt2ByteLevel(pre: unknown): boolean {
  if (!isRecord(pre)) return false;
  if (pre.type === "ByteLevel") return pre.add_prefix_space !== true && pre.use_regex !== false;
  return false;
}

/**
 * Reads a parsed tokenizer.json into tokenizer parts. Only byte-level BPE with GPT-2's
 * pre-tokenizer is supported; anything else is a UserError naming what was found.
 */
export function partsFromTokenizerJson(json: unknown, name = "tokenizer.json"): TokenizerParts {
  if (!isRecord(json) || !isRecord(json.model)) fail(name, "not a tokenizer.json (no model)");
  const model = json.model;
  if (model.type !== "BPE") fail(name, `model type ${String(model.type)} is not supported (BPE)`);
  if (json.normalizer != null) fail(name, "normalizers are not supported (expected null)");
  if (!isGpt2ByteLevel(json.pre_tokenizer)) {
    fail(name, "only the ByteLevel pre-tokenizer without prefix space is supported");
  }
  if (!isRecord(model.vocab) || !Array.isArray(model.merges)) {
    fail(name, "model.vocab must be an object and model.merges an array");
  }
  const specials: SpecialToken[] = [];
  const specialIds = new Set<number>();
  for (const t of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    if (!isRecord(t) || typeof t.id !== "number" || typeof t.content !== "string") {
      fail(name, "malformed added_tokens entry");
    }
    specials.push({ id: t.id, content: t.content });
    specialIds.add(t.id);
  }
  const tokens: Uint8Array[] = [];
  const ids = new Map<string, number>();
  for (const [visible, id] of Object.entries(model.vocab)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      fail(name, `vocab entry ${JSON.stringify(visible)} has a bad id`);
    }
    if (specialIds.has(id)) continue;
    const bytes = visibleToBytes(visible);
    if (bytes === null) fail(name, `vocab entry ${JSON.stringify(visible)} is not byte-level`);
    tokens[id] = bytes;
    ids.set(visible, id);
  }
  for (let id = 0; id < tokens.length; id++) tokens[id] ??= new Uint8Array(0);
  const merges: PairMerge[] = [];
  const mergeList: [number, number][] = [];
  (model.merges as unknown[]).forEach((m, rank) => {
    const pair = typeof m === "string" ? m.split(" ") : m;
    if (!Array.isArray(pair) || pair.length !== 2) fail(name, `merge ${rank} is malformed`);
    const [a, b] = pair as [string, string];
    const left = ids.get(a);
    const right = ids.get(b);
    const result = ids.get(a + b);
    if (left === undefined || right === undefined || result === undefined) {
      fail(name, `merge ${rank} (${a} ${b}) uses a token missing from the vocab`);
    }
    merges.push({ left, right, result, rank });
    mergeList.push([left, right]);
  });
  return {
    tokens,
    merges,
    specials,
    ignoreMerges: model.ignore_merges === true,
    mergeList,
    name,
  };
}

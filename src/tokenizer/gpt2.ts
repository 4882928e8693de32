/**
 * GPT-2's tokenizer, offline: the ranks come from the `js-tiktoken` package (statically imported
 * so that a `deno compile` binary carries them). In tiktoken's form, ids are ranks and any two
 * adjacent parts whose bytes join into a token may merge, the lower rank first.
 */

import { gpt2Ranks } from "../deps_assets.ts";
import { BpeModel, type PairMerge } from "./bpe.ts";
import type { TokenizerParts } from "./tokenizer.ts";

/** GPT-2's vocabulary size including `<|endoftext|>` (50,257). */
export const GPT2_VOCAB_SIZE = 50257;

/**
 * Token byte strings by id (one char per byte, Latin-1), parsed from js-tiktoken's compact rank
 * file: lines of "prefix offset b64 b64 …" where the i-th token's rank is offset + i.
 */
function gpt2TokenKeys(): string[] {
  const keys: string[] = [];
  for (const line of gpt2Ranks.bpe_ranks.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const offset = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++) keys[offset + i - 2] = atob(fields[i]);
  }
  return keys;
}

function keyToBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/**
 * Every pair of tokens whose bytes join into a token merges into it with that token's rank —
 * exactly tiktoken's rule (the pair table is a superset of the 50,000 trained merges). A byte
 * trie over the vocabulary finds, for each token, the splits whose both halves are tokens.
 */
function gpt2Merges(tokens: Uint8Array[]): PairMerge[] {
  const trie = new ByteTrie(tokens);
  const merges: PairMerge[] = [];
  for (let id = 0; id < tokens.length; id++) {
    const t = tokens[id];
    let node = 0;
    for (let k = 1; k < t.length; k++) {
      node = trie.child(node, t[k - 1]);
      const left = trie.tokenAt(node);
      if (left < 0) continue;
      const right = trie.lookup(t, k);
      if (right >= 0) merges.push({ left, right, result: id, rank: id });
    }
  }
  return merges;
}

/** A trie of byte strings with transitions in one open-addressing typed-array table. */
class ByteTrie {
  private readonly keys: Int32Array;
  private readonly children: Int32Array;
  private readonly tokens: Int32Array;
  private readonly mask: number;

  constructor(words: Uint8Array[]) {
    let total = 0;
    for (const w of words) total += w.length;
    let capacity = 1024;
    while (capacity < total * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.keys = new Int32Array(capacity).fill(-1);
    this.children = new Int32Array(capacity);
    this.tokens = new Int32Array(total + 1).fill(-1);
    let nodes = 1;
    words.forEach((w, id) => {
      let node = 0;
      for (const b of w) {
        const slot = this.slot(node, b);
        if (this.keys[slot] < 0) {
          this.keys[slot] = node * 256 + b;
          this.children[slot] = nodes++;
        }
        node = this.children[slot];
      }
      this.tokens[node] = id;
    });
  }

  private slot(node: number, byte: number): number {
    const key = node * 256 + byte;
    let slot = Math.imul(key, 0x9e3779b1) >>> 0;
    slot = (slot ^ (slot >>> 16)) & this.mask;
    while (this.keys[slot] !== -1 && this.keys[slot] !== key) slot = (slot + 1) & this.mask;
    return slot;
  }

  /** Child of `node` along `byte`, or -1. */
  child(node: number, byte: number): number {
    if (node < 0) return -1;
    const slot = this.slot(node, byte);
    return this.keys[slot] < 0 ? -1 : this.children[slot];
  }

  /** Token id ending at `node`, or -1. */
  tokenAt(node: number): number {
    return node < 0 ? -1 : this.tokens[node];
  }

  /** Token id of `bytes[start..]`, or -1. */
  lookup(bytes: Uint8Array, start: number): number {
    let node = 0;
    for (let i = start; i < bytes.length && node >= 0; i++) node = this.child(node, bytes[i]);
    return this.tokenAt(node);
  }
}

/**
 * The trained merge list (rank order) recovered from ranks: BPE on a token's own bytes using
 * only lower ranks stops at the two parts its merge joined.
 */
function recoverMergeList(tokens: Uint8Array[], model: BpeModel): [number, number][] {
  const list: [number, number][] = [];
  const ids = new Int32Array(256);
  for (let id = 0; id < tokens.length; id++) {
    const t = tokens[id];
    if (t.length < 2) continue;
    for (let i = 0; i < t.length; i++) ids[i] = model.byteToId[t[i]];
    if (model.mergeByScan(ids, t.length, id) === 2) list.push([ids[0], ids[1]]);
  }
  return list;
}

let cached: TokenizerParts | null = null;

/** GPT-2's tokenizer parts: 50,256 byte-level tokens plus `<|endoftext|>` = 50256. */
export function gpt2Parts(): TokenizerParts {
  if (cached) return cached;
  const keys = gpt2TokenKeys();
  const tokens = keys.map(keyToBytes);
  const specials = Object.entries(gpt2Ranks.special_tokens as Record<string, number>)
    .map(([content, id]) => ({ id, content }));
  cached = {
    tokens,
    merges: gpt2Merges(tokens),
    specials,
    ignoreMerges: true,
    mergeList: () => recoverMergeList(tokens, new BpeModel(tokens, cached!.merges)),
    name: "gpt2",
  };
  return cached;
}

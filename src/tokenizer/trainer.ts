/**
 * Byte-level BPE training, the scalable way (Hugging Face tokenizers, rustbpe): pre-tokenize and
 * count unique words once; count adjacent pairs weighted by word frequency; pop the most frequent
 * pair from a max-heap with lazy invalidation (ties: lower pair ids first); apply each merge only
 * to the words that contain the pair, updating pair counts by deltas. All hot state lives in
 * typed arrays. The merges equal Hugging Face's trainer on the same words.
 */

import { UserError } from "../util/errors.ts";
import { BYTES_IN_ALPHABET_ORDER, utf8EncodeInto } from "./byte_level.ts";
import type { PairMerge } from "./bpe.ts";
import { nextPieceEnd } from "./pre_tokenizer.ts";
import { checkVocabSize, Tokenizer, type TokenizerParts } from "./tokenizer.ts";

/** Options of `trainTokenizer`. */
export interface TrainTokenizerOptions {
  /** Final vocabulary size, special tokens included. */
  vocabSize: number;
  /** Stop merging when the best pair occurs fewer times than this (default 0: never stop early). */
  minFrequency?: number;
  /** Special tokens, given the last ids (default `["<|endoftext|>"]`). */
  specialTokens?: string[];
  /** Called now and then with (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
  /** Name recorded in the tokenizer (e.g. the dataset). */
  name?: string;
}

/** Counts GPT-2 pre-tokenizer pieces ("words") of the texts it is given. */
export class WordCounter {
  readonly counts = new Map<string, number>();
  /** Bytes of text seen (UTF-16 code units; used for progress only). */
  units = 0;

  /** Adds the pieces of `text`. */
  add(text: string): void {
    const counts = this.counts;
    const n = text.length;
    for (let s = 0; s < n;) {
      const e = nextPieceEnd(text, s);
      const piece = text.slice(s, e);
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
      s = e;
    }
    this.units += n;
  }

  /** Adds counts gathered elsewhere (e.g. by a worker). */
  merge(counts: Map<string, number> | Iterable<[string, number]>): void {
    for (const [piece, c] of counts) this.counts.set(piece, (this.counts.get(piece) ?? 0) + c);
  }
}

/** Growable typed-array storage of pairs: ids, counts, and the words each pair occurs in. */
class PairStore {
  size = 0;
  left = new Int32Array(1 << 16);
  right = new Int32Array(1 << 16);
  count = new Float64Array(1 << 16);
  /** Word list of pair p: words[p] (a JS array of word indices; may hold stale entries). */
  words: number[][] = [];
  lastWord = new Int32Array(1 << 16);
  private slots = new Int32Array(1 << 17).fill(-1);
  private mask = (1 << 17) - 1;

  private hash(a: number, b: number): number {
    const h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** Index of pair (a, b), created with count 0 when new. */
  indexOf(a: number, b: number): number {
    let slot = this.hash(a, b);
    while (true) {
      const p = this.slots[slot];
      if (p < 0) break;
      if (this.left[p] === a && this.right[p] === b) return p;
      slot = (slot + 1) & this.mask;
    }
    const p = this.size++;
    if (p === this.left.length) this.grow();
    this.left[p] = a;
    this.right[p] = b;
    this.count[p] = 0;
    this.lastWord[p] = -1;
    this.words.push([]);
    if (this.size * 2 > this.slots.length) this.rehash();
    else this.slots[slot] = p;
    return p;
  }

  private grow(): void {
    const n = this.left.length * 2;
    const grow32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.left = grow32(this.left);
    this.right = grow32(this.right);
    this.lastWord = grow32(this.lastWord);
    const c = new Float64Array(n);
    c.set(this.count);
    this.count = c;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    this.mask = this.slots.length - 1;
    for (let p = 0; p < this.size; p++) {
      let slot = this.hash(this.left[p], this.right[p]);
      while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = p;
    }
  }
}

/**
 * Max-heap of (count snapshot, pair). Order: higher count first, then lower (left, right) ids —
 * Hugging Face's order, so equal counts merge the same way.
 */
class PairHeap {
  size = 0;
  private pairs = new Int32Array(1 << 16);
  private counts = new Float64Array(1 << 16);
  constructor(private readonly store: PairStore) {}

  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    if (ci !== cj) return ci > cj;
    const s = this.store;
    const pi = this.pairs[i];
    const pj = this.pairs[j];
    const li = s.left[pi];
    const lj = s.left[pj];
    return li !== lj ? li < lj : s.right[pi] < s.right[pj];
  }

  private swap(i: number, j: number): void {
    const p = this.pairs[i];
    this.pairs[i] = this.pairs[j];
    this.pairs[j] = p;
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
  }

  push(pair: number, count: number): void {
    if (this.size === this.pairs.length) {
      const pairs = new Int32Array(this.size * 2);
      pairs.set(this.pairs);
      const counts = new Float64Array(this.size * 2);
      counts.set(this.counts);
      this.pairs = pairs;
      this.counts = counts;
    }
    let i = this.size++;
    this.pairs[i] = pair;
    this.counts[i] = count;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  topCount(): number {
    return this.counts[0];
  }

  /** Removes the top and returns its pair. */
  pop(): number {
    const top = this.pairs[0];
    const last = --this.size;
    if (last > 0) {
      this.pairs[0] = this.pairs[last];
      this.counts[0] = this.counts[last];
      let i = 0;
      while (true) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < last && this.above(l, m)) m = l;
        if (r < last && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Unique words as id sequences in one typed array (each word shrinks in place as it merges). */
interface WordTable {
  symbols: Int32Array;
  start: Int32Array;
  length: Int32Array;
  count: Float64Array;
}

function buildWordTable(counts: Map<string, number>, byteToId: Int32Array): WordTable {
  let totalUnits = 0;
  for (const w of counts.keys()) totalUnits += w.length;
  const symbols = new Int32Array(totalUnits * 3);
  const n = counts.size;
  const start = new Int32Array(n);
  const length = new Int32Array(n);
  const count = new Float64Array(n);
  const scratch = new Uint8Array(1024);
  let at = 0;
  let w = 0;
  for (const [word, c] of counts) {
    const bytes = word.length * 3 <= scratch.length ? scratch : new Uint8Array(word.length * 3);
    const len = utf8EncodeInto(word, 0, word.length, bytes);
    start[w] = at;
    length[w] = len;
    count[w] = c;
    for (let i = 0; i < len; i++) symbols[at + i] = byteToId[bytes[i]];
    at += len;
    w++;
  }
  return { symbols, start, length, count };
}

/**
 * Learns merges from word counts. Ids 0–255 are the bytes in GPT-2's alphabet order, then one
 * id per new token in merge order, then the special tokens.
 */
export function trainBpeFromCounts(
  wordCounts: Map<string, number>,
  opts: TrainTokenizerOptions,
): TokenizerParts {
  const specials = opts.specialTokens ?? ["<|endoftext|>"];
  checkVocabSize(opts.vocabSize, specials);
  if (wordCounts.size === 0) throw new UserError("the corpus is empty: no text to train on");
  const minFrequency = opts.minFrequency ?? 0;
  const byteToId = new Int32Array(256);
  const tokens: Uint8Array[] = [];
  const idByKey = new Map<string, number>();
  BYTES_IN_ALPHABET_ORDER.forEach((b, id) => {
    byteToId[b] = id;
    tokens.push(Uint8Array.of(b));
    idByKey.set(String.fromCharCode(b), id);
  });
  const keys = tokens.map((t) => String.fromCharCode(t[0]));
  const words = buildWordTable(wordCounts, byteToId);
  const { symbols, start, length, count } = words;
  const pairs = new PairStore();

  for (let w = 0; w < count.length; w++) {
    const s = start[w];
    const end = s + length[w];
    for (let i = s; i + 1 < end; i++) {
      const p = pairs.indexOf(symbols[i], symbols[i + 1]);
      pairs.count[p] += count[w];
      if (pairs.lastWord[p] !== w) {
        pairs.lastWord[p] = w;
        pairs.words[p].push(w);
      }
    }
  }
  const heap = new PairHeap(pairs);
  for (let p = 0; p < pairs.size; p++) if (pairs.count[p] > 0) heap.push(p, pairs.count[p]);

  const wanted = opts.vocabSize - specials.length;
  const merges: PairMerge[] = [];
  const mergeList: [number, number][] = [];
  // Pairs whose count grew during the current merge: they go (back) on the heap afterwards.
  let touched = new Int32Array(1024);
  let nTouched = 0;
  let stamp = new Int32Array(pairs.left.length);
  let mergeStamp = 0;
  const gain = (q: number, w: number, wc: number) => {
    pairs.count[q] += wc;
    if (pairs.lastWord[q] !== w) {
      pairs.lastWord[q] = w;
      pairs.words[q].push(w);
    }
    if (q >= stamp.length) stamp = growInt32(stamp, pairs.left.length);
    if (stamp[q] !== mergeStamp) {
      stamp[q] = mergeStamp;
      if (nTouched === touched.length) touched = growInt32(touched, nTouched * 2);
      touched[nTouched++] = q;
    }
  };
  while (tokens.length < wanted && heap.size > 0) {
    const snapshot = heap.topCount();
    const p = heap.pop();
    const current = pairs.count[p];
    if (snapshot !== current) {
      if (current > 0) heap.push(p, current);
      continue;
    }
    if (current < minFrequency) break;
    const a = pairs.left[p];
    const b = pairs.right[p];
    const key = keys[a] + keys[b];
    let merged = idByKey.get(key);
    if (merged === undefined) {
      merged = tokens.length;
      const bytes = new Uint8Array(tokens[a].length + tokens[b].length);
      bytes.set(tokens[a]);
      bytes.set(tokens[b], tokens[a].length);
      tokens.push(bytes);
      keys.push(key);
      idByKey.set(key, merged);
    }
    merges.push({ left: a, right: b, result: merged, rank: merges.length });
    mergeList.push([a, b]);

    // Apply the merge in every word that (still) holds the pair, tracking new pairs.
    nTouched = 0;
    mergeStamp = merges.length;
    const wordList = pairs.words[p];
    pairs.words[p] = [];
    for (let k = 0; k < wordList.length; k++) {
      const w = wordList[k];
      const s = start[w];
      let len = length[w];
      const wc = count[w];
      for (let i = s; i < s + len - 1; i++) {
        if (symbols[i] !== a || symbols[i + 1] !== b) continue;
        if (i > s) {
          const prev = symbols[i - 1];
          pairs.count[pairs.indexOf(prev, a)] -= wc;
          gain(pairs.indexOf(prev, merged), w, wc);
        }
        symbols[i] = merged;
        for (let j = i + 1; j < s + len - 1; j++) symbols[j] = symbols[j + 1];
        len--;
        if (i + 1 < s + len) {
          const next = symbols[i + 1];
          pairs.count[pairs.indexOf(b, next)] -= wc;
          gain(pairs.indexOf(merged, next), w, wc);
        }
      }
      length[w] = len;
    }
    for (let t = 0; t < nTouched; t++) {
      const q = touched[t];
      if (pairs.count[q] > 0) heap.push(q, pairs.count[q]);
    }
    if ((merges.length & 255) === 0) opts.onProgress?.(merges.length, wanted - 256);
  }
  opts.onProgress?.(merges.length, wanted - 256);

  const firstSpecial = tokens.length;
  return {
    tokens,
    merges,
    specials: specials.map((content, i) => ({ id: firstSpecial + i, content })),
    ignoreMerges: false,
    mergeList,
    name: opts.name ?? "trained",
  };
}

function growInt32(a: Int32Array, atLeast: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(atLeast, a.length * 2));
  b.set(a);
  return b;
}

/**
 * Trains a byte-level BPE tokenizer on documents (GPT-2 pre-tokenizer, special tokens at the
 * end, deterministic). An empty corpus or a vocab size below 256 + specials is a UserError.
 *
 * @example
 * ```ts
 * const tok = await trainTokenizer(["some text", "more text"], { vocabSize: 300 });
 * await Deno.writeTextFile("tok.json", JSON.stringify(tok.toJSON()));
 * ```
 */
export async function trainTokenizer(
  documents: Iterable<string> | AsyncIterable<string>,
  opts: TrainTokenizerOptions,
): Promise<Tokenizer> {
  checkVocabSize(opts.vocabSize, opts.specialTokens ?? ["<|endoftext|>"]);
  const counter = new WordCounter();
  for await (const doc of documents) counter.add(doc);
  return new Tokenizer(trainBpeFromCounts(counter.counts, opts));
}

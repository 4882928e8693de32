/**
 * The byte-level BPE model: token bytes, the byte → id table and the mergeable-pair table, and
 * the merge loop that turns one piece's bytes into ids (lowest-rank adjacent pair first, the
 * leftmost on ties — what tiktoken and Hugging Face tokenizers both do).
 */

const EMPTY = -1;
const NO_RANK = 0x7fffffff;
/** Pieces longer than this (in bytes) use the heap merge, O(n log n) instead of O(n²). */
const HEAP_THRESHOLD = 64;

/** One mergeable pair: `left` + `right` → `result`, applied in `rank` order (lower first). */
export interface PairMerge {
  left: number;
  right: number;
  result: number;
  rank: number;
}

/** Open-addressing hash table from an id pair to (rank, result), all in typed arrays. */
class PairTable {
  private readonly mask: number;
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly ranks: Int32Array;
  private readonly results: Int32Array;

  constructor(merges: readonly PairMerge[]) {
    let capacity = 16;
    while (capacity < merges.length * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity).fill(EMPTY);
    this.rights = new Int32Array(capacity);
    this.ranks = new Int32Array(capacity);
    this.results = new Int32Array(capacity);
    for (const m of merges) {
      let slot = this.slotOf(m.left, m.right);
      // First writer wins: a repeated pair keeps its lowest rank.
      if (this.lefts[slot] !== EMPTY && this.ranks[slot] <= m.rank) continue;
      slot = this.slotOf(m.left, m.right);
      this.lefts[slot] = m.left;
      this.rights[slot] = m.right;
      this.ranks[slot] = m.rank;
      this.results[slot] = m.result;
    }
  }

  /** Slot holding (left, right), or the empty slot where it would go. */
  slotOf(left: number, right: number): number {
    let slot = (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca77)) >>> 0;
    slot = (slot ^ (slot >>> 15)) & this.mask;
    while (true) {
      const l = this.lefts[slot];
      if (l === EMPTY || (l === left && this.rights[slot] === right)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Rank of merging (left, right), or NO_RANK. */
  rank(left: number, right: number): number {
    const slot = this.slotOf(left, right);
    return this.lefts[slot] === EMPTY ? NO_RANK : this.ranks[slot];
  }

  /** Id that (left, right) merges into; only valid when `rank` found the pair. */
  result(left: number, right: number): number {
    return this.results[this.slotOf(left, right)];
  }
}

/**
 * A byte-level BPE vocabulary with its merge rules. Ids need not follow byte order: GPT-2's
 * first 256 ids are the bytes in printable-character order.
 */
export class BpeModel {
  /** Number of ids the model's tokens use (max id + 1), special tokens excluded. */
  readonly size: number;
  /** `byteToId[b]` is the id of the single byte `b`. */
  readonly byteToId: Int32Array;
  /** Bytes of token `id` are `tokenBytes[tokenStart[id] .. tokenStart[id + 1])`. */
  readonly tokenBytes: Uint8Array;
  readonly tokenStart: Uint32Array;
  private readonly pairs: PairTable;
  // Scratch buffers reused across calls (the model is used by one thread at a time).
  private ids = new Int32Array(256);
  private pairRanks = new Int32Array(256);

  constructor(tokens: readonly Uint8Array[], merges: readonly PairMerge[]) {
    this.size = tokens.length;
    this.byteToId = new Int32Array(256).fill(EMPTY);
    let total = 0;
    for (const t of tokens) total += t?.length ?? 0;
    this.tokenBytes = new Uint8Array(total);
    this.tokenStart = new Uint32Array(tokens.length + 1);
    let offset = 0;
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id] ?? new Uint8Array(0);
      this.tokenStart[id] = offset;
      this.tokenBytes.set(t, offset);
      offset += t.length;
      if (t.length === 1 && this.byteToId[t[0]] === EMPTY) this.byteToId[t[0]] = id;
    }
    this.tokenStart[tokens.length] = offset;
    for (let b = 0; b < 256; b++) {
      if (this.byteToId[b] === EMPTY) {
        throw new Error(`byte-level BPE vocabulary has no token for byte ${b}`);
      }
    }
    this.pairs = new PairTable(merges);
  }

  /** Bytes of token `id` (a view, do not modify). */
  bytesOf(id: number): Uint8Array {
    return this.tokenBytes.subarray(this.tokenStart[id], this.tokenStart[id + 1]);
  }

  /** Rank of merging the pair (left, right), or null when it is not a merge. */
  pairRank(left: number, right: number): number | null {
    const r = this.pairs.rank(left, right);
    return r === NO_RANK ? null : r;
  }

  /**
   * BPE-encodes `bytes[0, n)` (one pre-tokenized piece) and returns the ids; the returned
   * array is a scratch view valid until the next call.
   */
  encodeBytes(bytes: Uint8Array, n: number): Int32Array {
    if (n > this.ids.length) {
      this.ids = new Int32Array(n * 2);
      this.pairRanks = new Int32Array(n * 2);
    }
    const ids = this.ids;
    for (let i = 0; i < n; i++) ids[i] = this.byteToId[bytes[i]];
    const len = n > HEAP_THRESHOLD ? this.mergeWithHeap(ids, n) : this.mergeByScan(ids, n);
    return ids.subarray(0, len);
  }

  /**
   * Quadratic merge loop, fastest for short pieces; returns the new length. Only merges with a
   * rank below `rankLimit` apply (used to recover which merge built a token).
   */
  mergeByScan(ids: Int32Array, n: number, rankLimit = NO_RANK): number {
    if (n > this.pairRanks.length) this.pairRanks = new Int32Array(n * 2);
    const ranks = this.pairRanks;
    const pairs = this.pairs;
    for (let i = 0; i + 1 < n; i++) ranks[i] = pairs.rank(ids[i], ids[i + 1]);
    while (n > 1) {
      let best = rankLimit;
      let at = -1;
      for (let i = 0; i + 1 < n; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (at < 0) break;
      ids[at] = pairs.result(ids[at], ids[at + 1]);
      for (let i = at + 1; i + 1 < n; i++) {
        ids[i] = ids[i + 1];
        ranks[i] = ranks[i + 1];
      }
      n--;
      if (at + 1 < n) ranks[at] = pairs.rank(ids[at], ids[at + 1]);
      if (at > 0) ranks[at - 1] = pairs.rank(ids[at - 1], ids[at]);
    }
    return n;
  }

  /**
   * The same merges with a linked list and a min-heap of (rank, position) with lazy
   * invalidation: an entry is stale when the pair now at its position has another rank.
   */
  mergeWithHeap(ids: Int32Array, n: number): number {
    const pairs = this.pairs;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap(n);
    for (let i = 0; i + 1 < n; i++) {
      const r = pairs.rank(ids[i], ids[i + 1]);
      if (r !== NO_RANK) heap.push(r, i);
    }
    const alive = new Uint8Array(n).fill(1);
    while (heap.size > 0) {
      const rank = heap.topRank();
      const at = heap.pop();
      const right = next[at];
      if (!alive[at] || right < 0 || pairs.rank(ids[at], ids[right]) !== rank) continue;
      ids[at] = pairs.result(ids[at], ids[right]);
      alive[right] = 0;
      const after = next[right];
      next[at] = after;
      if (after >= 0) prev[after] = at;
      if (after >= 0) {
        const r = pairs.rank(ids[at], ids[after]);
        if (r !== NO_RANK) heap.push(r, at);
      }
      const before = prev[at];
      if (before >= 0) {
        const r = pairs.rank(ids[before], ids[at]);
        if (r !== NO_RANK) heap.push(r, before);
      }
    }
    let len = 0;
    for (let i = 0; i >= 0; i = next[i]) ids[len++] = ids[i];
    return len;
  }
}

/** Binary min-heap of (rank, position), ordered by rank then position. */
class MinHeap {
  private ranks: Int32Array;
  private positions: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.ranks = new Int32Array(Math.max(16, capacity * 2));
    this.positions = new Int32Array(this.ranks.length);
  }

  private less(i: number, j: number): boolean {
    const a = this.ranks[i];
    const b = this.ranks[j];
    return a < b || (a === b && this.positions[i] < this.positions[j]);
  }

  private swap(i: number, j: number): void {
    const r = this.ranks[i];
    this.ranks[i] = this.ranks[j];
    this.ranks[j] = r;
    const p = this.positions[i];
    this.positions[i] = this.positions[j];
    this.positions[j] = p;
  }

  push(rank: number, position: number): void {
    if (this.size === this.ranks.length) {
      const ranks = new Int32Array(this.size * 2);
      ranks.set(this.ranks);
      const positions = new Int32Array(this.size * 2);
      positions.set(this.positions);
      this.ranks = ranks;
      this.positions = positions;
    }
    let i = this.size++;
    this.ranks[i] = rank;
    this.positions[i] = position;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  topRank(): number {
    return this.ranks[0];
  }

  /** Removes the top entry and returns its position. */
  pop(): number {
    const top = this.positions[0];
    const last = --this.size;
    if (last > 0) {
      this.ranks[0] = this.ranks[last];
      this.positions[0] = this.positions[last];
      let i = 0;
      while (true) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < last && this.less(l, m)) m = l;
        if (r < last && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * `analyzeDataset`: corpus statistics and, for candidate vocabulary sizes, how well a byte-level
 * BPE trained on the corpus compresses it (bytes per token, tokens per word, words split,
 * vocabulary used), with a recommended size. One training run at the largest size serves every
 * candidate: BPE merges are learned in order, so a smaller vocabulary is a prefix of the merges.
 */

import { openDocuments } from "../data/registry.ts";
import { UserError } from "../util/errors.ts";
import { BpeModel } from "./bpe.ts";
import { utf8EncodeInto } from "./byte_level.ts";
import { trainBpeFromCounts, WordCounter } from "./trainer.ts";

/** Options of `analyzeDataset`. */
export interface AnalyzeOptions {
  /** Use only the first N documents (default 10,000). */
  subset?: number;
  /** Candidate vocabulary sizes (default 1024 … 32768, doubling). */
  vocabSizes?: number[];
  /** Split to read (default train). */
  split?: string;
}

/** Compression of one candidate vocabulary size. */
export interface VocabReport {
  vocabSize: number;
  /** UTF-8 bytes per token (higher compresses better). */
  bytesPerToken: number;
  /** Tokens per word (fertility). */
  tokensPerWord: number;
  /** Share of word occurrences split into two or more tokens. */
  wordsSplit: number;
  /** Share of the vocabulary that occurs in the corpus. */
  vocabUsed: number;
  /** Slope of log frequency against log rank of the tokens (Zipf: about −1). */
  zipfSlope: number;
}

/** Result of `analyzeDataset`. */
export interface DatasetAnalysis {
  dataset: string;
  documents: number;
  bytes: number;
  characters: number;
  words: number;
  uniqueWords: number;
  /** Unicode scripts by share of letters, largest first. */
  scripts: { script: string; share: number }[];
  vocab: VocabReport[];
  recommended: { vocabSize: number; reason: string };
}

const SCRIPTS = [
  "Latin",
  "Greek",
  "Cyrillic",
  "Armenian",
  "Hebrew",
  "Arabic",
  "Devanagari",
  "Bengali",
  "Thai",
  "Georgian",
  "Hangul",
  "Hiragana",
  "Katakana",
  "Han",
].map((name) => ({ name, re: new RegExp(`^\\p{Script=${name}}$`, "u") }));

function scriptOf(ch: string): string {
  for (const s of SCRIPTS) if (s.re.test(ch)) return s.name;
  return "Other";
}

/** Letters per script over the unique words (weighted by count). */
function scriptShares(counts: Map<string, number>): { script: string; share: number }[] {
  const byChar = new Map<string, number>();
  for (const [word, c] of counts) {
    for (const ch of word) if (/\p{L}/u.test(ch)) byChar.set(ch, (byChar.get(ch) ?? 0) + c);
  }
  const byScript = new Map<string, number>();
  let total = 0;
  for (const [ch, c] of byChar) {
    const s = scriptOf(ch);
    byScript.set(s, (byScript.get(s) ?? 0) + c);
    total += c;
  }
  return [...byScript].map(([script, c]) => ({ script, share: c / Math.max(1, total) }))
    .sort((a, b) => b.share - a.share);
}

function isWord(piece: string): boolean {
  return /[\p{L}\p{N}]/u.test(piece);
}

/** Least-squares slope of log(frequency) on log(rank) over the most frequent tokens. */
function zipfSlope(frequencies: Float64Array): number {
  const sorted = Array.from(frequencies).filter((f) => f > 0).sort((a, b) => b - a).slice(0, 1000);
  if (sorted.length < 2) return NaN;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  sorted.forEach((f, i) => {
    const x = Math.log(i + 1);
    const y = Math.log(f);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  });
  const n = sorted.length;
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/** Encodes each unique word with the first `merges` merges and aggregates the measures. */
function measure(
  counts: Map<string, number>,
  model: BpeModel,
  vocabSize: number,
  totalBytes: number,
): VocabReport {
  const frequencies = new Float64Array(model.size);
  const scratch = new Uint8Array(4096);
  let tokens = 0, words = 0, split = 0, wordTokens = 0;
  for (const [word, c] of counts) {
    const bytes = word.length * 3 <= scratch.length ? scratch : new Uint8Array(word.length * 3);
    const n = utf8EncodeInto(word, 0, word.length, bytes);
    const ids = model.encodeBytes(bytes, n);
    tokens += ids.length * c;
    for (const id of ids) frequencies[id] += c;
    if (isWord(word)) {
      words += c;
      wordTokens += ids.length * c;
      if (ids.length > 1) split += c;
    }
  }
  let used = 0;
  for (const f of frequencies) if (f > 0) used++;
  return {
    vocabSize,
    bytesPerToken: totalBytes / Math.max(1, tokens),
    tokensPerWord: wordTokens / Math.max(1, words),
    wordsSplit: split / Math.max(1, words),
    vocabUsed: used / model.size,
    zipfSlope: zipfSlope(frequencies),
  };
}

/**
 * The smallest size after which doubling gains under 5% in bytes per token, among sizes whose
 * vocabulary the corpus actually uses (≥ 90%); else the best-compressing well-used size.
 */
function recommend(reports: VocabReport[]): { vocabSize: number; reason: string } {
  const usable = reports.filter((r) => r.vocabUsed >= 0.9);
  const pool = usable.length > 0 ? usable : [reports[0]];
  for (let i = 0; i + 1 < pool.length; i++) {
    const gain = pool[i + 1].bytesPerToken / pool[i].bytesPerToken - 1;
    if (gain < 0.05) {
      return {
        vocabSize: pool[i].vocabSize,
        reason: `going to ${pool[i + 1].vocabSize} improves bytes/token by only ` +
          `${(gain * 100).toFixed(1)}% (< 5%)`,
      };
    }
  }
  const last = pool[pool.length - 1];
  return {
    vocabSize: last.vocabSize,
    reason: usable.length === 0
      ? "even the smallest size leaves over 10% of its vocabulary unused: the corpus is small"
      : last === reports[reports.length - 1]
      ? "compression still improves by 5% or more per doubling; consider larger sizes"
      : `larger sizes leave over 10% of the vocabulary unused on this corpus`,
  };
}

/**
 * Analyzes a dataset (registry name or path) for tokenizer design.
 *
 * @example
 * ```ts
 * const a = await analyzeDataset("../shared/data/tinyshakespeare.txt", { vocabSizes: [512, 1024] });
 * a.recommended.vocabSize;
 * ```
 */
export async function analyzeDataset(
  dataset: string,
  opts: AnalyzeOptions = {},
): Promise<DatasetAnalysis> {
  const sizes = [...new Set(opts.vocabSizes ?? [1024, 2048, 4096, 8192, 16384, 32768])]
    .sort((a, b) => a - b);
  for (const s of sizes) {
    if (!Number.isInteger(s) || s <= 257) {
      throw new UserError(`vocab size ${s} is too small: byte-level BPE needs more than 257`);
    }
  }
  const counter = new WordCounter();
  let documents = 0, bytes = 0, characters = 0;
  const scratch = new Uint8Array(1 << 16);
  for await (
    const doc of openDocuments(dataset, { split: opts.split, subset: opts.subset ?? 10_000 })
  ) {
    counter.add(doc);
    documents++;
    for (let i = 0; i < doc.length; i += 1 << 14) {
      bytes += utf8EncodeInto(doc, i, Math.min(doc.length, i + (1 << 14)), scratch);
    }
    characters += doc.length - (doc.match(/[\ud800-\udbff][\udc00-\udfff]/g)?.length ?? 0);
  }
  if (documents === 0 || counter.counts.size === 0) {
    throw new UserError(`${dataset}: the corpus is empty`);
  }
  const largest = trainBpeFromCounts(counter.counts, {
    vocabSize: sizes[sizes.length - 1],
    specialTokens: [],
  });
  const vocab = sizes.map((size) => {
    const merges = largest.merges.slice(0, Math.max(0, size - 256));
    const tokens = largest.tokens.slice(0, 256 + merges.length);
    return measure(counter.counts, new BpeModel(tokens, merges), size, bytes);
  });
  let words = 0;
  for (const [w, c] of counter.counts) if (isWord(w)) words += c;
  return {
    dataset,
    documents,
    bytes,
    characters,
    words,
    uniqueWords: counter.counts.size,
    scripts: scriptShares(counter.counts).slice(0, 5),
    vocab,
    recommended: recommend(vocab),
  };
}

/** The analysis as a human-readable report (a table per vocab size). */
export function formatAnalysis(a: DatasetAnalysis): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `dataset     ${a.dataset}`,
    `documents   ${a.documents.toLocaleString("en-US")}`,
    `bytes       ${a.bytes.toLocaleString("en-US")}`,
    `characters  ${a.characters.toLocaleString("en-US")}`,
    `words       ${a.words.toLocaleString("en-US")} (${
      a.uniqueWords.toLocaleString("en-US")
    } unique pieces)`,
    `scripts     ${a.scripts.map((s) => `${s.script} ${pct(s.share)}`).join(", ")}`,
    "",
    "vocab    bytes/token  tokens/word  words split  vocab used  zipf slope",
  ];
  for (const r of a.vocab) {
    lines.push(
      `${String(r.vocabSize).padEnd(8)} ${r.bytesPerToken.toFixed(2).padStart(11)}  ` +
        `${r.tokensPerWord.toFixed(2).padStart(11)}  ${pct(r.wordsSplit).padStart(11)}  ` +
        `${pct(r.vocabUsed).padStart(10)}  ${r.zipfSlope.toFixed(2).padStart(10)}`,
    );
  }
  lines.push("", `recommended ${a.recommended.vocabSize}: ${a.recommended.reason}`);
  return lines.join("\n");
}

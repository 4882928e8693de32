/**
 * Side-by-side tokenizer benchmark on the 4.9 MB English mix (../shared/data/*.txt):
 *   1. train a 30,000-token byte-level BPE: kiln vs Hugging Face `tokenizers` (Rust, npm);
 *   2. encode with GPT-2's vocabulary (one core): kiln vs tiktoken (wasm), gpt-tokenizer,
 *      js-tiktoken;
 *   3. pretokenize the mix ×4 (19.5 MB) into shards with 1, 2 and 4 Web Workers (fixed costs —
 *      loading GPT-2 in each worker, writing tokenizer.json — included).
 * Run: deno run -A bench/tokenizer_compare.ts
 */

import { join } from "node:path";
import { encode as gptTokenizerEncode } from "gpt-tokenizer/encoding/r50k_base";
import { Tiktoken as JsTiktoken } from "js-tiktoken/lite";
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import { get_encoding } from "tiktoken";
import { BPE, byteLevelPreTokenizer, Tokenizer as HfTokenizer } from "tokenizers";
import { pretokenizeDataset } from "../src/tokenizer/pretokenize.ts";
import { Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { trainBpeFromCounts, WordCounter } from "../src/tokenizer/trainer.ts";

const FILES = ["tinyshakespeare.txt", "grimm_tales.txt", "gutenberg_mix.txt", "ptb_valid.txt"]
  .map((f) => new URL(`../../shared/data/${f}`, import.meta.url).pathname);
const texts = await Promise.all(FILES.map((f) => Deno.readTextFile(f)));
const megabytes = texts.reduce((n, t) => n + new TextEncoder().encode(t).length, 0) / 1e6;
const REPEATS = 3;

/** Best of `REPEATS` runs, in seconds. */
async function best(fn: () => unknown): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
}

console.log(`corpus: ${FILES.length} files, ${megabytes.toFixed(2)} MB; best of ${REPEATS}`);
console.log(`machine: ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}\n`);

console.log("train 30,000-token byte-level BPE");
const ours = await best(() => {
  const counter = new WordCounter();
  for (const t of texts) counter.add(t);
  trainBpeFromCounts(counter.counts, { vocabSize: 30_000, specialTokens: [] });
});
const hf = await best(() => {
  // The npm binding trains with BpeTrainer's defaults, which are 30,000 tokens.
  const tok = new HfTokenizer(BPE.empty());
  tok.setPreTokenizer(byteLevelPreTokenizer(false, true));
  tok.train(FILES);
});
console.log(`  kiln                      ${ours.toFixed(2)} s`);
console.log(
  `  HF tokenizers (Rust)      ${hf.toFixed(2)} s   kiln is ${(hf / ours).toFixed(2)}× its speed\n`,
);

console.log("encode with GPT-2's vocabulary, one thread (MB/s)");
const kiln = await Tokenizer.load("gpt2");
const tiktoken = get_encoding("gpt2");
const jsTiktoken = new JsTiktoken(gpt2Ranks);
const encoders: [string, (t: string) => unknown][] = [
  ["kiln", (t) => kiln.encodeOrdinary(t)],
  ["tiktoken (wasm)", (t) => tiktoken.encode_ordinary(t)],
  ["gpt-tokenizer", (t) => gptTokenizerEncode(t)],
  ["js-tiktoken", (t) => jsTiktoken.encode(t)],
];
const rates: number[] = [];
for (const [name, encode] of encoders) {
  const seconds = await best(() => texts.forEach((t) => encode(t)));
  rates.push(megabytes / seconds);
  const ratio = rates.length > 1 ? `   kiln ${(rates[0] / rates.at(-1)!).toFixed(2)}×` : "";
  console.log(`  ${name.padEnd(24)}  ${(megabytes / seconds).toFixed(1).padStart(5)} MB/s${ratio}`);
}

console.log("\npretokenize the mix ×4 with GPT-2 (shards, train + val)");
const dir = await Deno.makeTempDir({ prefix: "kiln-bench-" });
try {
  const corpus = join(dir, "mix.txt");
  const copies = 4;
  await Deno.writeTextFile(corpus, Array(copies).fill(texts.join("\n\n")).join("\n\n"));
  let single = 0;
  for (const workers of [1, 2, 4]) {
    let n = 0;
    const seconds = await best(() =>
      pretokenizeDataset({
        dataset: corpus,
        tokenizer: "gpt2",
        outDir: join(dir, `out-${workers}-${n++}`),
        workers,
      })
    );
    if (workers === 1) single = seconds;
    console.log(
      `  ${String(workers).padStart(2)} worker(s)  ${seconds.toFixed(2)} s  ` +
        `${(copies * megabytes / seconds).toFixed(1)} MB/s  speed-up ${
          (single / seconds).toFixed(2)
        }×`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

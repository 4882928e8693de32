import assert from "node:assert/strict";
import { join } from "node:path";
import { openDocuments } from "../../src/data/registry.ts";
import { analyzeDataset, formatAnalysis } from "../../src/tokenizer/analyze.ts";
import { trainTokenizer } from "../../src/tokenizer/trainer.ts";
import { CORPUS_FILES } from "./_support/texts.ts";

Deno.test("analyze: measures equal encoding the corpus with a tokenizer of that size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln-analyze-" });
  try {
    const corpus = join(dir, "mix.txt");
    const texts = await Promise.all(CORPUS_FILES.map((f) => Deno.readTextFile(f)));
    await Deno.writeTextFile(corpus, texts.map((t) => t.slice(0, 25_000)).join("\n\n"));
    const a = await analyzeDataset(corpus, { vocabSizes: [400, 800], subset: 100_000 });
    const docs = await Array.fromAsync(openDocuments(corpus, { subset: 100_000 }));
    assert.equal(a.documents, docs.length);
    const bytes = docs.reduce((n, d) => n + new TextEncoder().encode(d).length, 0);
    assert.equal(a.bytes, bytes);
    assert.equal(a.scripts[0].script, "Latin");
    for (const report of a.vocab) {
      // Independent path: train that size directly and encode every document.
      const tok = await trainTokenizer(docs, { vocabSize: report.vocabSize, specialTokens: [] });
      const ids = docs.flatMap((d) => Array.from(tok.encode(d)));
      assert.ok(Math.abs(report.bytesPerToken - bytes / ids.length) < 1e-9, `${report.vocabSize}`);
      const used = new Set(ids).size / report.vocabSize;
      assert.ok(Math.abs(report.vocabUsed - used) < 1e-9);
    }
    assert.ok(a.vocab[1].bytesPerToken > a.vocab[0].bytesPerToken);
    assert.ok(a.vocab[1].tokensPerWord < a.vocab[0].tokensPerWord);
    assert.ok([400, 800].includes(a.recommended.vocabSize));
    assert.match(formatAnalysis(a), /recommended (400|800): /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

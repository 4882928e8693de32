import assert from "node:assert/strict";
import { parseChatLine, readLines, runChat } from "../../src/eval/chat.ts";
import type { SamplingOptions } from "../../src/eval/sampling.ts";

Deno.test("chat commands are parsed; anything else is a prompt", () => {
  assert.deepEqual(parseChatLine("temp 0.5"), { kind: "set", settings: { temperature: 0.5 } });
  assert.deepEqual(parseChatLine("topk 40"), {
    kind: "set",
    settings: { topK: 40 },
    clear: "topP",
  });
  assert.deepEqual(parseChatLine("TOPP 0.9"), {
    kind: "set",
    settings: { topP: 0.9 },
    clear: "topK",
  });
  for (const q of ["quit", "exit", "q", " Q "]) assert.equal(parseChatLine(q).kind, "quit");
  assert.equal(parseChatLine("reset").kind, "reset");
  assert.equal(parseChatLine("temp hot").kind, "invalid");
  assert.deepEqual(parseChatLine("quit smoking"), { kind: "prompt", text: "quit smoking" });
});

Deno.test("the chat loop applies settings, resets, and stops at quit (piped input)", async () => {
  const seen: SamplingOptions[] = [];
  let resets = 0;
  const model = {
    complete: (prompt: string, s: SamplingOptions) => {
      seen.push({ ...s });
      return Promise.resolve(`<${prompt}>`);
    },
    reset: () => void resets++,
  };
  const input = "hello\ntemp 0.5\ntopk 3\ntopp 2\nworld\nreset\nq\nnever\n";
  const stream = new Blob([input]).stream();
  let out = "";
  await runChat(model, readLines(stream), (t) => out += t, { temperature: 1 }, false);
  assert.deepEqual(seen, [{ temperature: 1 }, { temperature: 0.5, topK: 3 }]);
  assert.equal(resets, 1);
  assert.match(out, /<hello>/);
  assert.match(out, /error: top-p/);
  assert.doesNotMatch(out, /never/);
});

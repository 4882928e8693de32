/// <reference lib="deno.worker" />
/** Web Worker of `EncodePool`: loads a tokenizer once, then encodes batches of documents. */

import { encodeDocuments, type WorkerReply, type WorkerRequest } from "./encode_pool.ts";
import { Tokenizer } from "./tokenizer.ts";

let tok: Tokenizer | null = null;
let eot = 0;
let maxLength = Infinity;

function reply(message: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const msg = e.data;
  try {
    if (msg.type === "init") {
      tok = await Tokenizer.load(msg.tokenizer);
      eot = msg.eot;
      maxLength = msg.maxLength > 0 ? msg.maxLength : Infinity;
      reply({ type: "ready" });
    } else {
      const tokens = encodeDocuments(tok!, msg.docs, eot, maxLength);
      reply({ type: "encoded", id: msg.id, tokens }, [tokens.buffer as ArrayBuffer]);
    }
  } catch (err) {
    reply({ type: "error", message: (err as Error).message });
  }
};

/**
 * The chat loop behind `validate --chat`: read a line, continue it with the model, print. Lines that
 * are commands change the sampling settings instead. Works on a terminal and with piped input.
 */

import { type SamplingOptions, validateSampling } from "./sampling.ts";
import { isUserError } from "../util/errors.ts";

/** What one input line asks for. */
export type ChatCommand =
  | { kind: "prompt"; text: string }
  | { kind: "set"; settings: Partial<SamplingOptions>; clear?: "topK" | "topP" }
  | { kind: "reset" }
  | { kind: "help" }
  | { kind: "quit" }
  | { kind: "invalid"; message: string };

const HELP = "commands: temp <t> | topk <k> | topp <p> | reset | help | quit (exit, q)";

/** Parses one line of chat input into a command or a prompt. */
export function parseChatLine(line: string): ChatCommand {
  const text = line.trim();
  const [word, arg, ...rest] = text.split(/\s+/);
  const lower = (word ?? "").toLowerCase();
  if (["quit", "exit", "q"].includes(lower) && arg === undefined) return { kind: "quit" };
  if (lower === "reset" && arg === undefined) return { kind: "reset" };
  if (lower === "help" && arg === undefined) return { kind: "help" };
  if (["temp", "topk", "topp"].includes(lower) && arg !== undefined && rest.length === 0) {
    const value = Number(arg);
    if (!Number.isFinite(value)) {
      return { kind: "invalid", message: `${lower}: not a number: ${arg}` };
    }
    if (lower === "temp") return { kind: "set", settings: { temperature: value } };
    if (lower === "topk") return { kind: "set", settings: { topK: value }, clear: "topP" };
    return { kind: "set", settings: { topP: value }, clear: "topK" };
  }
  return { kind: "prompt", text: line };
}

/**
 * The model side of a chat: continue `prompt` (with the conversation so far) under `sampling`.
 * A model that streams writes the reply through `stream` as it is generated (and returns it too).
 */
export interface ChatModel {
  complete(
    prompt: string,
    sampling: SamplingOptions,
    stream?: (text: string) => void,
  ): Promise<string>;
  reset(): void;
}

/**
 * Runs the loop over `lines` (stdin lines), writing replies with `write`. Settings changes apply to
 * later prompts; a bad setting is reported and the old one kept.
 */
export async function runChat(
  model: ChatModel,
  lines: AsyncIterable<string>,
  write: (text: string) => void,
  initial: SamplingOptions,
  interactive: boolean,
): Promise<void> {
  let sampling: SamplingOptions = { ...initial };
  if (interactive) write(`${HELP}\n> `);
  for await (const line of lines) {
    const cmd = parseChatLine(line);
    if (cmd.kind === "quit") break;
    if (cmd.kind === "help") write(HELP + "\n");
    else if (cmd.kind === "reset") {
      model.reset();
      write("(context cleared)\n");
    } else if (cmd.kind === "invalid") write(`error: ${cmd.message}\n`);
    else if (cmd.kind === "set") {
      const next = { ...sampling, ...cmd.settings };
      if (cmd.clear) delete next[cmd.clear];
      try {
        sampling = validateSampling(next);
        write(`(${describeSampling(sampling)})\n`);
      } catch (err) {
        if (!isUserError(err)) throw err;
        write(`error: ${err.message}\n`);
      }
    } else if (cmd.text.trim() !== "") {
      let streamed = false;
      const reply = await model.complete(cmd.text, sampling, (text) => {
        streamed = true;
        write(text);
      });
      write(streamed ? "\n" : reply + "\n");
    }
    if (interactive) write("> ");
  }
}

/** `temperature 0.8, top-k 40` */
export function describeSampling(s: SamplingOptions): string {
  const parts = [`temperature ${s.temperature}`];
  if (s.topK !== undefined) parts.push(`top-k ${s.topK}`);
  if (s.topP !== undefined) parts.push(`top-p ${s.topP}`);
  return parts.join(", ");
}

/** Splits a byte stream (stdin) into lines, the last one even without a newline. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, nl).replace(/\r$/, "");
      buffer = buffer.slice(nl + 1);
    }
  }
  if (buffer !== "") yield buffer;
}

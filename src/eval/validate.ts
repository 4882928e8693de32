/**
 * What `deno task validate` does once its arguments are parsed: load the model and run one mode
 * (eval, prompt, chat, perplexities, attention, activations, verify), printing results on stdout
 * and warnings on stderr.
 *
 * @module
 */

import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { listenForInterrupt } from "../util/interrupt.ts";
import { describeSampling, readLines, runChat } from "./chat.ts";
import { isEncDecCheckpoint, runEncDecValidate } from "./encdec_validate.ts";
import { evaluateModel, formatEvaluation } from "./evaluate.ts";
import { chatModel, generate } from "./generate.ts";
import {
  attentionPatterns,
  encodeForInspection,
  residualStream,
  writeActivations,
  writeAttentionMaps,
  writeBatchActivations,
} from "./inspect.ts";
import { type LoadedModel, loadModel } from "./load.ts";
import { formatPerplexities, perplexities } from "./perplexities.ts";
import { type SamplingOptions, validateSampling } from "./sampling.ts";
import { TextStream } from "./text_stream.ts";
import { formatVerify, verifyModel } from "./verify.ts";

/** The one thing a `validate` invocation does. */
export type ValidateMode =
  | { kind: "eval"; maxBatches?: number }
  | { kind: "prompt"; prompt: string }
  | { kind: "chat" }
  | { kind: "perplexities"; file: string; perPosition: boolean }
  | { kind: "attention"; text: string; layers?: number[]; heads?: number[] }
  | { kind: "activations"; texts: string[] }
  | { kind: "verify" };

/** Parsed `validate` options. */
export interface ValidateOptions {
  checkpoint: string;
  mode: ValidateMode;
  sampling: SamplingOptions;
  maxLength: number;
  /** Beam search with this many beams instead of sampling (`--prompt`). */
  beams?: number;
  seed?: number;
  json: boolean;
  progress?: boolean;
}

/** Where output goes (stdout lines, stderr warnings, and raw stdout text for streaming). */
export interface ValidateIO {
  out: (text: string) => void;
  warn: (text: string) => void;
  write?: (text: string) => void;
}

const defaultIO: ValidateIO = {
  out: (text) => console.log(text),
  warn: (text) => console.error(text),
  write: writeStdout,
};

/** Writes all of `text` to stdout now (no newline added; writeSync may take part of it). */
function writeStdout(text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
}

/** Runs one `validate` mode; verification failures are a UserError with exit code 1. */
export async function runValidate(
  opts: ValidateOptions,
  io: ValidateIO = defaultIO,
): Promise<void> {
  validateSampling(opts.sampling);
  if (!(Number.isInteger(opts.maxLength) && opts.maxLength >= 1)) {
    throw new UserError(`--max-length: expected an integer ≥ 1, found ${opts.maxLength}`);
  }
  // Encoder–decoders decode differently (memory once, decoder cache): their own module.
  if (await isEncDecCheckpoint(opts.checkpoint)) return await runEncDecValidate(opts, io);
  const mode = opts.mode;
  if (opts.beams !== undefined) {
    if (!(Number.isInteger(opts.beams) && opts.beams >= 1)) {
      throw new UserError(`--beams: expected an integer ≥ 1, found ${opts.beams}`);
    }
    if (mode.kind !== "prompt") throw new UserError("--beams goes with --prompt (see --help)");
  }
  const show = (value: unknown, text: string) =>
    io.out(opts.json ? JSON.stringify(value, null, 2) : text);
  if (mode.kind === "verify") {
    const report = await verifyModel(opts.checkpoint);
    show(report, formatVerify(report));
    if (!report.ok) throw new UserError(`verification failed for ${opts.checkpoint}`, 1);
    return;
  }
  const loaded = await loadModel(opts.checkpoint);
  switch (mode.kind) {
    case "eval": {
      const interrupt = listenForInterrupt();
      try {
        const result = await evaluateModel(loaded, { ...mode, shouldStop: interrupt.requested });
        return show(result, formatEvaluation(result));
      } finally {
        interrupt.dispose();
      }
    }
    case "prompt":
      return await prompt(loaded, mode.prompt, opts, io, show);
    case "chat": {
      const codec = await loaded.codec();
      const interactive = Deno.stdin.isTerminal();
      if (interactive) io.warn(`chat with ${opts.checkpoint} (${describeSampling(opts.sampling)})`);
      const model = chatModel(loaded.model, codec, {
        maxNewTokens: opts.maxLength,
        seed: opts.seed,
        warn: io.warn,
      });
      const write = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));
      return await runChat(
        model,
        readLines(Deno.stdin.readable),
        write,
        opts.sampling,
        interactive,
      );
    }
    case "perplexities": {
      let text: string;
      try {
        text = await Deno.readTextFile(mode.file);
      } catch {
        throw new UserError(`--perplexities: cannot read ${mode.file}`);
      }
      const report = await perplexities(loaded.model, await loaded.codec(), text, {
        perPosition: mode.perPosition,
        progress: opts.progress,
      });
      return show(report, formatPerplexities(report));
    }
    case "attention": {
      const { codec, ids } = await inspectionInput(loaded, mode.text, io);
      const patterns = await attentionPatterns(loaded.model, ids, mode);
      const tokens = ids.map((id) => codec.label(id));
      const files = await writeAttentionMaps(
        join(loaded.artifactRoot, "attention"),
        mode.text,
        tokens,
        patterns,
      );
      return show({ tokens, files }, `${patterns.length} head(s) written:\n${files.join("\n")}`);
    }
    case "activations": {
      const inputs = [];
      for (const text of mode.texts) inputs.push(await inspectionInput(loaded, text, io));
      const codec = inputs[0].codec;
      const ids = inputs.map((x) => x.ids);
      const single = ids.length === 1;
      const residuals = await residualStream(loaded.model, single ? ids[0] : ids);
      const tokens = ids.map((seq) => seq.map((id) => codec.label(id)));
      const dir = join(loaded.artifactRoot, "activations");
      const C = loaded.config.d_model;
      const file = single
        ? await writeActivations(dir, mode.texts[0], ids[0], tokens[0], residuals, C)
        : await writeBatchActivations(dir, mode.texts, ids, tokens, residuals, C);
      const T = Math.max(...ids.map((s) => s.length));
      const shape = single ? `[${T}, ${C}]` : `[${ids.length}, ${T}, ${C}]`;
      return show(
        { file, tensors: [...residuals.keys()], tokens: single ? tokens[0] : tokens },
        `${residuals.size} residual-stream tensors ${shape} → ${file}`,
      );
    }
  }
}

async function inspectionInput(loaded: LoadedModel, text: string, io: ValidateIO) {
  const codec = await loaded.codec();
  const { ids, truncated } = encodeForInspection(loaded.model, codec, text);
  if (truncated > 0) {
    io.warn(`warning: the text is longer than the context: dropped its first ${truncated} tokens`);
  }
  return { codec, ids };
}

async function prompt(
  loaded: LoadedModel,
  text: string,
  opts: ValidateOptions,
  io: ValidateIO,
  show: (value: unknown, text: string) => void,
): Promise<void> {
  const codec = await loaded.codec();
  let ids = codec.encode(text);
  if (ids.length === 0 && codec.startId !== null) ids = [codec.startId];
  const context = loaded.config.max_seq_len;
  if (ids.length > context) {
    io.warn(
      `warning: the prompt has ${ids.length} tokens, more than the context of ${context}: ` +
        `dropped its first ${ids.length - context}`,
    );
  }
  // A beam search knows its answer only at the end: nothing to stream.
  const canStream = !opts.json && io.write && opts.beams === undefined;
  const stream = canStream ? new TextStream(codec, ids, io.write!, true) : null;
  const result = await generate(loaded.model, ids, {
    ...opts.sampling,
    maxNewTokens: opts.maxLength,
    seed: opts.seed,
    stopId: codec.endId,
    onToken: stream ? (id) => stream.push(id) : undefined,
    beams: opts.beams,
  });
  if (stream) return stream.finish();
  const completion = codec.decode(result.ids);
  // Decoding prompt and continuation together keeps the codec's own separators (ids: spaces).
  const whole = codec.decode([...ids, ...result.ids]);
  const beam = result.logProb === undefined ? {} : { beams: opts.beams, log_prob: result.logProb };
  show({ prompt: text, completion, ids: result.ids, stopped: result.stopped, ...beam }, whole);
}

/**
 * The `process` batch source: sequences sampled from a generative process, framed by optional
 * BOS/EOS, sized to the model's context, with L* (the optimal loss for that context) in its
 * metadata so training can log how close it gets.
 *
 * ```yaml
 * data: { source: process, process: mess3, params: { x: 0.05, a: 0.85 }, bos: true }
 * ```
 */

import { parseYaml, z } from "../../deps.ts";
import { UserError } from "../../util/errors.ts";
import type { Batch, BatchSource } from "../batch.ts";
import { registerSource } from "../sources.ts";
import type { Process } from "./process.ts";
import { createProcess, custom } from "./processes.ts";
import { KeyedXoshiro128 } from "../../util/random.ts";
import { pathTable, sampleByBelief, samplePath, type SamplingMethod } from "./sampling.ts";
import { generatorLength, modelVocabSize, specialTokenIds } from "./sequence.ts";
import { entropyRate, optimalLoss } from "./theory.ts";

/** The `data` keys of a process source (besides `source: process`). */
export const processDataSchema = z.strictObject({
  /** A registered process name (mess3, rrxor, …) or a YAML file with `matrices` (and `normalizer`). */
  process: z.string().min(1),
  /** Parameters of the named process, e.g. `{x: 0.05, a: 0.85}`. */
  params: z.record(z.string(), z.unknown()).default({}),
  bos: z.boolean().default(false),
  eos: z.boolean().default(false),
  /** Sequence length in model positions; defaults to `model.max_seq_len`. */
  n_ctx: z.number().int().positive().optional(),
  /** "path" walks hidden states (HMMs); "belief" draws from the belief's next-token law. */
  sampling: z.enum(["path", "belief"]).optional(),
});

/** A validated `data` section of kind `process`. */
export type ProcessDataConfig = z.output<typeof processDataSchema>;

/** Split ids in the random-stream key keep train and validation sequences independent. */
const TRAIN_STREAM = 0;
const VAL_STREAM = 1;

/** Options of a process source built directly from a `Process`. */
export interface ProcessSourceOptions {
  seed: number;
  /** Model context (positions per sequence). */
  nCtx: number;
  bos?: boolean;
  eos?: boolean;
  sampling?: SamplingMethod;
}

/**
 * A `BatchSource` over a process: row r of batch i is drawn from the stream (seed, split, i, r).
 *
 * @example
 * ```ts
 * const src = new ProcessSource(processes.mess3(), { seed: 1, nCtx: 6, bos: true });
 * src.trainBatch(0, 32).inputs; // Int32Array(192), each row starts with BOS = 3
 * ```
 */
export class ProcessSource implements BatchSource {
  readonly name: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly metadata: Record<string, number | string | boolean | null>;
  readonly process: Process;
  /** Process tokens per sequence. */
  readonly generatorLen: number;
  private readonly bosId: number | null;
  private readonly eosId: number | null;
  private readonly seed: number;
  private readonly sampleInto: (rng: KeyedXoshiro128, out: Int32Array) => void;

  constructor(process: Process, opts: ProcessSourceOptions) {
    const special = { bos: opts.bos ?? false, eos: opts.eos ?? false };
    this.process = process;
    this.seed = opts.seed;
    this.seqLen = opts.nCtx;
    this.generatorLen = generatorLength(opts.nCtx, special);
    this.vocabSize = modelVocabSize(process.vocabSize, special);
    const ids = specialTokenIds(process.vocabSize, special);
    this.bosId = ids.bos;
    this.eosId = ids.eos;
    this.name = process.name;
    const method = opts.sampling ?? (process.isHmm ? "path" : "belief");
    if (method === "path") {
      const table = pathTable(process);
      this.sampleInto = (rng, out) => samplePath(process, table, rng, out);
    } else {
      this.sampleInto = (rng, out) => sampleByBelief(process, rng, out);
    }
    this.metadata = {
      process: process.name,
      optimal_loss: optimalLoss(process, { nCtx: opts.nCtx, ...special }),
      entropy_rate: entropyRate(process, { maxLength: 64 }).rate,
      generator_len: this.generatorLen,
      bos: special.bos,
      eos: special.eos,
    };
  }

  /** Generated sequences never run out. */
  epochBatches(_batchSize: number): null {
    return null;
  }

  trainBatch(index: number, batchSize: number): Batch {
    return this.batch(TRAIN_STREAM, index, batchSize);
  }

  valBatch(index: number, batchSize: number): Batch {
    return this.batch(VAL_STREAM, index, batchSize);
  }

  /** One framed sequence of `seqLen + 1` tokens (BOS, process tokens, EOS). */
  sequence(stream: number, index: number, row: number): Int32Array {
    const tokens = new Int32Array(this.seqLen + 1);
    const start = this.bosId === null ? 0 : 1;
    if (this.bosId !== null) tokens[0] = this.bosId;
    if (this.eosId !== null) tokens[tokens.length - 1] = this.eosId;
    const rng = new KeyedXoshiro128([this.seed, stream, index, row]);
    this.sampleInto(rng, tokens.subarray(start, start + this.generatorLen));
    return tokens;
  }

  /**
   * The optimal model's mean loss on exactly validation batches 0…batches−1: −log P(x_t | x_<t)
   * under the process for every scored token (EOS is certain, so it adds 0). Unlike L*, it
   * carries the same sampling noise as a measured val loss, so the two compare like for like.
   */
  valOptimalLoss(batches: number, batchSize: number): number {
    let total = 0;
    let count = 0;
    const start = this.bosId === null ? 0 : 1;
    for (let i = 0; i < batches; i++) {
      for (let r = 0; r < batchSize; r++) {
        const tokens = this.sequence(VAL_STREAM, i, r);
        let belief: Float64Array = Float64Array.from(this.process.stationary);
        for (let t = start; t < start + this.generatorLen; t++) {
          const p = this.process.nextTokenProbs(belief)[tokens[t]];
          // the first process token has no input predicting it when there is no BOS
          if (t > 0) {
            total -= Math.log(p);
            count++;
          }
          belief = this.process.update(belief, tokens[t]);
        }
        if (this.eosId !== null) count++;
      }
    }
    return total / count;
  }

  private batch(stream: number, index: number, batchSize: number): Batch {
    const T = this.seqLen;
    const inputs = new Int32Array(batchSize * T);
    const targets = new Int32Array(batchSize * T);
    for (let r = 0; r < batchSize; r++) {
      const tokens = this.sequence(stream, index, r);
      inputs.set(tokens.subarray(0, T), r * T);
      targets.set(tokens.subarray(1), r * T);
    }
    return { inputs, targets, batchSize, seqLen: T };
  }
}

/** The host's file reader where the runtime has one (Deno), found at run time so browsers load this. */
function hostReadTextFile(): ((path: string) => Promise<string>) | undefined {
  const deno = (globalThis as { Deno?: { readTextFile(path: string): Promise<string> } }).Deno;
  return deno ? (path) => deno.readTextFile(path) : undefined;
}

/** Reads a user process from a YAML file: `{name?, matrices, normalizer?}`. */
export async function loadProcessFile(
  path: string,
  readTextFile?: (path: string) => Promise<string>,
): Promise<Process> {
  readTextFile ??= hostReadTextFile();
  if (!readTextFile) throw new UserError(`process file ${path}: this host cannot read files`);
  let text: string;
  try {
    text = await readTextFile(path);
  } catch {
    throw new UserError(`process file not found: ${path}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UserError(`process file ${path}: invalid YAML (${(err as Error).message})`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new UserError(`process file ${path}: expected a mapping with "matrices"`);
  }
  const spec = doc as Record<string, unknown>;
  return custom({ name: path, ...spec });
}

/** Resolves `data.process` (+ params) to a process: a registry name or a `.yaml`/`.yml` file. */
export async function resolveProcess(
  data: ProcessDataConfig,
  readTextFile?: (path: string) => Promise<string>,
): Promise<Process> {
  if (/\.ya?ml$/i.test(data.process)) {
    if (Object.keys(data.params).length > 0) {
      throw new UserError("data.params: not used when data.process is a file");
    }
    return await loadProcessFile(data.process, readTextFile);
  }
  return createProcess(data.process, data.params);
}

/**
 * The model context a process is sampled at: `data.n_ctx`, else `model.max_seq_len` (`seqLen`,
 * Infinity when that is "auto", so then `data.n_ctx` must be set).
 */
export function processContextLength(nCtx: number | undefined, seqLen: number): number {
  if (nCtx === undefined) {
    if (!Number.isFinite(seqLen)) {
      throw new UserError(
        "model.max_seq_len is auto and data.n_ctx is unset: set data.n_ctx (the process's " +
          "context) or model.max_seq_len",
      );
    }
    return seqLen;
  }
  if (nCtx > seqLen) {
    throw new UserError(
      `data.n_ctx is ${nCtx} but model.max_seq_len is ${seqLen} (set model.max_seq_len=${nCtx})`,
    );
  }
  return nCtx;
}

/**
 * Builds the process source of a validated `data` section; the model context comes from
 * `data.n_ctx` or else `model.max_seq_len`.
 */
export async function createProcessSource(
  data: ProcessDataConfig,
  ctx: { seed: number; seqLen: number; readTextFile?: (path: string) => Promise<string> },
): Promise<ProcessSource> {
  const nCtx = processContextLength(data.n_ctx, ctx.seqLen);
  const process = await resolveProcess(data, ctx.readTextFile);
  return new ProcessSource(process, {
    seed: ctx.seed,
    nCtx,
    bos: data.bos,
    eos: data.eos,
    sampling: data.sampling,
  });
}

registerSource({
  name: "process",
  description:
    "sequences sampled from a generative process (mess3, rrxor, …) with its optimal loss",
  schema: processDataSchema,
  create: createProcessSource,
});

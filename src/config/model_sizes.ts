/**
 * `model.vocab_size: auto` and `model.max_seq_len: auto` (the defaults): the data decides. The
 * vocabulary is the source's (a char corpus's distinct characters, a tokenizer's size, a process
 * or task alphabet with its BOS/EOS); the context is the source's own length (a task's longest
 * example, a process's `data.n_ctx`). A number written in the config is kept and checked: too
 * small for the data is an error that says what to set. Pure functions (browser-safe); building
 * the source from a config is `resolveConfig` in src/train/resolve_config.ts.
 *
 * @module
 */

import type { Config, ModelConfig, ResolvedConfig, SizeSetting } from "./schema.ts";
import type { SourceContext, TrainingSource } from "../data/sources.ts";
import { UserError } from "../util/errors.ts";
import { checkConfigLimits } from "./limits.ts";

/** A size as a source context takes it: "auto" becomes Infinity (the source picks its own). */
function contextSize(size: SizeSetting): number {
  return size === "auto" ? Number.POSITIVE_INFINITY : size;
}

/** The context a source of `cfg` is built with; "auto" sizes arrive as Infinity. */
export function sourceContextOf(
  cfg: Config,
  readTextFile?: (path: string) => Promise<string>,
): SourceContext {
  return {
    seed: cfg.seed,
    seqLen: contextSize(cfg.model.max_seq_len),
    vocabSize: contextSize(cfg.model.vocab_size),
    batchSize: cfg.training.batch_size,
    readTextFile,
  };
}

/** Checks that the model can take the source's tokens and context, saying what to change. */
export function checkModelFitsSource(
  model: ModelConfig,
  source: TrainingSource,
): void {
  if (source.vocabSize > model.vocab_size) {
    throw new UserError(
      `model.vocab_size is ${model.vocab_size} but the data (${source.name}) has ` +
        `${source.vocabSize} token ids: set model.vocab_size=${source.vocabSize} (or more), ` +
        `or auto`,
    );
  }
  if (source.seqLen > model.max_seq_len) {
    throw new UserError(
      `model.max_seq_len is ${model.max_seq_len} but the data (${source.name}) gives sequences ` +
        `of ${source.seqLen}: set model.max_seq_len=${source.seqLen} (or more), or auto`,
    );
  }
}

/** `cfg` with its "auto" sizes replaced by the source's, checked against the source. */
export function resolveModelSizes(
  cfg: Config,
  source: TrainingSource,
): ResolvedConfig {
  const m = cfg.model;
  const model: ModelConfig = {
    ...m,
    vocab_size: m.vocab_size === "auto" ? source.vocabSize : m.vocab_size,
    max_seq_len: m.max_seq_len === "auto" ? source.seqLen : m.max_seq_len,
  };
  if (
    !Number.isInteger(model.vocab_size) || !Number.isInteger(model.max_seq_len)
  ) {
    throw new UserError(
      `the data (${source.name}) gives no finite model sizes: set model.vocab_size and ` +
        `model.max_seq_len`,
    );
  }
  checkModelFitsSource(model, source);
  // The limits skipped "auto" when the config was loaded; the data's sizes meet them here.
  checkConfigLimits({ ...cfg, model }, `the data (${source.name})`);
  return { ...cfg, model };
}

/**
 * A config read back from a run directory (its sizes were resolved when it was written); an
 * "auto" left in it is an error rather than a guess.
 */
export function requireResolved(cfg: Config, where: string): ResolvedConfig {
  const { vocab_size, max_seq_len } = cfg.model;
  if (vocab_size === "auto" || max_seq_len === "auto") {
    throw new UserError(
      `${where}: model.vocab_size and model.max_seq_len must be numbers`,
    );
  }
  return { ...cfg, model: { ...cfg.model, vocab_size, max_seq_len } };
}

/**
 * How a generated sequence becomes a model input: optional BOS before and EOS after the process
 * tokens, inputs = tokens[:-1], labels = tokens[1:]. BOS id = base vocab size, EOS id = base +
 * (BOS ? 1 : 0), model vocab = base + BOS + EOS, model n_ctx = generator_len − 1 + BOS + EOS.
 */

import { UserError } from "../../util/errors.ts";

/** Which special tokens frame each generated sequence. */
export interface SpecialTokens {
  bos: boolean;
  eos: boolean;
}

/** Ids of BOS and EOS for a base vocabulary (null when unused). */
export function specialTokenIds(
  baseVocab: number,
  special: SpecialTokens,
): { bos: number | null; eos: number | null } {
  return {
    bos: special.bos ? baseVocab : null,
    eos: special.eos ? baseVocab + (special.bos ? 1 : 0) : null,
  };
}

/** The model vocabulary: base tokens plus BOS and EOS when used. */
export function modelVocabSize(baseVocab: number, special: SpecialTokens): number {
  return baseVocab + (special.bos ? 1 : 0) + (special.eos ? 1 : 0);
}

/** The model context that `generatorLen` process tokens need: generator_len − 1 + BOS + EOS. */
export function modelContextLength(generatorLen: number, special: SpecialTokens): number {
  const nCtx = generatorLen - 1 + (special.bos ? 1 : 0) + (special.eos ? 1 : 0);
  if (!Number.isInteger(generatorLen) || generatorLen < 1 || nCtx < 1) {
    throw new UserError(
      `generator length ${generatorLen} with bos=${special.bos}, eos=${special.eos} gives a model ` +
        `context of ${nCtx}; it must be at least 1 (use a longer generator length)`,
    );
  }
  return nCtx;
}

/** Process tokens per sequence for a model context: n_ctx + 1 − BOS − EOS. */
export function generatorLength(nCtx: number, special: SpecialTokens): number {
  const len = nCtx + 1 - (special.bos ? 1 : 0) - (special.eos ? 1 : 0);
  if (!Number.isInteger(nCtx) || nCtx < 1 || len < 1) {
    throw new UserError(
      `model context ${nCtx} with bos=${special.bos}, eos=${special.eos} leaves ${len} process ` +
        `tokens per sequence; it must be at least 1 (raise model.max_seq_len)`,
    );
  }
  return len;
}

/**
 * Says what to change when a model does not fit a data source (null when it fits): the model's
 * vocabulary must hold every data id and its context the data's sequence length.
 */
export function modelDataMismatch(
  model: { vocab_size: number; max_seq_len: number },
  data: { vocabSize: number; seqLen: number; name: string },
): string | null {
  if (model.vocab_size < data.vocabSize) {
    return `model.vocab_size is ${model.vocab_size} but ${data.name} needs ${data.vocabSize} ` +
      `(set model.vocab_size=${data.vocabSize})`;
  }
  if (model.max_seq_len < data.seqLen) {
    return `model.max_seq_len is ${model.max_seq_len} but ${data.name} has sequences of ` +
      `${data.seqLen} (set model.max_seq_len=${data.seqLen})`;
  }
  return null;
}

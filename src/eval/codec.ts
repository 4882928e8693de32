/**
 * Text ↔ token ids for a trained model, whatever its data was: a `tokenizer.json` (byte-level BPE
 * or the char tokenizer's WordLevel form), an algorithmic task's character alphabet, or a
 * generative process whose tokens are small integers written as numbers.
 *
 * @module
 */

import type { CharVocab } from "../data/synthetic/tasks/task.ts";
import { CharTokenizer } from "../tokenizer/char.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { UserError } from "../util/errors.ts";

/** How prompts become ids and ids become text. */
export interface TextCodec {
  /** Short description, e.g. `char (65)` or `gpt2`. */
  readonly name: string;
  /** Ids the codec can produce. */
  readonly vocabSize: number;
  /** A token that may start a sequence with no text before it (EOT/BOS), or null. */
  readonly startId: number | null;
  /** The token that ends a sequence (EOT/EOS): generation stops there; null when none. */
  readonly endId: number | null;
  /** Ids of `text`; text the vocabulary cannot express is a UserError. */
  encode(text: string): number[];
  /** Text of `ids`. */
  decode(ids: readonly number[]): string;
  /** One token as a short label (attention-map axes, per-token tables). */
  label(id: number): string;
}

/** A codec over a `tokenizer.json` text: WordLevel (kiln's char tokenizer) or byte-level BPE. */
export function codecFromTokenizerJson(json: string, source = "tokenizer.json"): TextCodec {
  let parsed: { model?: { type?: string } };
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new UserError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (parsed?.model?.type === "WordLevel") {
    return charCodec(CharTokenizer.fromTokenizerJson(json));
  }
  return bpeCodec(Tokenizer.fromJSON(parsed, source));
}

/** A codec over a character vocabulary. */
export function charCodec(tok: CharTokenizer): TextCodec {
  return {
    name: `char (${tok.vocabSize})`,
    vocabSize: tok.vocabSize,
    startId: null,
    endId: null,
    encode: (text) => [...tok.encode(text)],
    decode: (ids) => tok.decode(ids),
    label: (id) => tok.chars[id] ?? `<${id}>`,
  };
}

/** A codec over a byte-level BPE tokenizer; EOT (when present) starts an empty prompt. */
export function bpeCodec(tok: Tokenizer): TextCodec {
  return {
    name: tok.name,
    vocabSize: tok.vocabSize,
    startId: tok.eotId,
    endId: tok.eotId,
    encode: (text) => [...tok.encode(text)],
    decode: (ids) => tok.decode(ids),
    label: (id) => tok.decode([id]),
  };
}

/** A codec over an algorithmic task's alphabet (EOS shown as `⏎`). */
export function taskCodec(vocab: CharVocab): TextCodec {
  return {
    name: `task chars (${vocab.size})`,
    vocabSize: vocab.size,
    startId: null,
    endId: vocab.eosId,
    encode: (text) => vocab.encode(text),
    decode: (ids) => vocab.decode(ids),
    label: (id) => vocab.decode([id]),
  };
}

/**
 * A codec for integer tokens (generative processes, or a model with no known tokenizer): text is
 * ids separated by spaces or commas (`0 1 2`), or, for at most 10 ids, digits written together
 * (`0120`); `BOS`/`EOS` name the special ids when the data has them.
 */
export function idCodec(
  vocabSize: number,
  specials: { bos?: number | null; eos?: number | null } = {},
): TextCodec {
  const names = new Map<string, number>();
  if (specials.bos != null) names.set("BOS", specials.bos);
  if (specials.eos != null) names.set("EOS", specials.eos);
  const byId = new Map([...names].map(([k, v]) => [v, k]));
  const parseWord = (word: string): number[] => {
    const special = names.get(word.toUpperCase());
    if (special !== undefined) return [special];
    if (/^\d+$/.test(word) && word.length > 1 && vocabSize <= 10) {
      return [...word].map((d) => Number(d));
    }
    if (!/^\d+$/.test(word)) {
      throw new UserError(`"${word}" is not a token id (expected integers 0..${vocabSize - 1})`);
    }
    return [Number(word)];
  };
  return {
    name: `ids (${vocabSize})`,
    vocabSize,
    startId: specials.bos ?? null,
    endId: specials.eos ?? null,
    encode: (text) => text.split(/[\s,]+/).filter((w) => w !== "").flatMap(parseWord),
    decode: (ids) => ids.map((id) => byId.get(id) ?? String(id)).join(" "),
    label: (id) => byId.get(id) ?? String(id),
  };
}

/** Refuses ids the model has no embedding for (a tokenizer larger than the model's vocab). */
export function checkIdsInVocab(ids: readonly number[], modelVocab: number): void {
  const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < modelVocab));
  if (bad !== undefined) {
    throw new UserError(
      `prompt token id ${bad} is outside the model's vocabulary (0..${modelVocab - 1})`,
    );
  }
}

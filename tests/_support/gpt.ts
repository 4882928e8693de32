import type { GPTConfig } from "../../src/nn/gpt.ts";

/**
 * A GPT config for tests: the given sizes, with no dropout, biases, a tied head and learned
 * positions unless `sizes` says otherwise.
 */
export function gptConfig(
  sizes:
    & Pick<GPTConfig, "vocab_size" | "max_seq_len" | "n_layer" | "n_head" | "d_model">
    & Partial<GPTConfig>,
): GPTConfig {
  return {
    name: "gpt",
    dropout: 0,
    bias: true,
    tie_embeddings: true,
    positional: "learned",
    ...sizes,
  };
}

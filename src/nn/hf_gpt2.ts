/**
 * Import of Hugging Face GPT-2 checkpoints (a directory with `config.json` and
 * `model.safetensors`, as `save_pretrained` or the hub's `gpt2` repo have them).
 *
 * Format quirks handled here: GPT-2 uses Conv1D layers whose weights are stored `[in, out]`, the
 * transpose of nn.Linear's `[out, in]` that kiln uses; keys may carry a `transformer.` prefix;
 * `attn.bias` / `attn.masked_bias` are causal-mask buffers, not parameters; `lm_head.weight` is the
 * tied token embedding.
 *
 * @module
 */

import { join } from "node:path";
import type { Device } from "../gpu/device.ts";
import { UserError } from "../util/errors.ts";
import { GPT } from "./gpt.ts";
import type { GPTConfig } from "./gpt_config.ts";
import { readSafetensors, type SafetensorsTensor } from "./safetensors.ts";

/** Parameters stored by Conv1D (`[in, out]`), transposed on import. */
const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Buffers in GPT-2 checkpoints that are not parameters. */
const BUFFERS = /\.attn\.(bias|masked_bias)$/;

/** Maps a Hugging Face GPT-2 `config.json` to kiln's model config. */
export function gpt2ConfigFromHf(hf: Record<string, unknown>, source = "config.json"): GPTConfig {
  const int = (key: string, fallback?: string): number => {
    const v = hf[key] ?? (fallback ? hf[fallback] : undefined);
    if (!Number.isInteger(v)) throw new UserError(`${source}: ${key} is missing or not an integer`);
    return v as number;
  };
  const activation = hf.activation_function ?? "gelu_new";
  if (activation !== "gelu_new" && activation !== "gelu_pytorch_tanh") {
    throw new UserError(
      `${source}: activation_function ${activation} is not supported (tanh GELU only)`,
    );
  }
  return {
    name: "gpt",
    vocab_size: int("vocab_size"),
    max_seq_len: int("n_positions", "n_ctx"),
    n_layer: int("n_layer"),
    n_head: int("n_head"),
    d_model: int("n_embd"),
    d_ffn: Number.isInteger(hf.n_inner) ? (hf.n_inner as number) : undefined,
    dropout: 0,
    bias: true,
    tie_embeddings: hf.tie_word_embeddings !== false,
    positional: "learned",
    ln_eps: typeof hf.layer_norm_epsilon === "number" ? hf.layer_norm_epsilon : 1e-5,
  };
}

function toFloat32(t: SafetensorsTensor, name: string): Float32Array {
  if (t.dtype === "F32") return t.data as Float32Array;
  const bits = t.data as Uint16Array;
  if (t.dtype === "F16") {
    return Float32Array.from(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
  }
  // bfloat16 is the top half of a float32.
  if (t.dtype === "BF16") return new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
  throw new UserError(`tensor ${name} has dtype ${t.dtype}; expected F32, F16 or BF16`);
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}

/**
 * Converts checkpoint tensors to kiln parameter values (names without prefix, Linear layout),
 * checking every expected parameter is present with the expected shape.
 */
export function gpt2ParamsFromHf(
  tensors: Map<string, SafetensorsTensor>,
  expected: Map<string, readonly number[]>,
  source = "model.safetensors",
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [rawName, t] of tensors) {
    const name = rawName.replace(/^transformer\./, "");
    if (BUFFERS.test(name)) continue;
    if (name === "lm_head.weight" && !expected.has(name)) continue; // tied to wte
    const want = expected.get(name);
    if (!want) throw new UserError(`${source}: unexpected tensor ${rawName}`);
    let data = toFloat32(t, rawName);
    let shape = t.shape;
    if (CONV1D.test(name) && shape.length === 2) {
      data = transpose(data, shape[0], shape[1]);
      shape = [shape[1], shape[0]];
    }
    if (shape.join(",") !== want.join(",")) {
      throw new UserError(
        `${source}: ${rawName} has shape [${t.shape}], expected [${want}] for this config`,
      );
    }
    out.set(name, data);
  }
  const missing = [...expected.keys()].filter((n) => !out.has(n));
  if (missing.length > 0) throw new UserError(`${source}: missing tensors ${missing.join(", ")}`);
  return out;
}

/**
 * Loads a Hugging Face GPT-2 checkpoint directory into a kiln {@link GPT}.
 *
 * @example
 * ```ts
 * const gpt2 = await loadHfGpt2(dev, "models/gpt2"); // config.json + model.safetensors
 * ```
 */
export async function loadHfGpt2(dev: Device, dir: string): Promise<GPT> {
  const configPath = join(dir, "config.json");
  let hf: Record<string, unknown>;
  try {
    hf = JSON.parse(await Deno.readTextFile(configPath));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`file not found: ${configPath}`);
    throw new UserError(`${configPath}: not valid JSON (${(err as Error).message})`);
  }
  const cfg = gpt2ConfigFromHf(hf, configPath);
  const weightsPath = join(dir, "model.safetensors");
  const { tensors } = await readSafetensors(weightsPath);
  const model = new GPT(dev, cfg, { seed: 0 });
  const expected = new Map([...model.params.tensors].map(([n, t]) => [n, t.shape] as const));
  model.params.write(gpt2ParamsFromHf(tensors, expected, weightsPath));
  return model;
}

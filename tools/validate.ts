/**
 * `deno task validate --checkpoint <run | checkpoint | HF dir> <mode>`: evaluate, sample, chat
 * with and look inside a trained model (see README "Evaluate, generate, chat").
 */

import { intFlag, numberFlag, parseCliArgs, runCli } from "../src/cli/run.ts";
import { runValidate, type ValidateMode } from "../src/eval/validate.ts";
import { importPluginsForModel } from "../src/plugins/imports.ts";
import { typecheckLocal } from "../src/plugins/typecheck.ts";
import { UserError } from "../src/util/errors.ts";

const HELP = `Usage: deno task validate --checkpoint <path> <mode> [options]

<path> is a run directory (its latest checkpoint), an experiment directory (runs/<name>: its
newest run), a checkpoint directory (checkpoints/step_N), or a Hugging Face GPT-2 directory
(config.json + model.safetensors).

Modes (one):
  --eval                  val loss, perplexity, task metrics, progress to optimal (processes)
    --max-batches N       number of validation batches (default: the run's eval_batches)
  --prompt "<text>"       continue the text (KV-cached generation)
    --beams N             beam search with N beams (1 = greedy) instead of sampling; --json
                          adds the continuation's log-probability
  --chat                  interactive loop; commands: temp 0.5, topk 40, topp 0.9, reset, quit
  --perplexities <file>   per-token loss of each line: mean, max, min, count, ppl
    --per-position        also list every token's loss
  --attention "<text>"    attention maps (SVG, PNG, JSON) into <run>/attention/
    --layers 0,1          layers to draw (default all)
    --heads 0             heads to draw (default all)
  --activations "<text>"  residual stream after every layer → <run>/activations/*.safetensors;
                          repeat it for a batch (tensors [B,T,C], padding rows 0, ids -1)
  --verify                reload twice (identical), logged val loss reproduced, seeded sampling
                          deterministic; exit 1 when a check fails

Generation options (--prompt, --chat, --verify):
  --max-length N          new tokens at most (default 100)
  --temperature T         0 = greedy (default 0.8)
  --top-k K | --top-p P   keep the K likeliest tokens | the smallest set with mass ≥ P (not both)
  --seed S                sampling seed (default: random)

  --json                  machine-readable output
  --no-progress           no progress bar
  --import FILE.ts        plugin module to load first (repeatable); default: the plugins the
                          run recorded in its config.yaml, checked by SHA-256
  -h, --help              this help`;

const MODES = ["eval", "prompt", "chat", "perplexities", "attention", "activations", "verify"];

function indexList(name: string, value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  return String(value).split(",").map((s) => intFlag(name, s.trim()));
}

function modeOf(v: Record<string, unknown>): ValidateMode {
  const chosen = MODES.filter((m) => v[m] !== undefined && v[m] !== false);
  if (chosen.length !== 1) {
    throw new UserError(
      `validate: give exactly one of ${MODES.map((m) => `--${m}`).join(", ")}` +
        (chosen.length ? ` (got ${chosen.map((m) => `--${m}`).join(", ")})` : "") + " (see --help)",
    );
  }
  const text = (name: string) => String(v[name]);
  switch (chosen[0]) {
    case "eval":
      return {
        kind: "eval",
        maxBatches: v["max-batches"] === undefined
          ? undefined
          : intFlag("max-batches", v["max-batches"]),
      };
    case "prompt":
      return { kind: "prompt", prompt: text("prompt") };
    case "chat":
      return { kind: "chat" };
    case "perplexities":
      return { kind: "perplexities", file: text("perplexities"), perPosition: !!v["per-position"] };
    case "attention":
      return {
        kind: "attention",
        text: text("attention"),
        layers: indexList("layers", v.layers),
        heads: indexList("heads", v.heads),
      };
    case "activations":
      return { kind: "activations", texts: (v.activations as string[]).map(String) };
    default:
      return { kind: "verify" };
  }
}

/** Parses `validate` arguments and runs the chosen mode (also the `kiln validate` entry). */
export async function main(args: string[]): Promise<void> {
  const { values: v, positionals } = parseCliArgs("validate", args, {
    checkpoint: { type: "string" },
    eval: { type: "boolean" },
    "max-batches": { type: "string" },
    json: { type: "boolean" },
    prompt: { type: "string" },
    "max-length": { type: "string" },
    beams: { type: "string" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    seed: { type: "string" },
    chat: { type: "boolean" },
    perplexities: { type: "string" },
    "per-position": { type: "boolean" },
    attention: { type: "string" },
    layers: { type: "string" },
    heads: { type: "string" },
    activations: { type: "string", multiple: true },
    verify: { type: "boolean" },
    "no-progress": { type: "boolean" },
    import: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  });
  if (v.help) return console.log(HELP);
  if (positionals.length) throw new UserError(`validate: unexpected argument "${positionals[0]}"`);
  if (v.checkpoint === undefined) {
    throw new UserError("validate: --checkpoint is required (see --help)");
  }
  await typecheckLocal({ plugins: (v.import as string[] | undefined) ?? [] });
  await importPluginsForModel(String(v.checkpoint), (v.import as string[] | undefined) ?? []);
  const opt = (name: string, parse: typeof intFlag) =>
    v[name] === undefined ? undefined : parse(name, v[name]);
  await runValidate({
    checkpoint: String(v.checkpoint),
    mode: modeOf(v),
    sampling: {
      temperature: numberFlag("temperature", v.temperature, 0.8),
      topK: opt("top-k", intFlag),
      topP: opt("top-p", numberFlag),
    },
    maxLength: intFlag("max-length", v["max-length"], 100),
    beams: opt("beams", intFlag),
    seed: opt("seed", intFlag),
    json: !!v.json,
    progress: v["no-progress"] ? false : undefined,
  });
}

if (import.meta.main) await runCli(() => main(Deno.args));

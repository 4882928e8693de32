/**
 * Loading a config: read YAML, apply command-line overrides, expand a sweep, validate each result
 * against the schema (with the `data` keys of the chosen source kind). All failures are one-line
 * UserErrors that name the file and the key path.
 *
 * @module
 */

import { YAML, z } from "../deps.ts";
import { UserError } from "../util/errors.ts";
import { dataKindNames, dataSchemaFor } from "./data_kinds.ts";
import { modelSchemaFor, trainingExtraOwners, trainingExtraSchema } from "./extensions.ts";
import { formatIssue } from "./issues.ts";
import { checkConfigLimits } from "./limits.ts";
import { applyOverrides, parseOverride } from "./overrides.ts";
import { type Config, configSchema, type DataConfig } from "./schema.ts";
import { expandSweep, sweepId, type SweepPoint } from "./sweep.ts";
import { configPathsFor, expandAblations } from "./variants.ts";

/** Parses YAML text into a mapping; `source` names the file in errors. */
export function parseConfigYaml(text: string, source: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    const first = (err as Error).message.split("\n")[0];
    throw new UserError(`${source}: not valid YAML: ${first}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new UserError(`${source}: expected a mapping at the top level`);
  }
  return raw as Record<string, unknown>;
}

/** Reads a YAML config file into a raw mapping. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`config file not found: ${path}`);
    if (err instanceof Deno.errors.IsADirectory) {
      throw new UserError(`config path is a directory: ${path}`);
    }
    throw new UserError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  return parseConfigYaml(text, path);
}

/** The data schema for `data.source`, extended with the `source` key itself. */
function dataSchemaOf(raw: Record<string, unknown>, source: string): z.ZodType<DataConfig> {
  const data = raw.data;
  if (data === undefined || data === null) {
    throw new UserError(`${source}: data: required (a mapping with a "source" key)`);
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new UserError(`${source}: data: expected a mapping`);
  }
  const kind = (data as Record<string, unknown>).source;
  const names = dataKindNames();
  if (typeof kind !== "string") {
    throw new UserError(
      `${source}: data.source: required (one of ${names.join(", ") || "no kinds registered"})`,
    );
  }
  const schema = dataSchemaFor(kind);
  if (!schema) {
    throw new UserError(
      `${source}: data.source: unknown kind "${kind}" (registered: ${names.join(", ")})`,
    );
  }
  return z.strictObject({ source: z.literal(kind), ...schema.shape });
}

/** Validates a raw mapping (no sweep) into a resolved Config. */
export function validateConfig(raw: Record<string, unknown>, source = "config"): Config {
  const model = raw.model as Record<string, unknown> | undefined;
  const modelName = typeof model?.name === "string" ? model.name : "gpt";
  const modelExtra = modelSchemaFor(modelName);
  const schema = configSchema(dataSchemaOf(raw, source), {
    model: modelExtra,
    trainingExtra: trainingExtraSchema(),
  });
  const result = schema.safeParse(raw);
  if (!result.success) {
    // An unknown key says whose schema judged it: a plugin's model, or the plugins' extra keys.
    const lines = result.error.issues.map((issue) => {
      const line = formatIssue(issue, schema, raw);
      if (issue.code !== "unrecognized_keys") return line;
      const path = issue.path.join(".");
      if (path === "model") {
        return `${line} (checked against model "${modelName}"'s schema: ${
          modelExtra
            ? "built-in keys and its own"
            : "built-in keys only; a plugin's model needs --import FILE.ts"
        })`;
      }
      if (path === "training.extra") {
        const owners = trainingExtraOwners();
        return `${line} (training.extra keys come from plugins; declared by: ${
          owners.join(", ") || "none loaded (pass --import?)"
        })`;
      }
      return line;
    });
    throw new UserError(`${source}: ${lines.join("; ")}`);
  }
  checkConfigLimits(result.data as Config, source);
  return result.data as Config;
}

/** One config of a (possibly swept) file, with the sweep values that produced it. */
export interface LoadedConfig {
  config: Config;
  sweep: SweepPoint;
  /** The sweep's id and this point's index in it, when the file has a `sweep:` section. */
  sweepId?: string;
  sweepIndex?: number;
}

/**
 * Loads every config a file describes: the file, then `overrides` (`training.batch_size=64`),
 * then one config per point of its `sweep:` section (one config when there is none).
 */
export async function loadConfigs(
  path: string,
  overrides: string[] = [],
): Promise<LoadedConfig[]> {
  // A stem (`configs/small`) names small.yaml and every small-*.yaml (src/config/variants.ts).
  const all: LoadedConfig[] = [];
  for (const file of await configPathsFor(path)) {
    all.push(...resolveConfigs(await readConfigFile(file), overrides, file));
  }
  return all;
}

/** Same as `loadConfigs` for an already-read raw mapping. */
export function resolveConfigs(
  raw: Record<string, unknown>,
  overrides: string[],
  source: string,
): LoadedConfig[] {
  const tree = structuredClone(raw);
  const parsed = overrides.map(parseOverride);
  applyOverrides(tree, parsed);
  const id = sweepId(tree);
  // Each ablation beside the base; command-line overrides still win over an ablation's.
  const variants = expandAblations(tree, source).flatMap(({ raw, ablation }) => {
    if (ablation) applyOverrides(raw, parsed.filter((o) => o.path[0] !== "ablations"));
    return expandSweep(raw).map((s) => ({
      raw: s.raw,
      point: ablation ? { ablation, ...s.point } : s.point,
    }));
  });
  return variants.map(({ raw, point }, index) => {
    const label = Object.keys(point).length
      ? `${source} [${Object.entries(point).map(([k, v]) => `${k}=${JSON.stringify(v)}`)}]`
      : source;
    const config = validateConfig(raw, label);
    return id === null
      ? { config, sweep: point }
      : { config, sweep: point, sweepId: id, sweepIndex: index };
  });
}

/**
 * Loads and validates one experiment config. A file whose `sweep:` section gives several configs
 * is an error here; use `loadConfigs` for sweeps.
 *
 * @example
 * ```ts
 * const cfg = await loadConfig("configs/mess3.yaml", ["training.max_steps=100", "seed=3"]);
 * ```
 */
export async function loadConfig(path: string, overrides: string[] = []): Promise<Config> {
  const all = await loadConfigs(path, overrides);
  if (all.length !== 1) {
    throw new UserError(`${path}: its sweep gives ${all.length} configs; use loadConfigs()`);
  }
  return all[0].config;
}

/** The resolved config as YAML (what the run directory stores as config.yaml). */
export function configToYaml(config: Config): string {
  return YAML.stringify(config, { lineWidth: 0 });
}

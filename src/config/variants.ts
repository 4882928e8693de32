/**
 * Config variants as a research template runs them: `--config configs/small` runs `small.yaml`
 * and every `small-*.yaml` beside it (each a complete config), and an `ablations:` section (named
 * override sets) runs each ablation beside the base config, as experiment
 * `<experiment_name>-<ablation>`.
 *
 * @module
 */

import { basename, dirname, extname, join } from "node:path";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";

/**
 * The config files `path` names: itself when it is a file; for a stem `dir/small`, `small.yaml`
 * (or `.yml`) then every `small-*.yaml` in name order; for a directory, every `*.yaml` in it.
 */
export async function configPathsFor(path: string): Promise<string[]> {
  let stat: Deno.FileInfo | null = null;
  try {
    stat = await Deno.stat(path);
  } catch {
    // not a file or directory: maybe a stem
  }
  if (stat?.isFile) return [path];
  const yaml = (n: string) => /\.ya?ml$/.test(n);
  if (stat?.isDirectory) {
    const names = [...Deno.readDirSync(path)].filter((e) => e.isFile && yaml(e.name))
      .map((e) => e.name).sort();
    if (!names.length) throw new UserError(`config directory ${path} holds no .yaml files`);
    return names.map((n) => join(path, n));
  }
  if (extname(path) === "") {
    const dir = dirname(path);
    const stem = basename(path);
    const found: string[] = [];
    for (const ext of [".yaml", ".yml"]) {
      if (await exists(join(dir, stem + ext))) {
        found.push(join(dir, stem + ext));
        break;
      }
    }
    let variants: string[] = [];
    try {
      variants = [...Deno.readDirSync(dir)]
        .filter((e) => e.isFile && e.name.startsWith(`${stem}-`) && yaml(e.name))
        .map((e) => join(dir, e.name)).sort();
    } catch {
      // no such directory: reported below
    }
    if (found.length || variants.length) return [...found, ...variants];
    throw new UserError(
      `config file not found: ${path} (also tried ${path}.yaml and ${path}-*.yaml)`,
    );
  }
  return [path]; // readConfigFile reports it missing
}

/** One config of an `ablations:` expansion: the tree, and the ablation's name (none: the base). */
export interface AblationVariant {
  raw: Record<string, unknown>;
  ablation?: string;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    if (isMapping(v) && isMapping(into[k])) deepMerge(into[k] as Record<string, unknown>, v);
    else into[k] = structuredClone(v);
  }
}

/**
 * The base config (without its `ablations:` key) followed by one config per ablation: the base
 * with the ablation's mapping merged over it and `-<name>` appended to `experiment_name`.
 *
 * @example
 * ```yaml
 * ablations:
 *   no_relu: { model: { inject_relu: false } }
 *   wide: { model: { d_model: 256 } }
 * ```
 */
export function expandAblations(raw: Record<string, unknown>, source: string): AblationVariant[] {
  const { ablations, ...base } = raw;
  if (ablations === undefined || ablations === null) return [{ raw: base }];
  if (!isMapping(ablations)) {
    throw new UserError(`${source}: ablations: expected a mapping of name → config overrides`);
  }
  const out: AblationVariant[] = [{ raw: base }];
  for (const [name, overrides] of Object.entries(ablations)) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new UserError(`${source}: ablations.${name}: use letters, digits, '.', '_' and '-'`);
    }
    if (!isMapping(overrides)) {
      throw new UserError(`${source}: ablations.${name}: expected a mapping of config keys`);
    }
    const variant = structuredClone(base);
    deepMerge(variant, overrides);
    const experiment = variant.experiment_name;
    if (typeof experiment === "string") variant.experiment_name = `${experiment}-${name}`;
    out.push({ raw: variant, ablation: name });
  }
  return out;
}

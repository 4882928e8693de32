/**
 * Configs kiln carries in its module graph (text imports), so a bundled `dist/kiln.js` or a
 * compiled binary run from an empty folder still has the demo's config.
 *
 * @module
 */

import mess3 from "../../configs/mess3.yaml" with { type: "text" };
import { parseYaml } from "../deps.ts";
import { exists } from "../util/fs.ts";
import { loadConfig, resolveConfigs } from "./load.ts";
import type { Config } from "./schema.ts";
import { UserError } from "../util/errors.ts";

/** Built-in config texts by their path in the repository. */
export const BUILTIN_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  "configs/mess3.yaml": mess3,
});

/**
 * `loadConfig(path, overrides)`, except that a built-in path with no such file on disk (an
 * empty folder, the binary) loads the built-in copy.
 */
export async function loadConfigOrBuiltin(path: string, overrides: string[]): Promise<Config> {
  const builtin = BUILTIN_CONFIGS[path];
  if (builtin === undefined || await exists(path)) return await loadConfig(path, overrides);
  const configs = resolveConfigs(parseYaml(builtin), overrides, path);
  if (configs.length !== 1) throw new UserError(`${path}: a sweep is not allowed here`);
  return configs[0].config;
}

/**
 * `deno task train --config X --print-config`: the configs a command line would train, with
 * their "auto" model sizes resolved from the data, as YAML (one document per sweep point).
 *
 * @module
 */

import { configToYaml } from "../config/load.ts";
import { type LaunchOptions, resolveLaunch } from "./launch.ts";
import { resolveConfig } from "./resolve_config.ts";

/** The resolved configs of a `train` command line as YAML documents (`---` between them). */
export async function printableConfigs(opts: LaunchOptions): Promise<string> {
  const { configs } = await resolveLaunch(opts);
  const docs: string[] = [];
  for (const { config } of configs) {
    docs.push(configToYaml((await resolveConfig(config)).config));
  }
  return docs.join("---\n");
}

/**
 * Builds the source a config describes and resolves the config's "auto" model sizes from it
 * (src/config/model_sizes.ts): what a run trains with and what `--print-config` prints.
 *
 * @module
 */

import { resolveModelSizes, sourceContextOf } from "../config/model_sizes.ts";
import type { Config, ResolvedConfig } from "../config/schema.ts";
import "../data/sources_all.ts";
import { createSource, type TrainingSource } from "../data/sources.ts";

/**
 * Builds the source `cfg` describes and resolves the model sizes from it: what a run trains
 * with and what `deno task train --print-config` prints.
 *
 * @example
 * ```ts
 * const { config } = await resolveConfig(await loadConfig("configs/mess3.yaml"));
 * console.log(config.model.vocab_size); // 4: three tokens and BOS
 * ```
 */
export async function resolveConfig(
  cfg: Config,
  readTextFile: (path: string) => Promise<string> = (path) => Deno.readTextFile(path),
): Promise<{ config: ResolvedConfig; source: TrainingSource }> {
  const source = await createSource(
    cfg.data,
    sourceContextOf(cfg, readTextFile),
  );
  return { config: resolveModelSizes(cfg, source), source };
}

/**
 * The Deno host's {@link TuneCache}: one JSON file in the user cache dir
 * (`$XDG_CACHE_HOME/kiln/matmul-tuning.json` or `~/.cache/kiln/…`), written atomically.
 *
 * @module
 */

import type { TuneCache } from "../gpu/autotune.ts";
import { writeJsonAtomic } from "./fs.ts";
import { hostEnv } from "./host_env.ts";

/** Path of the tuning cache, or null when the environment names no home or cache dir. */
export function tuneCachePath(): string | null {
  const home = hostEnv("HOME");
  const base = hostEnv("XDG_CACHE_HOME") ?? (home ? `${home}/.cache` : null);
  return base ? `${base}/kiln/matmul-tuning.json` : null;
}

/** The tuning cache file, or undefined when there is no cache dir (tune every time). */
export function fileTuneCache(path = tuneCachePath()): TuneCache | undefined {
  if (path === null) return undefined;
  const read = async (): Promise<Record<string, number>> => {
    try {
      return JSON.parse(await Deno.readTextFile(path));
    } catch {
      return {};
    }
  };
  return {
    async get(key) {
      const v = (await read())[key];
      return typeof v === "number" ? v : undefined;
    },
    async set(key, value) {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await writeJsonAtomic(path, { ...(await read()), [key]: value });
    },
  };
}

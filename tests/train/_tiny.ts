/** Shared fixture of the trainer tests: a tiny char model config. */

import "../../src/data/sources_all.ts";
import { resolveConfigs } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { Device } from "../../src/gpu/device.ts";
import { fileTuneCache } from "../../src/util/tune_cache_file.ts";

/** A tiny char model on tinyshakespeare: 40 steps take a few seconds on lavapipe. */
export function tinyConfig(overrides: string[] = []): Config {
  const raw = {
    experiment_name: "tiny",
    seed: 5,
    data: { source: "text", dataset: "../shared/data/tinyshakespeare.txt" },
    model: { vocab_size: 65, max_seq_len: 16, n_layer: 2, n_head: 2, d_model: 32, bias: true },
    training: {
      batch_size: 4,
      max_steps: 40,
      learning_rate: 3e-3,
      warmup_steps: 5,
      log_every: 1,
      eval_every: 10,
      eval_batches: 2,
      checkpoint_every: 20,
      keep_checkpoints: 1,
    },
  };
  return resolveConfigs(raw, overrides, "tiny")[0].config;
}

/** Runs `fn` with a fresh device and an empty runs root, and cleans both up afterwards. */
export async function withDeviceAndRoot(
  fn: (dev: Device, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  const dev = await Device.open({ tuneCache: fileTuneCache() });
  try {
    await fn(dev, root);
  } finally {
    dev.destroy();
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * Opening a run for `--resume`: take its lock, repair what a killed writer left, pick the
 * checkpoint, load it through the one checked loader, and compare the config resumed with
 * against the run's saved `config.yaml` (changes that break an exact resume need `--force`).
 *
 * @module
 */

import { join } from "node:path";
import { readConfigFile, validateConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import {
  type Checkpoint,
  loadCheckpoint,
  recoverCheckpoints,
  resolveResumeTarget,
  resumeRunDir,
} from "./checkpoint.ts";
import { type ConfigChange, configChanges, describeChange } from "./resume_changes.ts";
import { RunLock } from "./run_lock.ts";

/** A run opened for resuming (the caller releases `lock`). */
export interface OpenedResume {
  runDir: string;
  checkpointDir: string;
  checkpoint: Checkpoint;
  lock: RunLock;
  changes: ConfigChange[];
  repaired: string[];
}

/** Opens `path` (a run or checkpoint directory) to resume with `cfg`; see the module doc. */
export async function openResume(path: string, cfg: Config, force: boolean): Promise<OpenedResume> {
  const lock = await RunLock.acquire(await resumeRunDir(path), "resume");
  try {
    // Under the lock, before choosing: recovery may put a moved-aside checkpoint back.
    const repaired = await recoverCheckpoints(lock.runDir);
    const { runDir, checkpointDir } = await resolveResumeTarget(path);
    const checkpoint = await loadCheckpoint(checkpointDir);
    const savedPath = join(runDir, "config.yaml");
    const saved = await exists(savedPath)
      ? validateConfig(await readConfigFile(savedPath), savedPath)
      : null;
    const changes = saved ? configChanges(saved, cfg) : [];
    const breaking = changes.filter((c) => c.breaksExactResume);
    if (breaking.length && !force) {
      throw new UserError(
        `resuming ${runDir} would change ${breaking.map(describeChange).join(", ")}, which ` +
          `breaks exact resume: pass --force to resume anyway`,
      );
    }
    // Every micro-batch is drawn by index: the position must be where the steps put it.
    const accum = (saved ?? cfg).training.grad_accum_steps;
    const s = checkpoint.state;
    if (s.batch_index !== s.step * accum) {
      throw new UserError(
        `${join(checkpointDir, "state.json")}: batch_index ${s.batch_index} does not match ` +
          `step ${s.step} × grad_accum_steps ${accum}`,
      );
    }
    return { runDir, checkpointDir, checkpoint, lock, changes, repaired };
  } catch (err) {
    lock.releaseSync();
    throw err;
  }
}

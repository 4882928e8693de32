/**
 * Fault injection (issue 19): kill -9 at every syscall of the checkpoint writer (a fresh save, a
 * re-save of an existing step, pruning) and between steps, two writers at once, a full disk.
 * Every case must end in a clean recovery whose losses and weights equal an uninterrupted run's
 * bit for bit, or in a one-line error with exit 2; run.json always tells the truth.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Device } from "../../src/gpu/device.ts";
import { loadCheckpoint, resolvePointer } from "../../src/train/checkpoint.ts";
import { launchTraining } from "../../src/train/launch.ts";
import { RunLock } from "../../src/train/run_lock.ts";
import { fileTuneCache } from "../../src/util/tune_cache_file.ts";
import { listRuns } from "../../src/viz/runs_table.ts";
import { assertOneLineError, runCommand } from "../_support/cli.ts";
import { FULL_TESTS, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import {
  assertEqualsReference,
  copyOfReference,
  leftovers,
  lossCurve,
  onlyRun,
  referenceRun,
  statusOf,
  trainCli,
  WORK,
} from "./_faults.ts";

const gpu = await hasWebGpuAdapter();

/** Resumes `path` in this process (the recovering "next start"). */
async function resumeHere(path: string, dev: Device): Promise<void> {
  const [r] = await launchTraining({
    resume: path,
    overrides: [],
    trainOptions: { device: dev, progress: false },
  });
  assert.equal(r.status, "finished", r.message);
}

async function withDevice(fn: (dev: Device) => Promise<void>): Promise<void> {
  const dev = await Device.open({ tuneCache: fileTuneCache() });
  try {
    await fn(dev);
  } finally {
    dev.destroy();
  }
}

/** Kills that leave a run directory behind, on a fresh run (n: which occurrence). */
const FRESH_KILLS: [point: string, n: number, what: string][] = [
  ["train.step", 1, "after step 1, before any checkpoint"],
  ["checkpoint.before_fsync_file", 1, "inside the first checkpoint's first file"],
  ["checkpoint.after_pointer", 1, "right after checkpoint 2 is committed"],
  ["train.step", 3, "between checkpoints 2 and 4"],
  ["checkpoint.after_fsync_file", 8, "checkpoint 4 complete in its temp dir"],
  ["checkpoint.before_rename_new", 2, "before checkpoint 4 is renamed into place"],
  ["checkpoint.after_rename_new", 2, "checkpoint 4 in place, latest still at 2"],
  ["checkpoint.after_fsync_dir", 4, "checkpoint 4 renamed and fsynced"],
  ["checkpoint.after_pointer", 2, "right after checkpoint 4 is committed"],
  ["train.step", 5, "between checkpoints 4 and 6"],
  ["checkpoint.before_pointer", 3, "checkpoint 6 in place, latest still at 4"],
  ["checkpoint.after_pointer", 3, "checkpoint 6 committed, before pruning"],
  ["checkpoint.before_remove_prune", 1, "checkpoint 2 renamed away, not yet removed"],
];

/** Kills while resuming from step 4 re-saves the existing step_6. */
const RESAVE_KILLS: string[] = [
  "checkpoint.before_rename_old",
  "checkpoint.after_rename_old",
  "checkpoint.after_rename_new",
  "checkpoint.before_pointer",
  "checkpoint.after_pointer",
  "checkpoint.before_remove_old",
  "checkpoint.after_remove_old",
];

testNeeding(
  "a WebGPU adapter",
  gpu,
  `kill -9 at ${FRESH_KILLS.length} points of a fresh run: marked killed, resumed bit for bit`,
  async () => {
    await referenceRun();
    await withDevice(async (dev) => {
      for (const [point, n, what] of FRESH_KILLS) {
        const root = join(WORK, `fresh-${point}-${n}`);
        const out = await trainCli(["--config", "c.yaml", "--runs", root], {
          KILN_TEST_CRASH_AT: `${point}:${n}`,
        });
        assert.equal(out.code, 137, `${what}: killed (${out.stderr})`);
        const dir = await onlyRun(root);
        assert.equal(await statusOf(dir), "running", what);
        // The next `runs` (and viz) finds the process gone and says so.
        const [row] = await listRuns(root);
        assert.equal(row.status, "killed", what);
        assert.equal(await statusOf(dir), "killed", what);
        if (!(await resolvePointer(dir, "latest"))) {
          // Killed before any checkpoint committed: nothing to resume, said in one line.
          const again = await trainCli(["--resume", dir]);
          assertOneLineError(again, /has no complete checkpoint to resume from/);
          assert.deepEqual(await leftovers(dir), [], `${what}: temp dirs cleaned`);
          continue;
        }
        await resumeHere(dir, dev);
        await assertEqualsReference(dir);
      }
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  `kill -9 at ${RESAVE_KILLS.length} points of re-saving an existing step: never lost`,
  async () => {
    await withDevice(async (dev) => {
      for (const point of RESAVE_KILLS) {
        const dir = await copyOfReference(`resave-${point}`);
        const out = await trainCli(["--resume", join(dir, "checkpoints", "step_4")], {
          KILN_TEST_CRASH_AT: `${point}:1`,
        });
        assert.equal(out.code, 137, `${point}: killed (${out.stderr})`);
        // Whatever the moment, a complete checkpoint is found (validate's view, read-only).
        const found = await resolvePointer(dir, "latest") ??
          (await Array.fromAsync(Deno.readDir(join(dir, "checkpoints"))))
            .find((e) => e.name.endsWith(".old"))?.name;
        assert.ok(found, `${point}: a complete checkpoint remains`);
        await resumeHere(dir, dev);
        await assertEqualsReference(dir);
      }
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "a second writer gets a one-line error naming the lock holder; two resumes at once stay exact",
  async () => {
    const held = await copyOfReference("held");
    const lock = await RunLock.acquire(held, "test");
    try {
      const out = await trainCli(["--resume", join(held, "checkpoints", "step_4")]);
      assertOneLineError(out, new RegExp(`in use by pid ${Deno.pid} on \\S+ \\(test, since `));
      assert.equal(await statusOf(held), "finished", "the refused resume wrote nothing");
    } finally {
      lock.releaseSync();
    }

    const dir = await copyOfReference("concurrent");
    const target = join(dir, "checkpoints", "step_4");
    const [a, b] = await Promise.all([
      trainCli(["--resume", target]),
      trainCli(["--resume", target]),
    ]);
    for (const r of [a, b]) {
      if (r.code !== 0) assertOneLineError(r, /is in use by pid \d+/);
    }
    assert.ok(a.code === 0 || b.code === 0, `one resume finished: ${a.stderr} ${b.stderr}`);
    await assertEqualsReference(dir);
  },
);

/** Mounts a tmpfs of `size` at a new directory, or returns why it cannot. */
async function mountTmpfs(size: string): Promise<string | { reason: string }> {
  const dir = join(WORK, `tmpfs-${size}`);
  await Deno.mkdir(dir);
  const out = await runCommand("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir])
    .catch((err) => ({ code: -1, stderr: String(err), stdout: "" }));
  return out.code === 0 ? dir : { reason: `mount -t tmpfs failed: ${out.stderr.trim()}` };
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "disk full while checkpointing: one line, exit 2, status failed, the committed checkpoint resumes exactly",
  async () => {
    // Room for the run's small files and one checkpoint (~172 KiB in pages), not two.
    const mount = await mountTmpfs("280k");
    if (typeof mount !== "string") {
      if (FULL_TESTS) throw new Error(mount.reason);
      console.log(`skipping the disk-full case: ${mount.reason}`);
      return;
    }
    try {
      const out = await trainCli(["--config", "c.yaml", "--runs", mount]);
      assertOneLineError(out, /No space left on device/);
      const dir = await onlyRun(mount);
      const info = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
      assert.equal(info.status, "failed");
      assert.match(info.message, /No space left on device/);
      assert.deepEqual(await leftovers(dir), [], "the partial checkpoint was removed");
      const latest = await resolvePointer(dir, "latest");
      assert.ok(latest, "the checkpoint committed before the disk filled is there");
      await loadCheckpoint(latest); // and intact (manifest, fields, tensors)
      // Off the full disk, it resumes to exactly the uninterrupted run.
      const copy = join(WORK, "off-tmpfs", "fi", "run");
      await Deno.mkdir(join(WORK, "off-tmpfs", "fi"), { recursive: true });
      assert.equal((await runCommand("cp", ["-a", dir, copy])).code, 0);
      await withDevice((dev) => resumeHere(copy, dev));
      await assertEqualsReference(copy);
      assert.ok((await lossCurve(copy)).length > 0);
    } finally {
      await runCommand("umount", [mount]);
    }
  },
);

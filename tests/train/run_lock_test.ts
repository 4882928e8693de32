import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { markDeadRun } from "../../src/train/dead_run.ts";
import { holderIsGone, lockPath, readLock, RunLock } from "../../src/train/run_lock.ts";
import { UserError } from "../../src/util/errors.ts";

/** The pid of a process that has already exited (so certainly gone). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

function holder(pid: number, host = hostname()) {
  return { pid, host, start: null, since: "2026-01-01T00:00:00.000Z", command: "train" };
}

Deno.test("run lock: exclusive, names its holder, released once; stale locks are taken over", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lock = await RunLock.acquire(dir, "train");
    assert.equal((await readLock(dir))?.pid, Deno.pid);
    await assert.rejects(
      () => RunLock.acquire(dir, "resume"),
      (err: Error) =>
        err instanceof UserError &&
        err.message === `run ${dir} is in use by pid ${Deno.pid} on ${hostname()} (train, since ` +
            `${(JSON.parse(Deno.readTextFileSync(lockPath(dir)))).since}): wait for it to end`,
    );
    lock.releaseSync();
    lock.releaseSync();
    await assert.rejects(() => Deno.stat(lockPath(dir)), Deno.errors.NotFound);

    // A holder whose process is gone on this host: stale, taken over.
    const gone = await deadPid();
    assert.equal(holderIsGone(holder(gone)), true);
    assert.equal(holderIsGone(holder(Deno.pid)), false);
    await Deno.writeTextFile(lockPath(dir), JSON.stringify(holder(gone)));
    (await RunLock.acquire(dir, "resume")).releaseSync();

    // On another host nothing can be known: never stale.
    assert.equal(holderIsGone(holder(gone, "elsewhere.example")), false);
    await Deno.writeTextFile(lockPath(dir), JSON.stringify(holder(gone, "elsewhere.example")));
    await assert.rejects(() => RunLock.acquire(dir, "resume"), /in use by pid \d+ on elsewhere/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a running run whose process is gone is marked killed; a live or finished one is not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (status: string) =>
      Deno.writeTextFile(join(dir, "run.json"), JSON.stringify({ id: "x", status }));
    await write("running");
    assert.equal(await markDeadRun(dir), false, "no lock: nothing is known");
    const live = await RunLock.acquire(dir, "train");
    assert.equal(await markDeadRun(dir), false, "its process is alive");
    live.releaseSync();
    await Deno.writeTextFile(lockPath(dir), JSON.stringify(holder(await deadPid())));
    assert.equal(await markDeadRun(dir), true);
    const info = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
    assert.equal(info.status, "killed");
    assert.match(info.message, /^process \d+ on .+ ended without finishing \(no checkpoint\)$/);
    await write("finished");
    await Deno.writeTextFile(lockPath(dir), JSON.stringify(holder(await deadPid())));
    assert.equal(await markDeadRun(dir), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

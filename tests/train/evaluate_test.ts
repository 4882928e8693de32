/**
 * Ctrl-C during a long validation (issue 19): a real `train` and a real `validate --eval` child
 * with a million validation batches get SIGINT while evaluating and stop cleanly. Without the fix
 * the pass runs for hours; the only bound here is the child's exit (a watchdog kills it after
 * 120 s so a regression fails instead of hanging the suite).
 */

import assert from "node:assert/strict";
import { join } from "node:path";

const TOOLS = new URL("../../tools/", import.meta.url).pathname;
const CONFIG = new URL("../../configs/mess3.yaml", import.meta.url).pathname;

/** True once `pid` catches SIGINT (bit 2 of SigCgt): its listener is installed. */
async function catchesSigint(pid: number): Promise<boolean> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const mask = BigInt("0x" + status.match(/^SigCgt:\s*([0-9a-f]+)/m)![1]);
    return (mask & 2n) !== 0n;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Spawns a tool; `ready` says when to send SIGINT; returns code and output after it exits. */
async function interruptTool(
  tool: string,
  args: string[],
  ready: (pid: number) => Promise<boolean>,
): Promise<{ code: number; stdout: string; stderr: string; watchdog: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(TOOLS, `${tool}.ts`), ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let watchdog = false;
  const timer = setTimeout(() => {
    watchdog = true;
    child.kill("SIGKILL");
  }, 120_000);
  try {
    await until(`${tool} to be evaluating`, () => ready(child.pid));
    // Let the pass get going (a few chunks), then interrupt it.
    await new Promise((r) => setTimeout(r, 1000));
    child.kill("SIGINT");
    const out = await output;
    const d = new TextDecoder();
    return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr), watchdog };
  } finally {
    clearTimeout(timer);
  }
}

async function onlyRun(root: string): Promise<string> {
  const exp = join(root, "mess3");
  const names = [];
  for await (const e of Deno.readDir(exp)) names.push(e.name);
  assert.equal(names.length, 1);
  return join(exp, names[0]);
}

Deno.test("evaluate: Ctrl-C during train's validation stops the run at once", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = await interruptTool(
      "train",
      [
        "--config",
        CONFIG,
        "--runs",
        root,
        "--no-progress",
        "training.max_steps=50",
        "training.eval_batches=1000000",
      ],
      // SIGINT is listened for from the run's start; metrics.jsonl then exists and the step-0
      // validation is under way.
      async (pid) =>
        await catchesSigint(pid) && (await Array.fromAsync(Deno.readDir(root))).length > 0,
    );
    assert.equal(out.watchdog, false, "stopped before the watchdog");
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /: stopped at step \d+/);
    const dir = await onlyRun(root);
    const info = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
    assert.equal(info.status, "stopped");
    const lines = (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l));
    // The interrupted validation logged nothing; the stop wrote a checkpoint.
    assert.equal(lines.filter((l) => l.type === "val").length, 0);
    assert.ok(lines.some((l) => l.event === "checkpoint"));
    assert.equal(lines.at(-1).event, "stopped");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("evaluate: Ctrl-C during validate --eval prints one line and exits 130", async () => {
  const root = await Deno.makeTempDir();
  try {
    const train = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(TOOLS, "train.ts"),
        "--config",
        CONFIG,
        "--runs",
        root,
        "--no-progress",
        "training.max_steps=2",
        "training.eval_every=0",
      ],
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(train.code, 0, new TextDecoder().decode(train.stderr));
    const dir = await onlyRun(root);
    const out = await interruptTool(
      "validate",
      ["--checkpoint", dir, "--eval", "--max-batches", "1000000", "--no-progress"],
      catchesSigint,
    );
    assert.equal(out.watchdog, false, "stopped before the watchdog");
    assert.equal(out.code, 130);
    assert.equal(out.stdout, "");
    assert.match(
      out.stderr.trim(),
      /^error: stopped by Ctrl-C after \d+ of 1000000 validation batches$/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * `deno task pack --out DIR`: a self-contained folder for a GPU host without internet. It holds
 * the running Deno binary (gzip-compressed, unpacked on first use), a DENO_DIR with only the
 * packages the runtime entry points import (no test or peer-benchmark packages), the repository
 * files, and `run.sh`, which runs any kiln command (`run.sh demo`, `run.sh train --config …`) or a
 * benchmark (`run.sh bench gpu_report --quick`) with `--cached-only`, so nothing is fetched.
 *
 * The folder is built next to DIR and renamed into place at the end: an interrupted pack leaves
 * no half-written DIR, and an existing DIR is never touched.
 */

import { basename, dirname, join, relative, resolve } from "node:path";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";

/** Entry points whose imports the pack's DENO_DIR must hold. */
export const RUNTIME_ENTRY_POINTS = [
  "tools/kiln.ts",
  "bench/gpu_report.ts",
  "bench/train_speed.ts",
] as const;

/** Options of `packOffline`. */
export interface PackOptions {
  /** The folder to create (must not exist, or be an empty directory). */
  out: string;
  /** The repository root (default: the current directory). */
  repo?: string;
  /** Called after each stage with (done, total, label). */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** What was written. */
export interface PackResult {
  out: string;
  files: number;
  denoBytes: number;
  cacheBytes: number;
}

const RUN_SH = `#!/bin/sh
# Runs a kiln command from this offline pack: ./run.sh demo | ./run.sh train --config … |
# ./run.sh bench gpu_report [--quick] …  Nothing is downloaded (--cached-only).
set -e
HERE="$(cd "$(dirname "$0")" && pwd)"
DENO="$HERE/bin/deno"
if [ ! -x "$DENO" ]; then
  mkdir -p "$HERE/bin"
  gzip -dc "$HERE/deno.gz" > "$DENO.tmp.$$"
  chmod +x "$DENO.tmp.$$"
  mv "$DENO.tmp.$$" "$DENO"
fi
export DENO_DIR="$HERE/deno_dir"
export DENO_NO_UPDATE_CHECK=1
cd "$HERE/repo"
if [ "$1" = "bench" ]; then
  shift
  NAME="$1"
  if [ -z "$NAME" ] || [ ! -f "bench/$NAME.ts" ]; then
    echo "usage: run.sh bench <name> [args…]; benches: $(ls bench | sed -n 's/\\.ts$//p' | tr '\\n' ' ')" >&2
    exit 2
  fi
  shift
  exec "$DENO" run -A --cached-only --frozen --config deno.json "bench/$NAME.ts" "$@"
fi
exec "$DENO" run -A --cached-only --frozen tools/kiln.ts "$@"
`;

/** Builds the pack (see the module comment). */
export async function packOffline(opts: PackOptions): Promise<PackResult> {
  const repo = resolve(opts.repo ?? ".");
  const out = resolve(opts.out);
  await checkTarget(out);
  if (!(await exists(join(repo, "deno.json")))) {
    throw new UserError(`${repo} is not a kiln checkout (no deno.json)`);
  }
  const total = 4;
  const progress = (done: number, label: string) => opts.onProgress?.(done, total, label);
  const staging = join(
    dirname(out),
    `.${basename(out)}.partial-${crypto.randomUUID().slice(0, 8)}`,
  );
  await Deno.mkdir(staging, { recursive: true });
  try {
    const files = await repoFiles(repo);
    for (const f of files) {
      const to = join(staging, "repo", f);
      await Deno.mkdir(dirname(to), { recursive: true });
      await Deno.copyFile(join(repo, f), to);
    }
    progress(1, "repository files");
    await cacheRuntimePackages(join(staging, "repo"), join(staging, "deno_dir"));
    progress(2, "runtime packages");
    const denoBytes = await gzipFile(Deno.execPath(), join(staging, "deno.gz"));
    progress(3, "deno binary");
    await Deno.writeTextFile(join(staging, "run.sh"), RUN_SH, { mode: 0o755 });
    await Deno.chmod(join(staging, "run.sh"), 0o755);
    const cacheBytes = await treeBytes(join(staging, "deno_dir"));
    if (await exists(out)) await Deno.remove(out); // an empty directory (checked above)
    await Deno.rename(staging, out);
    progress(4, "done");
    return { out, files: files.length, denoBytes, cacheBytes };
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw err;
  }
}

async function checkTarget(out: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(out);
  } catch {
    return; // does not exist: fine
  }
  if (!info.isDirectory) throw new UserError(`--out ${out} exists and is not a directory`);
  for await (const _ of Deno.readDir(out)) {
    throw new UserError(`--out ${out} is not empty; choose a new folder`);
  }
}

/** Tracked and untracked-but-not-ignored files (so uncommitted work travels too). */
async function repoFiles(repo: string): Promise<string[]> {
  const git = await new Deno.Command("git", {
    args: ["ls-files", "-co", "--exclude-standard", "-z"],
    cwd: repo,
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  if (git?.success) {
    const listed = new TextDecoder().decode(git.stdout).split("\0").filter(Boolean);
    const present: string[] = [];
    for (const f of listed) if (await exists(join(repo, f))) present.push(f);
    return present;
  }
  // Not a git checkout (e.g. an unpacked pack): the source folders and top-level files.
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      const rel = relative(repo, path);
      if (e.isDirectory && !["runs", "dist", ".git", "node_modules"].includes(rel)) {
        await walk(path);
      } else if (e.isFile) files.push(rel);
    }
  };
  await walk(repo);
  return files;
}

/**
 * Caches what the runtime entry points import into a fresh DENO_DIR. Deno installs every
 * package of deno.json's import map, so the pack's deno.json keeps only the entries the
 * runtime graph uses (found with `deno info --json`); the lock file pins their versions.
 */
async function cacheRuntimePackages(repo: string, denoDir: string): Promise<void> {
  const entries = [];
  for (const e of RUNTIME_ENTRY_POINTS) if (await exists(join(repo, e))) entries.push(e);
  const env = { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" };
  const used = new Set<string>();
  for (const entry of entries) {
    // Against the caller's own Deno cache: info installs the whole import map.
    const info = await deno(["info", "--json", "--config", "deno.json", entry], repo, {});
    const graph = JSON.parse(info) as { modules: { dependencies?: { specifier: string }[] }[] };
    for (const m of graph.modules) for (const d of m.dependencies ?? []) used.add(d.specifier);
  }
  const configPath = join(repo, "deno.json");
  const config = JSON.parse(await Deno.readTextFile(configPath));
  const imports: Record<string, string> = config.imports ?? {};
  // Used by bare name (tests, bench) or by full specifier (src/deps.ts).
  const isUsed = (name: string) => [...used].some((s) => s === name || s.startsWith(`${name}/`));
  config.imports = Object.fromEntries(
    Object.entries(imports).filter(([key, target]) => isUsed(key) || isUsed(target)),
  );
  await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2) + "\n");
  const lockPath = join(repo, "deno.lock");
  if (await exists(lockPath)) {
    const lock = JSON.parse(await Deno.readTextFile(lockPath));
    const pruned = pruneLock(lock, Object.values(config.imports as Record<string, string>));
    await Deno.writeTextFile(lockPath, JSON.stringify(pruned, null, 2) + "\n");
  }
  // The root config: bench/deno.json (test and peer packages) must not be picked up.
  await deno(["cache", "--frozen", "--config", "deno.json", ...entries], repo, env);
}

/** A Deno lock file (v5) as far as pruning needs it. */
interface DenoLock {
  specifiers?: Record<string, string>;
  npm?: Record<string, { dependencies?: string[] }>;
  workspace?: { dependencies?: string[] };
  [key: string]: unknown;
}

/**
 * The lock restricted to `specifiers` (import-map targets such as `npm:zod@4.6.7`) and the npm
 * packages they need, transitively: Deno installs everything a lock lists, so a pack's lock
 * must list only the runtime's packages. Versions stay exactly as locked.
 */
export function pruneLock(lock: DenoLock, specifiers: readonly string[]): DenoLock {
  const keep = new Set(specifiers);
  const npm = lock.npm ?? {};
  const nameOf = (key: string) => key.slice(0, key.indexOf("@", 1));
  const wanted: string[] = [];
  const specs: Record<string, string> = {};
  for (const [spec, version] of Object.entries(lock.specifiers ?? {})) {
    if (!keep.has(spec)) continue;
    specs[spec] = version;
    const name = spec.slice("npm:".length, spec.lastIndexOf("@"));
    wanted.push(`${name}@${version}`);
  }
  const packages: Record<string, { dependencies?: string[] }> = {};
  while (wanted.length > 0) {
    const key = wanted.pop()!;
    if (packages[key] || !npm[key]) continue;
    packages[key] = npm[key];
    for (const dep of npm[key].dependencies ?? []) {
      for (const other of Object.keys(npm)) if (nameOf(other) === dep) wanted.push(other);
    }
  }
  return {
    ...lock,
    specifiers: specs,
    npm: packages,
    workspace: {
      ...lock.workspace,
      dependencies: (lock.workspace?.dependencies ?? []).filter((d) => keep.has(d)),
    },
  };
}

async function deno(args: string[], cwd: string, env: Record<string, string>): Promise<string> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const why = new TextDecoder().decode(result.stderr).trim().split("\n").pop();
    throw new UserError(
      `deno ${args[0]} of the runtime packages failed (needs the npm registry): ${why}`,
    );
  }
  return new TextDecoder().decode(result.stdout);
}

async function gzipFile(from: string, to: string): Promise<number> {
  const src = await Deno.open(from, { read: true });
  const dst = await Deno.open(to, { write: true, create: true, truncate: true });
  await src.readable.pipeThrough(new CompressionStream("gzip")).pipeTo(dst.writable);
  return (await Deno.stat(to)).size;
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) total += await treeBytes(path);
    else if (e.isFile) total += (await Deno.stat(path)).size;
  }
  return total;
}

/**
 * Type errors before training: `train`, `validate` and `probe` run `deno check` over the user's
 * local code (the `--import` plugins and the repository's edited `.ts` files, as git sees them)
 * before they start, so a type error is a one-line user error rather than a run that trains
 * happily on a wrong program. A passed check leaves a stamp named by the content hash of what was
 * checked (and of src/), so a rerun of unchanged code pays only the hashing.
 *
 * @module
 */

import { basename, join, relative, resolve } from "node:path";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { hostEnv } from "../util/host_env.ts";
import { sha256Hex } from "./imports.ts";

/** Options of {@link typecheckLocal}. */
export interface TypecheckOptions {
  /** Plugin files (`--import`). */
  plugins: readonly string[];
  /** The repository root (default: the working directory). */
  root?: string;
  /** Also check the `.ts` files git reports as modified or untracked (default true). */
  editedFiles?: boolean;
  /** Where pass stamps go (default `$XDG_CACHE_HOME/kiln/typecheck` or `~/.cache/kiln/…`). */
  cacheDir?: string;
  /** The deno executable (default: this one). */
  deno?: string;
}

/** Whether this process can type-check at all: not a compiled binary, not switched off. */
function enabled(): boolean {
  if (hostEnv("KILN_NO_TYPECHECK") === "1") return false;
  return /^deno(\.exe)?$/.test(basename(Deno.execPath()));
}

function defaultCacheDir(): string | null {
  const home = hostEnv("HOME");
  const base = hostEnv("XDG_CACHE_HOME") ?? (home ? `${home}/.cache` : null);
  return base ? join(base, "kiln", "typecheck") : null;
}

/** `.ts` files git sees as modified, added or untracked under `root` (none outside a repo). */
async function editedTsFiles(root: string): Promise<string[]> {
  try {
    const out = await new Deno.Command("git", {
      args: ["status", "--porcelain", "--untracked-files=all", "--", "*.ts"],
      cwd: root,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return [];
    return new TextDecoder().decode(out.stdout).split("\n")
      .filter((l) => l.length > 3 && !l.startsWith(" D") && !l.startsWith("D "))
      .map((l) => l.slice(3).replace(/^.* -> /, ""))
      .filter((p) =>
        p.endsWith(".ts") && !/^(runs|assets|dist|node_modules|\.test-artifacts)\//.test(p)
      )
      .map((p) => resolve(root, p));
  } catch {
    return []; // no git: only the plugins are checked
  }
}

/** Every `.ts` file under `dir`, sorted. */
async function tsFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ts")) out.push(p);
    }
  };
  try {
    await walk(dir);
  } catch {
    // no src/ (a plugin directory outside the repository): hash the plugins alone
  }
  return out.sort();
}

/** One hash of the files to check and the library they build on. */
async function contentHash(files: readonly string[], root: string): Promise<string> {
  const all = [...new Set([...files, ...await tsFilesUnder(join(root, "src"))])].sort();
  const parts: Uint8Array[] = [new TextEncoder().encode(`deno ${Deno.version.deno}\n`)];
  for (const f of all) {
    parts.push(new TextEncoder().encode(`${f}\n`));
    try {
      parts.push(await Deno.readFile(f));
    } catch {
      parts.push(new TextEncoder().encode("<missing>"));
    }
  }
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) [total.set(p, at), at += p.length];
  return await sha256Hex(total);
}

/** The first diagnostic of `deno check`'s output as one line: `file:line:col: TS2322 message`. */
export function firstTypeError(output: string, root: string): string {
  // deno-lint-ignore no-control-regex
  const text = output.replace(/\x1b\[[0-9;]*m/g, "");
  const lines = text.split("\n");
  const i = lines.findIndex((l) => /TS\d+ \[ERROR\]/.test(l));
  if (i < 0) return lines.find((l) => l.trim())?.trim() ?? "deno check failed";
  const message = lines[i].replace(/^.*?(TS\d+) \[ERROR\]:\s*/, "$1 ");
  const at = lines.slice(i).find((l) => /^\s+at file:\/\//.test(l));
  const where = at?.match(/file:\/\/(\S+?):(\d+):(\d+)/);
  const place = where ? `${relative(root, where[1])}:${where[2]}:${where[3]}: ` : "";
  const more = (text.match(/Found (\d+) errors/) ?? [])[1];
  return `${place}${message}${more ? ` (and ${Number(more) - 1} more)` : ""}`;
}

/**
 * Type-checks the local code a command is about to run; a type error is a one-line UserError
 * (exit 2). Does nothing when there is nothing local to check, when the same content already
 * passed, in a compiled binary, or with `KILN_NO_TYPECHECK=1`.
 *
 * @example
 * ```ts
 * await typecheckLocal({ plugins: ["examples/square_mlp/plugin.ts"] });
 * ```
 */
export async function typecheckLocal(opts: TypecheckOptions): Promise<void> {
  if (!opts.deno && !enabled()) return;
  const root = resolve(opts.root ?? ".");
  const plugins = opts.plugins.map((p) => resolve(p));
  const edited = opts.editedFiles === false ? [] : await editedTsFiles(root);
  const files = [...new Set([...plugins, ...edited])];
  if (files.length === 0) return;
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const hash = await contentHash(files, root);
  const stamp = cacheDir ? join(cacheDir, hash) : null;
  if (stamp) {
    try {
      await Deno.stat(stamp);
      return; // this exact content passed before
    } catch {
      // not checked yet
    }
  }
  const out = await new Deno.Command(opts.deno ?? Deno.execPath(), {
    args: ["check", "--quiet", ...files],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new UserError(
      `type error before starting: ${firstTypeError(text, root)} (KILN_NO_TYPECHECK=1 skips this)`,
    );
  }
  if (stamp) {
    await Deno.mkdir(cacheDir!, { recursive: true });
    await writeFileAtomic(stamp, files.join("\n") + "\n");
  }
}

/**
 * `deno task compile` → dist/kiln (one executable; DENORT_BIN for offline builds) and
 * `deno task bundle` → dist/kiln.js (one file for `deno run -A`). See README "The binary".
 */

import { bundleCli, compileCli } from "../src/cli/build.ts";
import { parseCliArgs, runCli } from "../src/cli/run.ts";
import { UserError } from "../src/util/errors.ts";

const HELP = `Usage: deno run -A tools/build.ts <compile|bundle> [--out FILE]

  compile   dist/kiln: one executable (deno compile). Offline, set DENORT_BIN to a denort
            binary of the target platform (denort-<target>.zip of Deno's GitHub release).
  bundle    dist/kiln.js: one JavaScript file, run with: deno run -A dist/kiln.js <command>
  --out F   output file instead of dist/kiln or dist/kiln.js
  --help    this help`;

/** Runs the command with its CLI arguments. */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs("build", args, {
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return console.log(HELP);
  const [what, ...extra] = positionals;
  if (extra.length) throw new UserError(`build: unexpected argument "${extra[0]}"`);
  const out = values.out as string | undefined;
  if (what === "compile") console.log(`wrote ${await compileCli({ out })}`);
  else if (what === "bundle") console.log(`wrote ${await bundleCli({ out })}`);
  else throw new UserError(`build: expected compile or bundle (see --help)`);
}

if (import.meta.main) await runCli(() => main(Deno.args));

/**
 * The sweep flags of `deno task train`: `--list-sweep`, `--sweep-index I`, `--resume-or-start`
 * and `--parallel N`, split off before the shared experiment arguments are parsed.
 *
 * @module
 */

import { intFlag } from "../cli/run.ts";
import { UserError } from "../util/errors.ts";

/** The sweep flags found, and the arguments left for the experiment parser. */
export interface SweepFlags {
  rest: string[];
  listSweep: boolean;
  sweepIndex?: string;
  resumeOrStart: boolean;
  parallel?: number;
}

/** Splits the sweep flags (`--flag value` or `--flag=value`) off `args`. */
export function takeSweepFlags(args: string[]): SweepFlags {
  const out: SweepFlags = { rest: [], listSweep: false, resumeOrStart: false };
  const valueOf = (i: number, name: string): [string, number] => {
    const a = args[i];
    if (a.startsWith(`--${name}=`)) return [a.slice(name.length + 3), i];
    const next = args[i + 1];
    if (next === undefined || next.startsWith("-")) {
      throw new UserError(`train: --${name} needs a value (see --help)`);
    }
    return [next, i + 1];
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const flag = a.startsWith("--") ? a.slice(2).split("=")[0] : "";
    if (a === "--list-sweep") out.listSweep = true;
    else if (a === "--resume-or-start") out.resumeOrStart = true;
    else if (flag === "sweep-index") [out.sweepIndex, i] = valueOf(i, flag);
    else if (flag === "parallel") {
      let text: string;
      [text, i] = valueOf(i, flag);
      out.parallel = intFlag("parallel", text);
      if (out.parallel < 1) throw new UserError("--parallel: expected at least 1");
    } else out.rest.push(a);
  }
  return out;
}

/**
 * Paths a server names must stay inside the folder they are written to. A Hub tree entry (or a
 * hostile `HF_ENDPOINT`) saying `../../.bashrc` or `/etc/x` would otherwise be joined onto
 * `--out` and written outside it.
 *
 * @module
 */

import { isAbsolute, relative, resolve } from "node:path";
import { UserError } from "../util/errors.ts";

/**
 * Throws a one-line UserError unless `path` is a plain relative path that stays inside `dir`:
 * no absolute path or drive letter, no `..` or `.` segment, no empty segment, no backslash or
 * NUL. `what` names the source in the message.
 */
export function checkPathInside(dir: string, path: string, what: string): void {
  const refuse = (why: string) => {
    throw new UserError(
      `${what}: refusing file path ${JSON.stringify(path)} (${why}); it would be written ` +
        `outside ${dir}`,
    );
  };
  if (path === "" || path.includes("\0")) refuse("empty or NUL");
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.includes("\\")) {
    refuse("absolute or not a / path");
  }
  if (path.split("/").some((s) => s === ".." || s === "." || s === "")) {
    refuse("a '..', '.' or empty segment");
  }
  const rel = relative(resolve(dir), resolve(dir, path));
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) refuse("leaves the folder");
}

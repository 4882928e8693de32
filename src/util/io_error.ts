/**
 * Operating-system I/O failures (disk full, permission denied, read-only file system, …) seen
 * by a long-running command: they are the user's environment to fix, so they become one-line
 * UserErrors (exit 2) rather than stack traces.
 *
 * @module
 */

import { UserError } from "./errors.ts";

const OS_ERRORS = [
  Deno.errors.PermissionDenied,
  Deno.errors.NotFound,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
  Deno.errors.FilesystemLoop,
  Deno.errors.BadResource,
];

/** True for an error the operating system raised on a file operation. */
export function isIoError(err: unknown): err is Error {
  if (!(err instanceof Error) || err instanceof UserError) return false;
  return OS_ERRORS.some((c) => err instanceof c) || /\(os error \d+\)/.test(err.message);
}

/**
 * The one-line UserError for an I/O error met while doing `what` (e.g. "training run
 * runs/x/123"), or the error itself when it is something else.
 *
 * @example
 * ```ts
 * try { await work(); } catch (err) { throw asIoUserError(err, "checkpoint"); }
 * ```
 */
export function asIoUserError(err: unknown, what: string): unknown {
  if (!isIoError(err)) return err;
  return new UserError(`${what}: ${err.message.split("\n")[0]}`, 2);
}

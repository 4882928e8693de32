/**
 * Errors that are the user's to fix (bad config key, missing file, corrupt shard). The CLI prints
 * their message as one line and exits with `exitCode` instead of showing a stack trace.
 *
 * @example
 * ```ts
 * throw new UserError(`config file not found: ${path}`);
 * ```
 */
export class UserError extends Error {
  /** Process exit code the CLI uses for this error (2 = bad input, by convention). */
  readonly exitCode: number;

  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/** True for errors that should be shown to the user as one line (no stack trace). */
export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** Formats "expected X, found Y" consistently across modules. */
export function expectedFound(what: string, expected: unknown, found: unknown): string {
  return `${what}: expected ${String(expected)}, found ${String(found)}`;
}

/**
 * A GPU failure: an invalid kernel, a validation error, out-of-memory or a lost device. Fatal to
 * the work in flight (its results are garbage); the CLI shows it as one line, exit 1.
 */
export class GpuError extends UserError {
  constructor(message: string) {
    super(message, 1);
    this.name = "GpuError";
  }
}

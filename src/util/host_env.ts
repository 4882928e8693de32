/**
 * Environment variables where the host has them: Deno's `Deno.env` when present and permitted,
 * nothing in a browser. Engine code reads its few switches through this so that it runs
 * unchanged in both hosts.
 *
 * @module
 */

interface DenoLike {
  env?: { get(name: string): string | undefined };
}

/** The value of environment variable `name`, or undefined (browser, or no --allow-env). */
export function hostEnv(name: string): string | undefined {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  try {
    return deno?.env?.get(name);
  } catch {
    return undefined;
  }
}

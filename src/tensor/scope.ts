/**
 * Recording scopes: `noGrad` (no tape) and `tidy` (free what a block created). Kept apart from
 * Tensor so the rules read in one place.
 */

/** Anything a scope can free (a Tensor). */
export interface Releasable {
  release(): void;
}

let gradEnabled = true;

/**
 * Runs `fn` without recording the tape: ops inside produce tensors with no grad node.
 *
 * @example
 * ```ts
 * const logits = noGrad(() => model.forward(ids)); // evaluation
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Tensors created inside each open `tidy` scope (innermost last). */
const scopes: Releasable[][] = [];

/**
 * Runs `fn` and then releases every tensor created inside it, except those reachable from its
 * result (a tensor, or an array / object of tensors). Use it around evaluation forwards, whose
 * intermediates no backward will free. Tensors kept elsewhere (caches) must be created outside.
 *
 * @example
 * ```ts
 * const logits = tidy(() => noGrad(() => model.forward(ids).logits));
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope: Releasable[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const created = new Set<Releasable>(scope);
  const keep = new Set<Releasable>();
  collectCreated(result, created, keep, 0);
  for (const t of scope) {
    if (keep.has(t)) scopes.at(-1)?.push(t); // survivors belong to the enclosing scope
    else t.release();
  }
  return result;
}

/** Adds to `keep` every object of `created` reachable from `value` (arrays/objects, 3 deep). */
function collectCreated(
  value: unknown,
  created: Set<Releasable>,
  keep: Set<Releasable>,
  depth: number,
): void {
  if (value === null || typeof value !== "object") return;
  if (created.has(value as Releasable)) keep.add(value as Releasable);
  else if (depth < 3 && Array.isArray(value)) {
    for (const v of value) collectCreated(v, created, keep, depth + 1);
  } else if (depth < 3) {
    for (const v of Object.values(value)) collectCreated(v, created, keep, depth + 1);
  }
}

/**
 * Runs `fn` outside every open `tidy` scope: what it creates survives them. For lazily built
 * caches (position ids, RoPE tables) that may first be needed inside an evaluation's `tidy`.
 */
export function untracked<T>(fn: () => T): T {
  const saved = scopes.splice(0, scopes.length);
  try {
    return fn();
  } finally {
    scopes.push(...saved);
  }
}

/** Records a newly created tensor in the innermost open `tidy` scope. */
export function registerInScope(t: Releasable): void {
  scopes.at(-1)?.push(t);
}

/** True unless inside `noGrad`. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Recording scopes: `noGrad` (no tape) and `tidy` (free what a block created). Kept apart from
 * Tensor so the rules read in one place.
 */

/** Anything a scope can free (a Tensor). */
export interface Releasable {
  /** Frees it; `reason` is what a later use's error message says freed it. */
  release(reason?: string): void;
  /** True when `retain()` asked to keep it (step scopes spare it). */
  readonly retained?: boolean;
}

/** Why `tidy` freed a tensor (shown when it is used afterwards). */
export const TIDY_REASON = "freed by tidy() at the end of the block that made it";

/** Why a training step freed a tensor (shown when it is used afterwards). */
export const STEP_REASON = "freed at the end of the training step that made it (a temporary of " +
  "the step); make a cache with untracked() or keep it with .retain()";

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

/**
 * Runs `fn` with the tape recording even inside `noGrad` (or a backward replay): what
 * `checkpoint` needs to rebuild a block's graph while back-propagating.
 */
export function withGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
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
    else t.release(TIDY_REASON);
  }
  return result;
}

/**
 * Runs one training step's `fn` and then frees every tensor created inside it that is still
 * alive and not `retain()`ed: temporaries that no backward frees (made under `noGrad` inside a
 * forward, or from inputs that need no gradient) would otherwise leak a little every step.
 * Caches that must outlive the step are made with `untracked()`. Returns `fn`'s result, which
 * must not be a tensor made inside (read numbers out first).
 *
 * @example
 * ```ts
 * stepScope(() => model.forward(ids, { targets }).loss!.backward());
 * ```
 */
export function stepScope<T>(fn: () => T): T {
  const scope: Releasable[] = [];
  scopes.push(scope);
  try {
    return fn();
  } finally {
    scopes.pop();
    for (const t of scope) if (!t.retained) t.release(STEP_REASON);
  }
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

/**
 * Runs `fn` and lists every tensor it created (outside `untracked`); they stay in the enclosing
 * scopes as well. `checkpoint` frees a block's intermediates with it.
 */
export function trackCreated<T>(fn: () => T): { result: T; created: Releasable[] } {
  const scope: Releasable[] = [];
  scopes.push(scope);
  try {
    return { result: fn(), created: scope };
  } finally {
    scopes.pop();
    for (const t of scope) scopes.at(-1)?.push(t);
  }
}

/** The set `collectGradInputs` is filling, or null. */
let gradInputs: Set<unknown> | null = null;

/**
 * Runs `fn` and returns, besides its result, every op input that required a gradient, in first
 * use order (ops report them through `noteGradInputs`, even under `noGrad`). Under `noGrad` these
 * are exactly the tensors from outside `fn` that a gradient would reach: what `checkpoint` must
 * back-propagate to.
 */
export function collectGradInputs<T, I>(fn: () => T): { result: T; inputs: I[] } {
  const prev = gradInputs;
  const inputs = new Set<unknown>();
  gradInputs = inputs;
  try {
    return { result: fn(), inputs: [...inputs] as I[] };
  } finally {
    gradInputs = prev;
    if (prev) { for (const t of inputs) prev.add(t); }
  }
}

/** Called by every op (`recordOp`, `reshape`) with its inputs; cheap when nothing collects. */
export function noteGradInputs(inputs: readonly { readonly requiresGrad: boolean }[]): void {
  if (gradInputs === null) return;
  for (const t of inputs) if (t.requiresGrad) gradInputs.add(t);
}

/** Records a newly created tensor in the innermost open `tidy` scope. */
export function registerInScope(t: Releasable): void {
  scopes.at(-1)?.push(t);
}

/** True unless inside `noGrad`. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

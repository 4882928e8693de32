/**
 * Releasing the temporaries of a forward pass that runs without the tape. `backward()` frees a
 * training step's intermediates, but a `noGrad` forward (validation, diagnostics) has no tape to
 * walk, so its intermediate tensors would stay in the pool forever. `releaseTemporaries` tracks
 * every tensor created while `fn` runs and releases all but the ones `fn` returns.
 *
 * The engine has no scope API yet, so tracking wraps the three places tensors are born
 * (`Tensor.empty`, `reshape`, `view`) for the duration of `fn` only. Caches that a model fills on
 * its first forward (position ids, RoPE tables, parameter views) must be filled before the first
 * scoped call: the trainer runs one warm-up step first.
 *
 * @module
 */

import { Tensor } from "../tensor/tensor.ts";

let depth = 0;
let created: Tensor[] = [];

/**
 * Runs `fn` (synchronously recording GPU work) and releases every tensor it created except
 * those in `keep(result)`.
 */
export function releaseTemporaries<T>(fn: () => T, keep: (result: T) => Tensor[]): T {
  const outer = created;
  const mine: Tensor[] = [];
  created = mine;
  if (depth++ === 0) install();
  let result: T;
  try {
    result = fn();
  } catch (err) {
    release(mine, new Set());
    throw err;
  } finally {
    if (--depth === 0) uninstall();
    created = outer;
  }
  const kept = keep(result);
  release(mine, new Set(kept));
  // An enclosing scope owns what this one hands out.
  if (depth > 0) outer.push(...kept);
  return result;
}

function release(tensors: Tensor[], kept: Set<Tensor>): void {
  for (const t of tensors) if (!kept.has(t)) t.release();
}

type Empty = typeof Tensor.empty;
type Reshape = Tensor["reshape"];
type View = Tensor["view"];
let saved: { empty: Empty; reshape: Reshape; view: View } | null = null;

function install(): void {
  const empty = Tensor.empty;
  const reshape = Tensor.prototype.reshape;
  const view = Tensor.prototype.view;
  saved = { empty, reshape, view };
  Tensor.empty = (...args: Parameters<Empty>) => track(empty.apply(Tensor, args));
  Tensor.prototype.reshape = function (this: Tensor, ...args: Parameters<Reshape>) {
    return track(reshape.apply(this, args));
  };
  Tensor.prototype.view = function (this: Tensor, ...args: Parameters<View>) {
    return track(view.apply(this, args));
  };
}

function uninstall(): void {
  if (!saved) return;
  Tensor.empty = saved.empty;
  Tensor.prototype.reshape = saved.reshape;
  Tensor.prototype.view = saved.view;
  saved = null;
}

function track(t: Tensor): Tensor {
  created.push(t);
  return t;
}

/**
 * Releasing the temporaries of a forward pass that runs without the tape. `backward()` frees a
 * training step's intermediates, but a `noGrad` forward (validation, diagnostics) has no tape to
 * walk, so its intermediate tensors would stay in the pool forever. `releaseTemporaries` tracks
 * every tensor created while `fn` runs and releases all but the ones `fn` returns.
 *
 * The engine has no scope API yet, so tracking wraps the places op results are born
 * (`Tensor.empty`, which `zeros` uses, and `reshape`) for the duration of `fn` only. Uploads
 * (`Tensor.fromArray`) and `view`s are not tracked: models use them for caches that must outlive
 * the call (position ids, RoPE tables, parameter views); inputs a caller uploads inside `fn` are
 * the caller's to release. The trainer also runs one warm-up step before any scoped call.
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
type FromArray = typeof Tensor.fromArray;
type Reshape = Tensor["reshape"];
let saved: { empty: Empty; fromArray: FromArray; reshape: Reshape } | null = null;
let uploading = 0;

function install(): void {
  const { empty, fromArray } = Tensor;
  const reshape = Tensor.prototype.reshape;
  saved = { empty, fromArray, reshape };
  Tensor.empty = (...args: Parameters<Empty>) => track(empty.apply(Tensor, args));
  Tensor.fromArray = (...args: Parameters<FromArray>) => {
    uploading++;
    try {
      return fromArray.apply(Tensor, args);
    } finally {
      uploading--;
    }
  };
  Tensor.prototype.reshape = function (this: Tensor, ...args: Parameters<Reshape>) {
    return track(reshape.apply(this, args));
  };
}

function uninstall(): void {
  if (!saved) return;
  Tensor.empty = saved.empty;
  Tensor.fromArray = saved.fromArray;
  Tensor.prototype.reshape = saved.reshape;
  saved = null;
}

function track(t: Tensor): Tensor {
  if (uploading === 0) created.push(t);
  return t;
}

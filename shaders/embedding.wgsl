// Embedding lookup and its backward. Forward: out[r, c] = table[ids[r], c] (0 for ids outside
// [0, V)). Backward must add the gradients of repeated ids in a fixed order, because the
// trainer promises bit-identical resumes and float atomics add in whatever order threads
// arrive. The host has the ids (it uploaded them), so it buckets rows by id and
// embedding_backward_buckets sums each bucket in one dispatch, one thread per (id, column),
// rows in increasing order. Ids that only exist on the GPU take the fallback: a bitonic sort
// of (id, row) pairs, then one thread per (run of equal ids, column) sums its rows in the same
// increasing order, so both paths give the same bits.

const WORKGROUP: u32 = 256u;
const INVALID: u32 = 0xffffffffu;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP;
}

struct Lookup {
  rows: u32,
  cols: u32,
  vocab: u32,
}

// ids are read as u32, so negative i32 ids become ≥ V and count as invalid.
@group(0) @binding(0) var<uniform> lp: Lookup;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= lp.rows * lp.cols) {
    return;
  }
  let id = ids[i / lp.cols];
  var v = 0.0;
  if (id < lp.vocab) {
    v = table[id * lp.cols + i % lp.cols];
  }
  out[i] = v;
}

// ---- sort keys: (id, row), padded to a power of two with (INVALID, row) ----
struct Keys {
  rows: u32,
  padded: u32,
  vocab: u32,
}

@group(0) @binding(0) var<uniform> kp: Keys;
@group(0) @binding(1) var<storage, read> kids: array<u32>;
@group(0) @binding(2) var<storage, read_write> keys: array<vec2u>;

@compute @workgroup_size(WORKGROUP)
fn make_keys(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= kp.padded) {
    return;
  }
  var id = INVALID;
  if (i < kp.rows && kids[i] < kp.vocab) {
    id = kids[i];
  }
  keys[i] = vec2u(id, i);
}

// ---- one compare-exchange stage of the bitonic sort (keys are distinct: rows differ) ----
struct Stage {
  padded: u32,
  j: u32,
  k: u32,
}

@group(0) @binding(0) var<uniform> sp: Stage;
@group(0) @binding(1) var<storage, read_write> skeys: array<vec2u>;

fn key_less(a: vec2u, b: vec2u) -> bool {
  return a.x < b.x || (a.x == b.x && a.y < b.y);
}

@compute @workgroup_size(WORKGROUP)
fn bitonic_stage(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= sp.padded) {
    return;
  }
  let l = i ^ sp.j;
  if (l <= i) {
    return;
  }
  let a = skeys[i];
  let b = skeys[l];
  let ascending = (i & sp.k) == 0u;
  if (key_less(b, a) == ascending) {
    skeys[i] = b;
    skeys[l] = a;
  }
}

// ---- dtable[id, c] = Σ g[row, c] over the sorted run of rows with that id ----
struct Gather {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> gp: Gather;
@group(0) @binding(1) var<storage, read> gkeys: array<vec2u>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> dtable: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= gp.rows * gp.cols) {
    return;
  }
  let pos = i / gp.cols;
  let c = i % gp.cols;
  let id = gkeys[pos].x;
  if (id == INVALID || (pos > 0u && gkeys[pos - 1u].x == id)) {
    return; // not the first row of its run
  }
  var s = 0.0;
  var q = pos;
  while (q < gp.rows && gkeys[q].x == id) {
    s = s + grad[gkeys[q].y * gp.cols + c];
    q = q + 1u;
  }
  dtable[id * gp.cols + c] = s;
}

// ---- dtable[ids[u], c] = Σ g[rows[j], c], j in [starts[u], starts[u+1]) (host buckets) ----
struct Buckets {
  unique: u32,
  cols: u32,
}

// buckets = starts[unique + 1] ++ ids[unique] ++ rows[…], rows ascending within each bucket.
@group(0) @binding(0) var<uniform> bp: Buckets;
@group(0) @binding(1) var<storage, read> buckets: array<u32>;
@group(0) @binding(2) var<storage, read> bgrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> btable: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn embedding_backward_buckets(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let i = linear_index(gid, nwg);
  if (i >= bp.unique * bp.cols) {
    return;
  }
  // Consecutive threads take consecutive columns of one bucket: coalesced gradient reads.
  let u = i / bp.cols;
  let c = i % bp.cols;
  let rows_base = 2u * bp.unique + 1u;
  var s = 0.0;
  for (var j = buckets[u]; j < buckets[u + 1u]; j = j + 1u) {
    s = s + bgrad[buckets[rows_base + j] * bp.cols + c];
  }
  btable[buckets[bp.unique + 1u + u] * bp.cols + c] = s;
}

// Reductions along one axis: x viewed as [outer, len, inner] reduces over len into
// [outer, inner]. One workgroup per output; its threads stride over the axis (any length) and
// combine through workgroup memory in a fixed-order tree, so results are deterministic.
// sum_axis: sum times `scale` (1 for sum, 1/len for mean). select_axis: max (OP 0) or min (OP 1)
// with the index where it occurs, ties to the first index (like torch.max(x, dim)).
// The backward kernels go the other way, one thread per input element.

const THREADS: u32 = 128u;
const WORKGROUP: u32 = 256u;
// Index of a thread that saw no element (the axis is shorter than the workgroup).
const NO_INDEX: u32 = 0xffffffffu;

override OP: u32 = 0u;
const MAX: u32 = 0u;
const MIN: u32 = 1u;

struct Axis {
  outer: u32,
  len: u32,
  inner: u32,
  scale: f32,
}

var<workgroup> partial_value: array<f32, THREADS>;
var<workgroup> partial_index: array<u32, THREADS>;

fn output_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// ---- sum_axis: out[o] = scale · Σ_l x[o_outer, l, o_inner] ----
@group(0) @binding(0) var<uniform> sa_p: Axis;
@group(0) @binding(1) var<storage, read> sa_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> sa_out: array<f32>;

@compute @workgroup_size(THREADS)
fn sum_axis(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = output_index(wid, nwg);
  if (o >= sa_p.outer * sa_p.inner) {
    return; // uniform per workgroup
  }
  let base = (o / sa_p.inner) * sa_p.len * sa_p.inner + o % sa_p.inner;
  var s = 0.0;
  for (var l = lid; l < sa_p.len; l = l + THREADS) {
    s = s + sa_x[base + l * sa_p.inner];
  }
  partial_value[lid] = s;
  workgroupBarrier();
  for (var stride = THREADS / 2u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) {
      partial_value[lid] = partial_value[lid] + partial_value[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    sa_out[o] = partial_value[0] * sa_p.scale;
  }
}

// ---- select_axis: the max (or min) along the axis and its first index ----
@group(0) @binding(0) var<uniform> se_p: Axis;
@group(0) @binding(1) var<storage, read> se_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> se_value: array<f32>;
@group(0) @binding(3) var<storage, read_write> se_index: array<i32>;

// True when (v, i) beats (w, j): a strictly better value, or the same value at a lower index.
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
  if (i == NO_INDEX) {
    return false;
  }
  if (j == NO_INDEX) {
    return true;
  }
  var better = v > w;
  if (OP == MIN) {
    better = v < w;
  }
  return better || (v == w && i < j);
}

@compute @workgroup_size(THREADS)
fn select_axis(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = output_index(wid, nwg);
  if (o >= se_p.outer * se_p.inner) {
    return; // uniform per workgroup
  }
  let base = (o / se_p.inner) * se_p.len * se_p.inner + o % se_p.inner;
  var best = 0.0;
  var best_index = NO_INDEX;
  // Each thread walks its indices in increasing order, so a later tie never wins.
  for (var l = lid; l < se_p.len; l = l + THREADS) {
    let v = se_x[base + l * se_p.inner];
    if (beats(v, l, best, best_index)) {
      best = v;
      best_index = l;
    }
  }
  partial_value[lid] = best;
  partial_index[lid] = best_index;
  workgroupBarrier();
  for (var stride = THREADS / 2u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) {
      let v = partial_value[lid + stride];
      let i = partial_index[lid + stride];
      if (beats(v, i, partial_value[lid], partial_index[lid])) {
        partial_value[lid] = v;
        partial_index[lid] = i;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    se_value[o] = partial_value[0];
    se_index[o] = i32(partial_index[0]);
  }
}

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP;
}

// ---- broadcast_axis (sum/mean backward): dx[o_outer, l, o_inner] = scale · g[o] ----
@group(0) @binding(0) var<uniform> ba_p: Axis;
@group(0) @binding(1) var<storage, read> ba_g: array<f32>;
@group(0) @binding(2) var<storage, read_write> ba_dx: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn broadcast_axis(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= ba_p.outer * ba_p.len * ba_p.inner) {
    return;
  }
  let o = (i / (ba_p.len * ba_p.inner)) * ba_p.inner + i % ba_p.inner;
  ba_dx[i] = ba_g[o] * ba_p.scale;
}

// ---- scatter_axis (max/min backward): g[o] goes to the selected index, zeros elsewhere ----
@group(0) @binding(0) var<uniform> sc_p: Axis;
@group(0) @binding(1) var<storage, read> sc_g: array<f32>;
@group(0) @binding(2) var<storage, read> sc_index: array<i32>;
@group(0) @binding(3) var<storage, read_write> sc_dx: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn scatter_axis(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= sc_p.outer * sc_p.len * sc_p.inner) {
    return;
  }
  let l = (i / sc_p.inner) % sc_p.len;
  let o = (i / (sc_p.len * sc_p.inner)) * sc_p.inner + i % sc_p.inner;
  sc_dx[i] = select(0.0, sc_g[o], u32(sc_index[o]) == l);
}

// ---- short axes (len ≤ SHORT_AXIS in reduce_axis.ts): one thread per output, a plain loop ----
// A workgroup per output would leave most of its threads idle; the order is still fixed.
@group(0) @binding(0) var<uniform> ss_p: Axis;
@group(0) @binding(1) var<storage, read> ss_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> ss_out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn sum_axis_short(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = linear_index(gid, nwg);
  if (o >= ss_p.outer * ss_p.inner) {
    return;
  }
  let base = (o / ss_p.inner) * ss_p.len * ss_p.inner + o % ss_p.inner;
  var s = 0.0;
  for (var l = 0u; l < ss_p.len; l = l + 1u) {
    s = s + ss_x[base + l * ss_p.inner];
  }
  ss_out[o] = s * ss_p.scale;
}

@group(0) @binding(0) var<uniform> st_p: Axis;
@group(0) @binding(1) var<storage, read> st_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> st_value: array<f32>;
@group(0) @binding(3) var<storage, read_write> st_index: array<i32>;

@compute @workgroup_size(WORKGROUP)
fn select_axis_short(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let o = linear_index(gid, nwg);
  if (o >= st_p.outer * st_p.inner) {
    return;
  }
  let base = (o / st_p.inner) * st_p.len * st_p.inner + o % st_p.inner;
  var best = 0.0;
  var best_index = NO_INDEX;
  for (var l = 0u; l < st_p.len; l = l + 1u) {
    let v = st_x[base + l * st_p.inner];
    if (beats(v, l, best, best_index)) {
      best = v;
      best_index = l;
    }
  }
  st_value[o] = best;
  st_index[o] = i32(best_index);
}

// Softmax over the last dim, one thread per row: max-subtracted exp for stability.
// Backward: dx = y · (g − Σ g·y).

const WORKGROUP: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
}

fn row_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP;
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn softmax_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_index(gid, nwg);
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  var m = -3.4028235e38;
  for (var c = 0u; c < p.cols; c = c + 1u) {
    m = max(m, x[base + c]);
  }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c = c + 1u) {
    let e = exp(x[base + c] - m);
    y[base + c] = e;
    s = s + e;
  }
  let inv = 1.0 / s;
  for (var c = 0u; c < p.cols; c = c + 1u) {
    y[base + c] = y[base + c] * inv;
  }
}

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> by: array<f32>;
@group(0) @binding(2) var<storage, read> bg: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn softmax_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_index(gid, nwg);
  if (r >= bp.rows) {
    return;
  }
  let base = r * bp.cols;
  var dot = 0.0;
  for (var c = 0u; c < bp.cols; c = c + 1u) {
    dot = dot + by[base + c] * bg[base + c];
  }
  for (var c = 0u; c < bp.cols; c = c + 1u) {
    bdx[base + c] = by[base + c] * (bg[base + c] - dot);
  }
}

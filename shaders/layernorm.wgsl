// LayerNorm over the last dim, one thread per row (rows are independent; no barriers).
// Forward saves mean and rstd per row for the backward pass; variance is two-pass (centred)
// for accuracy.

const WORKGROUP: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>; // [rows, 2]: mean, rstd

fn row_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP;
}

@compute @workgroup_size(WORKGROUP)
fn layernorm_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_index(gid, nwg);
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  var s = 0.0;
  for (var c = 0u; c < p.cols; c = c + 1u) {
    s = s + x[base + c];
  }
  let mean = s / f32(p.cols);
  var v = 0.0;
  for (var c = 0u; c < p.cols; c = c + 1u) {
    let d = x[base + c] - mean;
    v = v + d * d;
  }
  let rstd = inverseSqrt(v / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c = c + 1u) {
    y[base + c] = (x[base + c] - mean) * rstd * weight[c] + bias[c];
  }
  stats[2u * r] = mean;
  stats[2u * r + 1u] = rstd;
}

// dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat · xhat)), dxhat = g · weight.
// Also writes g · xhat per element; summing it over rows gives dweight.
@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> bweight: array<f32>;
@group(0) @binding(3) var<storage, read> bstats: array<f32>;
@group(0) @binding(4) var<storage, read> bg: array<f32>;
@group(0) @binding(5) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(6) var<storage, read_write> bgxhat: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn layernorm_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_index(gid, nwg);
  if (r >= bp.rows) {
    return;
  }
  let base = r * bp.cols;
  let mean = bstats[2u * r];
  let rstd = bstats[2u * r + 1u];
  var sum_d = 0.0;
  var sum_dx = 0.0;
  for (var c = 0u; c < bp.cols; c = c + 1u) {
    let xhat = (bx[base + c] - mean) * rstd;
    let d = bg[base + c] * bweight[c];
    sum_d = sum_d + d;
    sum_dx = sum_dx + d * xhat;
  }
  let n = f32(bp.cols);
  let mean_d = sum_d / n;
  let mean_dx = sum_dx / n;
  for (var c = 0u; c < bp.cols; c = c + 1u) {
    let xhat = (bx[base + c] - mean) * rstd;
    let g = bg[base + c];
    bdx[base + c] = rstd * (g * bweight[c] - mean_d - xhat * mean_dx);
    bgxhat[base + c] = g * xhat;
  }
}

// LayerNorm over the last dim, one workgroup per row: ROW_THREADS invocations stride over the
// columns and meet in row_sum (subgroup operations where the device has them). Forward saves
// mean and rstd per row for the backward pass; variance is two-pass (centred) for accuracy.

const ROW_THREADS: u32 = 64u;

//!include row_reduce

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
}

// Rows past 65,535 fold into y (see grid1d in src/gpu/kernel.ts).
fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>; // [rows, 2]: mean, rstd

@compute @workgroup_size(ROW_THREADS)
fn layernorm_forward(t: RowThread, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  var s = 0.0;
  for (var c = t.lid; c < p.cols; c = c + ROW_THREADS) {
    s = s + x[base + c];
  }
  let mean = row_sum(s, t) / f32(p.cols);
  var v = 0.0;
  for (var c = t.lid; c < p.cols; c = c + ROW_THREADS) {
    let d = x[base + c] - mean;
    v = v + d * d;
  }
  let rstd = inverseSqrt(row_sum(v, t) / f32(p.cols) + p.eps);
  for (var c = t.lid; c < p.cols; c = c + ROW_THREADS) {
    y[base + c] = (x[base + c] - mean) * rstd * weight[c] + bias[c];
  }
  if (t.lid == 0u) {
    stats[2u * r] = mean;
    stats[2u * r + 1u] = rstd;
  }
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

@compute @workgroup_size(ROW_THREADS)
fn layernorm_backward(t: RowThread, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= bp.rows) {
    return;
  }
  let base = r * bp.cols;
  let mean = bstats[2u * r];
  let rstd = bstats[2u * r + 1u];
  var sum_d = 0.0;
  var sum_dx = 0.0;
  for (var c = t.lid; c < bp.cols; c = c + ROW_THREADS) {
    let xhat = (bx[base + c] - mean) * rstd;
    let d = bg[base + c] * bweight[c];
    sum_d = sum_d + d;
    sum_dx = sum_dx + d * xhat;
  }
  let n = f32(bp.cols);
  let mean_d = row_sum(sum_d, t) / n;
  let mean_dx = row_sum(sum_dx, t) / n;
  for (var c = t.lid; c < bp.cols; c = c + ROW_THREADS) {
    let xhat = (bx[base + c] - mean) * rstd;
    let g = bg[base + c];
    bdx[base + c] = rstd * (g * bweight[c] - mean_d - xhat * mean_dx);
    bgxhat[base + c] = g * xhat;
  }
}

// Softmax over the last dim, one workgroup per row: the ROW_THREADS invocations stride over the
// columns and meet in row_max / row_sum (subgroup operations where the device has them).
// Forward: max-subtracted exp for stability. Backward: dx = y · (g − Σ g·y).

const ROW_THREADS: u32 = 64u;
// Below any logit that matters and finite (WGSL has no infinity literal); exp(-3e38 - m) is 0.
const NEG_LARGE: f32 = -3.0e38;

//!include row_reduce

struct Params {
  rows: u32,
  cols: u32,
}

// Rows past 65,535 fold into y (see grid1d in src/gpu/kernel.ts).
fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(ROW_THREADS)
fn softmax_forward(t: RowThread, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  var m = NEG_LARGE;
  for (var c = t.lid; c < p.cols; c = c + ROW_THREADS) {
    m = max(m, x[base + c]);
  }
  m = row_max(m, t);
  var s = 0.0;
  for (var c = t.lid; c < p.cols; c = c + ROW_THREADS) {
    let e = exp(x[base + c] - m);
    y[base + c] = e;
    s = s + e;
  }
  let inv = 1.0 / row_sum(s, t);
  for (var c = t.lid; c < p.cols; c = c + ROW_THREADS) {
    y[base + c] = y[base + c] * inv;
  }
}

@group(0) @binding(0) var<uniform> bp: Params;
@group(0) @binding(1) var<storage, read> by: array<f32>;
@group(0) @binding(2) var<storage, read> bg: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

@compute @workgroup_size(ROW_THREADS)
fn softmax_backward(t: RowThread, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= bp.rows) {
    return;
  }
  let base = r * bp.cols;
  var dot = 0.0;
  for (var c = t.lid; c < bp.cols; c = c + ROW_THREADS) {
    dot = dot + by[base + c] * bg[base + c];
  }
  dot = row_sum(dot, t);
  for (var c = t.lid; c < bp.cols; c = c + ROW_THREADS) {
    bdx[base + c] = by[base + c] * (bg[base + c] - dot);
  }
}

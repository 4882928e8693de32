// Reductions. sum_rows: x viewed as [R, C]; out[chunk, c] = sum of rows [chunk*rpc, (chunk+1)*rpc)
// of column c. Run twice (chunks, then one chunk over the partials) it sums a whole column with a
// fixed order, so results are deterministic run to run (resume promises bit-identical losses).

const WORKGROUP: u32 = 256u;

struct Rows {
  rows: u32,
  cols: u32,
  rows_per_chunk: u32,
  chunks: u32,
  scale: f32, // multiplies the result (1 for sum, 1/n for mean)
}

@group(0) @binding(0) var<uniform> p: Rows;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn sum_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i >= p.cols * p.chunks) {
    return;
  }
  let c = i % p.cols;
  let chunk = i / p.cols;
  let r0 = chunk * p.rows_per_chunk;
  let r1 = min(r0 + p.rows_per_chunk, p.rows);
  var s = 0.0;
  for (var r = r0; r < r1; r = r + 1u) {
    s = s + x[r * p.cols + c];
  }
  out[i] = s * p.scale;
}

// fill: out[i] = value (for expanding a scalar gradient)
struct Fill {
  n: u32,
  value_scale: f32,
}

@group(0) @binding(0) var<uniform> fp: Fill;
@group(0) @binding(1) var<storage, read> fsrc: array<f32>;
@group(0) @binding(2) var<storage, read_write> fout: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn broadcast_scalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i < fp.n) {
    fout[i] = fsrc[0] * fp.value_scale;
  }
}

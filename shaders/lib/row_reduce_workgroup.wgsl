// row_sum / row_max over the ROW_THREADS invocations of one workgroup, through workgroup memory
// (a fixed-order tree, so results are deterministic). The including family defines ROW_THREADS
// (a power of two) and passes its RowThread builtins. Call from uniform control flow only.

struct RowThread {
  @builtin(local_invocation_index) lid: u32,
}

var<workgroup> row_scratch: array<f32, ROW_THREADS>;

fn row_sum(v: f32, t: RowThread) -> f32 {
  row_scratch[t.lid] = v;
  workgroupBarrier();
  for (var s = ROW_THREADS / 2u; s > 0u; s = s >> 1u) {
    if (t.lid < s) {
      row_scratch[t.lid] = row_scratch[t.lid] + row_scratch[t.lid + s];
    }
    workgroupBarrier();
  }
  let total = row_scratch[0];
  workgroupBarrier();
  return total;
}

fn row_max(v: f32, t: RowThread) -> f32 {
  row_scratch[t.lid] = v;
  workgroupBarrier();
  for (var s = ROW_THREADS / 2u; s > 0u; s = s >> 1u) {
    if (t.lid < s) {
      row_scratch[t.lid] = max(row_scratch[t.lid], row_scratch[t.lid + s]);
    }
    workgroupBarrier();
  }
  let m = row_scratch[0];
  workgroupBarrier();
  return m;
}

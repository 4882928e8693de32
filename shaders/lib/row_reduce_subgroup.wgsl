// row_sum / row_max over the ROW_THREADS invocations of one workgroup with subgroup operations:
// each subgroup reduces in registers, its lane 0 stores one partial, and every invocation adds
// the partials in index order (deterministic on a given adapter). Subgroups are taken to cover
// consecutive local indices, as every implementation lays out a 1-D workgroup. Call from uniform
// control flow only.

enable subgroups;

struct RowThread {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32,
}

var<workgroup> row_scratch: array<f32, ROW_THREADS>;

fn row_partials(t: RowThread) -> u32 {
  return max(ROW_THREADS / t.size, 1u);
}

fn row_sum(v: f32, t: RowThread) -> f32 {
  let s = subgroupAdd(v);
  if (t.lane == 0u) {
    row_scratch[t.lid / t.size] = s;
  }
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < row_partials(t); i = i + 1u) {
    total = total + row_scratch[i];
  }
  workgroupBarrier();
  return total;
}

fn row_max(v: f32, t: RowThread) -> f32 {
  let s = subgroupMax(v);
  if (t.lane == 0u) {
    row_scratch[t.lid / t.size] = s;
  }
  workgroupBarrier();
  var m = row_scratch[0];
  for (var i = 1u; i < row_partials(t); i = i + 1u) {
    m = max(m, row_scratch[i]);
  }
  workgroupBarrier();
  return m;
}

// Fused classifier (llm.c style): logits -> softmax -> cross-entropy -> dlogits in one pass per
// row, so the backward pass only has to scale the stored gradient by d(loss).
//
//   count_targets        one workgroup: how many targets are not ignored -> count[0] (f32)
//   classifier_rows      one workgroup per row, striding over the vocabulary: row max and
//                        sum of exp (online), the row's loss, and (optionally) dlogits =
//                        (softmax - onehot) / count
//   classifier_mean      one workgroup: mean of the row losses in a fixed order (deterministic)
//   scale_by_scalar      dlogits *= d(loss) in place (the backward pass)
//
// A target outside [0, V) that is not the ignore index gives the row a NaN loss, so the
// trainer's non-finite guard catches bad labels without a readback.

const WORKGROUP: u32 = 256u;
// Threads of the row reductions (shaders/lib/row_reduce_*.wgsl): one workgroup per row.
const ROW_THREADS: u32 = WORKGROUP;

//!include row_reduce

struct ClassifierParams {
  rows: u32,
  vocab: u32,
  ignore_index: i32,
  write_grad: u32,
  // 0x7fc00000 (a quiet NaN) from the host: a NaN constant expression is a WGSL error in Tint.
  nan_bits: u32,
}

// ---- count_targets ----------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> cp: ClassifierParams;
@group(0) @binding(1) var<storage, read> count_targets_in: array<i32>;
@group(0) @binding(2) var<storage, read_write> count_out: array<f32>;

var<workgroup> partial_counts: array<u32, WORKGROUP>;

@compute @workgroup_size(WORKGROUP)
fn count_targets(@builtin(local_invocation_id) lid: vec3u) {
  var n = 0u;
  for (var r = lid.x; r < cp.rows; r += WORKGROUP) {
    if (count_targets_in[r] != cp.ignore_index) {
      n += 1u;
    }
  }
  partial_counts[lid.x] = n;
  workgroupBarrier();
  for (var stride = WORKGROUP / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) {
      partial_counts[lid.x] += partial_counts[lid.x + stride];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    count_out[0] = f32(partial_counts[0]);
  }
}

// ---- classifier_rows ----------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> rp: ClassifierParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> target_count: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_losses: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn classifier_rows(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  th: RowThread,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= rp.rows) {
    return; // uniform for the whole workgroup: no barrier is skipped by part of it
  }
  let base = row * rp.vocab;

  // Pass 1: per-thread online max / sum of exp over a strided slice of the row, then the row's
  // max and its sum of exp rescaled to that max (row_max / row_sum: subgroups where present).
  var m = -3.0e38;
  var s = 0.0;
  for (var v = th.lid; v < rp.vocab; v += WORKGROUP) {
    let x = logits[base + v];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  let max_logit = row_max(m, th);
  let lse = max_logit + log(row_sum(s * exp(m - max_logit), th));

  let t = targets[row];
  let ignored = t == rp.ignore_index;
  let valid = !ignored && t >= 0 && u32(t) < rp.vocab;
  if (th.lid == 0u) {
    var loss = 0.0;
    if (valid) {
      loss = lse - logits[base + u32(t)];
    } else if (!ignored) {
      loss = bitcast<f32>(rp.nan_bits);
    }
    row_losses[row] = loss;
  }

  // Pass 2: the gradient of mean cross-entropy w.r.t. this row's logits.
  if (rp.write_grad != 0u) {
    let count = target_count[0];
    var inv_count = 0.0;
    if (count > 0.0 && !ignored) {
      inv_count = 1.0 / count;
    }
    for (var v = th.lid; v < rp.vocab; v += WORKGROUP) {
      var g = exp(logits[base + v] - lse);
      if (valid && v == u32(t)) {
        g -= 1.0;
      }
      dlogits[base + v] = g * inv_count;
    }
  }
}

// ---- classifier_mean ----------------------------------------------------------------------------

@group(0) @binding(0) var<uniform> mp: ClassifierParams;
@group(0) @binding(1) var<storage, read> mean_losses: array<f32>;
@group(0) @binding(2) var<storage, read> mean_count: array<f32>;
@group(0) @binding(3) var<storage, read_write> mean_out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn classifier_mean(th: RowThread) {
  var s = 0.0;
  for (var r = th.lid; r < mp.rows; r += WORKGROUP) {
    s += mean_losses[r];
  }
  let total = row_sum(s, th);
  if (th.lid == 0u) {
    let count = mean_count[0];
    // Every target ignored: report 0 (PyTorch gives NaN) so an all-padding batch is harmless.
    mean_out[0] = select(0.0, total / count, count > 0.0);
  }
}

// ---- scale_by_scalar (backward) -----------------------------------------------------------------

struct ScaleParams {
  n: u32,
}

@group(0) @binding(0) var<uniform> sp: ScaleParams;
@group(0) @binding(1) var<storage, read_write> scaled: array<f32>;
@group(0) @binding(2) var<storage, read> factor: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn scale_by_scalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i < sp.n) {
    scaled[i] = scaled[i] * factor[0];
  }
}

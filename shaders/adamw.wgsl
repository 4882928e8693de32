// Global gradient norm and AdamW over the flat parameter buffer (torch.optim.AdamW's math).
//
//   grad_norm_partial   NORM_GROUPS workgroups stride over the flat grads: sums of squares
//   grad_norm_final     one workgroup adds the partial sums in a fixed order -> ||g||
//   adamw_prepare       one invocation: non-finite guard, clip factor, step counters and bias
//                       corrections, so the update below needs no readback and no host state
//   adamw_update        one invocation per element: clip, decoupled weight decay where the
//                       decay mask bit is set, moments, bias-corrected update; frozen
//                       elements (trainable mask bit clear) are left alone entirely
//
// The step counter lives on the GPU because a skipped (non-finite) step must not advance the
// bias correction, and the host never learns about skips without a readback.

const WORKGROUP: u32 = 256u;
// Workgroups of the first norm stage; grad_norm_final reduces their partial sums.
const NORM_GROUPS: u32 = 256u;
// Threads of the norm reductions (shaders/lib/row_reduce_*.wgsl).
const ROW_THREADS: u32 = WORKGROUP;

//!include row_reduce

// Counters: [0] = applied steps (the t of bias correction), [1] = skipped steps.
// Step info: [0] = clip factor, [1] = 1 when the step applies, [2] = 1 - beta1^t,
// [3] = sqrt(1 - beta2^t).

fn is_finite(x: f32) -> bool {
  // Exponent all ones = inf or NaN; bit test because fast-math may fold `x != x` away.
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// ---- grad_norm_partial --------------------------------------------------------------------------

struct NormParams {
  n: u32,
}

@group(0) @binding(0) var<uniform> np: NormParams;
@group(0) @binding(1) var<storage, read> norm_grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm_partials: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn grad_norm_partial(@builtin(workgroup_id) wid: vec3u, th: RowThread) {
  var s = 0.0;
  for (var i = wid.x * WORKGROUP + th.lid; i < np.n; i += NORM_GROUPS * WORKGROUP) {
    let g = norm_grads[i];
    s += g * g;
  }
  let total = row_sum(s, th);
  if (th.lid == 0u) {
    norm_partials[wid.x] = total;
  }
}

// ---- grad_norm_final ----------------------------------------------------------------------------

struct FinalParams {
  count: u32,
}

@group(0) @binding(0) var<uniform> fp: FinalParams;
@group(0) @binding(1) var<storage, read> final_partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> final_norm: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn grad_norm_final(th: RowThread) {
  var s = 0.0;
  for (var i = th.lid; i < fp.count; i += WORKGROUP) {
    s += final_partials[i];
  }
  let total = row_sum(s, th);
  if (th.lid == 0u) {
    final_norm[0] = sqrt(total);
  }
}

// ---- adamw_prepare ------------------------------------------------------------------------------

struct PrepareParams {
  beta1: f32,
  beta2: f32,
  max_norm: f32, // <= 0: no clipping
}

@group(0) @binding(0) var<uniform> pp: PrepareParams;
@group(0) @binding(1) var<storage, read> prepare_norm: array<f32>;
@group(0) @binding(2) var<storage, read_write> prepare_counters: array<u32>;
@group(0) @binding(3) var<storage, read_write> prepare_info: array<f32>;

@compute @workgroup_size(1)
fn adamw_prepare() {
  let norm = prepare_norm[0];
  if (!is_finite(norm)) {
    prepare_counters[1] += 1u;
    prepare_info[0] = 0.0;
    prepare_info[1] = 0.0;
    return;
  }
  let t = prepare_counters[0] + 1u;
  prepare_counters[0] = t;
  var clip = 1.0;
  if (pp.max_norm > 0.0) {
    // torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), clamped to 1.
    clip = min(1.0, pp.max_norm / (norm + 1e-6));
  }
  prepare_info[0] = clip;
  prepare_info[1] = 1.0;
  prepare_info[2] = 1.0 - pow(pp.beta1, f32(t));
  prepare_info[3] = sqrt(1.0 - pow(pp.beta2, f32(t)));
}

// ---- adamw_update -------------------------------------------------------------------------------

struct UpdateParams {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
}

@group(0) @binding(0) var<uniform> up: UpdateParams;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(5) var<storage, read> decay_mask: array<u32>; // one bit per flat element
@group(0) @binding(6) var<storage, read> update_info: array<f32>;
// One bit per flat element, clear where the parameter is frozen (setTrainable(…, false)): such an
// element keeps its value and its moments, as torch.optim.AdamW skips a parameter with no grad.
@group(0) @binding(7) var<storage, read> trainable_mask: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn adamw_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i >= up.n || update_info[1] == 0.0) {
    return;
  }
  if (((trainable_mask[i >> 5u] >> (i & 31u)) & 1u) == 0u) {
    return;
  }
  let g = grads[i] * update_info[0];
  var p = params[i];
  if (((decay_mask[i >> 5u] >> (i & 31u)) & 1u) != 0u) {
    p *= 1.0 - up.lr * up.weight_decay;
  }
  let m = up.beta1 * exp_avg[i] + (1.0 - up.beta1) * g;
  let v = up.beta2 * exp_avg_sq[i] + (1.0 - up.beta2) * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let denom = sqrt(v) / update_info[3] + up.eps;
  params[i] = p - (up.lr / update_info[2]) * m / denom;
}

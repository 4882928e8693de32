// Elementwise kernels: add/mul (same shape or trailing-dim broadcast), scale, GELU (tanh form)
// forward and backward, in-place accumulate. One thread per element; the grid may be folded
// into y when there are more than 65,535 workgroups (see grid1d in src/gpu/kernel.ts).

const WORKGROUP: u32 = 256u;

struct Size {
  n: u32,
}

struct Broadcast {
  n: u32,
  nb: u32, // elements of the broadcast operand; it repeats every nb elements
}

struct Scale {
  n: u32,
  s: f32,
}

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP;
}

// ---- accumulate: acc += x ----
@group(0) @binding(0) var<uniform> acc_p: Size;
@group(0) @binding(1) var<storage, read_write> acc_dst: array<f32>;
@group(0) @binding(2) var<storage, read> acc_src: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < acc_p.n) {
    acc_dst[i] = acc_dst[i] + acc_src[i];
  }
}

// ---- add / mul with trailing broadcast: out[i] = a[i] op b[i % nb] ----
@group(0) @binding(0) var<uniform> bc_p: Broadcast;
@group(0) @binding(1) var<storage, read> bc_a: array<f32>;
@group(0) @binding(2) var<storage, read> bc_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> bc_out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn add_broadcast(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < bc_p.n) {
    bc_out[i] = bc_a[i] + bc_b[i % bc_p.nb];
  }
}

@compute @workgroup_size(WORKGROUP)
fn mul_broadcast(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < bc_p.n) {
    bc_out[i] = bc_a[i] * bc_b[i % bc_p.nb];
  }
}

// ---- add of equal sizes (used by autograd to sum gradient contributions) ----
@group(0) @binding(0) var<uniform> same_p: Size;
@group(0) @binding(1) var<storage, read> same_a: array<f32>;
@group(0) @binding(2) var<storage, read> same_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> same_out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn add_same(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < same_p.n) {
    same_out[i] = same_a[i] + same_b[i];
  }
}

// ---- scale: out = x * s ----
@group(0) @binding(0) var<uniform> sc_p: Scale;
@group(0) @binding(1) var<storage, read> sc_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> sc_out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < sc_p.n) {
    sc_out[i] = sc_x[i] * sc_p.s;
  }
}

// ---- GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ----
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

// tanh through exp overflows to inf/inf = NaN on some drivers for large |u|; clamping is exact
// in f32 because tanh(10) rounds to 1.
fn safe_tanh(u: f32) -> f32 {
  return tanh(clamp(u, -10.0, 10.0));
}

@group(0) @binding(0) var<uniform> ge_p: Size;
@group(0) @binding(1) var<storage, read> ge_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> ge_y: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn gelu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < ge_p.n) {
    let x = ge_x[i];
    let t = safe_tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
    ge_y[i] = 0.5 * x * (1.0 + t);
  }
}

@group(0) @binding(0) var<uniform> gb_p: Size;
@group(0) @binding(1) var<storage, read> gb_x: array<f32>;
@group(0) @binding(2) var<storage, read> gb_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> gb_dx: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < gb_p.n) {
    let x = gb_x[i];
    let t = safe_tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x * x);
    gb_dx[i] = gb_g[i] * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du);
  }
}

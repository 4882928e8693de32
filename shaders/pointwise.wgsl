// Pointwise ops chosen by the override constant OP, so each op is its own specialised pipeline
// without a dozen near-identical shaders: unary math (forward and backward side by side),
// binary maximum/minimum/comparisons with trailing broadcast on either side, and where.
// One thread per output element; the grid may be folded into y (see grid1d in
// src/gpu/kernel.ts). Op codes are mirrored in src/tensor/ops/pointwise.ts.

const WORKGROUP: u32 = 256u;

override OP: u32 = 0u;

// Unary op codes.
const RELU: u32 = 0u;
const ABS: u32 = 1u;
const CLAMP: u32 = 2u; // p0 = lower bound, p1 = upper bound
const EXP: u32 = 3u;
const LOG: u32 = 4u;
const SQRT: u32 = 5u;
const SIGMOID: u32 = 6u;
const TANH: u32 = 7u;
const SILU: u32 = 8u;
const POW: u32 = 9u; // p0 = exponent

// Binary op codes.
const MAXIMUM: u32 = 0u;
const MINIMUM: u32 = 1u;
const EQ: u32 = 2u;
const LT: u32 = 3u;
const GT: u32 = 4u;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP;
}

// exp(-|x|) never overflows, so both branches are finite for every finite x.
fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) {
    return 1.0 / (1.0 + exp(-x));
  }
  let e = exp(x);
  return e / (1.0 + e);
}

// tanh through exp overflows to inf/inf = NaN on some drivers for large |u|; clamping is exact
// in f32 because tanh(10) rounds to 1.
fn safe_tanh(u: f32) -> f32 {
  return tanh(clamp(u, -10.0, 10.0));
}

// x^p with PyTorch's meaning for negative bases: WGSL's pow is exp2(p·log2(x)), undefined for
// x < 0, so integer exponents go through |x| and take the sign of odd powers. 0^0 = 1.
fn real_pow(x: f32, p: f32) -> f32 {
  if (p == 0.0) {
    return 1.0;
  }
  let ax = abs(x);
  if (ax == 0.0) {
    // 0^p: 0 for p > 0; 1/0 at run time for p < 0 (infinity, as in PyTorch).
    return select(1.0 / ax, 0.0, p > 0.0);
  }
  if (x > 0.0 || p != round(p)) {
    return pow(x, p); // a negative base with a fractional power: NaN, as in PyTorch
  }
  let r = pow(ax, p);
  return select(r, -r, abs(p % 2.0) == 1.0);
}

fn unary(x: f32, p0: f32, p1: f32) -> f32 {
  switch (OP) {
    case RELU: { return max(x, 0.0); }
    case ABS: { return abs(x); }
    case CLAMP: { return min(max(x, p0), p1); }
    case EXP: { return exp(x); }
    case LOG: { return log(x); }
    case SQRT: { return sqrt(x); }
    case SIGMOID: { return sigmoid(x); }
    case TANH: { return safe_tanh(x); }
    case SILU: { return x * sigmoid(x); }
    case POW: { return real_pow(x, p0); }
    default: { return x; }
  }
}

// d(unary)/dx · g from the saved value s: the input x for relu, abs, clamp, log, silu and pow;
// the output y for exp, sqrt, sigmoid and tanh (whichever gives the cheaper formula).
fn unary_grad(s: f32, g: f32, p0: f32, p1: f32) -> f32 {
  switch (OP) {
    case RELU: { return select(0.0, g, s > 0.0); }
    case ABS: { return sign(s) * g; }
    // Inclusive at the bounds, like torch.clamp.
    case CLAMP: { return select(0.0, g, s >= p0 && s <= p1); }
    case EXP: { return g * s; }
    case LOG: { return g / s; }
    case SQRT: { return 0.5 * g / s; }
    case SIGMOID: { return g * s * (1.0 - s); }
    case TANH: { return g * (1.0 - s * s); }
    case SILU: {
      let sg = sigmoid(s);
      return g * sg * (1.0 + s * (1.0 - sg));
    }
    case POW: {
      if (p0 == 0.0) {
        return 0.0;
      }
      return g * p0 * real_pow(s, p0 - 1.0);
    }
    default: { return g; }
  }
}

struct Unary {
  n: u32,
  p0: f32,
  p1: f32,
}

// ---- unary forward: y = f(x) ----
@group(0) @binding(0) var<uniform> uf_p: Unary;
@group(0) @binding(1) var<storage, read> uf_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> uf_y: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn unary_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < uf_p.n) {
    uf_y[i] = unary(uf_x[i], uf_p.p0, uf_p.p1);
  }
}

// ---- unary backward: dx = f'(x) · g, from the saved x or y ----
@group(0) @binding(0) var<uniform> ub_p: Unary;
@group(0) @binding(1) var<storage, read> ub_s: array<f32>;
@group(0) @binding(2) var<storage, read> ub_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> ub_dx: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn unary_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < ub_p.n) {
    ub_dx[i] = unary_grad(ub_s[i], ub_g[i], ub_p.p0, ub_p.p1);
  }
}

// ---- binary forward: out[i] = a[i % na] op b[i % nb]; nb = 0 uses the uniform b_value ----
struct Binary {
  n: u32,
  na: u32,
  nb: u32,
  b_value: f32,
}

@group(0) @binding(0) var<uniform> bf_p: Binary;
@group(0) @binding(1) var<storage, read> bf_a: array<f32>;
@group(0) @binding(2) var<storage, read> bf_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> bf_out: array<f32>;

fn operand_b(i: u32) -> f32 {
  if (bf_p.nb == 0u) {
    return bf_p.b_value;
  }
  return bf_b[i % bf_p.nb];
}

@compute @workgroup_size(WORKGROUP)
fn binary_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= bf_p.n) {
    return;
  }
  let a = bf_a[i % bf_p.na];
  let b = operand_b(i);
  var r = 0.0;
  switch (OP) {
    case MAXIMUM: { r = max(a, b); }
    case MINIMUM: { r = min(a, b); }
    case EQ: { r = select(0.0, 1.0, a == b); }
    case LT: { r = select(0.0, 1.0, a < b); }
    case GT: { r = select(0.0, 1.0, a > b); }
    default: {}
  }
  bf_out[i] = r;
}

// ---- maximum/minimum backward for one side: the winner takes g, a tie splits it (PyTorch) ----
struct BinaryGrad {
  n: u32,
  na: u32,
  nb: u32,
  b_value: f32,
  side: u32, // 0: the gradient of a, 1: of b
}

@group(0) @binding(0) var<uniform> bg_p: BinaryGrad;
@group(0) @binding(1) var<storage, read> bg_a: array<f32>;
@group(0) @binding(2) var<storage, read> bg_b: array<f32>;
@group(0) @binding(3) var<storage, read> bg_g: array<f32>;
@group(0) @binding(4) var<storage, read_write> bg_d: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn binary_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= bg_p.n) {
    return;
  }
  let a = bg_a[i % bg_p.na];
  var b = bg_p.b_value;
  if (bg_p.nb != 0u) {
    b = bg_b[i % bg_p.nb];
  }
  var self_value = a;
  var other = b;
  if (bg_p.side == 1u) {
    self_value = b;
    other = a;
  }
  var wins = self_value > other;
  if (OP == MINIMUM) {
    wins = self_value < other;
  }
  let g = bg_g[i];
  bg_d[i] = select(select(0.0, g, wins), 0.5 * g, self_value == other);
}

// ---- where: out[i] = mask != 0 ? a : b (each broadcast; a count of 0 uses the uniform value) ----
struct Where {
  n: u32,
  nm: u32,
  na: u32,
  nb: u32,
  a_value: f32,
  b_value: f32,
}

@group(0) @binding(0) var<uniform> wf_p: Where;
@group(0) @binding(1) var<storage, read> wf_m: array<f32>;
@group(0) @binding(2) var<storage, read> wf_a: array<f32>;
@group(0) @binding(3) var<storage, read> wf_b: array<f32>;
@group(0) @binding(4) var<storage, read_write> wf_out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn where_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= wf_p.n) {
    return;
  }
  if (wf_m[i % wf_p.nm] != 0.0) {
    wf_out[i] = select(wf_p.a_value, wf_a[i % max(wf_p.na, 1u)], wf_p.na != 0u);
  } else {
    wf_out[i] = select(wf_p.b_value, wf_b[i % max(wf_p.nb, 1u)], wf_p.nb != 0u);
  }
}

// ---- where backward for one side: g where the mask picked that side, else 0 ----
struct WhereGrad {
  n: u32,
  nm: u32,
  side: u32, // 0: the gradient of a (mask true), 1: of b (mask false)
}

@group(0) @binding(0) var<uniform> wg_p: WhereGrad;
@group(0) @binding(1) var<storage, read> wg_m: array<f32>;
@group(0) @binding(2) var<storage, read> wg_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> wg_d: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn where_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < wg_p.n) {
    let picked = (wg_m[i % wg_p.nm] != 0.0) == (wg_p.side == 0u);
    wg_d[i] = select(0.0, wg_g[i], picked);
  }
}

// ---- comparisons of i32 tensors (token ids): out[i] = a[i % na] op b[i % nb] as an f32 mask ----
struct CompareInt {
  n: u32,
  na: u32,
  nb: u32,
  b_value: i32,
}

@group(0) @binding(0) var<uniform> ci_p: CompareInt;
@group(0) @binding(1) var<storage, read> ci_a: array<i32>;
@group(0) @binding(2) var<storage, read> ci_b: array<i32>;
@group(0) @binding(3) var<storage, read_write> ci_out: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn compare_int(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= ci_p.n) {
    return;
  }
  let a = ci_a[i % ci_p.na];
  var b = ci_p.b_value;
  if (ci_p.nb != 0u) {
    b = ci_b[i % ci_p.nb];
  }
  var r = false;
  switch (OP) {
    case EQ: { r = a == b; }
    case LT: { r = a < b; }
    case GT: { r = a > b; }
    default: {}
  }
  ci_out[i] = select(0.0, 1.0, r);
}

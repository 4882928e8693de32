// Dropout with a counter-based RNG: element i is kept when hash(seed, i) ≥ p·2³², so the mask is
// a pure function of (seed, i) — reproducible, and backward regenerates it instead of storing it.

const WORKGROUP: u32 = 256u;

struct Params {
  n: u32,
  seed: u32,
  threshold: u32, // p · 2³² (drop when the hash is below)
  scale: f32,     // 1 / (1 − p)
}

// PCG output permutation (O'Neill), a good 32-bit integer hash.
fn pcg_hash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn keep(i: u32) -> bool {
  return pcg_hash(i ^ pcg_hash(p.seed)) >= p.threshold;
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Used for both directions: forward masks x, backward masks the incoming gradient.
@compute @workgroup_size(WORKGROUP)
fn dropout(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i >= p.n) {
    return;
  }
  y[i] = select(0.0, x[i] * p.scale, keep(i));
}

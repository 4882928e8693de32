// Data movement: swap the two middle axes of a 4-d array, [A,B,C,D] → [A,C,B,D].
// splitHeads is [B,T,H,D] → [B,H,T,D]; mergeHeads is the inverse swap; each is the other's
// backward.

const WORKGROUP: u32 = 256u;

struct Params {
  a: u32,
  b: u32,
  c: u32,
  d: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn swap_middle(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = gid.x + gid.y * nwg.x * WORKGROUP; // index into dst [A,C,B,D]
  if (o >= p.a * p.b * p.c * p.d) {
    return;
  }
  let d = o % p.d;
  let b = (o / p.d) % p.b;
  let c = (o / (p.d * p.b)) % p.c;
  let a = o / (p.d * p.b * p.c);
  dst[o] = src[((a * p.b + b) * p.c + c) * p.d + d];
}

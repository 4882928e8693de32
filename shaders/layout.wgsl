// Data movement: swap the two middle axes of a 4-d array, [A,B,C,D] → [A,C,B,D], and copy a
// block along one axis (copy_block, below).
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

// ---- copy_block: a block along one axis, for concat, slice and their backward ----
// src viewed as [outer, src_len, inner], dst as [outer, dst_len, inner]; copies positions
// [src_start, src_start + len) of src's axis to [dst_start, dst_start + len) of dst's.
struct Block {
  outer: u32,
  len: u32,
  inner: u32,
  src_len: u32,
  src_start: u32,
  dst_len: u32,
  dst_start: u32,
}

@group(0) @binding(0) var<uniform> cb_p: Block;
@group(0) @binding(1) var<storage, read> cb_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> cb_dst: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn copy_block(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP; // index into the copied block [outer, len, inner]
  if (i >= cb_p.outer * cb_p.len * cb_p.inner) {
    return;
  }
  let k = i % cb_p.inner;
  let l = (i / cb_p.inner) % cb_p.len;
  let o = i / (cb_p.inner * cb_p.len);
  let s = (o * cb_p.src_len + cb_p.src_start + l) * cb_p.inner + k;
  let d = (o * cb_p.dst_len + cb_p.dst_start + l) * cb_p.inner + k;
  cb_dst[d] = cb_src[s];
}

// dtype conversion between f32 compute tensors and f16 storage tensors. Needs the device's
// "shader-f16" feature; kiln only loads this file when a cast is asked for.

enable f16;

const WORKGROUP: u32 = 256u;

struct Size {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Size;
@group(0) @binding(1) var<storage, read> src32: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst16: array<f16>;

// f32 → f16 rounds to nearest even; values beyond ±65504 become ±inf, as in IEEE conversion.
@compute @workgroup_size(WORKGROUP)
fn f32_to_f16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i < p.n) {
    dst16[i] = f16(src32[i]);
  }
}

@group(0) @binding(0) var<uniform> q: Size;
@group(0) @binding(1) var<storage, read> src16: array<f16>;
@group(0) @binding(2) var<storage, read_write> dst32: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn f16_to_f32(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i < q.n) {
    dst32[i] = f32(src16[i]);
  }
}

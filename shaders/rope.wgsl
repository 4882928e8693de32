// Rotary position embedding, "rotate half" convention (GPT-NeoX, Hugging Face Llama): channel
// c < D/2 pairs with c + D/2 and the pair turns by angle pos·base^(-2c/D). The angles' cos/sin
// come from a table the host computes in float64, because GPU sin/cos lose accuracy on large
// arguments. Backward is the same kernel with the rotation reversed (direction = -1).
//
// x, y: [rows = B·H·T, D]; table: [positions, D/2, 2] holding (cos, sin).

const WORKGROUP: u32 = 256u;

struct RopeParams {
  rows: u32,
  seq: u32,
  head_dim: u32,
  offset: u32,
  direction: f32,
}

@group(0) @binding(0) var<uniform> p: RopeParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn rope_rotate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half = p.head_dim / 2u;
  let i = gid.x + gid.y * nwg.x * WORKGROUP;
  if (i >= p.rows * half) {
    return;
  }
  let row = i / half;
  let c = i % half;
  let pos = row % p.seq + p.offset;
  let cosv = table[(pos * half + c) * 2u];
  let sinv = table[(pos * half + c) * 2u + 1u] * p.direction;
  let base = row * p.head_dim;
  let a = x[base + c];
  let b = x[base + c + half];
  y[base + c] = a * cosv - b * sinv;
  y[base + c + half] = b * cosv + a * sinv;
}

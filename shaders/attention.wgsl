// Fused scaled-dot-product attention, flash style (FlashAttention-2 schedule), forward and backward.
//
// Rows of q/k/v live in per-invocation arrays of vec4 (zero padding past D). WGSL sizes such
// arrays only with constants, so they are MAX_HEAD_VEC4 long while loops run to the pipeline's
// HEAD_VEC4 override; the driver's compiler sees the override as a constant and specializes.
//
// Layout: q [BH, Tq, D], k/v [BH, Tk, D], out [BH, Tq, D], lse [BH, Tq] (row-major, contiguous).
// Causal rule: query i may see key j when j <= i + (Tk - Tq), so a KV cache with Tq < Tk works.
// Every row sees at least key 0, so no row is empty and the logsumexp is always finite.
// Key padding mask (masked != 0): keyMask [B, Tk], a key with mask < 0.5 is hidden from every
// query of its batch row (all H heads); each row must keep at least one visible key.
//
// Forward keeps only the per-row logsumexp; backward recomputes the probabilities tile by tile
// from it, and is deterministic: dQ is owned by query rows, dK/dV by key rows (no float atomics).

// Query rows per workgroup in the forward and dQ kernels (one row per invocation).
const ROWS_PER_GROUP: u32 = 64u;
// Keys staged in workgroup memory per tile (forward, dQ).
const KEY_TILE: u32 = 16u;
// Queries staged in workgroup memory per tile (dK/dV); key rows per workgroup is ROWS_PER_GROUP.
override QUERY_TILE: u32 = 16u;
// Head width D, set per pipeline.
override HEAD_DIM: u32 = 64u;
// Vec4s per row: ceil(D / 4).
override HEAD_VEC4: u32 = (HEAD_DIM + 3u) / 4u;
// Capacity of the per-invocation row arrays: D up to 128.
const MAX_HEAD_VEC4: u32 = 32u;
// Stand-in for -infinity: WGSL has no infinity literal and exp(-3e38 - m) underflows to 0 anyway.
const NEG_LARGE: f32 = -3.0e38;

struct AttentionParams {
  tq: u32,
  tk: u32,
  causal: u32,
  scale: f32,
  heads: u32,
  masked: u32,
}

@group(0) @binding(0) var<uniform> params: AttentionParams;

// ---- shared helpers -------------------------------------------------------------------------

// First key a query row may not see (exclusive end of its key range).
fn keyEnd(row: u32) -> u32 {
  if (params.causal != 0u) {
    return min(params.tk, row + (params.tk - params.tq) + 1u);
  }
  return params.tk;
}

// First query row that may see key `key` (all later rows see it too).
fn queryStart(key: u32) -> u32 {
  let shift = params.tk - params.tq;
  if (params.causal != 0u && key > shift) {
    return key - shift;
  }
  return 0u;
}

// ---- forward --------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> fwdQ: array<f32>;
@group(0) @binding(2) var<storage, read> fwdK: array<f32>;
@group(0) @binding(3) var<storage, read> fwdV: array<f32>;
@group(0) @binding(4) var<storage, read_write> fwdOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> fwdLse: array<f32>;
@group(0) @binding(6) var<storage, read> fwdKeyMask: array<f32>;

var<workgroup> keyTile: array<vec4<f32>, KEY_TILE * HEAD_VEC4>;
var<workgroup> valueTile: array<vec4<f32>, KEY_TILE * HEAD_VEC4>;

fn loadForwardQ(base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let d = c * 4u + e;
    if (d < HEAD_DIM) { r[e] = fwdQ[base + d]; }
  }
  return r;
}

fn stageForwardKeys(bh: u32, tileStart: u32, lid: u32) {
  for (var idx = lid; idx < KEY_TILE * HEAD_VEC4; idx += ROWS_PER_GROUP) {
    let key = tileStart + idx / HEAD_VEC4;
    let c = idx % HEAD_VEC4;
    var kv = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (key < params.tk) {
      let base = (bh * params.tk + key) * HEAD_DIM;
      for (var e = 0u; e < 4u; e++) {
        let d = c * 4u + e;
        if (d < HEAD_DIM) {
          kv[e] = fwdK[base + d];
          vv[e] = fwdV[base + d];
        }
      }
    }
    keyTile[idx] = kv;
    valueTile[idx] = vv;
  }
}

@compute @workgroup_size(ROWS_PER_GROUP)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let bh = wid.y;
  let firstRow = wid.x * ROWS_PER_GROUP;
  let row = firstRow + lid.x;
  let rowValid = row < params.tq;
  // Keys any row of this workgroup may see: uniform across the group, so barriers stay legal.
  let groupKeyEnd = keyEnd(min(firstRow + ROWS_PER_GROUP, params.tq) - 1u);
  let rowKeyEnd = select(0u, keyEnd(row), rowValid);

  var query: array<vec4<f32>, MAX_HEAD_VEC4>;
  var acc: array<vec4<f32>, MAX_HEAD_VEC4>;
  let rowBase = (bh * params.tq + row) * HEAD_DIM;
  for (var c = 0u; c < HEAD_VEC4; c++) {
    // The softmax scale is folded into q once instead of into every score.
    query[c] = select(vec4<f32>(0.0), loadForwardQ(rowBase, c) * params.scale, rowValid);
    acc[c] = vec4<f32>(0.0);
  }
  var runningMax = NEG_LARGE;
  var runningSum = 0.0;
  var scores: array<f32, KEY_TILE>;

  for (var tileStart = 0u; tileStart < groupKeyEnd; tileStart += KEY_TILE) {
    stageForwardKeys(bh, tileStart, lid.x);
    workgroupBarrier();
    let count = min(KEY_TILE, max(rowKeyEnd, tileStart) - tileStart);
    if (count > 0u) {
      var tileMax = NEG_LARGE;
      for (var j = 0u; j < count; j++) {
        var dotv = vec4<f32>(0.0);
        for (var c = 0u; c < HEAD_VEC4; c++) {
          dotv += query[c] * keyTile[j * HEAD_VEC4 + c];
        }
        var s = dotv.x + dotv.y + dotv.z + dotv.w;
        if (params.masked != 0u && fwdKeyMask[(bh / params.heads) * params.tk + tileStart + j] < 0.5) {
          s = NEG_LARGE;
        }
        scores[j] = s;
        tileMax = max(tileMax, s);
      }
      // Online softmax: rescale what was accumulated once per tile, not once per key.
      let newMax = max(runningMax, tileMax);
      let correction = exp(runningMax - newMax);
      runningSum *= correction;
      for (var c = 0u; c < HEAD_VEC4; c++) { acc[c] *= correction; }
      for (var j = 0u; j < count; j++) {
        let p = exp(scores[j] - newMax);
        runningSum += p;
        for (var c = 0u; c < HEAD_VEC4; c++) {
          acc[c] += p * valueTile[j * HEAD_VEC4 + c];
        }
      }
      runningMax = newMax;
    }
    workgroupBarrier();
  }

  if (rowValid) {
    let inv = 1.0 / runningSum;
    for (var c = 0u; c < HEAD_VEC4; c++) {
      let o = acc[c] * inv;
      for (var e = 0u; e < 4u; e++) {
        let d = c * 4u + e;
        if (d < HEAD_DIM) { fwdOut[rowBase + d] = o[e]; }
      }
    }
    fwdLse[bh * params.tq + row] = runningMax + log(runningSum);
  }
}

// ---- backward, step 1: delta_i = dot(dO_i, O_i) per query row -------------------------------

@group(0) @binding(1) var<storage, read> preOut: array<f32>;
@group(0) @binding(2) var<storage, read> preGradOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> preDelta: array<f32>;

struct RowCountParams {
  rows: u32,
}
@group(0) @binding(0) var<uniform> rowParams: RowCountParams;

@compute @workgroup_size(ROWS_PER_GROUP)
fn attention_backward_delta(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= rowParams.rows) { return; }
  let base = row * HEAD_DIM;
  var sum = 0.0;
  for (var d = 0u; d < HEAD_DIM; d++) {
    sum += preOut[base + d] * preGradOut[base + d];
  }
  preDelta[row] = sum;
}

// ---- backward, step 2: dQ, one invocation per query row -------------------------------------

@group(0) @binding(1) var<storage, read> dqQ: array<f32>;
@group(0) @binding(2) var<storage, read> dqK: array<f32>;
@group(0) @binding(3) var<storage, read> dqV: array<f32>;
@group(0) @binding(4) var<storage, read> dqGradOut: array<f32>;
@group(0) @binding(5) var<storage, read> dqLse: array<f32>;
@group(0) @binding(6) var<storage, read> dqDelta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dqGradQ: array<f32>;
@group(0) @binding(8) var<storage, read> dqKeyMask: array<f32>;

fn loadRow(which: u32, base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let d = c * 4u + e;
    if (d < HEAD_DIM) {
      if (which == 0u) { r[e] = dqQ[base + d]; } else { r[e] = dqGradOut[base + d]; }
    }
  }
  return r;
}

fn stageGradQueryKeys(bh: u32, tileStart: u32, lid: u32) {
  for (var idx = lid; idx < KEY_TILE * HEAD_VEC4; idx += ROWS_PER_GROUP) {
    let key = tileStart + idx / HEAD_VEC4;
    let c = idx % HEAD_VEC4;
    var kv = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (key < params.tk) {
      let base = (bh * params.tk + key) * HEAD_DIM;
      for (var e = 0u; e < 4u; e++) {
        let d = c * 4u + e;
        if (d < HEAD_DIM) {
          kv[e] = dqK[base + d];
          vv[e] = dqV[base + d];
        }
      }
    }
    keyTile[idx] = kv;
    valueTile[idx] = vv;
  }
}

@compute @workgroup_size(ROWS_PER_GROUP)
fn attention_backward_query(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let bh = wid.y;
  let firstRow = wid.x * ROWS_PER_GROUP;
  let row = firstRow + lid.x;
  let rowValid = row < params.tq;
  let groupKeyEnd = keyEnd(min(firstRow + ROWS_PER_GROUP, params.tq) - 1u);
  let rowKeyEnd = select(0u, keyEnd(row), rowValid);

  let rowBase = (bh * params.tq + row) * HEAD_DIM;
  var query: array<vec4<f32>, MAX_HEAD_VEC4>;
  var gradOut: array<vec4<f32>, MAX_HEAD_VEC4>;
  var gradQuery: array<vec4<f32>, MAX_HEAD_VEC4>;
  for (var c = 0u; c < HEAD_VEC4; c++) {
    query[c] = select(vec4<f32>(0.0), loadRow(0u, rowBase, c) * params.scale, rowValid);
    gradOut[c] = select(vec4<f32>(0.0), loadRow(1u, rowBase, c), rowValid);
    gradQuery[c] = vec4<f32>(0.0);
  }
  var lse = 0.0;
  var delta = 0.0;
  if (rowValid) {
    lse = dqLse[bh * params.tq + row];
    delta = dqDelta[bh * params.tq + row];
  }

  for (var tileStart = 0u; tileStart < groupKeyEnd; tileStart += KEY_TILE) {
    stageGradQueryKeys(bh, tileStart, lid.x);
    workgroupBarrier();
    let count = min(KEY_TILE, max(rowKeyEnd, tileStart) - tileStart);
    for (var j = 0u; j < count; j++) {
      var sv = vec4<f32>(0.0);
      var dpv = vec4<f32>(0.0);
      for (var c = 0u; c < HEAD_VEC4; c++) {
        sv += query[c] * keyTile[j * HEAD_VEC4 + c];
        dpv += gradOut[c] * valueTile[j * HEAD_VEC4 + c];
      }
      var p = exp(sv.x + sv.y + sv.z + sv.w - lse);
      if (params.masked != 0u && dqKeyMask[(bh / params.heads) * params.tk + tileStart + j] < 0.5) {
        p = 0.0;
      }
      let ds = p * (dpv.x + dpv.y + dpv.z + dpv.w - delta);
      for (var c = 0u; c < HEAD_VEC4; c++) {
        gradQuery[c] += ds * keyTile[j * HEAD_VEC4 + c];
      }
    }
    workgroupBarrier();
  }

  if (rowValid) {
    for (var c = 0u; c < HEAD_VEC4; c++) {
      let g = gradQuery[c] * params.scale;
      for (var e = 0u; e < 4u; e++) {
        let d = c * 4u + e;
        if (d < HEAD_DIM) { dqGradQ[rowBase + d] = g[e]; }
      }
    }
  }
}

// ---- backward, step 3: dK and dV, one invocation per key row --------------------------------

@group(0) @binding(1) var<storage, read> kvQ: array<f32>;
@group(0) @binding(2) var<storage, read> kvK: array<f32>;
@group(0) @binding(3) var<storage, read> kvV: array<f32>;
@group(0) @binding(4) var<storage, read> kvGradOut: array<f32>;
@group(0) @binding(5) var<storage, read> kvLse: array<f32>;
@group(0) @binding(6) var<storage, read> kvDelta: array<f32>;
@group(0) @binding(7) var<storage, read_write> kvGradK: array<f32>;
@group(0) @binding(8) var<storage, read_write> kvGradV: array<f32>;

var<workgroup> queryTile: array<vec4<f32>, QUERY_TILE * HEAD_VEC4>;
var<workgroup> gradOutTile: array<vec4<f32>, QUERY_TILE * HEAD_VEC4>;
var<workgroup> lseTile: array<f32, QUERY_TILE>;
var<workgroup> deltaTile: array<f32, QUERY_TILE>;

fn stageQueries(bh: u32, tileStart: u32, lid: u32) {
  for (var idx = lid; idx < QUERY_TILE * HEAD_VEC4; idx += ROWS_PER_GROUP) {
    let row = tileStart + idx / HEAD_VEC4;
    let c = idx % HEAD_VEC4;
    var qv = vec4<f32>(0.0);
    var gv = vec4<f32>(0.0);
    if (row < params.tq) {
      let base = (bh * params.tq + row) * HEAD_DIM;
      for (var e = 0u; e < 4u; e++) {
        let d = c * 4u + e;
        if (d < HEAD_DIM) {
          qv[e] = kvQ[base + d];
          gv[e] = kvGradOut[base + d];
        }
      }
    }
    queryTile[idx] = qv;
    gradOutTile[idx] = gv;
  }
  if (lid < QUERY_TILE) {
    let row = tileStart + lid;
    if (row < params.tq) {
      lseTile[lid] = kvLse[bh * params.tq + row];
      deltaTile[lid] = kvDelta[bh * params.tq + row];
    }
  }
}

@compute @workgroup_size(ROWS_PER_GROUP)
fn attention_backward_key_value(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let bh = wid.y;
  let firstKey = wid.x * ROWS_PER_GROUP;
  let key = firstKey + lid.x;
  let keyValid = key < params.tk;
  // Queries that see the group's first key: uniform across the group (barriers stay legal).
  let groupQueryStart = queryStart(firstKey);
  let keyQueryStart = select(params.tq, queryStart(key), keyValid);

  let keyBase = (bh * params.tk + key) * HEAD_DIM;
  var keyRow: array<vec4<f32>, MAX_HEAD_VEC4>;
  var valueRow: array<vec4<f32>, MAX_HEAD_VEC4>;
  var gradKey: array<vec4<f32>, MAX_HEAD_VEC4>;
  var gradValue: array<vec4<f32>, MAX_HEAD_VEC4>;
  for (var c = 0u; c < HEAD_VEC4; c++) {
    var kv = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (keyValid) {
      for (var e = 0u; e < 4u; e++) {
        let d = c * 4u + e;
        if (d < HEAD_DIM) {
          kv[e] = kvK[keyBase + d];
          vv[e] = kvV[keyBase + d];
        }
      }
    }
    keyRow[c] = kv * params.scale;
    valueRow[c] = vv;
    gradKey[c] = vec4<f32>(0.0);
    gradValue[c] = vec4<f32>(0.0);
  }

  let firstTile = (groupQueryStart / QUERY_TILE) * QUERY_TILE;
  for (var tileStart = firstTile; tileStart < params.tq; tileStart += QUERY_TILE) {
    stageQueries(bh, tileStart, lid.x);
    workgroupBarrier();
    let tileEnd = min(tileStart + QUERY_TILE, params.tq);
    for (var i = max(keyQueryStart, tileStart); i < tileEnd; i++) {
      let t = i - tileStart;
      var sv = vec4<f32>(0.0);
      var dpv = vec4<f32>(0.0);
      for (var c = 0u; c < HEAD_VEC4; c++) {
        sv += keyRow[c] * queryTile[t * HEAD_VEC4 + c];
        dpv += valueRow[c] * gradOutTile[t * HEAD_VEC4 + c];
      }
      let p = exp(sv.x + sv.y + sv.z + sv.w - lseTile[t]);
      let ds = p * (dpv.x + dpv.y + dpv.z + dpv.w - deltaTile[t]);
      for (var c = 0u; c < HEAD_VEC4; c++) {
        gradValue[c] += p * gradOutTile[t * HEAD_VEC4 + c];
        gradKey[c] += ds * queryTile[t * HEAD_VEC4 + c];
      }
    }
    workgroupBarrier();
  }

  if (keyValid) {
    for (var c = 0u; c < HEAD_VEC4; c++) {
      let gk = gradKey[c] * params.scale;
      let gv = gradValue[c];
      for (var e = 0u; e < 4u; e++) {
        let d = c * 4u + e;
        if (d < HEAD_DIM) {
          kvGradK[keyBase + d] = gk[e];
          kvGradV[keyBase + d] = gv[e];
        }
      }
    }
  }
}

// ---- causal_mask: the unfused path (scores [.., Tq, Tk]) ------------------------------------
// Forward fills masked scores with -inf (fill_bits = 0xff800000), backward zeroes their
// gradient (fill_bits = 0); same KV-cache rule as above.

const MASK_WORKGROUP: u32 = 256u;

struct MaskParams {
  n: u32,
  tq: u32,
  tk: u32,
  fill_bits: u32,
}

@group(0) @binding(0) var<uniform> maskParams: MaskParams;
@group(0) @binding(1) var<storage, read> maskIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> maskOut: array<f32>;

@compute @workgroup_size(MASK_WORKGROUP)
fn causal_mask(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * MASK_WORKGROUP;
  if (i >= maskParams.n) { return; }
  let col = i % maskParams.tk;
  let row = (i / maskParams.tk) % maskParams.tq;
  let visible = col <= row + (maskParams.tk - maskParams.tq);
  maskOut[i] = select(bitcast<f32>(maskParams.fill_bits), maskIn[i], visible);
}

// ---- mask_key_rows: dK and dV of masked keys are zero ---------------------------------------
// The dK/dV kernel already binds WebGPU's default maximum of 8 storage buffers, so it ignores the
// key mask; this pass then zeroes the rows of hidden keys (no query gave them probability).

struct KeyRowParams {
  n: u32,
  tk: u32,
  heads: u32,
  head_dim: u32,
}

@group(0) @binding(0) var<uniform> keyRowParams: KeyRowParams;
@group(0) @binding(1) var<storage, read> keyRowMask: array<f32>;
@group(0) @binding(2) var<storage, read_write> keyRowGradK: array<f32>;
@group(0) @binding(3) var<storage, read_write> keyRowGradV: array<f32>;

@compute @workgroup_size(MASK_WORKGROUP)
fn mask_key_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * MASK_WORKGROUP;
  if (i >= keyRowParams.n) { return; }
  let keyRow = i / keyRowParams.head_dim;
  let key = keyRow % keyRowParams.tk;
  let batch = keyRow / keyRowParams.tk / keyRowParams.heads;
  if (keyRowMask[batch * keyRowParams.tk + key] < 0.5) {
    keyRowGradK[i] = 0.0;
    keyRowGradV[i] = 0.0;
  }
}

// Batched matmul C = alpha · op(A) · op(B) (+ C when ACCUMULATE), op = identity or transpose.
// A is [M,K] ([K,M] when TRANS_A), B is [K,N] ([N,K] when TRANS_B), C is [M,N], all row-major,
// one matrix per workgroup z (batch strides in elements; stride 0 broadcasts an operand).
//
// Tiling: a workgroup computes a BM×BN tile of C, walking K in steps of BK. Both input tiles are
// staged in workgroup memory k-major (As[k][m], Bs[k][n]) so the inner loop reads TM consecutive
// A values and TN consecutive B values per k and does TM·TN FMAs from registers. Tiles past the
// matrix edge load zeros, so any M, N, K (including 1) is correct.
//
// Workgroup memory is written one scalar per thread: several threads writing lanes of one shared
// vec4 race on some drivers (the write becomes read-modify-write of the whole vector).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
override BM: u32 = 128u;
override BN: u32 = 128u;
override BK: u32 = 8u;
override TM: u32 = 8u; // rows of C per thread (TM·TN ≤ 64)
override TN: u32 = 8u; // columns of C per thread
override THREADS_X: u32 = BN / TN;
override THREADS_Y: u32 = BM / TM;
override THREADS: u32 = THREADS_X * THREADS_Y;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  stride_a: u32,
  stride_b: u32,
  stride_c: u32,
  alpha: f32,
  // Split-K (matmul_8x8 only): workgroup z = batch · splits + s computes k in
  // [s·k_chunk, (s+1)·k_chunk) into partial matrix z; the caller sums the partials. 1 and K
  // otherwise.
  splits: u32,
  k_chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<f32, BK * BM>;
var<workgroup> Bs: array<f32, BK * BN>;

// k_end bounds the k range of this workgroup (K, or the end of its split-K chunk).
fn load_a(batch: u32, m: u32, k: u32, k_end: u32) -> f32 {
  if (m >= p.M || k >= k_end) {
    return 0.0;
  }
  if (TRANS_A) {
    return A[batch * p.stride_a + k * p.M + m];
  }
  return A[batch * p.stride_a + m * p.K + k];
}

fn load_b(batch: u32, k: u32, n: u32, k_end: u32) -> f32 {
  if (k >= k_end || n >= p.N) {
    return 0.0;
  }
  if (TRANS_B) {
    return B[batch * p.stride_b + n * p.K + k];
  }
  return B[batch * p.stride_b + k * p.N + n];
}

@compute @workgroup_size(THREADS)
fn matmul(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_index) tid: u32,
) {
  let batch = wg.z;
  let m0 = wg.y * BM;
  let n0 = wg.x * BN;
  let tx = tid % THREADS_X;
  let ty = tid / THREADS_X;
  var acc: array<f32, 64>;
  for (var i = 0u; i < TM * TN; i = i + 1u) {
    acc[i] = 0.0;
  }
  var a: array<f32, 8>;
  var b: array<f32, 8>;

  for (var k0 = 0u; k0 < p.K; k0 = k0 + BK) {
    // Stage the tiles; consecutive threads read consecutive addresses of the source layout.
    for (var e = tid; e < BM * BK; e = e + THREADS) {
      var m: u32;
      var k: u32;
      if (TRANS_A) {
        k = e / BM;
        m = e % BM;
      } else {
        m = e / BK;
        k = e % BK;
      }
      As[k * BM + m] = load_a(batch, m0 + m, k0 + k, p.K);
    }
    for (var e = tid; e < BN * BK; e = e + THREADS) {
      var n: u32;
      var k: u32;
      if (TRANS_B) {
        n = e / BK;
        k = e % BK;
      } else {
        k = e / BN;
        n = e % BN;
      }
      Bs[k * BN + n] = load_b(batch, k0 + k, n0 + n, p.K);
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k = k + 1u) {
      for (var i = 0u; i < TM; i = i + 1u) {
        a[i] = As[k * BM + ty * TM + i];
      }
      for (var j = 0u; j < TN; j = j + 1u) {
        b[j] = Bs[k * BN + tx * TN + j];
      }
      for (var i = 0u; i < TM; i = i + 1u) {
        for (var j = 0u; j < TN; j = j + 1u) {
          acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i = i + 1u) {
    let m = m0 + ty * TM + i;
    if (m >= p.M) {
      break;
    }
    for (var j = 0u; j < TN; j = j + 1u) {
      let n = n0 + tx * TN + j;
      if (n < p.N) {
        let idx = batch * p.stride_c + m * p.N + n;
        var v = p.alpha * acc[i * TN + j];
        if (ACCUMULATE) {
          v = v + C[idx];
        }
        C[idx] = v;
      }
    }
  }
}

// ---- matmul_8x8: the large-tile kernel, 128×128 tile, 8×8 outputs per thread ----
// Same contract as `matmul` (the overrides TRANS_A, TRANS_B, ACCUMULATE apply; the tile
// overrides do not). Workgroup tiles are vec4 arrays: each thread writes whole vec4s (four
// values it loaded itself), and the inner loop reads two vec4 of A and two of B per k.

const T8_BM: u32 = 128u;
const T8_BN: u32 = 128u;
// k per stage, a multiple of 8: 16 beat 8 by ~20% on lavapipe (half the barriers) and 32 was no
// better.
override T8_BK: u32 = 16u;

var<workgroup> As4: array<vec4f, T8_BK * 32u>; // [BK][BM/4]
var<workgroup> Bs4: array<vec4f, T8_BK * 32u>; // [BK][BN/4]

@compute @workgroup_size(256)
fn matmul_8x8(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_index) tid: u32,
) {
  let batch = wg.z / p.splits;
  let k_begin = (wg.z % p.splits) * p.k_chunk;
  let k_end = min(p.K, k_begin + p.k_chunk);
  let m0 = wg.y * T8_BM;
  let n0 = wg.x * T8_BN;
  let tx = tid % 16u;
  let ty = tid / 16u;
  var acc: array<vec4f, 16>; // acc[2*i + h] = C[row i][cols 4h..4h+3] of this thread's 8×8
  for (var i = 0u; i < 16u; i = i + 1u) {
    acc[i] = vec4f(0.0);
  }
  // Interior tiles (the common case) skip the per-element bounds checks.
  let interior = m0 + T8_BM <= p.M && n0 + T8_BN <= p.N;
  let a_base = batch * p.stride_a;
  let b_base = batch * p.stride_b;
  for (var k0 = k_begin; k0 < k_end; k0 = k0 + T8_BK) {
    let fast = interior && k0 + T8_BK <= k_end;
    // Loader roles: the A tile is BK k-rows × 32 m-quads; each thread fills BK/8 whole vec4s.
    for (var slot = tid; slot < T8_BK * 32u; slot = slot + 256u) {
      let k = k0 + slot / 32u;
      let lq = (slot % 32u) * 4u;
      if (fast) {
        if (TRANS_A) {
          let i = a_base + k * p.M + m0 + lq;
          As4[slot] = vec4f(A[i], A[i + 1u], A[i + 2u], A[i + 3u]);
        } else {
          let i = a_base + (m0 + lq) * p.K + k;
          As4[slot] = vec4f(A[i], A[i + p.K], A[i + 2u * p.K], A[i + 3u * p.K]);
        }
        if (TRANS_B) {
          let i = b_base + (n0 + lq) * p.K + k;
          Bs4[slot] = vec4f(B[i], B[i + p.K], B[i + 2u * p.K], B[i + 3u * p.K]);
        } else {
          let i = b_base + k * p.N + n0 + lq;
          Bs4[slot] = vec4f(B[i], B[i + 1u], B[i + 2u], B[i + 3u]);
        }
      } else {
        As4[slot] = vec4f(
          load_a(batch, m0 + lq, k, k_end),
          load_a(batch, m0 + lq + 1u, k, k_end),
          load_a(batch, m0 + lq + 2u, k, k_end),
          load_a(batch, m0 + lq + 3u, k, k_end),
        );
        Bs4[slot] = vec4f(
          load_b(batch, k, n0 + lq, k_end),
          load_b(batch, k, n0 + lq + 1u, k_end),
          load_b(batch, k, n0 + lq + 2u, k_end),
          load_b(batch, k, n0 + lq + 3u, k_end),
        );
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < T8_BK; kk = kk + 1u) {
      let a0 = As4[kk * 32u + ty * 2u];
      let a1 = As4[kk * 32u + ty * 2u + 1u];
      let b0 = Bs4[kk * 32u + tx * 2u];
      let b1 = Bs4[kk * 32u + tx * 2u + 1u];
      acc[0] = fma(vec4f(a0.x), b0, acc[0]);
      acc[1] = fma(vec4f(a0.x), b1, acc[1]);
      acc[2] = fma(vec4f(a0.y), b0, acc[2]);
      acc[3] = fma(vec4f(a0.y), b1, acc[3]);
      acc[4] = fma(vec4f(a0.z), b0, acc[4]);
      acc[5] = fma(vec4f(a0.z), b1, acc[5]);
      acc[6] = fma(vec4f(a0.w), b0, acc[6]);
      acc[7] = fma(vec4f(a0.w), b1, acc[7]);
      acc[8] = fma(vec4f(a1.x), b0, acc[8]);
      acc[9] = fma(vec4f(a1.x), b1, acc[9]);
      acc[10] = fma(vec4f(a1.y), b0, acc[10]);
      acc[11] = fma(vec4f(a1.y), b1, acc[11]);
      acc[12] = fma(vec4f(a1.z), b0, acc[12]);
      acc[13] = fma(vec4f(a1.z), b1, acc[13]);
      acc[14] = fma(vec4f(a1.w), b0, acc[14]);
      acc[15] = fma(vec4f(a1.w), b1, acc[15]);
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 8u; i = i + 1u) {
    let m = m0 + ty * 8u + i;
    if (m >= p.M) {
      break;
    }
    for (var h = 0u; h < 2u; h = h + 1u) {
      let v = acc[2u * i + h];
      for (var c = 0u; c < 4u; c = c + 1u) {
        let n = n0 + tx * 8u + h * 4u + c;
        if (n < p.N) {
          let idx = wg.z * p.stride_c + m * p.N + n; // partial z under split-K
          var out = p.alpha * v[c];
          if (ACCUMULATE) {
            out = out + C[idx];
          }
          C[idx] = out;
        }
      }
    }
  }
}


// ---- matmul_rows: few rows (M ≤ 8), e.g. one decoding position times a weight matrix ----
// A tiled kernel would compute a whole tile of padding rows; here each invocation owns one column
// n of C and walks k once, keeping the ≤ 8 row sums in registers. Same contract as `matmul`.

const ROWS_MAX: u32 = 8u;

@compute @workgroup_size(64)
fn matmul_rows(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wg: vec3u,
) {
  let n = gid.x;
  if (n >= p.N) {
    return;
  }
  let batch = wg.z;
  let a_base = batch * p.stride_a;
  let b_base = batch * p.stride_b;
  var acc: array<f32, ROWS_MAX>;
  for (var m = 0u; m < ROWS_MAX; m = m + 1u) {
    acc[m] = 0.0;
  }
  for (var k = 0u; k < p.K; k = k + 1u) {
    var b: f32;
    if (TRANS_B) {
      b = B[b_base + n * p.K + k];
    } else {
      b = B[b_base + k * p.N + n];
    }
    for (var m = 0u; m < ROWS_MAX; m = m + 1u) {
      if (m < p.M) {
        var a: f32;
        if (TRANS_A) {
          a = A[a_base + k * p.M + m];
        } else {
          a = A[a_base + m * p.K + k];
        }
        acc[m] = fma(a, b, acc[m]);
      }
    }
  }
  for (var m = 0u; m < ROWS_MAX; m = m + 1u) {
    if (m < p.M) {
      let idx = batch * p.stride_c + m * p.N + n;
      var out = p.alpha * acc[m];
      if (ACCUMULATE) {
        out = out + C[idx];
      }
      C[idx] = out;
    }
  }
}

// Batched matmul C = alpha · op(A) · op(B) (+ bias[n]) (+ C when ACCUMULATE), op = identity or
// transpose. A is [M,K] ([K,M] when TRANS_A), B is [K,N] ([N,K] when TRANS_B), C is [M,N], all
// row-major, one matrix per workgroup z (batch strides in elements; stride 0 broadcasts an
// operand). A and B are bound as vec4 arrays; element i is A[i / 4][i % 4].
//
// matmul_tiled: a workgroup computes a BM×BN tile of C with TM×TN outputs per thread, walking k
// in stages of BK. Both input tiles are staged in workgroup memory k-major as vec4 (As[k][m/4],
// Bs[k][n/4]), so the inner loop reads TM/4 + TN/4 vec4 per k and does TM·TN FMAs from registers.
//
// Loading: a loader job is a 4×4 block of one operand (4 vec4 global reads, 4 vec4 shared
// writes). Consecutive threads take consecutive blocks along the operand's contiguous dimension,
// so a warp's reads are contiguous runs for every layout. A k-contiguous operand (A of NN/NT, B of
// NT/TT) is read as vec4 along k and transposed in registers into the k-major tile; an
// m/n-contiguous one is copied as is. The next stage's blocks are loaded into registers while
// the current stage computes (register prefetch), so one tile of workgroup memory suffices.
//
// Every output is one fma chain over k in increasing order from 0, whatever the tile shape or
// stage depth: all matmul_tiled variants give bit-identical results (autotune relies on it).
// Only split-K (partial sums over k chunks, added afterwards) changes the rounding.
//
// Workgroup memory is written in whole vec4 by the one thread that owns them: several threads
// writing lanes of one shared vec4 race on some drivers (read-modify-write of the vector).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
override BM: u32 = 128u;
override BN: u32 = 128u;
override BK: u32 = 16u; // a multiple of 4
override TM: u32 = 8u; // rows of C per thread: 4 or 8
override TN: u32 = 8u; // columns of C per thread: 4 or 8
override THREADS_X: u32 = BN / TN;
override THREADS_Y: u32 = BM / TM;
override THREADS: u32 = THREADS_X * THREADS_Y;
// Loader jobs (4×4 blocks) per thread: ceil((BM + BN)·BK / 16 / THREADS) ≤ JOBS_MAX.
override JOBS: u32 = ((BM + BN) * BK / 16u + THREADS - 1u) / THREADS;
const JOBS_MAX: u32 = 2u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  stride_a: u32,
  stride_b: u32,
  stride_c: u32,
  alpha: f32,
  // Split-K: workgroup z = batch · splits + s computes k in [s·k_chunk, (s+1)·k_chunk) (k_chunk
  // a multiple of 32) into partial matrix z; the caller sums the partials. 1 and K otherwise.
  splits: u32,
  k_chunk: u32,
  // 1 when the operand's contiguous dimension is a multiple of 4 (K for A, or M when TRANS_A; N
  // for B, or K when TRANS_B): its quads are whole vec4 reads; else gathered per element. A
  // uniform rather than an override, so one pipeline serves both (fewer compiles).
  vec_a: u32,
  vec_b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4f>;
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

var<workgroup> As: array<vec4f, BK * BM / 4u>;
var<workgroup> Bs: array<vec4f, BK * BN / 4u>;

fn a_at(i: u32) -> f32 {
  return A[i >> 2u][i & 3u];
}

fn b_at(i: u32) -> f32 {
  return B[i >> 2u][i & 3u];
}

fn a_index(base: u32, m: u32, k: u32) -> u32 {
  if (TRANS_A) {
    return base + k * p.M + m;
  }
  return base + m * p.K + k;
}

fn b_index(base: u32, k: u32, n: u32) -> u32 {
  if (TRANS_B) {
    return base + n * p.K + k;
  }
  return base + k * p.N + n;
}

fn a_elem(base: u32, m: u32, k: u32, k_end: u32) -> f32 {
  if (m >= p.M || k >= k_end) {
    return 0.0;
  }
  return a_at(a_index(base, m, k));
}

fn b_elem(base: u32, k: u32, n: u32, k_end: u32) -> f32 {
  if (k >= k_end || n >= p.N) {
    return 0.0;
  }
  return b_at(b_index(base, k, n));
}

// Four consecutive elements of A along its contiguous dimension, starting at (m, k): along k, or
// along m when TRANS_A. A whole quad is in range or out of it when vec_a (dimensions, k_end and
// the quad start are multiples of 4).
fn a_quad(base: u32, m: u32, k: u32, k_end: u32) -> vec4f {
  if (p.vec_a != 0u) {
    if (m >= p.M || k >= k_end) {
      return vec4f(0.0);
    }
    return A[a_index(base, m, k) >> 2u];
  }
  if (TRANS_A) {
    return vec4f(
      a_elem(base, m, k, k_end),
      a_elem(base, m + 1u, k, k_end),
      a_elem(base, m + 2u, k, k_end),
      a_elem(base, m + 3u, k, k_end),
    );
  }
  return vec4f(
    a_elem(base, m, k, k_end),
    a_elem(base, m, k + 1u, k_end),
    a_elem(base, m, k + 2u, k_end),
    a_elem(base, m, k + 3u, k_end),
  );
}

// Same for B along its contiguous dimension: along n, or along k when TRANS_B.
fn b_quad(base: u32, k: u32, n: u32, k_end: u32) -> vec4f {
  if (p.vec_b != 0u) {
    if (k >= k_end || n >= p.N) {
      return vec4f(0.0);
    }
    return B[b_index(base, k, n) >> 2u];
  }
  if (TRANS_B) {
    return vec4f(
      b_elem(base, k, n, k_end),
      b_elem(base, k + 1u, n, k_end),
      b_elem(base, k + 2u, n, k_end),
      b_elem(base, k + 3u, n, k_end),
    );
  }
  return vec4f(
    b_elem(base, k, n, k_end),
    b_elem(base, k, n + 1u, k_end),
    b_elem(base, k, n + 2u, k_end),
    b_elem(base, k, n + 3u, k_end),
  );
}

// The blocks of job j: A blocks first, then B. Returns (operand 0|1, row quad, k quad), where
// consecutive j walk the operand's contiguous dimension first.
fn job_block(j: u32) -> vec3u {
  let ja = (BM / 4u) * (BK / 4u);
  if (j < ja) {
    if (TRANS_A) {
      return vec3u(0u, j % (BM / 4u), j / (BM / 4u));
    }
    return vec3u(0u, j / (BK / 4u), j % (BK / 4u));
  }
  let jb = j - ja;
  if (TRANS_B) {
    return vec3u(1u, jb / (BK / 4u), jb % (BK / 4u));
  }
  return vec3u(1u, jb % (BN / 4u), jb / (BN / 4u));
}

// Global reads of one job into 4 registers (quads along the operand's contiguous dimension).
fn load_job(j: u32, m0: u32, n0: u32, k0: u32, k_end: u32, a_base: u32, b_base: u32) -> array<vec4f, 4> {
  var r: array<vec4f, 4>;
  let blk = job_block(j);
  let k = k0 + blk.z * 4u;
  if (blk.x == 0u) {
    let m = m0 + blk.y * 4u;
    for (var i = 0u; i < 4u; i = i + 1u) {
      if (TRANS_A) {
        r[i] = a_quad(a_base, m, k + i, k_end); // row k+i, m..m+3
      } else {
        r[i] = a_quad(a_base, m + i, k, k_end); // row m+i, k..k+3
      }
    }
  } else {
    let n = n0 + blk.y * 4u;
    for (var i = 0u; i < 4u; i = i + 1u) {
      if (TRANS_B) {
        r[i] = b_quad(b_base, k, n + i, k_end); // row n+i, k..k+3
      } else {
        r[i] = b_quad(b_base, k + i, n, k_end); // row k+i, n..n+3
      }
    }
  }
  return r;
}

// Shared writes of one job: 4 whole vec4, k-major; k-contiguous quads are transposed first.
fn store_job(j: u32, r: array<vec4f, 4>) {
  let blk = job_block(j);
  let k = blk.z * 4u;
  var along_k: bool;
  if (blk.x == 0u) {
    along_k = !TRANS_A;
  } else {
    along_k = TRANS_B;
  }
  for (var c = 0u; c < 4u; c = c + 1u) {
    var v = r[c];
    if (along_k) {
      v = vec4f(r[0][c], r[1][c], r[2][c], r[3][c]);
    }
    if (blk.x == 0u) {
      As[(k + c) * (BM / 4u) + blk.y] = v;
    } else {
      Bs[(k + c) * (BN / 4u) + blk.y] = v;
    }
  }
}

// The thread's TM×TN accumulators: acc[i·(TN/4) + q] holds row i, column quad q. Thread rows
// and column quads are interleaved across threads (row quad r of the tile belongs to thread
// row r % THREADS_Y), so neighbouring threads read neighbouring vec4 of the shared tile.
fn tile_product(wg: vec3u, tid: u32) -> array<vec4f, 16> {
  let batch = wg.z / p.splits;
  let k_begin = (wg.z % p.splits) * p.k_chunk;
  let k_end = min(p.K, k_begin + p.k_chunk);
  let m0 = wg.y * BM;
  let n0 = wg.x * BN;
  let tx = tid % THREADS_X;
  let ty = tid / THREADS_X;
  let a_base = batch * p.stride_a;
  let b_base = batch * p.stride_b;
  let jobs_total = (BM + BN) * BK / 16u;
  var acc: array<vec4f, 16>;
  for (var i = 0u; i < 16u; i = i + 1u) {
    acc[i] = vec4f(0.0);
  }
  var staged: array<array<vec4f, 4>, JOBS_MAX>;
  for (var r = 0u; r < JOBS; r = r + 1u) {
    let j = tid + r * THREADS;
    if (j < jobs_total) {
      staged[r] = load_job(j, m0, n0, k_begin, k_end, a_base, b_base);
    }
  }
  var a: array<vec4f, 2>;
  var b: array<vec4f, 2>;
  for (var k0 = k_begin; k0 < k_end; k0 = k0 + BK) {
    for (var r = 0u; r < JOBS; r = r + 1u) {
      let j = tid + r * THREADS;
      if (j < jobs_total) {
        store_job(j, staged[r]);
      }
    }
    workgroupBarrier();
    // Prefetch: the next stage's global reads are in flight while this stage computes.
    if (k0 + BK < k_end) {
      for (var r = 0u; r < JOBS; r = r + 1u) {
        let j = tid + r * THREADS;
        if (j < jobs_total) {
          staged[r] = load_job(j, m0, n0, k0 + BK, k_end, a_base, b_base);
        }
      }
    }
    for (var kk = 0u; kk < BK; kk = kk + 1u) {
      for (var i = 0u; i < TM / 4u; i = i + 1u) {
        a[i] = As[kk * (BM / 4u) + i * THREADS_Y + ty];
      }
      for (var q = 0u; q < TN / 4u; q = q + 1u) {
        b[q] = Bs[kk * (BN / 4u) + q * THREADS_X + tx];
      }
      for (var i = 0u; i < TM; i = i + 1u) {
        let av = vec4f(a[i / 4u][i % 4u]);
        for (var q = 0u; q < TN / 4u; q = q + 1u) {
          acc[i * (TN / 4u) + q] = fma(av, b[q], acc[i * (TN / 4u) + q]);
        }
      }
    }
    workgroupBarrier();
  }
  return acc;
}

// Column n of the thread's column quad q: (q·THREADS_X + tx)·4 + c.
fn tile_column(wg: vec3u, tid: u32, q: u32) -> u32 {
  return wg.x * BN + (q * THREADS_X + tid % THREADS_X) * 4u;
}

// Writes the accumulators: C = alpha · acc + add (+ C), add = the bias of the thread's column
// quads (zeros without bias: adding +0 changes no value). Partial matrix z under split-K. The
// bias is read by the bias entry point only, so the other one's layout has no binding 4.
fn write_tile(wg: vec3u, tid: u32, acc: array<vec4f, 16>, add: array<vec4f, 2>) {
  let m0 = wg.y * BM;
  let ty = tid / THREADS_X;
  for (var i = 0u; i < TM; i = i + 1u) {
    let m = m0 + ((i / 4u) * THREADS_Y + ty) * 4u + i % 4u;
    if (m < p.M) {
      for (var q = 0u; q < TN / 4u; q = q + 1u) {
        let v = acc[i * (TN / 4u) + q];
        let nq = tile_column(wg, tid, q);
        for (var c = 0u; c < 4u; c = c + 1u) {
          let n = nq + c;
          if (n < p.N) {
            let idx = wg.z * p.stride_c + m * p.N + n;
            var out = p.alpha * v[c] + add[q][c];
            if (ACCUMULATE) {
              out = out + C[idx];
            }
            C[idx] = out;
          }
        }
      }
    }
  }
}

@compute @workgroup_size(THREADS)
fn matmul_tiled(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_index) tid: u32,
) {
  write_tile(wg, tid, tile_product(wg, tid), array<vec4f, 2>());
}

// The same product with the bias of a linear layer added in the epilogue (no split-K).
@compute @workgroup_size(THREADS)
fn matmul_tiled_bias(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_index) tid: u32,
) {
  var add: array<vec4f, 2>;
  for (var q = 0u; q < TN / 4u; q = q + 1u) {
    let n = tile_column(wg, tid, q);
    for (var c = 0u; c < 4u; c = c + 1u) {
      if (n + c < p.N) {
        add[q][c] = bias[n + c];
      }
    }
  }
  write_tile(wg, tid, tile_product(wg, tid), add);
}

// ---- matmul_rows: few rows (M ≤ 8), e.g. one decoding position times a weight matrix ----
// A tiled kernel would compute a whole tile of padding rows; here each invocation owns one column
// n of C and walks k once, keeping the ≤ 8 row sums in registers. Same contract as matmul_tiled
// (no split-K); k is walked in increasing order, so results match the tiled kernels bit for bit.

const ROWS_MAX: u32 = 8u;

fn rows_product(gid: vec3u, wg: vec3u) -> array<f32, ROWS_MAX> {
  let n = gid.x;
  let a_base = wg.z * p.stride_a;
  let b_base = wg.z * p.stride_b;
  var acc: array<f32, ROWS_MAX>;
  for (var m = 0u; m < ROWS_MAX; m = m + 1u) {
    acc[m] = 0.0;
  }
  for (var k = 0u; k < p.K; k = k + 1u) {
    let b = b_at(b_index(b_base, k, n));
    for (var m = 0u; m < ROWS_MAX; m = m + 1u) {
      if (m < p.M) {
        acc[m] = fma(a_at(a_index(a_base, m, k)), b, acc[m]);
      }
    }
  }
  return acc;
}

fn rows_write(gid: vec3u, wg: vec3u, acc: array<f32, ROWS_MAX>, add: f32) {
  let n = gid.x;
  for (var m = 0u; m < ROWS_MAX; m = m + 1u) {
    if (m < p.M) {
      let idx = wg.z * p.stride_c + m * p.N + n;
      var out = p.alpha * acc[m] + add;
      if (ACCUMULATE) {
        out = out + C[idx];
      }
      C[idx] = out;
    }
  }
}

@compute @workgroup_size(64)
fn matmul_rows(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wg: vec3u,
) {
  if (gid.x >= p.N) {
    return;
  }
  rows_write(gid, wg, rows_product(gid, wg), 0.0);
}

@compute @workgroup_size(64)
fn matmul_rows_bias(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wg: vec3u,
) {
  if (gid.x >= p.N) {
    return;
  }
  rows_write(gid, wg, rows_product(gid, wg), bias[gid.x]);
}

// build-flags: -mrelaxed-simd -matomics -mbulk-memory -Wl,--shared-memory -Wl,--max-memory=4294967296
//
// Single-precision GEMM for the `wasm` backend's thread pool: every thread
// instantiates this module on one shared memory and computes tiles of
// C = op(A)·op(B) that it claims with an atomic counter. Blocked as in BLIS: B is packed into KC×NR panels and
// A into MR×KC panels (which also absorbs the transposes), and a 6×8
// register-blocked micro-kernel runs on fused multiply-adds (relaxed SIMD;
// V8 emits vfmadd on x86 with FMA3). No stack, no data: the threads share
// the memory, so every buffer is an argument.
#include <wasm_simd128.h>

#define MR 6
#define NR 8
#define KC 256
#define MC 96

static inline v128_t madd(v128_t a, v128_t b, v128_t c) {
  return __builtin_wasm_relaxed_madd_f32x4(a, b, c);
}

// A panel: rows [i0, i0+mr) × k [k0, k0+kc) as kc groups of MR floats
// (zero-padded when mr < MR). Element (i, k) of op(A) is at
// a[i*lda + k] (no transpose) or a[k*lda + i] (transposed).
static void pack_a(float *dst, const float *a, int lda, int trans, int i0,
                   int mr, int k0, int kc) {
  if (!trans && mr == MR) {
    const float *r0 = a + i0 * lda + k0, *r1 = r0 + lda,
                *r2 = r1 + lda, *r3 = r2 + lda, *r4 = r3 + lda, *r5 = r4 + lda;
    for (int k = 0; k < kc; k++) {
      dst[0] = r0[k];
      dst[1] = r1[k];
      dst[2] = r2[k];
      dst[3] = r3[k];
      dst[4] = r4[k];
      dst[5] = r5[k];
      dst += MR;
    }
    return;
  }
  for (int k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      dst[i] = i < mr ? (trans ? a[(k0 + k) * lda + i0 + i]
                               : a[(i0 + i) * lda + k0 + k])
                      : 0.0f;
    }
    dst += MR;
  }
}

// B panel: k [k0, k0+kc) × columns [j0, j0+nr) as kc groups of NR floats.
// Element (k, j) of op(B) is at b[k*ldb + j] or, transposed, b[j*ldb + k].
static void pack_b(float *dst, const float *b, int ldb, int trans, int k0,
                   int kc, int j0, int nr) {
  if (!trans && nr == NR) {
    const float *src = b + k0 * ldb + j0;
    for (int k = 0; k < kc; k++) {
      wasm_v128_store(dst, wasm_v128_load(src));
      wasm_v128_store(dst + 4, wasm_v128_load(src + 4));
      src += ldb;
      dst += NR;
    }
    return;
  }
  for (int k = 0; k < kc; k++) {
    for (int j = 0; j < NR; j++) {
      dst[j] = j < nr ? (trans ? b[(j0 + j) * ldb + k0 + k]
                               : b[(k0 + k) * ldb + j0 + j])
                      : 0.0f;
    }
    dst += NR;
  }
}

// C[MR×NR] (+)= Apanel · Bpanel; `acc` 0 overwrites C. Partial tiles
// (mr < MR or nr < NR) are stored element by element.
static void micro(const float *ap, const float *bp, int kc, float *c, int ldc,
                  int mr, int nr, int acc) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00,
         c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00,
         c50 = c00, c51 = c00;
  for (int k = 0; k < kc; k++) {
    const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
    v128_t a = wasm_v128_load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = wasm_v128_load32_splat(ap + 1);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = wasm_v128_load32_splat(ap + 2);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = wasm_v128_load32_splat(ap + 3);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a = wasm_v128_load32_splat(ap + 4);
    c40 = madd(a, b0, c40);
    c41 = madd(a, b1, c41);
    a = wasm_v128_load32_splat(ap + 5);
    c50 = madd(a, b0, c50);
    c51 = madd(a, b1, c51);
    ap += MR;
    bp += NR;
  }
  if (mr == MR && nr == NR) {
    float *r = c;
#define ROW(x0, x1)                                                      \
  if (acc) {                                                             \
    x0 = wasm_f32x4_add(x0, wasm_v128_load(r));                          \
    x1 = wasm_f32x4_add(x1, wasm_v128_load(r + 4));                      \
  }                                                                      \
  wasm_v128_store(r, x0);                                                \
  wasm_v128_store(r + 4, x1);                                            \
  r += ldc;
    ROW(c00, c01)
    ROW(c10, c11)
    ROW(c20, c21)
    ROW(c30, c31)
    ROW(c40, c41)
    ROW(c50, c51)
#undef ROW
    return;
  }
  // Partial tile: lanes are extracted with constant indices (no stack).
#define LANES(x, i, j0)                                                  \
  {                                                                      \
    float *r = c + (i) * ldc + (j0);                               \
    const int left = nr - (j0);                                          \
    if (left > 0) r[0] = (acc ? r[0] : 0) + wasm_f32x4_extract_lane(x, 0); \
    if (left > 1) r[1] = (acc ? r[1] : 0) + wasm_f32x4_extract_lane(x, 1); \
    if (left > 2) r[2] = (acc ? r[2] : 0) + wasm_f32x4_extract_lane(x, 2); \
    if (left > 3) r[3] = (acc ? r[3] : 0) + wasm_f32x4_extract_lane(x, 3); \
  }
  LANES(c00, 0, 0) LANES(c01, 0, 4)
  if (mr > 1) { LANES(c10, 1, 0) LANES(c11, 1, 4) }
  if (mr > 2) { LANES(c20, 2, 0) LANES(c21, 2, 4) }
  if (mr > 3) { LANES(c30, 3, 0) LANES(c31, 3, 4) }
  if (mr > 4) { LANES(c40, 4, 0) LANES(c41, 4, 4) }
  if (mr > 5) { LANES(c50, 5, 0) LANES(c51, 5, 4) }
#undef LANES
}

// Rows [i0, i1) × columns [j0, j1) of C = op(A)·op(B), with op(A) m×k and
// op(B) k×n. `apack` holds MC·KC floats, `bpack` KC·(j1 - j0 rounded up
// to NR).
static void gemm_block(int trans_a, int trans_b, int k, const float *a,
                       int lda, const float *b, int ldb, float *c, int ldc,
                       int i0, int i1, int j0, int j1, float *apack,
                       float *bpack) {
  for (int k0 = 0; k0 < k; k0 += KC) {
    const int kc = k - k0 < KC ? k - k0 : KC;
    for (int j = j0; j < j1; j += NR) {
      pack_b(bpack + (j - j0) * kc, b, ldb, trans_b, k0, kc, j,
             j1 - j < NR ? j1 - j : NR);
    }
    for (int ib = i0; ib < i1; ib += MC) {
      const int ie = i1 - ib < MC ? i1 : ib + MC;
      for (int i = ib; i < ie; i += MR) {
        pack_a(apack + (i - ib) * kc, a, lda, trans_a, i,
               ie - i < MR ? ie - i : MR, k0, kc);
      }
      for (int j = j0; j < j1; j += NR) {
        const float *bp = bpack + (j - j0) * kc;
        const int nr = j1 - j < NR ? j1 - j : NR;
        for (int i = ib; i < ie; i += MR) {
          micro(apack + (i - ib) * kc, bp, kc, c + i * ldc + j, ldc,
                ie - i < MR ? ie - i : MR, nr, k0 > 0);
        }
      }
    }
  }
}

// C = op(A)·op(B) cut into tiles of tile_rows × tile_cols (multiples of MR
// and NR) that the calling threads claim one at a time from `*next`, so a
// thread slowed by the OS or by a short last tile never holds the others
// up. Each thread passes its own pack buffers; `bpack` holds
// KC·tile_cols floats.
__attribute__((export_name("gemm_tiles"))) void
gemm_tiles(int trans_a, int trans_b, int m, int n, int k, const float *a,
           int lda, const float *b, int ldb, float *c, int ldc, int *next,
           int tile_rows, int tile_cols, float *apack, float *bpack) {
  const int col_tiles = (n + tile_cols - 1) / tile_cols;
  const int tiles = (m + tile_rows - 1) / tile_rows * col_tiles;
  for (;;) {
    const int t = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
    if (t >= tiles) return;
    const int i0 = t / col_tiles * tile_rows, j0 = t % col_tiles * tile_cols;
    gemm_block(trans_a, trans_b, k, a, lda, b, ldb, c, ldc, i0,
               m - i0 < tile_rows ? m : i0 + tile_rows, j0,
               n - j0 < tile_cols ? n : j0 + tile_cols, apack, bpack);
  }
}

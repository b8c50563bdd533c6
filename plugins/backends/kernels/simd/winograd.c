// Winograd F(2×2, 3×3) transforms and their adjoints (the gradient), on
// the tfjs heap like kernels.c: no memory, no data, no stack of its own
// (tools/build_wasm.ts checks). winograd_transforms.ts holds the JS
// reference and the layout: 4×4 tiles at stride 2, channels the fastest
// axis, four lanes at a time; a last group of 1-3 channels moves lane by
// lane. Tiles live in v128 locals (wasm registers), never in memory.
#include <wasm_simd128.h>

static v128_t load_lanes(const float *p, int lanes) {
  if (lanes == 4) return wasm_v128_load(p);
  return wasm_f32x4_make(p[0], lanes > 1 ? p[1] : 0.0f,
                         lanes > 2 ? p[2] : 0.0f, 0.0f);
}

static void store_lanes(float *p, v128_t v, int lanes) {
  if (lanes == 4) {
    wasm_v128_store(p, v);
    return;
  }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (lanes > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (lanes > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

// Bᵀ·(a, b, c, d) = (a − c, b + c, c − b, b − d) on p[0], p[s], p[2s], p[3s].
static void input_1d(v128_t *p, int s) {
  const v128_t a = p[0], b = p[s], c = p[2 * s], d = p[3 * s];
  p[0] = wasm_f32x4_sub(a, c);
  p[s] = wasm_f32x4_add(b, c);
  p[2 * s] = wasm_f32x4_sub(c, b);
  p[3 * s] = wasm_f32x4_sub(b, d);
}

// Aᵀ·(a, b, c, d) = (a + b + c, b − c − d) into p[0], p[s].
static void output_1d(v128_t *p, int s) {
  const v128_t a = p[0], b = p[s], c = p[2 * s], d = p[3 * s];
  p[0] = wasm_f32x4_add(wasm_f32x4_add(a, b), c);
  p[s] = wasm_f32x4_sub(wasm_f32x4_sub(b, c), d);
}

// G·(a, b, c) = (a, (a + c + b)·½, (a + c − b)·½, c) into q[0..3s].
static void filter_1d(const v128_t *p, int s, v128_t *q, int t) {
  const v128_t a = p[0], b = p[s], c = p[2 * s], half = wasm_f32x4_splat(0.5f);
  const v128_t ac = wasm_f32x4_add(a, c);
  q[0] = a;
  q[t] = wasm_f32x4_mul(wasm_f32x4_add(ac, b), half);
  q[2 * t] = wasm_f32x4_mul(wasm_f32x4_sub(ac, b), half);
  q[3 * t] = c;
}

// V = Bᵀ·d·B of every 4×4 input tile into v [16, plane_tiles, channels]
// (plane_tiles ≥ the tile count: rows past it are left alone); taps outside
// the image (padding, edge tiles) read as zero.
__attribute__((export_name("winograd_input"))) void
winograd_input(const float *x, float *v, int batch, int in_h, int in_w,
               int channels, int tiles_h, int tiles_w, int pad_top,
               int pad_left, int plane_tiles) {
  const int C = channels, plane = plane_tiles * C;
  float *out = v;
  for (int n = 0; n < batch; n++) {
    for (int ty = 0; ty < tiles_h; ty++) {
      for (int tx = 0; tx < tiles_w; tx++, out += C) {
        const int y0 = 2 * ty - pad_top, x0 = 2 * tx - pad_left;
        int inside = 0; // bit 4i+j: tap (i, j) is in the image
        for (int k = 0; k < 16; k++) {
          const int iy = y0 + k / 4, ix = x0 + k % 4;
          if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) inside |= 1 << k;
        }
        const float *base = x + ((n * in_h + y0) * in_w + x0) * C;
        for (int c = 0; c < C; c += 4) {
          const int lanes = C - c < 4 ? C - c : 4;
          v128_t d[16];
#pragma clang loop unroll(full)
          for (int k = 0; k < 16; k++) {
            d[k] = inside >> k & 1
                       ? load_lanes(base + (k / 4 * in_w + k % 4) * C + c, lanes)
                       : wasm_f32x4_splat(0.0f);
          }
          for (int j = 0; j < 4; j++) input_1d(d + j, 4);
          for (int i = 0; i < 4; i++) input_1d(d + 4 * i, 1);
          for (int k = 0; k < 16; k++) store_lanes(out + k * plane + c, d[k], lanes);
        }
      }
    }
  }
}

// U = G·g·Gᵀ of 4·`groups` lanes of g [9, n] at g + p into r [groups][16].
#define FILTER_GROUPS(groups)                                              \
  for (int q = 0; q < groups; q++) {                                       \
    const int lanes = n - p - 4 * q < 4 ? n - p - 4 * q : 4;               \
    v128_t w[9], t[12];                                                    \
    for (int k = 0; k < 9; k++)                                            \
      w[k] = load_lanes(g + k * n + p + 4 * q, lanes);                     \
    for (int j = 0; j < 3; j++) filter_1d(w + j, 3, t + j, 3);             \
    for (int i = 0; i < 4; i++) filter_1d(t + 3 * i, 1, r[q] + 4 * i, 1);  \
  }

// U = G·g·Gᵀ of 3×3 filters g [9, n] (HWIO flattened, n = in·out channels)
// into u [16, n]. The 16 planes are n floats apart (often 2^k: one cache
// set), so 16 floats of each are written at a time, a whole cache line.
__attribute__((export_name("winograd_filter"))) void
winograd_filter(const float *g, float *u, int n) {
  int p = 0;
  for (; p + 16 <= n; p += 16) {
    v128_t r[4][16];
#pragma clang loop unroll(full)
    FILTER_GROUPS(4)
    for (int k = 0; k < 16; k++) {
      for (int q = 0; q < 4; q++) wasm_v128_store(u + k * n + p + 4 * q, r[q][k]);
    }
  }
  for (; p < n; p += 4) {
    v128_t r[1][16];
    FILTER_GROUPS(1)
    const int lanes = n - p < 4 ? n - p : 4;
    for (int k = 0; k < 16; k++) store_lanes(u + k * n + p, r[0][k], lanes);
  }
}

// FusedConv2D's epilogue on v: + b when `bias`, then relu (activation ≥ 1)
// and the clamp at 6 (activation 2), the operations of kernels.c's
// bias_activation, so the fused result is bit-identical to the unfused one.
static v128_t epilogue(v128_t v, v128_t b, const float *bias, int activation) {
  if (bias) v = wasm_f32x4_add(v, b);
  if (activation >= 1) v = wasm_f32x4_max(v, wasm_f32x4_splat(0.0f));
  if (activation == 2) v = wasm_f32x4_min(v, wasm_f32x4_splat(6.0f));
  return v;
}

// Y = Aᵀ·m·A of every tile of m [16, plane_tiles, channels] into the NHWC
// output y [batch, out_h, out_w, channels], cropping the edge tiles, with
// `bias` [channels] (0: none) added and `activation` (0 linear, 1 relu,
// 2 relu6) applied to each output.
__attribute__((export_name("winograd_output"))) void
winograd_output(const float *m, float *y, const float *bias, int activation,
                int batch, int out_h, int out_w, int channels, int tiles_h,
                int tiles_w, int plane_tiles) {
  const int C = channels, plane = plane_tiles * C;
  const float *in = m;
  for (int n = 0; n < batch; n++) {
    for (int ty = 0; ty < tiles_h; ty++) {
      for (int tx = 0; tx < tiles_w; tx++, in += C) {
        const int oy = 2 * ty, ox = 2 * tx;
        const int rows = out_h - oy < 2 ? 1 : 2, cols = out_w - ox < 2 ? 1 : 2;
        float *base = y + ((n * out_h + oy) * out_w + ox) * C;
        for (int c = 0; c < C; c += 4) {
          const int lanes = C - c < 4 ? C - c : 4;
          const v128_t b = bias ? load_lanes(bias + c, lanes) : wasm_f32x4_splat(0.0f);
          v128_t s[16];
          for (int k = 0; k < 16; k++) s[k] = load_lanes(in + k * plane + c, lanes);
          for (int j = 0; j < 4; j++) output_1d(s + j, 4);
          for (int i = 0; i < 2; i++) output_1d(s + 4 * i, 1);
          for (int k = 0; k < 6; k += k == 1 ? 3 : 1) // s[0], s[1], s[4], s[5]
            s[k] = epilogue(s[k], b, bias, activation);
          store_lanes(base + c, s[0], lanes);
          if (cols > 1) store_lanes(base + C + c, s[1], lanes);
          if (rows > 1) {
            store_lanes(base + out_w * C + c, s[4], lanes);
            if (cols > 1) store_lanes(base + (out_w + 1) * C + c, s[5], lanes);
          }
        }
      }
    }
  }
}

// Aᵀ's adjoint: (a, b) → (a, a + b, a − b, −b) from p[0], p[s] into p[0..3s].
static void output_grad_1d(v128_t *p, int s) {
  const v128_t a = p[0], b = p[s];
  p[0] = a;
  p[s] = wasm_f32x4_add(a, b);
  p[2 * s] = wasm_f32x4_sub(a, b);
  p[3 * s] = wasm_f32x4_neg(b);
}

// dM = A·dY·Aᵀ of every 2×2 block of dy [batch, out_h, out_w, channels]
// into dm [16, plane_tiles, channels] (cropped positions read as zero): the
// gradient of winograd_output.
__attribute__((export_name("winograd_output_grad"))) void
winograd_output_grad(const float *dy, float *dm, int batch, int out_h,
                     int out_w, int channels, int tiles_h, int tiles_w,
                     int plane_tiles) {
  const int C = channels, plane = plane_tiles * C;
  float *out = dm;
  for (int n = 0; n < batch; n++) {
    for (int ty = 0; ty < tiles_h; ty++) {
      for (int tx = 0; tx < tiles_w; tx++, out += C) {
        const int oy = 2 * ty, ox = 2 * tx;
        const int rows = out_h - oy < 2 ? 1 : 2, cols = out_w - ox < 2 ? 1 : 2;
        const float *base = dy + ((n * out_h + oy) * out_w + ox) * C;
        for (int c = 0; c < C; c += 4) {
          const int lanes = C - c < 4 ? C - c : 4;
          const v128_t zero = wasm_f32x4_splat(0.0f);
          v128_t s[16];
          s[0] = load_lanes(base + c, lanes);
          s[1] = cols > 1 ? load_lanes(base + C + c, lanes) : zero;
          s[4] = rows > 1 ? load_lanes(base + out_w * C + c, lanes) : zero;
          s[5] = rows > 1 && cols > 1
                     ? load_lanes(base + (out_w + 1) * C + c, lanes)
                     : zero;
          output_grad_1d(s, 1);
          output_grad_1d(s + 4, 1);
          for (int j = 0; j < 4; j++) output_grad_1d(s + j, 4);
          for (int k = 0; k < 16; k++) store_lanes(out + k * plane + c, s[k], lanes);
        }
      }
    }
  }
}

// Gᵀ·(a, b, c, d) = (a + (b + c)·½, (b − c)·½, (b + c)·½ + d) into q[0..2t].
static void filter_grad_1d(const v128_t *p, int s, v128_t *q, int t) {
  const v128_t a = p[0], b = p[s], c = p[2 * s], d = p[3 * s];
  const v128_t half = wasm_f32x4_splat(0.5f);
  const v128_t sum = wasm_f32x4_mul(wasm_f32x4_add(b, c), half);
  q[0] = wasm_f32x4_add(a, sum);
  q[t] = wasm_f32x4_mul(wasm_f32x4_sub(b, c), half);
  q[2 * t] = wasm_f32x4_add(sum, d);
}

// dg = Gᵀ·dU·G of du [16, n] into the 3×3 filter gradient dg [9, n]: the
// gradient of winograd_filter.
__attribute__((export_name("winograd_filter_grad"))) void
winograd_filter_grad(const float *du, float *dg, int n) {
  for (int p = 0; p < n; p += 4) {
    const int lanes = n - p < 4 ? n - p : 4;
    v128_t r[16], t[12], w[9];
    for (int k = 0; k < 16; k++) r[k] = load_lanes(du + k * n + p, lanes);
    for (int j = 0; j < 4; j++) filter_grad_1d(r + j, 4, t + j, 4);
    for (int i = 0; i < 3; i++) filter_grad_1d(t + 4 * i, 1, w + 3 * i, 1);
    for (int k = 0; k < 9; k++) store_lanes(dg + k * n + p, w[k], lanes);
  }
}

// Heap kernels (im2col / col2im for NHWC convolutions, the fused-conv
// epilogue), compiled to a tiny WebAssembly
// module that imports the tfjs wasm backend's memory, so the copies run as
// 128-bit SIMD loads and stores on the tensors where they live. The module
// must define no data, no memory and use no stack: it shares the heap with
// tfjs. tools/build_wasm.ts compiles it and checks that.
//
// A column row holds one output pixel's receptive field in filter order
// (ky, kx, c); geometry arguments follow tf.backend_util.Conv2DInfo.
#include <wasm_simd128.h>

static void copy_run(float *dst, const float *src, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t a = wasm_v128_load(src + i), b = wasm_v128_load(src + i + 4);
    wasm_v128_store(dst + i, a);
    wasm_v128_store(dst + i + 4, b);
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

static void zero_run(float *dst, int n) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, z);
  for (; i < n; i++) dst[i] = 0.0f;
}

static void add_run(float *dst, const float *src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i),
                                            wasm_v128_load(src + i)));
  }
  for (; i < n; i++) dst[i] += src[i];
}

#define GEOMETRY_PARAMS                                                    \
  int batch, int in_h, int in_w, int channels, int out_h, int out_w,       \
      int filter_h, int filter_w, int stride_h, int stride_w,              \
      int dilation_h, int dilation_w, int pad_top, int pad_left
#define GEOMETRY_ARGS                                                      \
  batch, in_h, in_w, channels, out_h, out_w, filter_h, filter_w, stride_h, \
      stride_w, dilation_h, dilation_w, pad_top, pad_left

// Walks the column matrix in order; `gather` copies image → columns,
// otherwise columns are added back onto the image (col2im).
// Geometry travels as scalars, never through memory: this module has no
// stack of its own (the heap around address 64 KiB belongs to tfjs).
static void walk(float *image, float *col, int gather, GEOMETRY_PARAMS) {
  const int C = channels, H = in_h, W = in_w;
  const int KH = filter_h, KW = filter_w;
  const int run = KW * C;
  float *c = col;
  for (int n = 0; n < batch; n++) {
    for (int oy = 0; oy < out_h; oy++) {
      for (int ox = 0; ox < out_w; ox++) {
        const int ix0 = ox * stride_w - pad_left;
        const int inside = ix0 >= 0 && ix0 + (KW - 1) * dilation_w < W;
        for (int ky = 0; ky < KH; ky++) {
          const int iy = oy * stride_h - pad_top + ky * dilation_h;
          if (iy < 0 || iy >= H) {
            if (gather) zero_run(c, run);
            c += run;
            continue;
          }
          float *row = image + ((n * H + iy) * W) * C;
          if (inside && dilation_w == 1) {
            if (gather) copy_run(c, row + ix0 * C, run);
            else add_run(row + ix0 * C, c, run);
            c += run;
            continue;
          }
          for (int kx = 0; kx < KW; kx++) {
            const int ix = ix0 + kx * dilation_w;
            if (ix < 0 || ix >= W) {
              if (gather) zero_run(c, C);
            } else if (gather) {
              copy_run(c, row + ix * C, C);
            } else {
              add_run(row + ix * C, c, C);
            }
            c += C;
          }
        }
      }
    }
  }
}

// `x` and `col` are byte addresses in the shared heap.
__attribute__((export_name("im2col"))) void im2col(float *x, float *col,
                                                   GEOMETRY_PARAMS) {
  walk(x, col, 1, GEOMETRY_ARGS);
}

__attribute__((export_name("col2im"))) void col2im(float *col, float *x,
                                                   GEOMETRY_PARAMS) {
  walk(x, col, 0, GEOMETRY_ARGS);
}

// FusedConv2D / _FusedMatMul epilogue in place on the GEMM output
// [rows, cols]: adds `bias` per column (when non-zero) and applies
// activation 0 = linear, 1 = relu, 2 = relu6, in one pass.
__attribute__((export_name("bias_activation"))) void
bias_activation(float *out, const float *bias, int rows, int cols,
                int activation) {
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  for (int r = 0; r < rows; r++) {
    float *row = out + r * cols;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128_t v = wasm_v128_load(row + c);
      if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + c));
      if (activation >= 1) v = wasm_f32x4_max(v, zero);
      if (activation == 2) v = wasm_f32x4_min(v, six);
      wasm_v128_store(row + c, v);
    }
    for (; c < cols; c++) {
      float v = row[c] + (bias ? bias[c] : 0.0f);
      if (activation >= 1 && v < 0.0f) v = 0.0f;
      if (activation == 2 && v > 6.0f) v = 6.0f;
      row[c] = v;
    }
  }
}

// MaxPoolGrad: adds each output gradient to the first maximum of its window
// (the tfjs cpu backend's rule) in `dx`. Four channels at a time: the
// running maximum and its index stay in registers. `dx` need not be zeroed:
// each of its rows is zeroed just before the first output row that reaches
// it, while it is in cache (a separate zero pass went out to memory and back).
__attribute__((export_name("max_pool_grad"))) void
max_pool_grad(const float *x, const float *dy, float *dx, GEOMETRY_PARAMS) {
  const int C = channels, H = in_h, W = in_w;
  const float *g = dy;
  for (int n = 0; n < batch; n++) {
    int zeroed = 0; // rows [0, zeroed) of image n are zeroed
    for (int oy = 0; oy < out_h; oy++) {
      const int y0 = oy * stride_h - pad_top;
      int reach = y0 + (filter_h - 1) * dilation_h + 1;
      if (reach > H) reach = H;
      if (reach > zeroed) {
        zero_run(dx + (n * H + zeroed) * W * C, (reach - zeroed) * W * C);
        zeroed = reach;
      }
      for (int ox = 0; ox < out_w; ox++, g += C) {
        const int x0 = ox * stride_w - pad_left;
        for (int c = 0; c < C; c += 4) {
          const int lanes = C - c < 4 ? C - c : 4;
          v128_t best = wasm_f32x4_splat(0.0f), where = wasm_i32x4_splat(-1);
          int seeded = 0;
          for (int ky = 0; ky < filter_h; ky++) {
            const int iy = y0 + ky * dilation_h;
            if (iy < 0 || iy >= H) continue;
            for (int kx = 0; kx < filter_w; kx++) {
              const int ix = x0 + kx * dilation_w;
              if (ix < 0 || ix >= W) continue;
              const int base = ((n * H + iy) * W + ix) * C + c;
              const v128_t index = wasm_i32x4_add(wasm_i32x4_splat(base),
                                                  wasm_i32x4_make(0, 1, 2, 3));
              v128_t v;
              if (lanes == 4) {
                v = wasm_v128_load(x + base);
              } else {
                v = wasm_f32x4_make(x[base], lanes > 1 ? x[base + 1] : 0.0f,
                                    lanes > 2 ? x[base + 2] : 0.0f, 0.0f);
              }
              if (!seeded) {
                best = v;
                where = index;
                seeded = 1;
                continue;
              }
              const v128_t greater = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, greater);
              where = wasm_v128_bitselect(index, where, greater);
            }
          }
          if (!seeded) continue;
          dx[wasm_i32x4_extract_lane(where, 0)] += g[c];
          if (lanes > 1) dx[wasm_i32x4_extract_lane(where, 1)] += g[c + 1];
          if (lanes > 2) dx[wasm_i32x4_extract_lane(where, 2)] += g[c + 2];
          if (lanes > 3) dx[wasm_i32x4_extract_lane(where, 3)] += g[c + 3];
        }
      }
    }
    if (zeroed < H) zero_run(dx + (n * H + zeroed) * W * C, (H - zeroed) * W * C);
  }
}

// Per-channel affine map over x [rows, cols]: out = x·coef[c] + coef[cols+c]
// (batch norm with its statistics folded into a scale and a shift).
__attribute__((export_name("channel_affine"))) void
channel_affine(const float *x, float *out, int rows, int cols,
               const float *coef) {
  const float *scale = coef, *shift = coef + cols;
  for (int r = 0; r < rows; r++) {
    const float *in = x + r * cols;
    float *o = out + r * cols;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      wasm_v128_store(o + c, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(in + c),
                                                           wasm_v128_load(scale + c)),
                                            wasm_v128_load(shift + c)));
    }
    for (; c < cols; c++) o[c] = in[c] * scale[c] + shift[c];
  }
}

// out = dy·coef[c] + x·coef[cols+c] + coef[2·cols+c]: the batch-norm input
// gradient once its per-channel coefficients are known.
__attribute__((export_name("channel_affine2"))) void
channel_affine2(const float *dy, const float *x, float *out, int rows,
                int cols, const float *coef) {
  const float *a = coef, *b = coef + cols, *d = coef + 2 * cols;
  for (int r = 0; r < rows; r++) {
    const float *g = dy + r * cols, *in = x + r * cols;
    float *o = out + r * cols;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128_t v = wasm_f32x4_mul(wasm_v128_load(g + c), wasm_v128_load(a + c));
      v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(in + c),
                                           wasm_v128_load(b + c)));
      wasm_v128_store(o + c, wasm_f32x4_add(v, wasm_v128_load(d + c)));
    }
    for (; c < cols; c++) o[c] = g[c] * a[c] + in[c] * b[c] + d[c];
  }
}

// Adds the four floats of v, widened to double, onto acc[0..3].
static void accumulate(double *acc, v128_t v) {
  const v128_t lo = wasm_f64x2_promote_low_f32x4(v);
  const v128_t hi =
      wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  wasm_v128_store(acc, wasm_f64x2_add(wasm_v128_load(acc), lo));
  wasm_v128_store(acc + 2, wasm_f64x2_add(wasm_v128_load(acc + 2), hi));
}

enum { SUM_BLOCK = 64 };

// Per-channel sums over x [rows, cols] into acc[0..cols) (Σx) and, with
// `y`, acc[cols..2·cols) (Σx·(y − centre[c])), in double: the batch mean
// and variance (y = x, second pass) or the gradient sums Σdy, Σdy·(x − μ).
// Blocks of SUM_BLOCK rows are summed in float registers, channel block by
// channel block (the block stays in cache), then added in double.
__attribute__((export_name("channel_sums"))) void
channel_sums(const float *x, const float *y, const float *centre, int rows,
             int cols, double *acc) {
  for (int c = 0; c < 2 * cols; c++) acc[c] = 0.0;
  double *first = acc, *second = acc + cols;
  const int vector_cols = cols & ~3;
  for (int r0 = 0; r0 < rows; r0 += SUM_BLOCK) {
    const int r1 = r0 + SUM_BLOCK < rows ? r0 + SUM_BLOCK : rows;
    for (int c = 0; c < vector_cols; c += 4) {
      v128_t s1 = wasm_f32x4_splat(0.0f), s2 = wasm_f32x4_splat(0.0f);
      const v128_t mid = y ? wasm_v128_load(centre + c) : s1;
      for (int r = r0; r < r1; r++) {
        const v128_t v = wasm_v128_load(x + r * cols + c);
        s1 = wasm_f32x4_add(s1, v);
        if (y) {
          const v128_t centred =
              wasm_f32x4_sub(wasm_v128_load(y + r * cols + c), mid);
          s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(v, centred));
        }
      }
      accumulate(first + c, s1);
      if (y) accumulate(second + c, s2);
    }
    for (int c = vector_cols; c < cols; c++) {
      for (int r = r0; r < r1; r++) {
        const float v = x[r * cols + c];
        first[c] += v;
        if (y) second[c] += (double)v * (y[r * cols + c] - centre[c]);
      }
    }
  }
}

// One SGD-with-momentum update (core/train/optimizer.ts), fused so that a
// variable, its momentum and its gradient are read once and the two results
// written once (tfjs ops took four passes and four new tensors):
//   g' = g + wd·w,  m' = mu·m + g',  w' = w − lr·(nesterov ? g' + mu·m' : m').
// The float operations are the ops' own, in their order, so results match.
__attribute__((export_name("sgd_momentum"))) void
sgd_momentum(const float *w, const float *m, const float *g, float *w_out,
             float *m_out, int n, float lr, float mu, float wd, int nesterov) {
  const v128_t vlr = wasm_f32x4_splat(lr), vmu = wasm_f32x4_splat(mu);
  const v128_t vwd = wasm_f32x4_splat(wd);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t wv = wasm_v128_load(w + i);
    v128_t gv = wasm_v128_load(g + i);
    if (wd != 0.0f) gv = wasm_f32x4_add(gv, wasm_f32x4_mul(wv, vwd));
    const v128_t mv = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), vmu), gv);
    const v128_t step =
        nesterov ? wasm_f32x4_add(gv, wasm_f32x4_mul(mv, vmu)) : mv;
    wasm_v128_store(m_out + i, mv);
    wasm_v128_store(w_out + i, wasm_f32x4_sub(wv, wasm_f32x4_mul(step, vlr)));
  }
  for (; i < n; i++) {
    float gi = g[i];
    if (wd != 0.0f) gi = gi + w[i] * wd;
    const float mi = m[i] * mu + gi;
    m_out[i] = mi;
    w_out[i] = w[i] - (nesterov ? gi + mi * mu : mi) * lr;
  }
}

// First and one-past-last output column whose input column
// ox·stride − pad + offset lies inside [0, size).
static int first_inside(int offset, int stride, int pad) {
  int o = 0;
  while (o * stride - pad + offset < 0) o++;
  return o;
}
static int end_inside(int offset, int stride, int pad, int size, int out) {
  int o = out;
  while (o > 0 && (o - 1) * stride - pad + offset >= size) o--;
  return o;
}

// Depthwise filter gradient (channel multiplier 1) into dw [KH, KW, C]:
// for each tap and a block of `lanes` channels (16 or 4; 1 for the tail),
// the sum over every output pixel of x·dy stays in registers.
static void dw_filter_taps(const float *x, const float *dy, float *dw, int c0,
                           int lanes, GEOMETRY_PARAMS) {
  const int C = channels;
  for (int ky = 0; ky < filter_h; ky++) {
    for (int kx = 0; kx < filter_w; kx++) {
      const int ox0 = first_inside(kx * dilation_w, stride_w, pad_left);
      const int ox1 =
          end_inside(kx * dilation_w, stride_w, pad_left, in_w, out_w);
      v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
      float s = 0.0f;
      for (int n = 0; n < batch; n++) {
        for (int oy = 0; oy < out_h; oy++) {
          const int iy = oy * stride_h - pad_top + ky * dilation_h;
          if (iy < 0 || iy >= in_h) continue;
          const float *g = dy + ((n * out_h + oy) * out_w + ox0) * C + c0;
          const float *p = x + ((n * in_h + iy) * in_w + ox0 * stride_w -
                                pad_left + kx * dilation_w) * C + c0;
          for (int ox = ox0; ox < ox1; ox++, g += C, p += stride_w * C) {
            if (lanes == 1) {
              s += p[0] * g[0];
              continue;
            }
            a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(p),
                                                   wasm_v128_load(g)));
            if (lanes == 16) {
              a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(p + 4),
                                                     wasm_v128_load(g + 4)));
              a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(p + 8),
                                                     wasm_v128_load(g + 8)));
              a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(p + 12),
                                                     wasm_v128_load(g + 12)));
            }
          }
        }
      }
      float *out = dw + (ky * filter_w + kx) * C + c0;
      if (lanes == 1) {
        out[0] = s;
        continue;
      }
      wasm_v128_store(out, a0);
      if (lanes == 16) {
        wasm_v128_store(out + 4, a1);
        wasm_v128_store(out + 8, a2);
        wasm_v128_store(out + 12, a3);
      }
    }
  }
}

// DepthwiseConv2dNativeBackpropFilter with channel multiplier 1.
__attribute__((export_name("depthwise_filter_grad"))) void
depthwise_filter_grad(const float *x, const float *dy, float *dw,
                      GEOMETRY_PARAMS) {
  int c = 0;
  for (; c + 16 <= channels; c += 16) {
    dw_filter_taps(x, dy, dw, c, 16, GEOMETRY_ARGS);
  }
  for (; c + 4 <= channels; c += 4) {
    dw_filter_taps(x, dy, dw, c, 4, GEOMETRY_ARGS);
  }
  for (; c < channels; c++) dw_filter_taps(x, dy, dw, c, 1, GEOMETRY_ARGS);
}

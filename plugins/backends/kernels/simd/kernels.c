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

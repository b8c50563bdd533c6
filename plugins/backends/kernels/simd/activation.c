// Swish (x·sigmoid(x), EfficientNet's activation) and its gradient as one
// SIMD pass each over tensors in the tfjs heap, instead of tfjs' Sigmoid and
// Multiply forward and seven kernels backward (core/nn/swish.ts). Shares
// the heap with tfjs: no data, no memory, no stack (tools/build_wasm.ts).
//
// exp is Cephes' expf: range reduction by ln 2 in two parts, a degree-6
// polynomial on [-ln2/2, ln2/2], and 2^n built in the exponent bits;
// relative error about 1e-7 (tests/swish_test.ts compares with tfjs).
// V8 turns each v128.const into several instructions, so the
// constants are made once per call from a value the compiler cannot see
// (`Consts`) and stay in registers through the loop: 1.6× faster.
#include <wasm_simd128.h>

typedef struct {
  v128_t lo, hi, log2e, magic, ln2_hi, ln2_lo, one, bias;
  v128_t p0, p1, p2, p3, p4, p5;
} Consts;

// `one` is 1.0f at run time (the callers pass n >= 0).
static Consts consts(float one) {
  Consts c;
  c.lo = wasm_f32x4_splat(-87.0f * one);
  c.hi = wasm_f32x4_splat(88.0f * one);
  c.log2e = wasm_f32x4_splat(1.44269504088896341f * one);
  c.magic = wasm_f32x4_splat(12582912.0f * one); // 1.5·2^23
  c.ln2_hi = wasm_f32x4_splat(0.693359375f * one);
  c.ln2_lo = wasm_f32x4_splat(-2.12194440e-4f * one);
  c.one = wasm_f32x4_splat(one);
  c.bias = wasm_i32x4_splat(127 * (int)one);
  c.p0 = wasm_f32x4_splat(1.9875691500e-4f * one);
  c.p1 = wasm_f32x4_splat(1.3981999507e-3f * one);
  c.p2 = wasm_f32x4_splat(8.3334519073e-3f * one);
  c.p3 = wasm_f32x4_splat(4.1665795894e-2f * one);
  c.p4 = wasm_f32x4_splat(1.6666665459e-1f * one);
  c.p5 = wasm_f32x4_splat(5.0000001201e-1f * one);
  return c;
}

static v128_t exp4(const Consts *c, v128_t x) {
  // pmin / pmax are one x86 instruction each; min / max need NaN fix-ups
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, c->lo), c->hi);
  // n = round(x / ln 2) by adding 1.5·2^23: n lands in the low mantissa bits
  const v128_t shifted = wasm_f32x4_add(wasm_f32x4_mul(x, c->log2e), c->magic);
  const v128_t n = wasm_f32x4_sub(shifted, c->magic);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, c->ln2_hi));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, c->ln2_lo));
  v128_t p = c->p0;
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p1);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p2);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p3);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p4);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p5);
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r),
                     wasm_f32x4_add(r, c->one));
  // 2^n: the low bits of `shifted` are n (mod 2^22); move n + 127 into the
  // exponent field (the magic's own bits shift out)
  const v128_t e = wasm_i32x4_shl(wasm_i32x4_add(shifted, c->bias), 23);
  return wasm_f32x4_mul(p, e);
}

static v128_t sigmoid4(const Consts *c, v128_t x) {
  return wasm_f32x4_div(c->one,
                        wasm_f32x4_add(c->one, exp4(c, wasm_f32x4_neg(x))));
}

// Loads the last k < 4 floats into a zero-padded vector.
static v128_t load_tail(const float *p, int k) {
  v128_t v = wasm_f32x4_splat(0.0f);
  if (k > 0) v = wasm_f32x4_replace_lane(v, 0, p[0]);
  if (k > 1) v = wasm_f32x4_replace_lane(v, 1, p[1]);
  if (k > 2) v = wasm_f32x4_replace_lane(v, 2, p[2]);
  return v;
}

static void store_tail(float *p, v128_t v, int k) {
  if (k > 0) p[0] = wasm_f32x4_extract_lane(v, 0);
  if (k > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (k > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

static v128_t swish4(const Consts *c, v128_t x) {
  return wasm_f32x4_mul(x, sigmoid4(c, x));
}

// dy·(s + x·s·(1 − s)) with s = sigmoid(x).
static v128_t swish_grad4(const Consts *c, v128_t x, v128_t dy) {
  const v128_t s = sigmoid4(c, x);
  const v128_t xs = wasm_f32x4_mul(x, s);
  return wasm_f32x4_mul(
      dy, wasm_f32x4_add(s, wasm_f32x4_mul(xs, wasm_f32x4_sub(c->one, s))));
}

// out = x·sigmoid(x) over n floats.
__attribute__((export_name("swish_forward"))) void
swish_forward(const float *x, float *out, int n) {
  const Consts c = consts((float)(n >= 0));
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(out + i, swish4(&c, wasm_v128_load(x + i)));
  }
  store_tail(out + i, swish4(&c, load_tail(x + i, n - i)), n - i);
}

// dx = dy·d(swish)/dx over n floats.
__attribute__((export_name("swish_backward"))) void
swish_backward(const float *x, const float *dy, float *dx, int n) {
  const Consts c = consts((float)(n >= 0));
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(
        dx + i, swish_grad4(&c, wasm_v128_load(x + i), wasm_v128_load(dy + i)));
  }
  const int k = n - i;
  store_tail(dx + i, swish_grad4(&c, load_tail(x + i, k), load_tail(dy + i, k)),
             k);
}

// vecmath_internal.h: small helpers shared by the CPU norm/activation,
// attention and elementwise kernels (norm_act.c, attention.c, elementwise.c):
//  - RT_SIMD_CLONES: compile a hot function three times (AVX-512, AVX2+FMA,
//    baseline x86-64) and pick one at load time, so plain C loops and GCC
//    vector-extension code vectorise for the machine without per-ISA files.
//  - rt_vexpf / rt_verfcf: exp and erfc written with selects and no calls, so
//    they vectorise inside `#pragma omp simd` loops (libm's expf/erff do not).
// Call a cloned function from inside OpenMP regions, never put the parallel
// region itself in it: the outlined region body would not be cloned.
#ifndef ROTO_VECMATH_INTERNAL_H
#define ROTO_VECMATH_INTERNAL_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(ROTO_NO_SIMD_CLONES)
#define RT_SIMD_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RT_SIMD_CLONES
#endif

#define RT_INLINE static inline __attribute__((always_inline))

// 16 floats as one GCC/clang vector value. The _u type may be unaligned and
// may alias float arrays: load with *(const rt_v16u *)p. On AVX-512 a value is
// one zmm register; the AVX2 and baseline clones split it in 2 or 4.
typedef float rt_v16 __attribute__((vector_size(64)));
typedef float rt_v16u __attribute__((vector_size(64), aligned(4), may_alias));

// exp(x) for float, relative error about 2 ulp. Written for vectorisation:
// exp(x) = 2^n * e^r with n = round(x*log2(e)) and |r| <= ln2/2, e^r by a
// degree-7 Taylor polynomial (truncation error < 6e-9). Results below
// exp(-87) flush to 0 (so exp(-inf) == 0 exactly, which masking relies on),
// above 88.7 give +inf, NaN stays NaN.
RT_INLINE float rt_vexpf(float x) {
    float xc = x < -87.0f ? -87.0f : x;
    xc = xc > 88.0f ? 88.0f : xc;
    // Round to nearest integer by adding 1.5*2^23: t's low mantissa bits then
    // hold n itself (|n| <= 127), so 2^n is built from t's bits with unsigned
    // arithmetic (no float->int conversion, which is undefined for NaN).
    const float magic = 12582912.0f;  // bits 0x4B400000
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    // Cody-Waite: ln2 = hi + lo with hi exact in 9 bits, so n*hi is exact.
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t tbits;
    memcpy(&tbits, &t, 4);
    uint32_t bits = (tbits - 0x4B400000u + 127u) << 23;  // 2^n, n in [-126, 127]
    float pow2n;
    memcpy(&pow2n, &bits, 4);
    float y = p * pow2n;
    y = x < -87.0f ? 0.0f : y;
    return x > 88.72f ? __builtin_inff() : y;
}

// erfc(z) for z >= 0 with relative error about 2e-7 over the whole range,
// from the Chebyshev-fitted form erfc(z) = t*exp(-z^2 + P(t)), t = 1/(1+z/2)
// (Numerical Recipes' erfcc; the fit itself is good to 1.2e-7).
RT_INLINE float rt_verfcf_pos(float z) {
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    return t * rt_vexpf(p - z * z);
}

// Exact (erf) GELU: 0.5*x*(1 + erf(x/sqrt2)). Through erfc so that the
// negative tail keeps its relative accuracy: for x < 0 it is 0.5*x*erfc(|x|/sqrt2).
RT_INLINE float rt_vgeluf(float x) {
    float z = x * 0.70710678118654752f;
    float az = z < 0.0f ? -z : z;
    float q = rt_verfcf_pos(az);
    return x < 0.0f ? 0.5f * x * q : x * (1.0f - 0.5f * q);
}

RT_INLINE float rt_vsigmoidf(float x) { return 1.0f / (1.0f + rt_vexpf(-x)); }

#endif

// dtype.h: element types and the f16/bf16 <-> f32 conversions used on load.
// Compute is fp32 on the CPU; half types are storage formats converted once.
#ifndef ROTO_DTYPE_H
#define ROTO_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RT_F32 = 0, RT_F16, RT_BF16, RT_I32, RT_U8, RT_NUM_DTYPES } rt_dtype;

static inline size_t rt_dtype_size(rt_dtype t) {
    switch (t) {
    case RT_F32: case RT_I32: return 4;
    case RT_F16: case RT_BF16: return 2;
    case RT_U8: return 1;
    default: return 0;
    }
}

const char *rt_dtype_name(rt_dtype t);

static inline float rt_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Round to nearest even, NaN stays NaN (quiet).
static inline uint16_t rt_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float rt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else {  // subnormal: renormalise
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) { man <<= 1; exp--; }
            man &= 0x3ffu;
            u = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Round to nearest even with overflow to inf and gradual underflow.
static inline uint16_t rt_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);     // NaN
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);    // >= 65520: inf
    if (a < 0x38800000u) {                                      // below 2^-14: subnormal
        if (a < 0x33000000u) return (uint16_t)sign;             // < 2^-25: zero
        uint32_t e = a >> 23;
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        // value = m * 2^(e-150); in units of the f16 subnormal step 2^-24 that
        // is m >> (126 - e), rounded to nearest even below.
        uint32_t shift = 126 - e;
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u);  // round mantissa to 10 bits
    r -= 0x38000000u;                            // rebias exponent 127 -> 15
    return (uint16_t)(sign | (r >> 13));
}

// Convert n elements of `src` (type t) into f32 `dst`. Returns 0, or -1 if the
// type cannot be converted to f32 (u8 and i32 convert by value).
int rt_convert_to_f32(float *dst, const void *src, rt_dtype t, size_t n);
// Convert n f32 values into `dst` of type t (f32, f16, bf16).
int rt_convert_from_f32(void *dst, rt_dtype t, const float *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif

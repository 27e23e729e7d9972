// test_attention.c: rt_attention, rt_rope and rt_rope_axial_table on the CPU
// against the fp64 references in tests/ref/ref_attention.c, plus the op
// layer's argument checks.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_attention.h"
#include "util/test_util.h"

enum { BIAS_NONE = 0, BIAS_RANDOM, BIAS_BATCH0_MASKED, BIAS_FIRST_KEYS_MASKED };

typedef struct {
    int B, H, Lq, Lk, D, Dv;
    int packed;     // q, k, v as views of one [B, L, 3, H, D] buffer; out a [B, L, H, Dv] view
    int bias_mode;  // BIAS_*
    float qmul;     // multiplies q: larger logits, peakier softmax
} att_case;

// A [B, H, L, D] view of a buffer laid out [B, L, n, H, D] at slot `slot`.
static rt_tensor heads_view(float *buf, int B, int L, int n, int slot, int H, int D) {
    rt_tensor t = rt_f32_4d(buf + (int64_t)slot * H * D, B, H, L, D);
    t.stride[0] = (int64_t)L * n * H * D;
    t.stride[1] = D;
    t.stride[2] = (int64_t)n * H * D;
    t.stride[3] = 1;
    return t;
}

// Gathers a strided [B, H, L, D] tensor into a contiguous array.
static void gather(float *dst, const rt_tensor *t) {
    size_t i = 0;
    for (int64_t b = 0; b < t->shape[0]; b++)
        for (int64_t h = 0; h < t->shape[1]; h++)
            for (int64_t l = 0; l < t->shape[2]; l++)
                for (int64_t d = 0; d < t->shape[3]; d++)
                    dst[i++] = *(const float *)rt_elem_ptr(t, b, h, l, d);
}

static void run_case(rt_ctx *ctx, tu_rng *rng, att_case c, tu_tol tol) {
    const int64_t B = c.B, H = c.H, Lq = c.Lq, Lk = c.Lk, D = c.D, Dv = c.Dv;
    float *qb, *kb, *vb, *ob;
    rt_tensor q, k, v, out;
    size_t nq, nk, nv;
    if (c.packed) {
        ck_assert(Lq == Lk && D == Dv);
        const size_t n = (size_t)(B * Lq * 3 * H * D);
        qb = tu_alloc_f32(n);
        kb = vb = NULL;
        tu_fill_normal(rng, qb, n, 0.0f, 1.0f);
        q = heads_view(qb, c.B, c.Lq, 3, 0, c.H, c.D);
        k = heads_view(qb, c.B, c.Lq, 3, 1, c.H, c.D);
        v = heads_view(qb, c.B, c.Lq, 3, 2, c.H, c.D);
        ob = tu_alloc_f32((size_t)(B * Lq * H * Dv));
        out = heads_view(ob, c.B, c.Lq, 1, 0, c.H, c.Dv);
        nq = nk = nv = 0;
        if (c.qmul != 1.0f)
            for (int64_t b = 0; b < B; b++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t i = 0; i < Lq; i++) {
                        float *r = rt_elem_ptr(&q, b, h, i, 0);
                        for (int64_t d = 0; d < D; d++) r[d] *= c.qmul;
                    }
    } else {
        nq = (size_t)(B * H * Lq * D), nk = (size_t)(B * H * Lk * D), nv = (size_t)(B * H * Lk * Dv);
        qb = tu_alloc_f32(nq), kb = tu_alloc_f32(nk), vb = tu_alloc_f32(nv);
        tu_fill_normal(rng, qb, nq, 0.0f, c.qmul);
        tu_fill_normal(rng, kb, nk, 0.0f, 1.0f);
        tu_fill_uniform(rng, vb, nv, -1.0f, 1.0f);
        q = rt_f32_4d(qb, B, H, Lq, D);
        k = rt_f32_4d(kb, B, H, Lk, D);
        v = rt_f32_4d(vb, B, H, Lk, Dv);
        ob = tu_alloc_f32((size_t)(B * H * Lq * Dv));
        out = rt_f32_4d(ob, B, H, Lq, Dv);
    }
    (void)nq, (void)nk, (void)nv;
    const size_t no = (size_t)(B * H * Lq * Dv);
    float *bias = NULL;
    rt_tensor tb;
    if (c.bias_mode != BIAS_NONE) {
        bias = tu_alloc_f32((size_t)(B * Lk > 0 ? B * Lk : 1));
        tu_fill_uniform(rng, bias, (size_t)(B * Lk), -2.0f, 2.0f);
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < Lk; j++) {
                float *bj = &bias[b * Lk + j];
                if (c.bias_mode == BIAS_RANDOM && tu_rng_uniform(rng) < 0.3) *bj = -INFINITY;
                if (c.bias_mode == BIAS_BATCH0_MASKED && (b == 0 || tu_rng_uniform(rng) < 0.5))
                    *bj = -INFINITY;
                if (c.bias_mode == BIAS_FIRST_KEYS_MASKED && j < 200) *bj = -INFINITY;
            }
        tb = rt_f32_2d(bias, B, Lk);
    }
    const float scale = 1.0f / sqrtf((float)D);
    double *ref = malloc(sizeof(double) * (no ? no : 1));
    ref_attention(ref, &q, &k, &v, bias, scale);
    tu_poison_f32(ob, no);
    roto_status st = rt_attention(ctx, &out, &q, &k, &v, bias ? &tb : NULL, scale);
    ck_assert_msg(st == ROTO_OK, "attention: %s", roto_last_error());
    float *got = tu_alloc_f32(no);
    gather(got, &out);
    char what[160];
    snprintf(what, sizeof what, "attention B=%d H=%d Lq=%d Lk=%d D=%d Dv=%d packed=%d bias=%d qmul=%g",
             c.B, c.H, c.Lq, c.Lk, c.D, c.Dv, c.packed, c.bias_mode, (double)c.qmul);
    tu_check_close(got, ref, no, tol, what);
    if (c.bias_mode == BIAS_BATCH0_MASKED)  // every key of batch 0 masked: exact zeros
        for (int64_t i = 0; i < H * Lq * Dv; i++) ck_assert_float_eq(got[i], 0.0f);
    free(qb), free(kb), free(vb), free(ob), free(bias), free(ref), free(got);
}

START_TEST(test_attention_head_dims) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 11);
    const int dims[] = {1, 3, 16, 17, 32, 56, 64, 72, 96, 128, 256};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) {
        const int D = dims[i];
        run_case(&ctx, &rng, (att_case){2, 3, 37, 53, D, D, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
        // Several key tiles and a different value dim.
        const int Dv = D % 2 ? D + 5 : D / 2 + 1;
        run_case(&ctx, &rng, (att_case){1, 2, 21, 300, D, Dv, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
    }
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_attention_shapes) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 12);
    // Mask-decoder style: few tokens to many image tokens and back.
    run_case(&ctx, &rng, (att_case){1, 8, 7, 300, 16, 16, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
    run_case(&ctx, &rng, (att_case){1, 8, 300, 7, 16, 16, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
    // Hiera windows: many small batches.
    run_case(&ctx, &rng, (att_case){37, 1, 64, 64, 72, 72, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
    run_case(&ctx, &rng, (att_case){37, 2, 64, 64, 48, 48, 1, BIAS_NONE, 1.0f}, TU_TOL_F32);
    // Degenerate sizes.
    run_case(&ctx, &rng, (att_case){1, 1, 1, 1, 1, 1, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
    run_case(&ctx, &rng, (att_case){3, 1, 5, 1, 8, 4, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
    run_case(&ctx, &rng, (att_case){1, 1, 1, 129, 40, 3, 0, BIAS_NONE, 1.0f}, TU_TOL_F32);
    // Packed qkv views with a strided output, several query tiles.
    run_case(&ctx, &rng, (att_case){2, 4, 150, 150, 32, 32, 1, BIAS_NONE, 1.0f}, TU_TOL_F32);
    run_case(&ctx, &rng, (att_case){1, 3, 77, 77, 17, 17, 1, BIAS_RANDOM, 1.0f}, TU_TOL_F32);
    // Peaky softmax over several key tiles: the running max moves a lot.
    run_case(&ctx, &rng, (att_case){2, 2, 33, 1000, 64, 64, 0, BIAS_NONE, 6.0f},
             TU_TOL_F32_LONG);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_attention_masking) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 13);
    run_case(&ctx, &rng, (att_case){2, 2, 19, 70, 32, 32, 0, BIAS_RANDOM, 1.0f}, TU_TOL_F32);
    run_case(&ctx, &rng, (att_case){3, 2, 19, 300, 32, 24, 0, BIAS_RANDOM, 2.0f}, TU_TOL_F32);
    // Batch 0 sees only masked keys (zeros); the others half masked.
    run_case(&ctx, &rng, (att_case){3, 2, 25, 260, 64, 64, 0, BIAS_BATCH0_MASKED, 1.0f},
             TU_TOL_F32);
    // The first key tile is fully masked, later ones are not.
    run_case(&ctx, &rng, (att_case){2, 1, 40, 333, 16, 16, 0, BIAS_FIRST_KEYS_MASKED, 3.0f},
             TU_TOL_F32);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_attention_large) {
    // One moderately large case through many key tiles at SAM 2.1's memory
    // attention head dim.
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 14);
    run_case(&ctx, &rng, (att_case){1, 1, 256, 2000, 256, 256, 0, BIAS_NONE, 1.0f},
             TU_TOL_F32_LONG);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_attention_threads_and_empty) {
    // The result does not depend on the thread count (each query's arithmetic
    // is the same whichever tile holds it).
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 15);
    const int B = 2, H = 3, Lq = 100, Lk = 150, D = 40;
    const size_t nq = B * H * Lq * D, nk = B * H * Lk * D, no = nq;
    float *q = tu_alloc_f32(nq), *k = tu_alloc_f32(nk), *v = tu_alloc_f32(nk);
    float *o1 = tu_alloc_f32(no), *o2 = tu_alloc_f32(no);
    tu_fill_normal(&rng, q, nq, 0, 1), tu_fill_normal(&rng, k, nk, 0, 1);
    tu_fill_normal(&rng, v, nk, 0, 1);
    rt_tensor tq = rt_f32_4d(q, B, H, Lq, D), tk = rt_f32_4d(k, B, H, Lk, D),
              tv = rt_f32_4d(v, B, H, Lk, D), t1 = rt_f32_4d(o1, B, H, Lq, D),
              t2 = rt_f32_4d(o2, B, H, Lq, D);
    ctx.num_threads = 1;
    ck_assert_int_eq(rt_attention(&ctx, &t1, &tq, &tk, &tv, NULL, 0.2f), ROTO_OK);
    ctx.num_threads = 0;
    ck_assert_int_eq(rt_attention(&ctx, &t2, &tq, &tk, &tv, NULL, 0.2f), ROTO_OK);
    ck_assert(memcmp(o1, o2, no * sizeof(float)) == 0);
    // No keys at all: every query gives zeros.
    rt_tensor k0 = rt_f32_4d(k, B, H, 0, D), v0 = rt_f32_4d(v, B, H, 0, D);
    tu_poison_f32(o1, no);
    ck_assert_int_eq(rt_attention(&ctx, &t1, &tq, &k0, &v0, NULL, 0.2f), ROTO_OK);
    for (size_t i = 0; i < no; i++) ck_assert_float_eq(o1[i], 0.0f);
    free(q), free(k), free(v), free(o1), free(o2);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_attention_op_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    static float q[2 * 2 * 8 * 300], k[2 * 2 * 8 * 300], v[2 * 2 * 8 * 300], o[2 * 2 * 8 * 300];
    static float bias[2 * 8];
    rt_tensor tq = rt_f32_4d(q, 2, 2, 8, 16), tk = rt_f32_4d(k, 2, 2, 8, 16),
              tv = rt_f32_4d(v, 2, 2, 8, 16), to = rt_f32_4d(o, 2, 2, 8, 16);
    ck_assert_int_eq(rt_attention(&ctx, &to, &tq, &tk, &tv, NULL, 0.25f), ROTO_OK);
    // Head dim above 256.
    rt_tensor bq = rt_f32_4d(q, 1, 1, 2, 300), bk = rt_f32_4d(k, 1, 1, 2, 300),
              bv = rt_f32_4d(v, 1, 1, 2, 300), bo = rt_f32_4d(o, 1, 1, 2, 300);
    ck_assert_int_eq(rt_attention(&ctx, &bo, &bq, &bk, &bv, NULL, 1.0f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "1..256"));
    // k head dim differs from q.
    rt_tensor k8 = rt_f32_4d(k, 2, 2, 8, 8);
    ck_assert_int_eq(rt_attention(&ctx, &to, &tq, &k8, &tv, NULL, 1.0f), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "attention: k"));
    // v has a different key count than k.
    rt_tensor v7 = rt_f32_4d(v, 2, 2, 7, 16);
    ck_assert_int_eq(rt_attention(&ctx, &to, &tq, &tk, &v7, NULL, 1.0f), ROTO_ERR_SHAPE);
    // out with the wrong query count; 3-d q.
    rt_tensor o5 = rt_f32_4d(o, 2, 2, 5, 16), q3 = rt_f32_3d(q, 4, 8, 16);
    ck_assert_int_eq(rt_attention(&ctx, &o5, &tq, &tk, &tv, NULL, 1.0f), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_attention(&ctx, &to, &q3, &tk, &tv, NULL, 1.0f), ROTO_ERR_SHAPE);
    // Bias of the wrong shape.
    rt_tensor b1 = rt_f32_2d(bias, 1, 8), b2 = rt_f32_2d(bias, 2, 8);
    ck_assert_int_eq(rt_attention(&ctx, &to, &tq, &tk, &tv, &b1, 1.0f), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "key_bias"));
    ck_assert_int_eq(rt_attention(&ctx, &to, &tq, &tk, &tv, &b2, 1.0f), ROTO_OK);
    // Output aliasing q.
    ck_assert_int_eq(rt_attention(&ctx, &tq, &tq, &tk, &tv, NULL, 1.0f), ROTO_ERR_INVALID_ARG);
    // Last dim not contiguous.
    rt_tensor perm;
    int p[4] = {0, 1, 3, 2};
    rt_tensor sq = rt_f32_4d(q, 2, 2, 16, 16);
    ck_assert_int_eq(rt_view_permute(&perm, &sq, p), ROTO_OK);
    rt_tensor ko = rt_f32_4d(k, 2, 2, 16, 16), vo = rt_f32_4d(v, 2, 2, 16, 16),
              oo = rt_f32_4d(o, 2, 2, 16, 16);
    ck_assert_int_eq(rt_attention(&ctx, &oo, &perm, &ko, &vo, NULL, 1.0f), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "contiguous"));
    // f16 is not computed on the CPU.
    rt_tensor qh = tq, kh = tk, vh = tv, oh = to;
    qh.dtype = kh.dtype = vh.dtype = oh.dtype = RT_F16;
    ck_assert_int_eq(rt_attention(&ctx, &oh, &qh, &kh, &vh, NULL, 1.0f), ROTO_ERR_UNSUPPORTED);
    rt_ctx_destroy(&ctx);
}
END_TEST

// ---- RoPE ----------------------------------------------------------------------

static void check_rope(rt_ctx *ctx, tu_rng *rng, int B, int H, int L, int D, int P, int n_rot) {
    // x as a [B, H, L, D] view of a [B, L, H, D] buffer (heads split from tokens).
    const size_t n = (size_t)B * L * H * D;
    float *buf = tu_alloc_f32(n), *orig = tu_alloc_f32(n), *got = tu_alloc_f32(n);
    float *ct = tu_alloc_f32((size_t)P * D / 2), *st = tu_alloc_f32((size_t)P * D / 2);
    tu_fill_normal(rng, buf, n, 0.0f, 1.0f);
    for (size_t i = 0; i < (size_t)P * D / 2; i++) {
        double a = 20.0 * (tu_rng_uniform(rng) - 0.5);
        ct[i] = (float)cos(a);
        st[i] = (float)sin(a);
    }
    rt_tensor x = heads_view(buf, B, L, 1, 0, H, D);
    gather(orig, &x);
    rt_tensor xo = rt_f32_4d(orig, B, H, L, D);
    double *ref = malloc(sizeof(double) * n);
    ref_rope(ref, &xo, ct, st, P, n_rot);
    rt_tensor tc = rt_f32_2d(ct, P, D / 2), ts = rt_f32_2d(st, P, D / 2);
    roto_status s = rt_rope(ctx, &x, &tc, &ts, n_rot);
    ck_assert_msg(s == ROTO_OK, "rope: %s", roto_last_error());
    gather(got, &x);
    char what[96];
    snprintf(what, sizeof what, "rope B=%d H=%d L=%d D=%d P=%d n_rot=%d", B, H, L, D, P, n_rot);
    tu_check_close(got, ref, n, TU_TOL_F32, what);
    // Tokens at and past n_rot are untouched, bit for bit.
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = n_rot; t < L; t++)
                for (int64_t d = 0; d < D; d++) {
                    const size_t i = (size_t)(((b * H + h) * L + t) * D + d);
                    ck_assert(memcmp(&got[i], &orig[i], sizeof(float)) == 0);
                }
    free(buf), free(orig), free(got), free(ct), free(st), free(ref);
}

START_TEST(test_rope) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 21);
    check_rope(&ctx, &rng, 2, 3, 50, 8, 50, 50);
    check_rope(&ctx, &rng, 1, 2, 50, 16, 16, 48);   // table repeated 3 times, 2-token tail
    check_rope(&ctx, &rng, 1, 1, 50, 16, 16, 41);   // partial last repeat
    check_rope(&ctx, &rng, 2, 1, 9, 2, 4, 9);
    check_rope(&ctx, &rng, 1, 1, 10, 6, 10, 0);     // nothing rotated
    check_rope(&ctx, &rng, 1, 2, 300, 34, 300, 290);
    // SAM 2.1 memory-attention keys, scaled down: 2 spatial repeats + 16 pointer tokens.
    check_rope(&ctx, &rng, 1, 1, 2 * 256 + 16, 256, 256, 2 * 256);
    rt_ctx_destroy(&ctx);
}
END_TEST

static void check_axial_table(int dim, int end_x, int end_y, float theta, float scale) {
    const size_t n = (size_t)end_x * end_y * (dim / 2);
    float *c = tu_alloc_f32(n), *s = tu_alloc_f32(n);
    double *rc = malloc(sizeof(double) * n), *rs = malloc(sizeof(double) * n);
    tu_poison_f32(c, n);
    tu_poison_f32(s, n);
    rt_rope_axial_table(c, s, dim, end_x, end_y, theta, scale);
    ref_rope_axial_table(rc, rs, dim, end_x, end_y, theta, scale);
    // The table rounds each angle to fp32 as PyTorch does; at positions up to
    // 64 that moves cos/sin by up to ~4e-6 from the exact-angle reference.
    char what[96];
    snprintf(what, sizeof what, "axial table dim=%d %dx%d theta=%g scale=%g", dim, end_x, end_y,
             (double)theta, (double)scale);
    tu_check_close(c, rc, n, TU_TOL_F32, what);
    tu_check_close(s, rs, n, TU_TOL_F32, what);
    free(c), free(s), free(rc), free(rs);
}

START_TEST(test_rope_axial_table) {
    check_axial_table(256, 64, 64, 10000.0f, 1.0f);  // SAM 2.1 memory attention
    check_axial_table(64, 32, 32, 10000.0f, 1.0f);
    check_axial_table(96, 7, 5, 100.0f, 1.0f);
    check_axial_table(64, 24, 24, 10000.0f, 0.5f);   // scaled positions
    check_axial_table(6, 5, 3, 10000.0f, 1.0f);      // dim % 4 == 2: last pair identity
    // Exact entries: position 0 is the identity, frequency 0 is 1 rad per step,
    // so (x=1, pair 0) and (y=1, pair dim/4) are cos(1), sin(1) rounded once.
    const int dim = 256, ex = 64, half = dim / 2;
    float *c = tu_alloc_f32((size_t)ex * ex * half), *s = tu_alloc_f32((size_t)ex * ex * half);
    rt_rope_axial_table(c, s, dim, ex, ex, 10000.0f, 1.0f);
    for (int f = 0; f < half; f++) {
        ck_assert_float_eq(c[f], 1.0f);
        ck_assert_float_eq(s[f], 0.0f);
    }
    ck_assert_float_eq(c[1 * half + 0], (float)cos(1.0));
    ck_assert_float_eq(s[1 * half + 0], (float)sin(1.0));
    ck_assert_float_eq(c[1 * half + dim / 4], 1.0f);  // y = 0 for token 1
    ck_assert_float_eq(c[ex * half + dim / 4], (float)cos(1.0));
    ck_assert_float_eq(s[ex * half + dim / 4], (float)sin(1.0));
    ck_assert_float_eq(c[ex * half + 0], 1.0f);  // x = 0 for token end_x
    // Token (x=3, y=5): pair k uses x*f_k with f_k rounded to fp32 first.
    const int t = 5 * ex + 3, k = 10;
    const float fk = 1.0f / (float)pow(10000.0, (double)((float)(4 * k) / (float)dim));
    ck_assert_float_eq(c[t * half + k], (float)cos((double)(3.0f * fk)));
    ck_assert_float_eq(s[t * half + dim / 4 + k], (float)sin((double)(5.0f * fk)));
    free(c), free(s);
}
END_TEST

START_TEST(test_rope_op_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float x[1 * 2 * 10 * 8], ct[10 * 4], st[10 * 4];
    for (int i = 0; i < 40; i++) ct[i] = 1.0f, st[i] = 0.0f;
    rt_tensor tx = rt_f32_4d(x, 1, 2, 10, 8), tc = rt_f32_2d(ct, 10, 4), ts = rt_f32_2d(st, 10, 4);
    ck_assert_int_eq(rt_rope(&ctx, &tx, &tc, &ts, 10), ROTO_OK);
    ck_assert_int_eq(rt_rope(&ctx, &tx, &tc, &ts, 11), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "n_rot"));
    ck_assert_int_eq(rt_rope(&ctx, &tx, &tc, &ts, -1), ROTO_ERR_INVALID_ARG);
    rt_tensor odd = rt_f32_4d(x, 1, 2, 8, 5);
    ck_assert_int_eq(rt_rope(&ctx, &odd, &tc, &ts, 1), ROTO_ERR_SHAPE);
    rt_tensor c3 = rt_f32_2d(ct, 10, 3), s5 = rt_f32_2d(st, 8, 4);
    ck_assert_int_eq(rt_rope(&ctx, &tx, &c3, &ts, 1), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "cos_t"));
    ck_assert_int_eq(rt_rope(&ctx, &tx, &tc, &s5, 1), ROTO_ERR_SHAPE);
    rt_tensor x3 = rt_f32_3d(x, 2, 10, 8);
    ck_assert_int_eq(rt_rope(&ctx, &x3, &tc, &ts, 1), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_rope(&ctx, &tx, NULL, &ts, 1), ROTO_ERR_INVALID_ARG);
    rt_ctx_destroy(&ctx);
}
END_TEST

static Suite *attention_suite(void) {
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("attention");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_attention_head_dims);
    tcase_add_test(tc, test_attention_shapes);
    tcase_add_test(tc, test_attention_masking);
    tcase_add_test(tc, test_attention_large);
    tcase_add_test(tc, test_attention_threads_and_empty);
    tcase_add_test(tc, test_attention_op_errors);
    tcase_add_test(tc, test_rope);
    tcase_add_test(tc, test_rope_axial_table);
    tcase_add_test(tc, test_rope_op_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(attention_suite)

// flash_emu.cpp: runs the flash-attention kernels of kernels/cuda/flash_kernel.cuh
// on the CPU under the warp emulator (cuda_emu.h) and compares them with a
// double-precision reference, for every supported head dim, f16 and bf16,
// uneven lengths, packed (strided) q/k/v, key-bias masks, split-KV with the
// combine kernel, and f32 / half outputs. No GPU needed: this checks the
// kernel's indexing, fragment layouts, online softmax, masking and split
// logic; races and speed need the real GPU (make test-gpu, test-gpu-sanitize).
//
// Build and run from the repository root (a few minutes; --quick for fewer cases):
//   g++ -std=c++17 -O2 -Wall -Wextra -Wno-unknown-pragmas -I/usr/local/cuda/include
//       kernels/cuda/emu/flash_emu.cpp -o /tmp/flash_emu && /tmp/flash_emu
// Exit status 0 when every case is within tolerance.
#include "cuda_emu.h"
// The kernel source under test.
#include "../flash_kernel.cuh"

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static double urand() {  // [0, 1)
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (double)((g_rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

template <typename T> static uint16_t to_h(float f);
template <> uint16_t to_h<__nv_bfloat16>(float f) {
    __nv_bfloat16 b = __float2bfloat16_rn(f);
    uint16_t u;
    memcpy(&u, &b, 2);
    return u;
}
template <> uint16_t to_h<__half>(float f) {
    __half b = __float2half_rn(f);
    uint16_t u;
    memcpy(&u, &b, 2);
    return u;
}

struct attn_case {
    int B, H, Lq, Lk, D;
    int packed;     // q, k, v are [B, H, L, D] views of one [B, L, 3, H, D] buffer (Lq == Lk)
    int bias_mode;  // 0 none, 1 random, 2 random + every 5th key masked + batch 0 fully masked
    int splits;     // 0: plan as on a 132-SM GPU with 2 CTAs/SM; else force about this many
    int out_f32;    // write f32 output through the partial + combine path
};

template <typename T, int DP> static void launch_fwd(const fa_params &p, int splits) {
    emu_launch((unsigned)(p.B * p.H), (unsigned)((p.Lq + FA_BM - 1) / FA_BM), (unsigned)splits,
               FA_THREADS, fa_cfg<DP>::smem_bytes,
               [](void *a) { k_flash_fwd<T, DP>(*(const fa_params *)a); }, (void *)&p);
}

template <typename T> static void launch_dp(int DP, const fa_params &p, int splits) {
    switch (DP) {
    case 16: launch_fwd<T, 16>(p, splits); break;
    case 32: launch_fwd<T, 32>(p, splits); break;
    case 64: launch_fwd<T, 64>(p, splits); break;
    case 80: launch_fwd<T, 80>(p, splits); break;
    case 96: launch_fwd<T, 96>(p, splits); break;
    case 128: launch_fwd<T, 128>(p, splits); break;
    default: launch_fwd<T, 256>(p, splits); break;
    }
}

struct combine_args {
    void *o;
    int64_t o_sb, o_sh, o_sl;
    const float *po, *pl;
    int splits, B, H, Lq, D;
    int64_t n;
};

template <typename TO> static void launch_combine(const combine_args &c) {
    unsigned blocks = (unsigned)((c.n + 255) / 256);
    emu_launch(blocks, 1, 1, 256, 0,
               [](void *a) {
                   const combine_args &c = *(const combine_args *)a;
                   k_flash_combine<TO>((TO *)c.o, c.o_sb, c.o_sh, c.o_sl, c.po, c.pl, c.splits, c.B,
                                       c.H, c.Lq, c.D, c.n);
               },
               (void *)&c);
}

// Returns 1 when the case passes.
template <typename T> static int run_case(const attn_case &c, const char *tname) {
    const int B = c.B, H = c.H, Lq = c.Lq, Lk = c.Lk, D = c.D;
    const float scale = 1.0f / sqrtf((float)D);
    // Inputs (16-bit storage) and their float values.
    std::vector<uint16_t> qb, kb, vb;
    int64_t q_sb, q_sh, q_sl, k_sb, k_sh, k_sl;
    const uint16_t *qp, *kp, *vp;
    if (c.packed) {
        qb.resize((size_t)B * Lq * 3 * H * D);
        for (auto &x : qb) x = to_h<T>((float)(urand() * 2 - 1));
        q_sb = k_sb = (int64_t)Lq * 3 * H * D, q_sh = k_sh = D, q_sl = k_sl = 3 * H * D;
        qp = qb.data(), kp = qb.data() + (size_t)H * D, vp = qb.data() + (size_t)2 * H * D;
    } else {
        qb.resize((size_t)B * H * Lq * D), kb.resize((size_t)B * H * Lk * D), vb.resize(kb.size());
        for (auto &x : qb) x = to_h<T>((float)(urand() * 4 - 2));
        for (auto &x : kb) x = to_h<T>((float)(urand() * 2 - 1));
        for (auto &x : vb) x = to_h<T>((float)(urand() * 2 - 1));
        q_sb = (int64_t)H * Lq * D, q_sh = (int64_t)Lq * D, q_sl = D;
        k_sb = (int64_t)H * Lk * D, k_sh = (int64_t)Lk * D, k_sl = D;
        qp = qb.data(), kp = kb.data(), vp = vb.data();
    }
    std::vector<float> bias;
    if (c.bias_mode) {
        bias.resize((size_t)B * Lk);
        for (auto &x : bias) x = (float)(urand() * 2 - 1);
        if (c.bias_mode == 2)
            for (int b = 0; b < B; b++)
                for (int j = 0; j < Lk; j++)
                    if (b == 0 || j % 5 == 1) bias[(size_t)b * Lk + j] = -INFINITY;
    }
    // Reference in double on the same (rounded) inputs.
    auto val = [&](const uint16_t *p, int64_t i) { return (double)emu_h2f<T>(p[i]); };
    std::vector<double> ref((size_t)B * H * Lq * D, 0.0);
    std::vector<double> lg(Lk);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Lq; i++) {
                double m = -INFINITY;
                for (int j = 0; j < Lk; j++) {
                    double s = 0;
                    for (int d = 0; d < D; d++)
                        s += val(qp, b * q_sb + h * q_sh + (int64_t)i * q_sl + d) *
                             val(kp, b * k_sb + h * k_sh + (int64_t)j * k_sl + d);
                    s = s * scale + (c.bias_mode ? bias[(size_t)b * Lk + j] : 0.0);
                    lg[j] = s;
                    m = std::max(m, s);
                }
                double* o = &ref[(((size_t)b * H + h) * Lq + i) * D];
                if (m == -INFINITY) continue;  // fully masked: zeros
                double den = 0;
                for (int j = 0; j < Lk; j++) den += exp(lg[j] - m);
                for (int j = 0; j < Lk; j++) {
                    double pj = exp(lg[j] - m) / den;
                    for (int d = 0; d < D; d++)
                        o[d] += pj * val(vp, b * k_sb + h * k_sh + (int64_t)j * k_sl + d);
                }
            }

    // Plan as attention.cu does.
    const int DP = fa_pad_dim(D);
    const int BN = fa_block_n(DP);
    const int n_tiles = (Lk + BN - 1) / BN;
    const int64_t qblocks = (int64_t)B * H * ((Lq + FA_BM - 1) / FA_BM);
    int splits = 1, tps = 1;
    fa_plan(qblocks, n_tiles, c.splits ? qblocks * c.splits : 132 * 2, &splits, &tps);

    fa_params p;
    memset(&p, 0, sizeof p);
    p.q = qp, p.k = kp, p.v = vp;
    p.q_sb = q_sb, p.q_sh = q_sh, p.q_sl = q_sl;
    p.k_sb = p.v_sb = k_sb, p.k_sh = p.v_sh = k_sh, p.k_sl = p.v_sl = k_sl;
    p.bias = c.bias_mode ? bias.data() : nullptr;
    p.bias_sb = Lk;
    p.B = B, p.H = H, p.Lq = Lq, p.Lk = Lk, p.D = D;
    p.tiles_per_split = tps;
    p.scale_log2 = scale * LOG2E_F;
    // Output [B, H, Lq, D] with a padded row stride (D + 8) to check strides.
    const int64_t o_sl = D + 8, o_sh = (int64_t)Lq * o_sl, o_sb = (int64_t)H * o_sh;
    std::vector<uint16_t> out_h((size_t)B * o_sb, 0xffff);  // NaN in f16 and bf16
    std::vector<float> out_f((size_t)B * o_sb, NAN);
    std::vector<float> po, pl;
    const int direct = splits == 1 && !c.out_f32;
    if (direct) {
        p.o = out_h.data(), p.o_sb = o_sb, p.o_sh = o_sh, p.o_sl = o_sl;
    } else {
        po.assign((size_t)splits * B * H * Lq * D, NAN);
        pl.assign((size_t)splits * B * H * Lq, NAN);
        p.part_o = po.data(), p.part_lse = pl.data();
    }
    launch_dp<T>(DP, p, splits);
    if (!direct) {
        combine_args ca = {c.out_f32 ? (void *)out_f.data() : (void *)out_h.data(), o_sb, o_sh, o_sl,
                           po.data(), pl.data(), splits, B, H, Lq, D, (int64_t)B * H * Lq * D};
        if (c.out_f32) launch_combine<float>(ca);
        else launch_combine<T>(ca);
    }

    // Compare: every element written, relative L2 and max abs error.
    double num = 0, den = 0, maxerr = 0;
    int missing = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Lq; i++)
                for (int d = 0; d < D; d++) {
                    size_t oi = (size_t)b * o_sb + h * o_sh + (size_t)i * o_sl + d;
                    double got = c.out_f32 ? out_f[oi] : emu_h2f<T>(out_h[oi]);
                    double r = ref[(((size_t)b * H + h) * Lq + i) * D + d];
                    if (std::isnan(got)) {
                        missing++;
                        continue;
                    }
                    num += (got - r) * (got - r);
                    den += r * r;
                    maxerr = std::max(maxerr, fabs(got - r));
                }
    // Padding columns of the output rows must be untouched.
    int clobbered = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Lq; i++)
                for (int d = D; d < o_sl; d++) {
                    size_t oi = (size_t)b * o_sb + h * o_sh + (size_t)i * o_sl + d;
                    if (c.out_f32 ? !std::isnan(out_f[oi]) : out_h[oi] != 0xffff) clobbered++;
                }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    const int bf = sizeof(T) == 2 && to_h<T>(1.0f) == 0x3f80;
    const double tol_rel = bf ? 1.5e-2 : 3e-3, tol_abs = bf ? 0.08 : 0.02;
    int ok = missing == 0 && clobbered == 0 && rel <= tol_rel && maxerr <= tol_abs;
    printf("%s %-5s B%d H%d Lq%-4d Lk%-5d D%-3d (DP %3d) packed %d bias %d splits %d out %s: "
           "rel %.2e max %.2e missing %d clobbered %d\n",
           ok ? "ok  " : "FAIL", tname, B, H, Lq, Lk, D, DP, c.packed, c.bias_mode, splits,
           c.out_f32 ? "f32 " : (direct ? "half" : "half (combine)"), rel, maxerr, missing,
           clobbered);
    fflush(stdout);
    return ok;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    const int dims[] = {16, 32, 56, 64, 72, 96, 128, 256};
    int failed = 0, total = 0;
    for (int di = 0; di < 8; di++) {
        int D = dims[di];
        std::vector<attn_case> cases = {
            {2, 3, 77, 131, D, 0, 0, 0, 0},   // uneven lengths, several q blocks and kv tiles
            {1, 2, 64, 64, D, 1, 1, 0, 0},    // packed q/k/v views, random bias
            {2, 1, 5, 300, D, 0, 2, 0, 0},    // masked keys, batch 0 fully masked
            {1, 1, 1, 1, D, 0, 0, 0, 0},      // one query, one key
            {1, 1, 70, 1000, D, 0, 1, 3, 0},  // split-KV + combine (half out)
            {1, 2, 33, 200, D, 0, 2, 0, 1},   // f32 out via the partial path
        };
        if (quick) cases.resize(2);
        for (const attn_case &c : cases) {
            failed += !run_case<__nv_bfloat16>(c, "bf16");
            failed += !run_case<__half>(c, "f16");
            total += 2;
        }
    }
    printf("%d of %d cases passed\n", total - failed, total);
    return failed ? 1 : 0;
}

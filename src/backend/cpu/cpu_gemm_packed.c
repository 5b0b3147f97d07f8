/* cpu_gemm_packed.c: a packed float32 GEMM in the style of BLIS/GotoBLAS.
 *
 * C (m x n) = A (m x k) @ B (k x n) is cut into blocks of KC along k and MC
 * along m; each block of B (KC x n) is packed into panels of NR columns
 * (KC x NR, contiguous, zero-padded past n) and each block of A (MC x KC)
 * into panels of MR rows (KC x MR), so the micro-kernel streams both with
 * unit stride whatever the operands' strides (a transposed view costs no
 * copy beyond the packing every blocked GEMM does). The micro-kernel keeps an
 * MR x NR block of C in vector registers over KC (one broadcast of A's
 * element, NR / VL loads of B, MR * NR / VL FMAs per step) and writes C once:
 * stored at the first k block (beta = 0, no separate zeroing pass: OpenBLAS
 * spends ~8% of the MLP step scaling C by beta before its product), added at
 * the next ones.
 *
 * Three builds of the whole driver, picked at run time by the CPU's features
 * (never -march=native): AVX-512 (16-float vectors, 6 x 32 block), AVX2 + FMA
 * (8-float vectors, 6 x 16: 12 accumulators + 2 loads + 1 broadcast of the 16
 * ymm registers), and the x86-64 baseline (SSE2, 4-float vectors, 6 x 8).
 * GCC's vector extensions, no intrinsics. Results differ from the BLAS's
 * only by rounding (summation order, FMA). */
#include "cpu_gemm_packed.h"
#include "cpu_tr8.h"

#include <stdlib.h>
#include <string.h>

#define MR 6
/* Operands read in place instead of packed (bench/gemm_packed.c, AVX2): B when its rows are contiguous, it
 * is small (k x n <= DIRECT_B_MAX floats: it stays in L2) and its row stride does not alias in L1 (b_in_l1);
 * a big B or an A in place ran 5-15% slower than packed. */
#ifndef DIRECT_A
#define DIRECT_A 0
#endif
#ifndef DIRECT_B_MAX
#define DIRECT_B_MAX 32768
#endif
#ifndef BROW
#define BROW 1
#endif
#ifndef PACKA_TR
#define PACKA_TR 1
#endif
#ifndef MSPLIT
#define MSPLIT 1
#endif
#ifndef SWAP_KC
#define SWAP_KC 64 /* k blocks this shallow: A's panel stays in L1, C written along its rows (see _block) */
#endif
#ifndef SWAP_NC
#define SWAP_NC 512
#endif
#ifndef PF_PACKB
#define PF_PACKB 4 /* rows ahead while packing B row by row (wide B from memory: +5% at m 16-64) */
#endif
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC 144 /* a multiple of MR: MC x KC floats of A (144 KiB) stay in L2 */
#endif
#ifndef NC
#define NC 3072
#endif
#ifndef NCS
#define NCS 128 /* the columns of B packed at a time when A is one block (KC x NCS floats: 128 KiB, in L2) */
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TG_PACKED_X86 1
#define T_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define T_AVX2 __attribute__((target("avx2,fma")))
#endif
#define T_BASE /* the SSE2 build, for tests only (TG_GEMM_PACKED_FORCE_BASE) */

#define ALIGNED_LOAD(p, V) (*(const V *)(p))

/* Does a micro-panel of B read in place (kc rows of NR floats, row stride ld floats) stay in L1? Modelled as
 * 64 sets of 64-byte lines, 8 ways (Zen 3's 32 KiB; Intel's 48 KiB has 64 sets too): rows whose stride is a
 * multiple of 64 lines fall in one set, a power-of-two stride in a few (n = 128 or 256: 8 or 4 sets, 64 or
 * 32 lines for a 256- or 64-deep panel that needs 256 or 64): those were read from L2 at every micro-panel
 * of A and ran 3-10% slower than a packed B (bench/gemm_packed.c -DGEMM_AB, 64 x 256 @ 256 x 128, 256 x 64
 * @ 64 x 128, 784 x 64 @ 64 x 256 with A transposed). The panel should take at most half of L1's lines. */
static inline bool b_in_l1(int64_t ld, int64_t kc, int nr) {
  int64_t bytes = ld * (int64_t)sizeof(float), lines = kc * ((nr * (int64_t)sizeof(float) + 63) / 64);
  if (bytes % 64) return true; /* rows at shifting offsets within their lines: no aliasing */
  int64_t step = (bytes / 64) % 64, sets = 64;
  if (step == 0) sets = 1;
  else
    while (step % 2 == 0) step /= 2, sets /= 2; /* 64 / gcd(step, 64) sets are touched */
  return lines <= sets * 8 / 2;
}

/* One build of the driver: NAME, the target attribute, the vector type V with VL floats. NR = 2 VL. */
#define GEMM_PACKED(NAME, TGT, V, VL)                                                                          \
  /* nrow (6 or 8) x 8 block transposed (cpu_tr8.h) */                                                      \
  TGT static inline __attribute__((always_inline)) void NAME##_trg(const float *s, int64_t lds, int nrow,      \
                                                                   float *d, int64_t ldd) {                    \
    tg_tr8_f32(s, lds, nrow, d, ldd);                                                                         \
  }                                                                                                           \
  TGT static void NAME##_tr8(const float *s, int64_t lds, float *d, int64_t ldd) { NAME##_trg(s, lds, 8, d, ldd); } \
  /* A[i0 .. i0+mc, p0 .. p0+kc] -> panels of MR rows: ap[panel][p][r], zero rows past mc */                   \
  TGT static void NAME##_pack_a(int64_t mc, int64_t kc, const float *a, int64_t sa0, int64_t sa1, float *ap) { \
    for (int64_t i = 0; i < mc; i += MR, ap += MR * kc) {                                                     \
      int64_t mr = mc - i < MR ? mc - i : MR;                                                                \
      const float *ai = a + i * sa0;                                                                          \
      if (mr == MR && sa0 == 1) { /* 4 + 2 floats per step */                                                  \
        for (int64_t p = 0; p < kc; p++) {                                                                    \
          memcpy(ap + p * MR, ai + p * sa1, 4 * sizeof(float));                                               \
          memcpy(ap + p * MR + 4, ai + p * sa1 + 4, 2 * sizeof(float));                                       \
        }                                                                                                     \
      } else if (mr == MR && sa1 == 1 && PACKA_TR) { /* 6 rows x 8 steps transposed in registers */            \
        int64_t p = 0;                                                                                        \
        for (; p + 8 <= kc; p += 8) NAME##_trg(ai + p, sa0, 6, ap + p * MR, MR);                              \
        for (; p < kc; p++)                                                                                   \
          for (int r = 0; r < MR; r++) ap[p * MR + r] = ai[r * sa0 + p];                                      \
      } else if (mr == MR && sa1 == 1) {                                                                      \
        const float *a0 = ai, *a1 = ai + sa0, *a2 = ai + 2 * sa0, *a3 = ai + 3 * sa0, *a4 = ai + 4 * sa0,       \
                    *a5 = ai + 5 * sa0;                                                                       \
        for (int64_t p = 0; p < kc; p++) {                                                                    \
          float *d = ap + p * MR;                                                                             \
          d[0] = a0[p]; d[1] = a1[p]; d[2] = a2[p]; d[3] = a3[p]; d[4] = a4[p]; d[5] = a5[p];                 \
        }                                                                                                     \
      } else {                                                                                                \
        for (int64_t p = 0; p < kc; p++) {                                                                    \
          int r = 0;                                                                                          \
          for (; r < mr; r++) ap[p * MR + r] = ai[r * sa0 + p * sa1];                                         \
          for (; r < MR; r++) ap[p * MR + r] = 0;                                                             \
        }                                                                                                     \
      }                                                                                                       \
    }                                                                                                         \
  }                                                                                                           \
  /* B[p0 .. p0+kc, j0 .. j0+nc] -> panels of NR columns: bp[panel][p][c], zero columns past nc */              \
  TGT static void NAME##_pack_b(int64_t kc, int64_t nc, const float *b, int64_t sb0, int64_t sb1, float *bp) { \
    enum { NR = 2 * VL };                                                                                     \
    for (int64_t j = 0; j < nc; j += NR, bp += NR * kc) {                                                     \
      int64_t nr = nc - j < NR ? nc - j : NR;                                                                \
      const float *bj = b + j * sb1;                                                                          \
      if (nr == NR && sb1 == 1 && !BROW) {                                                                    \
        for (int64_t p = 0; p < kc; p++) {                                                                    \
          V v0, v1;                                                                                           \
          memcpy(&v0, bj + p * sb0, sizeof v0);                                                               \
          memcpy(&v1, bj + p * sb0 + VL, sizeof v1);                                                          \
          memcpy(bp + p * NR, &v0, sizeof v0);                                                                \
          memcpy(bp + p * NR + VL, &v1, sizeof v1);                                                           \
        }                                                                                                     \
      } else if (nr == NR && sb1 == 1) { /* rows of B read in order: the whole width, row by row */           \
        int64_t full = (nc - j) / NR;                                                                         \
        for (int64_t p = 0; p < kc; p++)                                                                      \
          for (int64_t q = 0; q < full; q++) {                                                                \
            V v0, v1;                                                                                         \
            if (PF_PACKB && p + PF_PACKB < kc) __builtin_prefetch(bj + (p + PF_PACKB) * sb0 + q * NR);        \
            memcpy(&v0, bj + p * sb0 + q * NR, sizeof v0);                                                    \
            memcpy(&v1, bj + p * sb0 + q * NR + VL, sizeof v1);                                               \
            memcpy(bp + q * NR * kc + p * NR, &v0, sizeof v0);                                                \
            memcpy(bp + q * NR * kc + p * NR + VL, &v1, sizeof v1);                                           \
          }                                                                                                   \
        j += (full - 1) * NR; bp += (full - 1) * NR * kc;                                                     \
      } else if (nr == NR && sb0 == 1) {                                                                      \
        /* columns of B contiguous (a transposed view): blocks of 8 k-steps per column */                     \
        int64_t p = 0;                                                                                        \
        for (; p + 8 <= kc; p += 8)                                                                           \
          for (int c = 0; c < NR; c += 8) NAME##_tr8(bj + c * sb1 + p, sb1, bp + p * NR + c, NR);             \
        for (; p < kc; p++)                                                                                   \
          for (int c = 0; c < NR; c++) bp[p * NR + c] = bj[c * sb1 + p];                                      \
      } else {                                                                                                \
        for (int64_t p = 0; p < kc; p++) {                                                                    \
          int c = 0;                                                                                          \
          for (; c < nr; c++) bp[p * NR + c] = bj[p * sb0 + c * sb1];                                         \
          for (; c < NR; c++) bp[p * NR + c] = 0;                                                             \
        }                                                                                                     \
      }                                                                                                       \
    }                                                                                                         \
  }                                                                                                           \
  /* the last panel of A when it has at most 4 rows (m = 64: 10 panels of 6 + 4): 8 accumulators, */        \
  /* a third fewer FMAs than the full kernel on its zero rows */                                              \
  TGT static void NAME##_kernel4(int64_t kc, const float *restrict ap, int64_t lda, const float *restrict bp, int64_t ldb, float *o,      \
                                 int64_t ldo, int64_t mr, int64_t nr, int add) {                              \
    enum { NR = 2 * VL };                                                                                     \
    V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};                 \
    _Pragma("GCC unroll 4")                                                                                   \
    for (int64_t p = 0; p < kc; p++) {                                                                        \
      V b0, b1;                                                                                               \
      memcpy(&b0, bp + p * ldb, sizeof b0);                                                                   \
      memcpy(&b1, bp + p * ldb + VL, sizeof b1);                                                              \
      const float *a = ap + p * lda;                                                                          \
      c00 += a[0] * b0; c01 += a[0] * b1;                                                                     \
      c10 += a[1] * b0; c11 += a[1] * b1;                                                                     \
      c20 += a[2] * b0; c21 += a[2] * b1;                                                                     \
      c30 += a[3] * b0; c31 += a[3] * b1;                                                                     \
    }                                                                                                         \
    float t[4 * NR] __attribute__((aligned(64)));                                                             \
    memcpy(t + 0 * NR, &c00, sizeof c00); memcpy(t + 0 * NR + VL, &c01, sizeof c01);                          \
    memcpy(t + 1 * NR, &c10, sizeof c10); memcpy(t + 1 * NR + VL, &c11, sizeof c11);                          \
    memcpy(t + 2 * NR, &c20, sizeof c20); memcpy(t + 2 * NR + VL, &c21, sizeof c21);                          \
    memcpy(t + 3 * NR, &c30, sizeof c30); memcpy(t + 3 * NR + VL, &c31, sizeof c31);                          \
    for (int64_t r = 0; r < mr; r++)                                                                          \
      for (int64_t c = 0; c < nr; c++) o[r * ldo + c] = add ? o[r * ldo + c] + t[r * NR + c] : t[r * NR + c];  \
  }                                                                                                           \
  /* the MR x NR block of C: o (row stride ldo) = or += ap panel @ bp panel; mr x nr of it are stored */       \
  TGT static void NAME##_kernel(int64_t kc, const float *restrict ap, int64_t lda, const float *restrict bp,    \
                                int64_t ldb, float *o, int64_t ldo, int64_t mr, int64_t nr, int add) {        \
    enum { NR = 2 * VL };                                                                                     \
    V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};                                       \
    V c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};                                       \
    for (int r = 0; r < MR; r++) { __builtin_prefetch(o + r * ldo, 1); __builtin_prefetch(o + r * ldo + NR - 1, 1); } \
    _Pragma("GCC unroll 4")                                                                                  \
    for (int64_t p = 0; p < kc; p++) {                                                                        \
      V b0, b1;                                                                                               \
      memcpy(&b0, bp + p * ldb, sizeof b0);                                                                   \
      memcpy(&b1, bp + p * ldb + VL, sizeof b1);                                                              \
      const float *a = ap + p * lda;                                                                          \
      c00 += a[0] * b0; c01 += a[0] * b1;                                                                     \
      c10 += a[1] * b0; c11 += a[1] * b1;                                                                     \
      c20 += a[2] * b0; c21 += a[2] * b1;                                                                     \
      c30 += a[3] * b0; c31 += a[3] * b1;                                                                     \
      c40 += a[4] * b0; c41 += a[4] * b1;                                                                     \
      c50 += a[5] * b0; c51 += a[5] * b1;                                                                     \
    }                                                                                                         \
    if (mr == MR && nr == NR) {                                                                               \
      V *rows[MR][2] = {{&c00, &c01}, {&c10, &c11}, {&c20, &c21}, {&c30, &c31}, {&c40, &c41}, {&c50, &c51}};  \
      for (int r = 0; r < MR; r++) {                                                                          \
        float *d = o + r * ldo;                                                                               \
        V v0 = *rows[r][0], v1 = *rows[r][1];                                                                 \
        if (add) {                                                                                            \
          V o0, o1;                                                                                           \
          memcpy(&o0, d, sizeof o0);                                                                          \
          memcpy(&o1, d + VL, sizeof o1);                                                                     \
          v0 += o0; v1 += o1;                                                                                 \
        }                                                                                                     \
        memcpy(d, &v0, sizeof v0);                                                                            \
        memcpy(d + VL, &v1, sizeof v1);                                                                       \
      }                                                                                                       \
      return;                                                                                                 \
    }                                                                                                         \
    float t[MR * NR] __attribute__((aligned(64)));                                                            \
    memcpy(t + 0 * NR, &c00, sizeof c00); memcpy(t + 0 * NR + VL, &c01, sizeof c01);                          \
    memcpy(t + 1 * NR, &c10, sizeof c10); memcpy(t + 1 * NR + VL, &c11, sizeof c11);                          \
    memcpy(t + 2 * NR, &c20, sizeof c20); memcpy(t + 2 * NR + VL, &c21, sizeof c21);                          \
    memcpy(t + 3 * NR, &c30, sizeof c30); memcpy(t + 3 * NR + VL, &c31, sizeof c31);                          \
    memcpy(t + 4 * NR, &c40, sizeof c40); memcpy(t + 4 * NR + VL, &c41, sizeof c41);                          \
    memcpy(t + 5 * NR, &c50, sizeof c50); memcpy(t + 5 * NR + VL, &c51, sizeof c51);                          \
    for (int64_t r = 0; r < mr; r++)                                                                          \
      for (int64_t c = 0; c < nr; c++) o[r * ldo + c] = add ? o[r * ldo + c] + t[r * NR + c] : t[r * NR + c];  \
  }                                                                                                           \
  /* the tile (ir, jr) of the block below */                                                                 \
  TGT static inline __attribute__((always_inline)) void NAME##_tile(int64_t ir, int64_t jr, int64_t mc,        \
      int64_t nc, int64_t kc, const float *ap, const float *ablk, int64_t sa1, bool adirect, const float *bp,   \
      const float *bblk, int64_t sb0, bool bdirect, float *o, int64_t ldo, int add) {                         \
    enum { NR = 2 * VL };                                                                                     \
    const float *bpan = bp + jr * kc, *apan = ap + ir * kc;                                                   \
    int64_t ldb = NR, lda = MR;                                                                               \
    if (bdirect) {                                                                                            \
      if (jr < nc / NR * NR) bpan = bblk + jr, ldb = sb0;                                                     \
      else bpan = bp;                                                                                         \
    }                                                                                                         \
    if (adirect) {                                                                                            \
      if (ir < mc / MR * MR) apan = ablk + ir, lda = sa1;                                                     \
      else apan = ap;                                                                                         \
    }                                                                                                         \
    (mc - ir <= 4 ? NAME##_kernel4 : NAME##_kernel)(kc, apan, lda, bpan, ldb, o + ir * ldo + jr, ldo,         \
                                                    mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR, add); \
  }                                                                                                           \
  /* the block C[mc x nc] (+)= A block (packed ap, or in place ablk) @ B block (packed bp, or in place)     \
   * by micro-panels: B's panel of NR columns stays in L1 while the panels of A stream from L2; with a     \
   * shallow k block (kc <= SWAP_KC) A's panel stays instead and C is written along its rows */             \
  TGT static inline __attribute__((always_inline)) void NAME##_block(int64_t mc, int64_t nc, int64_t kc,        \
      const float *ap, const float *ablk, int64_t sa1, bool adirect, const float *bp, const float *bblk,        \
      int64_t sb0, bool bdirect, float *o, int64_t ldo, int add) {                                            \
    enum { NR = 2 * VL };                                                                                     \
    if (SWAP_KC && kc <= SWAP_KC) {                                                                           \
      for (int64_t j0 = 0; j0 < nc; j0 += SWAP_NC) /* SWAP_NC columns of B at a time: they stay in L2 */     \
        for (int64_t ir = 0; ir < mc; ir += MR)                                                               \
          for (int64_t jr = j0; jr < nc && jr < j0 + SWAP_NC; jr += NR)                                       \
            NAME##_tile(ir, jr, mc, nc, kc, ap, ablk, sa1, adirect, bp, bblk, sb0, bdirect, o, ldo, add);     \
      return;                                                                                                 \
    }                                                                                                         \
    for (int64_t jr = 0; jr < nc; jr += NR)                                                                   \
      for (int64_t ir = 0; ir < mc; ir += MR)                                                                 \
        NAME##_tile(ir, jr, mc, nc, kc, ap, ablk, sa1, adirect, bp, bblk, sb0, bdirect, o, ldo, add);         \
  }                                                                                                           \
  /* B[kc x nc] at b: packed into bp, or read in place (rows contiguous and small: it stays in L2) with only */ \
  /* a partial last panel packed; A[mc x kc] at a: packed into ap, or in place (DIRECT_A) but a partial panel */ \
  TGT static inline __attribute__((always_inline)) void NAME##_prep_b(int64_t kc, int64_t nc, const float *b,  \
      int64_t sb0, int64_t sb1, bool bdirect, float *bp) {                                                    \
    enum { NR = 2 * VL };                                                                                     \
    int64_t nfull = nc / NR * NR;                                                                             \
    if (!bdirect) NAME##_pack_b(kc, nc, b, sb0, sb1, bp);                                                     \
    else if (nfull < nc) NAME##_pack_b(kc, nc - nfull, b + nfull * sb1, sb0, sb1, bp);                        \
  }                                                                                                           \
  TGT static inline __attribute__((always_inline)) void NAME##_prep_a(int64_t mc, int64_t kc, const float *a,  \
      int64_t sa0, int64_t sa1, bool adirect, float *ap) {                                                    \
    int64_t mfull = mc / MR * MR;                                                                             \
    if (!adirect) NAME##_pack_a(mc, kc, a, sa0, sa1, ap);                                                     \
    else if (mfull < mc) NAME##_pack_a(mc - mfull, kc, a + mfull * sa0, sa0, sa1, ap);                        \
  }                                                                                                           \
  /* C (+)= A @ B (acc: add to C). k in blocks of equal depth (a multiple of 8, at most KC: no thin block whose \
   * calls cost more); the first block stores C, the next ones add. m <= MC (one block of A): A is packed    \
   * once per k block and B in chunks of NCS columns that stay in L2 (a wide B packed NC at a time went to L3 \
   * and back: 0.5-0.8x OpenBLAS at m 16-64, n 3000-12000); else the BLIS order: B's NC x KC block packed    \
   * (L3), A's MC x KC blocks packed under it (L2). */                                                        \
  TGT static void NAME(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1,            \
                       const float *b, int64_t sb0, int64_t sb1, float *o, int64_t ldo, float *ap, float *bp,   \
                       bool acc) {                                                                            \
    int64_t kb = (k + KC - 1) / KC, kstep = ((k + kb - 1) / kb + 7) / 8 * 8;                                   \
    if (kstep > KC) kstep = KC;                                                                               \
    bool bdirect = sb1 == 1 && k * n <= DIRECT_B_MAX && b_in_l1(sb0, kstep, 2 * VL),                           \
         adirect = DIRECT_A && sa0 == 1;                                                                      \
    if (m <= MC) {                                                                                            \
      for (int64_t pc = 0; pc < k; pc += kstep) {                                                             \
        int64_t kc = k - pc < kstep ? k - pc : kstep;                                                         \
        const float *ablk = a + pc * sa1;                                                                     \
        NAME##_prep_a(m, kc, ablk, sa0, sa1, adirect, ap);                                                    \
        for (int64_t jc = 0; jc < n; jc += NCS) {                                                             \
          int64_t nc = n - jc < NCS ? n - jc : NCS;                                                           \
          const float *bblk = b + pc * sb0 + jc * sb1;                                                        \
          NAME##_prep_b(kc, nc, bblk, sb0, sb1, bdirect, bp);                                                 \
          NAME##_block(m, nc, kc, ap, ablk, sa1, adirect, bp, bblk, sb0, bdirect, o + jc, ldo, pc > 0 || acc); \
        }                                                                                                     \
      }                                                                                                       \
      return;                                                                                                 \
    }                                                                                                         \
    /* m in blocks of equal height too (a multiple of MR): no thin last block that streams B for a few rows */ \
    int64_t mb = (m + MC - 1) / MC, mstep = MSPLIT ? ((m + mb - 1) / mb + MR - 1) / MR * MR : MC;            \
    if (mstep > MC) mstep = MC;                                                                               \
    for (int64_t jc = 0; jc < n; jc += NC) {                                                                  \
      int64_t nc = n - jc < NC ? n - jc : NC;                                                                 \
      for (int64_t pc = 0; pc < k; pc += kstep) {                                                             \
        int64_t kc = k - pc < kstep ? k - pc : kstep;                                                         \
        const float *bblk = b + pc * sb0 + jc * sb1;                                                          \
        NAME##_prep_b(kc, nc, bblk, sb0, sb1, bdirect, bp);                                                   \
        for (int64_t ic = 0; ic < m; ic += mstep) {                                                           \
          int64_t mc = m - ic < mstep ? m - ic : mstep;                                                       \
          const float *ablk = a + ic * sa0 + pc * sa1;                                                        \
          NAME##_prep_a(mc, kc, ablk, sa0, sa1, adirect, ap);                                                 \
          NAME##_block(mc, nc, kc, ap, ablk, sa1, adirect, bp, bblk, sb0, bdirect, o + ic * ldo + jc, ldo,    \
                       pc > 0 || acc);                                                                        \
        }                                                                                                     \
      }                                                                                                       \
    }                                                                                                         \
  }

#ifdef TG_PACKED_X86
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
GEMM_PACKED(gemm_avx512, T_AVX512, v16f, 16)
GEMM_PACKED(gemm_avx2, T_AVX2, v8f, 8)
#endif
#if defined(TG_GEMM_PACKED_FORCE_EMU16)
GEMM_PACKED(gemm_emu16, T_AVX2, v16f, 16)
#endif
#if defined(TG_GEMM_PACKED_FORCE_BASE)
typedef float v4f __attribute__((vector_size(16)));
GEMM_PACKED(gemm_base, T_BASE, v4f, 4)
#endif

static bool packed_run(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                       int64_t sb0, int64_t sb1, float *o, int64_t ldo, bool acc);

/* a narrow C (n < 16, fewer columns than the 16-wide tile): C^T = B^T @ A^T into a scratch of n x m, added or
 * copied into C (l3 of the MLP, 64 x 128 @ 128 x 10: 40-50 GF/s this way, 26 straight, 37-41 OpenBLAS) */
static bool packed_narrow(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                          int64_t sb0, int64_t sb1, float *o, int64_t ldo, bool acc) {
  float *t = malloc((size_t)(m * n) * sizeof *t);
  if (!t) return false;
  bool ok = packed_run(n, m, k, b, sb1, sb0, a, sa1, sa0, t, m, false);
  if (ok)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) o[i * ldo + j] = acc ? o[i * ldo + j] + t[j * m + i] : t[j * m + i];
  free(t);
  return ok;
}

static bool packed_run(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                       int64_t sb0, int64_t sb1, float *o, int64_t ldo, bool acc) {
  if (m <= 0 || n <= 0 || (k <= 0 && acc)) return true;
  if (n < 16 && m > n && k > 0) return packed_narrow(m, n, k, a, sa0, sa1, b, sb0, sb1, o, ldo, acc);
  if (k <= 0) {
    for (int64_t i = 0; i < m; i++) memset(o + i * ldo, 0, (size_t)n * sizeof *o);
    return true;
  }
  /* the CPU's vector unit: without AVX2 + FMA (or off x86-64 / GCC) the BLAS's own kernels are faster than
   * this one in SSE2 (~27 GF/s on the Zen 3, a third of OpenBLAS): false, the caller uses the BLAS */
#if defined(TG_GEMM_PACKED_FORCE_BASE) || defined(TG_GEMM_PACKED_FORCE_EMU16)
#elif defined(TG_PACKED_X86)
  __builtin_cpu_init();
  int isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")
                ? 2
            : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1
                                                                              : 0;
  if (!isa) return false;
#else
  return false;
#endif
  enum { NRMAX = 32 };
  int64_t kc = k < KC ? k : KC, mc = m < MC ? m : MC, nc = n < NC ? n : NC;
  /* one allocation, 64-byte aligned panels (the kernel's vector loads of B) */
  size_t na = (size_t)((mc + MR - 1) / MR * MR * kc), nb = (size_t)((nc + NRMAX - 1) / NRMAX * NRMAX * kc);
  na = (na + 16 + 15) & ~(size_t)15; /* + 2 floats that pack_a's transposed stores spill past its last panel */
  float *buf = aligned_alloc(64, (na + nb) * sizeof(float));
  if (!buf) return false;
  float *ap = buf, *bp = buf + na;
#if defined(TG_GEMM_PACKED_FORCE_BASE) /* tests: the SSE2 build on any CPU */
  gemm_base(m, n, k, a, sa0, sa1, b, sb0, sb1, o, ldo, ap, bp, acc);
#elif defined(TG_GEMM_PACKED_FORCE_EMU16) /* tests: the AVX-512 build's 6 x 32 blocking, in AVX2 instructions */
  gemm_emu16(m, n, k, a, sa0, sa1, b, sb0, sb1, o, ldo, ap, bp, acc);
#elif defined(TG_PACKED_X86)
  if (isa == 2)
    gemm_avx512(m, n, k, a, sa0, sa1, b, sb0, sb1, o, ldo, ap, bp, acc);
  else
    gemm_avx2(m, n, k, a, sa0, sa1, b, sb0, sb1, o, ldo, ap, bp, acc);
#endif
  free(buf);
  return true;
}

bool tg_gemm_packed_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                        int64_t sb0, int64_t sb1, float *o, int64_t ldo) {
  return packed_run(m, n, k, a, sa0, sa1, b, sb0, sb1, o, ldo, false);
}

bool tg_gemm_packed_f32_acc(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                            int64_t sb0, int64_t sb1, float *o, int64_t ldo) {
  return packed_run(m, n, k, a, sa0, sa1, b, sb0, sb1, o, ldo, true);
}

/* cpu_rows.h (helper rows, issue 11): the clones of the row kernels
 * (cpu_softmax.c, cpu_loss_fast.c). x86-64-v3 rather than plain "avx2" as the
 * middle clone: it adds FMA (every AVX2 machine has it), which the polynomial
 * exp and log of cpu_vmath.h use on every step. */
#ifndef TG_CPU_ROWS_H
#define TG_CPU_ROWS_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ROWS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ROWS_CLONES
#endif

#endif

// Macros and helpers shared by the kernels of this target (not part of its public header).
#ifndef CNNUNETKERNELS_VECTOR_H
#define CNNUNETKERNELS_VECTOR_H

#include <stddef.h>

// Clones for AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3) and the baseline, chosen by the dynamic loader (an ELF
// ifunc); elsewhere (Mach-O, other architectures) one version for the compiler's target.
#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__)
#define NNUNET_CLONES __attribute__((target_clones("arch=x86-64-v4,arch=x86-64-v3,default")))
#else
#define NNUNET_CLONES
#endif

// The rows are short (a few to a few dozen tiles): masked vector tails instead of scalar remainder loops.
#if defined(__clang__)
#define NNUNET_PREDICATED _Pragma("clang loop vectorize_predicate(enable)")
#else
#define NNUNET_PREDICATED
#endif

// The rows are a few dozen floats: a call to memcpy (and its size dispatch) costs more than the copy, so the kernels
// copy with inline vector loops, which the attribute keeps the compiler from turning back into calls (on the helpers
// themselves: they are optimised before they are inlined).
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(no_builtin)
#define NNUNET_INLINE_COPIES __attribute__((no_builtin("memcpy", "memset")))
#endif
#endif
#ifndef NNUNET_INLINE_COPIES
#define NNUNET_INLINE_COPIES
#endif

// to[i] = from[i] for i < n.
NNUNET_INLINE_COPIES static inline void copy_floats(float *restrict to, const float *restrict from, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) to[i] = from[i];
}

// to[i] = 0 for i < n.
NNUNET_INLINE_COPIES static inline void zero_floats(float *restrict to, ptrdiff_t n) {
    NNUNET_PREDICATED
    for (ptrdiff_t i = 0; i < n; i++) to[i] = 0;
}

// Products and sums stay separate roundings (no fused multiply-add), as in the Swift code these kernels replace and
// in every clone alike: the AVX2 and AVX-512 clones give the baseline's bits.
#if defined(__clang__)
#define NNUNET_NO_CONTRACTION _Pragma("clang fp contract(off)")
#else
#define NNUNET_NO_CONTRACTION _Pragma("STDC FP_CONTRACT OFF")
#endif

#endif

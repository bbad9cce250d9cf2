/* The one CPU feature check: every dispatch (kernel tables, gallery scan,
 * kernel harness) asks here. libc only. */
#include "fv-cpu.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* CPUID.1:ECX bit 29 (compilers' __builtin_cpu_supports does not know
 * "f16c" everywhere). */
static int
fv_cpu_has_f16c (void)
{
  unsigned int a, b, c, d;

  return __get_cpuid (1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

int
fv_cpu_has_isa (FvIsa isa)
{
  switch (isa) {
    case FV_ISA_SCALAR:
      return 1;
#if defined(__x86_64__)
    case FV_ISA_AVX2:
      __builtin_cpu_init ();
      /* F16C: the gallery's half-float scan (every AVX2 CPU has it). */
      return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")
          && fv_cpu_has_f16c ();
    case FV_ISA_AVX512:
      /* Everything the AVX-512 kernels are built with (-mavx512f/vl/dq/bw). */
      __builtin_cpu_init ();
      return __builtin_cpu_supports ("avx512f")
          && __builtin_cpu_supports ("avx512vl")
          && __builtin_cpu_supports ("avx512dq")
          && __builtin_cpu_supports ("avx512bw")
          && __builtin_cpu_supports ("fma");
#endif
#if defined(__aarch64__)
    case FV_ISA_NEON:
      /* Advanced SIMD is part of the AArch64 base ISA. */
      return 1;
#endif
    default:
      return 0;
  }
}

void
fv_cpu_set_ftz (void)
{
#if defined(__x86_64__)
  _mm_setcsr (_mm_getcsr () | 0x8040);
#elif defined(__aarch64__)
  unsigned long long fpcr;
  __asm__ __volatile__ ("mrs %0, fpcr":"=r" (fpcr));
  fpcr |= (1 << 24);
  __asm__ __volatile__ ("msr fpcr, %0"::"r" (fpcr));
#endif
}

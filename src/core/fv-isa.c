/* Instruction-set levels: names, what this build and CPU support (the
 * hardware check is fv-cpu.c's), and the FV_CPU_MASK switch. */
#include "fv-core.h"
#include "fv-cpu.h"

static const char *const isa_names[FV_ISA_COUNT] = {
  "scalar", "avx2", "avx512", "neon"
};

/**
 * fv_isa_name:
 * @isa: an #FvIsa
 *
 * Returns: (transfer none): the short name of @isa ("scalar", "avx2",
 *   "avx512", "neon")
 */
const char *
fv_isa_name (FvIsa isa)
{
  g_return_val_if_fail (isa < FV_ISA_COUNT, "invalid");
  return isa_names[isa];
}

/**
 * fv_isa_supported:
 * @isa: an #FvIsa
 *
 * Whether this CPU (and this build) can run the kernels of @isa, without
 * regard to `FV_CPU_MASK`.
 *
 * Returns: %TRUE if supported
 */
gboolean
fv_isa_supported (FvIsa isa)
{
  switch (isa) {
    case FV_ISA_SCALAR:
      return TRUE;
#ifdef FV_HAVE_AVX2
    case FV_ISA_AVX2:
#endif
#ifdef FV_HAVE_AVX512
    case FV_ISA_AVX512:
#endif
#ifdef FV_HAVE_NEON
    case FV_ISA_NEON:
#endif
      return fv_cpu_has_isa (isa);
    default:
      return FALSE;
  }
}

/* FV_CPU_MASK is either the name of the highest level to allow
 * ("scalar", "avx2", ...) or a comma list of levels to switch off, each
 * prefixed with '-' ("-avx512,-avx2"). */
gboolean
fv_isa_allowed (FvIsa isa)
{
  const char *mask = g_getenv ("FV_CPU_MASK");
  g_auto (GStrv) parts = NULL;
  guint i;

  if (mask == NULL || *mask == '\0' || isa == FV_ISA_SCALAR)
    return TRUE;
  parts = g_strsplit (mask, ",", -1);
  for (i = 0; parts[i]; i++) {
    const char *p = g_strstrip (parts[i]);
    if (p[0] == '-') {
      if (g_ascii_strcasecmp (p + 1, isa_names[isa]) == 0)
        return FALSE;
    } else {
      guint j;
      for (j = 0; j < FV_ISA_COUNT; j++)
        if (g_ascii_strcasecmp (p, isa_names[j]) == 0)
          break;
      /* On x86 the levels are ordered; NEON stands alone. */
      if (j < FV_ISA_COUNT && (FvIsa) j != isa
          && !(j == FV_ISA_AVX512 && isa == FV_ISA_AVX2))
        return FALSE;
    }
  }
  return TRUE;
}

FvIsa
fv_isa_select (void)
{
  static const FvIsa best_first[] = {
    FV_ISA_AVX512, FV_ISA_AVX2, FV_ISA_NEON, FV_ISA_SCALAR
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (best_first); i++)
    if (fv_isa_supported (best_first[i]) && fv_isa_allowed (best_first[i]))
      return best_first[i];
  return FV_ISA_SCALAR;
}

/**
 * fv_isa_best:
 *
 * The kernel level a new #FvModel will use: the best one that the CPU
 * supports and `FV_CPU_MASK` allows.
 *
 * Returns: an #FvIsa
 */
FvIsa
fv_isa_best (void)
{
  return fv_isa_select ();
}

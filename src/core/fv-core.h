/* Internal helpers shared by the library: errors, CPU features, memory. */
#ifndef FV_CORE_H
#define FV_CORE_H

#include "fv-prelude.h"
#include "fv-cpu.h"
#include "fv-utils.h"

G_BEGIN_DECLS

/* Activations and packed weights are aligned to this many bytes, enough
 * for aligned AVX-512 loads and a full cache line. */
#define FV_ALIGN 64

static inline gsize
fv_round_up (gsize x, gsize m)
{
  return (x + m - 1) / m * m;
}

float *fv_alloc_floats (gsize n);
void fv_free_floats (float *p);

/* The highest level allowed by the CPU and by FV_CPU_MASK. */
FvIsa fv_isa_select (void);
gboolean fv_isa_allowed (FvIsa isa);

/* Sets flush-to-zero / denormals-are-zero on the calling thread for the
 * duration of a run; fv_fp_mode_leave() restores what was there. */
guint64 fv_fp_mode_enter (void);
void fv_fp_mode_leave (guint64 saved);

G_END_DECLS

#endif /* FV_CORE_H */

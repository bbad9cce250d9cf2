/* gst-faceverify: face verification on the CPU
 *
 * fv-cpu.h: the one CPU feature check. Needs only libc, so that the
 * kernel harness uses it too (also when cross-built for tests/arm/run.sh).
 */
#ifndef FV_CPU_H
#define FV_CPU_H

#include "fv-prelude.h"

FV_BEGIN_DECLS

/* Whether this CPU has every feature that the kernels of @isa are built
 * with (whatever this build contains and FV_CPU_MASK says). */
int fv_cpu_has_isa (FvIsa isa);

/* Sets flush-to-zero / denormals-are-zero for the calling thread. */
void fv_cpu_set_ftz (void);

FV_END_DECLS

#endif /* FV_CPU_H */

/* gst-faceverify: face verification on the CPU
 *
 * fv-xnnpack-bench.h: the same network run by XNNPACK, for bench-xnnpack
 * (tests/bench/, meson option `xnnpack`).
 */
#ifndef FV_XNNPACK_BENCH_H
#define FV_XNNPACK_BENCH_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FvXnnBench FvXnnBench;

/* Builds the model in @path (after our PReLU and residual recognition, so
 * that XNNPACK gets its own PRELU and ADD nodes rather than five
 * elementwise ops per PReLU) as an XNNPACK subgraph for @batch images of
 * the file's input size, run on @threads threads. */
FvXnnBench *fv_xnn_bench_new (const char *path, guint batch, guint threads,
    GError ** error);
void fv_xnn_bench_free (FvXnnBench * bench);

/* The input (batch NHWC images) and output (batch x *dim values). */
float *fv_xnn_bench_get_input (FvXnnBench * bench);
const float *fv_xnn_bench_get_output (FvXnnBench * bench, guint * dim);
void fv_xnn_bench_run (FvXnnBench * bench);

/* Per-layer timing: layer @index (a fused layer: convolution with its
 * PReLU and residual ADD nodes) built alone as its own runtime and run
 * @runs times. Returns the median nanoseconds per run, or -1 on error. */
guint fv_xnn_bench_get_n_layers (FvXnnBench * bench);
double fv_xnn_bench_time_layer (FvXnnBench * bench, guint index, guint runs,
    const char **name, const char **family, guint64 * macs);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvXnnBench, fv_xnn_bench_free)

G_END_DECLS

#endif /* FV_XNNPACK_BENCH_H */

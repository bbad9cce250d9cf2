/* gst-faceverify: the cost of the flip test-time augmentation
 *
 * bench-flip: times one embedding (FvEmbedder, one thread) with
 * fv_embedder_set_flip() off and on, interleaved, and prints the medians
 * of the thread's CPU time (not wall time: the machine may be shared) and
 * their ratio. A benchmark, not a test: `meson test --benchmark flip`.
 */
#include <fv.h>

#include <stdio.h>
#include <stdlib.h>

#include "fv-bench-util.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) embedder = NULL;
  g_autofree char *model = NULL;
  g_autofree guint8 *crop = NULL;
  g_autofree float *emb = NULL;
  g_autofree double *ms[2] = { NULL, NULL };
  guint runs = argc > 1 ? (guint) atoi (argv[1]) : 200, i, f, n = 0;
  const gsize bytes = FV_EMBED_SIZE * FV_EMBED_SIZE * 3;
  guint32 x = 2463534242u;

  if (runs < 1)
    runs = 1;
  model = fv_find_model ("MobileFaceNet.tflite");
  if (!model) {
    fprintf (stderr, "bench-flip: MobileFaceNet.tflite not found "
        "(models/fetch.sh, or FV_MODEL_DIR)\n");
    return 77;
  }
  embedder = fv_embedder_new (model, &error);
  if (!embedder) {
    fprintf (stderr, "bench-flip: %s\n", error->message);
    return 1;
  }
  /* a deterministic synthetic face: the time does not depend on pixels */
  crop = g_malloc (bytes);
  for (i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    crop[i] = (guint8) (x % 256);
  }
  emb = g_new (float, fv_embedder_get_dim (embedder));
  for (f = 0; f < 2; f++)
    ms[f] = g_new (double, runs);

  for (i = 0; i < 20; i++)
    fv_embedder_embed (embedder, crop, FV_EMBED_SIZE * 3, emb);
  for (i = 0; i < runs; i++) {
    for (f = 0; f < 2; f++) {
      guint64 t0;

      fv_embedder_set_flip (embedder, f);
      t0 = fv_bench_thread_cpu_ns ();
      fv_embedder_embed (embedder, crop, FV_EMBED_SIZE * 3, emb);
      ms[f][n] = (fv_bench_thread_cpu_ns () - t0) / 1e6;
    }
    n++;
  }
  {
    FvBenchStats plain = fv_bench_stats (ms[0], n);
    FvBenchStats flip = fv_bench_stats (ms[1], n);

    printf ("kernels: %s\n", fv_model_describe_kernels
        (fv_embedder_get_model (embedder)));
    printf ("%u interleaved runs, thread CPU time per embedding:\n", n);
    printf ("  flip off: median %.3f ms (min %.3f, max %.3f)\n", plain.median,
        plain.min, plain.max);
    printf ("  flip on:  median %.3f ms (min %.3f, max %.3f)\n", flip.median,
        flip.min, flip.max);
    printf ("bench: flip_off_ms=%.3f flip_on_ms=%.3f ratio=%.2f\n",
        plain.median, flip.median, flip.median / plain.median);
  }
  return 0;
}

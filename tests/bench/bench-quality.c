/* gst-faceverify: what the face quality score costs per face
 *
 * bench-quality: the median thread CPU time of fv_face_quality() on one
 * 112x112 crop, and of the MobileFaceNet embedding of the same crop (the
 * work faceverify does per face anyway), and their ratio. Prints; asserts
 * nothing.
 */
#include <fv.h>

#include <stdio.h>

#include "fv-bench-util.h"

#define ROUNDS 9
#define QUALITY_CALLS 2000
#define EMBED_CALLS 10

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *model = fv_find_model ("MobileFaceNet.tflite");
  g_autoptr (FvEmbedder) embedder = NULL;
  static guint8 crop[FV_EMBED_SIZE * FV_EMBED_SIZE * 3];
  const float *lm = fv_arcface_template ();
  double q_us[ROUNDS], e_us[ROUNDS];
  float emb[512], sink = 0.0f;
  FvBenchStats q, e;
  guint32 seed = 1;
  guint r, i;

  /* a deterministic textured crop: every measure is computed in full */
  for (i = 0; i < sizeof (crop); i++) {
    seed = seed * 1664525u + 1013904223u;
    crop[i] = (guint8) (64 + (seed >> 25));
  }
  for (r = 0; r < ROUNDS; r++) {
    guint64 t0 = fv_bench_thread_cpu_ns ();

    for (i = 0; i < QUALITY_CALLS; i++)
      sink += fv_face_quality (crop, FV_EMBED_SIZE * 3, 100.0f + (i & 1),
          80.0f, 260.0f, 240.0f, lm, 640, 480, NULL);
    q_us[r] = (fv_bench_thread_cpu_ns () - t0) / 1e3 / QUALITY_CALLS;
  }
  q = fv_bench_stats (q_us, ROUNDS);
  printf ("fv_face_quality: median %.2f us per face (min %.2f, max %.2f; "
      "thread CPU time, %d rounds of %d)\n", q.median, q.min, q.max, ROUNDS,
      QUALITY_CALLS);

  if (!model || !(embedder = fv_embedder_new (model, &error))) {
    printf ("embedding: skipped (%s)\n", error ? error->message :
        "MobileFaceNet.tflite not found; set FV_MODEL_DIR");
    return 0;
  }
  g_return_val_if_fail (fv_embedder_get_dim (embedder) <= G_N_ELEMENTS (emb),
      1);
  fv_embedder_embed (embedder, crop, FV_EMBED_SIZE * 3, emb);
  for (r = 0; r < ROUNDS; r++) {
    guint64 t0 = fv_bench_thread_cpu_ns ();

    for (i = 0; i < EMBED_CALLS; i++)
      fv_embedder_embed (embedder, crop, FV_EMBED_SIZE * 3, emb);
    e_us[r] = (fv_bench_thread_cpu_ns () - t0) / 1e3 / EMBED_CALLS;
  }
  e = fv_bench_stats (e_us, ROUNDS);
  printf ("embedding (%s): median %.0f us per face\n",
      fv_model_describe_kernels (fv_embedder_get_model (embedder)), e.median);
  printf ("quality / embedding: %.4f (%.2f%%)\n", q.median / e.median,
      100.0 * q.median / e.median);
  return sink < 0.0f;
}

/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-bench.c: `faceverify bench`, the speed of the embedding network:
 * warm-up, then many timed runs; medians, the kernels that ran, optionally
 * a per-layer profile and XNNPACK timed in the same process, interleaved.
 */
#include "fv-tool.h"

#include <fv.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef FV_HAVE_XNNPACK
#include "fv-xnnpack-bench.h"
#endif

#define COMMAND "bench"
#define DEFAULT_MODEL "MobileFaceNet.tflite"

static guint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef struct
{
  double median, min, max;
} Stats;

static Stats
stats (const double *v, guint n)
{
  g_autofree double *s = g_memdup2 (v, n * sizeof (double));
  Stats st;

  qsort (s, n, sizeof (double), cmp_double);
  st.min = s[0];
  st.max = s[n - 1];
  st.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return st;
}

/* A deterministic input in the model's range, (p - 127.5) / 128. */
static void
fill_input (float *in, gsize n)
{
  guint32 x = 2463534242u;
  gsize i;

  for (i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    in[i] = ((float) (x % 256) - 127.5f) / 128.0f;
  }
}

/* The FMA peak of one core, measured: independent multiply-add chains
 * on the vector width of the kernels in use, best of a few short runs.
 * Only for the x86 levels; 0 when unknown. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define PEAK_ITERS 2000000

__attribute__ ((target ("avx512f"))) static double
peak_avx512 (void)
{
  __m512 a[16], x = _mm512_set1_ps (0.999999f), y = _mm512_set1_ps (1e-7f);
  float sink[16];
  guint64 t0;
  guint i, j;

  for (j = 0; j < 16; j++)
    a[j] = _mm512_set1_ps ((float) j);
  t0 = now_ns ();
  for (i = 0; i < PEAK_ITERS; i++)
#pragma GCC unroll 16
    for (j = 0; j < 16; j++)
      a[j] = _mm512_fmadd_ps (a[j], x, y);
  t0 = now_ns () - t0;
  for (j = 1; j < 16; j++)
    a[0] = _mm512_add_ps (a[0], a[j]);
  _mm512_storeu_ps (sink, a[0]);
  return sink[0] == 12345.0f ? 0 : 2.0 * 16 * 16 * PEAK_ITERS / (double) t0;
}

__attribute__ ((target ("avx2,fma"))) static double
peak_avx2 (void)
{
  __m256 a[12], x = _mm256_set1_ps (0.999999f), y = _mm256_set1_ps (1e-7f);
  float sink[8];
  guint64 t0;
  guint i, j;

  for (j = 0; j < 12; j++)
    a[j] = _mm256_set1_ps ((float) j);
  t0 = now_ns ();
  for (i = 0; i < PEAK_ITERS; i++)
#pragma GCC unroll 12
    for (j = 0; j < 12; j++)
      a[j] = _mm256_fmadd_ps (a[j], x, y);
  t0 = now_ns () - t0;
  for (j = 1; j < 12; j++)
    a[0] = _mm256_add_ps (a[0], a[j]);
  _mm256_storeu_ps (sink, a[0]);
  return sink[0] == 12345.0f ? 0 : 2.0 * 8 * 12 * PEAK_ITERS / (double) t0;
}
#endif

static double
fma_peak_gflops (FvIsa isa)
{
  double best = 0;
  guint i;

  for (i = 0; i < 3; i++) {
    double g = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (isa == FV_ISA_AVX512)
      g = peak_avx512 ();
    else if (isa == FV_ISA_AVX2)
      g = peak_avx2 ();
#else
    (void) isa;
#endif
    best = MAX (best, g);
  }
  return best;
}

typedef struct
{
  const char *family;
  double ns;                    /* per image */
  guint64 macs;
  double xnn_ns;
  guint n;
} FamilyRow;

static FamilyRow *
family_row (GArray * rows, const char *family)
{
  guint i;
  FamilyRow r = { family, 0, 0, 0, 0 };

  for (i = 0; i < rows->len; i++)
    if (strcmp (g_array_index (rows, FamilyRow, i).family, family) == 0)
      return &g_array_index (rows, FamilyRow, i);
  g_array_append_val (rows, r);
  return &g_array_index (rows, FamilyRow, rows->len - 1);
}

static double
gflops (guint64 macs, double ns)
{
  return ns > 0 ? 2.0 * (double) macs / ns : 0.0;
}

/* Runs the session @runs more times with the step timers on and prints
 * the time per layer and per family (and XNNPACK's, layer by layer). */
static void
print_profile (FvSession * session, guint batch, guint runs, gpointer xnn,
    const float *input, gsize in_elems)
{
  const guint n_steps = fv_session_get_n_steps (session);
  g_autoptr (GArray) families = g_array_new (FALSE, FALSE,
      sizeof (FamilyRow));
  g_autofree double *xnn_ns = g_new0 (double, n_steps);
  double total = 0, xnn_total = 0;
  guint64 total_macs = 0;
  guint i;

  fv_session_set_profiling (session, TRUE);
  for (i = 0; i < runs; i++) {
    memcpy (fv_session_get_input (session, 0), input,
        (gsize) in_elems * sizeof (float));
    fv_session_run (session, batch);
  }

#ifdef FV_HAVE_XNNPACK
  if (xnn) {
    guint n = fv_xnn_bench_get_n_layers (xnn), j;
    for (j = 0; j < n; j++) {
      const char *name, *family;
      guint64 macs;
      double t = fv_xnn_bench_time_layer (xnn, j, runs, &name, &family,
          &macs);
      for (i = 0; i < n_steps; i++) {
        FvStepProfile p;
        fv_session_get_step_profile (session, i, &p);
        if (strcmp (p.name, name) == 0)
          xnn_ns[i] = t / batch;
      }
    }
  }
#else
  (void) xnn;
#endif

  printf ("\nprofile: %u runs of %u image(s); time per image\n", runs, batch);
  printf ("%3s  %-44s %-10s %9s %9s %7s", "#", "layer", "family", "MMAC",
      "us", "GFLOP/s");
  if (xnn)
    printf (" %9s %7s", "xnn_us", "ratio");
  printf ("\n");
  for (i = 0; i < n_steps; i++) {
    FvStepProfile p;
    FamilyRow *f;
    double ns;
    const char *name;

    fv_session_get_step_profile (session, i, &p);
    ns = p.images ? (double) p.ns / (double) p.images : 0;
    name = strlen (p.name) > 44 ? p.name + strlen (p.name) - 44 : p.name;
    printf ("%3u  %-44s %-10s %9.3f %9.1f %7.1f", i, name, p.family,
        p.macs / 1e6, ns / 1e3, gflops (p.macs, ns));
    if (xnn && xnn_ns[i] > 0)
      printf (" %9.1f %7.2f", xnn_ns[i] / 1e3, ns / xnn_ns[i]);
    printf ("\n");
    f = family_row (families, p.family);
    f->ns += ns;
    f->macs += p.macs;
    f->xnn_ns += xnn_ns[i];
    f->n++;
    total += ns;
    xnn_total += xnn_ns[i];
    total_macs += p.macs;
  }
  printf ("\nper family (%s):\n", fv_model_describe_kernels
      (fv_session_get_model (session)));
  printf ("  %-12s %6s %9s %9s %6s %7s", "family", "layers", "MMAC", "us",
      "share", "GFLOP/s");
  if (xnn)
    printf (" %9s %7s %7s", "xnn_us", "xGFLOP", "ratio");
  printf ("\n");
  for (i = 0; i < families->len; i++) {
    const FamilyRow *f = &g_array_index (families, FamilyRow, i);
    printf ("  %-12s %6u %9.3f %9.1f %5.1f%% %7.1f", f->family, f->n,
        f->macs / 1e6, f->ns / 1e3, total > 0 ? 100 * f->ns / total : 0,
        gflops (f->macs, f->ns));
    if (xnn && f->xnn_ns > 0)
      printf (" %9.1f %7.1f %7.2f", f->xnn_ns / 1e3,
          gflops (f->macs, f->xnn_ns), f->ns / f->xnn_ns);
    printf ("\n");
  }
  printf ("  %-12s %6u %9.3f %9.1f %5.1f%% %7.1f", "total", n_steps,
      total_macs / 1e6, total / 1e3, 100.0, gflops (total_macs, total));
  if (xnn && xnn_total > 0)
    printf (" %9.1f %7.1f %7.2f", xnn_total / 1e3,
        gflops (total_macs, xnn_total), total / xnn_total);
  printf ("\n");
  if (xnn)
    printf ("  (xnn_us: each XNNPACK layer built and timed alone, with its "
        "PReLU and ADD nodes)\n");
  fv_session_set_profiling (session, FALSE);
}

int
fv_cmd_bench (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *compare = NULL;
  gint threads = 1, batch = 1, runs = 200, warmup = 20;
  gint gallery_size = 0;
  gboolean profile = FALSE, detector = FALSE;
  g_autofree char *detector_image = NULL;
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
        "Model file (default: the installed or fetched " DEFAULT_MODEL ")",
        "FILE"},
    {"threads", 't', 0, G_OPTION_ARG_INT, &threads,
        "Threads per run, 0 for one per processor (default 1)", "N"},
    {"batch", 'b', 0, G_OPTION_ARG_INT, &batch,
        "Faces per run (default 1)", "N"},
    {"runs", 'n', 0, G_OPTION_ARG_INT, &runs,
        "Timed runs (default 200)", "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_INT, &warmup,
        "Untimed runs first (default 20)", "N"},
    {"profile", 'p', 0, G_OPTION_ARG_NONE, &profile,
        "Also print the time per layer and per kernel family", NULL},
    {"compare", 'c', 0, G_OPTION_ARG_STRING, &compare,
        "Also time another engine, interleaved with ours: xnnpack", "ENGINE"},
    {"gallery-size", 'g', 0, G_OPTION_ARG_INT, &gallery_size,
        "Time the gallery instead: load and match on N synthetic identities",
        "N"},
    {"detector", 'd', 0, G_OPTION_ARG_NONE, &detector,
        "Time the MTCNN face detector instead, on 640x480 and 1280x720 frames",
        NULL},
    {"image", 'i', 0, G_OPTION_ARG_FILENAME, &detector_image,
        "With --detector, also time this photo fitted into the frames",
        "FILE"},
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = NULL;
  g_autoptr (FvSession) session = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autofree double *ours = NULL, *theirs = NULL;
  g_autofree float *input = NULL;
  gpointer xnn = NULL;
  FvShape in_shape, out_shape;
  gsize in_elems;
  guint64 macs = 0;
  Stats s, xs = { 0, 0, 0 };
  guint i, n_threads;
  double ms, emb_per_s;

  g_return_val_if_fail (argc >= 1, FV_TOOL_EXIT_USAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
      "Times the embedding network on a synthetic face: warm-up runs, then\n"
      "timed runs; prints the median, minimum and maximum milliseconds per\n"
      "embedding, embeddings per second, the kernel chosen for each family\n"
      "and the activation memory. The last line is machine-readable:\n"
      "  bench: ms=<median> emb_per_s=<n> threads=<n>"
      "[ xnnpack_ms=<median> ratio=<ours/xnnpack>]");
  g_option_context_set_description (context,
      "FV_CPU_MASK=scalar|avx2|avx512|neon (or -avx512,...) limits the kernel\n"
      "level. Other programs running at the same time disturb the numbers:\n"
      "medians of interleaved runs are robust to short disturbances only.\n\n"
      "Examples:\n"
      "  faceverify bench --threads 1 --compare xnnpack\n"
      "  faceverify bench --threads 2 --batch 8 --profile\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, COMMAND, &args))
    return FV_TOOL_EXIT_USAGE;
  if (args[1] != NULL) {
    fv_tool_error (COMMAND, "unexpected argument \"%s\"", args[1]);
    return FV_TOOL_EXIT_USAGE;
  }
  if (gallery_size != 0)
    return fv_bench_gallery (gallery_size > 0 ? (guint) gallery_size : 0,
        threads > 0 ? (guint) threads : 0);
  if (threads < 0 || threads > 256 || batch < 1 || batch > 4096 || runs < 1
      || warmup < 0) {
    fv_tool_error (COMMAND, "--threads must be 0 to 256, --batch 1 to 4096, "
        "--runs at least 1 and --warmup at least 0");
    return FV_TOOL_EXIT_USAGE;
  }
  if (detector)
    return fv_bench_detector (runs, warmup, detector_image);
  if (compare && strcmp (compare, "xnnpack") != 0) {
    fv_tool_error (COMMAND, "unknown engine \"%s\" for --compare (known: "
        "xnnpack)", compare);
    return FV_TOOL_EXIT_USAGE;
  }
#ifndef FV_HAVE_XNNPACK
  if (compare) {
    fv_tool_error (COMMAND, "this build has no XNNPACK: configure with "
        "-Dxnnpack=enabled (needs libxnnpack-dev and libpthreadpool-dev)");
    return FV_TOOL_EXIT_FAILURE;
  }
#endif

  if (model_path == NULL) {
    model_path = fv_find_model (DEFAULT_MODEL);
    if (model_path == NULL) {
      fv_tool_error (NULL, "model " DEFAULT_MODEL " not found: run "
          "models/fetch.sh in the source tree (and install), or give "
          "--model FILE");
      return FV_TOOL_EXIT_FAILURE;
    }
  }
  model = fv_model_new_from_file (model_path, &error);
  if (model == NULL) {
    fv_tool_error (model_path, "cannot load the model: %s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  session = fv_session_new (model, batch, 0, 0, &error);
  if (session == NULL || !fv_session_set_threads (session, threads, &error)) {
    fv_tool_error (model_path, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  n_threads = fv_session_get_threads (session);
  fv_model_get_input_shape (model, 0, &in_shape);
  in_elems = (gsize) batch * in_shape.dims[1] * in_shape.dims[2]
      * in_shape.dims[3];
  /* The arena reuses the input's memory once the first layer has read
   * it: every run gets a fresh copy, outside the timed region. */
  input = g_new (float, in_elems);
  fill_input (input, in_elems);
  for (i = 0; i < fv_session_get_n_steps (session); i++) {
    FvStepProfile p;
    fv_session_get_step_profile (session, i, &p);
    macs += p.macs;
  }

#ifdef FV_HAVE_XNNPACK
  if (compare) {
    xnn = fv_xnn_bench_new (model_path, batch, n_threads, &error);
    if (!xnn) {
      fv_tool_error (model_path, "XNNPACK: %s", error->message);
      return FV_TOOL_EXIT_FAILURE;
    }
    memcpy (fv_xnn_bench_get_input (xnn), input, in_elems * sizeof (float));
  }
#endif

  printf ("model: %s\n", model_path);
  printf ("kernels: %s\n", fv_model_describe_kernels (model));
  printf ("arena: %" G_GSIZE_FORMAT " bytes (%.2f MiB) for batch %d\n",
      fv_session_get_arena_size (session),
      fv_session_get_arena_size (session) / 1048576.0, batch);
  printf ("work: %.1f M multiply-adds per embedding in %u steps\n",
      macs / 1e6, fv_session_get_n_steps (session));
  printf ("runs: %d warm-up, %d timed; threads %u, batch %d%s\n", warmup,
      runs, n_threads, batch, xnn ? "; interleaved with XNNPACK" : "");

  for (i = 0; i < MAX ((guint) warmup, 1); i++) {
    memcpy (fv_session_get_input (session, 0), input,
        in_elems * sizeof (float));
    fv_session_run (session, batch);
#ifdef FV_HAVE_XNNPACK
    if (xnn)
      fv_xnn_bench_run (xnn);
#endif
  }

#ifdef FV_HAVE_XNNPACK
  if (xnn) {
    guint dim;
    const float *a = fv_session_get_output (session, 0, &out_shape);
    const float *b = fv_xnn_bench_get_output (xnn, &dim);
    double diff = 0, mag = 0;
    for (i = 0; i < dim * (guint) batch; i++) {
      diff = MAX (diff, fabs (a[i] - b[i]));
      mag = MAX (mag, fabs (b[i]));
    }
    printf ("check: max|ours - xnnpack| = %.3g (largest output %.3g)\n",
        diff, mag);
  }
#else
  (void) out_shape;
#endif

  ours = g_new (double, runs);
  theirs = g_new (double, runs);
  for (i = 0; i < (guint) runs; i++) {
    guint64 t0, t1, t2;

    memcpy (fv_session_get_input (session, 0), input,
        in_elems * sizeof (float));
#ifdef FV_HAVE_XNNPACK
    /* Alternate the order, so that neither engine always runs first. */
    if (xnn && i % 2 == 1) {
      t0 = now_ns ();
      fv_xnn_bench_run (xnn);
      t1 = now_ns ();
      fv_session_run (session, batch);
      t2 = now_ns ();
      theirs[i] = (t1 - t0) / 1e6 / batch;
      ours[i] = (t2 - t1) / 1e6 / batch;
      continue;
    }
#endif
    t0 = now_ns ();
    fv_session_run (session, batch);
    t1 = now_ns ();
#ifdef FV_HAVE_XNNPACK
    if (xnn)
      fv_xnn_bench_run (xnn);
#endif
    t2 = now_ns ();
    ours[i] = (t1 - t0) / 1e6 / batch;
    theirs[i] = (t2 - t1) / 1e6 / batch;
  }

  s = stats (ours, runs);
  ms = s.median;
  emb_per_s = 1000.0 / ms;
  printf ("ours:    median %.3f ms, min %.3f, max %.3f ms per embedding; "
      "%.1f embeddings/s; %.1f GFLOP/s\n", s.median, s.min, s.max,
      emb_per_s, 2.0 * macs / (s.median * 1e6));
  if (xnn) {
    xs = stats (theirs, runs);
    printf ("xnnpack: median %.3f ms, min %.3f, max %.3f ms per embedding; "
        "%.1f embeddings/s; %.1f GFLOP/s\n", xs.median, xs.min, xs.max,
        1000.0 / xs.median, 2.0 * macs / (xs.median * 1e6));
  }
  if (profile) {
    const double peak = fma_peak_gflops (fv_model_get_isa (model));
    if (peak > 0) {
      printf ("peak: one core does %.1f GFLOP/s of %s FMAs (measured now); "
          "ours reached %.1f%% of %u core(s)", peak,
          fv_isa_name (fv_model_get_isa (model)),
          100.0 * 2.0 * macs / (s.median * 1e6) / (peak * n_threads),
          n_threads);
      if (xnn)
        printf (", xnnpack %.1f%%",
            100.0 * 2.0 * macs / (xs.median * 1e6) / (peak * n_threads));
      printf ("\n");
    }
  }
  if (s.max > 2 * s.min)
    printf ("note: the slowest run took more than twice the fastest: the "
        "machine was busy or the clock changed\n");

  if (profile)
    print_profile (session, batch, MIN (runs, 100), xnn, input, in_elems);

  printf ("bench: ms=%.3f emb_per_s=%.1f threads=%u", ms, emb_per_s,
      n_threads);
  if (xnn)
    printf (" xnnpack_ms=%.3f ratio=%.3f", xs.median, ms / xs.median);
  printf ("\n");

#ifdef FV_HAVE_XNNPACK
  fv_xnn_bench_free (xnn);
#endif
  if (fflush (stdout) != 0) {
    fv_tool_error (NULL, "error writing to standard output");
    return FV_TOOL_EXIT_FAILURE;
  }
  return FV_TOOL_EXIT_OK;
}

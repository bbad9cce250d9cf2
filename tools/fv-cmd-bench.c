/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-bench.c: `faceverify bench`, the speed of the embedding network:
 * warm-up, then many timed runs; medians, the kernels that ran, optionally
 * a per-layer profile. (Our engine against XNNPACK is a benchmark program
 * of its own, tests/bench/bench-xnnpack.c: it needs engine internals.)
 */
#include "fv-tool.h"
#include "fv-bench-util.h"
#include "fv-tool-faces.h"

#include <fv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMMAND "bench"

/* The FMA peak of one core, measured: independent multiply-add chains
 * on the vector width of the kernels in use, best of a few short runs.
 * Only for the x86 levels; 0 when unknown. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define PEAK_ITERS 2000000

/* *INDENT-OFF* */
static double peak_avx512 (void) __attribute__ ((target ("avx512f")));
/* *INDENT-ON* */

static double
peak_avx512 (void)
{
  __m512 a[16], x = _mm512_set1_ps (0.999999f), y = _mm512_set1_ps (1e-7f);
  float sink[16];
  guint64 t0;
  guint i, j;

  for (j = 0; j < 16; j++)
    a[j] = _mm512_set1_ps ((float) j);
  t0 = fv_bench_now_ns ();
  for (i = 0; i < PEAK_ITERS; i++)
#pragma GCC unroll 16
    for (j = 0; j < 16; j++)
      a[j] = _mm512_fmadd_ps (a[j], x, y);
  t0 = fv_bench_now_ns () - t0;
  for (j = 1; j < 16; j++)
    a[0] = _mm512_add_ps (a[0], a[j]);
  _mm512_storeu_ps (sink, a[0]);
  return sink[0] == 12345.0f ? 0 : 2.0 * 16 * 16 * PEAK_ITERS / (double) t0;
}

/* *INDENT-OFF* */
static double peak_avx2 (void) __attribute__ ((target ("avx2,fma")));
/* *INDENT-ON* */

static double
peak_avx2 (void)
{
  __m256 a[12], x = _mm256_set1_ps (0.999999f), y = _mm256_set1_ps (1e-7f);
  float sink[8];
  guint64 t0;
  guint i, j;

  for (j = 0; j < 12; j++)
    a[j] = _mm256_set1_ps ((float) j);
  t0 = fv_bench_now_ns ();
  for (i = 0; i < PEAK_ITERS; i++)
#pragma GCC unroll 12
    for (j = 0; j < 12; j++)
      a[j] = _mm256_fmadd_ps (a[j], x, y);
  t0 = fv_bench_now_ns () - t0;
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
  guint n;
} FamilyRow;

static FamilyRow *
family_row (GArray * rows, const char *family)
{
  guint i;
  FamilyRow r = { family, 0, 0, 0 };

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

/* The embedding network, its session and the input of every run. */
typedef struct
{
  const char *model_path;
  FvModel *model;
  FvSession *session;
  float *input;                 /* batch images, copied in before each run */
  gsize in_elems;
  guint batch, n_threads;
  guint64 macs;                 /* per image */
} Bench;

static void
bench_clear (Bench * b)
{
  g_clear_pointer (&b->session, fv_session_free);
  g_clear_pointer (&b->model, fv_model_unref);
  g_clear_pointer (&b->input, g_free);
}

/* The arena reuses the input's memory once the first layer has read it:
 * every run gets a fresh copy, outside the timed region. */
static void
bench_refill (Bench * b)
{
  memcpy (fv_session_get_input (b->session, 0), b->input,
      b->in_elems * sizeof (float));
}

/* Prints the time per family: the rows gathered by print_profile(). */
static void
print_families (Bench * b, GArray * families, guint n_steps)
{
  double total = 0;
  guint64 total_macs = 0;
  guint i;

  for (i = 0; i < families->len; i++) {
    total += g_array_index (families, FamilyRow, i).ns;
    total_macs += g_array_index (families, FamilyRow, i).macs;
  }
  printf ("\nper family (%s):\n", fv_model_describe_kernels (b->model));
  printf ("  %-12s %6s %9s %9s %6s %7s\n", "family", "layers", "MMAC", "us",
      "share", "GFLOP/s");
  for (i = 0; i < families->len; i++) {
    const FamilyRow *f = &g_array_index (families, FamilyRow, i);
    printf ("  %-12s %6u %9.3f %9.1f %5.1f%% %7.1f\n", f->family, f->n,
        f->macs / 1e6, f->ns / 1e3, total > 0 ? 100 * f->ns / total : 0,
        gflops (f->macs, f->ns));
  }
  printf ("  %-12s %6u %9.3f %9.1f %5.1f%% %7.1f\n", "total", n_steps,
      total_macs / 1e6, total / 1e3, 100.0, gflops (total_macs, total));
}

/* Runs the session @runs more times with the step timers on and prints
 * the time per layer and per family. */
static void
print_profile (Bench * b, guint runs)
{
  const guint n_steps = fv_session_get_n_steps (b->session);
  g_autoptr (GArray) families = g_array_new (FALSE, FALSE, sizeof (FamilyRow));
  guint i;

  fv_session_set_profiling (b->session, TRUE);
  for (i = 0; i < runs; i++) {
    bench_refill (b);
    fv_session_run (b->session, b->batch);
  }

  printf ("\nprofile: %u runs of %u image(s); time per image\n", runs,
      b->batch);
  printf ("%3s  %-44s %-10s %9s %9s %7s\n", "#", "layer", "family", "MMAC",
      "us", "GFLOP/s");
  for (i = 0; i < n_steps; i++) {
    FvStepProfile p;
    FamilyRow *f;
    double ns;
    const char *name;

    fv_session_get_step_profile (b->session, i, &p);
    ns = p.images ? (double) p.ns / (double) p.images : 0;
    name = strlen (p.name) > 44 ? p.name + strlen (p.name) - 44 : p.name;
    printf ("%3u  %-44s %-10s %9.3f %9.1f %7.1f\n", i, name, p.family,
        p.macs / 1e6, ns / 1e3, gflops (p.macs, ns));
    f = family_row (families, p.family);
    f->ns += ns;
    f->macs += p.macs;
    f->n++;
  }
  print_families (b, families, n_steps);
  fv_session_set_profiling (b->session, FALSE);
}

/* Loads the model and makes the session; prints the error and returns
 * FALSE on failure. */
static gboolean
bench_setup (Bench * b, guint batch, guint threads)
{
  g_autoptr (GError) error = NULL;
  FvShape in_shape;
  guint i;

  b->batch = batch;
  b->model = fv_model_new_from_file (b->model_path, &error);
  if (b->model == NULL) {
    fv_tool_error (b->model_path, "cannot load the model: %s", error->message);
    return FALSE;
  }
  b->session = fv_session_new (b->model, batch, 0, 0, &error);
  if (b->session == NULL
      || !fv_session_set_threads (b->session, threads, &error)) {
    fv_tool_error (b->model_path, "%s", error->message);
    return FALSE;
  }
  b->n_threads = fv_session_get_threads (b->session);
  fv_model_get_input_shape (b->model, 0, &in_shape);
  b->in_elems = (gsize) batch *in_shape.dims[1] * in_shape.dims[2]
  * in_shape.dims[3];
  b->input = g_new (float, b->in_elems);
  fv_bench_fill_input (b->input, b->in_elems);
  for (i = 0; i < fv_session_get_n_steps (b->session); i++) {
    FvStepProfile p;
    fv_session_get_step_profile (b->session, i, &p);
    b->macs += p.macs;
  }
  return TRUE;
}

/* The share of the measured FMA peak that a median of @ms per image
 * reached, with --profile. */
static void
print_peak (Bench * b, double ms)
{
  const double peak = fma_peak_gflops (fv_model_get_isa (b->model));

  if (peak <= 0)
    return;
  printf ("peak: one core does %.1f GFLOP/s of %s FMAs (measured now); "
      "ours reached %.1f%% of %u core(s)\n", peak,
      fv_isa_name (fv_model_get_isa (b->model)),
      100.0 * 2.0 * b->macs / (ms * 1e6) / (peak * b->n_threads), b->n_threads);
}

static int
bench_embedder (Bench * b, guint runs, guint warmup, gboolean profile)
{
  g_autofree double *ms = g_new (double, runs);
  FvBenchStats s;
  guint i;

  printf ("model: %s\n", b->model_path);
  printf ("kernels: %s\n", fv_model_describe_kernels (b->model));
  printf ("arena: %" G_GSIZE_FORMAT " bytes (%.2f MiB) for batch %u\n",
      fv_session_get_arena_size (b->session),
      fv_session_get_arena_size (b->session) / 1048576.0, b->batch);
  printf ("work: %.1f M multiply-adds per embedding in %u steps\n",
      b->macs / 1e6, fv_session_get_n_steps (b->session));
  printf ("runs: %u warm-up, %u timed; threads %u, batch %u\n", warmup,
      runs, b->n_threads, b->batch);

  for (i = 0; i < MAX (warmup, 1); i++) {
    bench_refill (b);
    fv_session_run (b->session, b->batch);
  }
  for (i = 0; i < runs; i++) {
    guint64 t0;

    bench_refill (b);
    t0 = fv_bench_now_ns ();
    fv_session_run (b->session, b->batch);
    ms[i] = (fv_bench_now_ns () - t0) / 1e6 / b->batch;
  }

  s = fv_bench_stats (ms, runs);
  printf ("ours:    median %.3f ms, min %.3f, max %.3f ms per embedding; "
      "%.1f embeddings/s; %.1f GFLOP/s\n", s.median, s.min, s.max,
      1000.0 / s.median, 2.0 * b->macs / (s.median * 1e6));
  if (profile)
    print_peak (b, s.median);
  if (s.max > 2 * s.min)
    printf ("note: the slowest run took more than twice the fastest: the "
        "machine was busy or the clock changed\n");
  if (profile)
    print_profile (b, MIN (runs, 100));
  printf ("bench: ms=%.3f emb_per_s=%.1f threads=%u\n", s.median,
      1000.0 / s.median, b->n_threads);

  if (fflush (stdout) != 0) {
    fv_tool_error (NULL, "error writing to standard output");
    return FV_TOOL_EXIT_FAILURE;
  }
  return FV_TOOL_EXIT_OK;
}

typedef struct
{
  char *model_path;
  gint threads, batch, runs, warmup;
  gint gallery_size;
  gboolean profile, detector;
  char *detector_image;
} BenchOptions;

static void
bench_options_clear (BenchOptions * o)
{
  g_free (o->model_path);
  g_free (o->detector_image);
}

/* Parses the command line into @o; FALSE on a usage error (printed). */
static gboolean
parse_options (int argc, char **argv, BenchOptions * o)
{
  GOptionEntry entries[] = {
    FV_TOOL_MODEL_ENTRY (&o->model_path),
    {"threads", 't', 0, G_OPTION_ARG_INT, &o->threads,
        "Threads per run, 0 for one per processor (default 1)", "N"},
    {"batch", 'b', 0, G_OPTION_ARG_INT, &o->batch,
        "Faces per run (default 1)", "N"},
    {"runs", 'n', 0, G_OPTION_ARG_INT, &o->runs,
        "Timed runs (default 200)", "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_INT, &o->warmup,
        "Untimed runs first (default 20)", "N"},
    {"profile", 'p', 0, G_OPTION_ARG_NONE, &o->profile,
        "Also print the time per layer and per kernel family", NULL},
    {"gallery-size", 'g', 0, G_OPTION_ARG_INT, &o->gallery_size,
          "Time the gallery instead: load and match on N synthetic identities",
        "N"},
    {"detector", 'd', 0, G_OPTION_ARG_NONE, &o->detector,
          "Time the MTCNN face detector instead, on 640x480 and 1280x720 frames",
        NULL},
    {"image", 'i', 0, G_OPTION_ARG_FILENAME, &o->detector_image,
          "With --detector, also time this photo fitted into the frames",
        "FILE"},
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_auto (GStrv) args = g_strdupv (argv);

  g_option_context_set_summary (context,
      "Times the embedding network on a synthetic face: warm-up runs, then\n"
      "timed runs; prints the median, minimum and maximum milliseconds per\n"
      "embedding, embeddings per second, the kernel chosen for each family\n"
      "and the activation memory. The last line is machine-readable:\n"
      "  bench: ms=<median> emb_per_s=<n> threads=<n>");
  g_option_context_set_description (context,
      "FV_CPU_MASK=scalar|avx2|avx512|neon (or -avx512,...) limits the kernel\n"
      "level. Other programs running at the same time disturb the numbers:\n"
      "medians of interleaved runs are robust to short disturbances only.\n"
      "Our engine against XNNPACK: tests/bench/bench-xnnpack in the build\n"
      "tree (meson option xnnpack).\n\n"
      "Examples:\n"
      "  faceverify bench --threads 1\n"
      "  faceverify bench --threads 2 --batch 8 --profile\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, COMMAND, &args))
    return FALSE;
  if (args[1] != NULL) {
    fv_tool_error (COMMAND, "unexpected argument \"%s\"", args[1]);
    return FALSE;
  }
  return TRUE;
}

int
fv_cmd_bench (int argc, char **argv)
{
  BenchOptions o = { NULL, 1, 1, 200, 20, 0, FALSE, FALSE, NULL };
  Bench b = { 0 };
  int ret = FV_TOOL_EXIT_FAILURE;

  g_return_val_if_fail (argc >= 1, FV_TOOL_EXIT_USAGE);

  if (!parse_options (argc, argv, &o)) {
    ret = FV_TOOL_EXIT_USAGE;
  } else if (o.gallery_size != 0) {
    ret = fv_bench_gallery (o.gallery_size > 0 ? (guint) o.gallery_size : 0,
        o.threads > 0 ? (guint) o.threads : 0);
  } else if (o.threads < 0 || o.threads > 256 || o.batch < 1
      || o.batch > 4096 || o.runs < 1 || o.warmup < 0) {
    fv_tool_error (COMMAND, "--threads must be 0 to 256, --batch 1 to 4096, "
        "--runs at least 1 and --warmup at least 0");
    ret = FV_TOOL_EXIT_USAGE;
  } else if (o.detector) {
    ret = fv_bench_detector (o.runs, o.warmup, o.detector_image);
  } else if (o.model_path == NULL
      && (o.model_path = fv_find_model (FV_TOOL_DEFAULT_MODEL)) == NULL) {
    fv_tool_error (NULL, "model " FV_TOOL_DEFAULT_MODEL " not found: run "
        "models/fetch.sh in the source tree (and install), or give "
        "--model FILE");
  } else {
    b.model_path = o.model_path;
    if (bench_setup (&b, o.batch, o.threads))
      ret = bench_embedder (&b, o.runs, o.warmup, o.profile);
  }
  bench_clear (&b);
  bench_options_clear (&o);
  return ret;
}

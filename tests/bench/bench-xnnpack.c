/* gst-faceverify: face verification on the CPU
 *
 * bench-xnnpack.c: our engine against XNNPACK on the same network and the
 * same weights (fv-xnnpack-bench.c), timed in one process, interleaved:
 * medians of both in CPU time, their ratio, the share of the FMA peak of
 * one core (measured in the same run) that each reached, the kernels that
 * ran and, with --profile, the time per layer and per kernel family side
 * by side. A benchmark
 * program (meson benchmark 'xnnpack', option `xnnpack`), not a test.
 *
 *   build/tests/bench/bench-xnnpack --threads 1
 *   build/tests/bench/bench-xnnpack --threads 2 --batch 8 --profile
 */
#include "fv-bench-util.h"
#include "fv-xnnpack-bench.h"
#include "core/fv-cpu.h"

#include <fv.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MODEL "MobileFaceNet.tflite"

typedef struct
{
  char *model_path;
  gint threads, batch, runs, warmup;
  gboolean profile;
} Options;

typedef struct
{
  FvModel *model;
  FvSession *session;
  FvXnnBench *xnn;
  float *input;                 /* batch images, copied in before each run */
  gsize in_elems;
  guint batch, n_threads;
  guint64 macs;                 /* per image */
  double peak;                  /* GFLOP/s of one core, 0 if unknown */
  double xnn_peak;              /* the same at XNNPACK's level */
} Bench;

static void
bench_clear (Bench * b)
{
  g_clear_pointer (&b->xnn, fv_xnn_bench_free);
  g_clear_pointer (&b->session, fv_session_free);
  g_clear_pointer (&b->model, fv_model_unref);
  g_clear_pointer (&b->input, g_free);
}

static gboolean
parse_options (int argc, char **argv, Options * o)
{
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &o->model_path,
        "Model file (default: the fetched " DEFAULT_MODEL ")", "FILE"},
    {"threads", 't', 0, G_OPTION_ARG_INT, &o->threads,
        "Threads per run, for both engines (default 1)", "N"},
    {"batch", 'b', 0, G_OPTION_ARG_INT, &o->batch,
        "Faces per run (default 1)", "N"},
    {"runs", 'n', 0, G_OPTION_ARG_INT, &o->runs,
        "Timed runs of each engine (default 200)", "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_INT, &o->warmup,
        "Untimed runs first (default 20)", "N"},
    {"profile", 'p', 0, G_OPTION_ARG_NONE, &o->profile,
        "Also time every layer and kernel family in both engines", NULL},
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (context,
      "Times our engine and XNNPACK on the same network and weights,\n"
      "interleaved, in CPU time; prints both medians, the ratio\n"
      "ours/XNNPACK, the FMA peak of one core measured in the same run and\n"
      "the share of it that each engine reached, and the kernels that ran.\n"
      "The last line is machine-readable:\n"
      "  bench-xnnpack: ms=<median> xnnpack_ms=<median> ratio=<ours/xnnpack>\n"
      "  threads=<n> peak_gflops=<n> peak_pct=<ours> xnnpack_peak_pct=<n>");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "bench-xnnpack: %s\n", error->message);
    return FALSE;
  }
  if (argc > 1 || o->threads < 0 || o->threads > 256 || o->batch < 1
      || o->batch > 4096 || o->runs < 1 || o->warmup < 0) {
    fprintf (stderr, "bench-xnnpack: --threads must be 0 to 256, --batch 1 "
        "to 4096, --runs at least 1 and --warmup at least 0\n");
    return FALSE;
  }
  return TRUE;
}

static gboolean
bench_setup (Bench * b, const Options * o, GError ** error)
{
  FvShape in;
  guint i;

  b->batch = o->batch;
  b->model = fv_model_new_from_file (o->model_path, error);
  if (b->model == NULL)
    return FALSE;
  b->session = fv_session_new (b->model, o->batch, 0, 0, error);
  if (b->session == NULL
      || !fv_session_set_threads (b->session, o->threads, error))
    return FALSE;
  fv_model_get_input_shape (b->model, 0, &in);
  b->in_elems = (gsize) o->batch * in.dims[1] * in.dims[2] * in.dims[3];
  b->input = g_new (float, b->in_elems);
  fv_bench_fill_input (b->input, b->in_elems);
  for (i = 0; i < fv_session_get_n_steps (b->session); i++) {
    FvStepProfile p;
    fv_session_get_step_profile (b->session, i, &p);
    b->macs += p.macs;
  }
  b->n_threads = fv_session_get_threads (b->session);
  b->xnn = fv_xnn_bench_new (o->model_path, o->batch, b->n_threads, error);
  if (b->xnn == NULL)
    return FALSE;
  memcpy (fv_xnn_bench_get_input (b->xnn), b->input,
      b->in_elems * sizeof (float));
  return TRUE;
}

/* The arena reuses the input's memory once the first layer has read it:
 * every run of ours gets a fresh copy, outside the timed region. */
static void
run_ours (Bench * b)
{
  fv_session_run (b->session, b->batch);
}

static void
refill_ours (Bench * b)
{
  memcpy (fv_session_get_input (b->session, 0), b->input,
      b->in_elems * sizeof (float));
}

/* Both engines must compute the same embeddings, or the times mean
 * nothing. */
static void
print_check (Bench * b)
{
  FvShape out_shape;
  const float *a = fv_session_get_output (b->session, 0, &out_shape);
  guint dim, i;
  const float *x = fv_xnn_bench_get_output (b->xnn, &dim);
  double diff = 0, mag = 0;

  for (i = 0; i < dim * b->batch; i++) {
    diff = MAX (diff, fabs (a[i] - x[i]));
    mag = MAX (mag, fabs (x[i]));
  }
  printf ("check: max|ours - xnnpack| = %.3g (largest output %.3g)\n", diff,
      mag);
}

/* @runs rounds of one run each, in alternating order so that neither
 * engine always runs first; CPU milliseconds per image (the thread's, or
 * the process's with several threads: see fv_bench_cpu_ns()). */
static void
time_interleaved (Bench * b, guint runs, double *ours, double *theirs)
{
  guint i;

  for (i = 0; i < runs; i++) {
    guint64 t0, t1, t2;
    gboolean xnn_first = i % 2 == 1;

    refill_ours (b);
    t0 = fv_bench_cpu_ns (b->n_threads);
    if (xnn_first)
      fv_xnn_bench_run (b->xnn);
    else
      run_ours (b);
    t1 = fv_bench_cpu_ns (b->n_threads);
    if (xnn_first)
      run_ours (b);
    else
      fv_xnn_bench_run (b->xnn);
    t2 = fv_bench_cpu_ns (b->n_threads);
    ours[i] = (xnn_first ? t2 - t1 : t1 - t0) / 1e6 / b->batch;
    theirs[i] = (xnn_first ? t1 - t0 : t2 - t1) / 1e6 / b->batch;
  }
}

/* The share of the measured peak of the cores in use, in %. */
static double
pct_of (const Bench * b, double peak, guint64 macs, double ms)
{
  return peak > 0 ? 100.0 * 2.0 * macs / (ms * 1e6) / (peak *
      b->n_threads) : 0.0;
}

static double
peak_pct (const Bench * b, guint64 macs, double ms)
{
  return pct_of (b, b->peak, macs, ms);
}

/* XNNPACK picks the widest level of the CPU whatever FV_CPU_MASK says. */
static double
xnn_peak_pct (const Bench * b, guint64 macs, double ms)
{
  return pct_of (b, b->xnn_peak, macs, ms);
}

static void
print_stats (const Bench * b, const char *engine, FvBenchStats s, double pct)
{
  printf ("%-8s median %.3f ms CPU, min %.3f, max %.3f ms per embedding; "
      "%.1f GFLOP/s", engine, s.median, s.min, s.max,
      2.0 * b->macs / (s.median * 1e6));
  if (pct > 0)
    printf ("; %.1f%% of the peak", pct);
  printf ("\n");
}

typedef struct
{
  const char *family;
  double ns, xnn_ns;            /* per image */
  guint64 macs;
  guint n;
} FamilyRow;

static FamilyRow *
family_row (GArray * rows, const char *family)
{
  FamilyRow r = { family, 0, 0, 0, 0 };
  guint i;

  for (i = 0; i < rows->len; i++)
    if (strcmp (g_array_index (rows, FamilyRow, i).family, family) == 0)
      return &g_array_index (rows, FamilyRow, i);
  g_array_append_val (rows, r);
  return &g_array_index (rows, FamilyRow, rows->len - 1);
}

/* XNNPACK's time per image of each of our steps, matched by output
 * tensor name: each XNNPACK layer (a convolution with its PReLU and ADD
 * nodes) is built and timed alone. */
static double *
time_xnn_layers (Bench * b, guint runs)
{
  const guint n_steps = fv_session_get_n_steps (b->session);
  double *xnn_ns = g_new0 (double, n_steps);
  guint n = fv_xnn_bench_get_n_layers (b->xnn), i, j;

  for (j = 0; j < n; j++) {
    const char *name, *family;
    guint64 macs;
    double t = fv_xnn_bench_time_layer (b->xnn, j, runs, &name, &family,
        &macs);
    for (i = 0; i < n_steps; i++) {
      FvStepProfile p;
      fv_session_get_step_profile (b->session, i, &p);
      if (t > 0 && strcmp (p.name, name) == 0)
        xnn_ns[i] = t / b->batch;
    }
  }
  return xnn_ns;
}

static void
print_profile (Bench * b, guint runs)
{
  const guint n_steps = fv_session_get_n_steps (b->session);
  g_autoptr (GArray) families = g_array_new (FALSE, FALSE, sizeof (FamilyRow));
  g_autofree double *xnn_ns = NULL;
  guint i;

  fv_session_set_profiling (b->session, TRUE);
  for (i = 0; i < runs; i++) {
    refill_ours (b);
    run_ours (b);
  }
  xnn_ns = time_xnn_layers (b, runs);

  printf ("\nprofile: %u runs of %u image(s); us per image; ratio = "
      "ours/xnnpack\n", runs, b->batch);
  printf ("%3s  %-44s %-10s %9s %9s %7s\n", "#", "layer", "family", "us",
      "xnn_us", "ratio");
  for (i = 0; i < n_steps; i++) {
    FvStepProfile p;
    FamilyRow *f;
    double ns;
    const char *name;

    fv_session_get_step_profile (b->session, i, &p);
    ns = p.images ? (double) p.ns / (double) p.images : 0;
    name = strlen (p.name) > 44 ? p.name + strlen (p.name) - 44 : p.name;
    printf ("%3u  %-44s %-10s %9.1f", i, name, p.family, ns / 1e3);
    if (xnn_ns[i] > 0)
      printf (" %9.1f %7.2f", xnn_ns[i] / 1e3, ns / xnn_ns[i]);
    printf ("\n");
    f = family_row (families, p.family);
    f->ns += ns;
    f->xnn_ns += xnn_ns[i];
    f->macs += p.macs;
    f->n++;
  }
  printf ("\nper family (%s):\n", fv_model_describe_kernels (b->model));
  printf ("  %-12s %6s %9s %6s %9s %6s %7s\n", "family", "layers", "us",
      "%peak", "xnn_us", "%peak", "ratio");
  for (i = 0; i < families->len; i++) {
    const FamilyRow *f = &g_array_index (families, FamilyRow, i);
    printf ("  %-12s %6u %9.1f %5.1f%%", f->family, f->n, f->ns / 1e3,
        f->ns > 0 ? peak_pct (b, f->macs, f->ns / 1e6) : 0);
    if (f->xnn_ns > 0)
      printf (" %9.1f %5.1f%% %7.2f", f->xnn_ns / 1e3,
          xnn_peak_pct (b, f->macs, f->xnn_ns / 1e6), f->ns / f->xnn_ns);
    printf ("\n");
  }
  printf ("  (xnn_us: each XNNPACK layer built and timed alone, with its "
      "PReLU and ADD nodes; layers without one are ours alone)\n");
  fv_session_set_profiling (b->session, FALSE);
}

int
main (int argc, char **argv)
{
  Options o = { NULL, 1, 1, 200, 20, FALSE };
  Bench b = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree double *ours = NULL, *theirs = NULL;
  FvBenchStats s, xs;
  guint i;

  if (!parse_options (argc, argv, &o))
    return 2;
  if (o.model_path == NULL && (o.model_path = fv_find_model (DEFAULT_MODEL))
      == NULL) {
    fprintf (stderr, "bench-xnnpack: model " DEFAULT_MODEL " not found: "
        "run models/fetch.sh or give --model FILE\n");
    return 1;
  }
  if (!bench_setup (&b, &o, &error)) {
    fprintf (stderr, "bench-xnnpack: %s: %s\n", o.model_path, error->message);
    bench_clear (&b);
    return 1;
  }

  printf ("model: %s\n", o.model_path);
  printf ("kernels: %s\n", fv_model_describe_kernels (b.model));
  printf ("runs: %d warm-up, %d timed of each engine, interleaved; threads "
      "%u, batch %d\n", o.warmup, o.runs, fv_session_get_threads (b.session),
      o.batch);
  for (i = 0; i < MAX ((guint) o.warmup, 1); i++) {
    refill_ours (&b);
    run_ours (&b);
    fv_xnn_bench_run (b.xnn);
  }
  print_check (&b);
  b.peak = fv_bench_fma_peak_gflops (fv_model_get_isa (b.model));
  if (b.peak > 0)
    printf ("peak: one core does %.1f GFLOP/s of %s FMAs (measured now, CPU "
        "time)\n", b.peak, fv_isa_name (fv_model_get_isa (b.model)));
  b.xnn_peak = fv_cpu_has_isa (FV_ISA_AVX512)
      ? fv_bench_fma_peak_gflops (FV_ISA_AVX512) : b.peak;
  if (b.xnn_peak != b.peak)
    printf ("peak: %.1f GFLOP/s at avx512, which XNNPACK uses whatever "
        "FV_CPU_MASK says: its share is of that peak\n", b.xnn_peak);

  ours = g_new (double, o.runs);
  theirs = g_new (double, o.runs);
  time_interleaved (&b, o.runs, ours, theirs);
  s = fv_bench_stats (ours, o.runs);
  xs = fv_bench_stats (theirs, o.runs);
  print_stats (&b, "ours:", s, peak_pct (&b, b.macs, s.median));
  print_stats (&b, "xnnpack:", xs, xnn_peak_pct (&b, b.macs, xs.median));
  if (o.profile)
    print_profile (&b, MIN (o.runs, 100));
  printf ("bench-xnnpack: ms=%.3f xnnpack_ms=%.3f ratio=%.3f threads=%u "
      "peak_gflops=%.1f peak_pct=%.1f xnnpack_peak_pct=%.1f\n", s.median,
      xs.median, s.median / xs.median, b.n_threads, b.peak,
      peak_pct (&b, b.macs, s.median), xnn_peak_pct (&b, b.macs, xs.median));

  bench_clear (&b);
  g_free (o.model_path);
  return 0;
}

/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-bench.c: `faceverify bench`, the speed of the embedding network:
 * warm-up, then many timed runs; medians of CPU time, the FMA peak of one
 * core measured in the same run and the share of it reached, the kernels
 * that ran, optionally a per-layer and per-family profile. (Our engine against XNNPACK is a benchmark program
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
  double peak;                  /* GFLOP/s of one core, 0 if unknown */
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

/* The share of the measured peak that @macs in @ns reached, in %. */
static double
peak_pct (const Bench * b, guint64 macs, double ns)
{
  return b->peak > 0 ? 100.0 * gflops (macs, ns) / b->peak : 0.0;
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
  printf ("  %-12s %6s %9s %9s %6s %7s %6s\n", "family", "layers", "MMAC",
      "us", "share", "GFLOP/s", "%peak");
  for (i = 0; i < families->len; i++) {
    const FamilyRow *f = &g_array_index (families, FamilyRow, i);
    printf ("  %-12s %6u %9.3f %9.1f %5.1f%% %7.1f %5.1f%%\n", f->family,
        f->n, f->macs / 1e6, f->ns / 1e3, total > 0 ? 100 * f->ns / total : 0,
        gflops (f->macs, f->ns), peak_pct (b, f->macs, f->ns));
  }
  printf ("  %-12s %6u %9.3f %9.1f %5.1f%% %7.1f %5.1f%%\n", "total",
      n_steps, total_macs / 1e6, total / 1e3, 100.0,
      gflops (total_macs, total), peak_pct (b, total_macs, total));
  if (b->n_threads > 1)
    printf ("  (with several threads: the wall time of a layer split between "
        "them, or thread 0's CPU time on its whole images)\n");
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

  printf ("\nprofile: %u runs of %u image(s); CPU time per image\n", runs,
      b->batch);
  printf ("%3s  %-44s %-10s %9s %9s %7s %6s\n", "#", "layer", "family",
      "MMAC", "us", "GFLOP/s", "%peak");
  for (i = 0; i < n_steps; i++) {
    FvStepProfile p;
    FamilyRow *f;
    double ns;
    const char *name;

    fv_session_get_step_profile (b->session, i, &p);
    ns = p.images ? (double) p.ns / (double) p.images : 0;
    name = strlen (p.name) > 44 ? p.name + strlen (p.name) - 44 : p.name;
    printf ("%3u  %-44s %-10s %9.3f %9.1f %7.1f %5.1f%%\n", i, name,
        p.family, p.macs / 1e6, ns / 1e3, gflops (p.macs, ns),
        peak_pct (b, p.macs, ns));
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

/* The runs: CPU time (see fv_bench_cpu_ns()) and wall time per image. */
static void
time_runs (Bench * b, guint runs, double *cpu_ms, double *wall_ms)
{
  guint i;

  for (i = 0; i < runs; i++) {
    guint64 c0, t0;

    bench_refill (b);
    c0 = fv_bench_cpu_ns (b->n_threads);
    t0 = fv_bench_now_ns ();
    fv_session_run (b->session, b->batch);
    wall_ms[i] = (fv_bench_now_ns () - t0) / 1e6 / b->batch;
    cpu_ms[i] = (fv_bench_cpu_ns (b->n_threads) - c0) / 1e6 / b->batch;
  }
}

static int
bench_embedder (Bench * b, guint runs, guint warmup, gboolean profile)
{
  g_autofree double *cpu_ms = g_new (double, runs);
  g_autofree double *wall_ms = g_new (double, runs);
  const FvIsa isa = fv_model_get_isa (b->model);
  FvBenchStats s, w;
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

  b->peak = fv_bench_fma_peak_gflops (isa);
  if (b->peak > 0)
    printf ("peak: one core does %.1f GFLOP/s of %s FMAs (measured now, "
        "CPU time)\n", b->peak, fv_isa_name (isa));
  else
    printf ("peak: not measured at the %s level\n", fv_isa_name (isa));

  for (i = 0; i < MAX (warmup, 1); i++) {
    bench_refill (b);
    fv_session_run (b->session, b->batch);
  }
  time_runs (b, runs, cpu_ms, wall_ms);
  s = fv_bench_stats (cpu_ms, runs);
  w = fv_bench_stats (wall_ms, runs);
  printf ("ours:    median %.3f ms CPU, min %.3f, max %.3f ms per embedding "
      "(%s CPU time); %.1f GFLOP/s", s.median, s.min, s.max,
      b->n_threads > 1 ? "process" : "thread", gflops (b->macs,
          s.median * 1e6));
  if (b->peak > 0)
    printf (", %.1f%% of the peak of %u core(s)",
        peak_pct (b, b->macs, s.median * 1e6), b->n_threads);
  printf ("\nwall:    median %.3f ms per embedding, %.1f embeddings/s\n",
      w.median, 1000.0 / w.median);
  if (w.median > 1.5 * s.median * MAX (b->n_threads, 1))
    printf ("note: the wall time exceeds the CPU time: the machine was busy "
        "(the CPU time and %%peak stay honest)\n");
  if (profile)
    print_profile (b, MIN (runs, 100));
  printf ("bench: ms=%.3f emb_per_s=%.1f threads=%u cpu_ms=%.3f "
      "peak_gflops=%.1f peak_pct=%.1f\n", w.median, 1000.0 / w.median,
      b->n_threads, s.median, b->peak, peak_pct (b, b->macs, s.median * 1e6));

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
      "timed runs; prints the median, minimum and maximum CPU milliseconds\n"
      "per embedding, the FMA peak of one core measured in the same run and\n"
      "the share of it reached (per layer and kernel family with --profile),\n"
      "the wall time and embeddings per second, the kernel chosen for each\n"
      "family and the activation memory. The last line is machine-readable:\n"
      "  bench: ms=<wall median> emb_per_s=<n> threads=<n> cpu_ms=<median>\n"
      "         peak_gflops=<n> peak_pct=<n>");
  g_option_context_set_description (context,
      "FV_CPU_MASK=scalar|avx2|avx512|neon (or -avx512,...) limits the kernel\n"
      "level. CPU time counts only the time this program had a core (one\n"
      "thread: its own; several: the whole process), so other programs on\n"
      "the machine disturb it far less than the wall time. Our engine\n"
      "against XNNPACK, with the same peak and shares: tests/bench/bench-xnnpack\n"
      "in the build tree (meson option xnnpack).\n\n"
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

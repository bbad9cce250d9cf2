/* gst-faceverify: face verification on the CPU
 *
 * fv-bench-gallery.c: `faceverify bench --gallery-size N`: the gallery's
 * load time and match time per query on a synthetic gallery (seeded, so
 * every run measures the same data).
 */
#include "fv-tool.h"
#include "fv-bench-util.h"

#include <fv.h>
/* the float reference of the half form's scans, and its re-rank counts */
#include "gallery/fv-gallery-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib/gstdio.h>

#define DIM 192
#define SEED 1
#define N_QUERIES 64
#define LOAD_RUNS 3
#define TIMED_RUNS 101
#define ENROLL_CHUNK 10000
/* A fingerprint that no real model has: the bench gallery cannot be
 * mistaken for a real one. */
#define BENCH_FINGERPRINT "bench-synthetic-gallery"

static double
median (double *v, guint n)
{
  return fv_bench_stats (v, n).median;
}

/* xorshift64* and Box-Muller: a seeded normal distribution. */
static guint64
next_u64 (guint64 * s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * G_GUINT64_CONSTANT (2685821657736338717);
}

static float
next_gauss (guint64 * s)
{
  double u1 = ((next_u64 (s) >> 11) + 1.0) / 9007199254740993.0;
  double u2 = (next_u64 (s) >> 11) / 9007199254740992.0;

  return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
}

static void
random_unit (guint64 * s, float *v)
{
  guint k;

  for (k = 0; k < DIM; k++)
    v[k] = next_gauss (s);
  fv_l2_normalize (v, DIM);
}

typedef struct
{
  FvGallerySnapshot *snap;
  FvGalleryScan scan;
  const float *queries;
  guint runs;
  guint reps;
  double *ms;                   /* runs per-query wall times */
  double *cpu_ms;               /* runs per-query processor times */
} MatchJob;

/* Times @runs x @reps single-query matches, cycling through the queries. */
static gpointer
run_match_job (gpointer data)
{
  MatchJob *job = data;
  FvGalleryMatch m;
  guint r, k, q = 0;

  for (r = 0; r < job->runs; r++) {
    guint64 t0 = fv_bench_now_ns (), c0 = fv_bench_thread_cpu_ns ();

    for (k = 0; k < job->reps; k++) {
      fv_gallery_snapshot_match_with (job->snap, job->scan,
          job->queries + (gsize) (q) * DIM, 1,
          FV_GALLERY_DEFAULT_MATCH_THRESHOLD,
          FV_GALLERY_DEFAULT_MATCH_MARGIN, &m);
      q = (q + 1) % N_QUERIES;
    }
    job->ms[r] = (fv_bench_now_ns () - t0) / 1e6 / job->reps;
    job->cpu_ms[r] = (fv_bench_thread_cpu_ns () - c0) / 1e6 / job->reps;
  }
  return NULL;
}

static void
remove_gallery_files (const char *dir, const char *path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (suffixes); i++) {
    g_autofree char *p = g_strconcat (path, suffixes[i], NULL);

    g_unlink (p);
  }
  g_rmdir (dir);
}

/* Gallery members, then queries (even: a member plus noise, cosine about
 * 0.7 to it; odd: unrelated). */
static void
make_data (guint gallery_size, float **vectors_out, float **queries_out,
    guint ** truth_out)
{
  guint64 seed = SEED;
  float *vectors, *queries;
  guint *truth;
  guint i, k;

  vectors = g_new (float, (gsize) (gallery_size) * DIM);
  for (i = 0; i < gallery_size; i++)
    random_unit (&seed, vectors + (gsize) (i) * DIM);
  queries = g_new (float, (gsize) (N_QUERIES) * DIM);
  truth = g_new (guint, N_QUERIES);
  for (i = 0; i < N_QUERIES; i++) {
    float *q = queries + (gsize) (i) * DIM;

    random_unit (&seed, q);
    if (i % 2 == 0) {
      const float *member;

      truth[i] = (guint) (next_u64 (&seed) % gallery_size);
      member = vectors + (gsize) truth[i] * DIM;
      for (k = 0; k < DIM; k++)
        q[k] = member[k] + q[k];
      fv_l2_normalize (q, DIM);
    }
  }
  *vectors_out = vectors;
  *queries_out = queries;
  *truth_out = truth;
}

/* Creates the gallery at @path with one sample per vector, in transactions
 * of ENROLL_CHUNK identities; the time of the writes goes to @write_ms. */
static gboolean
write_gallery (const char *path, const float *vectors, guint gallery_size,
    double *write_ms, GError ** error)
{
  g_autoptr (FvGallery) g = fv_gallery_open (path, FV_GALLERY_OPEN_CREATE,
      BENCH_FINGERPRINT, DIM, error);
  g_autofree FvGalleryEnrollment *e = NULL;
  g_autofree FvGallerySample *s = NULL;
  g_autofree char *label_buf = NULL;
  guint64 t0;
  guint start, i;

  if (g == NULL)
    return FALSE;
  e = g_new0 (FvGalleryEnrollment, MIN (gallery_size, ENROLL_CHUNK));
  s = g_new0 (FvGallerySample, MIN (gallery_size, ENROLL_CHUNK));
  label_buf = g_new0 (char, (gsize) MIN (gallery_size, ENROLL_CHUNK) * 16);
  t0 = fv_bench_now_ns ();
  for (start = 0; start < gallery_size; start += ENROLL_CHUNK) {
    guint n = MIN (ENROLL_CHUNK, gallery_size - start);

    for (i = 0; i < n; i++) {
      char *label = label_buf + (gsize) (i) * 16;

      g_snprintf (label, 16, "id%07u", start + i);
      s[i].embedding = vectors + (gsize) (start + i) * DIM;
      s[i].quality = 1.0f;
      s[i].source = NULL;
      e[i].label = label;
      e[i].display_name = NULL;
      e[i].samples = &s[i];
      e[i].n_samples = 1;
    }
    if (!fv_gallery_enroll_batch (g, e, n, FV_GALLERY_ENROLL_NEW_ONLY, error))
      return FALSE;
  }
  *write_ms = (fv_bench_now_ns () - t0) / 1e6;
  return TRUE;
}

/* @threads copies of @job on one snapshot at once. */
static void
bench_threads (const MatchJob * job, guint threads, double single_med)
{
  g_autofree MatchJob *jobs = g_new0 (MatchJob, threads);
  g_autofree GThread **th = g_new0 (GThread *, threads);
  g_autofree double *all = g_new (double, (gsize) (threads) * TIMED_RUNS);
  g_autofree double *all_cpu = g_new (double, (gsize) (threads) * TIMED_RUNS);
  double wall_ms;
  guint64 t0;
  guint i;

  t0 = fv_bench_now_ns ();
  for (i = 0; i < threads; i++) {
    jobs[i] = *job;
    jobs[i].ms = all + (gsize) i *TIMED_RUNS;
    jobs[i].cpu_ms = all_cpu + (gsize) i *TIMED_RUNS;
    th[i] = g_thread_new ("fv-bench-match", run_match_job, &jobs[i]);
  }
  for (i = 0; i < threads; i++)
    g_thread_join (th[i]);
  wall_ms = (fv_bench_now_ns () - t0) / 1e6;
  printf ("match, %u threads on one snapshot: median %.4f ms per query, "
      "%.0f queries/s in all (1 thread: %.0f queries/s)\n", threads,
      median (all, threads * TIMED_RUNS),
      threads * TIMED_RUNS * (double) job->reps / wall_ms * 1e3,
      1e3 / single_med);
}

/* Opens and reads the gallery LOAD_RUNS times, each time in @load_ms;
 * returns the last snapshot. */
static FvGallerySnapshot *
load_gallery (const char *path, double *load_ms, GError ** error)
{
  FvGallerySnapshot *snap = NULL;
  guint i;

  for (i = 0; i < LOAD_RUNS; i++) {
    g_autoptr (FvGallery) g = NULL;
    guint64 t0 = fv_bench_now_ns ();

    g = fv_gallery_open (path, FV_GALLERY_OPEN_READ_ONLY, BENCH_FINGERPRINT,
        DIM, error);
    if (g == NULL || !fv_gallery_reload (g, error)) {
      g_clear_pointer (&snap, fv_gallery_snapshot_unref);
      return NULL;
    }
    load_ms[i] = (fv_bench_now_ns () - t0) / 1e6;
    if (i == LOAD_RUNS - 1)
      snap = fv_gallery_get_snapshot (g);
  }
  return snap;
}

/* Single queries run after run in turn (the machine's state is the same
 * for all): the float scan of the same rows in a float matrix (@floats),
 * the half scan with its re-rank, and the float scan of the half form
 * (rows rebuilt); medians of the processor time per query, and the rows
 * the half scans re-ranked per query. */
static void
time_scans (const MatchJob * base, FvGallerySnapshot * floats,
    double *float_cpu, double *half_cpu, double *rebuilt_cpu,
    double *reranked, double *rescanned)
{
  g_autofree double *f_ms = g_new (double, TIMED_RUNS);
  g_autofree double *f_cpu = g_new (double, TIMED_RUNS);
  g_autofree double *h_ms = g_new (double, TIMED_RUNS);
  g_autofree double *h_cpu = g_new (double, TIMED_RUNS);
  g_autofree double *b_ms = g_new (double, TIMED_RUNS);
  g_autofree double *b_cpu = g_new (double, TIMED_RUNS);
  MatchJob f = *base, h = *base, b = *base;
  guint64 rows0, rescans0, rows1, rescans1, half_rows = 0, half_rescans = 0;
  guint r;

  f.snap = floats;
  f.scan = b.scan = FV_GALLERY_SCAN_FLOAT;
  h.scan = FV_GALLERY_SCAN_HALF;
  f.runs = h.runs = b.runs = 1;
  for (r = 0; r < TIMED_RUNS; r++) {
    f.ms = f_ms + r;
    f.cpu_ms = f_cpu + r;
    h.ms = h_ms + r;
    h.cpu_ms = h_cpu + r;
    b.ms = b_ms + r;
    b.cpu_ms = b_cpu + r;
    run_match_job (&f);
    fv_gallery_rerank_stats (&rows0, &rescans0);
    run_match_job (&h);
    fv_gallery_rerank_stats (&rows1, &rescans1);
    half_rows += rows1 - rows0;
    half_rescans += rescans1 - rescans0;
    run_match_job (&b);
  }
  *float_cpu = median (f_cpu, TIMED_RUNS);
  *half_cpu = median (h_cpu, TIMED_RUNS);
  *rebuilt_cpu = median (b_cpu, TIMED_RUNS);
  *reranked = (double) half_rows / ((double) TIMED_RUNS * base->reps);
  *rescanned = (double) half_rescans / ((double) TIMED_RUNS * base->reps);
}

/* Medians of TIMED_RUNS batches of four queries, per query. */
static void
time_batches (FvGallerySnapshot * snap, const float *queries, guint reps,
    double *batch_med, double *batch_cpu_med)
{
  g_autofree double *batch = g_new (double, TIMED_RUNS);
  g_autofree double *batch_cpu = g_new (double, TIMED_RUNS);
  FvGalleryMatch results[4];
  guint i, k;

  for (i = 0; i < TIMED_RUNS; i++) {
    guint q = (i * 4) % N_QUERIES;
    guint64 c0 = fv_bench_thread_cpu_ns ();
    guint64 t0 = fv_bench_now_ns ();

    for (k = 0; k < reps; k++)
      fv_gallery_snapshot_match (snap, queries + (gsize) (q) * DIM, 4,
          FV_GALLERY_DEFAULT_MATCH_THRESHOLD,
          FV_GALLERY_DEFAULT_MATCH_MARGIN, results);
    batch[i] = (fv_bench_now_ns () - t0) / 1e6 / reps / 4;
    batch_cpu[i] = (fv_bench_thread_cpu_ns () - c0) / 1e6 / reps / 4;
  }
  *batch_med = median (batch, TIMED_RUNS);
  *batch_cpu_med = median (batch_cpu, TIMED_RUNS);
}

/* How many noisy members are found and unrelated queries rejected. */
static void
count_decisions (FvGallerySnapshot * snap, const float *queries,
    const guint * truth, guint * found, guint * rejected)
{
  FvGalleryMatch results[4];
  guint i;

  for (i = 0; i < N_QUERIES; i++) {
    fv_gallery_snapshot_match (snap, queries + (gsize) (i) * DIM, 1,
        FV_GALLERY_DEFAULT_MATCH_THRESHOLD, FV_GALLERY_DEFAULT_MATCH_MARGIN,
        results);
    if (i % 2 == 0 && results[0].known && results[0].index == (gint) truth[i])
      (*found)++;
    if (i % 2 == 1 && !results[0].known)
      (*rejected)++;
  }
}

#define N_COMPARED 10000

/* The float scan of the float matrix (@floats) and the half scan on
 * N_COMPARED seeded queries (noisy members and unrelated vectors, as
 * above), and on every REBUILT_EVERY-th one the float scan of the half
 * form (rows rebuilt: slower): how many results differ in identity,
 * known, similarity or margin. */
#define REBUILT_EVERY 10

static guint
compare_scans (FvGallerySnapshot * snap, FvGallerySnapshot * floats,
    const float *vectors, guint gallery_size)
{
  g_autofree float *q = g_new (float, DIM);
  guint64 seed = SEED + 1;
  guint i, k, differ = 0;

  for (i = 0; i < N_COMPARED; i++) {
    FvGalleryMatch a, b, c;

    random_unit (&seed, q);
    if (i % 2 == 0) {
      /* a member, cosine about 0.7 */
      const float *v = vectors + (gsize) (next_u64 (&seed) % gallery_size)
          * DIM;

      for (k = 0; k < DIM; k++)
        q[k] = v[k] + q[k];
    }
    fv_gallery_snapshot_match_with (floats, FV_GALLERY_SCAN_FLOAT, q, 1,
        FV_GALLERY_DEFAULT_MATCH_THRESHOLD, FV_GALLERY_DEFAULT_MATCH_MARGIN,
        &a);
    fv_gallery_snapshot_match_with (snap, FV_GALLERY_SCAN_HALF, q, 1,
        FV_GALLERY_DEFAULT_MATCH_THRESHOLD, FV_GALLERY_DEFAULT_MATCH_MARGIN,
        &b);
    c = a;
    if (i % REBUILT_EVERY == 0)
      fv_gallery_snapshot_match_with (snap, FV_GALLERY_SCAN_FLOAT, q, 1,
          FV_GALLERY_DEFAULT_MATCH_THRESHOLD,
          FV_GALLERY_DEFAULT_MATCH_MARGIN, &c);
    if (a.index != b.index || a.known != b.known
        || a.similarity != b.similarity || a.margin != b.margin
        || a.index != c.index || a.known != c.known
        || a.similarity != c.similarity || a.margin != c.margin)
      differ++;
  }
  return differ;
}

/* The matrix's bytes: the half form against float rows, and against the
 * float matrix with a half copy that large snapshots kept before. */
static void
report_matrix_bytes (FvGallerySnapshot * snap)
{
  const guint n = MAX (fv_gallery_snapshot_get_n_identities (snap), 1);
  gsize float_bytes;
  const gsize bytes = fv_gallery_snapshot_get_matrix_bytes (snap,
      &float_bytes);

  printf ("matrix memory: %.2f MiB, %.1f bytes per identity (%s); float "
      "rows %.2f MiB, %.1f bytes per identity; float + half copy %.2f MiB "
      "(%.2fx float); this form %.3fx float\n", bytes / 1048576.0,
      (double) bytes / n, fv_gallery_snapshot_has_half (snap)
      ? "half floats + 16-bit residuals + exceptions" : "float rows",
      float_bytes / 1048576.0, (double) float_bytes / n,
      float_bytes * 1.5 / 1048576.0, 1.5, (double) bytes / float_bytes);
}

/* Times the scans in turn and compares their results; returns how many
 * differ. */
static guint
report_half_scan (const MatchJob * job, const float *vectors,
    guint gallery_size)
{
  double float_cpu, half_cpu, rebuilt_cpu, reranked, rescanned;
  FvGallerySnapshot *floats;
  guint differ;

  report_matrix_bytes (job->snap);
  if (!fv_gallery_snapshot_has_half (job->snap)) {
    printf ("half-float scan: not used (float rows: the matrix is under 2 "
        "MiB, or FV_GALLERY_SCAN=float)\n");
    return 0;
  }
  floats = fv_gallery_snapshot_copy_float (job->snap);
  time_scans (job, floats, &float_cpu, &half_cpu, &rebuilt_cpu, &reranked,
      &rescanned);
  differ = compare_scans (job->snap, floats, vectors, gallery_size);
  fv_gallery_snapshot_unref (floats);
  printf ("half-float scan: float matrix %.4f ms, half %.4f ms per query on "
      "the processor (half/float %.2f, in turn over %d runs); float scan of "
      "rows rebuilt from half + residual %.4f ms (%.2fx the float matrix)\n",
      float_cpu, half_cpu, half_cpu / float_cpu, TIMED_RUNS, rebuilt_cpu,
      rebuilt_cpu / float_cpu);
  printf ("half-float re-rank: %.2f rows per query rebuilt and scored in "
      "float, %.4f rescans in float per query; %u of %d "
      "queries differ from the float matrix's scan (identity, known, "
      "similarity, margin; the half scan, and the float scan of the half "
      "form on 1 in %d)\n", reranked, rescanned, differ, N_COMPARED,
      REBUILT_EVERY);
  return differ;
}

/**
 * fv_bench_gallery:
 * @gallery_size: identities in the synthetic gallery (one sample each)
 * @threads: threads matching at the same time (0: one per processor)
 *
 * Writes a synthetic gallery of @gallery_size random unit vectors of 192
 * dimensions to a temporary file, times opening and loading it, and times
 * matching single queries (half of them noisy copies of gallery members,
 * half unrelated), in batches of four, and on @threads threads at once.
 * Prints medians; the last line is
 * `bench: gallery=<n> match_ms=<median> load_ms=<median>`, where match_ms
 * is the processor time of one single-query match (the thread's CPU
 * clock: on a machine shared with other programs, wall time also counts
 * the time they had the core; both are printed above).
 *
 * Returns: an #FvToolExit status
 */
int
fv_bench_gallery (guint gallery_size, guint threads)
{
  const char *command = "bench";
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL, *path = NULL;
  g_autofree float *vectors = NULL;
  g_autofree float *queries = NULL;
  g_autofree guint *truth = NULL;
  g_autoptr (FvGallerySnapshot) snap = NULL;
  double load_ms[LOAD_RUNS], write_ms, load_med, single_med, batch_med;
  FvBenchStats load_stats, single_stats;
  double single_min, single_max, single_cpu_med, batch_cpu_med;
  guint differ;
  double *single = NULL, *single_cpu = NULL;
  guint reps, found = 0, rejected = 0;
  GStatBuf st;
  MatchJob job;

  if (gallery_size < 1 || gallery_size > 10000000) {
    fv_tool_error (command, "--gallery-size must be 1 to 10000000");
    return FV_TOOL_EXIT_USAGE;
  }
  if (threads == 0)
    threads = g_get_num_processors ();
  threads = CLAMP (threads, 1, 256);

  make_data (gallery_size, &vectors, &queries, &truth);

  dir = g_dir_make_tmp ("fv-bench-gallery-XXXXXX", &error);
  if (dir == NULL) {
    fv_tool_error (command, "cannot make a temporary folder: %s",
        error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  path = g_build_filename (dir, "bench.db", NULL);

  /* Write: transactions of ENROLL_CHUNK identities. */
  if (!write_gallery (path, vectors, gallery_size, &write_ms, &error)) {
    fv_tool_error (command, "%s", error->message);
    remove_gallery_files (dir, path);
    return FV_TOOL_EXIT_FAILURE;
  }

  /* Load: open (with every check) + read + build the matrix. */
  snap = load_gallery (path, load_ms, &error);
  if (snap == NULL) {
    fv_tool_error (command, "%s", error->message);
    remove_gallery_files (dir, path);
    return FV_TOOL_EXIT_FAILURE;
  }
  load_stats = fv_bench_stats (load_ms, LOAD_RUNS);
  load_med = load_stats.median;
  if (g_stat (path, &st) != 0)
    st.st_size = 0;
  remove_gallery_files (dir, path);

  /* Correctness on the same data. */
  count_decisions (snap, queries, truth, &found, &rejected);

  /* Single queries, one thread; small galleries repeat each timing so it
   * lasts long enough to measure. */
  reps = MAX (1, 100000 / gallery_size);
  single = g_new (double, TIMED_RUNS);
  single_cpu = g_new (double, TIMED_RUNS);
  job.snap = snap;
  job.scan = FV_GALLERY_SCAN_AUTO;
  job.queries = queries;
  job.runs = 5;
  job.reps = reps;
  job.ms = single;
  job.cpu_ms = single_cpu;
  run_match_job (&job);         /* warm-up */
  job.runs = TIMED_RUNS;
  run_match_job (&job);
  single_stats = fv_bench_stats (single, TIMED_RUNS);
  single_med = single_stats.median;
  single_cpu_med = median (single_cpu, TIMED_RUNS);
  single_min = single_stats.min;
  single_max = single_stats.max;
  /* Batches of four queries: one pass over the matrix. */
  time_batches (snap, queries, reps, &batch_med, &batch_cpu_med);

  printf ("gallery: %u identities x %u dimensions (synthetic, seed %d), one "
      "sample each; file %.1f MiB, matrix %.1f MiB\n", gallery_size, DIM,
      SEED, st.st_size / 1048576.0,
      (double) fv_gallery_snapshot_get_n_samples (snap) * DIM * 4 / 1048576.0);
  printf ("kernel: %s\n", fv_gallery_scan_kernel_name ());
  printf ("write: %.1f ms (%u transaction%s of up to %u identities)\n",
      write_ms, (gallery_size + ENROLL_CHUNK - 1) / ENROLL_CHUNK,
      gallery_size > ENROLL_CHUNK ? "s" : "", ENROLL_CHUNK);
  printf ("load (open, check, read, build the matrix): median %.2f ms of %d "
      "runs (min %.2f, max %.2f)\n", load_med, LOAD_RUNS, load_stats.min,
      load_stats.max);
  printf ("match, 1 query:  median %.4f ms on the processor, %.4f ms wall "
      "(min %.4f, max %.4f) over %d runs of %u; %.1f GB/s of matrix\n",
      single_cpu_med, single_med, single_min, single_max, TIMED_RUNS, reps,
      (double) (gallery_size) * DIM * 4 / (single_cpu_med * 1e6));
  printf ("match, batch 4:  median %.4f ms per query on the processor, "
      "%.4f ms wall (%.2fx faster than single)\n", batch_cpu_med, batch_med,
      single_cpu_med / batch_cpu_med);
  printf ("decisions: %u/%d noisy members found, %u/%d unrelated queries "
      "unknown (threshold %.2f, margin %.2f)\n", found, N_QUERIES / 2,
      rejected, N_QUERIES / 2, FV_GALLERY_DEFAULT_MATCH_THRESHOLD,
      FV_GALLERY_DEFAULT_MATCH_MARGIN);

  differ = report_half_scan (&job, vectors, gallery_size);

  if (threads > 1)
    bench_threads (&job, threads, single_med);

  printf ("bench: gallery=%u match_ms=%.4f load_ms=%.1f\n", gallery_size,
      single_cpu_med, load_med);
  g_free (single);
  g_free (single_cpu);
  return found == N_QUERIES / 2 && differ == 0
      ? FV_TOOL_EXIT_OK : FV_TOOL_EXIT_FAILURE;
}

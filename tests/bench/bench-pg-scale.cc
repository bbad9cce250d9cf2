// gst-faceverify: the scale of a PostgreSQL gallery (issue 16). A program,
// not a test: it prints, it asserts nothing.
//
// Starts a PostgreSQL 15 in the build tree the way the tests do
// (tests/unit/fv-pg-fixture.h), fills it and an SQLite file with N random
// identities (default 100 000, one 192-d sample each) through the library's
// batch enrolment (one transaction per batch), and prints:
//   - the enrolment throughput of each backend;
//   - the time to load the whole gallery (open + fv_gallery_reload), wall
//     and this thread's CPU, median of 3, PostgreSQL vs SQLite;
//   - the time for one change to reach a node holding N identities: another
//     process enrolls one identity over its own connection and prints its
//     commit time; a watch polled every 2 ms (the element polls every
//     200 ms) loads the change incrementally; median of several, with the
//     incremental load's own wall and CPU time and the rows it read.
//
//   bench-pg-scale [--identities N] [--runs R]
#include <glib.h>
#include <glib/gstdio.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fv.h"
#include "fv-bench-util.h"
#include "fv-pg-fixture.h"

namespace {

const char kFp[] =
    "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const guint kDim = 192;
const guint kBatch = 1000;

void
RandomUnit (GRand * rnd, float *v)
{
  for (guint i = 0; i < kDim; i++)
    v[i] = (float) g_rand_double_range (rnd, -1.0, 1.0);
}

// Enrolls @n identities "id-<k>" in batches of kBatch; seconds taken.
double
Fill (const std::string &location, guint n)
{
  GError *e = nullptr;
  FvGallery *g = fv_gallery_open (location.c_str (), FV_GALLERY_OPEN_CREATE,
      kFp, kDim, &e);
  if (!g) {
    fprintf (stderr, "open %s: %s\n", location.c_str (), e->message);
    exit (1);
  }
  GRand *rnd = g_rand_new_with_seed (7);
  std::vector<float> emb ((size_t) kBatch * kDim);
  std::vector<FvGallerySample> samples (kBatch);
  std::vector<FvGalleryEnrollment> en (kBatch);
  std::vector<std::string> labels (kBatch);
  guint64 t0 = fv_bench_now_ns ();
  for (guint done = 0; done < n; done += kBatch) {
    guint m = MIN (kBatch, n - done);
    for (guint i = 0; i < m; i++) {
      RandomUnit (rnd, &emb[(size_t) i * kDim]);
      labels[i] = "id-" + std::to_string (done + i);
      samples[i] = { &emb[(size_t) i * kDim], -1.0f, nullptr };
      en[i] = { labels[i].c_str (), nullptr, &samples[i], 1 };
    }
    if (!fv_gallery_enroll_batch (g, en.data (), m,
            FV_GALLERY_ENROLL_APPEND, &e)) {
      fprintf (stderr, "enroll: %s\n", e->message);
      exit (1);
    }
  }
  double secs = (fv_bench_now_ns () - t0) / 1e9;
  g_rand_free (rnd);
  fv_gallery_free (g);
  return secs;
}

// Open + full load, median of @runs: wall and thread CPU, in ms.
void
TimeLoad (const char *name, const std::string &location, guint runs)
{
  std::vector<double> wall, cpu;
  guint n = 0;
  for (guint r = 0; r < runs; r++) {
    GError *e = nullptr;
    guint64 w0 = fv_bench_now_ns (), c0 = fv_bench_thread_cpu_ns ();
    FvGallery *g = fv_gallery_open (location.c_str (),
        FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &e);
    if (!g || !fv_gallery_reload (g, &e)) {
      fprintf (stderr, "load %s: %s\n", name, e->message);
      exit (1);
    }
    wall.push_back ((fv_bench_now_ns () - w0) / 1e6);
    cpu.push_back ((fv_bench_thread_cpu_ns () - c0) / 1e6);
    FvGallerySnapshot *snap = fv_gallery_get_snapshot (g);
    n = fv_gallery_snapshot_get_n_identities (snap);
    fv_gallery_snapshot_unref (snap);
    fv_gallery_free (g);
  }
  FvBenchStats w = fv_bench_stats (wall.data (), runs);
  FvBenchStats c = fv_bench_stats (cpu.data (), runs);
  printf ("load %-10s %u identities: wall median %.0f ms (min %.0f, max "
      "%.0f), CPU median %.0f ms\n", name, n, w.median, w.min, w.max,
      c.median);
}

// The writer process: enrolls one identity, prints the monotonic time of
// the commit (µs; the clock is the same in every process).
int
EnrollOne (const char *uri, const char *label, int seed)
{
  GError *e = nullptr;
  FvGallery *g = fv_gallery_open (uri, FV_GALLERY_OPEN_READ_WRITE, kFp,
      kDim, &e);
  GRand *rnd = g_rand_new_with_seed ((guint32) seed);
  std::vector<float> v (kDim);
  RandomUnit (rnd, v.data ());
  FvGallerySample s = { v.data (), -1.0f, nullptr };
  if (!g || !fv_gallery_enroll (g, label, nullptr, &s, 1,
          FV_GALLERY_ENROLL_APPEND, nullptr, &e)) {
    fprintf (stderr, "enroll-one: %s\n", e ? e->message : "?");
    return 1;
  }
  printf ("%" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  fv_gallery_free (g);
  g_rand_free (rnd);
  return 0;
}

void
TimeChanges (const char *self, const std::string &uri, guint runs)
{
  FvGalleryWatch *w = fv_gallery_watch_new (uri.c_str (), kFp, kDim);
  FvGallerySnapshot *snap = nullptr;
  GError *e = nullptr;
  if (fv_gallery_watch_check (w, &snap, &e) != FV_GALLERY_WATCH_LOADED) {
    fprintf (stderr, "watch: %s\n", e ? e->message : "?");
    exit (1);
  }
  guint n0 = fv_gallery_snapshot_get_n_identities (snap);
  fv_gallery_snapshot_unref (snap);
  std::vector<double> delay, load_wall, load_cpu;
  guint fetched = 0;
  for (guint r = 0; r < runs; r++) {
    std::string label = "new-" + std::to_string (r);
    std::string seed = std::to_string (1000 + r);
    const char *argv[] = { self, "--enroll-one", uri.c_str (), label.c_str (),
      seed.c_str (), nullptr
    };
    char *out = nullptr;
    int status = 0;
    if (!g_spawn_sync (nullptr, (char **) argv, nullptr, G_SPAWN_DEFAULT,
            nullptr, nullptr, &out, nullptr, &status, &e)
        || !g_spawn_check_wait_status (status, nullptr)) {
      fprintf (stderr, "writer failed\n");
      exit (1);
    }
    gint64 commit = g_ascii_strtoll (out, nullptr, 10);
    g_free (out);
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    snap = nullptr;
    while (!snap && g_get_monotonic_time () < deadline) {
      guint64 w0 = fv_bench_now_ns (), c0 = fv_bench_thread_cpu_ns ();
      FvGalleryWatchStatus st = fv_gallery_watch_check (w, &snap, &e);
      g_clear_error (&e);
      if (st == FV_GALLERY_WATCH_LOADED && snap
          && fv_gallery_snapshot_get_n_identities (snap) == n0 + r + 1) {
        delay.push_back ((g_get_monotonic_time () - commit) / 1e3);
        load_wall.push_back ((fv_bench_now_ns () - w0) / 1e6);
        load_cpu.push_back ((fv_bench_thread_cpu_ns () - c0) / 1e6);
        fetched = fv_gallery_snapshot_get_n_fetched (snap);
      } else {
        g_clear_pointer (&snap, fv_gallery_snapshot_unref);
        g_usleep (2000);
      }
    }
    if (!snap) {
      fprintf (stderr, "run %u: the change never arrived\n", r);
      exit (1);
    }
    fv_gallery_snapshot_unref (snap);
  }
  FvBenchStats d = fv_bench_stats (delay.data (), delay.size ());
  FvBenchStats lw = fv_bench_stats (load_wall.data (), load_wall.size ());
  FvBenchStats lc = fv_bench_stats (load_cpu.data (), load_cpu.size ());
  printf ("one change to a node holding %u identities (%u runs): commit -> "
      "new snapshot in use median %.1f ms (min %.1f, max %.1f); the "
      "incremental load itself: wall median %.1f ms, CPU median %.1f ms, "
      "%u sample row(s) read\n", n0, runs, d.median, d.min, d.max,
      lw.median, lc.median, fetched);
  fv_gallery_watch_free (w);
}

}  // namespace

int
main (int argc, char **argv)
{
  if (argc == 5 && strcmp (argv[1], "--enroll-one") == 0)
    return EnrollOne (argv[2], argv[3], atoi (argv[4]));
  guint n = 100000, runs = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp (argv[i], "--identities") == 0)
      n = (guint) atoi (argv[i + 1]);
    else if (strcmp (argv[i], "--runs") == 0)
      runs = (guint) atoi (argv[i + 1]);
  }
  if (!FvPgServer::Available ()) {
    printf ("PostgreSQL 15 server binaries not installed in " FV_PG_BINDIR
        ": nothing to measure\n");
    return 0;
  }
  FvPgServer pg;
  std::string why;
  if (!pg.Init (&why)) {
    fprintf (stderr, "could not start PostgreSQL: %s\n", why.c_str ());
    return 1;
  }
  const std::string uri = pg.Uri ();
  const char *build = g_getenv ("FV_BUILD_DIR");
  std::string sqlite = std::string (build && *build ? build :
      g_get_tmp_dir ()) + "/bench-pg-scale.db";
  g_unlink (sqlite.c_str ());
  printf ("gallery scan kernel %s; %u identities, %u-d, batches of %u\n",
      fv_gallery_scan_kernel_name (), n, kDim, kBatch);
  double t = Fill (uri, n);
  printf ("enroll postgresql: %.1f s (%.0f identities/s)\n", t, n / t);
  t = Fill (sqlite, n);
  printf ("enroll sqlite:     %.1f s (%.0f identities/s)\n", t, n / t);
  TimeLoad ("postgresql", uri, 3);
  TimeLoad ("sqlite", sqlite, 3);
  TimeChanges (argv[0], uri, runs);
  g_unlink (sqlite.c_str ());
  g_unlink ((sqlite + "-wal").c_str ());
  g_unlink ((sqlite + "-shm").c_str ());
  return 0;
}

/* Benchmark of a gallery reload while frames flow through faceverify.
 *
 * Makes a gallery of N random identities (default 60 000), streams frames
 * with one face through `faceverify` in a GstHarness, then enrolls one more
 * identity (the streamed face's own embedding) from another connection and
 * keeps streaming until the face is labelled with it. Prints, per run and
 * as medians over the runs: the time one load of the gallery takes here,
 * the median frame before the edit, the slowest frame while the reload ran,
 * the delay from the commit to the first frame that used the new gallery,
 * and the ratio slowest / median (a frame that waited for the load would
 * show a ratio near load / median). A program, not a test: the tests only
 * assert that the edit arrives and that frames keep flowing.
 *
 *   bench-reload [--identities N] [--runs N]
 */
#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv-config.h"
#include "fv.h"
#include "gstfaceverifymeta.h"

#define FRAME_W 320
#define FRAME_H 240
#define FACE_ID 1

typedef struct
{
  double load_ms;
  double median_ms;
  double slowest_ms;
  double delay_ms;
  guint frames_during;
} RunResult;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median_of (double *v, guint n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n ? v[n / 2] : 0.0;
}

static void
random_unit (GRand * rnd, float *v, guint dim)
{
  double norm = 0.0;

  for (guint i = 0; i < dim; i++) {
    v[i] = (float) g_rand_double_range (rnd, -1.0, 1.0);
    norm += (double) v[i] * v[i];
  }
  for (guint i = 0; i < dim; i++)
    v[i] = (float) (v[i] / sqrt (norm));
}

static gboolean
make_gallery (const char *path, FvEmbedder * e, guint n, GError ** error)
{
  const guint dim = fv_embedder_get_dim (e);
  g_autofree float *emb = g_new (float, (gsize) (n) * dim);
  g_autofree FvGallerySample *samples = g_new0 (FvGallerySample, n);
  g_autofree FvGalleryEnrollment *en = g_new0 (FvGalleryEnrollment, n);
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  GRand *rnd = g_rand_new_with_seed (7);
  FvGallery *g;
  gboolean ok;

  for (guint i = 0; i < n; i++) {
    random_unit (rnd, &emb[(gsize) (i) * dim], dim);
    g_ptr_array_add (labels, g_strdup_printf ("synthetic-%u", i));
    samples[i].embedding = &emb[(gsize) (i) * dim];
    samples[i].quality = -1.0f;
    en[i].label = g_ptr_array_index (labels, i);
    en[i].samples = &samples[i];
    en[i].n_samples = 1;
  }
  g_rand_free (rnd);
  g_unlink (path);
  g = fv_gallery_open (path, FV_GALLERY_OPEN_CREATE,
      fv_embedder_get_fingerprint (e), dim, error);
  if (!g)
    return FALSE;
  ok = fv_gallery_enroll_batch (g, en, n, FV_GALLERY_ENROLL_APPEND, error);
  fv_gallery_free (g);
  return ok;
}

static double
load_once_ms (const char *path, FvEmbedder * e)
{
  gint64 t0 = g_get_monotonic_time ();
  FvGallery *g = fv_gallery_open (path, FV_GALLERY_OPEN_READ_ONLY,
      fv_embedder_get_fingerprint (e), fv_embedder_get_dim (e), NULL);

  if (g) {
    fv_gallery_reload (g, NULL);
    fv_gallery_free (g);
  }
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static GstBuffer *
face_frame (const guint8 * pixels)
{
  GstBuffer *buf = gst_buffer_new_memdup (pixels, FRAME_W * FRAME_H * 3);
  GstVideoRegionOfInterestMeta *roi;

  gst_buffer_add_video_meta (buf, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_FORMAT_RGB, FRAME_W, FRAME_H);
  roi = gst_buffer_add_video_region_of_interest_meta (buf, "face", 100, 60,
      112, 112);
  roi->id = FACE_ID;
  return buf;
}

/* pushes one frame; returns its wall time in ms, and its label and
 * embedding in @label and @emb (when not NULL) */
static double
push_frame (GstHarness * h, const guint8 * pixels, char **label, float *emb,
    guint dim)
{
  gint64 t0 = g_get_monotonic_time ();
  GstBuffer *out;
  FvFaceIdMeta *m;
  double ms;

  gst_harness_push (h, face_frame (pixels));
  out = gst_harness_pull (h);
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  m = out ? fv_buffer_get_face_id_meta (out, FACE_ID) : NULL;
  g_free (*label);
  *label = g_strdup (m ? m->label : "");
  if (m && emb) {
    gsize n = 0;
    const gfloat *v = fv_face_id_meta_get_embedding (m, &n);

    if (v && n == dim)
      memcpy (emb, v, dim * sizeof (float));
  }
  if (out)
    gst_buffer_unref (out);
  return ms;
}

typedef struct
{
  const char *path;
  FvEmbedder *e;
  const float *emb;             /* the face's embedding: the frames match it */
  const char *label;
  gint64 committed_at;
  gint done;
} Writer;

static gpointer
writer_main (gpointer data)
{
  Writer *w = data;
  const guint dim = fv_embedder_get_dim (w->e);
  FvGallery *g;

  g = fv_gallery_open (w->path, FV_GALLERY_OPEN_READ_WRITE,
      fv_embedder_get_fingerprint (w->e), dim, NULL);
  if (g) {
    FvGallerySample s = { w->emb, -1.0f, NULL };

    fv_gallery_enroll (g, w->label, NULL, &s, 1, FV_GALLERY_ENROLL_APPEND,
        NULL, NULL);
    fv_gallery_free (g);
  }
  w->committed_at = g_get_monotonic_time ();
  g_atomic_int_set (&w->done, 1);
  return NULL;
}

/* the next run enrolls the same face again: forget this run's identity */
static void
forget (const char *path, FvEmbedder * e, const char *label)
{
  FvGallery *g = fv_gallery_open (path, FV_GALLERY_OPEN_READ_WRITE,
      fv_embedder_get_fingerprint (e), fv_embedder_get_dim (e), NULL);

  if (g) {
    fv_gallery_remove (g, label, NULL);
    fv_gallery_free (g);
  }
}

static gboolean
run_once (const char *path, FvEmbedder * e, const guint8 * pixels,
    RunResult * r)
{
  GstHarness *h = gst_harness_new ("faceverify");
  g_autofree char *caps = g_strdup_printf ("video/x-raw,format=RGB,"
      "width=%d,height=%d,framerate=30/1", FRAME_W, FRAME_H);
  const guint dim = fv_embedder_get_dim (e);
  g_autofree float *emb = g_new0 (float, dim);
  g_autofree char *label = NULL;
  g_autofree char *new_label = g_strdup_printf ("new-%" G_GINT64_FORMAT,
      g_get_monotonic_time ());
  double before[20], during[4096];
  guint n_during = 0;
  Writer w = { path, e, emb, new_label, 0, 0 };
  GThread *t;
  gint64 deadline;

  g_object_set (h->element, "gallery-file", path, "attach-embedding", TRUE,
      NULL);
  gst_harness_set_src_caps_str (h, caps);
  gst_harness_play (h);
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    before[i] = push_frame (h, pixels, &label, emb, dim);
  r->median_ms = median_of (before, G_N_ELEMENTS (before));

  t = g_thread_new ("writer", writer_main, &w);
  r->delay_ms = -1.0;
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (n_during < G_N_ELEMENTS (during)
      && g_get_monotonic_time () < deadline) {
    during[n_during++] = push_frame (h, pixels, &label, NULL, dim);
    if (g_atomic_int_get (&w.done) && g_strcmp0 (label, new_label) == 0) {
      r->delay_ms = (g_get_monotonic_time () - w.committed_at) / 1000.0;
      break;
    }
  }
  g_thread_join (t);
  gst_harness_teardown (h);
  r->frames_during = n_during;
  r->slowest_ms = 0.0;
  for (guint i = 0; i < n_during; i++)
    r->slowest_ms = MAX (r->slowest_ms, during[i]);
  r->load_ms = load_once_ms (path, e);
  forget (path, e, new_label);
  return r->delay_ms >= 0.0;
}

int
main (int argc, char **argv)
{
  gint identities = 60000, runs = 3;
  GOptionEntry entries[] = {
    {"identities", 0, 0, G_OPTION_ARG_INT, &identities,
        "Identities in the gallery (60000)", "N"},
    {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs (3)", "N"},
    {NULL}
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- reload benchmark");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) e = NULL;
  g_autofree char *model = NULL, *dir = NULL, *path = NULL;
  g_autofree guint8 *pixels = NULL;
  double load[16], median[16], slowest[16], delay[16], ratio[16];
  int ok_runs = 0;

  g_setenv ("GST_PLUGIN_PATH_1_0", FV_TEST_PLUGIN_PATH, FALSE);
  g_setenv ("GST_REGISTRY_1_0", FV_TEST_REGISTRY, FALSE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "bench-reload: %s\n", error->message);
    return 2;
  }
  runs = CLAMP (runs, 1, (gint) G_N_ELEMENTS (load));
  identities = MAX (identities, 1);

  model = fv_find_model ("MobileFaceNet.tflite");
  e = model ? fv_embedder_new (model, &error) : NULL;
  if (!e) {
    fprintf (stderr, "bench-reload: no embedder: %s\n",
        error ? error->message : "MobileFaceNet.tflite not found");
    return 1;
  }
  dir = g_build_filename (FV_BUILD_DIR, "bench-reload", NULL);
  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, "large.db", NULL);
  printf ("bench-reload: making a gallery of %d identities in %s\n",
      identities, path);
  fflush (stdout);
  if (!make_gallery (path, e, identities, &error)) {
    fprintf (stderr, "bench-reload: %s\n", error->message);
    return 1;
  }
  pixels = g_malloc (FRAME_W * FRAME_H * 3);
  for (guint i = 0; i < FRAME_W * FRAME_H * 3; i++)
    pixels[i] = (guint8) ((i * 2654435761u) >> 24);

  for (int i = 0; i < runs; i++) {
    RunResult r;

    if (!run_once (path, e, pixels, &r)) {
      printf ("run %d: the new gallery never arrived\n", i + 1);
      continue;
    }
    printf ("run %d: load %.1f ms; frame median %.2f ms before the edit; "
        "%u frames during the reload, slowest %.2f ms; new gallery used "
        "%.0f ms after the commit\n", i + 1, r.load_ms, r.median_ms,
        r.frames_during, r.slowest_ms, r.delay_ms);
    load[ok_runs] = r.load_ms;
    median[ok_runs] = r.median_ms;
    slowest[ok_runs] = r.slowest_ms;
    delay[ok_runs] = r.delay_ms;
    ratio[ok_runs] = r.slowest_ms / MAX (r.median_ms, 1e-3);
    ok_runs++;
  }
  if (ok_runs < runs)
    printf ("%d of %d runs FAILED: the new gallery never arrived within "
        "60 s (left out of the medians below)\n", runs - ok_runs, runs);
  if (ok_runs == 0)
    return 1;
  printf ("median of %d runs, %d identities: load %.1f ms, frame %.2f ms, "
      "slowest frame during reload %.2f ms (%.2fx the median frame, %.2fx "
      "the load), commit-to-use %.0f ms\n", ok_runs, identities,
      median_of (load, ok_runs), median_of (median, ok_runs),
      median_of (slowest, ok_runs), median_of (ratio, ok_runs),
      median_of (slowest, ok_runs) / MAX (median_of (load, ok_runs), 1e-3),
      median_of (delay, ok_runs));
  g_unlink (path);
  return ok_runs == runs ? 0 : 1;
}

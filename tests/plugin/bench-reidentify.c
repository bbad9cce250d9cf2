/* Benchmark for the default of faceverify's reidentify-interval: the
 * delay before a change of identity is noticed against the verification
 * CPU saved, for intervals 1, 3, 5 and 10, on two inputs:
 *
 * - "clip": the shared clip (filesrc ! avidemux ! jpegdec ! videoconvert
 *   ! mtcnnfacedetect ! faceverify ! fakesink), one photo per second, the
 *   person changing at frames 30, 50 and 70 (clip_segments.csv); the box
 *   moves when the photo changes;
 * - "same-place": the worst case for the tracker: aligned faces of seven
 *   deepface people pasted at the same place of a grey 480x320 frame, the
 *   person changing every 13 frames (so the change falls at every phase of
 *   the interval) while the box hardly moves (mtcnnfacedetect !
 *   faceverify in a GstHarness).
 *
 * The gallery is made here from the other aligned crops of the same people
 * (never the probes, never the clip's photos). For every change the delay
 * is the number of frames from the change to the first frame that names
 * the new person; "stale" counts the frames in between that still named
 * the previous person (the others say unknown). Verification CPU is the
 * thread CPU time spent inside faceverify per frame. A program, not a
 * test; prints one table per input.
 *
 *   bench-reidentify [--runs N]
 */
#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "fv-config.h"
#include "fv.h"
#include "fv-bench-util.h"
#include "fv-plugin-bench.h"
#include "gstfaceverifymeta.h"

#define MAX_FRAMES 256
#define HOLD 13                 /* same-place: frames per person */
#define SIDE 160                /* same-place: pasted face size */
#define FW 480
#define FH 320

static const char *const people[] = {
  "person02", "person03", "person05", "person01", "person04", "person11",
  "person06",
};

static const guint intervals[] = { 1, 3, 5, 10 };

typedef struct
{
  FvPluginBenchClock clock;
  guint frames;
  gchar *labels[MAX_FRAMES];    /* per frame: the first face's label */
} Watch;

static GstPadProbeReturn
leave_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Watch *w = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gpointer state = NULL;
  GstMeta *m;

  fv_plugin_bench_clock_leave (&w->clock);
  if (w->frames < MAX_FRAMES) {
    m = gst_buffer_iterate_meta_filtered (buf, &state,
        FV_FACE_ID_META_API_TYPE);
    w->labels[w->frames] = g_strdup (m ? ((FvFaceIdMeta *) m)->label : "");
  }
  w->frames++;
  return GST_PAD_PROBE_OK;
}

static void
watch_element (GstElement * fv, gpointer w)
{
  fv_plugin_bench_clock_watch (fv, &((Watch *) w)->clock, leave_probe, w);
}

static void
watch_clear (Watch * w)
{
  guint i;

  for (i = 0; i < MIN (w->frames, MAX_FRAMES); i++)
    g_free (w->labels[i]);
  memset (w, 0, sizeof *w);
}

/* A 112x112 aligned crop as packed RGB (3 * 112 bytes per row). */
static GdkPixbuf *
load_rgb (const char *path, int side)
{
  GdkPixbuf *p = gdk_pixbuf_new_from_file (path, NULL), *s;

  if (!p)
    return NULL;
  s = gdk_pixbuf_scale_simple (p, side, side, GDK_INTERP_BILINEAR);
  g_object_unref (p);
  if (gdk_pixbuf_get_has_alpha (s)) {
    GdkPixbuf *rgb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, side, side);
    gdk_pixbuf_fill (rgb, 0);
    gdk_pixbuf_composite (s, rgb, 0, 0, side, side, 0, 0, 1, 1,
        GDK_INTERP_NEAREST, 255);
    g_object_unref (s);
    s = rgb;
  }
  return s;
}

static gint
cmp_path (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The sorted aligned crops of @person. */
static GPtrArray *
aligned_files (const char *shared, const char *person)
{
  g_autofree gchar *dir = g_build_filename (shared, "data", "faces",
      "deepface", "aligned", person, NULL);
  GPtrArray *v = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *n;

  while (d && (n = g_dir_read_name (d)))
    g_ptr_array_add (v, g_build_filename (dir, n, NULL));
  if (d)
    g_dir_close (d);
  g_ptr_array_sort (v, cmp_path);
  return v;
}

/* The gallery: every aligned crop of the people but the first (the
 * same-place probe) and those of the clip's photos. */
static gboolean
make_gallery (const char *shared, const char *path)
{
  static const char *const in_clip[] = { "person01/img6.", "person01/img7.",
    "person04/img57.", "person04/img58.", "person06/img19.", "person06/img67.",
    "person11/img32.", "person11/img33.", NULL
  };
  g_autofree gchar *model = fv_find_model ("MobileFaceNet.tflite");
  g_autoptr (FvEmbedder) e = NULL;
  g_autoptr (GError) err = NULL;
  FvGallery *g;
  guint p, i, k;

  e = model ? fv_embedder_new (model, &err) : NULL;
  if (!e)
    return FALSE;
  g_unlink (path);
  g = fv_gallery_open (path, FV_GALLERY_OPEN_CREATE,
      fv_embedder_get_fingerprint (e), fv_embedder_get_dim (e), &err);
  if (!g) {
    fprintf (stderr, "bench-reidentify: %s\n", err->message);
    return FALSE;
  }
  for (p = 0; p < G_N_ELEMENTS (people); p++) {
    GPtrArray *files = aligned_files (shared, people[p]);
    g_autofree float *emb = g_new (float, files->len * 192);
    FvGallerySample s[64];
    guint n = 0;

    for (i = 1; i < files->len && n < 64; i++) {
      const char *f = g_ptr_array_index (files, i);
      gboolean skip = FALSE;
      GdkPixbuf *px;

      for (k = 0; in_clip[k]; k++)
        skip |= strstr (f, in_clip[k]) != NULL;
      if (skip || !(px = load_rgb (f, FV_EMBED_SIZE)))
        continue;
      fv_embedder_embed (e, gdk_pixbuf_get_pixels (px),
          gdk_pixbuf_get_rowstride (px), emb + n * 192);
      s[n].embedding = emb + n * 192;
      s[n].quality = -1;
      s[n].source = NULL;
      n++;
      g_object_unref (px);
    }
    if (n > 0 && !fv_gallery_enroll (g, people[p], NULL, s, n,
            FV_GALLERY_ENROLL_APPEND, NULL, &err)) {
      fprintf (stderr, "bench-reidentify: %s\n", err->message);
      fv_gallery_free (g);
      return FALSE;
    }
    g_ptr_array_unref (files);
  }
  fv_gallery_free (g);
  return TRUE;
}

typedef struct
{
  guint n_changes;
  double sum_delay, max_delay, stale;
  guint missed;                 /* never named within the segment */
  gchar each[128];              /* the delay of every change, "-": missed */
} Delays;

/* Delay per change: @change[i] is the first frame of person @who[i]. */
static Delays
measure (const Watch * w, const guint * change, const char *const *who,
    const char *const *before, guint n_changes, guint seg_len)
{
  Delays d = { 0 };
  guint c, f;

  for (c = 0; c < n_changes; c++) {
    gboolean found = FALSE;
    for (f = change[c]; f < change[c] + seg_len && f < w->frames; f++) {
      if (g_strcmp0 (w->labels[f], who[c]) == 0) {
        double delay = f - change[c];
        d.sum_delay += delay;
        d.max_delay = MAX (d.max_delay, delay);
        found = TRUE;
        break;
      }
      if (before[c] && g_strcmp0 (w->labels[f], before[c]) == 0)
        d.stale++;
    }
    d.missed += !found;
    d.n_changes += found;
    if (found)
      g_snprintf (d.each + strlen (d.each), sizeof d.each - strlen (d.each),
          "%s%u", c ? " " : "", f - change[c]);
    else
      g_strlcat (d.each, c ? " -" : "-", sizeof d.each);
  }
  return d;
}

static void
print_row (guint k, const Delays * d, double ver_ms, double base_ms,
    guint frames)
{
  printf ("%10u %8u %11.2f %10.0f %8.0f %8u %12.3f %8.0f%%   %s\n", k,
      d->n_changes, d->n_changes ? d->sum_delay / d->n_changes : 0,
      d->max_delay, d->stale, d->missed, ver_ms,
      base_ms > 0 ? 100.0 * (1 - ver_ms / base_ms) : 0, d->each);
  (void) frames;
}

static void
print_header (const char *what)
{
  printf ("\n%s\n%10s %8s %11s %10s %8s %8s %12s %9s   %s\n", what,
      "interval", "changes", "mean delay", "max delay", "stale", "missed",
      "verify ms/f", "CPU saved", "delay per change (frames)");
}

/* The shared clip through the real pipeline. */
static gboolean
run_clip (const char *clip, const char *gallery, guint k, Watch * w)
{
  g_autofree gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! "
      "avidemux ! jpegdec ! videoconvert ! mtcnnfacedetect ! faceverify "
      "name=watched gallery-file=\"%s\" reidentify-interval=%u ! fakesink "
      "sync=false", clip, gallery, k);

  return fv_plugin_bench_play ("bench-reidentify", desc, watch_element, w);
}

/* The same-place sequence through a harness. */
static gboolean
run_same_place (GdkPixbuf ** probes, const char *gallery, guint k, Watch * w)
{
  g_autofree gchar *desc = g_strdup_printf ("mtcnnfacedetect ! faceverify "
      "name=fv gallery-file=\"%s\" reidentify-interval=%u", gallery, k);
  GstHarness *h = gst_harness_new_parse (desc);
  GstElement *fv = gst_bin_get_by_name (GST_BIN (h->element), "fv");
  guint p, f;

  watch_element (fv, w);
  gst_object_unref (fv);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=480,"
      "height=320,framerate=10/1");
  for (p = 0; p < G_N_ELEMENTS (people); p++) {
    for (f = 0; f < HOLD; f++) {
      GstBuffer *buf = gst_buffer_new_allocate (NULL, FW * FH * 3, NULL);
      GstMapInfo map;
      const guint8 *src = gdk_pixbuf_get_pixels (probes[p]);
      const int stride = gdk_pixbuf_get_rowstride (probes[p]);
      int y;

      gst_buffer_map (buf, &map, GST_MAP_WRITE);
      memset (map.data, 128, map.size);
      for (y = 0; y < SIDE; y++)
        memcpy (map.data + (gsize) (80 + y) * FW * 3 + 160 * 3,
            src + (gsize) y * stride, SIDE * 3);
      gst_buffer_unmap (buf, &map);
      GST_BUFFER_PTS (buf) = (p * HOLD + f) * GST_SECOND / 10;
      if (gst_harness_push (h, buf) != GST_FLOW_OK) {
        gst_harness_teardown (h);
        return FALSE;
      }
      gst_buffer_unref (gst_harness_pull (h));
    }
  }
  gst_harness_teardown (h);
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint runs = 3;
  GOptionEntry entries[] = {
    {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per interval (CPU median)",
        "N"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- reidentify-interval");
  const char *shared = g_getenv ("FV_SHARED_DIR") ?
      g_getenv ("FV_SHARED_DIR") : FV_DEFAULT_SHARED_DIR;
  g_autofree gchar *clip = g_build_filename (shared, "data", "video",
      "clip_mjpeg.avi", NULL);
  g_autofree gchar *dir = g_build_filename (FV_BUILD_DIR, "test-scratch",
      "bench-reidentify", NULL);
  g_autofree gchar *gallery = g_build_filename (dir, "people.db", NULL);
  GdkPixbuf *probes[G_N_ELEMENTS (people)];
  guint p, i, scen;

  if (!fv_plugin_bench_parse ("bench-reidentify", ctx, entries, &argc, &argv))
    return 2;
  runs = MAX (runs, 1);
  g_mkdir_with_parents (dir, 0755);
  if (!make_gallery (shared, gallery)) {
    fprintf (stderr, "bench-reidentify: cannot make the gallery (models or "
        "shared data missing?)\n");
    return 1;
  }
  for (p = 0; p < G_N_ELEMENTS (people); p++) {
    GPtrArray *files = aligned_files (shared, people[p]);
    probes[p] = files->len ? load_rgb (g_ptr_array_index (files, 0), SIDE)
        : NULL;
    g_ptr_array_unref (files);
    if (!probes[p])
      return 1;
  }
  printf ("bench-reidentify: CPU level %s, %u processors; gallery %s (%u "
      "people); %d run(s) per interval, CPU medians\n",
      fv_isa_name (fv_isa_best ()), g_get_num_processors (), gallery,
      (guint) G_N_ELEMENTS (people), runs);

  for (scen = 0; scen < 2; scen++) {
    /* clip: person changes at 30, 50, 70 (and the first face at 10) */
    static const guint clip_change[] = { 10, 30, 50, 70 };
    static const char *const clip_who[] =
        { "person01", "person04", "person06", "person11" };
    static const char *const clip_before[] =
        { NULL, "person01", "person04", "person06" };
    guint sp_change[G_N_ELEMENTS (people)];
    const char *sp_before[G_N_ELEMENTS (people)];
    double base = 0;

    for (p = 0; p < G_N_ELEMENTS (people); p++) {
      sp_change[p] = p * HOLD;
      sp_before[p] = p ? people[p - 1] : NULL;
    }
    print_header (scen == 0 ? "clip (the shared clip: the box moves when the "
        "person changes; first face at frame 10, changes at 30, 50, 70)" :
        "same-place (7 people at one place, a change every 13 frames; the "
        "box hardly moves)");
    for (i = 0; i < G_N_ELEMENTS (intervals); i++) {
      g_autofree double *ms = g_new (double, runs);
      Delays d = { 0 };
      guint frames = 0;
      gint r;

      for (r = 0; r < runs; r++) {
        Watch w = { 0 };
        gboolean ok = scen == 0 ? run_clip (clip, gallery, intervals[i], &w)
            : run_same_place (probes, gallery, intervals[i], &w);
        if (!ok || w.frames == 0)
          return 1;
        ms[r] = w.clock.total_ns / 1e6 / w.frames;
        /* decisions are deterministic: one run's labels stand for all */
        if (r == 0) {
          d = scen == 0 ? measure (&w, clip_change, clip_who, clip_before,
              G_N_ELEMENTS (clip_change), 20) : measure (&w, sp_change,
              people, sp_before, G_N_ELEMENTS (people), HOLD);
          frames = w.frames;
        }
        watch_clear (&w);
      }
      if (i == 0)
        base = fv_bench_stats (ms, runs).median;
      print_row (intervals[i], &d, fv_bench_stats (ms, runs).median, base,
          frames);
    }
  }
  for (p = 0; p < G_N_ELEMENTS (people); p++)
    g_object_unref (probes[p]);
  gst_deinit ();
  return 0;
}

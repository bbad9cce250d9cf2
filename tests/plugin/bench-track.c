/* Benchmark for mtcnnfacedetect's full-scan-interval: what tracking the
 * previous faces (fv_detector_track) costs next to a full scan
 * (fv_detector_detect), and the delay before a new face is reported
 * against the CPU saved, for intervals 1, 3, 5 and 10.
 *
 * - "detector": 1280x720 frames with 0, 1, 4 and 8 faces (crops of
 *   deepface photos with one reference face, about 120 px faces, on grey):
 *   thread CPU per frame of a full scan and of tracking the faces the scan
 *   found, and the per-face increment of both (CPU medians).
 * - "reach": how far a face may move (a grid of tenths of its size) or
 *   change size between two runs and still be tracked, the measure behind
 *   the boxes fv_detector_track() tries (src/face/fv-detector.c).
 * - "clip": the shared clip through mtcnnfacedetect: detector CPU per
 *   frame, and the frames on which a face that full scans find on every
 *   frame (interval 1) is missing.
 * - "static": a 1280x720 scene that does not change, with one face, with
 *   none, and with one face and sensor noise (sigma 4 levels): detector
 *   CPU per frame.
 * - "appear": 1280x720, a face appears after 1, 2, ... 10 frames away (so
 *   at every phase of the interval) and leaves again 9 frames later,
 *   beside a face that stays or in an empty scene: mean and max delay in
 *   frames from its appearance to the first frame that reports it.
 *
 * Detector CPU is the streaming thread's CPU time inside mtcnnfacedetect.
 * A program, not a test.
 *
 *   bench-track [--runs N]
 */
#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv-config.h"
#include "fv.h"
#include "fv-bench-frames.h"
#include "fv-bench-util.h"
#include "fv-plugin-bench.h"

#define FW 1280
#define FH 720
#define N_PHOTOS 8
#define CROP_W 220              /* pasted crop width: faces of ~120 px */
#define MAX_FRAMES 512
#define SHOWN 9                 /* appear: frames the new face stays */

static const guint intervals[] = { 1, 3, 5, 10 };

typedef struct
{
  FvPluginBenchClock clock;
  guint frames;
  guint8 faces[MAX_FRAMES];     /* ROIs per frame */
  guint8 right[MAX_FRAMES];     /* ROIs in the right half (appear) */
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
    while ((m = gst_buffer_iterate_meta_filtered (buf, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *r = (GstVideoRegionOfInterestMeta *) m;
      w->faces[w->frames]++;
      if (r->x + r->w / 2 > FW / 2)
        w->right[w->frames]++;
    }
  }
  w->frames++;
  return GST_PAD_PROBE_OK;
}

static void
watch_element (GstElement * e, gpointer w)
{
  fv_plugin_bench_clock_watch (e, &((Watch *) w)->clock, leave_probe, w);
}

/* Crops of the first N_PHOTOS deepface photos (distinct people) that have
 * exactly one reference face, around that face, CROP_W wide, RGB. */
static gboolean
load_photos (const char *shared, GdkPixbuf ** out)
{
  g_autofree gchar *csv = g_build_filename (shared, "golden",
      "dev_faces_mtcnn_reference.csv", NULL);
  g_autofree gchar *dir = g_build_filename (shared, "data", "faces",
      "deepface", NULL);
  FvBenchFace faces[N_PHOTOS];
  guint n;

  if (!fv_bench_read_faces (csv, FV_BENCH_CSV_GOLDEN, dir, faces, N_PHOTOS,
          NULL))
    return FALSE;
  for (n = 0; n < N_PHOTOS; n++) {
    GdkPixbuf *raw = faces[n].image, *sub;
    double x1 = faces[n].x, y1 = faces[n].y, x2 = x1 + faces[n].w;
    double y2 = y1 + faces[n].h, m = 0.4 * MAX (x2 - x1, y2 - y1);
    int cx, cy, cw, ch;

    cx = MAX (0, (int) (x1 - m));
    cy = MAX (0, (int) (y1 - m));
    cw = MIN (gdk_pixbuf_get_width (raw), (int) (x2 + m)) - cx;
    ch = MIN (gdk_pixbuf_get_height (raw), (int) (y2 + m)) - cy;
    sub = gdk_pixbuf_new_subpixbuf (raw, cx, cy, cw, ch);
    out[n] = gdk_pixbuf_scale_simple (sub, CROP_W,
        MIN (340, CROP_W * ch / cw), GDK_INTERP_BILINEAR);
    g_object_unref (sub);
    g_object_unref (raw);
  }
  return TRUE;
}

/* Pastes photo @p with its top left at (@x0, @y0), cut by the edges. */
static void
paste_at (guint8 * rgb, GdkPixbuf * p, int x0, int y0)
{
  fv_bench_paste (rgb, FW, FH, p, x0, y0);
}

/* Pastes photo @p with its top left at cell @cell of a 4 x 2 grid. */
static void
paste (guint8 * rgb, GdkPixbuf * p, guint cell)
{
  paste_at (rgb, p, (cell % 4) * (FW / 4) + 50, (cell / 4) * (FH / 2) + 10);
}

static double
iou (const FvDetection * a, const FvDetection * b)
{
  double w = MIN (a->x2, b->x2) - MAX (a->x1, b->x1);
  double h = MIN (a->y2, b->y2) - MAX (a->y1, b->y1);

  if (w <= 0 || h <= 0)
    return 0;
  return w * h / ((a->x2 - a->x1) * (a->y2 - a->y1)
      + (b->x2 - b->x1) * (b->y2 - b->y1) - w * h);
}

/* Whether tracking @prev on @rgb finds the face a full scan finds there
 * (IoU > 0.7); -1 when the full scan finds none. */
static int
found_again (FvDetector * d, const guint8 * rgb, const FvDetection * prev)
{
  const guint8 *planes[1] = { rgb };
  gint strides[1] = { FW * 3 };
  FvDetection want, got;
  FvFrame f;

  fv_frame_init (&f, FV_PIXEL_FORMAT_RGB, FW, FH, planes, strides, NULL);
  if (fv_detector_detect (d, &f, &want, 1) == 0)
    return -1;
  return fv_detector_track (d, &f, prev, 1, &got, 1) == 1
      && iou (&want, &got) > 0.7;
}

/* How far a face may move or change size between two detector runs and
 * still be tracked: each photo's face is moved on a grid of tenths of its
 * size, and scaled about its centre. */
static void
bench_reach (GdkPixbuf ** photos)
{
  static const double scales[] = { 0.75, 0.8, 0.87, 0.93, 1.07, 1.15, 1.25,
    1.33
  };
  g_autoptr (GError) err = NULL;
  FvDetector *d = fv_detector_new (NULL, &err);
  g_autofree guint8 *a = g_malloc ((gsize) FW * FH * 3);
  guint found[9][9] = { {0} }, tried[9][9] = { {0} };
  guint sfound[G_N_ELEMENTS (scales)] = { 0 }, stried[G_N_ELEMENTS (scales)]
  = { 0 };
  guint i, k;
  int x, y;

  if (!d)
    return;
  for (i = 0; i < N_PHOTOS; i++) {
    int pw = gdk_pixbuf_get_width (photos[i]);
    int ph = gdk_pixbuf_get_height (photos[i]);
    FvDetection prev;
    const guint8 *planes[1] = { a };
    gint strides[1] = { FW * 3 };
    FvFrame f;
    float size, cx, cy;

    memset (a, 110, (gsize) FW * FH * 3);
    paste_at (a, photos[i], 500, 150);
    fv_frame_init (&f, FV_PIXEL_FORMAT_RGB, FW, FH, planes, strides, NULL);
    if (fv_detector_detect (d, &f, &prev, 1) == 0)
      continue;
    size = prev.x2 - prev.x1;
    cx = 0.5f * (prev.x1 + prev.x2) - 500;
    cy = 0.5f * (prev.y1 + prev.y2) - 150;
    for (x = -4; x <= 4; x++)
      for (y = -4; y <= 4; y++) {
        int r;

        memset (a, 110, (gsize) FW * FH * 3);
        paste_at (a, photos[i], 500 + (int) (x * 0.1 * size),
            150 + (int) (y * 0.1 * size));
        r = found_again (d, a, &prev);
        if (r >= 0) {
          tried[y + 4][x + 4]++;
          found[y + 4][x + 4] += r;
        }
      }
    for (k = 0; k < G_N_ELEMENTS (scales); k++) {
      double z = scales[k];
      GdkPixbuf *s = gdk_pixbuf_scale_simple (photos[i], (int) (pw * z),
          (int) (ph * z), GDK_INTERP_BILINEAR);
      int r;

      memset (a, 110, (gsize) FW * FH * 3);
      paste_at (a, s, 500 + (int) (cx - cx * z), 150 + (int) (cy - cy * z));
      g_object_unref (s);
      r = found_again (d, a, &prev);
      if (r >= 0) {
        stried[k]++;
        sfound[k] += r;
      }
    }
  }
  printf ("\nreach: faces tracked again (IoU > 0.7 with a full scan) of %u, "
      "moved by tenths of their size\n     dx", N_PHOTOS);
  for (x = -4; x <= 4; x++)
    printf (" %+5.1f", x * 0.1);
  printf ("\n");
  for (y = 0; y < 9; y++) {
    printf ("dy %+3.1f", (y - 4) * 0.1);
    for (x = 0; x < 9; x++)
      printf (" %2u/%-2u", found[y][x], tried[y][x]);
    printf ("\n");
  }
  printf ("scaled:");
  for (k = 0; k < G_N_ELEMENTS (scales); k++)
    printf (" %.2fx %u/%u", scales[k], sfound[k], stried[k]);
  printf ("\n");
  fv_detector_free (d);
}

/* A grey frame with the photos of the cells set in @cells (bit i: photo i
 * in cell i). */
static guint8 *
scene (GdkPixbuf ** photos, guint cells)
{
  guint8 *rgb = g_malloc ((gsize) FW * FH * 3);
  guint i;

  memset (rgb, 110, (gsize) FW * FH * 3);
  for (i = 0; i < N_PHOTOS; i++)
    if (cells & (1u << i))
      paste (rgb, photos[i], i);
  return rgb;
}

static double
median_ms (double *v, guint n)
{
  return fv_bench_stats (v, n).median;
}

static void
bench_detector (GdkPixbuf ** photos, guint runs)
{
  static const guint counts[] = { 0, 1, 4, 8 };
  g_autoptr (GError) err = NULL;
  FvDetector *d = fv_detector_new (NULL, &err);
  FvDetection faces[16], tracked[16];
  double full[G_N_ELEMENTS (counts)], track[G_N_ELEMENTS (counts)];
  guint c, r;

  if (!d) {
    fprintf (stderr, "bench-track: %s\n", err->message);
    exit (1);
  }
  printf ("\ndetector at %dx%d (thread CPU ms per frame, median of %u)\n"
      "faces  found  full-scan  tracked  tracked/full\n", FW, FH, runs);
  for (c = 0; c < G_N_ELEMENTS (counts); c++) {
    g_autofree guint8 *rgb = scene (photos, (1u << counts[c]) - 1);
    g_autofree double *tf = g_new (double, runs);
    g_autofree double *tt = g_new (double, runs);
    const guint8 *planes[1] = { rgb };
    gint strides[1] = { FW * 3 };
    FvFrame frame;
    guint n = 0, nt = 0;

    fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, FW, FH, planes, strides, NULL);
    n = fv_detector_detect (d, &frame, faces, 16);
    for (r = 0; r < runs; r++) {
      guint64 t0 = fv_bench_thread_cpu_ns (), t1;

      n = fv_detector_detect (d, &frame, faces, 16);
      t1 = fv_bench_thread_cpu_ns ();
      nt = fv_detector_track (d, &frame, faces, n, tracked, 16);
      tt[r] = (fv_bench_thread_cpu_ns () - t1) / 1e6;
      tf[r] = (t1 - t0) / 1e6;
    }
    full[c] = median_ms (tf, runs);
    track[c] = median_ms (tt, runs);
    printf ("%5u  %2u/%-2u  %9.2f  %7.2f  %11.2f\n", counts[c], nt, n,
        full[c], track[c], full[c] > 0 ? track[c] / full[c] : 0.0);
  }
  printf ("per face (8 faces vs 0): full scan +%.2f ms, tracked +%.2f ms\n",
      (full[3] - full[0]) / 8, (track[3] - track[0]) / 8);
  fv_detector_free (d);
}

static GstHarness *
harness (guint k, Watch * w)
{
  g_autofree gchar *desc = g_strdup_printf ("mtcnnfacedetect "
      "full-scan-interval=%u", k);
  GstHarness *h = gst_harness_new_parse (desc);
  GstElement *e = gst_harness_find_element (h, "mtcnnfacedetect");

  watch_element (e, w);
  gst_object_unref (e);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=1280,"
      "height=720,framerate=10/1");
  return h;
}

static void
push (GstHarness * h, const guint8 * rgb, guint i)
{
  GstBuffer *buf = gst_buffer_new_memdup (rgb, (gsize) FW * FH * 3);

  GST_BUFFER_PTS (buf) = i * GST_SECOND / 10;
  if (gst_harness_push (h, buf) != GST_FLOW_OK)
    exit (1);
  gst_buffer_unref (gst_harness_pull (h));
}

/* Detector CPU per frame on @frames frames of one unchanging scene. */
static double
run_static (const guint8 * rgb, guint k, guint frames)
{
  Watch w = { 0 };
  GstHarness *h = harness (k, &w);
  guint i;

  for (i = 0; i < frames; i++)
    push (h, rgb, i);
  gst_harness_teardown (h);
  return w.clock.total_ns / 1e6 / w.frames;
}

/* run_static() with sensor noise: each frame is one of 4 copies of @rgb
 * with Gaussian noise of sigma 4 levels (made before the run). */
static double
run_noisy (const guint8 * rgb, guint k, guint frames)
{
  gsize size = (gsize) FW * FH * 3, j;
  g_autofree guint8 *noisy = g_malloc (4 * size);
  GRand *rand = g_rand_new_with_seed (11);
  Watch w = { 0 };
  GstHarness *h;
  guint i;

  for (j = 0; j < 4 * size; j++) {
    /* Box-Muller */
    double u = 1.0 - g_rand_double (rand), v = g_rand_double (rand);
    double n = 4.0 * sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);

    noisy[j] = (guint8) CLAMP (rgb[j % size] + n + 0.5, 0.0, 255.0);
  }
  g_rand_free (rand);
  h = harness (k, &w);
  for (i = 0; i < frames; i++)
    push (h, noisy + (i % 4) * size, i);
  gst_harness_teardown (h);
  return w.clock.total_ns / 1e6 / w.frames;
}

/* The appear sequence: absent for 1, 2, ... @cycles frames in turn (the
 * face's leaving is a lost face, which makes a full scan: the gaps put its
 * return at every phase of the interval), then shown for SHOWN frames.
 * Returns the CPU per frame and the delays. */
static double
run_appear (GdkPixbuf ** photos, gboolean beside, guint k, guint cycles,
    double *mean_delay, guint * max_delay, guint * missed)
{
  Watch w = { 0 };
  GstHarness *h = harness (k, &w);
  g_autofree guint8 *without = scene (photos, beside ? 1 : 0);
  g_autofree guint8 *with = scene (photos, (beside ? 1 : 0) | (1u << 6));
  g_autofree guint *start = g_new (guint, cycles);
  guint c, f, i = 0, sum = 0, found = 0;

  *max_delay = 0;
  *missed = 0;
  for (c = 0; c < cycles; c++) {
    for (f = 0; f < 1 + c; f++)
      push (h, without, i++);
    start[c] = i;
    for (f = 0; f < SHOWN; f++)
      push (h, with, i++);
  }
  gst_harness_teardown (h);
  for (c = 0; c < cycles; c++) {
    for (f = 0; f < SHOWN && !w.right[start[c] + f]; f++);
    if (f == SHOWN) {
      (*missed)++;
      continue;
    }
    sum += f;
    found++;
    *max_delay = MAX (*max_delay, f);
  }
  *mean_delay = found ? (double) sum / found : 0;
  return w.clock.total_ns / 1e6 / w.frames;
}

static gboolean
run_clip (const char *clip, guint k, Watch * w)
{
  g_autofree gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! "
      "avidemux ! jpegdec ! videoconvert ! mtcnnfacedetect name=watched "
      "full-scan-interval=%u ! fakesink sync=false", clip, k);

  return fv_plugin_bench_play ("bench-track", desc, watch_element, w);
}

static void
bench_clip (const char *clip, guint runs)
{
  Watch base = { 0 };
  guint i, r, f;
  double med;

  printf ("\nclip (%s): detector CPU ms per frame (median of %u), frames "
      "where a face of the full scans is missing / extra\n"
      "interval  cpu/frame  vs-1   missing  extra\n", clip, runs);
  for (i = 0; i < G_N_ELEMENTS (intervals); i++) {
    g_autofree double *ms = g_new (double, runs);
    guint missing = 0, extra = 0;
    Watch first = { 0 };

    for (r = 0; r < runs; r++) {
      Watch w = { 0 };
      if (!run_clip (clip, intervals[i], &w) || w.frames == 0)
        exit (1);
      ms[r] = w.clock.total_ns / 1e6 / w.frames;
      if (r == 0)
        first = w;
    }
    if (i == 0) {
      base = first;
      base.clock.total_ns = (gint64) (median_ms (ms, runs) * 1e6);
    }
    for (f = 0; f < MIN (first.frames, MAX_FRAMES); f++) {
      missing += first.faces[f] < base.faces[f];
      extra += first.faces[f] > base.faces[f];
    }
    med = median_ms (ms, runs);
    printf ("%8u  %9.2f  %4.2fx  %7u  %5u   (%u frames)\n", intervals[i],
        med, med / (base.clock.total_ns / 1e6), missing, extra, first.frames);
  }
}

int
main (int argc, char **argv)
{
  gint runs = 3;
  gboolean detector_only = FALSE;
  GOptionEntry entries[] = {
    {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per measure (CPU median)",
        "N"},
    {"detector-only", 0, 0, G_OPTION_ARG_NONE, &detector_only,
        "Only the detector table", NULL},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- full-scan-interval");
  const char *shared = g_getenv ("FV_SHARED_DIR") ?
      g_getenv ("FV_SHARED_DIR") : FV_DEFAULT_SHARED_DIR;
  g_autofree gchar *clip = g_build_filename (shared, "data", "video",
      "clip_mjpeg.avi", NULL);
  GdkPixbuf *photos[N_PHOTOS];
  guint i, p, r;

  if (!fv_plugin_bench_parse ("bench-track", ctx, entries, &argc, &argv))
    return 2;
  runs = MAX (runs, 1);
  if (!load_photos (shared, photos)) {
    fprintf (stderr, "bench-track: shared data missing\n");
    return 1;
  }
  printf ("bench-track: CPU level %s, %u processors; thread CPU time\n",
      fv_isa_name (fv_isa_best ()), g_get_num_processors ());

  bench_detector (photos, 5 * runs);
  bench_reach (photos);
  if (detector_only)
    return 0;
  bench_clip (clip, runs);

  printf ("\nstatic 1280x720 scene, 40 frames: detector CPU ms per frame "
      "(median of %d)\ninterval  one-face  vs-1   empty  vs-1   noisy  vs-1\n",
      runs);
  {
    g_autofree guint8 *one = scene (photos, 1);
    g_autofree guint8 *none = scene (photos, 0);
    double b1 = 0, b0 = 0, bn = 0;

    for (i = 0; i < G_N_ELEMENTS (intervals); i++) {
      g_autofree double *m1 = g_new (double, runs);
      g_autofree double *m0 = g_new (double, runs);
      g_autofree double *mn = g_new (double, runs);
      for (r = 0; r < (guint) runs; r++) {
        m1[r] = run_static (one, intervals[i], 40);
        m0[r] = run_static (none, intervals[i], 40);
        mn[r] = run_noisy (one, intervals[i], 40);
      }
      if (i == 0) {
        b1 = median_ms (m1, runs);
        b0 = median_ms (m0, runs);
        bn = median_ms (mn, runs);
      }
      printf ("%8u  %8.2f  %4.2fx  %6.2f  %4.2fx  %6.2f  %4.2fx\n",
          intervals[i], median_ms (m1, runs), median_ms (m1, runs) / b1,
          median_ms (m0, runs), median_ms (m0, runs) / b0,
          median_ms (mn, runs), median_ms (mn, runs) / bn);
    }
  }

  for (p = 0; p < 2; p++) {
    printf ("\nappear %s: a face appears after 1, 2, ... 10 frames away, "
        "for %u frames: delay in frames to its first report, detector "
        "CPU ms per frame\ninterval  mean-delay  max-delay  missed  "
        "cpu/frame\n", p ? "in an empty scene" : "beside a tracked face",
        SHOWN);
    for (i = 0; i < G_N_ELEMENTS (intervals); i++) {
      double mean, ms;
      guint max, missed;

      ms = run_appear (photos, !p, intervals[i], 10, &mean, &max, &missed);
      printf ("%8u  %10.2f  %9u  %6u  %9.2f\n", intervals[i], mean, max,
          missed, ms);
    }
  }
  for (i = 0; i < N_PHOTOS; i++)
    g_object_unref (photos[i]);
  gst_deinit ();
  return 0;
}

/* bench-elements: what a face and an empty frame cost in a real pipeline,
 *
 *   appsrc ! mtcnnfacedetect ! faceverify gallery-file=G ! fakesink
 *
 * with every other property at its default (whatever defaults the build
 * under test has: detection and reidentify intervals, tracking), at
 * 640x480 and 1280x720 with 0, 1, 4 and 8 faces on a plain and on a
 * textured background (the frames of bench-pipeline, fv-bench-frames.h).
 * The faces drift by a pixel per frame (a triangle wave of +-6 px, the
 * vertical half as fast), as people in front of a camera do.
 *
 * Prints per row the process CPU time (getrusage: every thread of the
 * process, so the elements' worker threads count; on a busy machine wall
 * time would count other programs) per frame over the steady state (the
 * frames after --warmup), and the mean count per frame of faces found
 * (ROI metas) and of faces identified as the right person (the face_id
 * parameter of the ROI: known, with the label of the photo pasted in that
 * cell), so that a broken pipeline cannot look fast. Then per size and
 * background the per-face increment (least-squares slope over the face
 * counts) and the empty frame's CPU.
 *
 * The gallery (SQLite, made once with this tree's library when the file
 * does not exist) holds the 8 pasted people (their faces embedded from
 * the 8-face frames at both sizes) and synthetic others up to 1000
 * identities. The program itself drives the pipeline with GStreamer's
 * public API only, so --plugin-dir can point it at any build's plugin
 * folder (an older commit's build/plugin): tests/bench/compare-builds.sh
 * --elements OLD runs the old and the new plugin side by side. A program,
 * not a test (it asserts nothing about time; it fails when a pipeline
 * does); lines starting with "row" and "slope" are for that script. The
 * default run (100 frames per row, 16 rows) takes 40 to 80 s of CPU.
 *
 *   bench-elements [--plugin-dir DIR] [--gallery G.db] [--frames N]
 *                  [--warmup W] [--size 640x480|1280x720|both]
 *                  [--background plain|textured|both] [--data DIR]
 */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fv-config.h"
#include "fv.h"
#include "fv-bench-util.h"
#include "fv-bench-frames.h"
#include "fv-plugin-bench.h"

#define GALLERY_SIZE 1000
#define SAMPLES_PER_PERSON G_N_ELEMENTS (fv_bench_sizes)
#define DRIFT 6                 /* pixels either side of the cell centre */
#define PERIOD (4 * DRIFT)      /* frames of one back-and-forth */

typedef struct
{
  GMutex lock;
  GCond cond;
  guint w, h, warmup;
  guint frames;                 /* frames that reached the sink */
  guint64 found, identified, wrong;     /* summed over the steady state */
} RunState;

/* The triangle wave of the drift: 0, 1, .. DRIFT, .. -DRIFT, .. 0. */
static gint
drift (guint t)
{
  gint p = (gint) (t % PERIOD);

  if (p <= DRIFT)
    return p;
  if (p <= 3 * DRIFT)
    return 2 * DRIFT - p;
  return p - PERIOD;
}

static gchar *
person_label (guint cell)
{
  return g_strdup_printf ("person%u", cell);
}

/* One embedding per face found on the 8-face plain frame at each size,
 * filed under the person of the cell it was found in. */
static gboolean
embed_people (const FvBenchPhoto * photos, FvEmbedder * emb, float *people,
    guint * n_per_person, GError ** error)
{
  g_autoptr (FvDetector) det = NULL;
  g_autoptr (FvAligner) aligner = fv_aligner_new ();
  g_autofree float *tensor = g_new (float, FV_EMBED_SIZE * FV_EMBED_SIZE * 3);
  guint dim = fv_embedder_get_dim (emb), si, k, p;
  FvDetectorOptions opts;

  fv_detector_options_init (&opts);
  det = fv_detector_new (&opts, error);
  if (!det)
    return FALSE;
  for (si = 0; si < G_N_ELEMENTS (fv_bench_sizes); si++) {
    const guint w = fv_bench_sizes[si].w, h = fv_bench_sizes[si].h;
    g_autofree guint8 *rgb = g_new (guint8, (gsize) w * h * 3);
    const guint8 *planes[3] = { rgb, NULL, NULL };
    gint strides[3] = { (gint) w * 3, 0, 0 };
    FvDetection faces[FV_BENCH_MAX_FACES];
    FvFrame frame;
    guint found;

    fv_bench_fill_background (rgb, w, h, FALSE);
    fv_bench_paste_faces (rgb, w, h, fv_bench_sizes[si].face, photos,
        FV_BENCH_MAX_FACES, 0, 0);
    if (!fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes, strides,
            error))
      return FALSE;
    found = fv_detector_detect (det, &frame, faces, FV_BENCH_MAX_FACES);
    for (k = 0; k < found; k++) {
      guint cell = fv_bench_cell_at ((guint) ((faces[k].x1 + faces[k].x2) / 2),
          (guint) ((faces[k].y1 + faces[k].y2) / 2), w, h);
      float *dst;

      if (n_per_person[cell] >= SAMPLES_PER_PERSON)
        continue;
      dst = people + ((gsize) cell * SAMPLES_PER_PERSON
          + n_per_person[cell]++) * dim;
      if (!fv_aligner_align_tensor (aligner, &frame, faces[k].landmarks,
              tensor))
        fv_aligner_crop_box_tensor (aligner, &frame, faces[k].x1,
            faces[k].y1, faces[k].x2, faces[k].y2, FV_BOX_CROP_MARGIN, tensor);
      fv_embedder_embed_tensor (emb, 1, tensor, dst);
    }
  }
  for (p = 0; p < FV_BENCH_MAX_FACES; p++)
    if (n_per_person[p] == 0) {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
          "the detector found no face of person %u to enroll", p);
      return FALSE;
    }
  return TRUE;
}

/* Random unit vectors (seeded, so every gallery is the same). */
static void
fill_strangers (float *v, guint n, guint dim)
{
  guint i, j;

  fv_bench_fill_input (v, (gsize) n * dim);
  for (i = 0; i < n; i++) {
    double ss = 0;
    for (j = 0; j < dim; j++)
      ss += (double) v[i * dim + j] * v[i * dim + j];
    for (j = 0; j < dim; j++)
      v[i * dim + j] /= (float) sqrt (ss);
  }
}

/* Writes the gallery to @path (through a temporary file, so that an
 * interrupted run leaves none behind). */
static gboolean
make_gallery (const char *path, const FvBenchPhoto * photos, GError ** error)
{
  g_autofree char *model = fv_find_model ("MobileFaceNet.tflite");
  g_autofree char *tmp = g_strconcat (path, ".part", NULL);
  g_autoptr (FvEmbedder) emb = NULL;
  g_autofree float *people = NULL, *strangers = NULL;
  g_autofree FvGallerySample *samples = NULL;
  g_autofree FvGalleryEnrollment *en = NULL;
  g_auto (GStrv) labels = g_new0 (char *, GALLERY_SIZE + 1);
  guint n_per_person[FV_BENCH_MAX_FACES] = { 0 };
  const guint n_strangers = GALLERY_SIZE - FV_BENCH_MAX_FACES;
  FvGallery *g;
  guint dim, i;
  gboolean ok;

  if (!model) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
        "MobileFaceNet.tflite not found (FV_MODEL_DIR)");
    return FALSE;
  }
  emb = fv_embedder_new (model, error);
  if (!emb)
    return FALSE;
  dim = fv_embedder_get_dim (emb);
  people = g_new (float, (gsize) FV_BENCH_MAX_FACES * SAMPLES_PER_PERSON * dim);
  if (!embed_people (photos, emb, people, n_per_person, error))
    return FALSE;
  strangers = g_new (float, (gsize) n_strangers * dim);
  fill_strangers (strangers, n_strangers, dim);
  samples = g_new0 (FvGallerySample, FV_BENCH_MAX_FACES * SAMPLES_PER_PERSON
      + n_strangers);
  en = g_new0 (FvGalleryEnrollment, GALLERY_SIZE);
  for (i = 0; i < GALLERY_SIZE; i++) {
    FvGallerySample *s = samples + (i < FV_BENCH_MAX_FACES
        ? i * SAMPLES_PER_PERSON : FV_BENCH_MAX_FACES * SAMPLES_PER_PERSON
        + i - FV_BENCH_MAX_FACES);
    guint k, n = i < FV_BENCH_MAX_FACES ? n_per_person[i] : 1;

    labels[i] = i < FV_BENCH_MAX_FACES ? person_label (i)
        : g_strdup_printf ("stranger%u", i);
    for (k = 0; k < n; k++) {
      s[k].embedding = i < FV_BENCH_MAX_FACES
          ? people + ((gsize) i * SAMPLES_PER_PERSON + k) * dim
          : strangers + (gsize) (i - FV_BENCH_MAX_FACES) * dim;
      s[k].quality = -1.0f;
      s[k].source = "bench-elements";
    }
    en[i].label = labels[i];
    en[i].samples = s;
    en[i].n_samples = n;
  }
  g_unlink (tmp);
  g = fv_gallery_open (tmp, FV_GALLERY_OPEN_CREATE,
      fv_embedder_get_fingerprint (emb), dim, error);
  if (!g)
    return FALSE;
  ok = fv_gallery_enroll_batch (g, en, GALLERY_SIZE, FV_GALLERY_ENROLL_APPEND,
      error);
  fv_gallery_free (g);
  if (ok && g_rename (tmp, path) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot rename %s: %s", tmp, g_strerror (errno));
    ok = FALSE;
  }
  return ok;
}

/* Counts the frames, and after the warm-up the faces found and the ones
 * named right (the photo of cell i is person i). */
static GstPadProbeReturn
sink_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  RunState *st = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstVideoRegionOfInterestMeta *roi;
  gpointer iter = NULL;
  guint found = 0, right = 0, wrong = 0;

  while ((roi = (GstVideoRegionOfInterestMeta *)
          gst_buffer_iterate_meta_filtered (buf, &iter,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstStructure *id = gst_video_region_of_interest_meta_get_param (roi,
        "face_id");
    gboolean known = FALSE;
    const gchar *label;

    found++;
    if (!id || !gst_structure_get_boolean (id, "known", &known) || !known)
      continue;
    label = gst_structure_get_string (id, "label");
    {
      g_autofree gchar *want = person_label (fv_bench_cell_at (roi->x +
              roi->w / 2, roi->y + roi->h / 2, st->w, st->h));
      if (g_strcmp0 (label, want) == 0)
        right++;
      else
        wrong++;
    }
  }
  g_mutex_lock (&st->lock);
  if (st->frames >= st->warmup) {
    st->found += found;
    st->identified += right;
    st->wrong += wrong;
  }
  st->frames++;
  g_cond_broadcast (&st->cond);
  g_mutex_unlock (&st->lock);
  return GST_PAD_PROBE_OK;
}

/* "name=value" of the element's own numeric, boolean and enum settings
 * (the defaults this build runs with). */
static void
print_defaults (GstElement * e)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (e);
  g_autofree GParamSpec **props = NULL;
  guint n, i;

  props = g_object_class_list_properties (klass, &n);
  g_print ("# %s:", GST_OBJECT_NAME (gst_element_get_factory (e)));
  for (i = 0; i < n; i++) {
    GType t = G_PARAM_SPEC_VALUE_TYPE (props[i]);
    GValue v = G_VALUE_INIT;
    g_autofree gchar *s = NULL;

    if ((props[i]->flags & G_PARAM_READWRITE) != G_PARAM_READWRITE
        || t == G_TYPE_STRING || G_TYPE_IS_OBJECT (t) || G_TYPE_IS_BOXED (t)
        || t == G_TYPE_POINTER || props[i]->owner_type != G_OBJECT_TYPE (e))
      continue;
    g_value_init (&v, t);
    g_object_get_property (G_OBJECT (e), props[i]->name, &v);
    if (G_VALUE_HOLDS_DOUBLE (&v))
      s = g_strdup_printf ("%g", g_value_get_double (&v));
    else if (G_VALUE_HOLDS_FLOAT (&v))
      s = g_strdup_printf ("%g", g_value_get_float (&v));
    else
      s = gst_value_serialize (&v);
    g_print (" %s=%s", props[i]->name, s ? s : "?");
    g_value_unset (&v);
  }
  g_print ("\n");
}

/* Waits until @n frames reached the sink; FALSE on an error message or
 * after 10 minutes. */
static gboolean
wait_frames (RunState * st, GstBus * bus, guint n)
{
  gint64 give_up = g_get_monotonic_time () + 600 * G_TIME_SPAN_SECOND;
  gboolean ok = TRUE;

  g_mutex_lock (&st->lock);
  while (st->frames < n && ok) {
    gint64 until = g_get_monotonic_time () + G_TIME_SPAN_SECOND / 10;
    GstMessage *m;

    g_cond_wait_until (&st->cond, &st->lock, until);
    if (until > give_up) {
      g_printerr ("bench-elements: frames stopped at %u\n", st->frames);
      ok = FALSE;
    }
    m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (m) {
      g_autoptr (GError) err = NULL;
      gst_message_parse_error (m, &err, NULL);
      g_printerr ("bench-elements: %s\n", err->message);
      gst_message_unref (m);
      ok = FALSE;
    }
  }
  g_mutex_unlock (&st->lock);
  return ok;
}

/* @n_frames frames of the drifting faces, with one buffer per frame. */
static guint8 **
build_frames (guint si, gboolean textured, guint nf,
    const FvBenchPhoto * photos)
{
  const guint w = fv_bench_sizes[si].w, h = fv_bench_sizes[si].h;
  const gsize size = (gsize) w * h * 3;
  g_autofree guint8 *bg = g_new (guint8, size);
  guint8 **frames = g_new (guint8 *, PERIOD);
  guint t;

  fv_bench_fill_background (bg, w, h, textured);
  for (t = 0; t < PERIOD; t++) {
    frames[t] = g_memdup2 (bg, size);
    fv_bench_paste_faces (frames[t], w, h, fv_bench_sizes[si].face, photos,
        nf, drift (t), drift (t + DRIFT) / 2);
  }
  return frames;
}

static void
free_frames (guint8 ** frames)
{
  guint t;

  for (t = 0; t < PERIOD; t++)
    g_free (frames[t]);
  g_free (frames);
}

static gboolean
push (GstElement * src, guint8 * data, gsize size, guint i)
{
  GstBuffer *buf = gst_buffer_new_wrapped_full (0, data, size, 0, size,
      NULL, NULL);
  GstFlowReturn ret;

  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (i, GST_SECOND, 30);
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (1, GST_SECOND, 30);
  g_signal_emit_by_name (src, "push-buffer", buf, &ret);
  gst_buffer_unref (buf);
  return ret == GST_FLOW_OK;
}

/* One row: the CPU ms per frame after the warm-up; fills @st. Negative
 * when the pipeline failed. */
static double
run_row (guint si, gboolean textured, guint nf, const char *gallery,
    const FvBenchPhoto * photos, guint n_frames, RunState * st,
    gboolean show_defaults)
{
  const guint w = fv_bench_sizes[si].w, h = fv_bench_sizes[si].h;
  g_autofree gchar *desc = g_strdup_printf ("appsrc name=src format=time "
      "block=true max-bytes=%u caps=video/x-raw,format=RGB,width=%u,"
      "height=%u,framerate=30/1 ! mtcnnfacedetect name=det ! faceverify "
      "name=fv ! fakesink name=sink sync=false", w * h * 3 * 2, w, h);
  g_autoptr (GError) err = NULL;
  GstElement *p, *src, *fv, *det, *sink;
  GstBus *bus;
  GstPad *pad;
  GstMessage *m;
  guint8 **frames = build_frames (si, textured, nf, photos);
  guint64 cpu0 = 0, cpu1;
  GstFlowReturn eos_ret;
  gboolean ok = TRUE;
  guint i;

  p = gst_parse_launch (desc, &err);
  /* a missing element is an error with a partial pipeline */
  if (!p || err) {
    g_printerr ("bench-elements: %s\n", err->message);
    if (p)
      gst_object_unref (p);
    free_frames (frames);
    return -1;
  }
  src = gst_bin_get_by_name (GST_BIN (p), "src");
  fv = gst_bin_get_by_name (GST_BIN (p), "fv");
  det = gst_bin_get_by_name (GST_BIN (p), "det");
  sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  g_object_set (fv, "gallery-file", gallery, NULL);
  if (show_defaults) {
    print_defaults (det);
    print_defaults (fv);
  }
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sink_probe, st, NULL);
  gst_object_unref (pad);
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  for (i = 0; i < n_frames && ok; i++) {
    if (i == st->warmup) {
      ok = wait_frames (st, bus, st->warmup);
      cpu0 = fv_bench_process_cpu_ns ();
    }
    ok = ok && push (src, frames[i % PERIOD], (gsize) w * h * 3, i);
  }
  g_signal_emit_by_name (src, "end-of-stream", &eos_ret);
  /* after an error no EOS comes; a pipeline that hangs is a failed row */
  m = ok ? gst_bus_timed_pop_filtered (bus, 600 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR) : NULL;
  cpu1 = fv_bench_process_cpu_ns ();
  if (ok && !m) {
    g_printerr ("bench-elements: no end of stream after 10 minutes\n");
    ok = FALSE;
  }
  if (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) e2 = NULL;
    gst_message_parse_error (m, &e2, NULL);
    g_printerr ("bench-elements: %s\n", e2->message);
    ok = FALSE;
  }
  if (m)
    gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (fv);
  gst_object_unref (det);
  gst_object_unref (sink);
  gst_object_unref (p);
  free_frames (frames);
  if (!ok || st->frames != n_frames)
    return -1;
  return (cpu1 - cpu0) / 1e6 / (n_frames - st->warmup);
}

/* --plugin-dir: that folder's plugin (and the stock appsrc and fakesink),
 * with a registry of its own. Runs while the command line is parsed,
 * before GStreamer reads its environment. */
static gboolean
set_plugin_dir (const gchar * name, const gchar * value, gpointer data,
    GError ** error)
{
  g_autofree gchar *path = g_strconcat (value, ":", FV_STOCK_PLUGIN_DIR,
      NULL);
  g_autofree gchar *file = g_strdup_printf ("registry-bench-elements-%08x.bin",
      g_str_hash (value));
  g_autofree gchar *reg = g_build_filename (FV_BENCH_REGISTRY_DIR, file, NULL);

  g_setenv ("GST_PLUGIN_PATH_1_0", path, TRUE);
  g_setenv ("GST_REGISTRY_1_0", reg, TRUE);
  return TRUE;
}

static gboolean
wanted (const char *choice, const char *name)
{
  return !choice || strcmp (choice, "both") == 0 || strcmp (choice, name) == 0;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *gallery = NULL, *data_dir = NULL, *size = NULL;
  g_autofree gchar *bg = NULL;
  gint n_frames = 100, warmup = 20;
  FvBenchPhoto photos[FV_BENCH_MAX_FACES] = { {NULL} };
  gboolean first = TRUE;
  guint si, b, fi;
  int status = 0;
  GOptionEntry entries[] = {
    {"plugin-dir", 0, 0, G_OPTION_ARG_CALLBACK, set_plugin_dir,
        "the folder of the plugin to measure (default this build's)", "DIR"},
    {"gallery", 0, 0, G_OPTION_ARG_FILENAME, &gallery,
          "the SQLite gallery (made when missing; default in the build tree)",
        "G.db"},
    {"frames", 'n', 0, G_OPTION_ARG_INT, &n_frames,
        "frames per row, default 100", "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_INT, &warmup,
        "frames before the clock starts, default 20", "W"},
    {"size", 0, 0, G_OPTION_ARG_STRING, &size,
        "640x480, 1280x720 or both (default)", "WxH"},
    {"background", 0, 0, G_OPTION_ARG_STRING, &bg,
        "plain, textured or both (default)", "KIND"},
    {"data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
        "the shared face set with faces.csv (default "
          "data/faces/deepface of the shared folder)", "DIR"},
    {NULL}
  };

  if (!fv_plugin_bench_parse ("bench-elements",
          g_option_context_new ("- CPU per frame of the elements"), entries,
          &argc, &argv))
    return 2;
  if (warmup < 1 || n_frames <= warmup) {
    g_printerr ("bench-elements: need 1 <= --warmup < --frames\n");
    return 2;
  }
  if (!data_dir)
    data_dir = g_build_filename (g_getenv ("FV_SHARED_DIR") ?
        g_getenv ("FV_SHARED_DIR") : FV_DEFAULT_SHARED_DIR, "data", "faces",
        "deepface", NULL);
  if (!gallery)
    gallery = g_build_filename (FV_BENCH_REGISTRY_DIR,
        "bench-elements-gallery.db", NULL);
  if (!fv_bench_load_photos (data_dir, photos, &error)) {
    g_printerr ("bench-elements: %s\n", error->message);
    return 77;
  }
  if (!g_file_test (gallery, G_FILE_TEST_EXISTS)
      && !make_gallery (gallery, photos, &error)) {
    g_printerr ("bench-elements: %s: %s\n", gallery, error->message);
    fv_bench_free_photos (photos);
    return 1;
  }

  g_print ("# bench-elements: plugin %s; ISA %s (FV_CPU_MASK=%s); process "
      "CPU ms per frame (getrusage) over frames %d..%d of %d; appsrc ! "
      "mtcnnfacedetect ! faceverify gallery-file=%s (%u identities) ! "
      "fakesink, other properties at their defaults\n",
      g_getenv ("GST_PLUGIN_PATH_1_0"), fv_isa_name (fv_isa_best ()),
      g_getenv ("FV_CPU_MASK") ? g_getenv ("FV_CPU_MASK") : "(unset)",
      warmup, n_frames - 1, n_frames, gallery, GALLERY_SIZE);
  for (si = 0; si < G_N_ELEMENTS (fv_bench_sizes) && status == 0; si++) {
    const guint w = fv_bench_sizes[si].w, h = fv_bench_sizes[si].h;
    g_autofree gchar *wxh = g_strdup_printf ("%ux%u", w, h);

    if (!wanted (size, wxh))
      continue;
    for (b = 0; b < 2; b++) {
      const char *bgname = b ? "textured" : "plain";
      double mean_n = 0, sxx = 0, sxy = 0, empty = 0;

      if (!wanted (bg, bgname))
        continue;
      for (fi = 0; fi < G_N_ELEMENTS (fv_bench_face_counts); fi++)
        mean_n += fv_bench_face_counts[fi] /
            (double) G_N_ELEMENTS (fv_bench_face_counts);
      for (fi = 0; fi < G_N_ELEMENTS (fv_bench_face_counts); fi++) {
        const guint nf = fv_bench_face_counts[fi];
        const double steady = n_frames - warmup, x = nf - mean_n;
        RunState st = { 0 };
        double cpu;

        g_mutex_init (&st.lock);
        g_cond_init (&st.cond);
        st.w = w;
        st.h = h;
        st.warmup = (guint) warmup;
        cpu = run_row (si, b == 1, nf, gallery, photos, (guint) n_frames,
            &st, first);
        first = FALSE;
        g_mutex_clear (&st.lock);
        g_cond_clear (&st.cond);
        if (cpu < 0) {
          status = 1;
          break;
        }
        g_print ("row  %-9s %-8s %u found %.2f identified %.2f wrong %.2f "
            "cpu %.3f\n", wxh, bgname, nf, st.found / steady,
            st.identified / steady, st.wrong / steady, cpu);
        if (nf == 0)
          empty = cpu;
        sxx += x * x;
        sxy += x * cpu;
      }
      if (status != 0)
        break;
      g_print ("slope %-9s %-8s per_face %.3f empty %.3f (ms)\n", wxh, bgname,
          sxy / sxx, empty);
    }
  }
  fv_bench_free_photos (photos);
  return status;
}

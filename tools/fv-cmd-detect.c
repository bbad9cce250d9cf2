/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-detect.c: `faceverify detect` (faces and landmarks of photos as
 * CSV, optionally the aligned crops as PNG), the photo mode of `faceverify
 * embed`, and the detector benchmark of `faceverify bench --detector`.
 */
#include "fv-tool.h"
#include "fv-image-load.h"
#include "fv-tool-output.h"

#include <fv.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMAND "detect"
#define MAX_FACES 64

static FvDetector *
load_detector (const char *command, const char *model_dir,
    const FvDetectorOptions * options)
{
  g_autoptr (GError) error = NULL;
  FvDetector *d;

  if (model_dir) {
    g_autofree char *p = g_build_filename (model_dir, "pnet.tflite", NULL);
    g_autofree char *r = g_build_filename (model_dir, "rnet.tflite", NULL);
    g_autofree char *o = g_build_filename (model_dir, "onet.tflite", NULL);
    d = fv_detector_new_from_files (p, r, o, options, &error);
  } else {
    d = fv_detector_new (options, &error);
  }
  if (d == NULL)
    fv_tool_error (command, "cannot load the face detector: %s",
        error ? error->message : "invalid options");
  else if (!fv_detector_get_models_pinned (d))
    fv_tool_error (command, "warning: the detector models are not the "
        "pinned ones (FV_ALLOW_UNPINNED_MODELS): detections depend on them");
  return d;
}

/* A file name for crop @index of @path in @dir that no earlier crop of
 * this run has taken: <stem>_<index>.png, or <stem>-<n>_<index>.png when
 * two inputs share a stem. */
static char *
crop_path (GHashTable * taken, const char *dir, const char *path,
    guint input, guint index)
{
  g_autofree char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');
  char *name;

  if (dot && dot != base)
    *dot = '\0';
  name = g_strdup_printf ("%s_%u.png", base, index);
  if (g_hash_table_contains (taken, name)) {
    g_free (name);
    name = g_strdup_printf ("%s-%u_%u.png", base, input, index);
  }
  g_hash_table_add (taken, g_strdup (name));
  {
    char *full = g_build_filename (dir, name, NULL);
    g_free (name);
    return full;
  }
}

/* Through the output helper: a new file, never through a symlink planted
 * in the folder; an existing one only with --force. */
static gboolean
save_png (const guint8 * rgb, gsize stride, const char *path, gboolean force,
    GError ** error)
{
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_data (rgb,
      GDK_COLORSPACE_RGB, FALSE, 8, FV_EMBED_SIZE, FV_EMBED_SIZE, stride,
      NULL, NULL);
  g_autofree gchar *png = NULL;
  gsize length = 0;

  if (!gdk_pixbuf_save_to_buffer (pb, &png, &length, "png", error, NULL))
    return FALSE;
  if (!fv_tool_write_file (COMMAND, path, png, length, force, NULL)) {
    g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
        "not written");
    return FALSE;
  }
  return TRUE;
}

static void
append_detection (GString * out, const char *path, const FvDetection * d,
    const FvFaceQuality * q)
{
  guint k;

  fv_tool_append_csv_field (out, path);
  g_string_append_c (out, ',');
  fv_tool_append_float (out, d->x1);
  g_string_append_c (out, ',');
  fv_tool_append_float (out, d->y1);
  g_string_append_c (out, ',');
  fv_tool_append_float (out, d->x2);
  g_string_append_c (out, ',');
  fv_tool_append_float (out, d->y2);
  g_string_append_c (out, ',');
  fv_tool_append_float (out, d->score);
  for (k = 0; k < 2 * FV_N_LANDMARKS; k++) {
    g_string_append_c (out, ',');
    fv_tool_append_float (out, d->landmarks[k]);
  }
  g_string_append_c (out, ',');
  fv_tool_append_float (out, q->score);
  g_string_append_c (out, ',');
  fv_tool_append_csv_field (out, fv_face_quality_reason_to_string (q->reason));
  g_string_append_c (out, '\n');
}

/* What `faceverify detect` uses for every image. */
typedef struct
{
  FvDetector *detector;
  FvAligner *aligner;
  const char *align_out;        /* --align-out, or NULL */
  gboolean force;               /* --force: replace existing crops */
  GHashTable *taken;            /* crop file names written so far */
  GString *out;                 /* CSV lines not yet written */
} DetectRun;

/* --align-out: writes @crop, face @index of image number @input (@path),
 * as a PNG in run->align_out. Prints the error and returns FALSE on
 * failure. */
static gboolean
write_aligned_crop (DetectRun * run, const guint8 * crop, const char *path,
    guint input, guint index)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *crop_file = crop_path (run->taken, run->align_out, path,
      input, index);

  if (!save_png (crop, FV_EMBED_SIZE * 3, crop_file, run->force, &error)) {
    fv_tool_error (crop_file, "cannot write the crop: %s", error->message);
    return FALSE;
  }
  return TRUE;
}

/* Finds the faces of image number @input (@path), appends their CSV lines
 * to run->out and, with --align-out, writes their crops. Prints the errors
 * and returns FALSE when the image cannot be read or a crop written. */
static gboolean
detect_one (DetectRun * run, const char *path, guint input)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *rgb = NULL;
  FvDetection faces[MAX_FACES];
  const guint8 *planes[1];
  gint strides[1];
  int width = 0, height = 0;
  gsize stride = 0;
  FvFrame frame;
  gboolean ok = TRUE;
  guint n, k;

  rgb = fv_image_load_rgb (path, &width, &height, &stride, &error);
  planes[0] = rgb;
  strides[0] = (gint) stride;
  if (rgb == NULL || !fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, width,
          height, planes, strides, &error)) {
    fv_tool_error (path, "%s", error->message);
    return FALSE;
  }
  n = fv_detector_detect (run->detector, &frame, faces, MAX_FACES);
  if (n == 0)
    fv_tool_error (path, "warning: no face found");
  for (k = 0; k < n; k++) {
    const FvDetection *d = &faces[k];
    guint8 crop[FV_EMBED_SIZE * FV_EMBED_SIZE * 3];
    FvFaceQuality q;
    gboolean aligned;

    aligned = fv_aligner_crop_face (run->aligner, &frame, d->x1, d->y1,
        d->x2, d->y2, d->landmarks, crop, FV_EMBED_SIZE * 3);
    fv_face_quality (crop, FV_EMBED_SIZE * 3, d->x1, d->y1, d->x2, d->y2,
        aligned ? d->landmarks : NULL, frame.width, frame.height, &q);
    append_detection (run->out, path, d, &q);
    if (run->align_out && !write_aligned_crop (run, crop, path, input, k))
      ok = FALSE;
  }
  return ok;
}

/* Checks the option values of `faceverify detect`; prints the error and
 * returns FALSE when one is out of range. */
static gboolean
check_detect_options (char **images, gint min_face, gint max_input)
{
  if (images == NULL || images[0] == NULL) {
    fv_tool_error (COMMAND, "no image given");
    fprintf (stderr, "Usage: faceverify detect [OPTION…] IMAGE…\n"
        "Try 'faceverify detect --help' for more information.\n");
    return FALSE;
  }
  if (min_face < 12 || min_face > 16384) {
    fv_tool_error (COMMAND, "--min-face-size must be 12 to 16384");
    return FALSE;
  }
  if (max_input < 64 || max_input > 8192) {
    fv_tool_error (COMMAND, "--max-input-size must be 64 to 8192");
    return FALSE;
  }
  return TRUE;
}

int
fv_cmd_detect (int argc, char **argv)
{
  g_autofree char *model_dir = NULL;
  g_autofree char *align_out = NULL;
  g_auto (GStrv) images = NULL;
  gint min_face = 40, max_input = 1920;
  gboolean no_retry = FALSE, force = FALSE;
  GOptionEntry entries[] = {
    {"align-out", 'o', 0, G_OPTION_ARG_FILENAME, &align_out,
          "Also write each face aligned to 112x112 as DIR/<name>_<n>.png",
        "DIR"},
    {"force", 0, 0, G_OPTION_ARG_NONE, &force,
          "Replace existing crops in --align-out (never through a symlink)",
        NULL},
    {"min-face-size", 's', 0, G_OPTION_ARG_INT, &min_face,
        "Smallest face to find, in pixels (12 or more; default 40)", "PX"},
    {"max-input-size", 0, 0, G_OPTION_ARG_INT, &max_input,
        "Downscale larger images to this longer side first (64 to 8192; "
          "default 1920)", "PX"},
    {"no-retry", 0, 0, G_OPTION_ARG_NONE, &no_retry,
        "Do not search again with a border when nothing is found", NULL},
    {"model-dir", 'M', 0, G_OPTION_ARG_FILENAME, &model_dir,
        "Folder with pnet.tflite, rnet.tflite, onet.tflite (default: the "
          "installed or fetched models)", "DIR"},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &images, NULL,
        NULL},
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (FvDetector) detector = NULL;
  g_autoptr (FvAligner) aligner = NULL;
  g_autoptr (GHashTable) taken = NULL;
  g_autoptr (GString) out = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  FvDetectorOptions options;
  DetectRun run;
  gboolean failed = FALSE;
  guint i;

  g_return_val_if_fail (argc >= 1, FV_TOOL_EXIT_USAGE);

  context = g_option_context_new ("IMAGE…");
  g_option_context_set_summary (context,
      "Finds the faces in each image with the MTCNN detector and prints one\n"
      "CSV line per face: a header, then path,x1,y1,x2,y2,score and the\n"
      "x,y of five landmarks (left eye, right eye, nose, left and right\n"
      "mouth corner, as seen in the image), in image pixels, then the face's\n"
      "quality (0-1) and what lowers it most (\"ok\", \"blurred\", \"too small\",\n"
      "\"turned\", \"dark\", \"bright\", \"low contrast\", \"cut by the frame edge\").");
  g_option_context_set_description (context,
      "Faces are listed best score first. An image without a face prints a\n"
      "warning on stderr and no line. A file that cannot be read is\n"
      "reported on stderr, the others are still processed, and the exit\n"
      "status is 1.\n\n"
      "Example:\n"
      "  faceverify detect --align-out crops/ party.jpg > faces.csv\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, COMMAND, &args)
      || !check_detect_options (images, min_face, max_input))
    return FV_TOOL_EXIT_USAGE;
  if (align_out && g_mkdir_with_parents (align_out, 0755) != 0) {
    fv_tool_error (align_out, "cannot create the folder: %s",
        g_strerror (errno));
    return FV_TOOL_EXIT_FAILURE;
  }

  fv_detector_options_init (&options);
  options.min_face_size = min_face;
  options.max_input_size = max_input;
  options.retry_padded = !no_retry;
  detector = load_detector (COMMAND, model_dir, &options);
  if (detector == NULL)
    return FV_TOOL_EXIT_FAILURE;
  aligner = fv_aligner_new ();
  taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  out = g_string_new ("path,x1,y1,x2,y2,score,left_eye_x,left_eye_y,"
      "right_eye_x,right_eye_y,nose_x,nose_y,mouth_left_x,mouth_left_y,"
      "mouth_right_x,mouth_right_y,quality,quality_reason\n");
  run.detector = detector;
  run.aligner = aligner;
  run.align_out = align_out;
  run.force = force;
  run.taken = taken;
  run.out = out;

  for (i = 0; images[i] != NULL; i++) {
    if (!detect_one (&run, images[i], i))
      failed = TRUE;
    if (!fv_tool_write_stdout (out))
      return FV_TOOL_EXIT_FAILURE;
    g_string_truncate (out, 0);
  }
  return failed ? FV_TOOL_EXIT_FAILURE : FV_TOOL_EXIT_OK;
}

int
fv_cmd_embed_photos (const char *model_path, char **images)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvFacePipeline) pipeline = NULL;
  g_autoptr (GString) out = NULL;
  g_autofree char *found = NULL;
  FvEmbedder *embedder;
  FvDetector *detector;
  gboolean failed = FALSE;
  guint dim, i, k;

  if (model_path == NULL) {
    found = fv_find_model ("MobileFaceNet.tflite");
    if (found == NULL) {
      fv_tool_error (NULL, "model MobileFaceNet.tflite not found: run "
          "models/fetch.sh in the source tree (and install), or give "
          "--model FILE");
      return FV_TOOL_EXIT_FAILURE;
    }
    model_path = found;
  }
  embedder = fv_embedder_new (model_path, &error);
  if (embedder == NULL) {
    fv_tool_error (strstr (error->message, model_path) ? NULL : model_path,
        "cannot load the model: %s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  detector = load_detector ("embed", NULL, NULL);
  if (detector == NULL) {
    fv_embedder_free (embedder);
    return FV_TOOL_EXIT_FAILURE;
  }
  pipeline = fv_face_pipeline_new (detector, embedder, MAX_FACES);
  dim = fv_embedder_get_dim (embedder);

  out = g_string_new ("path");
  for (k = 0; k < dim; k++)
    g_string_append_printf (out, ",e%u", k);
  g_string_append (out, ",quality\n");

  for (i = 0; images[i] != NULL; i++) {
    g_autofree guint8 *rgb = NULL;
    const guint8 *planes[1];
    gint strides[1];
    int width = 0, height = 0, best = -1;
    float best_area = -1;
    gsize stride = 0;
    const FvFace *faces;
    FvFrame frame;
    guint n;

    g_clear_error (&error);
    rgb = fv_image_load_rgb (images[i], &width, &height, &stride, &error);
    planes[0] = rgb;
    strides[0] = (gint) stride;
    if (rgb == NULL || !fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, width,
            height, planes, strides, &error)) {
      fv_tool_error (images[i], "%s", error->message);
      failed = TRUE;
      continue;
    }
    faces = fv_face_pipeline_process (pipeline, &frame, &n);
    for (k = 0; k < n; k++) {
      const FvDetection *d = &faces[k].detection;
      float area = (d->x2 - d->x1) * (d->y2 - d->y1);
      if (area > best_area) {
        best_area = area;
        best = k;
      }
    }
    if (best < 0) {
      fv_tool_error (images[i], "warning: no face found, no embedding");
      continue;
    }
    if (!fv_tool_embedding_is_finite (images[i], faces[best].embedding, dim)) {
      failed = TRUE;
      continue;
    }
    fv_tool_append_csv_field (out, images[i]);
    for (k = 0; k < dim; k++) {
      g_string_append_c (out, ',');
      fv_tool_append_float (out, faces[best].embedding[k]);
    }
    g_string_append_c (out, ',');
    fv_tool_append_float (out, faces[best].quality.score);
    g_string_append_c (out, '\n');
    if (!fv_tool_write_stdout (out))
      return FV_TOOL_EXIT_FAILURE;
    g_string_truncate (out, 0);
  }
  if (!fv_tool_write_stdout (out))
    return FV_TOOL_EXIT_FAILURE;
  return failed ? FV_TOOL_EXIT_FAILURE : FV_TOOL_EXIT_OK;
}

/* ---- faceverify bench --detector ---------------------------------------- */

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* A frame without faces: smooth shading plus texture, like a room. */
static void
synthetic_frame (guint8 * rgb, guint w, guint h)
{
  guint32 s = 2463534242u;
  guint x, y;

  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++) {
      guint8 *p = rgb + ((gsize) (y) * w + x) * 3;
      int n;
      s ^= s << 13;
      s ^= s >> 17;
      s ^= s << 5;
      n = (int) (s >> 28) - 8;
      p[0] = (guint8) CLAMP (90 + 60 * sin (x * 0.01) + n, 0, 255);
      p[1] = (guint8) CLAMP (110 + 50 * cos (y * 0.013) + n, 0, 255);
      p[2] = (guint8) CLAMP (100 + 40 * sin ((x + y) * 0.007) + n, 0, 255);
    }
}

/* Scales the photo to fit @w x @h (keeping its aspect) and centres it on a
 * grey frame. */
static gboolean
photo_frame (const char *path, guint8 * rgb, guint w, guint h)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pb = NULL;
  g_autoptr (GdkPixbuf) scaled = NULL;
  double s;
  int pw, ph, ox, oy, x, y, nch, rs;
  const guint8 *px;

  pb = gdk_pixbuf_new_from_file (path, &error);
  if (pb == NULL) {
    fv_tool_error (path, "%s", error->message);
    return FALSE;
  }
  s = MIN ((double) w / gdk_pixbuf_get_width (pb),
      (double) h / gdk_pixbuf_get_height (pb));
  pw = MAX (1, (int) (gdk_pixbuf_get_width (pb) * s));
  ph = MAX (1, (int) (gdk_pixbuf_get_height (pb) * s));
  scaled = gdk_pixbuf_scale_simple (pb, pw, ph, GDK_INTERP_BILINEAR);
  memset (rgb, 128, (gsize) (w) * h * 3);
  ox = (w - pw) / 2;
  oy = (h - ph) / 2;
  nch = gdk_pixbuf_get_n_channels (scaled);
  rs = gdk_pixbuf_get_rowstride (scaled);
  px = gdk_pixbuf_read_pixels (scaled);
  for (y = 0; y < ph; y++)
    for (x = 0; x < pw; x++)
      memcpy (rgb + ((gsize) (oy + y) * w + ox + x) * 3,
          px + (gsize) (y) * rs + x * nch, 3);
  return TRUE;
}

/* Times fv_detector_detect() on 640x480 and 1280x720 frames: a synthetic
 * scene without faces (with the padded retry on and off), and the photo
 * at @image_path (if given) fitted into the frame. Prints medians. */
int
fv_bench_detector (guint runs, guint warmup, const char *image_path)
{
  static const guint sizes[][2] = { {640, 480}, {1280, 720} };
  g_autoptr (FvDetector) retry = NULL;
  g_autoptr (FvDetector) plain = NULL;
  g_autofree double *ms = NULL;
  FvDetectorOptions o;
  FvDetection faces[MAX_FACES];
  guint si, r;

  if (runs == 0)
    runs = 20;
  fv_detector_options_init (&o);
  retry = load_detector ("bench", NULL, &o);
  o.retry_padded = FALSE;
  plain = load_detector ("bench", NULL, &o);
  if (!retry || !plain)
    return FV_TOOL_EXIT_FAILURE;
  ms = g_new (double, runs);

  printf ("MTCNN detector (min face %u px, factor %.3f, thresholds %.1f/%.1f/"
      "%.1f, R-Net batch 64, O-Net batch 16), isa %s, %u runs after %u "
      "warm-up\n", o.min_face_size, o.scale_factor, o.thresholds[0],
      o.thresholds[1], o.thresholds[2], fv_isa_name (fv_isa_best ()), runs,
      warmup);
  printf ("%-10s %-28s %10s %10s %6s\n", "frame", "content", "median ms",
      "min ms", "faces");
  for (si = 0; si < G_N_ELEMENTS (sizes); si++) {
    guint w = sizes[si][0], h = sizes[si][1], c;
    g_autofree guint8 *rgb = g_malloc ((gsize) (w) * h * 3);
    const guint8 *planes[1] = { rgb };
    gint strides[1] = { (gint) (w * 3) };
    FvFrame frame;

    for (c = 0; c < 3; c++) {
      FvDetector *d = c == 1 ? plain : retry;
      const char *what = c == 0 ? "no face, padded retry on"
          : c == 1 ? "no face, padded retry off" : "photo";
      guint n = 0;
      double median;

      if (c == 2) {
        if (image_path == NULL || !photo_frame (image_path, rgb, w, h))
          break;
      } else {
        synthetic_frame (rgb, w, h);
      }
      if (!fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes, strides,
              NULL))
        return FV_TOOL_EXIT_FAILURE;
      fv_detector_prepare (d, w, h, NULL);
      for (r = 0; r < warmup; r++)
        fv_detector_detect (d, &frame, faces, MAX_FACES);
      for (r = 0; r < runs; r++) {
        gint64 t0 = g_get_monotonic_time ();
        n = fv_detector_detect (d, &frame, faces, MAX_FACES);
        ms[r] = (g_get_monotonic_time () - t0) / 1000.0;
      }
      qsort (ms, runs, sizeof (double), compare_double);
      median = runs % 2 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1]
          + ms[runs / 2]);
      printf ("%4ux%-5u %-28s %10.2f %10.2f %6u\n", w, h, what, median, ms[0],
          n);
    }
  }
  return FV_TOOL_EXIT_OK;
}

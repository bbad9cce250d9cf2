/* bench-pipeline: CPU time per frame of detection and of verification
 * (detector, then for every face found: alignment, embedding and a
 * gallery match), at 640x480 and 1280x720 with 0, 1, 4 and 8 faces, and
 * the per-face increment (least-squares slope over the face counts).
 *
 * The detector has mtcnnfacedetect's settings (minimum face 40 px, the
 * padded retry off); --retry-padded turns the retry on, as `faceverify
 * detect` has it, where a frame without a face is searched twice.
 *
 * Frames are built from the shared photos (data/faces/deepface/raw, the
 * face cut around its reference box and scaled to a typical size) pasted
 * on a plain grey or a textured background. Times are the thread's CPU
 * time (the machine may be busy), medians over the repetitions.
 *
 * Uses only the public API (fv.h), so the same source builds against an
 * older library: tests/bench/compare-builds.sh runs the old and the new
 * build side by side. Lines starting with "row" and "slope" are for that
 * script; keep their fields stable. */
#include <fv.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv-bench-util.h"

#define MAX_FACES 8
#define GALLERY_SIZE 1000

static const guint face_counts[] = { 0, 1, 4, 8 };

static const struct
{
  guint w, h, face;             /* frame size, face box side in pixels */
} sizes[] = {
  {640, 480, 72},
  {1280, 720, 108},
};

typedef struct
{
  GdkPixbuf *crop;              /* square, the face box in its middle 2/3 */
} Photo;

/* Reads the first MAX_FACES single-face photos of faces.csv and cuts a
 * square of 1.5 times the reference box around each face. */
static gboolean
load_photos (const char *dir, Photo * photos, GError ** error)
{
  g_autofree char *csv_path = g_build_filename (dir, "faces.csv", NULL);
  g_autofree char *csv = NULL;
  g_auto (GStrv) lines = NULL;
  char last[64] = "";
  guint n = 0, i;

  if (!g_file_get_contents (csv_path, &csv, NULL, error))
    return FALSE;
  lines = g_strsplit (csv, "\n", -1);
  for (i = 1; lines[i] && n < MAX_FACES; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    g_autofree char *path = NULL;
    g_autoptr (GdkPixbuf) img = NULL;
    g_autoptr (GdkPixbuf) sub = NULL;
    double bx, by, bw, bh, side;
    gint x0, y0, s;

    if (g_strv_length (f) < 13 || strcmp (f[6], "1") != 0)
      continue;
    /* One photo per person. */
    if (n > 0 && strcmp (last, f[0]) == 0)
      continue;
    g_strlcpy (last, f[0], sizeof last);
    bx = g_ascii_strtod (f[9], NULL);
    by = g_ascii_strtod (f[10], NULL);
    bw = g_ascii_strtod (f[11], NULL);
    bh = g_ascii_strtod (f[12], NULL);
    path = g_build_filename (dir, f[1], NULL);
    img = gdk_pixbuf_new_from_file (path, error);
    if (!img)
      return FALSE;
    side = 1.5 * MAX (bw, bh);
    s = (gint) MIN (side, MIN (gdk_pixbuf_get_width (img),
            gdk_pixbuf_get_height (img)));
    x0 = CLAMP ((gint) (bx + bw / 2 - s / 2.0), 0,
        gdk_pixbuf_get_width (img) - s);
    y0 = CLAMP ((gint) (by + bh / 2 - s / 2.0), 0,
        gdk_pixbuf_get_height (img) - s);
    sub = gdk_pixbuf_new_subpixbuf (img, x0, y0, s, s);
    photos[n].crop = gdk_pixbuf_copy (sub);
    n++;
  }
  if (n < MAX_FACES) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
        "%s: fewer than %u single-face photos", csv_path, MAX_FACES);
    return FALSE;
  }
  return TRUE;
}

static guint32
rnd (guint32 * s)
{
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* Plain: flat grey. Textured: smooth blotches (a 32-pixel lattice of
 * random greys, bilinear) with fine grain, like a wall or a shelf. */
static void
fill_background (guint8 * rgb, guint w, guint h, gboolean textured)
{
  const guint cell = 32, gw = w / cell + 2, gh = h / cell + 2;
  g_autofree guint8 *grid = g_new (guint8, (gsize) gw * gh * 3);
  guint32 seed = 12345;
  guint x, y, c;

  if (!textured) {
    memset (rgb, 128, (gsize) w * h * 3);
    return;
  }
  for (x = 0; x < (guint) gw * gh * 3; x++)
    grid[x] = 40 + rnd (&seed) % 176;
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++) {
      guint gx = x / cell, gy = y / cell;
      float fx = (float) (x % cell) / cell, fy = (float) (y % cell) / cell;
      for (c = 0; c < 3; c++) {
        const guint8 *g = grid + ((gsize) gy * gw + gx) * 3 + c;
        float v = (1 - fy) * ((1 - fx) * g[0] + fx * g[3])
            + fy * ((1 - fx) * g[gw * 3] + fx * g[gw * 3 + 3]);
        v += (float) (rnd (&seed) % 17) - 8.0f;
        rgb[((gsize) y * w + x) * 3 + c] = (guint8) CLAMP (v, 0.0f, 255.0f);
      }
    }
}

/* Pastes @n faces (crop side 1.5 x @face) on a 4 x 2 grid. */
static void
paste_faces (guint8 * rgb, guint w, guint h, guint face, const Photo * ph,
    guint n)
{
  const guint side = face * 3 / 2, cols = 4, rows = 2;
  guint i;

  for (i = 0; i < n; i++) {
    g_autoptr (GdkPixbuf) s = gdk_pixbuf_scale_simple (ph[i].crop, side, side,
        GDK_INTERP_BILINEAR);
    guint cx = (2 * (i % cols) + 1) * w / (2 * cols);
    guint cy = (2 * (i / cols) + 1) * h / (2 * rows);
    guint x0 = cx - side / 2, y0 = cy - side / 2, y;
    const guint8 *src = gdk_pixbuf_get_pixels (s);
    guint nch = gdk_pixbuf_get_n_channels (s);
    gint st = gdk_pixbuf_get_rowstride (s);

    for (y = 0; y < side; y++) {
      guint x;
      for (x = 0; x < side; x++)
        memcpy (rgb + ((gsize) (y0 + y) * w + x0 + x) * 3,
            src + (gsize) y * st + x * nch, 3);
    }
  }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) det = NULL;
  g_autoptr (FvEmbedder) emb = NULL;
  g_autoptr (FvGallerySnapshot) gal = NULL;
  g_autoptr (FvAligner) aligner = NULL;
  g_autoptr (GOptionContext) ctx = NULL;
  g_autofree char *shared = NULL;
  g_autofree char *model = NULL;
  g_autofree float *gvec = NULL;
  g_autofree float *tensor = NULL;
  g_autofree float *e = NULL;
  char **labels;
  Photo photos[MAX_FACES];
  gint reps = 11, warmup = 2;
  gboolean retry = FALSE;
  FvDetectorOptions opts;
  gchar *data_dir = NULL, *bg = NULL;
  guint si, b, dim, i;
  GOptionEntry entries[] = {
    {"reps", 'r', 0, G_OPTION_ARG_INT, &reps,
        "timed repetitions per frame (median), default 11", "N"},
    {"data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
        "the shared face set with faces.csv (default "
          "../shared/data/faces/deepface from the source tree)", "DIR"},
    {"background", 0, 0, G_OPTION_ARG_STRING, &bg,
        "plain, textured or both (default)", "KIND"},
    {"retry-padded", 0, 0, G_OPTION_ARG_NONE, &retry,
        "search frames without a face again with a border (off in "
          "mtcnnfacedetect)", NULL},
    {NULL}
  };

  ctx = g_option_context_new ("- CPU ms per frame: detection, verification");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || reps < 1) {
    g_printerr ("%s\n", error ? error->message : "--reps must be >= 1");
    return 2;
  }
  shared = data_dir ? g_strdup (data_dir)
      : g_build_filename (FV_SOURCE_ROOT, "..", "shared", "data", "faces",
      "deepface", NULL);
  if (!load_photos (shared, photos, &error)) {
    g_printerr ("%s\n", error->message);
    return 77;
  }
  fv_detector_options_init (&opts);
  opts.retry_padded = retry;
  det = fv_detector_new (&opts, &error);
  model = fv_find_model ("MobileFaceNet.tflite");
  if (det && model)
    emb = fv_embedder_new (model, &error);
  if (!det || !emb) {
    g_printerr ("%s\n", error ? error->message : "MobileFaceNet.tflite "
        "not found (FV_MODEL_DIR)");
    return 77;
  }
  dim = fv_embedder_get_dim (emb);
  gvec = g_new (float, (gsize) GALLERY_SIZE * dim);
  fv_bench_fill_input (gvec, (gsize) GALLERY_SIZE * dim);
  labels = g_new0 (char *, GALLERY_SIZE + 1);
  for (i = 0; i < GALLERY_SIZE; i++)
    labels[i] = g_strdup_printf ("id%u", i);
  gal = fv_gallery_snapshot_new (dim, GALLERY_SIZE,
      (const char *const *) labels, gvec, NULL);
  g_strfreev (labels);
  aligner = fv_aligner_new ();
  tensor = g_new (float, FV_EMBED_SIZE * FV_EMBED_SIZE * 3);
  e = g_new (float, dim);

  g_print
      ("# bench-pipeline: ISA %s (FV_CPU_MASK=%s); thread CPU ms per frame, "
      "median of %d; padded retry %s; verify = align + embed + match (%u "
      "identities) per face found\n", fv_isa_name (fv_isa_best ()),
      g_getenv ("FV_CPU_MASK") ? g_getenv ("FV_CPU_MASK") : "(unset)", reps,
      retry ? "on" : "off", GALLERY_SIZE);
  g_print ("# %-4s %-9s %-8s %5s %5s %9s %9s %9s\n", "", "size", "bg", "faces",
      "found", "detect", "verify", "total");

  for (si = 0; si < G_N_ELEMENTS (sizes); si++) {
    const guint w = sizes[si].w, h = sizes[si].h;
    g_autofree guint8 *rgb = g_new (guint8, (gsize) w * h * 3);
    FvDetection faces[MAX_FACES];

    fv_detector_prepare (det, w, h, NULL);
    for (b = 0; b < 2; b++) {
      const char *bgname = b ? "textured" : "plain";
      double mean_n = 0, sxx = 0, sxd = 0, sxv = 0;
      guint fi;

      if (bg && strcmp (bg, "both") != 0 && strcmp (bg, bgname) != 0)
        continue;
      for (fi = 0; fi < G_N_ELEMENTS (face_counts); fi++)
        mean_n += face_counts[fi] / (double) G_N_ELEMENTS (face_counts);
      for (fi = 0; fi < G_N_ELEMENTS (face_counts); fi++) {
        const guint nf = face_counts[fi];
        g_autofree double *td = g_new (double, reps);
        g_autofree double *tv = g_new (double, reps);
        const guint8 *planes[3] = { rgb, NULL, NULL };
        gint strides[3] = { (gint) w * 3, 0, 0 };
        FvFrame frame;
        guint found = 0;
        gint r;
        double d, v, x = nf - mean_n;

        fill_background (rgb, w, h, b == 1);
        paste_faces (rgb, w, h, sizes[si].face, photos, nf);
        if (!fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes,
                strides, &error)) {
          g_printerr ("%s\n", error->message);
          return 1;
        }
        for (r = -warmup; r < reps; r++) {
          FvGalleryMatch m;
          guint64 t0 = fv_bench_thread_cpu_ns (), t1, t2;
          guint k;

          found = fv_detector_detect (det, &frame, faces, MAX_FACES);
          t1 = fv_bench_thread_cpu_ns ();
          for (k = 0; k < found; k++) {
            if (!fv_aligner_align_tensor (aligner, &frame,
                    faces[k].landmarks, tensor))
              fv_aligner_crop_box_tensor (aligner, &frame, faces[k].x1,
                  faces[k].y1, faces[k].x2, faces[k].y2, FV_BOX_CROP_MARGIN,
                  tensor);
            fv_embedder_embed_tensor (emb, 1, tensor, e);
            fv_gallery_snapshot_match (gal, e, 1, 0.5f, 0.05f, &m);
          }
          t2 = fv_bench_thread_cpu_ns ();
          if (r >= 0) {
            td[r] = (t1 - t0) / 1e6;
            tv[r] = (t2 - t1) / 1e6;
          }
        }
        d = fv_bench_stats (td, reps).median;
        v = fv_bench_stats (tv, reps).median;
        g_print ("row  %4ux%-4u %-8s %5u %5u %9.3f %9.3f %9.3f\n", w, h,
            bgname, nf, found, d, v, d + v);
        sxx += x * x;
        sxd += x * d;
        sxv += x * v;
      }
      g_print ("slope %4ux%-4u %-8s detect %.3f verify %.3f per_face %.3f "
          "(ms per added face)\n", w, h, bgname, sxd / sxx, sxv / sxx,
          (sxd + sxv) / sxx);
    }
  }
  for (i = 0; i < MAX_FACES; i++)
    g_object_unref (photos[i].crop);
  g_free (data_dir);
  g_free (bg);
  return 0;
}

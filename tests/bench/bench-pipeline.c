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
 * on a plain grey or a textured background (fv-bench-frames.h). Times are the thread's CPU
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
#include "fv-bench-frames.h"

#define MAX_FACES FV_BENCH_MAX_FACES
#define GALLERY_SIZE 1000

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
  FvBenchPhoto photos[MAX_FACES];
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
  if (!fv_bench_load_photos (shared, photos, &error)) {
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

  for (si = 0; si < G_N_ELEMENTS (fv_bench_sizes); si++) {
    const guint w = fv_bench_sizes[si].w, h = fv_bench_sizes[si].h;
    g_autofree guint8 *rgb = g_new (guint8, (gsize) w * h * 3);
    FvDetection faces[MAX_FACES];

    fv_detector_prepare (det, w, h, NULL);
    for (b = 0; b < 2; b++) {
      const char *bgname = b ? "textured" : "plain";
      double mean_n = 0, sxx = 0, sxd = 0, sxv = 0;
      guint fi;

      if (bg && strcmp (bg, "both") != 0 && strcmp (bg, bgname) != 0)
        continue;
      for (fi = 0; fi < G_N_ELEMENTS (fv_bench_face_counts); fi++)
        mean_n +=
            fv_bench_face_counts[fi] /
            (double) G_N_ELEMENTS (fv_bench_face_counts);
      for (fi = 0; fi < G_N_ELEMENTS (fv_bench_face_counts); fi++) {
        const guint nf = fv_bench_face_counts[fi];
        g_autofree double *td = g_new (double, reps);
        g_autofree double *tv = g_new (double, reps);
        const guint8 *planes[3] = { rgb, NULL, NULL };
        gint strides[3] = { (gint) w * 3, 0, 0 };
        FvFrame frame;
        guint found = 0;
        gint r;
        double d, v, x = nf - mean_n;

        fv_bench_fill_background (rgb, w, h, b == 1);
        fv_bench_paste_faces (rgb, w, h, fv_bench_sizes[si].face, photos, nf, 0,
            0);
        if (!fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes, strides,
                &error)) {
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
  fv_bench_free_photos (photos);
  g_free (data_dir);
  g_free (bg);
  return 0;
}

/* gst-faceverify: face verification on the CPU
 *
 * fv-tool-faces.c: faces of image files for the gallery commands.
 */
#include "fv-tool-faces.h"
#include "fv-tool.h"
#include "fv-image-load.h"

#include <stdlib.h>
#include <string.h>

/* Photos rarely hold more people than this; the largest are kept. */
#define MAX_FACES 32

struct _FvToolFaces
{
  gboolean aligned;
  guint dim;
  char *fingerprint;
  FvEmbedder *embedder;         /* with --aligned */
  FvFacePipeline *pipeline;     /* for photos: owns its embedder */
  FvToolFace faces[MAX_FACES];
  float *embeddings;            /* MAX_FACES x dim */
};

FvToolFaces *
fv_tool_faces_new (const char *command, const char *model_path,
    gboolean aligned)
{
  g_autoptr (FvToolFaces) f = g_new0 (FvToolFaces, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *found = NULL;
  FvEmbedder *embedder;

  if (model_path == NULL) {
    found = fv_find_model (FV_TOOL_DEFAULT_MODEL);
    if (found == NULL) {
      fv_tool_error (command, "model " FV_TOOL_DEFAULT_MODEL " not found: "
          "run models/fetch.sh in the source tree (and install), or give "
          "--model FILE");
      return NULL;
    }
    model_path = found;
  }
  embedder = fv_embedder_new (model_path, &error);
  if (embedder == NULL) {
    fv_tool_error (model_path, "cannot load the model: %s", error->message);
    return NULL;
  }
  f->aligned = aligned;
  f->dim = fv_embedder_get_dim (embedder);
  f->fingerprint = g_strdup (fv_embedder_get_fingerprint (embedder));
  f->embeddings = g_new0 (float, (gsize) (MAX_FACES) * f->dim);

  if (aligned) {
    f->embedder = embedder;
  } else {
    FvDetector *detector = fv_detector_new (NULL, &error);

    if (detector == NULL) {
      fv_embedder_free (embedder);
      fv_tool_error (command, "cannot load the face detector: %s (use "
          "--aligned for %dx%d face crops)", error->message, FV_EMBED_SIZE,
          FV_EMBED_SIZE);
      return NULL;
    }
    if (!fv_detector_get_models_pinned (detector))
      fv_tool_error (command, "warning: the detector models are not the "
          "pinned ones (FV_ALLOW_UNPINNED_MODELS): detections depend on "
          "them");
    f->pipeline = fv_face_pipeline_new (detector, embedder, MAX_FACES);
  }
  return g_steal_pointer (&f);
}

void
fv_tool_faces_free (FvToolFaces * faces)
{
  if (faces == NULL)
    return;
  if (faces->embedder)
    fv_embedder_free (faces->embedder);
  if (faces->pipeline)
    fv_face_pipeline_free (faces->pipeline);
  g_free (faces->fingerprint);
  g_free (faces->embeddings);
  g_free (faces);
}

guint
fv_tool_faces_get_dim (FvToolFaces * faces)
{
  return faces->dim;
}

const char *
fv_tool_faces_get_fingerprint (FvToolFaces * faces)
{
  return faces->fingerprint;
}

static int
compare_area (const void *a, const void *b)
{
  const FvToolFace *x = a, *y = b;
  float ax = (x->x2 - x->x1) * (x->y2 - x->y1);
  float ay = (y->x2 - y->x1) * (y->y2 - y->y1);

  return ax > ay ? -1 : ax < ay;
}

const FvToolFace *
fv_tool_faces_process (FvToolFaces * faces, const char *path,
    guint * n_faces, GError ** error)
{
  g_autofree guint8 *rgb = NULL;
  int width = 0, height = 0;
  gsize stride = 0;
  guint i, n = 0;

  *n_faces = 0;
  rgb = fv_image_load_rgb (path, &width, &height, &stride, error);
  if (rgb == NULL)
    return NULL;

  if (faces->aligned) {
    if (width != FV_EMBED_SIZE || height != FV_EMBED_SIZE) {
      g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_SIZE,
          "image is %dx%d; --aligned needs %dx%d face crops", width, height,
          FV_EMBED_SIZE, FV_EMBED_SIZE);
      return NULL;
    }
    fv_embedder_embed (faces->embedder, rgb, stride, faces->embeddings);
    faces->faces[0].x1 = 0.0f;
    faces->faces[0].y1 = 0.0f;
    faces->faces[0].x2 = FV_EMBED_SIZE;
    faces->faces[0].y2 = FV_EMBED_SIZE;
    faces->faces[0].score = -1.0f;
    faces->faces[0].embedding = faces->embeddings;
    fv_face_quality (rgb, stride, 0.0f, 0.0f, FV_EMBED_SIZE, FV_EMBED_SIZE,
        NULL, FV_EMBED_SIZE, FV_EMBED_SIZE, &faces->faces[0].quality);
    n = 1;
  } else {
    const guint8 *planes[1] = { rgb };
    gint strides[1] = { (gint) stride };
    const FvFace *found;
    FvFrame frame;

    if (!fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, (guint) width,
            (guint) height, planes, strides, error))
      return NULL;
    found = fv_face_pipeline_process (faces->pipeline, &frame, &n);
    n = MIN (n, MAX_FACES);
    for (i = 0; i < n; i++) {
      FvToolFace *t = &faces->faces[i];

      t->x1 = found[i].detection.x1;
      t->y1 = found[i].detection.y1;
      t->x2 = found[i].detection.x2;
      t->y2 = found[i].detection.y2;
      t->score = found[i].detection.score;
      t->quality = found[i].quality;
      /* The pipeline's embeddings live until its next run; keep a copy so
       * that the faces can be sorted. */
      memcpy (faces->embeddings + (gsize) (i) * faces->dim,
          found[i].embedding, faces->dim * sizeof (float));
      t->embedding = faces->embeddings + (gsize) i *faces->dim;
    }
    qsort (faces->faces, n, sizeof (FvToolFace), compare_area);
  }
  *n_faces = n;
  return faces->faces;
}

gboolean
fv_tool_is_image_name (const char *name)
{
  static const char *const suffixes[] = {
    ".jpg", ".jpeg", ".png", ".pnm", ".ppm", ".pgm", ".bmp", ".gif",
    ".tif", ".tiff", ".webp"
  };
  g_autofree char *lower = NULL;
  guint i;

  if (name[0] == '.')
    return FALSE;
  lower = g_ascii_strdown (name, -1);
  for (i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (lower, suffixes[i]))
      return TRUE;
  return FALSE;
}

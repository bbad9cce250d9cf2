/* FvFacePipeline: detect -> align -> embed for a whole frame. */
#include "fv-face-private.h"

#include <string.h>

#define SIDE FV_EMBED_SIZE
#define CROP_BYTES (SIDE * SIDE * 3)

struct _FvFacePipeline
{
  FvDetector *detector;
  FvEmbedder *embedder;
  FvAligner *aligner;
  guint max_faces, dim;
  FvDetection *detections;
  FvFace *faces;
  float *embeddings;
  guint8 *crops;
  const guint8 **crop_ptrs;
  gsize *crop_strides;
};

/**
 * fv_face_pipeline_new:
 * @detector: (transfer full): the detector
 * @embedder: (transfer full): the embedder
 * @max_faces: the most faces handled per frame (the best-scoring ones),
 *   1 or more
 *
 * Creates a pipeline that owns @detector and @embedder and holds every
 * buffer it needs for @max_faces faces.
 *
 * Returns: (transfer full): a new pipeline
 */
FvFacePipeline *
fv_face_pipeline_new (FvDetector * detector, FvEmbedder * embedder,
    guint max_faces)
{
  FvFacePipeline *p;
  guint i;

  g_return_val_if_fail (detector != NULL && embedder != NULL, NULL);
  g_return_val_if_fail (max_faces >= 1 && max_faces <= 4096, NULL);

  p = g_new0 (FvFacePipeline, 1);
  p->detector = detector;
  p->embedder = embedder;
  p->aligner = fv_aligner_new ();
  p->max_faces = max_faces;
  p->dim = fv_embedder_get_dim (embedder);
  p->detections = g_new0 (FvDetection, max_faces);
  p->faces = g_new0 (FvFace, max_faces);
  p->embeddings = g_new0 (float, (gsize) (max_faces) * p->dim);
  p->crops = g_malloc0 ((gsize) (max_faces) * CROP_BYTES);
  p->crop_ptrs = g_new (const guint8 *, max_faces);
  p->crop_strides = g_new (gsize, max_faces);
  for (i = 0; i < max_faces; i++) {
    p->crop_ptrs[i] = p->crops + (gsize) (i) * CROP_BYTES;
    p->crop_strides[i] = SIDE * 3;
    p->faces[i].embedding = p->embeddings + (gsize) (i) * p->dim;
  }
  return p;
}

/**
 * fv_face_pipeline_free:
 * @pipeline: (transfer full) (nullable): a pipeline
 *
 * Frees the pipeline with its detector and embedder.
 */
void
fv_face_pipeline_free (FvFacePipeline * pipeline)
{
  if (!pipeline)
    return;
  fv_detector_free (pipeline->detector);
  fv_embedder_free (pipeline->embedder);
  fv_aligner_free (pipeline->aligner);
  g_free (pipeline->detections);
  g_free (pipeline->faces);
  g_free (pipeline->embeddings);
  g_free (pipeline->crops);
  g_free (pipeline->crop_ptrs);
  g_free (pipeline->crop_strides);
  g_free (pipeline);
}

/**
 * fv_face_pipeline_get_detector:
 * @pipeline: a pipeline
 *
 * Returns: (transfer none): its detector
 */
FvDetector *
fv_face_pipeline_get_detector (FvFacePipeline * pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  return pipeline->detector;
}

/**
 * fv_face_pipeline_get_embedder:
 * @pipeline: a pipeline
 *
 * Returns: (transfer none): its embedder
 */
FvEmbedder *
fv_face_pipeline_get_embedder (FvFacePipeline * pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  return pipeline->embedder;
}

/**
 * fv_face_pipeline_process:
 * @pipeline: a pipeline
 * @frame: the frame
 * @n_faces: (out): the number of faces found (at most the pipeline's
 *   maximum)
 *
 * Detects the faces of @frame, crops each with fv_aligner_crop_face()
 * (aligned on its landmarks, or, if they are unusable, a box crop),
 * scores each crop with fv_face_quality() and embeds all of them in
 * batches. Allocates nothing in steady
 * state.
 *
 * Returns: (transfer none) (array length=n_faces): the faces, best score
 *   first; valid until the next call
 */
const FvFace *
fv_face_pipeline_process (FvFacePipeline * pipeline, const FvFrame * frame,
    guint * n_faces)
{
  guint n, i;

  g_return_val_if_fail (pipeline != NULL && frame != NULL, NULL);
  g_return_val_if_fail (n_faces != NULL, NULL);

  n = fv_detector_detect (pipeline->detector, frame, pipeline->detections,
      pipeline->max_faces);
  for (i = 0; i < n; i++) {
    const FvDetection *det = &pipeline->detections[i];
    guint8 *crop = pipeline->crops + (gsize) (i) * CROP_BYTES;
    FvFace *f = &pipeline->faces[i];

    f->detection = *det;
    f->aligned = fv_aligner_crop_face (pipeline->aligner, frame, det->x1,
        det->y1, det->x2, det->y2, det->landmarks, crop, SIDE * 3);
    fv_face_quality (crop, SIDE * 3, det->x1, det->y1, det->x2, det->y2,
        f->aligned ? det->landmarks : NULL, frame->width, frame->height,
        &f->quality);
  }
  if (n > 0)
    fv_embedder_embed_batch (pipeline->embedder, n, pipeline->crop_ptrs,
        pipeline->crop_strides, pipeline->embeddings);
  *n_faces = n;
  return pipeline->faces;
}

/**
 * fv_face_pipeline_get_crop:
 * @pipeline: a pipeline
 * @index: a face index of the last fv_face_pipeline_process() result
 * @stride: (out) (optional): bytes per row of the crop
 *
 * Returns: (transfer none): the 112x112 RGB crop that was embedded for
 *   face @index; valid until the next call
 */
const guint8 *
fv_face_pipeline_get_crop (FvFacePipeline * pipeline, guint index,
    gsize * stride)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  g_return_val_if_fail (index < pipeline->max_faces, NULL);
  if (stride)
    *stride = SIDE * 3;
  return pipeline->crops + (gsize) (index) * CROP_BYTES;
}

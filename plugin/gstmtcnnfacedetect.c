/* gst-faceverify: the mtcnnfacedetect element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-mtcnnfacedetect
 * @title: mtcnnfacedetect
 *
 * Finds faces with MTCNN (P-Net, R-Net, O-Net) and five facial landmarks
 * and adds one #GstVideoRegionOfInterestMeta of type "face" per face, with
 * a unique non-zero id and two parameters:
 *
 * - `detection`: `confidence` (double, 0 to 1), `x_min`, `y_min`, `x_max`,
 *   `y_max` (double, the box normalised to the frame size, clipped to
 *   [0, 1], as DL Streamer writes them), `label_id` (0), `label` ("face"),
 *   `frames-ago` (0 when detected on this frame);
 * - `landmarks`: `points`, an array of ten doubles: x, y of the left eye,
 *   right eye, nose tip, left mouth corner and right mouth corner ("left"
 *   and "right" as seen in the image), in frame pixels; `order`, the same
 *   list as a string.
 *
 * The ROI box is in frame pixels, clipped to the frame. Pixels are never
 * modified. The ROIs serve `faceverify` or any consumer of ROI metas.
 *
 * The whole frame is searched on every
 * #GstMtcnnFaceDetect:full-scan-interval-th detector run; the runs in
 * between only look again around the last faces (a lost face makes a
 * full scan of that frame), and a face keeps its ROI id while it is
 * followed.
 *
 * No signals. Errors: a missing model is RESOURCE/NOT_FOUND, a malformed
 * one LIBRARY/INIT, and so are models that are not the pinned ones
 * (models/SHA256SUMS) unless #GstMtcnnFaceDetect:allow-unpinned-models is
 * set, which posts one warning instead.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! videoconvert ! \
 *     mtcnnfacedetect ! faceverify ! fakesink
 * gst-launch-1.0 v4l2src ! videoconvert ! mtcnnfacedetect min-face-size=60 ! \
 *     faceverify gallery-file=team.db ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmtcnnfacedetect.h"
#include "gstfaceverifyelements.h"
#include "gstfvcommon.h"

#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#include "fv.h"

GST_DEBUG_CATEGORY_STATIC (gst_mtcnn_face_detect_debug);
#define GST_CAT_DEFAULT gst_mtcnn_face_detect_debug

#define DEFAULT_MODEL_DIR NULL
#define DEFAULT_MIN_FACE_SIZE 40
#define DEFAULT_PNET_THRESHOLD 0.6
#define DEFAULT_RNET_THRESHOLD 0.7
#define DEFAULT_SCORE_THRESHOLD 0.7
#define DEFAULT_MAX_FACES 16
#define DEFAULT_DETECTION_INTERVAL 1
#define DEFAULT_FULL_SCAN_INTERVAL 5    /* measured: bench-track */
#define DEFAULT_THREADS 1
#define DEFAULT_ALLOW_UNPINNED_MODELS FALSE
#define MAX_MAX_FACES 256
/* A face of the last detection and one of this frame are the same face
 * (keep its ROI id) when their boxes overlap this much (IoU). */
#define SAME_FACE_IOU 0.3

#define LANDMARK_ORDER \
  "left-eye,right-eye,nose,left-mouth-corner,right-mouth-corner"

static const gchar *const model_files[3] = {
  "pnet.tflite", "rnet.tflite", "onet.tflite"
};

enum
{
  PROP_0,
  PROP_MODEL_DIR,
  PROP_MIN_FACE_SIZE,
  PROP_PNET_THRESHOLD,
  PROP_RNET_THRESHOLD,
  PROP_SCORE_THRESHOLD,
  PROP_MAX_FACES,
  PROP_DETECTION_INTERVAL,
  PROP_FULL_SCAN_INTERVAL,
  PROP_THREADS,
  PROP_ALLOW_UNPINNED_MODELS,
  PROP_N_FULL_SCANS,
};

struct _GstMtcnnFaceDetect
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *model_dir;
  guint min_face_size;
  gdouble thresholds[3];
  guint max_faces;
  guint detection_interval;
  guint full_scan_interval;
  guint threads;
  gboolean allow_unpinned;
  gboolean options_changed;

  /* from start() to stop() */
  FvModel *models[3];
  FvDetector *detector;
  FvScene *scene;
  FvDetectorOptions options;
  FvDetection *dets;
  guint n_dets;
  gint *det_ids;
  FvDetection *found;           /* this detection's faces, before ids */
  gint *found_ids;
  guint frames_since;           /* frames since the last detection */
  guint scans_since;            /* detections since the last full scan */
  gboolean have_dets;
  gint next_id;
  guint64 n_detections_run;
  guint64 n_full_scans;         /* under the object lock */

  /* chosen in set_caps() */
  GstVideoInfo info;
  GstFvPixelPath path;
  gboolean have_info;
};

#define gst_mtcnn_face_detect_parent_class parent_class
G_DEFINE_TYPE (GstMtcnnFaceDetect, gst_mtcnn_face_detect,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (mtcnnfacedetect, "mtcnnfacedetect",
    GST_RANK_NONE, GST_TYPE_MTCNN_FACE_DETECT);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_FV_VIDEO_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_FV_VIDEO_FORMATS)));

/* Reads the detector settings from the properties (object lock held). */
static void
gst_mtcnn_face_detect_read_options (GstMtcnnFaceDetect * self,
    FvDetectorOptions * o)
{
  fv_detector_options_init (o);
  o->min_face_size = MAX (self->min_face_size, 12);
  o->thresholds[0] = (float) self->thresholds[0];
  o->thresholds[1] = (float) self->thresholds[1];
  o->thresholds[2] = (float) self->thresholds[2];
  /* The large-face pass stays on (a face close to the camera fills the
   * frame); it works on a copy of the frame shrunk to 144 pixels, so it
   * costs little next to the normal pass (README, mtcnnfacedetect). */
  o->threads = self->threads;
  o->allow_unpinned = self->allow_unpinned;
}

static void
gst_mtcnn_face_detect_free_resources (GstMtcnnFaceDetect * self)
{
  guint i;

  g_clear_pointer (&self->detector, fv_detector_free);
  g_clear_pointer (&self->scene, fv_scene_free);
  for (i = 0; i < 3; i++)
    g_clear_pointer (&self->models[i], fv_model_unref);
  g_clear_pointer (&self->dets, g_free);
  g_clear_pointer (&self->det_ids, g_free);
  g_clear_pointer (&self->found, g_free);
  g_clear_pointer (&self->found_ids, g_free);
  self->n_dets = 0;
  self->have_dets = FALSE;
}

/* The detector runs models that are not the pinned ones: one warning when
 * that is allowed (allow-unpinned-models or FV_ALLOW_UNPINNED_MODELS=1),
 * else a LIBRARY/INIT error naming the file, worded by the library. */
static gboolean
gst_mtcnn_face_detect_check_pins (GstMtcnnFaceDetect * self, gchar ** paths)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *dir = g_path_get_dirname (paths[0]);

  if (!self->options.allow_unpinned) {
    /* only to learn which file differs, and whether the environment
     * allows it */
    FvDetector *d = fv_detector_new_from_files (paths[0], paths[1],
        paths[2], &self->options, &err);

    if (!d) {
      GST_ELEMENT_ERROR (self, LIBRARY, INIT,
          ("The face detector models in \"%s\" are not the pinned ones.",
              dir), ("%s; or set allow-unpinned-models", err->message));
      return FALSE;
    }
    fv_detector_free (d);
  }
  GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
      ("The face detector models in \"%s\" are not the pinned ones "
          "(models/SHA256SUMS): detections depend on these files.", dir),
      ("allow-unpinned-models or FV_ALLOW_UNPINNED_MODELS=1 is set"));
  return TRUE;
}

static gboolean
gst_mtcnn_face_detect_start (GstBaseTransform * trans)
{
  GstMtcnnFaceDetect *self = GST_MTCNN_FACE_DETECT (trans);
  g_autofree gchar *dir = NULL;
  gchar *paths[3] = { NULL, NULL, NULL };
  gboolean ok = FALSE;
  guint i;

  GST_OBJECT_LOCK (self);
  dir = g_strdup (self->model_dir);
  gst_mtcnn_face_detect_read_options (self, &self->options);
  self->options_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  for (i = 0; i < 3; i++) {
    g_autoptr (GError) err = NULL;

    if (dir && *dir)
      paths[i] = g_build_filename (dir, model_files[i], NULL);
    else
      paths[i] = fv_find_model (model_files[i]);
    if (!paths[i]) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("The face detector model %s was not found.", model_files[i]),
          ("Looked in $FV_MODEL_DIR, the source tree's models/ and the "
              "installed models; set the model-dir property."));
      goto out;
    }
    self->models[i] = fv_model_get_shared (paths[i], &err);
    if (!self->models[i]) {
      gst_fv_post_model_error (GST_ELEMENT (self), "face detector model",
          paths[i], err);
      goto out;
    }
  }

  {
    g_autoptr (GError) err = NULL;
    self->detector = fv_detector_new_for_models (self->models[0],
        self->models[1], self->models[2], &self->options, &err);
    if (!self->detector) {
      gst_fv_post_model_error (GST_ELEMENT (self), "face detector model",
          dir ? dir : "(installed)", err);
      goto out;
    }
  }
  if (!fv_detector_get_models_pinned (self->detector)
      && !gst_mtcnn_face_detect_check_pins (self, paths))
    goto out;

  self->scene = fv_scene_new ();
  self->dets = g_new0 (FvDetection, MAX_MAX_FACES);
  self->det_ids = g_new0 (gint, MAX_MAX_FACES);
  self->found = g_new0 (FvDetection, MAX_MAX_FACES);
  self->found_ids = g_new0 (gint, MAX_MAX_FACES);
  self->scans_since = 0;
  GST_OBJECT_LOCK (self);
  self->n_full_scans = 0;
  GST_OBJECT_UNLOCK (self);
  self->n_dets = 0;
  self->have_dets = FALSE;
  self->frames_since = 0;
  self->next_id = 1;
  self->n_detections_run = 0;
  ok = TRUE;
out:
  if (!ok)
    gst_mtcnn_face_detect_free_resources (self);
  for (i = 0; i < 3; i++)
    g_free (paths[i]);
  return ok;
}

static gboolean
gst_mtcnn_face_detect_stop (GstBaseTransform * trans)
{
  GstMtcnnFaceDetect *self = GST_MTCNN_FACE_DETECT (trans);

  GST_INFO_OBJECT (self, "%" G_GUINT64_FORMAT " detector runs, %"
      G_GUINT64_FORMAT " of them full scans", self->n_detections_run,
      self->n_full_scans);
  gst_mtcnn_face_detect_free_resources (self);
  self->have_info = FALSE;
  return TRUE;
}

static gboolean
gst_mtcnn_face_detect_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstMtcnnFaceDetect *self = GST_MTCNN_FACE_DETECT (trans);
  g_autoptr (GError) err = NULL;
  GstVideoInfo info;

  if (!gst_video_info_from_caps (&info, incaps)
      || !gst_fv_pixel_path_init (&self->path, &info)) {
    GST_WARNING_OBJECT (self, "unsupported caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  if (!gst_fv_check_frame_size (GST_ELEMENT (self), &info))
    return FALSE;
  /* plan the detector for this frame size now, not on the first frame */
  if (self->detector && !fv_detector_prepare (self->detector,
          GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info), &err)) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not prepare the face detector for %dx%d frames.",
            GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info)),
        ("%s", err->message));
    return FALSE;
  }
  self->info = info;
  self->have_info = TRUE;
  self->have_dets = FALSE;
  return TRUE;
}

/* A changed min-face-size or threshold while running: rebuild the detector
 * from the models already in memory (no file access). */
static void
gst_mtcnn_face_detect_apply_options (GstMtcnnFaceDetect * self)
{
  g_autoptr (GError) err = NULL;
  FvDetectorOptions o;
  FvDetector *d;

  GST_OBJECT_LOCK (self);
  gst_mtcnn_face_detect_read_options (self, &o);
  self->options_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  d = fv_detector_new_for_models (self->models[0], self->models[1],
      self->models[2], &o, &err);
  if (d && !fv_detector_prepare (d, GST_VIDEO_INFO_WIDTH (&self->info),
          GST_VIDEO_INFO_HEIGHT (&self->info), &err))
    g_clear_pointer (&d, fv_detector_free);
  if (!d) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("Could not apply the new detector settings; keeping the old ones."),
        ("%s", err->message));
    return;
  }
  fv_detector_free (self->detector);
  self->detector = d;
  self->options = o;
  self->have_dets = FALSE;
}

static void
gst_mtcnn_face_detect_add_roi (GstMtcnnFaceDetect * self, GstBuffer * buf,
    const FvDetection * d, gint id, guint frames_ago)
{
  gdouble fw = GST_VIDEO_INFO_WIDTH (&self->info);
  gdouble fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  gdouble x0 = CLAMP (d->x1, 0.0, fw), y0 = CLAMP (d->y1, 0.0, fh);
  gdouble x1 = CLAMP (d->x2, 0.0, fw), y1 = CLAMP (d->y2, 0.0, fh);
  GstVideoRegionOfInterestMeta *roi;
  GValue points = G_VALUE_INIT;
  GstStructure *s;
  guint k;

  roi = gst_buffer_add_video_region_of_interest_meta (buf, "face",
      (guint) floor (x0), (guint) floor (y0),
      (guint) MAX (ceil (x1) - floor (x0), 1.0),
      (guint) MAX (ceil (y1) - floor (y0), 1.0));
  roi->id = id;

  s = gst_structure_new ("detection",
      "x_min", G_TYPE_DOUBLE, x0 / fw,
      "y_min", G_TYPE_DOUBLE, y0 / fh,
      "x_max", G_TYPE_DOUBLE, x1 / fw,
      "y_max", G_TYPE_DOUBLE, y1 / fh,
      "confidence", G_TYPE_DOUBLE, (gdouble) d->score,
      "label_id", G_TYPE_INT, 0,
      "label", G_TYPE_STRING, "face",
      "frames-ago", G_TYPE_UINT, frames_ago, NULL);
  gst_video_region_of_interest_meta_add_param (roi, s);

  g_value_init (&points, GST_TYPE_ARRAY);
  for (k = 0; k < 2 * FV_N_LANDMARKS; k++) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, d->landmarks[k]);
    gst_value_array_append_and_take_value (&points, &v);
  }
  s = gst_structure_new ("landmarks",
      "order", G_TYPE_STRING, LANDMARK_ORDER, NULL);
  gst_structure_take_value (s, "points", &points);
  gst_video_region_of_interest_meta_add_param (roi, s);
}

/* Whether @id is in use on @buf or among the @n ids given so far. After
 * G_MAXINT the ids start over at 1, so they can meet upstream ones. */
static gboolean
gst_mtcnn_face_detect_id_taken (GstBuffer * buf, const gint * ids, guint n,
    gint id)
{
  guint k;

  if (gst_buffer_get_video_region_of_interest_meta_id (buf, id))
    return TRUE;
  for (k = 0; k < n; k++)
    if (ids[k] == id)
      return TRUE;
  return FALSE;
}

static gdouble
gst_mtcnn_face_detect_iou (const FvDetection * a, const FvDetection * b)
{
  gdouble w = MIN (a->x2, b->x2) - MAX (a->x1, b->x1);
  gdouble h = MIN (a->y2, b->y2) - MAX (a->y1, b->y1);
  gdouble u;

  if (!(w > 0 && h > 0))
    return 0.0;
  u = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1)
      - w * h;
  return u > 0 ? w * h / u : 0.0;
}

/* Gives each of the @n faces in self->found the id of the last
 * detection's face it overlaps most (each id once), or 0 for a new face.
 * Returns whether every face of the last detection was matched. */
static gboolean
gst_mtcnn_face_detect_match (GstMtcnnFaceDetect * self, guint n)
{
  guint i, j, matched = 0;

  for (i = 0; i < n; i++) {
    gdouble best = SAME_FACE_IOU;

    self->found_ids[i] = 0;
    for (j = 0; j < self->n_dets; j++) {
      gdouble iou = gst_mtcnn_face_detect_iou (&self->found[i],
          &self->dets[j]);
      guint k;

      if (iou < best)
        continue;
      for (k = 0; k < i && self->found_ids[k] != self->det_ids[j]; k++);
      if (k < i)
        continue;
      best = iou;
      self->found_ids[i] = self->det_ids[j];
    }
    if (self->found_ids[i])
      matched++;
  }
  return matched == self->n_dets;
}

/* Finds the faces of @frame into self->found: by tracking the last faces
 * when that is the rule for this detection (full-scan-interval) and the
 * scene did not change outside them since the last full scan, else, or
 * when a tracked face was lost, by a full scan of this frame. Returns the
 * number of faces, with their ids in self->found_ids (0: new face). */
static guint
gst_mtcnn_face_detect_find (GstMtcnnFaceDetect * self, const FvFrame * frame,
    guint max_faces, guint full_every)
{
  guint n;

  if (full_every > 1 && self->have_dets && self->scans_since + 1 < full_every) {
    float change = fv_scene_get_change (self->scene, frame, self->dets,
        self->n_dets);

    GST_LOG_OBJECT (self, "scene change %.1f", change);
    if (change <= FV_SCENE_CHANGE_THRESHOLD) {
      self->scans_since++;
      if (self->n_dets == 0)
        return 0;
      n = fv_detector_track (self->detector, frame, self->dets,
          self->n_dets, self->found, max_faces);
      if (gst_mtcnn_face_detect_match (self, n))
        return n;
      GST_LOG_OBJECT (self, "a tracked face was lost: full scan");
    }
  }
  n = fv_detector_detect (self->detector, frame, self->found, max_faces);
  if (full_every > 1)
    fv_scene_set_reference (self->scene, frame, self->found, n);
  self->scans_since = 0;
  GST_OBJECT_LOCK (self);
  self->n_full_scans++;
  GST_OBJECT_UNLOCK (self);
  if (full_every > 1 && self->have_dets)
    gst_mtcnn_face_detect_match (self, n);
  else
    memset (self->found_ids, 0, n * sizeof (gint));
  return n;
}

/* Runs the detector on @buf and gives its faces their ROI ids: those of
 * the faces they continue, new ones unique in @buf for the others. */
static gboolean
gst_mtcnn_face_detect_run (GstMtcnnFaceDetect * self, GstBuffer * buf,
    guint max_faces, guint full_every)
{
  GstVideoFrame vframe;
  FvFrame frame;
  gint max_id = 0;
  gpointer state = NULL;
  GstMeta *meta;
  guint n, i;

  if (!gst_fv_frame_map (GST_ELEMENT (self), &self->info, &self->path, buf,
          &vframe, &frame))
    return FALSE;
  n = gst_mtcnn_face_detect_find (self, &frame, MIN (max_faces,
          MAX_MAX_FACES), full_every);
  gst_video_frame_unmap (&vframe);
  self->n_detections_run++;
  self->frames_since = 0;
  self->have_dets = TRUE;

  /* ids unique in the buffer even when upstream added ROIs already */
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    max_id = MAX (max_id, ((GstVideoRegionOfInterestMeta *) meta)->id);
  if (max_id < G_MAXINT && self->next_id <= max_id)
    self->next_id = max_id + 1;
  for (i = 0; i < n; i++) {
    self->dets[i] = self->found[i];
    self->det_ids[i] = self->found_ids[i];
    if (self->det_ids[i] && !gst_mtcnn_face_detect_id_taken (buf,
            self->det_ids, i, self->det_ids[i]))
      continue;
    while (gst_mtcnn_face_detect_id_taken (buf, self->det_ids, i,
            self->next_id))
      self->next_id = self->next_id == G_MAXINT ? 1 : self->next_id + 1;
    self->det_ids[i] = self->next_id;
    self->next_id = self->next_id == G_MAXINT ? 1 : self->next_id + 1;
  }
  self->n_dets = n;
  return TRUE;
}

static GstFlowReturn
gst_mtcnn_face_detect_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMtcnnFaceDetect *self = GST_MTCNN_FACE_DETECT (trans);
  guint interval, full_every, max_faces, i;
  gboolean changed;

  if (G_UNLIKELY (!self->have_info)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("a buffer arrived before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  GST_OBJECT_LOCK (self);
  interval = self->detection_interval;
  full_every = self->full_scan_interval;
  max_faces = self->max_faces;
  changed = self->options_changed;
  GST_OBJECT_UNLOCK (self);

  if (G_UNLIKELY (changed))
    gst_mtcnn_face_detect_apply_options (self);

  if ((!self->have_dets || ++self->frames_since >= interval)
      && !gst_mtcnn_face_detect_run (self, buf, max_faces, full_every))
    return GST_FLOW_ERROR;

  for (i = 0; i < self->n_dets && i < max_faces; i++)
    gst_mtcnn_face_detect_add_roi (self, buf, &self->dets[i],
        self->det_ids[i], self->frames_since);
  return GST_FLOW_OK;
}

static void
gst_mtcnn_face_detect_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMtcnnFaceDetect *self = GST_MTCNN_FACE_DETECT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_DIR:
      g_free (self->model_dir);
      self->model_dir = g_value_dup_string (value);
      break;
    case PROP_MIN_FACE_SIZE:
      self->min_face_size = g_value_get_uint (value);
      self->options_changed = TRUE;
      break;
    case PROP_PNET_THRESHOLD:
      self->thresholds[0] = g_value_get_double (value);
      self->options_changed = TRUE;
      break;
    case PROP_RNET_THRESHOLD:
      self->thresholds[1] = g_value_get_double (value);
      self->options_changed = TRUE;
      break;
    case PROP_SCORE_THRESHOLD:
      self->thresholds[2] = g_value_get_double (value);
      self->options_changed = TRUE;
      break;
    case PROP_MAX_FACES:
      self->max_faces = g_value_get_uint (value);
      break;
    case PROP_DETECTION_INTERVAL:
      self->detection_interval = g_value_get_uint (value);
      break;
    case PROP_FULL_SCAN_INTERVAL:
      self->full_scan_interval = g_value_get_uint (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_uint (value);
      break;
    case PROP_ALLOW_UNPINNED_MODELS:
      self->allow_unpinned = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mtcnn_face_detect_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMtcnnFaceDetect *self = GST_MTCNN_FACE_DETECT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_DIR:
      g_value_set_string (value, self->model_dir);
      break;
    case PROP_MIN_FACE_SIZE:
      g_value_set_uint (value, self->min_face_size);
      break;
    case PROP_PNET_THRESHOLD:
      g_value_set_double (value, self->thresholds[0]);
      break;
    case PROP_RNET_THRESHOLD:
      g_value_set_double (value, self->thresholds[1]);
      break;
    case PROP_SCORE_THRESHOLD:
      g_value_set_double (value, self->thresholds[2]);
      break;
    case PROP_MAX_FACES:
      g_value_set_uint (value, self->max_faces);
      break;
    case PROP_DETECTION_INTERVAL:
      g_value_set_uint (value, self->detection_interval);
      break;
    case PROP_FULL_SCAN_INTERVAL:
      g_value_set_uint (value, self->full_scan_interval);
      break;
    case PROP_N_FULL_SCANS:
      g_value_set_uint64 (value, self->n_full_scans);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, self->threads);
      break;
    case PROP_ALLOW_UNPINNED_MODELS:
      g_value_set_boolean (value, self->allow_unpinned);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mtcnn_face_detect_finalize (GObject * object)
{
  GstMtcnnFaceDetect *self = GST_MTCNN_FACE_DETECT (object);

  g_free (self->model_dir);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mtcnn_face_detect_init (GstMtcnnFaceDetect * self)
{
  self->model_dir = g_strdup (DEFAULT_MODEL_DIR);
  self->min_face_size = DEFAULT_MIN_FACE_SIZE;
  self->thresholds[0] = DEFAULT_PNET_THRESHOLD;
  self->thresholds[1] = DEFAULT_RNET_THRESHOLD;
  self->thresholds[2] = DEFAULT_SCORE_THRESHOLD;
  self->max_faces = DEFAULT_MAX_FACES;
  self->detection_interval = DEFAULT_DETECTION_INTERVAL;
  self->full_scan_interval = DEFAULT_FULL_SCAN_INTERVAL;
  self->threads = DEFAULT_THREADS;
  self->allow_unpinned = DEFAULT_ALLOW_UNPINNED_MODELS;

  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_mtcnn_face_detect_install_properties (GObjectClass * gobject_class)
{
  /**
   * GstMtcnnFaceDetect:max-faces:
   *
   * Report at most this many faces per frame, the most confident first.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_FACES,
      g_param_spec_uint ("max-faces", "Maximum faces",
          "Report at most this many faces per frame, the most confident "
          "first", 1, MAX_MAX_FACES, DEFAULT_MAX_FACES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMtcnnFaceDetect:detection-interval:
   *
   * Run the detector on every n-th frame; the frames in between carry the
   * last faces again (same ROI ids, detection frames-ago > 0).
   */
  g_object_class_install_property (gobject_class, PROP_DETECTION_INTERVAL,
      g_param_spec_uint ("detection-interval", "Detection interval",
          "Run the detector on every n-th frame; the frames in between "
          "carry the last faces again (same ROI ids, detection frames-ago "
          "> 0)", 1, G_MAXINT, DEFAULT_DETECTION_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMtcnnFaceDetect:full-scan-interval:
   *
   * On the frames where the detector runs (see
   * #GstMtcnnFaceDetect:detection-interval, whose meaning is unchanged),
   * search the whole frame on every n-th run only. On the runs in
   * between the detector looks again only around the faces of the last
   * run (R-Net and O-Net on a few boxes around each, no P-Net pyramid),
   * and a frame with no faces so far costs only a look at a thumbnail.
   * The whole frame is searched at once, on the same frame, when a
   * tracked face is not found again or when the scene changed outside
   * the tracked faces since the last full scan: a block of a 64-column
   * luma thumbnail whose mean (less the median change of all blocks, so
   * the light may change slowly) or spread changed by more than 12 levels
   * of 255 (fv_scene_get_change(), %FV_SCENE_CHANGE_THRESHOLD); the
   * blocks within half a face's size of a tracked face do not count. So a
   * face that walks in is reported on the frame where it appears, while
   * sensor noise and a still scene keep the savings. A face keeps its
   * ROI id from run to run (also across full scans, by box overlap).
   * 1: every run is a full scan, the behaviour before this property (a
   * new ROI id for every face on every run).
   *
   * The default, 5, is measured (tests/plugin/bench-track, README
   * "Choosing full-scan-interval"): at 1280x720 a tracked face costs
   * about a quarter of what a face adds to a full scan, and the gate's
   * thumbnail about 0.25 ms; detector CPU per frame falls to 0.30x on
   * the shared clip and to 0.23x-0.28x on a still scene (with sensor
   * noise too), and a new face is reported on its frame. 3 saves less
   * (0.38x-0.44x); 10 saves little more (0.13x-0.21x) and leaves changes
   * that the gate cannot see (inside a tracked face's margin) for up to
   * 9 runs.
   */
  g_object_class_install_property (gobject_class, PROP_FULL_SCAN_INTERVAL,
      g_param_spec_uint ("full-scan-interval", "Full scan interval",
          "Search the whole frame on every n-th detector run only; in "
          "between, search only around the last faces (a lost face or a "
          "change of the scene outside them triggers a full scan at once). "
          "1: every run is a full scan",
          1, G_MAXINT, DEFAULT_FULL_SCAN_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMtcnnFaceDetect:n-full-scans:
   *
   * The detector runs since the element started that searched the whole
   * frame (see #GstMtcnnFaceDetect:full-scan-interval); the others only
   * tracked the last faces, or found that nothing changed in an empty
   * scene.
   */
  g_object_class_install_property (gobject_class, PROP_N_FULL_SCANS,
      g_param_spec_uint64 ("n-full-scans", "Full scans",
          "Detector runs since start that searched the whole frame",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstMtcnnFaceDetect:threads:
   *
   * The most threads (the streaming thread included) that run the
   * detector's first stage (P-Net, most of its time) on each frame (0:
   * one per CPU core). The extra threads come from the plugin's one
   * process-wide pool (one per core) that every mtcnnfacedetect and
   * faceverify instance shares; while another instance uses it, the
   * frame runs on the streaming thread alone. Instances that read the
   * same model files share their weights.
   */
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "Threads",
          "Threads that run the detector's first stage (P-Net, most of "
          "its time) on each frame (0: one per CPU core)",
          0, 64, DEFAULT_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstMtcnnFaceDetect:allow-unpinned-models:
   *
   * Accept pnet/rnet/onet files whose SHA-256 is not the pinned one of
   * models/SHA256SUMS (your own models); the element then posts one
   * warning at start. Off: such models are a LIBRARY/INIT error naming
   * the file (unless FV_ALLOW_UNPINNED_MODELS=1). Read at start.
   */
  g_object_class_install_property (gobject_class, PROP_ALLOW_UNPINNED_MODELS,
      g_param_spec_boolean ("allow-unpinned-models", "Allow unpinned models",
          "Accept detector models that are not the pinned ones "
          "(models/SHA256SUMS), with a warning. Read at start.",
          DEFAULT_ALLOW_UNPINNED_MODELS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
}

static void
gst_mtcnn_face_detect_class_init (GstMtcnnFaceDetectClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_mtcnn_face_detect_debug, "mtcnnfacedetect",
      0, "MTCNN face detection");

  gobject_class->set_property = gst_mtcnn_face_detect_set_property;
  gobject_class->get_property = gst_mtcnn_face_detect_get_property;
  gobject_class->finalize = gst_mtcnn_face_detect_finalize;

  /**
   * GstMtcnnFaceDetect:model-dir:
   *
   * Folder with pnet.tflite, rnet.tflite and onet.tflite; unset:
   * $FV_MODEL_DIR or the installed models. Loaded at start.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL_DIR,
      g_param_spec_string ("model-dir", "Model folder",
          "Folder with pnet.tflite, rnet.tflite and onet.tflite; unset: "
          "$FV_MODEL_DIR or the installed models. Loaded at start.",
          DEFAULT_MODEL_DIR,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstMtcnnFaceDetect:min-face-size:
   *
   * The smallest face to find, in pixels (12 or more; smaller faces cost
   * more time). A change while playing rebuilds the detector from the
   * loaded models.
   */
  g_object_class_install_property (gobject_class, PROP_MIN_FACE_SIZE,
      g_param_spec_uint ("min-face-size", "Minimum face size",
          "The smallest face to find, in pixels (12 or more; smaller faces "
          "cost more time). A change while playing rebuilds the detector "
          "from the loaded models",
          12, G_MAXINT, DEFAULT_MIN_FACE_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMtcnnFaceDetect:pnet-threshold:
   *
   * Score a candidate window needs in the first stage (P-Net).
   */
  g_object_class_install_property (gobject_class, PROP_PNET_THRESHOLD,
      g_param_spec_double ("pnet-threshold", "P-Net threshold",
          "Score a candidate window needs in the first stage (P-Net)",
          0.0, 1.0, DEFAULT_PNET_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMtcnnFaceDetect:rnet-threshold:
   *
   * Score a candidate needs in the second stage (R-Net).
   */
  g_object_class_install_property (gobject_class, PROP_RNET_THRESHOLD,
      g_param_spec_double ("rnet-threshold", "R-Net threshold",
          "Score a candidate needs in the second stage (R-Net)",
          0.0, 1.0, DEFAULT_RNET_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstMtcnnFaceDetect:score-threshold:
   *
   * Final confidence (O-Net score) a face needs to be reported.
   */
  g_object_class_install_property (gobject_class, PROP_SCORE_THRESHOLD,
      g_param_spec_double ("score-threshold", "Score threshold",
          "Final confidence (O-Net score) a face needs to be reported",
          0.0, 1.0, DEFAULT_SCORE_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  gst_mtcnn_face_detect_install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MTCNN face detector", "Filter/Analyzer/Video",
      "Finds faces and their five landmarks with MTCNN and adds a face "
      "region of interest for each", "gst-faceverify developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_mtcnn_face_detect_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mtcnn_face_detect_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_mtcnn_face_detect_set_caps);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_mtcnn_face_detect_transform_ip);
}

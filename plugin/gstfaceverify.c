/* gst-faceverify: the faceverify element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-faceverify
 * @title: faceverify
 *
 * Verifies every face region of interest against a gallery of enrolled
 * people. For each #GstVideoRegionOfInterestMeta whose type is `roi-type`
 * ("face"), it aligns the face to 112x112 (from the five landmarks of the
 * ROI's `landmarks` parameter when present, a square crop of the box
 * otherwise, see fv_aligner_crop_face()), computes a MobileFaceNet
 * embedding, matches it against the gallery file and attaches the
 * decision three ways:
 *
 * - a `face_id` parameter on the ROI (DL Streamer-style fields `label`:
 *   the identity or "unknown", `label_id`: gallery id or -1, `confidence`:
 *   the similarity, `model_name`, `attribute_name` = "face_id"; plus
 *   `known`, `similarity`, `margin`, `track-id`, `frames-ago`: 0 when
 *   computed on this frame, `aligned`, `gallery-version`, `verified` and,
 *   with #GstFaceVerify:attach-embedding, `embedding`: GBytes of float32);
 * - an #FvFaceIdMeta with the same fields, linked to the ROI by id, which
 *   survives `videoscale` (`pkg-config gstfaceverifymeta-1.0`);
 * - a `face-identity` element message on the bus (see
 *   #GstFaceVerify:updates) with `timestamp`, `stream-time`,
 *   `running-time`, `duration` (guint64, ns) and `faces`, an array of
 *   "face" structures with `roi-id` (int), `track-id` (uint), `x`, `y`,
 *   `width`, `height` (uint, frame pixels), `label` (string), `label-id`
 *   (int), `similarity` (double) and `known` (boolean).
 *
 * It works behind `mtcnnfacedetect` or any detector that adds "face"
 * ROIs; ROIs with id 0 (OpenCV `facedetect`) get unique ids.
 *
 * It owns the `face_id` param: on every ROI it did not verify (another
 * roi-type, unusable or too small, beyond `max-faces`) an upstream
 * `face_id` is marked `known`=false, `verified`=false, `label` "unknown",
 * `label_id` -1, and an upstream #FvFaceIdMeta is removed.
 *
 * A light IoU tracker (#FvTracker) follows faces across frames; a track's
 * identity is recomputed every `reidentify-interval` frames and whenever
 * its box moves a lot, and an identity only changes after two agreeing
 * observations (unless the embedding shows another face in the track's
 * place). With #GstFaceVerify:decision `track` (the default) the identity
 * is decided on the track's template, a weighted mean of its recent
 * embeddings, so that several weaker views (turned, small, dark) add up;
 * `frame` decides on each frame's embedding alone.
 * #GstFaceVerify:flip also embeds each face mirrored and averages the two.
 *
 * The gallery file may be changed by another process while the pipeline
 * runs (`faceverify enroll`, `faceverify gallery remove`, or the
 * #GstFaceVerify::enroll and #GstFaceVerify::forget action signals): a
 * background thread notices within about 0.2 s and swaps the new gallery
 * in without stalling the streaming thread. A broken file posts a WARNING
 * and the previous gallery stays in use.
 *
 * Errors: a missing model is RESOURCE/NOT_FOUND, a malformed one
 * LIBRARY/INIT, an unreadable gallery (or unreachable database) at start
 * RESOURCE/OPEN_READ, unless `gallery-required` is false or a gallery of
 * the same location was loaded before (then a WARNING).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! videoconvert ! \
 *     mtcnnfacedetect ! faceverify ! fakesink
 * gst-launch-1.0 filesrc location=clip.avi ! avidemux ! jpegdec ! videoconvert ! \
 *     mtcnnfacedetect ! faceverify gallery-file=team.db ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfaceverify.h"
#include "gstfaceverifyelements.h"
#include "gstfaceverifymeta.h"
#include "gstfvcommon.h"
#include "gstfvgalleryhost.h"
#include "gstfvverifier.h"

#include <gst/video/video.h>
#include <string.h>

#include "fv.h"

GST_DEBUG_CATEGORY (gst_face_verify_debug);
#define GST_CAT_DEFAULT gst_face_verify_debug

#define DEFAULT_MODEL_FILE NULL
#define DEFAULT_GALLERY_FILE NULL
#define DEFAULT_MATCH_THRESHOLD GST_FV_MATCH_THRESHOLD_UNSET
#define DEFAULT_MATCH_MARGIN FV_GALLERY_DEFAULT_MATCH_MARGIN
#define DEFAULT_ROI_TYPE "face"
#define DEFAULT_MIN_FACE_SIZE 20
#define DEFAULT_MAX_FACES 16
#define DEFAULT_THREADS 1
#define DEFAULT_REIDENTIFY_INTERVAL 3
#define DEFAULT_UPDATES GST_FACE_VERIFY_UPDATES_ON_CHANGE
#define DEFAULT_ATTACH_EMBEDDING FALSE
#define DEFAULT_DECISION GST_FACE_VERIFY_DECISION_TRACK
#define DEFAULT_FLIP FALSE
#define DEFAULT_MIN_QUALITY FV_FACE_QUALITY_DEFAULT_MIN

#define MODEL_FILE_NAME "MobileFaceNet.tflite"

enum
{
  PROP_0,
  PROP_MODEL_FILE,
  PROP_GALLERY_FILE,
  PROP_GALLERY_REQUIRED,
  PROP_MATCH_THRESHOLD,
  PROP_MATCH_MARGIN,
  PROP_ROI_TYPE,
  PROP_MIN_FACE_SIZE,
  PROP_MAX_FACES,
  PROP_THREADS,
  PROP_REIDENTIFY_INTERVAL,
  PROP_UPDATES,
  PROP_ATTACH_EMBEDDING,
  PROP_DECISION,
  PROP_FLIP,
  PROP_MIN_QUALITY,
  PROP_LOADED_MODELS,
};

enum
{
  SIGNAL_ENROLL,
  SIGNAL_FORGET,
  LAST_SIGNAL
};

static guint gst_face_verify_signals[LAST_SIGNAL];

struct _GstFaceVerify
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *model_file;
  gdouble match_threshold;
  gdouble match_margin;
  gchar *roi_type;
  GQuark roi_type_quark;
  guint min_face_size;
  guint max_faces;
  guint threads;
  guint reidentify_interval;
  GstFaceVerifyUpdates updates;
  gboolean attach_embedding;
  GstFaceVerifyDecision decision;
  gboolean flip;
  gdouble min_quality;

  /* from start() to stop(); the enroll signal reads the faces of the last
   * frame under last_lock */
  GMutex last_lock;
  GstFvVerifier *verifier;
  /* the model's, which the gallery must match: set in start() */
  gchar *fingerprint;
  guint dim;

  /* the pixel path, chosen in set_caps() */
  GstVideoInfo info;
  GstFvPixelPath path;
  gboolean have_info;

  /* the gallery location, the snapshot in use and its reload thread */
  GstFvGalleryHost *gallery;
};

#define gst_face_verify_parent_class parent_class
G_DEFINE_TYPE (GstFaceVerify, gst_face_verify, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (faceverify, "faceverify", GST_RANK_NONE,
    GST_TYPE_FACE_VERIFY);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_FV_VIDEO_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_FV_VIDEO_FORMATS)));

GType
gst_face_verify_updates_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_FACE_VERIFY_UPDATES_EVERY_FRAME,
        "A face-identity message for every frame", "every-frame"},
    {GST_FACE_VERIFY_UPDATES_ON_CHANGE,
        "A face-identity message when faces appear or leave or an "
          "identity changes", "on-change"},
    {GST_FACE_VERIFY_UPDATES_NONE, "No face-identity messages", "none"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstFaceVerifyUpdates", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_face_verify_decision_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_FACE_VERIFY_DECISION_TRACK,
        "Decide on the track's template (recent views together)", "track"},
    {GST_FACE_VERIFY_DECISION_FRAME,
        "Decide on each frame's embedding alone", "frame"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstFaceVerifyDecision", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ------------------------------------------------------------------------ */
/* Action signals                                                           */
/* ------------------------------------------------------------------------ */

static gboolean
gst_face_verify_enroll (GstFaceVerify * self, const gchar * label, gint roi_id)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (FvGallery) g = NULL;
  g_autofree gfloat *emb = NULL;
  FvGallerySample sample;
  gint64 identity_id = -1;
  gint found_roi = 0;
  gfloat quality = -1.0f;

  if (!label || !*label) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("Cannot enroll: the label is empty."), (NULL));
    return FALSE;
  }

  g_mutex_lock (&self->last_lock);
  if (self->verifier)
    emb = gst_fv_verifier_dup_embedding (self->verifier, roi_id, &found_roi,
        &quality);
  g_mutex_unlock (&self->last_lock);

  if (!emb) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("Cannot enroll \"%s\": no face with ROI id %d on the last frame.",
            label, roi_id), (NULL));
    return FALSE;
  }

  g = gst_fv_gallery_host_open_for_writing (self->gallery, &err);
  sample.embedding = emb;
  sample.quality = quality;
  sample.source = "faceverify element";
  if (!g || !fv_gallery_enroll (g, label, NULL, &sample, 1,
          FV_GALLERY_ENROLL_APPEND, &identity_id, &err)) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Cannot enroll \"%s\" into the gallery.", label),
        ("%s", err->message));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "enrolled \"%s\" (identity %" G_GINT64_FORMAT
      ") from ROI %d", label, identity_id, found_roi);
  g_clear_pointer (&g, fv_gallery_free);
  gst_fv_gallery_host_wake (self->gallery);
  return TRUE;
}

static gboolean
gst_face_verify_forget (GstFaceVerify * self, const gchar * label)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (FvGallery) g = NULL;

  if (!label || !*label) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("Cannot forget: the label is empty."), (NULL));
    return FALSE;
  }
  g = gst_fv_gallery_host_open_for_writing (self->gallery, &err);
  if (!g || !fv_gallery_remove (g, label, &err)) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Cannot remove \"%s\" from the gallery.", label),
        ("%s", err->message));
    return FALSE;
  }
  g_clear_pointer (&g, fv_gallery_free);
  gst_fv_gallery_host_wake (self->gallery);
  return TRUE;
}


/* ------------------------------------------------------------------------ */
/* Start, stop, caps                                                        */
/* ------------------------------------------------------------------------ */

static void
gst_face_verify_free_resources (GstFaceVerify * self)
{
  g_mutex_lock (&self->last_lock);
  g_clear_pointer (&self->verifier, gst_fv_verifier_free);
  g_mutex_unlock (&self->last_lock);

  g_clear_pointer (&self->fingerprint, g_free);
  gst_fv_gallery_host_stop (self->gallery);
}

static gboolean
gst_face_verify_start (GstBaseTransform * trans)
{
  GstFaceVerify *self = GST_FACE_VERIFY (trans);
  g_autofree gchar *path = NULL;
  GstFvVerifier *verifier;
  guint threads, cap;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_file);
  threads = self->threads;
  cap = self->max_faces;
  GST_OBJECT_UNLOCK (self);

  if (!path || !*path) {
    g_free (path);
    path = fv_find_model (MODEL_FILE_NAME);
    if (!path) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("The face model " MODEL_FILE_NAME " was not found."),
          ("Looked in $FV_MODEL_DIR, the source tree's models/ and the "
              "installed models; set the model-file property."));
      return FALSE;
    }
  }
  if (threads == 0)
    threads = g_get_num_processors ();
  threads = CLAMP (threads, 1, cap);
  verifier = gst_fv_verifier_new (GST_ELEMENT (self), path, threads, cap);
  if (!verifier)
    return FALSE;
  self->fingerprint = g_strdup (gst_fv_verifier_get_fingerprint (verifier));
  self->dim = gst_fv_verifier_get_dim (verifier);

  if (!gst_fv_gallery_host_start (self->gallery, self->fingerprint, self->dim)) {
    gst_fv_verifier_free (verifier);
    gst_face_verify_free_resources (self);
    return FALSE;
  }

  g_mutex_lock (&self->last_lock);
  self->verifier = verifier;
  g_mutex_unlock (&self->last_lock);
  GST_INFO_OBJECT (self, "model %s (%u-d, %u thread(s)): %s", path,
      self->dim, threads, gst_fv_verifier_describe (verifier));
  return TRUE;
}

static gboolean
gst_face_verify_stop (GstBaseTransform * trans)
{
  GstFaceVerify *self = GST_FACE_VERIFY (trans);
  GstFvVerifier *verifier;
  guint64 frames = 0, embedded = 0;

  g_mutex_lock (&self->last_lock);
  verifier = g_steal_pointer (&self->verifier);
  g_mutex_unlock (&self->last_lock);

  gst_fv_gallery_host_stop (self->gallery);
  if (verifier)
    gst_fv_verifier_get_stats (verifier, &frames, &embedded);
  GST_INFO_OBJECT (self, "%" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
      " embeddings", frames, embedded);
  g_clear_pointer (&verifier, gst_fv_verifier_free);
  gst_face_verify_free_resources (self);
  self->have_info = FALSE;
  return TRUE;
}

static gboolean
gst_face_verify_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstFaceVerify *self = GST_FACE_VERIFY (trans);
  GstVideoInfo info;

  if (!gst_video_info_from_caps (&info, incaps)) {
    GST_WARNING_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  if (!gst_fv_pixel_path_init (&self->path, &info)) {
    GST_WARNING_OBJECT (self, "unsupported format %s",
        gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info)));
    return FALSE;
  }
  if (!gst_fv_check_frame_size (GST_ELEMENT (self), &info))
    return FALSE;
  self->info = info;
  self->have_info = TRUE;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Per frame                                                                */
/* ------------------------------------------------------------------------ */

static void
gst_face_verify_read_settings (GstFaceVerify * self, GstFvVerifierSettings * s,
    GstFaceVerifyUpdates * updates)
{
  GST_OBJECT_LOCK (self);
  s->threshold = (gfloat) self->match_threshold;
  s->margin = (gfloat) self->match_margin;
  s->roi_type = self->roi_type_quark;
  s->min_face_size = self->min_face_size;
  s->reidentify_interval = self->reidentify_interval;
  s->attach_embedding = self->attach_embedding;
  s->track_templates = self->decision == GST_FACE_VERIFY_DECISION_TRACK;
  s->flip = self->flip;
  s->min_quality = (gfloat) self->min_quality;
  *updates = self->updates;
  GST_OBJECT_UNLOCK (self);
}

static GstFlowReturn
gst_face_verify_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstFaceVerify *self = GST_FACE_VERIFY (trans);
  g_autoptr (FvGallerySnapshot) snap = NULL;
  GstFvVerifierSettings s;
  GstFaceVerifyUpdates updates;
  GstStructure *st = NULL;
  guint64 version;
  gboolean ok;

  if (G_UNLIKELY (!self->have_info)) {
    GST_ELEMENT_ERROR (self, CORE, NOT_IMPLEMENTED, (NULL),
        ("a buffer arrived before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  gst_face_verify_read_settings (self, &s, &updates);

  snap = gst_fv_gallery_host_ref_snapshot (self->gallery, &version);

  /* the enroll signal waits for this frame rather than see it half done */
  g_mutex_lock (&self->last_lock);
  ok = gst_fv_verifier_process (self->verifier, buf, &self->info, &self->path,
      snap, version, &s);
  if (ok && updates != GST_FACE_VERIFY_UPDATES_NONE)
    st = gst_fv_verifier_new_message (self->verifier, &trans->segment, buf,
        updates == GST_FACE_VERIFY_UPDATES_ON_CHANGE);
  g_mutex_unlock (&self->last_lock);

  if (!ok)
    return GST_FLOW_ERROR;
  /* outside the lock: a bus sync handler may emit the enroll signal */
  if (st)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), st));
  return GST_FLOW_OK;
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */
/* ------------------------------------------------------------------------ */

static void
gst_face_verify_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFaceVerify *self = GST_FACE_VERIFY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      g_free (self->model_file);
      self->model_file = g_value_dup_string (value);
      break;
    case PROP_GALLERY_FILE:
      /* a new location is loaded in the background */
      gst_fv_gallery_host_set_location (self->gallery,
          g_value_get_string (value));
      break;
    case PROP_GALLERY_REQUIRED:
      gst_fv_gallery_host_set_required (self->gallery,
          g_value_get_boolean (value));
      break;
    case PROP_MATCH_THRESHOLD:
      self->match_threshold = g_value_get_double (value);
      break;
    case PROP_MATCH_MARGIN:
      self->match_margin = g_value_get_double (value);
      break;
    case PROP_ROI_TYPE:
      gst_fv_set_roi_type (value, DEFAULT_ROI_TYPE, &self->roi_type,
          &self->roi_type_quark);
      break;
    case PROP_MIN_FACE_SIZE:
      self->min_face_size = g_value_get_uint (value);
      break;
    case PROP_MAX_FACES:
      self->max_faces = g_value_get_uint (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_uint (value);
      break;
    case PROP_REIDENTIFY_INTERVAL:
      self->reidentify_interval = g_value_get_uint (value);
      break;
    case PROP_UPDATES:
      self->updates = g_value_get_enum (value);
      break;
    case PROP_ATTACH_EMBEDDING:
      self->attach_embedding = g_value_get_boolean (value);
      break;
    case PROP_DECISION:
      self->decision = g_value_get_enum (value);
      break;
    case PROP_FLIP:
      self->flip = g_value_get_boolean (value);
      break;
    case PROP_MIN_QUALITY:
      self->min_quality = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);

  if ((prop_id == PROP_MODEL_FILE || prop_id == PROP_MAX_FACES
          || prop_id == PROP_THREADS)
      && gst_fv_element_is_running (GST_ELEMENT (self)))
    GST_WARNING_OBJECT (self, "%s takes effect at the next start (READY)",
        pspec->name);
}

static void
gst_face_verify_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstFaceVerify *self = GST_FACE_VERIFY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      g_value_set_string (value, self->model_file);
      break;
    case PROP_GALLERY_FILE:
      g_value_take_string (value,
          gst_fv_gallery_host_dup_location (self->gallery));
      break;
    case PROP_GALLERY_REQUIRED:
      g_value_set_boolean (value,
          gst_fv_gallery_host_get_required (self->gallery));
      break;
    case PROP_MATCH_THRESHOLD:
      g_value_set_double (value, self->match_threshold);
      break;
    case PROP_MATCH_MARGIN:
      g_value_set_double (value, self->match_margin);
      break;
    case PROP_ROI_TYPE:
      g_value_set_string (value, self->roi_type);
      break;
    case PROP_MIN_FACE_SIZE:
      g_value_set_uint (value, self->min_face_size);
      break;
    case PROP_MAX_FACES:
      g_value_set_uint (value, self->max_faces);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, self->threads);
      break;
    case PROP_REIDENTIFY_INTERVAL:
      g_value_set_uint (value, self->reidentify_interval);
      break;
    case PROP_UPDATES:
      g_value_set_enum (value, self->updates);
      break;
    case PROP_ATTACH_EMBEDDING:
      g_value_set_boolean (value, self->attach_embedding);
      break;
    case PROP_DECISION:
      g_value_set_enum (value, self->decision);
      break;
    case PROP_FLIP:
      g_value_set_boolean (value, self->flip);
      break;
    case PROP_MIN_QUALITY:
      g_value_set_double (value, self->min_quality);
      break;
    case PROP_LOADED_MODELS:
      g_value_set_uint (value, fv_model_get_n_shared ());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_face_verify_finalize (GObject * object)
{
  GstFaceVerify *self = GST_FACE_VERIFY (object);

  g_free (self->model_file);
  gst_fv_gallery_host_free (self->gallery);
  g_free (self->roi_type);
  g_mutex_clear (&self->last_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_face_verify_init (GstFaceVerify * self)
{
  self->model_file = g_strdup (DEFAULT_MODEL_FILE);
  self->gallery = gst_fv_gallery_host_new (GST_ELEMENT (self));
  gst_fv_gallery_host_set_location (self->gallery, DEFAULT_GALLERY_FILE);
  self->match_threshold = DEFAULT_MATCH_THRESHOLD;
  self->match_margin = DEFAULT_MATCH_MARGIN;
  self->roi_type = g_strdup (DEFAULT_ROI_TYPE);
  self->roi_type_quark = g_quark_from_string (self->roi_type);
  self->min_face_size = DEFAULT_MIN_FACE_SIZE;
  self->max_faces = DEFAULT_MAX_FACES;
  self->threads = DEFAULT_THREADS;
  self->reidentify_interval = DEFAULT_REIDENTIFY_INTERVAL;
  self->updates = DEFAULT_UPDATES;
  self->attach_embedding = DEFAULT_ATTACH_EMBEDDING;
  self->decision = DEFAULT_DECISION;
  self->flip = DEFAULT_FLIP;
  self->min_quality = DEFAULT_MIN_QUALITY;
  g_mutex_init (&self->last_lock);

  /* metadata only: pixels are never written, but the buffer must be
   * writable to carry the new metas */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

/* model, gallery and matching */
static void
gst_face_verify_install_properties (GObjectClass * gobject_class)
{
  /**
   * GstFaceVerify:model-file:
   *
   * The MobileFaceNet TFLite file. Unset, MobileFaceNet.tflite is looked
   * up in `$FV_MODEL_DIR`, the source tree's models/ and the installed
   * models. Read at start.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL_FILE,
      g_param_spec_string ("model-file", "Model file",
          "The MobileFaceNet TFLite file; unset: " MODEL_FILE_NAME
          " from $FV_MODEL_DIR or the installed models. Loaded at start.",
          DEFAULT_MODEL_FILE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstFaceVerify:gallery-file:
   *
   * The gallery: an SQLite file made by `faceverify enroll` (or the
   * #GstFaceVerify::enroll signal), or a shared PostgreSQL database's URI
   * `postgresql://…` (no message shows its password). Unset, every face is
   * unknown. Edits by other processes are loaded in the background.
   */
  g_object_class_install_property (gobject_class, PROP_GALLERY_FILE,
      g_param_spec_string ("gallery-file", "Gallery file",
          "The gallery (SQLite file made by `faceverify enroll`, or a URI "
          "postgresql://…); unset: every face is unknown. Edits by other "
          "processes and a new path set while PLAYING are loaded in the "
          "background.",
          DEFAULT_GALLERY_FILE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:gallery-required:
   *
   * What start does when the gallery cannot be read (a database that is
   * unreachable, a file that is not a gallery). %TRUE: an ERROR
   * (RESOURCE/OPEN_READ, naming the location without its password).
   * %FALSE: start at once without waiting for the database, post one
   * WARNING, play with an empty gallery (every face unknown) and keep
   * trying in the background with a growing back-off until it loads.
   * Either way, when the element already had a gallery of the same
   * location and model (it went PLAYING -> READY -> PLAYING while the
   * database was down), it starts with that one and a WARNING. A file
   * that does not exist (yet) is always a WARNING. Stopping never waits
   * for the database.
   */
  g_object_class_install_property (gobject_class, PROP_GALLERY_REQUIRED,
      g_param_spec_boolean ("gallery-required", "Gallery required",
          "Whether an unreadable gallery (unreachable database) at start is "
          "an ERROR; false: a WARNING, every face is unknown until it loads "
          "in the background. A gallery loaded before (same location) is "
          "used meanwhile either way.", TRUE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstFaceVerify:match-threshold:
   *
   * A face is known when the cosine similarity to its best identity is at
   * least this, and #GstFaceVerify:match-margin holds. The default, -1,
   * means "not set": the gallery's calibrated threshold (written by
   * `faceverify calibrate --far`, followed on every reload) when it has
   * one, else 0.50 (%FV_GALLERY_DEFAULT_MATCH_THRESHOLD). Any other value
   * overrides the gallery's.
   */
  g_object_class_install_property (gobject_class, PROP_MATCH_THRESHOLD,
      g_param_spec_double ("match-threshold", "Match threshold",
          "A face is known when the cosine similarity to its best identity "
          "is at least this (and the margin test passes); -1: the "
          "gallery's calibrated threshold, else 0.50",
          -1.0, 1.0, DEFAULT_MATCH_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:match-margin:
   *
   * A face is known only when its best identity's similarity beats the
   * second best identity's by at least this.
   */
  g_object_class_install_property (gobject_class, PROP_MATCH_MARGIN,
      g_param_spec_double ("match-margin", "Match margin",
          "A face is known only when its best identity's similarity exceeds "
          "the second best identity's by at least this",
          0.0, 2.0, DEFAULT_MATCH_MARGIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:roi-type:
   *
   * Only regions of interest of this type are verified.
   */
  g_object_class_install_property (gobject_class, PROP_ROI_TYPE,
      g_param_spec_string ("roi-type", "ROI type",
          "Only regions of interest of this type are verified",
          DEFAULT_ROI_TYPE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
}

/* which faces, how often, what is reported */
static void
gst_face_verify_install_face_properties (GObjectClass * gobject_class)
{
  /**
   * GstFaceVerify:min-face-size:
   *
   * Faces whose visible box is smaller than this on its shorter side, in
   * pixels, are skipped: no identity is attached to them.
   */
  g_object_class_install_property (gobject_class, PROP_MIN_FACE_SIZE,
      g_param_spec_uint ("min-face-size", "Minimum face size",
          "Faces whose visible box is smaller than this many pixels on its "
          "shorter side are skipped (no identity attached)",
          0, G_MAXINT, DEFAULT_MIN_FACE_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:max-faces:
   *
   * At most this many faces per frame are verified, the largest first.
   * Buffers are sized for it at start.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_FACES,
      g_param_spec_uint ("max-faces", "Maximum faces",
          "At most this many faces per frame are verified, the largest "
          "first; buffers are sized for it at start",
          1, 256, DEFAULT_MAX_FACES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstFaceVerify:threads:
   *
   * The most threads (the streaming thread included) that embed the
   * faces of one frame in parallel (0: one per CPU core). Read at start.
   * The extra threads are those of the plugin's one process-wide pool
   * (one per core), which every faceverify and mtcnnfacedetect instance
   * shares: many instances never start more threads than there are
   * cores. While another instance uses the pool, a frame is embedded on
   * the streaming thread alone.
   */
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "Threads",
          "The most threads that embed the faces of one frame in parallel "
          "(0: one per CPU core), taken from the process-wide pool that "
          "every instance shares",
          0, 64, DEFAULT_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstFaceVerify:reidentify-interval:
   *
   * Recompute a tracked face's identity every this many frames (1: every
   * frame); sooner when its box changes a lot or an identity change
   * awaits confirmation. In between the track's identity is reused and
   * `frames-ago` counts the frames since.
   *
   * The default, 3, is where the trade is best in
   * tests/plugin/bench-reidentify (AMD EPYC Zen 4, AVX-512, thread CPU
   * time, a busy machine): against 1 it saves 62-66 % of the verification
   * CPU, and a change of person under a box that does not move (the worst
   * case: seven people in turn at one place) is noticed 1 frame later on
   * average, 2 at most. 5 and 10 save 80-82 % and 88-90 % but notice the
   * change 1.7 and 4.2 frames later (at most 4 and 8), showing the
   * previous person's name meanwhile; each frame of delay beyond 3 buys
   * far less CPU. When the box moves with the change (the shared clip),
   * every interval notices it on the frame itself.
   */
  g_object_class_install_property (gobject_class, PROP_REIDENTIFY_INTERVAL,
      g_param_spec_uint ("reidentify-interval", "Re-identify interval",
          "Recompute a tracked face's identity every this many frames (1: "
          "every frame); sooner when its box changes a lot or an identity "
          "change awaits confirmation. In between, the track's identity is "
          "reused and frames-ago counts the frames since (default 3: about "
          "60% less verification CPU than 1 for a change of person noticed "
          "at most 2 frames later)",
          1, G_MAXINT, DEFAULT_REIDENTIFY_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:updates:
   *
   * When to post `face-identity` element messages on the bus.
   */
  g_object_class_install_property (gobject_class, PROP_UPDATES,
      g_param_spec_enum ("updates", "Updates",
          "When to post face-identity element messages on the bus",
          GST_TYPE_FACE_VERIFY_UPDATES, DEFAULT_UPDATES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:attach-embedding:
   *
   * Also attach the L2-normalised embedding (GBytes of float32) as the
   * `embedding` field of the `face_id` param and to #FvFaceIdMeta.
   */
  g_object_class_install_property (gobject_class, PROP_ATTACH_EMBEDDING,
      g_param_spec_boolean ("attach-embedding", "Attach embedding",
          "Add the L2-normalised embedding (GBytes of float32) as the "
          "\"embedding\" field of the face_id param and to FvFaceIdMeta",
          DEFAULT_ATTACH_EMBEDDING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
}

/* how identities are decided, and from which faces */
static void
gst_face_verify_install_decision_properties (GObjectClass * gobject_class)
{
  /**
   * GstFaceVerify:decision:
   *
   * What a tracked face's identity is decided on: `track`, the track's
   * template (the weighted mean of its recent embeddings, each new one
   * counting most; it starts again when another face takes the track's
   * place), so that several weaker views of a face add up; or `frame`,
   * each frame's embedding alone. Both go through the same hysteresis.
   */
  g_object_class_install_property (gobject_class, PROP_DECISION,
      g_param_spec_enum ("decision", "Decision",
          "Decide on the track's template, the weighted mean of its recent "
          "embeddings (track), or on each frame's embedding alone (frame)",
          GST_TYPE_FACE_VERIFY_DECISION, DEFAULT_DECISION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:flip:
   *
   * Test-time augmentation: also embed each face mirrored and use the
   * normalised mean of the two embeddings: twice the work (gain: README).
   */
  g_object_class_install_property (gobject_class, PROP_FLIP,
      g_param_spec_boolean ("flip", "Flip",
          "Also embed each face mirrored and average the two embeddings "
          "(twice the work)", DEFAULT_FLIP,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerify:loaded-models:
   *
   * How many model files the plugin's elements hold loaded in this
   * process. Instances that use the same file (faceverify's model-file,
   * mtcnnfacedetect's three nets) share one copy of its weights, so this
   * counts files, not instances: any number of faceverify elements with
   * the default model count 1. For monitoring memory and for tests.
   */
  g_object_class_install_property (gobject_class, PROP_LOADED_MODELS,
      g_param_spec_uint ("loaded-models", "Loaded models",
          "Model files loaded in this process by the plugin's elements "
          "(each once, however many instances use it)",
          0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstFaceVerify:min-quality:
   *
   * The lowest face quality (fv_face_quality(): sharpness, size, pose,
   * brightness, contrast and cut by the frame edge of the crop, in [0, 1])
   * at which a face may be recognised. A face whose crop scores below is
   * reported `unknown` (`known` false, `label_id` -1, similarity 0) with
   * `reason` "low-quality" and `quality-reason` (e.g. "too small"), and its
   * crop never counts as evidence for its track's identity. Every face
   * carries its score in `quality`. 0 turns the gate off. The default,
   * 0.3, passes every face of the project's test photos, clip and demo
   * (lowest scores 0.65, 1 and 0.46; 0.36 for a face turned 47 degrees)
   * and refuses blurred (0), tiny (0.18 at 20 px) and out-of-focus faces.
   */
  g_object_class_install_property (gobject_class, PROP_MIN_QUALITY,
      g_param_spec_double ("min-quality", "Minimum quality",
          "Faces whose crop has a lower quality (0-1: sharpness, size, pose, "
          "brightness, contrast, cut by the frame edge) are reported unknown "
          "with reason \"low-quality\" (0: no gate)",
          0.0, 1.0, DEFAULT_MIN_QUALITY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
}

static void
gst_face_verify_class_init (GstFaceVerifyClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_face_verify_debug, "faceverify", 0,
      "face verification against a gallery");

  gobject_class->set_property = gst_face_verify_set_property;
  gobject_class->get_property = gst_face_verify_get_property;
  gobject_class->finalize = gst_face_verify_finalize;

  gst_face_verify_install_properties (gobject_class);
  gst_face_verify_install_face_properties (gobject_class);
  gst_face_verify_install_decision_properties (gobject_class);

  /**
   * GstFaceVerify::enroll:
   * @faceverify: the element
   * @label: the identity's label
   * @roi_id: the id of a face ROI on the last processed frame; 0 for the
   *   largest face
   *
   * Adds the face's embedding to the gallery file as a sample of @label
   * (creating the identity, and the file, when needed). The element picks
   * the change up like any other edit of the gallery.
   *
   * Returns: %TRUE on success
   */
  gst_face_verify_signals[SIGNAL_ENROLL] =
      g_signal_new_class_handler ("enroll", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_face_verify_enroll), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 2, G_TYPE_STRING, G_TYPE_INT);

  /**
   * GstFaceVerify::forget:
   * @faceverify: the element
   * @label: the identity's label
   *
   * Removes the identity @label from the gallery file.
   *
   * Returns: %TRUE on success
   */
  gst_face_verify_signals[SIGNAL_FORGET] =
      g_signal_new_class_handler ("forget", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_face_verify_forget), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 1, G_TYPE_STRING);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Face verification", "Filter/Analyzer/Video",
      "Identifies each face region of interest against a gallery of "
      "enrolled people and attaches the identity to the buffer",
      "gst-faceverify developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_face_verify_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_face_verify_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_face_verify_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_face_verify_transform_ip);

  gst_type_mark_as_plugin_api (GST_TYPE_FACE_VERIFY_UPDATES, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_FACE_VERIFY_DECISION, 0);
}

/* gst-faceverify: the per-frame work of faceverify: collect the face ROIs,
 * track them, embed on the thread pool, match and attach
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#include "gstfvverifier.h"
#include "gstfaceverifymeta.h"
#include "gstfvidentity.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_EXTERN (gst_face_verify_debug);
#define GST_CAT_DEFAULT gst_face_verify_debug

/* A ROI less than this fraction inside the frame is skipped. */
#define MIN_VISIBLE_FRACTION 0.5
#define CROP_BYTES (FV_EMBED_SIZE * FV_EMBED_SIZE * 3)

/* One face of the current frame. The array is reused from frame to frame;
 * the enroll signal reads it between frames. */
typedef struct
{
  GstVideoRegionOfInterestMeta *roi;    /* valid during process() */
  gint roi_id;
  FvBox box;
  gfloat landmarks[2 * FV_FACE_ID_N_LANDMARKS];
  gboolean has_landmarks;
  gfloat area;
  FvTrack *track;
  gboolean embed;               /* embedded on this frame */
  gboolean aligned;             /* that crop was aligned on the landmarks */
  gfloat quality;               /* and its fv_face_quality() */
  FvFaceQualityReason quality_reason;   /* why that is below 1 */
  gboolean low_quality;         /* the track's crop is below min-quality */
  gint query;                   /* row of queries and matches, or -1 */
  /* track id, label id and known of the face at this index in the last
   * face-identity message */
  guint posted[3];
} GstFvVerifierFace;

/* What one thread of the pool needs to embed a face. */
typedef struct
{
  FvAligner *aligner;
  FvEmbedder *embedder;
  guint8 crop[CROP_BYTES];
} GstFvVerifierWorker;

struct _GstFvVerifier
{
  GstElement *element;          /* not owned: for messages */
  FvModel *model;
  FvThreadPool *pool;
  GstFvVerifierWorker *workers;
  guint n_workers;
  guint dim;
  gchar *model_name;
  gchar *fingerprint;
  guint capacity;
  FvTracker *tracker;
  FvBox *boxes;                 /* the tracker's input */
  FvTrack **tracks;             /* and output */
  gfloat *queries;              /* embeddings to match, one row per query */
  FvGalleryMatch *matches;
  GstFvVerifierFace *faces;
  guint n_faces;
  guint n_posted;
  guint64 n_frames;
  guint64 n_embedded;
  const FvFrame *job_frame;
  /* the decision settings of the last match: when they change, reused
   * identities are matched again, as after a gallery change */
  gfloat last_threshold, last_margin;
  gboolean rematch;
};

void
gst_fv_verifier_free (GstFvVerifier * v)
{
  guint i;

  if (!v)
    return;
  g_clear_pointer (&v->pool, fv_thread_pool_free);
  for (i = 0; v->workers && i < v->n_workers; i++) {
    g_clear_pointer (&v->workers[i].embedder, fv_embedder_free);
    g_clear_pointer (&v->workers[i].aligner, fv_aligner_free);
  }
  g_free (v->workers);
  g_clear_pointer (&v->model, fv_model_unref);
  g_free (v->model_name);
  g_free (v->fingerprint);
  g_clear_pointer (&v->tracker, fv_tracker_free);
  g_free (v->boxes);
  g_free (v->tracks);
  g_free (v->queries);
  g_free (v->matches);
  g_free (v->faces);
  g_free (v);
}

/* Gets the model (loaded once per process, shared with every instance
 * that reads the same file) and gives each of the @threads threads that
 * this instance may use an aligner and an embedder; the threads are those
 * of the process-wide pool. */
static gboolean
gst_fv_verifier_load_model (GstFvVerifier * v, const gchar * path,
    guint threads)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *base = g_path_get_basename (path);
  gchar *dot;
  guint i;

  v->model = fv_model_get_shared (path, &err);
  if (!v->model) {
    gst_fv_post_model_error (v->element, "face model", path, err);
    return FALSE;
  }
  v->workers = g_new0 (GstFvVerifierWorker, threads);
  v->n_workers = threads;
  for (i = 0; i < threads; i++) {
    v->workers[i].aligner = fv_aligner_new ();
    v->workers[i].embedder = fv_embedder_new_for_model (v->model, 1, &err);
    if (!v->workers[i].embedder) {
      gst_fv_post_model_error (v->element, "face model", path, err);
      return FALSE;
    }
  }
  v->pool = fv_thread_pool_get_shared (threads, &err);
  if (!v->pool) {
    GST_ELEMENT_ERROR (v->element, RESOURCE, FAILED,
        ("Could not start %u threads.", threads), ("%s", err->message));
    return FALSE;
  }
  v->dim = fv_embedder_get_dim (v->workers[0].embedder);
  v->fingerprint =
      g_strdup (fv_embedder_get_fingerprint (v->workers[0].embedder));
  if ((dot = strrchr (base, '.')) && dot != base)
    *dot = '\0';
  v->model_name = g_steal_pointer (&base);
  return TRUE;
}

GstFvVerifier *
gst_fv_verifier_new (GstElement * element, const gchar * model_path,
    guint threads, guint max_faces)
{
  g_autoptr (GstFvVerifier) v = g_new0 (GstFvVerifier, 1);

  v->element = element;
  if (!gst_fv_verifier_load_model (v, model_path, threads))
    return NULL;
  v->capacity = max_faces;
  /* tracks outlive their faces for a few frames: room for twice as many */
  v->tracker = fv_tracker_new (2 * max_faces, v->dim);
  v->boxes = g_new0 (FvBox, max_faces);
  v->tracks = g_new0 (FvTrack *, max_faces);
  v->queries = g_new0 (gfloat, (gsize) (max_faces) * v->dim);
  v->matches = g_new0 (FvGalleryMatch, max_faces);
  v->faces = g_new0 (GstFvVerifierFace, max_faces);
  return g_steal_pointer (&v);
}

guint
gst_fv_verifier_get_dim (const GstFvVerifier * v)
{
  return v->dim;
}

const gchar *
gst_fv_verifier_get_fingerprint (const GstFvVerifier * v)
{
  return v->fingerprint;
}

const gchar *
gst_fv_verifier_describe (const GstFvVerifier * v)
{
  return fv_model_describe_kernels (v->model);
}

void
gst_fv_verifier_get_stats (const GstFvVerifier * v, guint64 * frames,
    guint64 * embedded)
{
  *frames = v->n_frames;
  *embedded = v->n_embedded;
}

/* ------------------------------------------------------------------------ */
/* Collecting the faces                                                     */
/* ------------------------------------------------------------------------ */

/* The ROI's landmarks, unless absurd (NaN, far outside the box): then the
 * box is used instead. */
static gboolean
gst_fv_verifier_read_landmarks (GstVideoRegionOfInterestMeta * roi,
    const FvBox * box, gfloat * out)
{
  gdouble pts[2 * FV_FACE_ID_N_LANDMARKS];
  gfloat reach = MAX (box->w, box->h);
  guint k;

  if (!gst_fv_roi_get_landmarks (roi, pts))
    return FALSE;
  for (k = 0; k < 2 * FV_FACE_ID_N_LANDMARKS; k++) {
    gdouble d = pts[k];

    if (!isfinite (d))
      return FALSE;
    if (k % 2 == 0 ? (d < box->x - reach || d > box->x + box->w + reach)
        : (d < box->y - reach || d > box->y + box->h + reach))
      return FALSE;
    out[k] = (gfloat) d;
  }
  return TRUE;
}

/* Whether @roi shows a usable face: not empty, mostly inside the frame
 * (which also rules out absurdly large boxes), and not too small. Gives
 * its visible area. */
static gboolean
gst_fv_verifier_roi_usable (const GstVideoInfo * info,
    const GstVideoRegionOfInterestMeta * roi, guint min_face_size,
    gfloat * area)
{
  gdouble fw = GST_VIDEO_INFO_WIDTH (info);
  gdouble fh = GST_VIDEO_INFO_HEIGHT (info);
  gdouble x0, y0, x1, y1;

  if (roi->w == 0 || roi->h == 0)
    return FALSE;
  x0 = MAX ((gdouble) roi->x, 0.0);
  y0 = MAX ((gdouble) roi->y, 0.0);
  x1 = MIN ((gdouble) roi->x + roi->w, fw);
  y1 = MIN ((gdouble) roi->y + roi->h, fh);
  if (x1 <= x0 || y1 <= y0)
    return FALSE;
  if ((x1 - x0) * (y1 - y0) / ((gdouble) roi->w * roi->h) <
      MIN_VISIBLE_FRACTION)
    return FALSE;
  if (MIN (x1 - x0, y1 - y0) < min_face_size)
    return FALSE;
  *area = (gfloat) ((x1 - x0) * (y1 - y0));
  return TRUE;
}

/* An id that no ROI of @buf has: one above the largest while there is
 * room, else the smallest free positive one (there are fewer ROIs than
 * ids, so there is one). */
static gint
gst_fv_verifier_free_roi_id (GstBuffer * buf, gint * max_id)
{
  gint id = 1;

  if (*max_id < G_MAXINT)
    return ++ * max_id;
  while (gst_buffer_get_video_region_of_interest_meta_id (buf, id))
    id++;
  return id;
}

/* Gives id-0 ROIs of our type unique ids and keeps the max-faces largest
 * usable ones. Returns how many faces were kept. Any identity found on a
 * ROI is marked unverified first: process() replaces it on the faces it
 * verifies, so no upstream "known" survives on the others. */
static guint
gst_fv_verifier_collect (GstFvVerifier * v, GstBuffer * buf,
    const GstVideoInfo * info, const GstFvVerifierSettings * s)
{
  gpointer state = NULL;
  GstMeta *meta;
  gint max_id = 0;
  guint n = 0;

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    max_id = MAX (max_id, roi->id);
  }

  state = NULL;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstFvVerifierFace *f;
    gfloat area;
    guint k;

    gst_fv_identity_mark_unverified (buf, roi);
    if (roi->roi_type != s->roi_type)
      continue;
    if (roi->id == 0)
      roi->id = gst_fv_verifier_free_roi_id (buf, &max_id);
    if (!gst_fv_verifier_roi_usable (info, roi, s->min_face_size, &area))
      continue;

    if (n < v->capacity) {
      f = &v->faces[n++];
    } else {
      /* full: replace the smallest if this one is larger */
      f = &v->faces[0];
      for (k = 1; k < n; k++)
        if (v->faces[k].area < f->area)
          f = &v->faces[k];
      if (f->area >= area)
        continue;
    }
    f->roi = roi;
    f->roi_id = roi->id;
    f->box.x = roi->x;
    f->box.y = roi->y;
    f->box.w = roi->w;
    f->box.h = roi->h;
    f->area = area;
    f->has_landmarks = gst_fv_verifier_read_landmarks (roi, &f->box,
        f->landmarks);
  }
  return n;
}

/* ------------------------------------------------------------------------ */
/* Tracking, embedding, matching                                            */
/* ------------------------------------------------------------------------ */

/* Follows the faces with the tracker and decides which to embed and which
 * to match: fresh embeddings, and every track when the gallery changed
 * (its cached embedding is matched again, no need to embed). Returns how
 * many faces to embed. */
static guint
gst_fv_verifier_plan (GstFvVerifier * v, guint n, guint reidentify_interval,
    gfloat min_quality, guint64 version, guint * n_query)
{
  guint i, n_embed = 0;

  for (i = 0; i < n; i++)
    v->boxes[i] = v->faces[i].box;
  fv_tracker_update (v->tracker, v->boxes, n, v->tracks);

  *n_query = 0;
  for (i = 0; i < n; i++) {
    GstFvVerifierFace *f = &v->faces[i];
    FvTrack *tr = f->track = v->tracks[i];

    f->embed = fv_tracker_needs_embedding (v->tracker, tr, reidentify_interval);
    f->query = -1;
    /* a cached crop below min-quality is no evidence, fresh ones are
     * judged once embedded */
    if (!f->embed && tr->embedding_quality < min_quality)
      continue;
    if (f->embed || v->rematch || !tr->has_identity
        || tr->gallery_version != version) {
      f->query = (*n_query)++;
      if (!f->embed)
        memcpy (v->queries + (gsize) f->query * v->dim, tr->tmpl,
            v->dim * sizeof (gfloat));
    }
  }
  for (i = 0; i < n; i++)
    n_embed += v->faces[i].embed;
  return n_embed;
}

/* How much a fresh view of @f counts in its track's template, relative to
 * the other views: the one place where the weight of an observation is
 * decided. The face quality of its crop (fv_face_quality(): a sharp,
 * large, frontal face counts more than a blurred, small or turned one). */
static gfloat
gst_fv_verifier_view_weight (const GstFvVerifierFace * f)
{
  return isfinite (f->quality) ? MAX (f->quality, 0.01f) : 0.01f;
}

/* One chunk of the pool: face @i, embedded straight into its query row. */
static void
gst_fv_verifier_embed_one (gpointer data, guint i, guint n_chunks, guint thread)
{
  GstFvVerifier *v = data;
  GstFvVerifierFace *f = &v->faces[i];
  GstFvVerifierWorker *w = &v->workers[thread];
  FvFaceQuality q;

  if (!f->embed)
    return;
  f->aligned = fv_aligner_crop_face (w->aligner, v->job_frame, f->box.x,
      f->box.y, f->box.x + f->box.w, f->box.y + f->box.h,
      f->has_landmarks ? f->landmarks : NULL, w->crop, FV_EMBED_SIZE * 3);
  f->quality = fv_face_quality (w->crop, FV_EMBED_SIZE * 3, f->box.x,
      f->box.y, f->box.x + f->box.w, f->box.y + f->box.h,
      f->aligned ? f->landmarks : NULL, v->job_frame->width,
      v->job_frame->height, &q);
  f->quality_reason = q.reason;
  fv_embedder_embed (w->embedder, w->crop, FV_EMBED_SIZE * 3,
      v->queries + (gsize) f->query * v->dim);
}

static gboolean
gst_fv_verifier_embed (GstFvVerifier * v, GstBuffer * buf,
    const GstVideoInfo * info, const GstFvPixelPath * path, guint n,
    guint n_embed, gfloat min_quality)
{
  GstVideoFrame vframe;
  FvFrame frame;
  guint i;

  if (n_embed == 0)
    return TRUE;
  if (!gst_fv_frame_map (v->element, info, path, buf, &vframe, &frame))
    return FALSE;
  v->job_frame = &frame;
  fv_thread_pool_run_limited (v->pool, gst_fv_verifier_embed_one, v, n,
      v->n_workers);
  /* the next frame is milliseconds away: let the workers sleep */
  fv_thread_pool_park (v->pool);
  v->job_frame = NULL;
  gst_video_frame_unmap (&vframe);
  v->n_embedded += n_embed;

  for (i = 0; i < n; i++) {
    GstFvVerifierFace *f = &v->faces[i];
    gfloat *row = v->queries + (gsize) f->query * v->dim;

    if (!f->embed)
      continue;
    /* a crop below min-quality is no evidence: it stays out of the
     * template (and is never matched) */
    fv_tracker_add_embedding (v->tracker, f->track, row, f->aligned,
        f->quality, f->quality >= min_quality ?
        gst_fv_verifier_view_weight (f) : 0.0f);
    fv_tracker_set_embedding_reason (v->tracker, f->track, f->quality_reason);
    /* the decision is taken on the template (with decision=frame, the
     * template is this embedding) */
    memcpy (row, f->track->tmpl, v->dim * sizeof (gfloat));
  }
  return TRUE;
}

/* The threshold of a frame: the property when set; when it is left at
 * its default (-1, "unset") the library's rule (the gallery's calibrated
 * one, else the built-in default). Follows the snapshot, so a
 * calibration applies at the next reload. */
static float
gst_fv_verifier_threshold (const GstFvVerifierSettings * s,
    FvGallerySnapshot * snap)
{
  return fv_gallery_snapshot_choose_threshold (snap,
      s->threshold > GST_FV_MATCH_THRESHOLD_UNSET ? s->threshold : NAN, NULL);
}

static void
gst_fv_verifier_match (GstFvVerifier * v, FvGallerySnapshot * snap,
    guint n, guint n_query, const GstFvVerifierSettings * s, guint64 version)
{
  float threshold = gst_fv_verifier_threshold (s, snap);
  guint i;

  if (n_query > 0 && snap)
    fv_gallery_snapshot_match (snap, v->queries, n_query, threshold,
        s->margin, v->matches);
  for (i = 0; i < n; i++) {
    GstFvVerifierFace *f = &v->faces[i];
    FvIdentity obs = { -1, NULL, FALSE, 0.0, 0.0 };

    /* never a known identity from a poor crop: the tracker does not see
     * it, and attach() reports the face unknown */
    if (f->query < 0 || f->track->embedding_quality < s->min_quality)
      continue;
    if (snap) {
      const FvGalleryMatch *m = &v->matches[f->query];
      obs.known = m->known;
      obs.label_id = m->known ? (gint) m->identity_id : -1;
      obs.label = m->known ? (gchar *) m->label : NULL;
      obs.similarity = m->similarity;
      obs.margin = m->margin;
    }
    fv_tracker_observe (v->tracker, f->track, &obs, version);
  }
}

gboolean
gst_fv_verifier_process (GstFvVerifier * v, GstBuffer * buf,
    const GstVideoInfo * info, const GstFvPixelPath * path,
    FvGallerySnapshot * snap, guint64 version, const GstFvVerifierSettings * s)
{
  guint n, i, n_embed, n_query;

  v->n_frames++;
  fv_tracker_set_template_decay (v->tracker, s->track_templates ?
      FV_TRACKER_DEFAULT_TEMPLATE_DECAY : 0.0f);
  for (i = 0; i < v->n_workers; i++)
    fv_embedder_set_flip (v->workers[i].embedder, s->flip);
  v->rematch = s->threshold != v->last_threshold || s->margin != v->last_margin;
  v->last_threshold = s->threshold;
  v->last_margin = s->margin;
  n = gst_fv_verifier_collect (v, buf, info, s);
  n_embed = gst_fv_verifier_plan (v, n, s->reidentify_interval,
      s->min_quality, version, &n_query);
  if (!gst_fv_verifier_embed (v, buf, info, path, n, n_embed, s->min_quality)) {
    v->n_faces = 0;
    return FALSE;
  }
  gst_fv_verifier_match (v, snap, n, n_query, s, version);
  for (i = 0; i < n; i++) {
    GstFvVerifierFace *f = &v->faces[i];

    f->low_quality = f->track->embedding_quality < s->min_quality;
    gst_fv_identity_attach (buf, f->roi, f->track, f->low_quality,
        fv_tracker_frames_ago (v->tracker, f->track),
        f->has_landmarks ? f->landmarks : NULL, v->model_name, version,
        s->attach_embedding ? v->dim : 0);
  }
  v->n_faces = n;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* What the element reports                                                 */
/* ------------------------------------------------------------------------ */

/* Whether the faces or their identities differ from the last message. */
static gboolean
gst_fv_verifier_changed (const GstFvVerifier * v)
{
  guint i;

  if (v->n_faces != v->n_posted)
    return TRUE;
  for (i = 0; i < v->n_faces; i++) {
    const GstFvVerifierFace *f = &v->faces[i];
    const FvIdentity *id = gst_fv_identity_of (f->track, f->low_quality);

    if (f->posted[0] != f->track->id || f->posted[1] != (guint) id->label_id
        || f->posted[2] != (guint) id->known)
      return TRUE;
  }
  return FALSE;
}

GstStructure *
gst_fv_verifier_new_message (GstFvVerifier * v, const GstSegment * segment,
    GstBuffer * buf, gboolean only_on_change)
{
  GstStructure *st;
  GValue faces = G_VALUE_INIT;
  guint i;

  if (only_on_change && !gst_fv_verifier_changed (v))
    return NULL;

  st = gst_fv_identity_message_new (segment, buf);
  g_value_init (&faces, GST_TYPE_ARRAY);
  for (i = 0; i < v->n_faces; i++) {
    GstFvVerifierFace *f = &v->faces[i];
    const FvIdentity *id = gst_fv_identity_of (f->track, f->low_quality);

    f->posted[0] = f->track->id;
    f->posted[1] = (guint) id->label_id;
    f->posted[2] = (guint) id->known;
    gst_fv_identity_message_append (&faces, f->roi, f->track, f->low_quality);
  }
  v->n_posted = v->n_faces;
  gst_structure_take_value (st, "faces", &faces);
  return st;
}

gfloat *
gst_fv_verifier_dup_embedding (const GstFvVerifier * v, gint roi_id,
    gint * found_roi, gfloat * quality)
{
  gint found = -1;
  guint i;

  for (i = 0; i < v->n_faces; i++) {
    if (roi_id == 0 ? (found < 0 || v->faces[i].area > v->faces[found].area)
        : v->faces[i].roi_id == roi_id)
      found = i;
  }
  if (found < 0)
    return NULL;
  *found_roi = v->faces[found].roi_id;
  *quality = v->faces[found].track->embedding_quality;
  return g_memdup2 (v->faces[found].track->embedding, v->dim * sizeof (gfloat));
}

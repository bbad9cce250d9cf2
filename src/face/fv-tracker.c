/* FvTracker: a light IoU tracker with identity hysteresis. */
#include "fv.h"

#include <math.h>
#include <string.h>

struct _FvTracker
{
  guint capacity;
  guint dim;
  FvTrack *tracks;
  float *pool;                  /* per track: embedding, template, sum */
  guint next_id;
  guint64 frame;

  /* scratch for association, capacity x capacity */
  float *iou;
  gint *assigned;

  float iou_match;              /* a box continues a track above this IoU */
  float iou_reembed;            /* below this IoU with the embedded box: re-identify */
  guint max_age;                /* frames a track survives unseen */
  guint confirm;                /* agreeing observations needed to change identity */
  float same_face;              /* below this cosine to the track's
                                 * template, the track holds another face */
  float decay;                  /* template: weight kept per new view */
};

#define POOL_VECTORS 3

/**
 * fv_tracker_new:
 * @capacity: the most tracks alive at once, and the most boxes per frame;
 *   1 or more
 * @dim: the embedding dimension
 *
 * Creates a tracker with every buffer it will need: updates allocate
 * nothing.
 *
 * Returns: (transfer full): a new tracker
 */
FvTracker *
fv_tracker_new (guint capacity, guint dim)
{
  FvTracker *t;
  guint i;

  g_return_val_if_fail (capacity > 0, NULL);

  t = g_new0 (FvTracker, 1);
  t->capacity = capacity;
  t->dim = dim;
  t->tracks = g_new0 (FvTrack, capacity);
  t->pool = g_new0 (float, (gsize) (capacity) * POOL_VECTORS * MAX (dim, 1));
  t->iou = g_new0 (float, (gsize) (capacity) * capacity);
  t->assigned = g_new0 (gint, capacity);
  for (i = 0; i < capacity; i++) {
    t->tracks[i].embedding = t->pool + (gsize) (i) * POOL_VECTORS * MAX (dim,
        1);
    t->tracks[i].tmpl = t->tracks[i].embedding + MAX (dim, 1);
  }
  t->iou_match = 0.3f;
  t->iou_reembed = 0.6f;
  t->max_age = 10;
  t->confirm = 2;
  t->same_face = 0.5f;
  t->decay = FV_TRACKER_DEFAULT_TEMPLATE_DECAY;
  t->next_id = 1;
  return t;
}

static void
fv_track_clear (FvTrack * tr)
{
  float *emb = tr->embedding, *tmpl = tr->tmpl;

  fv_identity_clear (&tr->stable);
  fv_identity_clear (&tr->pending);
  fv_identity_clear (&tr->reported);
  memset (tr, 0, sizeof (*tr));
  tr->embedding = emb;
  tr->tmpl = tmpl;
}

/**
 * fv_tracker_reset:
 * @tracker: a tracker
 *
 * Ends every track and starts counting frames anew.
 */
void
fv_tracker_reset (FvTracker * tracker)
{
  guint i;

  g_return_if_fail (tracker != NULL);
  for (i = 0; i < tracker->capacity; i++)
    fv_track_clear (&tracker->tracks[i]);
  tracker->frame = 0;
}

/**
 * fv_tracker_free:
 * @tracker: (transfer full) (nullable): a tracker
 *
 * Frees the tracker and its tracks.
 */
void
fv_tracker_free (FvTracker * tracker)
{
  if (!tracker)
    return;
  fv_tracker_reset (tracker);
  g_free (tracker->tracks);
  g_free (tracker->pool);
  g_free (tracker->iou);
  g_free (tracker->assigned);
  g_free (tracker);
}

/**
 * fv_tracker_get_capacity:
 * @tracker: a tracker
 *
 * Returns: the most tracks alive at once
 */
guint
fv_tracker_get_capacity (FvTracker * tracker)
{
  g_return_val_if_fail (tracker != NULL, 0);
  return tracker->capacity;
}

/**
 * fv_tracker_get_max_age:
 * @tracker: a tracker
 *
 * Returns: how many frames a track survives unseen
 */
guint
fv_tracker_get_max_age (FvTracker * tracker)
{
  g_return_val_if_fail (tracker != NULL, 0);
  return tracker->max_age;
}

/**
 * fv_tracker_set_template_decay:
 * @tracker: a tracker
 * @decay: the weight that the older embeddings keep at each new one, 0
 *   to 0.99
 *
 * Sets how a track's template follows its embeddings: after the
 * embeddings e_1 … e_n with weights w_1 … w_n (see
 * fv_tracker_add_embedding()) the template is the unit vector along
 * sum_k decay^(n-k) w_k e_k, an exponentially forgetting, weighted mean
 * of unit vectors. 0 makes the template the last embedding alone:
 * identities are then decided frame by frame, as without templates.
 * Takes effect from the next embedding on.
 */
void
fv_tracker_set_template_decay (FvTracker * tracker, float decay)
{
  g_return_if_fail (tracker != NULL);
  tracker->decay = isfinite (decay) ? CLAMP (decay, 0.0f, 0.99f) : 0.0f;
}

/**
 * fv_tracker_get_template_decay:
 * @tracker: a tracker
 *
 * Returns: the decay set by fv_tracker_set_template_decay()
 */
float
fv_tracker_get_template_decay (FvTracker * tracker)
{
  g_return_val_if_fail (tracker != NULL, 0.0f);
  return tracker->decay;
}

/**
 * fv_box_iou:
 * @a: a box
 * @b: another box
 *
 * Returns: the intersection over union of @a and @b, 0 to 1
 */
float
fv_box_iou (const FvBox * a, const FvBox * b)
{
  float x0 = MAX (a->x, b->x), y0 = MAX (a->y, b->y);
  float x1 = MIN (a->x + a->w, b->x + b->w);
  float y1 = MIN (a->y + a->h, b->y + b->h);
  float inter, uni;

  if (x1 <= x0 || y1 <= y0)
    return 0.0f;
  inter = (x1 - x0) * (y1 - y0);
  uni = a->w * a->h + b->w * b->h - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

/**
 * fv_identity_clear:
 * @identity: an identity
 *
 * Frees the label and makes @identity unknown.
 */
void
fv_identity_clear (FvIdentity * identity)
{
  g_clear_pointer (&identity->label, g_free);
  identity->label_id = -1;
  identity->known = FALSE;
  identity->similarity = 0.0;
  identity->margin = 0.0;
}

/**
 * fv_identity_set:
 * @dst: the identity to change; owns its label
 * @src: the identity to copy; its label is copied
 *
 * Copies @src into @dst.
 */
void
fv_identity_set (FvIdentity * dst, const FvIdentity * src)
{
  if (dst == src)
    return;
  /* labels change rarely: only copy when they differ */
  if (g_strcmp0 (dst->label, src->label) != 0) {
    g_free (dst->label);
    dst->label = g_strdup (src->label);
  }
  dst->label_id = src->label_id;
  dst->known = src->known;
  dst->similarity = src->similarity;
  dst->margin = src->margin;
}

static gboolean
fv_identity_same (const FvIdentity * a, const FvIdentity * b)
{
  if (!a->known && !b->known)
    return TRUE;
  return a->known == b->known && a->label_id == b->label_id
      && g_strcmp0 (a->label, b->label) == 0;
}

static FvTrack *
fv_tracker_start_track (FvTracker * t, const FvBox * box)
{
  FvTrack *slot = NULL;
  guint i;

  for (i = 0; i < t->capacity; i++) {
    if (!t->tracks[i].active) {
      slot = &t->tracks[i];
      break;
    }
  }
  if (!slot) {
    /* full: take over the track seen longest ago */
    slot = &t->tracks[0];
    for (i = 1; i < t->capacity; i++)
      if (t->tracks[i].last_seen < slot->last_seen)
        slot = &t->tracks[i];
  }
  fv_track_clear (slot);
  slot->active = TRUE;
  slot->id = t->next_id++;
  if (t->next_id == 0)
    t->next_id = 1;
  slot->box = *box;
  slot->last_seen = t->frame;
  slot->stable.label_id = slot->pending.label_id = -1;
  slot->reported.label_id = -1;
  return slot;
}

/* Greedy: repeatedly joins the best remaining box/track pair. */
static void
fv_tracker_associate (FvTracker * t, guint n)
{
  guint i, j, c = t->capacity;

  for (;;) {
    float best = t->iou_match;
    gint bi = -1, bj = -1;

    for (i = 0; i < n; i++) {
      if (t->assigned[i] >= 0)
        continue;
      for (j = 0; j < c; j++) {
        if (t->iou[i * c + j] > best) {
          best = t->iou[i * c + j];
          bi = i;
          bj = j;
        }
      }
    }
    if (bi < 0)
      break;
    t->assigned[bi] = bj;
    for (i = 0; i < n; i++)
      t->iou[i * c + bj] = 0.0f;
  }
}

/**
 * fv_tracker_update:
 * @tracker: a tracker
 * @boxes: (array length=n): the face boxes of the new frame
 * @n: the number of boxes, at most the capacity
 * @tracks: (out caller-allocates) (array length=n): the track of each box
 *   (owned by the tracker, valid until it is freed)
 *
 * Advances to the next frame and associates the boxes with tracks; boxes
 * that continue none start new tracks (taking over the track seen
 * longest ago when all are in use). Tracks unseen for more than the
 * maximum age end.
 */
void
fv_tracker_update (FvTracker * tracker, const FvBox * boxes, guint n,
    FvTrack ** tracks)
{
  FvTracker *t = tracker;
  guint i, j, c;

  g_return_if_fail (tracker != NULL);
  g_return_if_fail (n <= tracker->capacity);

  c = t->capacity;
  t->frame++;
  for (j = 0; j < c; j++) {
    FvTrack *tr = &t->tracks[j];
    if (tr->active && t->frame - tr->last_seen > t->max_age)
      fv_track_clear (tr);
  }

  for (i = 0; i < n; i++) {
    t->assigned[i] = -1;
    for (j = 0; j < c; j++)
      t->iou[i * c + j] = t->tracks[j].active ?
          fv_box_iou (&boxes[i], &t->tracks[j].box) : 0.0f;
  }
  fv_tracker_associate (t, n);

  for (i = 0; i < n; i++) {
    FvTrack *tr;
    if (t->assigned[i] >= 0) {
      tr = &t->tracks[t->assigned[i]];
      tr->box = boxes[i];
      tr->last_seen = t->frame;
    } else {
      tr = fv_tracker_start_track (t, &boxes[i]);
    }
    tracks[i] = tr;
  }
}

/**
 * fv_tracker_needs_embedding:
 * @tracker: a tracker
 * @track: one of its tracks
 * @reidentify_interval: recompute identities every this many frames
 *   (1: every frame)
 *
 * Returns: whether the track's identity must be computed on this frame:
 *   it has none yet, a change of identity awaits confirmation, the
 *   interval has passed, or the box moved or changed size a lot
 */
gboolean
fv_tracker_needs_embedding (FvTracker * tracker, const FvTrack * track,
    guint reidentify_interval)
{
  if (!track->has_embedding || track->need_confirm || reidentify_interval <= 1)
    return TRUE;
  if (tracker->frame - track->embed_frame >= reidentify_interval)
    return TRUE;
  /* the box moved or changed size a lot: likely another view or person */
  return fv_box_iou (&track->box, &track->embed_box) < tracker->iou_reembed;
}

/**
 * fv_tracker_set_embedding:
 * @tracker: a tracker
 * @track: one of its tracks
 * @embedding: (array): a fresh L2-normalised embedding of the track's
 *   face; copied
 * @aligned: whether it came from an aligned crop
 * @quality: the quality of the crop it came from (fv_face_quality()), in
 *   [0, 1]
 *
 * fv_tracker_add_embedding() with weight 1.
 */
void
fv_tracker_set_embedding (FvTracker * tracker, FvTrack * track,
    const float *embedding, gboolean aligned, float quality)
{
  fv_tracker_add_embedding (tracker, track, embedding, aligned, quality, 1.0f);
}

static float
fv_tracker_dot (const float *a, const float *b, guint n)
{
  float dot = 0.0f;
  guint i;

  for (i = 0; i < n; i++)
    dot += a[i] * b[i];
  return dot;
}

/**
 * fv_tracker_add_embedding:
 * @tracker: a tracker
 * @track: one of its tracks
 * @embedding: (array): a fresh L2-normalised embedding of the track's
 *   face; copied
 * @aligned: whether it came from an aligned crop
 * @quality: the quality of the crop it came from (fv_face_quality()), in
 *   [0, 1]
 * @weight: how much this view counts in the track's template, relative to
 *   the other views' weights (e.g. its quality); 0 or less: the view is
 *   no evidence (a crop below the quality gate): it is recorded as the
 *   track's embedding but changes neither the template nor the identity
 *
 * Records a fresh embedding and folds it into the track's template (see
 * fv_tracker_set_template_decay()). When it is far from the template
 * (another face took the track's place), the template starts again from
 * this embedding alone and the old identity is dropped.
 */
void
fv_tracker_add_embedding (FvTracker * tracker, FvTrack * track,
    const float *embedding, gboolean aligned, float quality, float weight)
{
  FvTracker *t = tracker;
  float *sum, norm;
  gboolean restart;
  guint i;

  g_return_if_fail (tracker != NULL && track != NULL && embedding != NULL);

  sum = track->tmpl + t->dim;
  /* no template yet (a new track, or only views that were no evidence) */
  restart = !(track->tmpl_weight > 0.0);
  if (weight > 0.0f && !restart
      && fv_tracker_dot (track->tmpl, embedding, t->dim) < t->same_face) {
    /* Another face took this track's place (a cut, people crossing): the
     * old views and identity are no evidence about it, so the template and
     * the hysteresis start anew. */
    restart = TRUE;
    if (track->has_identity) {
      track->has_identity = FALSE;
      fv_identity_clear (&track->pending);
      track->pending_count = 0;
    }
  }
  if (weight > 0.0f) {
    if (restart || t->decay <= 0.0f) {
      for (i = 0; i < t->dim; i++)
        sum[i] = weight * embedding[i];
      track->tmpl_weight = weight;
    } else {
      for (i = 0; i < t->dim; i++)
        sum[i] = t->decay * sum[i] + weight * embedding[i];
      track->tmpl_weight = t->decay * track->tmpl_weight + weight;
    }
    memcpy (track->tmpl, sum, t->dim * sizeof (float));
    norm = fv_l2_normalize (track->tmpl, t->dim);
    /* opposite views cancelled out: the fresh one is the best template */
    if (norm < 1e-3f * track->tmpl_weight)
      memcpy (track->tmpl, embedding, t->dim * sizeof (float));
  }

  memcpy (track->embedding, embedding, t->dim * sizeof (float));
  track->has_embedding = TRUE;
  track->embedding_aligned = aligned;
  track->embedding_quality = quality;
  track->embedding_reason = FV_FACE_QUALITY_OK;
  track->embed_box = track->box;
  track->embed_frame = t->frame;
}

/**
 * fv_tracker_set_embedding_reason:
 * @tracker: a tracker
 * @track: one of its tracks
 * @reason: why the quality given to the last fv_tracker_add_embedding()
 *   is below 1 (fv_face_quality()'s #FvFaceQuality reason)
 *
 * Records why the track's last crop scored as it did, so that a face
 * left unverified for its quality can say why (a faceverifyoverlay label)
 * on every frame that reuses the track. fv_tracker_add_embedding() resets
 * it to %FV_FACE_QUALITY_OK.
 */
void
fv_tracker_set_embedding_reason (FvTracker * tracker, FvTrack * track,
    FvFaceQualityReason reason)
{
  g_return_if_fail (tracker != NULL && track != NULL);
  track->embedding_reason = reason;
}

/* Makes @obs the stable and reported identity. */
static void
fv_track_settle (FvTrack * tr, const FvIdentity * obs)
{
  fv_identity_set (&tr->stable, obs);
  fv_identity_clear (&tr->pending);
  tr->pending_count = 0;
  fv_identity_set (&tr->reported, &tr->stable);
}

/**
 * fv_tracker_observe:
 * @tracker: a tracker
 * @track: one of its tracks
 * @observation: the match of the track's template (see
 *   fv_tracker_add_embedding()); its label is copied
 * @gallery_version: the version of the gallery it was matched against
 *
 * Feeds one match result and updates the reported identity with
 * hysteresis. A new track, or a new gallery version, takes the decision
 * at once; otherwise a different identity must be seen twice in a row,
 * and meanwhile the face is reported unknown rather than possibly wrong
 * (a stable identity is kept against a single "unknown").
 */
void
fv_tracker_observe (FvTracker * tracker, FvTrack * track,
    const FvIdentity * observation, guint64 gallery_version)
{
  FvTrack *tr = track;
  const FvIdentity *obs = observation;

  tr->need_confirm = FALSE;

  if (!tr->has_identity || gallery_version != tr->gallery_version) {
    /* a new face, or a new gallery: nothing to be stable against */
    fv_track_settle (tr, obs);
    tr->has_identity = TRUE;
    tr->gallery_version = gallery_version;
    return;
  }

  if (fv_identity_same (obs, &tr->stable)) {
    fv_track_settle (tr, obs);
    return;
  }

  if (tr->pending_count > 0 && fv_identity_same (obs, &tr->pending))
    tr->pending_count++;
  else
    tr->pending_count = 1;
  fv_identity_set (&tr->pending, obs);

  if (tr->pending_count >= tracker->confirm) {
    fv_track_settle (tr, obs);
    return;
  }

  /* Not confirmed yet: look again on the next frame. Meanwhile a stable
   * identity is kept against an "unknown" observation (a blurred frame),
   * but against another known person nobody is claimed: the face is
   * reported unknown rather than possibly wrong. */
  tr->need_confirm = TRUE;
  if (obs->known) {
    FvIdentity unk = { -1, NULL, FALSE, obs->similarity, obs->margin };
    fv_identity_set (&tr->reported, &unk);
  } else {
    fv_identity_set (&tr->reported, &tr->stable);
  }
}

/**
 * fv_tracker_frames_ago:
 * @tracker: a tracker
 * @track: one of its tracks
 *
 * Returns: the frames since the track's embedding was computed (0 when
 *   on this frame)
 */
guint
fv_tracker_frames_ago (FvTracker * tracker, const FvTrack * track)
{
  if (!track->has_embedding)
    return 0;
  return (guint) MIN (tracker->frame - track->embed_frame, (guint64) G_MAXUINT);
}

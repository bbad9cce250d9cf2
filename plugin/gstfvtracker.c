/* gst-faceverify: a light IoU tracker with identity hysteresis
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#include "gstfvtracker.h"

#include <string.h>

GstFvTracker *
gst_fv_tracker_new (guint capacity, guint dim)
{
  GstFvTracker *t;
  guint i;

  g_return_val_if_fail (capacity > 0, NULL);

  t = g_new0 (GstFvTracker, 1);
  t->capacity = capacity;
  t->dim = dim;
  t->tracks = g_new0 (GstFvTrack, capacity);
  t->pool = g_new0 (gfloat, (gsize) capacity * MAX (dim, 1));
  t->iou = g_new0 (gfloat, (gsize) capacity * capacity);
  t->assigned = g_new0 (gint, capacity);
  for (i = 0; i < capacity; i++)
    t->tracks[i].embedding = t->pool + (gsize) i * MAX (dim, 1);
  t->iou_match = 0.3f;
  t->iou_reembed = 0.6f;
  t->max_age = 10;
  t->confirm = 2;
  t->same_face = 0.5f;
  t->next_id = 1;
  return t;
}

static void
gst_fv_track_clear (GstFvTrack * tr)
{
  gfloat *emb = tr->embedding;

  gst_fv_identity_clear (&tr->stable);
  gst_fv_identity_clear (&tr->pending);
  gst_fv_identity_clear (&tr->reported);
  memset (tr, 0, sizeof (*tr));
  tr->embedding = emb;
}

void
gst_fv_tracker_reset (GstFvTracker * t)
{
  guint i;

  g_return_if_fail (t != NULL);
  for (i = 0; i < t->capacity; i++)
    gst_fv_track_clear (&t->tracks[i]);
  t->frame = 0;
}

void
gst_fv_tracker_free (GstFvTracker * t)
{
  if (!t)
    return;
  gst_fv_tracker_reset (t);
  g_free (t->tracks);
  g_free (t->pool);
  g_free (t->iou);
  g_free (t->assigned);
  g_free (t);
}

gfloat
gst_fv_box_iou (const GstFvBox * a, const GstFvBox * b)
{
  gfloat x0 = MAX (a->x, b->x), y0 = MAX (a->y, b->y);
  gfloat x1 = MIN (a->x + a->w, b->x + b->w);
  gfloat y1 = MIN (a->y + a->h, b->y + b->h);
  gfloat inter, uni;

  if (x1 <= x0 || y1 <= y0)
    return 0.0f;
  inter = (x1 - x0) * (y1 - y0);
  uni = a->w * a->h + b->w * b->h - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

void
gst_fv_identity_clear (GstFvIdentity * id)
{
  g_clear_pointer (&id->label, g_free);
  id->label_id = -1;
  id->known = FALSE;
  id->similarity = 0.0;
  id->margin = 0.0;
}

void
gst_fv_identity_set (GstFvIdentity * dst, const GstFvIdentity * src)
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
gst_fv_identity_same (const GstFvIdentity * a, const GstFvIdentity * b)
{
  if (!a->known && !b->known)
    return TRUE;
  return a->known == b->known && a->label_id == b->label_id
      && g_strcmp0 (a->label, b->label) == 0;
}

static GstFvTrack *
gst_fv_tracker_start_track (GstFvTracker * t, const GstFvBox * box)
{
  GstFvTrack *slot = NULL;
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
  gst_fv_track_clear (slot);
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

void
gst_fv_tracker_update (GstFvTracker * t, const GstFvBox * boxes, guint n,
    guint * track_of)
{
  guint i, j, c = t->capacity;

  g_return_if_fail (n <= t->capacity);

  t->frame++;
  for (j = 0; j < c; j++) {
    GstFvTrack *tr = &t->tracks[j];
    if (tr->active && t->frame - tr->last_seen > t->max_age)
      gst_fv_track_clear (tr);
  }

  for (i = 0; i < n; i++) {
    t->assigned[i] = -1;
    for (j = 0; j < c; j++)
      t->iou[i * c + j] = t->tracks[j].active ?
          gst_fv_box_iou (&boxes[i], &t->tracks[j].box) : 0.0f;
  }

  /* greedy: repeatedly join the best remaining box/track pair */
  for (;;) {
    gfloat best = t->iou_match;
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

  for (i = 0; i < n; i++) {
    GstFvTrack *tr;
    if (t->assigned[i] >= 0) {
      tr = &t->tracks[t->assigned[i]];
      tr->box = boxes[i];
      tr->last_seen = t->frame;
    } else {
      tr = gst_fv_tracker_start_track (t, &boxes[i]);
    }
    track_of[i] = (guint) (tr - t->tracks);
  }
}

gboolean
gst_fv_tracker_needs_embedding (GstFvTracker * t, GstFvTrack * tr,
    guint reidentify_interval)
{
  if (!tr->has_embedding || tr->need_confirm || reidentify_interval <= 1)
    return TRUE;
  if (t->frame - tr->embed_frame >= reidentify_interval)
    return TRUE;
  /* the box moved or changed size a lot: likely another view or person */
  return gst_fv_box_iou (&tr->box, &tr->embed_box) < t->iou_reembed;
}

void
gst_fv_tracker_set_embedding (GstFvTracker * t, GstFvTrack * tr,
    const gfloat * embedding, gboolean aligned)
{
  if (tr->has_embedding && tr->has_identity) {
    gfloat dot = 0.0f;
    guint i;

    for (i = 0; i < t->dim; i++)
      dot += tr->embedding[i] * embedding[i];
    /* Another face took this track's place (a cut, people crossing): the
     * old identity is no evidence about it, so hysteresis starts anew. */
    if (dot < t->same_face) {
      tr->has_identity = FALSE;
      gst_fv_identity_clear (&tr->pending);
      tr->pending_count = 0;
    }
  }
  memcpy (tr->embedding, embedding, t->dim * sizeof (gfloat));
  tr->has_embedding = TRUE;
  tr->embedding_aligned = aligned;
  tr->embed_box = tr->box;
  tr->embed_frame = t->frame;
}

void
gst_fv_tracker_observe (GstFvTracker * t, GstFvTrack * tr,
    const GstFvIdentity * obs, guint64 gallery_version)
{
  tr->need_confirm = FALSE;

  if (!tr->has_identity || gallery_version != tr->gallery_version) {
    /* a new face, or a new gallery: nothing to be stable against */
    gst_fv_identity_set (&tr->stable, obs);
    gst_fv_identity_clear (&tr->pending);
    tr->pending_count = 0;
    tr->has_identity = TRUE;
    tr->gallery_version = gallery_version;
    gst_fv_identity_set (&tr->reported, &tr->stable);
    return;
  }

  if (gst_fv_identity_same (obs, &tr->stable)) {
    gst_fv_identity_set (&tr->stable, obs);
    gst_fv_identity_clear (&tr->pending);
    tr->pending_count = 0;
    gst_fv_identity_set (&tr->reported, &tr->stable);
    return;
  }

  if (tr->pending_count > 0 && gst_fv_identity_same (obs, &tr->pending))
    tr->pending_count++;
  else
    tr->pending_count = 1;
  gst_fv_identity_set (&tr->pending, obs);

  if (tr->pending_count >= t->confirm) {
    gst_fv_identity_set (&tr->stable, obs);
    gst_fv_identity_clear (&tr->pending);
    tr->pending_count = 0;
    gst_fv_identity_set (&tr->reported, &tr->stable);
    return;
  }

  /* Not confirmed yet: look again on the next frame. Meanwhile a stable
   * identity is kept against an "unknown" observation (a blurred frame),
   * but against another known person nobody is claimed: the face is
   * reported unknown rather than possibly wrong. */
  tr->need_confirm = TRUE;
  if (obs->known) {
    GstFvIdentity unk = { -1, NULL, FALSE, obs->similarity, obs->margin };
    gst_fv_identity_set (&tr->reported, &unk);
  } else {
    gst_fv_identity_set (&tr->reported, &tr->stable);
  }
}

guint
gst_fv_tracker_frames_ago (GstFvTracker * t, GstFvTrack * tr)
{
  if (!tr->has_embedding)
    return 0;
  return (guint) MIN (t->frame - tr->embed_frame, (guint64) G_MAXUINT);
}

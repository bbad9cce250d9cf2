/* gst-faceverify: a light IoU tracker with identity hysteresis
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_TRACKER_H
#define GST_FV_TRACKER_H

#include <glib.h>

G_BEGIN_DECLS

/* Boxes are x, y, w, h in frame pixels. */
typedef struct
{
  gfloat x, y, w, h;
} GstFvBox;

typedef struct
{
  gint label_id;                /* -1 when unknown */
  gchar *label;                 /* owned; NULL means "unknown" */
  gboolean known;
  gdouble similarity;
  gdouble margin;
} GstFvIdentity;

typedef struct
{
  guint id;                     /* never 0 */
  gboolean active;
  GstFvBox box;
  guint64 last_seen;            /* frame number */

  /* the last embedding and where/when it was computed */
  gfloat *embedding;            /* dim values, from the tracker's pool */
  gboolean has_embedding;
  gboolean embedding_aligned;
  GstFvBox embed_box;
  guint64 embed_frame;
  guint64 gallery_version;      /* gallery the identity was matched against */

  /* identity with hysteresis */
  gboolean has_identity;
  GstFvIdentity stable;
  GstFvIdentity pending;
  guint pending_count;
  GstFvIdentity reported;
  gboolean need_confirm;        /* re-identify on the next frame */
} GstFvTrack;

typedef struct
{
  guint capacity;
  guint dim;
  GstFvTrack *tracks;
  gfloat *pool;
  guint next_id;
  guint64 frame;

  /* scratch for association, capacity x capacity */
  gfloat *iou;
  gint *assigned;

  /* settings */
  gfloat iou_match;             /* a box continues a track above this IoU */
  gfloat iou_reembed;           /* below this IoU with the embedded box: re-identify */
  guint max_age;                /* frames a track survives unseen */
  guint confirm;                /* agreeing observations needed to change identity */
  gfloat same_face;             /* below this cosine to the track's last
                                 * embedding, the track holds another face */
} GstFvTracker;

GstFvTracker *gst_fv_tracker_new (guint capacity, guint dim);
void gst_fv_tracker_free (GstFvTracker * tracker);
void gst_fv_tracker_reset (GstFvTracker * tracker);

/* Advances to the next frame and associates @n boxes with tracks.
 * @track_of[i] receives the index (into tracker->tracks) of box i's track;
 * new tracks are started for boxes that continue none. @n must not
 * exceed the capacity. Tracks unseen for more than max_age frames end. */
void gst_fv_tracker_update (GstFvTracker * tracker, const GstFvBox * boxes,
    guint n, guint * track_of);

/* Whether the track's identity must be recomputed on this frame. */
gboolean gst_fv_tracker_needs_embedding (GstFvTracker * tracker,
    GstFvTrack * track, guint reidentify_interval);

/* Records a fresh embedding for the track (copied). */
void gst_fv_tracker_set_embedding (GstFvTracker * tracker, GstFvTrack * track,
    const gfloat * embedding, gboolean aligned);

/* Feeds one match result; updates the reported identity with hysteresis.
 * @fresh_gallery: the gallery changed since the track's last match, so
 * the new decision is taken at once. */
void gst_fv_tracker_observe (GstFvTracker * tracker, GstFvTrack * track,
    const GstFvIdentity * obs, guint64 gallery_version);

/* Frames since the track's identity was computed. */
guint gst_fv_tracker_frames_ago (GstFvTracker * tracker, GstFvTrack * track);

gfloat gst_fv_box_iou (const GstFvBox * a, const GstFvBox * b);

void gst_fv_identity_set (GstFvIdentity * dst, const GstFvIdentity * src);
void gst_fv_identity_clear (GstFvIdentity * id);

G_END_DECLS

#endif /* GST_FV_TRACKER_H */

/* gst-faceverify: face verification on the CPU
 *
 * fv-tracker.h: a light IoU tracker that follows faces across the frames
 * of a video and keeps their identities steady. Included by fv.h; use
 * fv.h.
 */
#ifndef FV_TRACKER_H
#define FV_TRACKER_H

#include "fv-prelude.h"
#include "face/fv-quality.h"

G_BEGIN_DECLS

/**
 * FvBox:
 * @x: left edge, frame pixels
 * @y: top edge
 * @w: width
 * @h: height
 *
 * A face box as the tracker sees it.
 */
typedef struct
{
  float x, y, w, h;
} FvBox;

/**
 * FvIdentity:
 * @label_id: the gallery identity's id, -1 when unknown
 * @label: (nullable): the identity's label, %NULL when unknown; owned by
 *   the structure that holds it (see fv_identity_set())
 * @known: whether the face was recognised
 * @similarity: cosine similarity to the best identity
 * @margin: how much the best identity beat the second best
 *
 * One decision about a face: an observation fed to the tracker, or the
 * identity a track reports.
 */
typedef struct
{
  gint label_id;
  gchar *label;
  gboolean known;
  double similarity;
  double margin;
} FvIdentity;

/**
 * FvTrack:
 * @id: the track's id, never 0, unique within a tracker (until it wraps)
 * @active: whether the track is alive
 * @box: the box it was last seen with
 * @last_seen: the tracker frame it was last seen on
 * @embedding: (array): the last embedding (the tracker's dimension),
 *   owned by the tracker
 * @has_embedding: whether @embedding holds one
 * @embedding_aligned: whether it came from an aligned crop
 * @embedding_quality: the quality of the crop it came from, in [0, 1]
 * @embed_box: the box the embedding was computed from
 * @embed_frame: the tracker frame it was computed on
 * @tmpl: (array): the track's template (the tracker's dimension),
 *   owned by the tracker: the unit-length, weighted mean of the track's
 *   recent embeddings (see fv_tracker_set_template_decay()); what the
 *   track's identity is decided on
 * @tmpl_weight: the weight behind @tmpl (decayed sum of the
 *   observations' weights)
 * @gallery_version: the gallery version the identity was matched against
 * @has_identity: whether @stable holds a decision
 * @stable: the identity confirmed by hysteresis
 * @pending: a different identity waiting for confirmation
 * @pending_count: agreeing observations of @pending so far
 * @reported: the identity to attach to the face now
 * @need_confirm: re-identify on the next frame
 * @embedding_reason: why @embedding_quality is below 1 (the crop's
 *   #FvFaceQualityReason; %FV_FACE_QUALITY_OK when not told), set with
 *   fv_tracker_set_embedding_reason()
 *
 * One face followed across frames. Read-only outside the tracker.
 */
typedef struct
{
  guint id;
  gboolean active;
  FvBox box;
  guint64 last_seen;

  float *embedding;
  gboolean has_embedding;
  gboolean embedding_aligned;
  float embedding_quality;
  FvBox embed_box;
  guint64 embed_frame;
  float *tmpl;
  double tmpl_weight;
  guint64 gallery_version;

  gboolean has_identity;
  FvIdentity stable;
  FvIdentity pending;
  guint pending_count;
  FvIdentity reported;
  gboolean need_confirm;

  FvFaceQualityReason embedding_reason;
} FvTrack;

/**
 * FvTracker:
 *
 * Associates the face boxes of each frame with tracks by greedy IoU, ends
 * tracks unseen for a few frames, decides when a track's identity must be
 * computed again, keeps a template per track (a weighted mean of its
 * recent embeddings, so that several weak views add up), and smooths
 * identities with hysteresis: an identity only changes after two agreeing
 * observations, unless the embedding shows another face in the track's
 * place. Holds every buffer it needs from creation on; not thread-safe.
 */

/**
 * FV_TRACKER_DEFAULT_TEMPLATE_DECAY:
 *
 * The default of fv_tracker_set_template_decay(): each new embedding
 * multiplies the weight of the older ones by 0.8, so a view counts half
 * after three more and the template follows the current appearance
 * (about the last five views) rather than the whole history.
 */
#define FV_TRACKER_DEFAULT_TEMPLATE_DECAY 0.8f
typedef struct _FvTracker FvTracker;

FV_API FvTracker *fv_tracker_new (guint capacity, guint dim);
FV_API void fv_tracker_free (FvTracker * tracker);
FV_API void fv_tracker_reset (FvTracker * tracker);
FV_API guint fv_tracker_get_capacity (FvTracker * tracker);
FV_API guint fv_tracker_get_max_age (FvTracker * tracker);
FV_API void fv_tracker_update (FvTracker * tracker, const FvBox * boxes,
    guint n, FvTrack ** tracks);
FV_API void fv_tracker_set_template_decay (FvTracker * tracker,
    float decay);
FV_API float fv_tracker_get_template_decay (FvTracker * tracker);
FV_API gboolean fv_tracker_needs_embedding (FvTracker * tracker,
    const FvTrack * track, guint reidentify_interval);
FV_API void fv_tracker_set_embedding (FvTracker * tracker, FvTrack * track,
    const float *embedding, gboolean aligned, float quality);
FV_API void fv_tracker_add_embedding (FvTracker * tracker, FvTrack * track,
    const float *embedding, gboolean aligned, float quality, float weight);
FV_API void fv_tracker_set_embedding_reason (FvTracker * tracker,
    FvTrack * track, FvFaceQualityReason reason);
FV_API void fv_tracker_observe (FvTracker * tracker, FvTrack * track,
    const FvIdentity * observation, guint64 gallery_version);
FV_API guint fv_tracker_frames_ago (FvTracker * tracker,
    const FvTrack * track);

FV_API float fv_box_iou (const FvBox * a, const FvBox * b);
FV_API void fv_identity_set (FvIdentity * dst, const FvIdentity * src);
FV_API void fv_identity_clear (FvIdentity * identity);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvTracker, fv_tracker_free)

G_END_DECLS

#endif /* FV_TRACKER_H */

// FvTracker: IoU association and ageing, when to re-identify, and the
// hysteresis that keeps labels from flickering without ever carrying a
// label over to another face.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "fv.h"

namespace {

struct TrackerDeleter
{
  void operator() (FvTracker *t) const { fv_tracker_free (t); }
};
using Tracker = std::unique_ptr<FvTracker, TrackerDeleter>;

FvIdentity
Obs (const char *label, int id)
{
  FvIdentity o = { id, (gchar *) label, label != NULL, label ? 0.8 : 0.2,
    0.3
  };
  return o;
}

std::string
Reported (const FvTrack *tr)
{
  return tr->reported.known ? tr->reported.label : "unknown";
}

TEST (Tracker, BoxIou)
{
  FvBox a = { 0, 0, 10, 10 }, b = { 5, 0, 10, 10 }, c = { 20, 20, 5, 5 };
  EXPECT_FLOAT_EQ (fv_box_iou (&a, &a), 1.0f);
  EXPECT_FLOAT_EQ (fv_box_iou (&a, &b), 50.0f / 150.0f);
  EXPECT_FLOAT_EQ (fv_box_iou (&a, &c), 0.0f);
  FvBox empty = { 0, 0, 0, 0 };
  EXPECT_FLOAT_EQ (fv_box_iou (&empty, &empty), 0.0f);
}

TEST (Tracker, HysteresisKeepsLabelsFromFlickering)
{
  Tracker t (fv_tracker_new (4, 2));
  FvBox box = { 10, 10, 50, 50 };
  FvTrack *tr = NULL;
  auto step = [&](FvIdentity o) {
    fv_tracker_update (t.get (), &box, 1, &tr);
    fv_tracker_observe (t.get (), tr, &o, 1);
    return Reported (tr);
  };
  EXPECT_EQ (step (Obs ("A", 1)), "A");       // new track: at once
  EXPECT_EQ (step (Obs ("A", 1)), "A");
  EXPECT_EQ (step (Obs (NULL, -1)), "A");     // one unknown: keep A
  EXPECT_EQ (step (Obs ("A", 1)), "A");
  EXPECT_EQ (step (Obs ("B", 2)), "unknown"); // one B: claim nobody
  EXPECT_TRUE (tr->need_confirm);
  EXPECT_EQ (step (Obs ("A", 1)), "A");       // back to A
  EXPECT_EQ (step (Obs ("B", 2)), "unknown");
  EXPECT_EQ (step (Obs ("B", 2)), "B");       // two B in a row: B
  EXPECT_EQ (step (Obs (NULL, -1)), "B");
  EXPECT_EQ (step (Obs (NULL, -1)), "unknown");       // confirmed unknown
  EXPECT_EQ (step (Obs ("A", 1)), "unknown");
  EXPECT_EQ (step (Obs ("A", 1)), "A");
  // a new gallery: the decision is taken at once
  FvIdentity b = Obs ("B", 2);
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_observe (t.get (), tr, &b, 2);
  EXPECT_STREQ (tr->reported.label, "B");
}

// A cut puts another face where a known one was: the track's old label
// must not carry over, not even for one frame; the same face seen again
// (a similar embedding) keeps its hysteresis.
TEST (Tracker, AnotherFaceInTheSamePlaceDropsTheOldLabel)
{
  Tracker t (fv_tracker_new (4, 2));
  FvBox box = { 10, 10, 50, 50 };
  const float face_a[2] = { 1.0f, 0.0f }, face_a2[2] = { 0.96f, 0.28f },
      face_c[2] = { 0.0f, 1.0f };
  FvTrack *tr = NULL;
  auto step = [&](const float *emb, FvIdentity o) {
    fv_tracker_update (t.get (), &box, 1, &tr);
    fv_tracker_set_embedding (t.get (), tr, emb, TRUE, 1.0f);
    fv_tracker_observe (t.get (), tr, &o, 1);
    return Reported (tr);
  };
  EXPECT_EQ (step (face_a, Obs ("A", 1)), "A");
  EXPECT_EQ (step (face_a2, Obs (NULL, -1)), "A");    // same face, blurred
  EXPECT_EQ (step (face_a, Obs ("A", 1)), "A");
  EXPECT_EQ (step (face_c, Obs (NULL, -1)), "unknown");       // a cut
  EXPECT_EQ (step (face_a, Obs ("A", 1)), "A");       // and back
}

TEST (Tracker, IouAssociationAndAgeing)
{
  Tracker t (fv_tracker_new (4, 2));
  FvBox a[2] = { {0, 0, 100, 100}, {300, 0, 100, 100} };
  FvTrack *tr[2];
  fv_tracker_update (t.get (), a, 2, tr);
  guint id0 = tr[0]->id, id1 = tr[1]->id;
  EXPECT_NE (id0, 0u);
  EXPECT_NE (id0, id1);
  // swapped order, slightly moved: same tracks
  FvBox b[2] = { {305, 5, 100, 100}, {5, 0, 100, 100} };
  fv_tracker_update (t.get (), b, 2, tr);
  EXPECT_EQ (tr[0]->id, id1);
  EXPECT_EQ (tr[1]->id, id0);
  // gone for longer than max_age: a later face starts a new track
  for (guint i = 0; i <= fv_tracker_get_max_age (t.get ()); i++)
    fv_tracker_update (t.get (), NULL, 0, tr);
  fv_tracker_update (t.get (), b, 1, tr);
  EXPECT_NE (tr[0]->id, id1);
  EXPECT_NE (tr[0]->id, id0);
  // far more faces than capacity over time: tracks are taken over, ids
  // stay unique among the live tracks
  EXPECT_EQ (fv_tracker_get_capacity (t.get ()), 4u);
  guint last = 0;
  for (int i = 0; i < 50; i++) {
    FvBox c = { (float) (i * 200), 0, 50, 50 };
    fv_tracker_update (t.get (), &c, 1, tr);
    EXPECT_TRUE (tr[0]->active);
    EXPECT_GT (tr[0]->id, last);
    last = tr[0]->id;
  }
}

TEST (Tracker, ReidentifyWhenTheBoxChangesALot)
{
  Tracker t (fv_tracker_new (2, 2));
  FvBox box = { 0, 0, 100, 100 };
  FvTrack *tr = NULL;
  const float emb[2] = { 1, 0 };
  fv_tracker_update (t.get (), &box, 1, &tr);
  EXPECT_TRUE (fv_tracker_needs_embedding (t.get (), tr, 10));
  fv_tracker_set_embedding (t.get (), tr, emb, TRUE, 1.0f);
  EXPECT_EQ (fv_tracker_frames_ago (t.get (), tr), 0u);
  FvIdentity o = Obs ("A", 1);
  fv_tracker_observe (t.get (), tr, &o, 1);
  fv_tracker_update (t.get (), &box, 1, &tr);
  EXPECT_FALSE (fv_tracker_needs_embedding (t.get (), tr, 10));
  EXPECT_TRUE (fv_tracker_needs_embedding (t.get (), tr, 1));
  EXPECT_EQ (fv_tracker_frames_ago (t.get (), tr), 1u);
  FvBox grown = { 0, 0, 140, 140 };     // IoU 0.51 with the embedded box
  fv_tracker_update (t.get (), &grown, 1, &tr);
  EXPECT_TRUE (fv_tracker_needs_embedding (t.get (), tr, 10));
}

TEST (Tracker, ResetEndsEveryTrack)
{
  Tracker t (fv_tracker_new (2, 2));
  FvBox box = { 0, 0, 100, 100 };
  FvTrack *tr = NULL;
  FvIdentity o = Obs ("A", 1);
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_observe (t.get (), tr, &o, 1);
  guint id = tr->id;
  fv_tracker_reset (t.get ());
  fv_tracker_update (t.get (), &box, 1, &tr);
  EXPECT_NE (tr->id, id);
  EXPECT_FALSE (tr->has_identity);
  EXPECT_FALSE (tr->has_embedding);
  EXPECT_EQ (tr->reported.label, nullptr);
}

}  // namespace

// FvTracker: IoU association and ageing, when to re-identify, and the
// hysteresis that keeps labels from flickering without ever carrying a
// label over to another face.
#include <cmath>
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

double
Dot (const float *a, const float *b, int n)
{
  double d = 0;
  for (int i = 0; i < n; i++)
    d += (double) a[i] * b[i];
  return d;
}

// The template is the unit vector along sum decay^(n-k) w_k e_k; decay 0
// keeps only the last embedding (per-frame decisions).
TEST (Tracker, TemplateIsTheDecayedWeightedMeanOfTheViews)
{
  Tracker t (fv_tracker_new (2, 2));
  EXPECT_FLOAT_EQ (fv_tracker_get_template_decay (t.get ()),
      FV_TRACKER_DEFAULT_TEMPLATE_DECAY);
  fv_tracker_set_template_decay (t.get (), 0.5f);
  FvBox box = { 0, 0, 100, 100 };
  FvTrack *tr = NULL;
  const float e1[2] = { 1.0f, 0.0f }, e2[2] = { 0.6f, 0.8f };
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_add_embedding (t.get (), tr, e1, TRUE, 1.0f, 2.0f);
  EXPECT_FLOAT_EQ (tr->tmpl[0], 1.0f);
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_add_embedding (t.get (), tr, e2, TRUE, 1.0f, 1.0f);
  // 0.5 * 2 * e1 + 1 * e2 = (1.6, 0.8)
  float n = std::sqrt (1.6f * 1.6f + 0.8f * 0.8f);
  EXPECT_NEAR (tr->tmpl[0], 1.6f / n, 1e-6);
  EXPECT_NEAR (tr->tmpl[1], 0.8f / n, 1e-6);
  EXPECT_NEAR (tr->tmpl_weight, 2.0, 1e-6);
  EXPECT_FLOAT_EQ (tr->embedding[1], 0.8f);     // the last view itself

  fv_tracker_set_template_decay (t.get (), 0.0f);
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_add_embedding (t.get (), tr, e1, TRUE, 1.0f, 1.0f);
  EXPECT_FLOAT_EQ (tr->tmpl[0], 1.0f);
  EXPECT_FLOAT_EQ (tr->tmpl[1], 0.0f);
}

// Two views that each fall short of a threshold of 0.5 to the enrolled
// face g (cosine 0.47) but agree with each other (0.6, the same face):
// their template reaches it.
TEST (Tracker, WeakViewsAddUpInTheTemplate)
{
  Tracker t (fv_tracker_new (2, 3));
  FvBox box = { 0, 0, 100, 100 };
  FvTrack *tr = NULL;
  const float g[3] = { 1, 0, 0 };
  const float b = 0.45f, a = std::sqrt (1.0f - 0.47f * 0.47f - b * b);
  const float v1[3] = { 0.47f, a, b }, v2[3] = { 0.47f, a, -b };
  ASSERT_NEAR (Dot (v1, v2, 3), 0.595, 1e-5);
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_set_embedding (t.get (), tr, v1, TRUE, 1.0f);
  EXPECT_LT (Dot (tr->tmpl, g, 3), 0.5);
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_set_embedding (t.get (), tr, v2, TRUE, 1.0f);
  EXPECT_LT (Dot (tr->embedding, g, 3), 0.5);
  EXPECT_GT (Dot (tr->tmpl, g, 3), 0.5);
}

// Another face in the track's place (far from the template) starts the
// template again from it alone, and drops the identity.
TEST (Tracker, AnotherFaceRestartsTheTemplate)
{
  Tracker t (fv_tracker_new (2, 2));
  FvBox box = { 0, 0, 100, 100 };
  FvTrack *tr = NULL;
  const float a[2] = { 1, 0 }, a2[2] = { 0.8f, 0.6f }, c[2] = { 0, 1 };
  FvIdentity o = Obs ("A", 1);
  for (const float *e : { a, a2, a }) {
    fv_tracker_update (t.get (), &box, 1, &tr);
    fv_tracker_set_embedding (t.get (), tr, e, TRUE, 1.0f);
    fv_tracker_observe (t.get (), tr, &o, 1);
  }
  EXPECT_GT (tr->tmpl[1], 0.1f);        // a2 is still in it
  EXPECT_TRUE (tr->has_identity);
  fv_tracker_update (t.get (), &box, 1, &tr);
  fv_tracker_set_embedding (t.get (), tr, c, TRUE, 1.0f);
  EXPECT_FALSE (tr->has_identity);
  EXPECT_FLOAT_EQ (tr->tmpl[0], 0.0f);
  EXPECT_FLOAT_EQ (tr->tmpl[1], 1.0f);
  EXPECT_NEAR (tr->tmpl_weight, 1.0, 1e-6);
}

}  // namespace

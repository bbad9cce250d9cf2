// FvFaceIdMeta: add, get and iterate by ROI id; copy and scale transforms.
#include <gtest/gtest.h>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstfaceverifymeta.h"

namespace {

GstBuffer *
NewFrame ()
{
  return gst_buffer_new_allocate (NULL, 64, NULL);
}

FvFaceIdMeta *
AddIdentity (GstBuffer *buf, int roi_id, const char *label, bool known)
{
  FvFaceIdMeta *m = fv_buffer_add_face_id_meta (buf, roi_id, label);
  m->known = known;
  m->label_id = known ? roi_id * 10 : -1;
  m->similarity = 0.5 + roi_id * 0.01;
  m->margin = 0.2;
  m->track_id = 100 + roi_id;
  m->frames_ago = 3;
  m->aligned = TRUE;
  m->gallery_version = 7;
  m->x = 100;
  m->y = 40;
  m->w = 80;
  m->h = 120;
  m->n_landmarks = 5;
  for (int k = 0; k < 10; k++)
    m->landmarks[k] = 100.0f + k;
  return m;
}

TEST (FaceIdMeta, AddGetIterateByRoiId)
{
  GstBuffer *buf = NewFrame ();
  EXPECT_EQ (fv_buffer_get_n_face_id_metas (buf), 0u);
  EXPECT_EQ (fv_buffer_get_face_id_meta (buf, 1), nullptr);

  AddIdentity (buf, 3, "alice", true);
  AddIdentity (buf, 1, NULL, false);
  AddIdentity (buf, 8, "bob", true);
  EXPECT_EQ (fv_buffer_get_n_face_id_metas (buf), 3u);

  FvFaceIdMeta *m = fv_buffer_get_face_id_meta (buf, 8);
  ASSERT_NE (m, nullptr);
  EXPECT_STREQ (m->label, "bob");
  EXPECT_EQ (m->label_id, 80);
  m = fv_buffer_get_face_id_meta (buf, 1);
  ASSERT_NE (m, nullptr);
  EXPECT_STREQ (m->label, FV_FACE_ID_UNKNOWN_LABEL);
  EXPECT_FALSE (m->known);
  EXPECT_EQ (fv_buffer_get_face_id_meta (buf, 2), nullptr);

  // iteration visits each once, in the order of addition
  std::vector<int> ids;
  gpointer state = NULL;
  while ((m = fv_buffer_iterate_face_id_meta (buf, &state)))
    ids.push_back (m->roi_id);
  EXPECT_EQ (ids, (std::vector<int>{3, 1, 8}));

  fv_face_id_meta_set_label (fv_buffer_get_face_id_meta (buf, 3), "carol");
  EXPECT_STREQ (fv_buffer_get_face_id_meta (buf, 3)->label, "carol");
  gst_buffer_unref (buf);
}

TEST (FaceIdMeta, LinksToItsRoi)
{
  GstBuffer *buf = NewFrame ();
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, "face", 1, 2, 3, 4);
  roi->id = 42;
  FvFaceIdMeta *m = AddIdentity (buf, 42, "alice", true);
  EXPECT_EQ (fv_face_id_meta_get_roi (m, buf), roi);
  FvFaceIdMeta *orphan = AddIdentity (buf, 43, "bob", true);
  EXPECT_EQ (fv_face_id_meta_get_roi (orphan, buf), nullptr);
  gst_buffer_unref (buf);
}

TEST (FaceIdMeta, EmbeddingIsReferenced)
{
  GstBuffer *buf = NewFrame ();
  FvFaceIdMeta *m = AddIdentity (buf, 1, "alice", true);
  gsize n = 99;
  EXPECT_EQ (fv_face_id_meta_get_embedding (m, &n), nullptr);
  EXPECT_EQ (n, 0u);
  float v[4] = { 0.5f, 0.5f, 0.5f, 0.5f };
  GBytes *b = g_bytes_new (v, sizeof (v));
  fv_face_id_meta_set_embedding (m, b);
  g_bytes_unref (b);
  const float *e = fv_face_id_meta_get_embedding (m, &n);
  ASSERT_NE (e, nullptr);
  EXPECT_EQ (n, 4u);
  EXPECT_FLOAT_EQ (e[3], 0.5f);
  fv_face_id_meta_set_embedding (m, NULL);
  EXPECT_EQ (fv_face_id_meta_get_embedding (m, NULL), nullptr);
  gst_buffer_unref (buf);
}

TEST (FaceIdMeta, CopiedWithTheBuffer)
{
  GstBuffer *buf = NewFrame ();
  FvFaceIdMeta *src = AddIdentity (buf, 5, "alice", true);
  float v[2] = { 1.0f, 0.0f };
  GBytes *b = g_bytes_new (v, sizeof (v));
  fv_face_id_meta_set_embedding (src, b);
  g_bytes_unref (b);

  GstBuffer *copy = gst_buffer_copy (buf);
  gst_buffer_unref (buf);       // the copy must not depend on the original
  FvFaceIdMeta *m = fv_buffer_get_face_id_meta (copy, 5);
  ASSERT_NE (m, nullptr);
  EXPECT_STREQ (m->label, "alice");
  EXPECT_TRUE (m->known);
  EXPECT_EQ (m->label_id, 50);
  EXPECT_DOUBLE_EQ (m->similarity, 0.55);
  EXPECT_DOUBLE_EQ (m->margin, 0.2);
  EXPECT_EQ (m->track_id, 105u);
  EXPECT_EQ (m->frames_ago, 3u);
  EXPECT_TRUE (m->aligned);
  EXPECT_EQ (m->gallery_version, 7u);
  EXPECT_EQ (m->x, 100u);
  EXPECT_EQ (m->h, 120u);
  EXPECT_EQ (m->n_landmarks, 5u);
  EXPECT_FLOAT_EQ (m->landmarks[9], 109.0f);
  gsize n = 0;
  ASSERT_NE (fv_face_id_meta_get_embedding (m, &n), nullptr);
  EXPECT_EQ (n, 2u);
  gst_buffer_unref (copy);
}

TEST (FaceIdMeta, ScaleTransformFollowsTheFrame)
{
  const GstMetaInfo *info = FV_FACE_ID_META_INFO;
  ASSERT_NE (info->transform_func, nullptr);
  // tagged like the video metas that scaling elements transform
  EXPECT_TRUE (gst_meta_api_type_has_tag (FV_FACE_ID_META_API_TYPE,
          g_quark_from_string (GST_META_TAG_VIDEO_STR)));
  EXPECT_TRUE (gst_meta_api_type_has_tag (FV_FACE_ID_META_API_TYPE,
          g_quark_from_string (GST_META_TAG_VIDEO_SIZE_STR)));

  GstBuffer *in = NewFrame ();
  GstBuffer *out = NewFrame ();
  FvFaceIdMeta *src = AddIdentity (in, 2, "alice", true);

  GstVideoInfo ii, oi;
  gst_video_info_set_format (&ii, GST_VIDEO_FORMAT_RGB, 640, 480);
  gst_video_info_set_format (&oi, GST_VIDEO_FORMAT_RGB, 320, 120);
  GstVideoMetaTransform t = { &ii, &oi };
  ASSERT_TRUE (info->transform_func (out, (GstMeta *) src, in,
          gst_video_meta_transform_scale_get_quark (), &t));
  FvFaceIdMeta *m = fv_buffer_get_face_id_meta (out, 2);
  ASSERT_NE (m, nullptr);
  EXPECT_STREQ (m->label, "alice");
  EXPECT_EQ (m->x, 50u);        // 100 * 0.5
  EXPECT_EQ (m->y, 10u);        // 40 * 0.25
  EXPECT_EQ (m->w, 40u);
  EXPECT_EQ (m->h, 30u);
  EXPECT_FLOAT_EQ (m->landmarks[0], 50.0f);
  EXPECT_FLOAT_EQ (m->landmarks[1], 101.0f * 0.25f);

  // an unknown transform drops the meta instead of carrying a wrong box
  EXPECT_FALSE (info->transform_func (out, (GstMeta *) src, in,
          g_quark_from_string ("some-rotation"), NULL));
  gst_buffer_unref (in);
  gst_buffer_unref (out);
}

void
CountCritical (const gchar *, GLogLevelFlags, const gchar *, gpointer data)
{
  ++*(int *) data;
}

TEST (FaceIdMeta, RefusesRoiIdZero)
{
  GstBuffer *buf = NewFrame ();
  // a programming error: reported as a critical, no meta added
  int criticals = 0;
  GLogLevelFlags old = g_log_set_always_fatal ((GLogLevelFlags) G_LOG_FATAL_MASK);
  guint h = g_log_set_handler ("faceverify", (GLogLevelFlags) G_LOG_LEVEL_CRITICAL,
      CountCritical, &criticals);
  EXPECT_EQ (fv_buffer_add_face_id_meta (buf, 0, "x"), nullptr);
  g_log_remove_handler ("faceverify", h);
  g_log_set_always_fatal (old);
  EXPECT_EQ (criticals, 1);
  EXPECT_EQ (fv_buffer_get_n_face_id_metas (buf), 0u);
  gst_buffer_unref (buf);
}

}  // namespace

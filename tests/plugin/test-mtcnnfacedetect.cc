// mtcnnfacedetect driven with GstHarness: ROI metas with the detection and
// landmarks params, against the independent MTCNN reference; ids, interval,
// formats, errors, state cycles.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "fv-plugin-test.h"

using namespace fvplug;

namespace {

// One face of ../shared/golden/dev_faces_mtcnn_reference.csv.
struct RefFace
{
  std::string raw;
  float box[4];                 // x1, y1, x2, y2
  float score;
  float lm[10];
};

std::map<std::string, std::vector<RefFace>>
LoadReference (const std::string &source)
{
  std::map<std::string, std::vector<RefFace>> by_raw;
  std::ifstream in (fvtest::SharedPath
      ("golden/dev_faces_mtcnn_reference.csv"));
  std::string line;
  std::getline (in, line);
  while (std::getline (in, line)) {
    std::vector<std::string> f;
    std::stringstream ss (line);
    std::string c;
    while (std::getline (ss, c, ','))
      f.push_back (c);
    if (f.size () < 19 || f[0] != source)
      continue;
    RefFace r;
    r.raw = f[1];
    for (int k = 0; k < 4; k++)
      r.box[k] = std::stof (f[4 + k]);
    r.score = std::stof (f[8]);
    for (int k = 0; k < 10; k++)
      r.lm[k] = std::stof (f[9 + k]);
    by_raw[r.raw].push_back (r);
  }
  return by_raw;
}

struct Roi
{
  int id;
  guint x, y, w, h;
  double conf, nx0, ny0, nx1, ny1;
  guint frames_ago;
  std::vector<double> lm;
};

std::vector<Roi>
Rois (GstBuffer *buf)
{
  std::vector<Roi> v;
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto *roi = (GstVideoRegionOfInterestMeta *) meta;
    EXPECT_EQ (roi->roi_type, g_quark_from_string ("face"));
    Roi r = { roi->id, roi->x, roi->y, roi->w, roi->h, -1, -1, -1, -1, -1, 0,
      {}
    };
    GstStructure *d = gst_video_region_of_interest_meta_get_param (roi,
        "detection");
    EXPECT_NE (d, nullptr);
    if (d) {
      EXPECT_TRUE (gst_structure_get (d, "confidence", G_TYPE_DOUBLE,
              &r.conf, "x_min", G_TYPE_DOUBLE, &r.nx0, "y_min",
              G_TYPE_DOUBLE, &r.ny0, "x_max", G_TYPE_DOUBLE, &r.nx1,
              "y_max", G_TYPE_DOUBLE, &r.ny1, "frames-ago", G_TYPE_UINT,
              &r.frames_ago, NULL));
      EXPECT_STREQ (gst_structure_get_string (d, "label"), "face");
    }
    GstStructure *l = gst_video_region_of_interest_meta_get_param (roi,
        "landmarks");
    EXPECT_NE (l, nullptr);
    if (l) {
      const GValue *pts = gst_structure_get_value (l, "points");
      EXPECT_TRUE (pts && GST_VALUE_HOLDS_ARRAY (pts));
      for (guint k = 0; pts && k < gst_value_array_get_size (pts); k++)
        r.lm.push_back (g_value_get_double (gst_value_array_get_value (pts,
                    k)));
      EXPECT_STREQ (gst_structure_get_string (l, "order"),
          "left-eye,right-eye,nose,left-mouth-corner,right-mouth-corner");
    }
    v.push_back (r);
  }
  return v;
}

class MtcnnTest : public ::testing::Test
{
protected:
  void SetUp () override
  {
    if (fvtest::ModelPath ("pnet.tflite").empty ()
        || !fvtest::HaveShared ("golden/dev_faces_mtcnn_reference.csv"))
      GTEST_SKIP () << "models or shared data missing";
  }

  void TearDown () override
  {
    if (h)
      gst_harness_teardown (h);
  }

  GstHarness *Start (int w, int hh, std::vector<std::string> props = {},
      GstVideoFormat fmt = GST_VIDEO_FORMAT_RGB)
  {
    GstElement *e = gst_element_factory_make ("mtcnnfacedetect", NULL);
    EXPECT_NE (e, nullptr);
    for (const auto &p : props) {
      auto eq = p.find ('=');
      gst_util_set_object_arg (G_OBJECT (e), p.substr (0, eq).c_str (),
          p.substr (eq + 1).c_str ());
    }
    h = gst_harness_new_with_element (e, "sink", "src");
    gst_object_unref (e);
    gst_harness_set_src_caps_str (h, CapsFor (fmt, w, hh).c_str ());
    if (GST_STATE (h->element) != GST_STATE_PLAYING)
      gst_harness_play (h);
    return h;
  }

  GstBuffer *Process (GstBuffer *buf)
  {
    EXPECT_EQ (gst_harness_push (h, buf), GST_FLOW_OK);
    return gst_harness_pull (h);
  }

  GstHarness *h = nullptr;
};

TEST_F (MtcnnTest, FacesMatchTheReference)
{
  auto ref = LoadReference ("deepface");
  ASSERT_FALSE (ref.empty ());
  int checked = 0;
  for (const auto &kv : ref) {
    if (kv.second.size () != 1)
      continue;
    if (checked == 8)
      break;
    const RefFace &rf = kv.second[0];
    SCOPED_TRACE (rf.raw);
    RgbImage img = LoadRgb (FacePath ("deepface", rf.raw));
    Start (img.width, img.height);
    GstBuffer *out = Process (RgbBuffer (img));
    auto rois = Rois (out);
    ASSERT_GE (rois.size (), 1u);
    const Roi &r = rois[0];             // best score first
    EXPECT_NE (r.id, 0);
    EXPECT_GE (r.conf, 0.9);
    EXPECT_LE (r.conf, 1.0);
    EXPECT_EQ (r.frames_ago, 0u);
    // the normalised box is the pixel box over the frame size
    EXPECT_NEAR (r.nx0 * img.width, r.x, 1.0);
    EXPECT_NEAR (r.ny0 * img.height, r.y, 1.0);
    EXPECT_NEAR (r.nx1 * img.width, r.x + r.w, 1.0);
    EXPECT_NEAR (r.ny1 * img.height, r.y + r.h, 1.0);
    for (double v : { r.nx0, r.ny0, r.nx1, r.ny1 }) {
      EXPECT_GE (v, 0.0);
      EXPECT_LE (v, 1.0);
    }
    float mine[4] = { (float) r.x, (float) r.y, (float) r.w, (float) r.h };
    float theirs[4] = { rf.box[0], rf.box[1], rf.box[2] - rf.box[0],
      rf.box[3] - rf.box[1]
    };
    // the reference box may reach outside the frame, ours is clipped
    theirs[0] = std::max (theirs[0], 0.0f);
    theirs[1] = std::max (theirs[1], 0.0f);
    EXPECT_GE (BoxIou (mine, theirs), 0.7);
    ASSERT_EQ (r.lm.size (), 10u);
    double bw = rf.box[2] - rf.box[0];
    for (int k = 0; k < 5; k++)
      EXPECT_LE (std::hypot (r.lm[2 * k] - rf.lm[2 * k],
              r.lm[2 * k + 1] - rf.lm[2 * k + 1]), 0.05 * bw)
          << "landmark " << k;
    gst_buffer_unref (out);
    gst_harness_teardown (h);
    h = nullptr;
    checked++;
  }
  EXPECT_EQ (checked, 8);
}

// With full scans on every run (full-scan-interval=1) every run gives new
// ids; tracked faces keep theirs (MtcnnTrackTest.TrackedFacesKeepTheirIds).
TEST_F (MtcnnTest, SeveralFacesGetUniqueIds)
{
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person02/img54.jpg"));
  Start (img.width, img.height, { "min-face-size=20",
          "full-scan-interval=1" });
  std::set<int> all;
  for (int i = 0; i < 3; i++) {
    GstBuffer *out = Process (RgbBuffer (img));
    auto rois = Rois (out);
    EXPECT_GE (rois.size (), 2u);
    for (const Roi &r : rois) {
      EXPECT_NE (r.id, 0);
      EXPECT_TRUE (all.insert (r.id).second) << "id " << r.id << " reused";
    }
    gst_buffer_unref (out);
  }
}

TEST_F (MtcnnTest, IdsDoNotCollideWithUpstreamRois)
{
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person01/img10.jpg"));
  Start (img.width, img.height);
  GstBuffer *in = RgbBuffer (img);
  GstVideoRegionOfInterestMeta *up =
      gst_buffer_add_video_region_of_interest_meta (in, "car", 0, 0, 10, 10);
  up->id = 1;
  GstBuffer *out = Process (in);
  std::set<int> ids;
  gpointer state = NULL;
  GstMeta *meta;
  int n = 0;
  while ((meta = gst_buffer_iterate_meta_filtered (out, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    ids.insert (((GstVideoRegionOfInterestMeta *) meta)->id);
    n++;
  }
  EXPECT_GE (n, 2);
  EXPECT_EQ ((int) ids.size (), n);
  gst_buffer_unref (out);
}

// Issue 12: ROI ids over the full int range. Upstream ids 1 and G_MAXINT
// made max_id + 1 overflow, and the detector then handed out id 1 again.
TEST_F (MtcnnTest, IdsStayUniqueBesideAnUpstreamMaxIntId)
{
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person02/img54.jpg"));
  Start (img.width, img.height, { "min-face-size=20" });
  for (int frame = 0; frame < 2; frame++) {
    GstBuffer *in = RgbBuffer (img);
    for (int id : { 1, 2, G_MAXINT }) {
      GstVideoRegionOfInterestMeta *up =
          gst_buffer_add_video_region_of_interest_meta (in, "car", 0, 0, 10,
          10);
      up->id = id;
    }
    GstBuffer *out = Process (in);
    std::set<int> ids;
    gpointer state = NULL;
    GstMeta *meta;
    int n = 0;
    while ((meta = gst_buffer_iterate_meta_filtered (out, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      int id = ((GstVideoRegionOfInterestMeta *) meta)->id;
      EXPECT_NE (id, 0);
      ids.insert (id);
      n++;
    }
    EXPECT_GE (n, 5);
    EXPECT_EQ ((int) ids.size (), n) << "a ROI id is used twice";
    gst_buffer_unref (out);
  }
}

TEST_F (MtcnnTest, EmptyFrameHasNoFaces)
{
  Start (320, 240);
  RgbImage grey = GreyCanvas (320, 240);
  GstBuffer *out = Process (RgbBuffer (grey));
  EXPECT_EQ (CountRois (out), 0);
  GstMapInfo map;
  ASSERT_TRUE (gst_buffer_map (out, &map, GST_MAP_READ));
  EXPECT_EQ (memcmp (map.data, grey.data.data (), map.size), 0);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
}

TEST_F (MtcnnTest, DetectionIntervalReusesFaces)
{
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person01/img10.jpg"));
  Start (img.width, img.height, { "detection-interval=3",
          "full-scan-interval=1" });
  std::vector<guint> ago;
  std::vector<int> ids;
  for (int i = 0; i < 7; i++) {
    GstBuffer *out = Process (RgbBuffer (img));
    auto rois = Rois (out);
    ASSERT_EQ (rois.size (), 1u);
    ago.push_back (rois[0].frames_ago);
    ids.push_back (rois[0].id);
    gst_buffer_unref (out);
  }
  EXPECT_EQ (ago, (std::vector<guint>{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ (ids[0], ids[2]);
  EXPECT_NE (ids[2], ids[3]);
}

TEST_F (MtcnnTest, MaxFaces)
{
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person02/img54.jpg"));
  Start (img.width, img.height, { "min-face-size=20", "max-faces=1" });
  GstBuffer *out = Process (RgbBuffer (img));
  EXPECT_EQ (CountRois (out), 1);
  gst_buffer_unref (out);
}

TEST_F (MtcnnTest, MinFaceSizeChangesWhilePlaying)
{
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person01/img10.jpg"));
  Start (img.width, img.height);
  GstBuffer *out = Process (RgbBuffer (img));
  EXPECT_EQ (CountRois (out), 1);
  gst_buffer_unref (out);
  // larger than the frame: no pyramid level is left, nothing can be found
  g_object_set (h->element, "min-face-size", 1000, NULL);
  out = Process (RgbBuffer (img));
  EXPECT_EQ (CountRois (out), 0);
  gst_buffer_unref (out);
  g_object_set (h->element, "min-face-size", 40, NULL);
  out = Process (RgbBuffer (img));
  EXPECT_EQ (CountRois (out), 1);
  gst_buffer_unref (out);
}

class MtcnnFormats : public MtcnnTest,
    public ::testing::WithParamInterface<GstVideoFormat>
{
};

TEST_P (MtcnnFormats, EverySupportedFormat)
{
  GstVideoFormat fmt = GetParam ();
  // even sizes for the 4:2:0 formats
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person01/img10.jpg"),
      408, 594);
  Start (img.width, img.height, {}, fmt);
  GstBuffer *rgb = RgbBuffer (img);
  GstBuffer *in = ConvertBuffer (rgb, img.width, img.height, fmt);
  gst_buffer_unref (rgb);
  GstBuffer *out = Process (in);
  auto rois = Rois (out);
  ASSERT_EQ (rois.size (), 1u);
  float mine[4] = { (float) rois[0].x, (float) rois[0].y,
    (float) rois[0].w, (float) rois[0].h
  };
  float ref[4] = { 93.0f, 93.06f, 305.77f - 93.0f, 385.49f - 93.06f };
  EXPECT_GE (BoxIou (mine, ref), 0.7);
  gst_buffer_unref (out);
}

INSTANTIATE_TEST_SUITE_P (Formats, MtcnnFormats,
    ::testing::Values (GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12,
        GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
        GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR,
        GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_ARGB,
        GST_VIDEO_FORMAT_ABGR, GST_VIDEO_FORMAT_GRAY8),
    [](const ::testing::TestParamInfo<GstVideoFormat> &i) {
      return std::string (gst_video_format_to_string (i.param));
    });

TEST_F (MtcnnTest, MissingModelIsResourceNotFound)
{
  GstElement *e = gst_element_factory_make ("mtcnnfacedetect", NULL);
  g_object_set (e, "model-dir", "/nonexistent", NULL);
  BusResult r = StartAndCatchError (e);
  EXPECT_EQ (r.ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ (r.domain, GST_RESOURCE_ERROR);
  EXPECT_EQ (r.code, GST_RESOURCE_ERROR_NOT_FOUND);
  gst_object_unref (e);
}

TEST_F (MtcnnTest, MalformedModelIsLibraryInit)
{
  std::string dir = PluginScratch ("mtcnn-bad");
  // valid R-Net and O-Net, a broken P-Net; then P-Net swapped with O-Net
  auto copy = [&](const char *from, const char *to) {
    auto d = fvtest::ReadFile (fvtest::ModelPath (from));
    ASSERT_TRUE (g_file_set_contents ((dir + "/" + to).c_str (),
            (const char *) d.data (), d.size (), NULL));
  };
  copy ("rnet.tflite", "rnet.tflite");
  copy ("onet.tflite", "onet.tflite");
  ASSERT_TRUE (g_file_set_contents ((dir + "/pnet.tflite").c_str (),
          "TFL3 but not really a model", -1, NULL));
  for (int round = 0; round < 2; round++) {
    SCOPED_TRACE (round);
    if (round == 1)
      copy ("onet.tflite", "pnet.tflite");
    GstElement *e = gst_element_factory_make ("mtcnnfacedetect", NULL);
    g_object_set (e, "model-dir", dir.c_str (), NULL);
    BusResult r = StartAndCatchError (e);
    EXPECT_EQ (r.ret, GST_STATE_CHANGE_FAILURE);
    EXPECT_EQ (r.domain, GST_LIBRARY_ERROR);
    EXPECT_EQ (r.code, GST_LIBRARY_ERROR_INIT);
    gst_object_unref (e);
  }
}

// Issue 12: the detector models are pinned (models/SHA256SUMS). A damaged
// pnet that still loads is a LIBRARY/INIT error naming the file, unless
// allow-unpinned-models is set: then the element starts and posts one
// warning that the models are not the pinned ones.
TEST_F (MtcnnTest, UnpinnedModelsNeedAllowUnpinnedModels)
{
  std::string dir = PluginScratch ("mtcnn-unpinned");
  for (const char *n : { "rnet.tflite", "onet.tflite" }) {
    auto d = fvtest::ReadFile (fvtest::ModelPath (n));
    ASSERT_TRUE (g_file_set_contents ((dir + "/" + n).c_str (),
            (const char *) d.data (), d.size (), NULL));
  }
  std::string pnet = dir + "/pnet.tflite";
  auto bytes = fvtest::ReadFile (fvtest::ModelPath ("pnet.tflite"));
  bool loads = false;
  for (size_t off = bytes.size () / 2; !loads && off < bytes.size () - 64;
      off += 97) {
    auto b = bytes;
    b[off] ^= 0x10;
    ASSERT_TRUE (g_file_set_contents (pnet.c_str (), (const char *) b.data (),
            b.size (), NULL));
    FvModel *m = fv_model_new_from_file (pnet.c_str (), NULL);
    loads = m != nullptr;
    if (m)
      fv_model_unref (m);
  }
  ASSERT_TRUE (loads);
  g_unsetenv ("FV_ALLOW_UNPINNED_MODELS");

  GstElement *e = gst_element_factory_make ("mtcnnfacedetect", NULL);
  gboolean allow = TRUE;
  g_object_get (e, "allow-unpinned-models", &allow, NULL);
  EXPECT_FALSE (allow);
  EXPECT_TRUE (g_object_class_find_property (G_OBJECT_GET_CLASS (e),
          "allow-unpinned-models")->flags & GST_PARAM_MUTABLE_READY);
  g_object_set (e, "model-dir", dir.c_str (), NULL);
  BusResult r = StartAndCatchError (e);
  EXPECT_EQ (r.ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ (r.domain, GST_LIBRARY_ERROR);
  EXPECT_EQ (r.code, GST_LIBRARY_ERROR_INIT);
  EXPECT_NE ((r.text + r.debug).find (pnet), std::string::npos)
      << r.text << " / " << r.debug;
  gst_object_unref (e);

  // allowed: starts, one warning, no error; the pinned models warn nothing
  for (bool pinned : { false, true }) {
    SCOPED_TRACE (pinned ? "pinned" : "unpinned");
    e = gst_element_factory_make ("mtcnnfacedetect", NULL);
    if (!pinned)
      g_object_set (e, "model-dir", dir.c_str (), NULL);
    g_object_set (e, "allow-unpinned-models", TRUE, NULL);
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (e, bus);
    EXPECT_NE (gst_element_set_state (e, GST_STATE_PAUSED),
        GST_STATE_CHANGE_FAILURE);
    int n_warnings = 0;
    GstMessage *m;
    // (pop_filtered drops what it skips: both types in one pass)
    while ((m = gst_bus_pop_filtered (bus, (GstMessageType)
                (GST_MESSAGE_WARNING | GST_MESSAGE_ERROR)))) {
      EXPECT_EQ (GST_MESSAGE_TYPE (m), GST_MESSAGE_WARNING);
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_warning (m, &err, &dbg);
      std::string all = std::string (err->message) + " " + (dbg ? dbg : "");
      EXPECT_NE (all.find ("pinned"), std::string::npos) << all;
      EXPECT_NE (all.find (dir), std::string::npos) << all;
      g_error_free (err);
      g_free (dbg);
      gst_message_unref (m);
      n_warnings++;
    }
    EXPECT_EQ (n_warnings, pinned ? 0 : 1);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_element_set_bus (e, NULL);
    gst_object_unref (bus);
    gst_object_unref (e);
  }
  g_unlink (pnet.c_str ());
}

TEST_F (MtcnnTest, StateCyclesRepeatedly)
{
  RgbImage img = LoadRgb (FacePath ("deepface", "raw/person01/img10.jpg"));
  GstElement *e = gst_element_factory_make ("mtcnnfacedetect", NULL);
  GstHarness *hh = gst_harness_new_with_element (e, "sink", "src");
  gst_harness_set_src_caps_str (hh, CapsFor (GST_VIDEO_FORMAT_RGB,
          img.width, img.height).c_str ());
  for (int i = 0; i < 10; i++) {
    ASSERT_NE (gst_element_set_state (e, GST_STATE_PLAYING),
        GST_STATE_CHANGE_FAILURE);
    ASSERT_EQ (gst_harness_push (hh, RgbBuffer (img)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (hh);
    ASSERT_NE (out, nullptr);
    EXPECT_EQ (CountRois (out), 1);
    gst_buffer_unref (out);
    ASSERT_EQ (gst_element_set_state (e, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (e);
  gst_harness_teardown (hh);
}

TEST_F (MtcnnTest, PropertyMutabilityFlags)
{
  GstElement *e = gst_element_factory_make ("mtcnnfacedetect", NULL);
  GObjectClass *k = G_OBJECT_GET_CLASS (e);
  for (const char *p : { "model-dir", "threads" })
    EXPECT_TRUE (g_object_class_find_property (k, p)->flags &
        GST_PARAM_MUTABLE_READY) << p;
  for (const char *p : { "min-face-size", "pnet-threshold", "rnet-threshold",
          "score-threshold", "max-faces", "detection-interval" })
    EXPECT_TRUE (g_object_class_find_property (k, p)->flags &
        GST_PARAM_MUTABLE_PLAYING) << p;
  gst_object_unref (e);
}

// Issue 12: a frame wider or taller than the library reads crashed the
// element in set_caps; it is refused with an error that names the limit.
TEST_F (MtcnnTest, FramesAboveTheMaximumSizeAreRefused)
{
  for (auto wh : { std::make_pair (FV_FRAME_MAX_SIZE + 1, 16),
          std::make_pair (16, FV_FRAME_MAX_SIZE + 1) }) {
    auto r = PushOneFrame ("mtcnnfacedetect", GST_VIDEO_FORMAT_GRAY8,
        wh.first, wh.second);
    EXPECT_EQ (r.flow, GST_FLOW_NOT_NEGOTIATED) << wh.first << "x" << wh.second;
    EXPECT_NE (r.text.find ("32767"), std::string::npos) << r.text;
  }
  // the largest allowed size still negotiates
  auto ok = PushOneFrame ("mtcnnfacedetect", GST_VIDEO_FORMAT_GRAY8,
      FV_FRAME_MAX_SIZE, 16);
  EXPECT_EQ (ok.flow, GST_FLOW_OK) << ok.text;
}

// ---- full-scan-interval: tracking between full scans --------------------

// 640x360 scenes with shared photos pasted in, scaled to 150 px wide.
class MtcnnTrackTest : public MtcnnTest
{
protected:
  void SetUp () override
  {
    MtcnnTest::SetUp ();
    if (IsSkipped ())
      return;
    for (const char *raw : { "raw/person01/img10.jpg",
            "raw/person03/img47.jpg" }) {
      std::string path = FacePath ("deepface", raw);
      int w = 0, hh = 0;
      ASSERT_NE (gdk_pixbuf_get_file_info (path.c_str (), &w, &hh), nullptr);
      faces.push_back (LoadRgb (path, 150, 150 * hh / w));
    }
  }

  struct At
  {
    int face, x, y;
  };

  RgbImage Scene (std::vector<At> at)
  {
    RgbImage img = GreyCanvas (640, 360, 100);
    for (const At &a : at)
      Paste (img, faces[a.face], a.x, a.y);
    return img;
  }

  // What the library's full detect finds on @img, with the element's
  // default settings.
  std::vector<FvDetection> Detect (const RgbImage &img)
  {
    g_autoptr (GError) error = NULL;
    if (!det)
      det = fv_detector_new (NULL, &error);
    EXPECT_NE (det, nullptr);
    FvFrame f;
    const guint8 *planes[1] = { img.data.data () };
    gint strides[1] = { img.Stride () };
    EXPECT_TRUE (fv_frame_init (&f, FV_PIXEL_FORMAT_RGB, img.width,
            img.height, planes, strides, NULL));
    FvDetection d[16];
    guint n = fv_detector_detect (det, &f, d, 16);
    return std::vector<FvDetection> (d, d + n);
  }

  static float IouWith (const Roi &r, const FvDetection &d)
  {
    float a[4] = { (float) r.x, (float) r.y, (float) r.w, (float) r.h };
    float x0 = std::max (d.x1, 0.0f), y0 = std::max (d.y1, 0.0f);
    float b[4] = { x0, y0, d.x2 - x0, d.y2 - y0 };
    return BoxIou (a, b);
  }

  std::vector<Roi> Push (const RgbImage &img)
  {
    GstBuffer *out = Process (RgbBuffer (img));
    std::vector<Roi> r = Rois (out);
    gst_buffer_unref (out);
    return r;
  }

  void TearDown () override
  {
    g_clear_pointer (&det, fv_detector_free);
    MtcnnTest::TearDown ();
  }

  std::vector<RgbImage> faces;
  FvDetector *det = nullptr;
};

// full-scan-interval=1 is the element before tracking: every run is a
// full detect (the library's faces exactly) and every face a new id.
TEST_F (MtcnnTrackTest, IntervalOneIsAFullDetectEveryFrame)
{
  Start (640, 360, { "full-scan-interval=1" });
  std::set<int> ids;
  for (int i = 0; i < 4; i++) {
    RgbImage img = Scene ({ {0, 60 + 7 * i, 40 + 3 * i}, {1, 380 - 5 * i,
                80} });
    std::vector<FvDetection> want = Detect (img);
    std::vector<Roi> got = Push (img);
    ASSERT_EQ (want.size (), got.size ());
    ASSERT_GE (got.size (), 2u);
    for (size_t k = 0; k < got.size (); k++) {
      EXPECT_EQ (got[k].x, (guint) floor (std::max (want[k].x1, 0.0f)));
      EXPECT_EQ (got[k].y, (guint) floor (std::max (want[k].y1, 0.0f)));
      EXPECT_NEAR (got[k].conf, want[k].score, 1e-6);
      EXPECT_TRUE (ids.insert (got[k].id).second) << "id reused";
    }
  }
}

// Between full scans the faces are tracked: found on every frame where a
// full detect finds them, with the same ROI id throughout (also across
// the full scan on the 5th run), frames-ago 0.
TEST_F (MtcnnTrackTest, TrackedFacesKeepTheirIds)
{
  Start (640, 360, { "full-scan-interval=5" });
  std::vector<int> first;
  for (int i = 0; i < 7; i++) {
    SCOPED_TRACE ("frame " + std::to_string (i));
    RgbImage img = Scene ({ {0, 60 + 6 * i, 40 + 2 * i}, {1, 380 - 4 * i,
                80 + 3 * i} });
    std::vector<FvDetection> want = Detect (img);
    std::vector<Roi> got = Push (img);
    ASSERT_EQ (want.size (), got.size ());
    // the ids of the faces from left to right
    std::sort (want.begin (), want.end (),
        [](const FvDetection &a, const FvDetection &b) { return a.x1 < b.x1; });
    std::vector<int> ids;
    for (const FvDetection &w : want) {
      const Roi *best = nullptr;
      for (const Roi &r : got)
        if (!best || IouWith (r, w) > IouWith (*best, w))
          best = &r;
      ASSERT_NE (best, nullptr);
      EXPECT_GT (IouWith (*best, w), 0.7f);
      EXPECT_EQ (best->frames_ago, 0u);
      ids.push_back (best->id);
    }
    if (i == 0)
      first = ids;
    EXPECT_EQ (first, ids);
  }
}

// A tracked face that is not found again makes the element search the
// whole frame at once: a face that jumped is found on the same frame, and
// a face that left is gone while the other keeps its id.
TEST_F (MtcnnTrackTest, LostFaceMeansAFullScanOnTheSameFrame)
{
  Start (640, 360, { "full-scan-interval=100" });
  std::vector<Roi> a = Push (Scene ({ {0, 40, 40}, {1, 400, 60} }));
  ASSERT_EQ (a.size (), 2u);
  RgbImage jumped = Scene ({ {0, 230, 120}, {1, 400, 60} });
  std::vector<FvDetection> want = Detect (jumped);
  std::vector<Roi> b = Push (jumped);
  ASSERT_EQ (b.size (), want.size ());
  for (const FvDetection &w : want) {
    bool found = false;
    for (const Roi &r : b)
      found |= IouWith (r, w) > 0.7f;
    EXPECT_TRUE (found) << w.x1 << "," << w.y1;
  }
  std::vector<Roi> c = Push (Scene ({ {1, 402, 61} }));
  ASSERT_EQ (c.size (), 1u);
  int kept = 0;
  for (const Roi &r : b)
    if (r.x > 320)
      kept = r.id;
  EXPECT_EQ (c[0].id, kept);
  EXPECT_EQ (Push (Scene ({})).size (), 0u);
}

// A face that appears is reported within full-scan-interval frames, with
// faces tracked already and in an empty scene.
TEST_F (MtcnnTrackTest, NewFaceIsFoundWithinTheInterval)
{
  const int n = 4;
  Start (640, 360, { "full-scan-interval=4" });
  for (bool others : { true, false }) {
    SCOPED_TRACE (others ? "beside a tracked face" : "in an empty scene");
    // run the element into the middle of its cycle first
    for (int i = 0; i < 2; i++)
      Push (others ? Scene ({ {0, 40, 40} }) : Scene ({}));
    int seen_at = -1;
    for (int i = 0; i < n && seen_at < 0; i++) {
      std::vector<Roi> r = Push (others ? Scene ({ {0, 40, 40}, {1, 400,
                      60} }) : Scene ({ {1, 400, 60} }));
      for (const Roi &x : r)
        if (x.x > 320)
          seen_at = i;
    }
    EXPECT_GE (seen_at, 0) << "not found within " << n << " frames";
    Push (Scene ({}));
    Push (Scene ({}));
  }
}

// The full scans so far (the read-only n-full-scans).
static guint64
FullScans (GstHarness *h)
{
  guint64 n = 0;
  g_object_get (h->element, "n-full-scans", &n, NULL);
  return n;
}

// With the default full-scan-interval a face that walks in is reported on
// the frame where it appears, whatever the phase of the interval: in an
// empty scene and beside a tracked face (the scene-change gate).
TEST_F (MtcnnTrackTest, NewFaceIsReportedOnTheFrameItAppears)
{
  Start (640, 360);
  for (bool others : { false, true }) {
    for (int before : { 2, 3 }) {
      SCOPED_TRACE ((others ? "beside a tracked face, " : "empty scene, ")
          + std::to_string (before) + " frames before");
      for (int i = 0; i < before; i++)
        Push (others ? Scene ({ {0, 40, 40} }) : Scene ({}));
      guint64 scans = FullScans (h);
      std::vector<Roi> r = Push (others ? Scene ({ {0, 40, 40}, {1, 400,
                      60} }) : Scene ({ {1, 400, 60} }));
      bool seen = false;
      for (const Roi &x : r)
        seen |= x.x > 320;
      EXPECT_TRUE (seen);
      EXPECT_EQ (FullScans (h), scans + 1);
      // leave the scene empty, then start over on a full scan
      Push (Scene ({}));
      Push (Scene ({}));
      for (int i = 0; i < 5 && FullScans (h) == scans + 1; i++)
        Push (Scene ({}));
    }
  }
}

// @img with Gaussian noise of @sigma levels added (its own on each call).
static RgbImage
Noisy (RgbImage img, std::mt19937 &rng, double sigma)
{
  std::normal_distribution<double> noise (0.0, sigma);
  for (guint8 &v : img.data)
    v = (guint8) std::clamp (v + noise (rng), 0.0, 255.0);
  return img;
}

// Sensor noise on a still scene (sigma 4 levels) and a slow change of the
// light (1 level a frame) are no change of the scene: only the periodic
// full scans run (every 5th), with a face tracked and in an empty scene.
TEST_F (MtcnnTrackTest, NoiseAndSlowLightAreNoChange)
{
  Start (640, 360);
  std::mt19937 rng (7);
  for (bool face : { true, false }) {
    SCOPED_TRACE (face ? "one face" : "empty scene");
    guint64 scans = FullScans (h);
    RgbImage still = face ? Scene ({ {0, 200, 60} }) : Scene ({});
    // three noisy copies in turn keep the test fast under sanitizers
    std::vector<RgbImage> noisy;
    for (int i = 0; i < 3; i++)
      noisy.push_back (Noisy (still, rng, 4.0));
    for (int i = 0; i < 10; i++) {
      std::vector<Roi> r = Push (noisy[i % 3]);
      EXPECT_EQ (r.size (), face ? 1u : 0u);
    }
    EXPECT_EQ (FullScans (h), scans + 2) << "noise";
    scans = FullScans (h);
    for (int i = 0; i < 10; i++) {
      RgbImage lit = still;
      for (guint8 &v : lit.data)
        v = (guint8) std::min (v + i + 1, 255);
      Push (lit);
    }
    EXPECT_EQ (FullScans (h), scans + 2) << "light";
  }
}

TEST_F (MtcnnTrackTest, PropertyIsMutableWhilePlaying)
{
  GstElement *e = gst_element_factory_make ("mtcnnfacedetect", NULL);
  GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
      "full-scan-interval");
  ASSERT_NE (p, nullptr);
  EXPECT_TRUE (p->flags & GST_PARAM_MUTABLE_PLAYING);
  EXPECT_EQ (G_PARAM_SPEC_UINT (p)->minimum, 1u);
  gst_object_unref (e);
}

}  // namespace

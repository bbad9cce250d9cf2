// The demo end to end (examples/demo.sh --no-setup, with the photos fetched
// from npm): its summary, its JSON lines and its annotated PNGs.
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gtest/gtest.h>

#include "fv-e2e-test.h"

using namespace fve2e;

namespace {

class DemoTest : public ::testing::Test
{
protected:
  static std::string out_;
  static Result run_;
  static std::string skip_;

  // The demo runs once for all the checks below.
  static void SetUpTestSuite ()
  {
    out_ = fvtest::ScratchDir ("demo-out");
    // the photos first: without the network and without a cached tarball
    // the test skips rather than fails
    Result f = Spawn ({ "bash", Path (SourceDir (),
                "examples/demo/fetch-photos.sh"), Path (out_, "photos") });
    if (f.status != 0) {
      skip_ = "cannot fetch the demo photos (npm, network or cache): " + f.err;
      return;
    }
    run_ = Spawn ({ "bash", Path (SourceDir (), "examples/demo.sh"),
          "--no-setup", "--build", BuildDir (), "--out", out_ });
  }

  void SetUp () override
  {
    if (!skip_.empty ())
      GTEST_SKIP () << skip_;
    std::string model = fvtest::ModelPath ("MobileFaceNet.tflite");
    if (model.empty ())
      GTEST_SKIP () << "models not fetched (models/fetch.sh)";
  }
};

std::string DemoTest::out_;
Result DemoTest::run_;
std::string DemoTest::skip_;

TEST_F (DemoTest, RunsAndPrintsItsSummary)
{
  EXPECT_EQ (run_.status, 0) << run_.out << run_.err;
  EXPECT_NE (run_.out.find ("Summary:"), std::string::npos) << run_.out;
  EXPECT_NE (run_.out.find ("all views"), std::string::npos);
  EXPECT_NE (run_.out.find ("speed:"), std::string::npos);
  std::cout << run_.out;        // the table in the test log
}

TEST_F (DemoTest, EnrolledPeopleAreRecognisedAndOthersAreNot)
{
  auto s = ReadKeyValues (Path (out_, "summary.txt"));
  ASSERT_GT (s.count ("total.enrolled"), 0u) << "no summary.txt";
  // every enrolled face found in the changed views is the right person
  EXPECT_EQ (s["total.wrong"], 0);
  EXPECT_EQ (s["total.missed"], 0);
  EXPECT_EQ (s["total.right"], s["total.enrolled"]);
  // ... and nearly all of them are found (4 views x 10 faces)
  EXPECT_EQ (s["enrolled_expected"], 40);
  EXPECT_GE (s["total.enrolled"], 36);
  // no face of a never-enrolled person, and no other detection, is known
  EXPECT_EQ (s["total.never_known"], 0);
  EXPECT_EQ (s["total.other_known"], 0);
  EXPECT_EQ (s["total.never_unknown"], s["total.never"]);
  for (const char *view : { "mirror", "small-dark", "mirror-bright-pale",
          "grey-low-contrast" }) {
    std::string v = view;
    EXPECT_EQ (s[v + ".shots"], 6) << view;
    EXPECT_GE (s[v + ".enrolled"], 8) << view;
    // the never-enrolled people were really looked at in every view
    EXPECT_GE (s[v + ".never"], 8) << view;
  }
  // Frame by frame: no face is ever given a wrong or a borrowed identity,
  // not even on the first frame after a cut (where the tracker sees a new
  // face in an old face's place), and misses happen only on a shot's first
  // frame.
  EXPECT_EQ (s["per_frame.errors_after_first_frame"], 0);
  EXPECT_EQ (s["per_frame.wrong"], 0);
  EXPECT_EQ (s["per_frame.called-known"], 0);
  EXPECT_EQ (s["frames"], 96);
  EXPECT_GT (s["fps"], 0);
}

TEST_F (DemoTest, WritesOneJsonLinePerFacePerFrame)
{
  auto s = ReadKeyValues (Path (out_, "summary.txt"));
  auto lines = Lines (ReadText (Path (out_, "faces.jsonl")));
  ASSERT_GT (lines.size (), 96u);
  EXPECT_EQ ((double) lines.size (), s["face_records"]);
  EXPECT_EQ ((double) lines.size (), s["total.detections"]);
  for (const auto &l : lines) {
    ASSERT_EQ (l.front (), '{') << l;
    ASSERT_EQ (l.back (), '}') << l;
    ASSERT_NE (l.find ("\"frame\": "), std::string::npos) << l;
    ASSERT_NE (l.find ("\"label\": "), std::string::npos) << l;
    ASSERT_NE (l.find ("\"similarity\": "), std::string::npos) << l;
    ASSERT_NE (l.find ("\"box\": ["), std::string::npos) << l;
  }
}

// faceverifypublish in the demo's pipeline: one event per line, each
// track appears and leaves once, and enrolled people are identified.
TEST_F (DemoTest, PublishesTrackEventsAsJsonLines)
{
  auto lines = Lines (ReadText (Path (out_, "events.jsonl")));
  ASSERT_FALSE (lines.empty ());
  int appeared = 0, left = 0, known = 0;
  for (const auto &l : lines) {
    ASSERT_EQ (l.front (), '{') << l;
    ASSERT_EQ (l.back (), '}') << l;
    ASSERT_NE (l.find ("\"schema\":\"gst-faceverify/event/1\""),
        std::string::npos) << l;
    ASSERT_NE (l.find ("\"camera\":\"demo\""), std::string::npos) << l;
    appeared += l.find ("\"event\":\"appeared\"") != std::string::npos;
    left += l.find ("\"event\":\"left\"") != std::string::npos;
    known += l.find ("\"event\":\"identified\"") != std::string::npos
        && l.find ("\"known\":true") != std::string::npos;
  }
  EXPECT_GT (appeared, 0);
  EXPECT_EQ (appeared, left);
  EXPECT_GT (known, 0);
}

// Pixels of an RGB(A) pixbuf equal to @rgb.
static int
CountRgb (GdkPixbuf *pb, guint8 r, guint8 g, guint8 b)
{
  int n = 0, nc = gdk_pixbuf_get_n_channels (pb);
  int rs = gdk_pixbuf_get_rowstride (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  for (int y = 0; y < gdk_pixbuf_get_height (pb); y++)
    for (int x = 0; x < gdk_pixbuf_get_width (pb); x++) {
      const guint8 *p = px + (gsize) y * rs + x * nc;
      n += p[0] == r && p[1] == g && p[2] == b;
    }
  return n;
}

TEST_F (DemoTest, WritesAnnotatedFrames)
{
  std::string frames = Path (out_, "frames");
  int n = 0;
  GDir *dir = g_dir_open (frames.c_str (), 0, NULL);
  ASSERT_NE (dir, nullptr);
  while (const char *name = g_dir_read_name (dir))
    n += g_str_has_suffix (name, ".png");
  g_dir_close (dir);
  EXPECT_EQ (n, 24);            // one per shot

  // sample1 mirrored shows two enrolled people and one never enrolled:
  // boxes and labels in the known (green) and unknown (red) colours
  GError *err = NULL;
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (Path (frames,
          "00-mirror-sample1.png").c_str (), &err);
  ASSERT_NE (pb, nullptr) << err->message;
  EXPECT_EQ (gdk_pixbuf_get_width (pb), 960);
  EXPECT_EQ (gdk_pixbuf_get_height (pb), 720);
  EXPECT_GT (CountRgb (pb, 0x00, 0xc8, 0x50), 1000);
  EXPECT_GT (CountRgb (pb, 0xf0, 0x30, 0x30), 500);
  g_object_unref (pb);

  GStatBuf st;
  ASSERT_EQ (g_stat (Path (out_, "annotated.avi").c_str (), &st), 0);
  EXPECT_GT (st.st_size, 1000000);
}

}  // namespace

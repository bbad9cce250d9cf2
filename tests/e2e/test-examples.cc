// The examples of examples/ run as a user runs them, on the shared clip
// (deepface person01, 04, 06, 11; the gallery knows person01 and person04
// from other photos): the C programs (built by meson), the C build line
// with pkg-config, the Python bus/enroll app, and the gst-launch scripts.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "fv-e2e-test.h"

using namespace fve2e;

namespace {

const char *kClip = "data/video/clip_mjpeg.avi";

class ExamplesTest : public ::testing::Test
{
protected:
  std::string gallery_;
  std::string model_;

  void SetUp () override
  {
    FV_SKIP_WITHOUT_SHARED (kClip);
    model_ = fvtest::ModelPath ("MobileFaceNet.tflite");
    if (model_.empty ())
      GTEST_SKIP () << "models not fetched (models/fetch.sh)";
    gallery_ = Path (fvtest::ScratchDir ("examples"), "clip.db");
    std::string why;
    ASSERT_TRUE (MakeClipGallery (gallery_, &why)) << why;
  }

  std::string ClipPipeline (const std::string &gallery)
  {
    return "filesrc location=\"" + fvtest::SharedPath (kClip)
        + "\" ! avidemux ! jpegdec ! videoconvert ! mtcnnfacedetect ! "
        "faceverify gallery-file=\"" + gallery + "\"";
  }
};

// How many output lines contain every one of @parts.
static int
CountLines (const std::string &text, std::initializer_list<const char *> parts)
{
  int n = 0;
  for (const auto &l : Lines (text)) {
    bool all = true;
    for (const char *p : parts)
      all = all && l.find (p) != std::string::npos;
    n += all;
  }
  return n;
}

TEST_F (ExamplesTest, CPrintIdentities)
{
  Result r = Spawn ({ FV_EXAMPLE_PRINT, ClipPipeline (gallery_) });
  ASSERT_EQ (r.status, 0) << r.out << r.err;
  EXPECT_NE (r.out.find ("90 frames"), std::string::npos) << r.out;
  // 2 s of each person at 10 fps: most frames name them
  EXPECT_GE (CountLines (r.out, { "person01 (known" }), 15) << r.out;
  EXPECT_GE (CountLines (r.out, { "person04 (known" }), 15) << r.out;
  // person06 and person11 were never enrolled
  EXPECT_GE (CountLines (r.out, { "unknown (unknown" }), 30) << r.out;
  EXPECT_EQ (CountLines (r.out, { "(known" }),
      CountLines (r.out, { "person01 (known" })
      + CountLines (r.out, { "person04 (known" }));
}

TEST_F (ExamplesTest, CJsonLinesAreValidJson)
{
  // a label that needs escaping in JSON
  std::string g = Path (fvtest::ScratchDir ("examples"), "quotes.db");
  RemoveGallery (g);
  const char *cli = g_getenv ("FV_FACEVERIFY");
  Result e = Spawn ({ cli ? cli : "faceverify", "enroll", "--gallery", g,
        "--label", "o\"brien\\1",
        fvtest::SharedPath ("data/faces/deepface/raw/person01/img1.jpg"),
        fvtest::SharedPath ("data/faces/deepface/raw/person01/img2.jpg") });
  ASSERT_EQ (e.status, 0) << e.out << e.err;

  std::string out = Path (fvtest::ScratchDir ("examples"), "faces.jsonl");
  g_unlink (out.c_str ());
  Result r = Spawn ({ FV_EXAMPLE_JSONL, "-o", out, ClipPipeline (g) });
  ASSERT_EQ (r.status, 0) << r.out << r.err;
  auto lines = Lines (ReadText (out));
  // about one face in each of the 80 frames after the grey second
  EXPECT_GE (lines.size (), 70u);
  EXPECT_LE (lines.size (), 90u);
  EXPECT_GE (CountLines (ReadText (out), { "\"label\": \"o\\\"brien\\\\1\"",
              "\"known\": true" }), 15);

  // every line parses as JSON with the documented fields (Python's json;
  // skipped where there is no python3)
  if (!Exists (FV_PYTHON))
    GTEST_SKIP () << FV_PYTHON << " not found: JSON not parsed";
  Result p = Spawn ({ FV_PYTHON, "-c",
        "import json, sys\n"
        "keys = {'frame', 'pts', 'roi_id', 'track_id', 'label', 'label_id',\n"
        "        'known', 'similarity', 'margin', 'frames_ago', 'aligned',\n"
        "        'box', 'landmarks'}\n"
        "n = 0\n"
        "for line in open(sys.argv[1], encoding='utf-8'):\n"
        "    r = json.loads(line)\n"
        "    assert set(r) == keys, r\n"
        "    assert len(r['box']) == 4 and len(r['landmarks']) in (0, 5), r\n"
        "    n += r['label'] == 'o\"brien\\\\1'\n"
        "print(n)\n", out });
  ASSERT_EQ (p.status, 0) << p.out << p.err;
  EXPECT_GE (std::stoi (p.out), 15);
}

#ifndef FV_SANITIZED
// The build line of the examples' comments, with the uninstalled
// pkg-config file of this build tree.
TEST_F (ExamplesTest, CExamplesBuildWithPkgConfig)
{
  if (!Exists ("/usr/bin/cc") || !Exists ("/usr/bin/pkg-config"))
    GTEST_SKIP () << "no cc or pkg-config";
  std::string dir = fvtest::ScratchDir ("examples");
  for (const char *name : { "fv-print-identities", "fv-jsonl" }) {
    std::string cmd = std::string ("cc -o '") + Path (dir, name) + "' '"
        + Path (SourceDir (), std::string ("examples/c/") + name + ".c")
        + "' $(pkg-config --cflags --libs gstreamer-1.0 "
        "gstfaceverifymeta-1.0)";
    Result r = Spawn ({ "sh", "-c", cmd }, { "PKG_CONFIG_PATH=" + Path
          (BuildDir (), "meson-uninstalled") });
    EXPECT_EQ (r.status, 0) << cmd << "\n" << r.out << r.err;
    EXPECT_TRUE (Exists (Path (dir, name)));
  }
}

// The Python app enrolls the first face through the "enroll" action signal
// and then sees it known; nobody else is known.
TEST_F (ExamplesTest, PythonEnrollsThroughTheActionSignal)
{
  if (!Exists (FV_PYTHON))
    GTEST_SKIP () << FV_PYTHON << " not found";
  std::string g = Path (fvtest::ScratchDir ("examples"), "python.db");
  RemoveGallery (g);
  Result r = Spawn ({ FV_PYTHON, Path (SourceDir (),
            "examples/python/fv-enroll-on-bus.py"), "--gallery", g,
        "--enroll", "person01", fvtest::SharedPath (kClip) });
  ASSERT_EQ (r.status, 0) << r.out << r.err;
  EXPECT_NE (r.out.find ("enrolled person01 at 1."), std::string::npos)
      << r.out;
  // person01 is on screen from 1 s to 3 s (two photos): known in most of
  // those 20 frames, and nobody else is ever known
  size_t at = r.out.find ("known in frames: person01 ");
  ASSERT_NE (at, std::string::npos) << r.out;
  std::string rest = r.out.substr (at + 26);
  EXPECT_GE (std::stoi (rest), 15) << r.out;
  EXPECT_EQ (rest.find (','), std::string::npos) << "someone else known: "
      << r.out;
  EXPECT_TRUE (Exists (g));
}

// examples/gst-launch/file.sh on the clip, writing the annotated video.
TEST_F (ExamplesTest, GstLaunchOnAFile)
{
  std::string out = Path (fvtest::ScratchDir ("examples"), "file-out.avi");
  g_unlink (out.c_str ());
  Result r = Spawn ({ "bash",
        Path (SourceDir (), "examples/gst-launch/file.sh"),
        fvtest::SharedPath (kClip), gallery_, out });
  ASSERT_EQ (r.status, 0) << r.out << r.err;
  GStatBuf st;
  ASSERT_EQ (g_stat (out.c_str (), &st), 0);
  EXPECT_GT (st.st_size, 100000);
  EXPECT_NE (r.err.find ("+ gst-launch-1.0 -e filesrc"), std::string::npos);
}
#endif

// The camera and RTSP scripts need a device or a server; their pipelines
// are checked to build (every element exists, every link is possible).
TEST_F (ExamplesTest, CameraAndRtspPipelinesParse)
{
  struct
  {
    const char *script;
    std::vector<std::string> args;
  } scripts[] = {
    { "examples/gst-launch/camera.sh", { gallery_, "/dev/video7" } },
    { "examples/gst-launch/rtsp.sh", { "rtsp://127.0.0.1:8554/none",
            gallery_ } },
  };
  for (const auto &s : scripts) {
    std::vector<std::string> argv = { "bash", Path (SourceDir (), s.script) };
    argv.insert (argv.end (), s.args.begin (), s.args.end ());
    Result r = Spawn (argv, { "FV_PRINT_PIPELINE=1" });
    ASSERT_EQ (r.status, 0) << s.script << ": " << r.err;
    std::string desc = r.out.substr (0, r.out.find ('\n'));
    EXPECT_NE (desc.find ("faceverifyoverlay"), std::string::npos) << desc;
    GError *err = NULL;
    GstElement *p = gst_parse_launch (desc.c_str (), &err);
    EXPECT_NE (p, nullptr) << desc << ": " << (err ? err->message : "");
    EXPECT_EQ (err, nullptr) << desc << ": " << err->message;
    g_clear_error (&err);
    if (p)
      gst_object_unref (p);
  }
}

}  // namespace

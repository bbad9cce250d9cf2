// `faceverify detect`, `faceverify embed` on photos and `faceverify bench
// --detector`, run as a separate process ($FV_FACEVERIFY) on photos of
// ../shared/data/faces and on images generated in the build folder.
#include <cmath>
#include <cstring>
#include <sstream>

#include <sys/wait.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "fv-test-util.h"

namespace {

struct RunResult {
  int status = -1;
  std::string out, err;
};

RunResult
RunTool (const std::vector<std::string> &args)
{
  RunResult r;
  const char *tool = g_getenv ("FV_FACEVERIFY");
  EXPECT_NE (nullptr, tool) << "FV_FACEVERIFY is not set";
  if (!tool)
    return r;
  std::vector<char *> argv;
  argv.push_back ((char *) tool);
  for (const auto &a : args)
    argv.push_back ((char *) a.c_str ());
  argv.push_back (nullptr);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int wait = 0;
  EXPECT_TRUE (g_spawn_sync (NULL, argv.data (), NULL, G_SPAWN_DEFAULT, NULL,
          NULL, &out, &err, &wait, &error)) << (error ? error->message : "");
  r.out = out ? out : "";
  r.err = err ? err : "";
  r.status = g_spawn_check_wait_status (wait, NULL) ? 0
      : WIFEXITED (wait) ? WEXITSTATUS (wait) : -1;
  return r;
}

std::vector<std::string>
Lines (const std::string &s)
{
  std::vector<std::string> v;
  std::stringstream ss (s);
  std::string line;
  while (std::getline (ss, line))
    v.push_back (line);
  return v;
}

std::vector<std::string>
Fields (const std::string &line)
{
  std::vector<std::string> v;
  std::stringstream ss (line);
  std::string cell;
  while (std::getline (ss, cell, ','))
    v.push_back (cell);
  return v;
}

std::string
WritePng (const std::string &name, int w, int h, guint8 value)
{
  std::string path = fvtest::ScratchDir ("face-cli") + "/" + name;
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w,
      h);
  gdk_pixbuf_fill (pb, (guint32) value << 24 | (guint32) value << 16
      | (guint32) value << 8 | 0xff);
  EXPECT_TRUE (gdk_pixbuf_save (pb, path.c_str (), "png", NULL, NULL));
  return path;
}

const char kHeader[] = "path,x1,y1,x2,y2,score,left_eye_x,left_eye_y,"
    "right_eye_x,right_eye_y,nose_x,nose_y,mouth_left_x,mouth_left_y,"
    "mouth_right_x,mouth_right_y,quality,quality_reason";

}  // namespace

TEST (FaceCli, DetectPrintsBoxesLandmarksAndWritesCrops)
{
  FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
  FV_SKIP_WITHOUT_SHARED ("data/faces/deepface/raw/person05/img59.jpg");
  std::string one = fvtest::SharedPath
      ("data/faces/deepface/raw/person01/img10.jpg");
  std::string group = fvtest::SharedPath
      ("data/faces/deepface/raw/person05/img59.jpg");
  std::string dir = fvtest::ScratchDir ("face-cli") + "/crops";
  // --force: the folder stays between runs; the crops of the last run are
  // replaced (a new crop is never written over an existing file without).
  RunResult r = RunTool ({"detect", "--align-out", dir, "--force", one,
      group});
  ASSERT_EQ (0, r.status) << r.err;
  auto lines = Lines (r.out);
  ASSERT_GE (lines.size (), 3u);
  EXPECT_EQ (kHeader, lines[0]);
  auto f = Fields (lines[1]);
  ASSERT_EQ (18u, f.size ());
  EXPECT_EQ (one, f[0]);
  // The reference box of img10 is 93.0,93.1 - 305.8,385.5.
  EXPECT_NEAR (93.0, std::atof (f[1].c_str ()), 10);
  EXPECT_NEAR (385.5, std::atof (f[4].c_str ()), 15);
  EXPECT_GT (std::atof (f[5].c_str ()), 0.9);
  // a sharp frontal portrait: full quality
  EXPECT_GT (std::atof (f[16].c_str ()), 0.9);
  EXPECT_EQ ("ok", f[17]);
  for (size_t i = 2; i < lines.size (); i++)
    EXPECT_EQ (group, Fields (lines[i])[0]);

  g_autofree char *crop = g_build_filename (dir.c_str (), "img10_0.png",
      NULL);
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (crop, NULL);
  ASSERT_NE (nullptr, pb) << crop;
  EXPECT_EQ (112, gdk_pixbuf_get_width (pb));
  EXPECT_EQ (112, gdk_pixbuf_get_height (pb));
  g_autofree char *second = g_build_filename (dir.c_str (), "img59_1.png",
      NULL);
  EXPECT_TRUE (g_file_test (second, G_FILE_TEST_EXISTS));
}

TEST (FaceCli, EmbedPhotosMatchesEmbedAlignedOfTheCrop)
{
  FV_SKIP_WITHOUT_MODEL (m, "MobileFaceNet.tflite");
  FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
  FV_SKIP_WITHOUT_SHARED ("data/faces/openface/raw/adams/adams.jpg");
  std::string photo = fvtest::SharedPath
      ("data/faces/openface/raw/adams/adams.jpg");
  std::string none = WritePng ("flat.png", 200, 150, 128);
  std::string dir = fvtest::ScratchDir ("face-cli") + "/adams";

  RunResult e = RunTool ({"embed", photo, none});
  ASSERT_EQ (0, e.status) << e.err;
  auto lines = Lines (e.out);
  ASSERT_EQ (2u, lines.size ()) << "header + one line; none for flat.png";
  EXPECT_EQ (0u, lines[0].rfind ("path,e0,e1,", 0));
  auto f = Fields (lines[1]);
  ASSERT_EQ (194u, f.size ());
  EXPECT_EQ (photo, f[0]);
  // the last column is the face quality
  EXPECT_NE (std::string::npos, lines[0].find (",e191,quality"));
  EXPECT_GT (std::atof (f[193].c_str ()), 0.5);
  EXPECT_NE (std::string::npos, e.err.find ("flat.png")) << e.err;
  EXPECT_NE (std::string::npos, e.err.find ("no face")) << e.err;

  // The crop that `detect --align-out` writes, embedded with --aligned,
  // gives the same vector (PNG is lossless).
  RunResult d = RunTool ({"detect", "--align-out", dir, "--force", photo});
  ASSERT_EQ (0, d.status) << d.err;
  g_autofree char *crop = g_build_filename (dir.c_str (), "adams_0.png",
      NULL);
  RunResult a = RunTool ({"embed", "--aligned", crop});
  ASSERT_EQ (0, a.status) << a.err;
  auto g = Fields (Lines (a.out).at (1));
  ASSERT_EQ (194u, g.size ());
  double dot = 0, norm = 0;
  for (size_t i = 1; i < 193; i++) {
    double x = std::atof (f[i].c_str ()), y = std::atof (g[i].c_str ());
    dot += x * y;
    norm += x * x;
  }
  EXPECT_NEAR (1.0, norm, 1e-4);
  EXPECT_GE (dot, 0.9999);
}

TEST (FaceCli, BadImages)
{
  FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
  FV_SKIP_WITHOUT_MODEL (m, "MobileFaceNet.tflite");
  std::string tiny = WritePng ("tiny.png", 1, 1, 20);
  std::string small = WritePng ("small.png", 11, 11, 200);
  std::string flat = WritePng ("flat.png", 640, 480, 90);
  std::string missing = fvtest::ScratchDir ("face-cli") + "/missing.jpg";

  RunResult r = RunTool ({"detect", tiny, small, flat});
  EXPECT_EQ (0, r.status) << r.err;
  EXPECT_EQ (1u, Lines (r.out).size ()) << r.out;
  EXPECT_EQ (3u, Lines (r.err).size ()) << r.err;

  r = RunTool ({"detect", missing, flat});
  EXPECT_EQ (1, r.status);
  EXPECT_NE (std::string::npos, r.err.find ("missing.jpg")) << r.err;

  r = RunTool ({"embed", tiny, missing});
  EXPECT_EQ (1, r.status);
  EXPECT_EQ (1u, Lines (r.out).size ());

  r = RunTool ({"detect"});
  EXPECT_EQ (2, r.status);
  r = RunTool ({"detect", "--min-face-size", "5", flat});
  EXPECT_EQ (2, r.status);
}

// enroll --min-quality: a sharp frontal photo of person01 and the same
// photo at a third of its size Gaussian-blurred here (sigma 4 px: about
// 2.7 pixels of the 112x112 crop) are enrolled with --min-quality
// 0.5: the blurred one is refused, named with its reason in the summary,
// the sharp one is stored with its real quality. With only the blurred
// photo nothing is enrolled and the exit status is 1.
TEST (FaceCli, EnrollMinQualityRefusesABlurredPhoto)
{
  FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
  FV_SKIP_WITHOUT_MODEL (m, "MobileFaceNet.tflite");
  FV_SKIP_WITHOUT_SHARED ("data/faces/deepface/raw/person01/img1.jpg");
  std::string sharp = fvtest::SharedPath
      ("data/faces/deepface/raw/person01/img1.jpg");
  g_autoptr (GdkPixbuf) raw = gdk_pixbuf_new_from_file (sharp.c_str (), NULL);
  ASSERT_NE (nullptr, raw);
  g_autoptr (GdkPixbuf) third = gdk_pixbuf_scale_simple (raw,
      gdk_pixbuf_get_width (raw) / 3, gdk_pixbuf_get_height (raw) / 3,
      GDK_INTERP_BILINEAR);
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_add_alpha (third, FALSE, 0, 0, 0);
  const int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  const int stride = gdk_pixbuf_get_rowstride (pb);
  std::vector<guint8> rgb ((size_t) w * h * 3);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      memcpy (&rgb[((size_t) y * w + x) * 3], px + (size_t) y * stride + x * 4,
          3);
  std::vector<guint8> blurred = fvtest::GaussianBlurRgb (rgb, w, h, 4.0);
  g_autoptr (GdkPixbuf) bpb = gdk_pixbuf_new_from_data (blurred.data (),
      GDK_COLORSPACE_RGB, FALSE, 8, w, h, w * 3, NULL, NULL);
  std::string dir = fvtest::ScratchDir ("face-cli-quality");
  std::string blurred_path = dir + "/person01-blurred.png";
  ASSERT_TRUE (gdk_pixbuf_save (bpb, blurred_path.c_str (), "png", NULL,
          NULL));
  std::string db = dir + "/quality.db";
  for (const char *suffix : { "", "-wal", "-shm" })
    g_unlink ((db + suffix).c_str ());

  RunResult r = RunTool ({"enroll", "--gallery", db, "--label", "person01",
      "--min-quality", "0.5", sharp, blurred_path});
  ASSERT_EQ (0, r.status) << r.out << r.err;
  EXPECT_NE (std::string::npos, r.out.find ("enrolled 1 sample of 1 "
          "identity")) << r.out;
  EXPECT_NE (std::string::npos, r.out.find ("low quality (blurred): 1"))
      << r.out;
  EXPECT_NE (std::string::npos, r.err.find ("person01-blurred.png: low "
          "quality (blurred)")) << r.err;

  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) e = fv_embedder_new (m.c_str (), &error);
  ASSERT_NE (nullptr, e) << error->message;
  {
    g_autoptr (FvGallery) g = fv_gallery_open (db.c_str (),
        FV_GALLERY_OPEN_READ_ONLY, fv_embedder_get_fingerprint (e),
        fv_embedder_get_dim (e), &error);
    ASSERT_NE (nullptr, g) << error->message;
    g_autoptr (GPtrArray) samples = fv_gallery_get_samples (g, "person01",
        &error);
    ASSERT_NE (nullptr, samples) << error->message;
    ASSERT_EQ (1u, samples->len);
    const FvGallerySampleInfo *s = (const FvGallerySampleInfo *)
        samples->pdata[0];
    // the face quality of the sharp photo, not the detector's score
    EXPECT_GE (s->quality, 0.9f);
    EXPECT_LE (s->quality, 1.0f);
  }

  r = RunTool ({"enroll", "--gallery", db, "--label", "person02",
      "--min-quality", "0.5", blurred_path});
  EXPECT_EQ (1, r.status) << r.out << r.err;
  EXPECT_NE (std::string::npos, r.out.find ("low quality (blurred): 1"))
      << r.out;
  EXPECT_NE (std::string::npos, r.err.find ("nothing was enrolled")) << r.err;

  r = RunTool ({"enroll", "--gallery", db, "--label", "x", "--min-quality",
      "1.5", sharp});
  EXPECT_EQ (2, r.status) << r.err;
}

// A smoke test of the benchmark program (it prints, it does not judge).
TEST (FaceCli, BenchDetectorRuns)
{
  FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
  RunResult r = RunTool ({"bench", "--detector", "--runs", "1", "--warmup",
          "0"});
  ASSERT_EQ (0, r.status) << r.err;
  EXPECT_NE (std::string::npos, r.out.find ("640x480")) << r.out;
  EXPECT_NE (std::string::npos, r.out.find ("1280x720")) << r.out;
}

// Crops are new files: an existing one is kept unless --force, and a
// symlink planted in the folder is never followed, even with --force.
TEST (FaceCli, AlignOutNeverClobbersNorFollowsSymlinks)
{
  FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
  FV_SKIP_WITHOUT_SHARED ("data/faces/deepface/raw/person01/img10.jpg");
  std::string one = fvtest::SharedPath
      ("data/faces/deepface/raw/person01/img10.jpg");
  std::string dir = fvtest::ScratchDir ("face-cli-planted-"
      + std::to_string (getpid ()));
  g_autofree char *crop = g_build_filename (dir.c_str (), "img10_0.png",
      NULL);
  g_autofree char *victim = g_build_filename (dir.c_str (), "victim.txt",
      NULL);
  g_unlink (crop);
  g_file_set_contents (victim, "precious", -1, nullptr);
  ASSERT_EQ (symlink (victim, crop), 0);
  for (const char *force : { "--no-retry", "--force" }) {
    RunResult r = RunTool ({"detect", "--align-out", dir, force, one});
    EXPECT_EQ (1, r.status) << force;
    EXPECT_NE (std::string::npos, r.err.find ("symbolic link")) << r.err;
    g_autofree char *text = nullptr;
    g_file_get_contents (victim, &text, nullptr, nullptr);
    EXPECT_STREQ ("precious", text);
  }
  // An existing regular crop: kept without --force, replaced with it.
  g_unlink (crop);
  g_file_set_contents (crop, "old", -1, nullptr);
  RunResult r = RunTool ({"detect", "--align-out", dir, one});
  EXPECT_EQ (1, r.status);
  EXPECT_NE (std::string::npos, r.err.find ("--force")) << r.err;
  EXPECT_EQ (3u, fvtest::ReadFile (crop).size ());
  r = RunTool ({"detect", "--align-out", dir, "--force", one});
  EXPECT_EQ (0, r.status) << r.err;
  EXPECT_GT (fvtest::ReadFile (crop).size (), 1000u);
  g_unlink (crop);
  g_unlink (victim);
  g_rmdir (dir.c_str ());
}

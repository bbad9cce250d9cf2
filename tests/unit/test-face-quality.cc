// The face quality score (fv_face_quality) on the photos of
// ../shared/data/faces with their reference landmarks (faces.csv): every
// ordinary photo passes the element's default gate, and a blurred, a
// shrunk and a really turned face of one person each score below that
// person's sharp frontal face, naming the right reason.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "fv-test-image.h"
#include "fv-test-util.h"

namespace {

// The faceverify element's default min-quality.
const double kDefaultMinQuality = FV_FACE_QUALITY_DEFAULT_MIN;

struct Image {
  int w = 0, h = 0;
  std::vector<guint8> rgb;
};

bool
LoadImage (const std::string &path, Image * img)
{
  if (!fvtest::LoadRgb (path, &img->w, &img->h, &img->rgb))
    return false;
  return true;
}

Image
Blur (const Image &in, double sigma)
{
  Image out = in;
  out.rgb = fvtest::GaussianBlurRgb (in.rgb, in.w, in.h, sigma);
  return out;
}

// @in scaled by @factor (< 1) with an area filter.
Image
Shrink (const Image &in, double factor)
{
  g_autoptr (GdkPixbuf) src = gdk_pixbuf_new_from_data (in.rgb.data (),
      GDK_COLORSPACE_RGB, FALSE, 8, in.w, in.h, in.w * 3, NULL, NULL);
  Image out;
  out.w = std::max (1, (int) std::lround (in.w * factor));
  out.h = std::max (1, (int) std::lround (in.h * factor));
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_scale_simple (src, out.w, out.h,
      GDK_INTERP_BILINEAR);
  const int stride = gdk_pixbuf_get_rowstride (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  out.rgb.resize ((size_t) out.w * out.h * 3);
  for (int y = 0; y < out.h; y++)
    memcpy (&out.rgb[(size_t) y * out.w * 3], px + (size_t) y * stride,
        (size_t) out.w * 3);
  return out;
}

// One row of faces.csv: the photo and its reference detection.
struct Face {
  std::string source, identity, raw;
  float box[4];                 // x1, y1, x2, y2
  float lm[10];
};

std::vector<Face>
ReadFaces (const std::string &source)
{
  std::vector<Face> faces;
  std::ifstream f (fvtest::SharedPath ("data/faces/" + source +
          "/faces.csv"));
  std::string line;
  std::getline (f, line);
  while (std::getline (f, line)) {
    std::vector<std::string> c;
    std::stringstream ss (line);
    std::string cell;
    while (std::getline (ss, cell, ','))
      c.push_back (cell);
    if (c.size () < 23 || c[13].empty ())
      continue;
    Face face;
    face.source = source;
    face.identity = c[0];
    face.raw = c[1];
    float bx = std::stof (c[9]), by = std::stof (c[10]);
    face.box[0] = bx;
    face.box[1] = by;
    face.box[2] = bx + std::stof (c[11]);
    face.box[3] = by + std::stof (c[12]);
    for (int k = 0; k < 10; k++)
      face.lm[k] = std::stof (c[13 + k]);
    faces.push_back (face);
  }
  return faces;
}

// The quality of @face in @img (coordinates scaled by @scale), crop made
// by the library's one crop rule.
FvFaceQuality
Quality (const Image &img, const Face &face, double scale = 1.0)
{
  g_autoptr (GError) error = NULL;
  const guint8 *planes[1] = { img.rgb.data () };
  gint strides[1] = { img.w * 3 };
  FvFrame frame;
  EXPECT_TRUE (fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, img.w, img.h,
          planes, strides, &error));
  float box[4], lm[10];
  for (int k = 0; k < 4; k++)
    box[k] = (float) (face.box[k] * scale);
  for (int k = 0; k < 10; k++)
    lm[k] = (float) (face.lm[k] * scale);
  g_autoptr (FvAligner) aligner = fv_aligner_new ();
  guint8 crop[112 * 112 * 3];
  gboolean aligned = fv_aligner_crop_face (aligner, &frame, box[0], box[1],
      box[2], box[3], lm, crop, 112 * 3);
  FvFaceQuality q;
  fv_face_quality (crop, 112 * 3, box[0], box[1], box[2], box[3],
      aligned ? lm : NULL, img.w, img.h, &q);
  return q;
}

std::string
Describe (const FvFaceQuality &q)
{
  g_autofree char *s = g_strdup_printf ("score %.3f (%s): sharpness %.2f "
      "[lap %.3f] size %.2f [%.0f px] pose %.2f [yaw %.1f roll %.1f] "
      "brightness %.2f [%.0f] contrast %.2f [%.1f] edge %.2f [%.2f]",
      q.score, fv_face_quality_reason_to_string (q.reason), q.sharpness,
      q.laplacian_ratio, q.size, q.face_size, q.pose, q.yaw, q.roll,
      q.brightness, q.mean, q.contrast, q.stddev, q.edge, q.visible);
  return s;
}

class FaceQuality : public ::testing::Test {
 protected:
  void SetUp () override {
    if (!fvtest::HaveShared ("data/faces/deepface/faces.csv"))
      GTEST_SKIP () << "no ../shared/data/faces";
  }
};

TEST (FaceQualityUnit, FlatGreyCropScoresZeroAsLowContrast)
{
  std::vector<guint8> crop (112 * 112 * 3, 128);
  FvFaceQuality q;
  float s = fv_face_quality (crop.data (), 112 * 3, 100, 100, 300, 300,
      NULL, 640, 480, &q);
  EXPECT_EQ (0.0f, s);
  EXPECT_EQ (0.0f, q.laplacian_ratio);
  EXPECT_EQ (FV_FACE_QUALITY_BLURRED, q.reason);
  EXPECT_EQ (0.0f, q.contrast);
  EXPECT_FLOAT_EQ (128.0f, std::round (q.mean));
}

TEST (FaceQualityUnit, BoxOutsideTheFrameIsCut)
{
  std::vector<guint8> crop (112 * 112 * 3);
  for (size_t i = 0; i < crop.size (); i++)
    crop[i] = (guint8) ((i * 7919u) >> 3);      // detail everywhere
  FvFaceQuality in, cut;
  fv_face_quality (crop.data (), 112 * 3, 100, 100, 300, 300, NULL, 640,
      480, &in);
  fv_face_quality (crop.data (), 112 * 3, -120, 100, 80, 300, NULL, 640,
      480, &cut);
  EXPECT_FLOAT_EQ (1.0f, in.edge);
  EXPECT_NEAR (0.4f, cut.visible, 1e-5);
  EXPECT_EQ (0.0f, cut.edge);
  EXPECT_EQ (FV_FACE_QUALITY_CUT, cut.reason);
  EXPECT_STREQ ("cut by the frame edge",
      fv_face_quality_reason_to_string (cut.reason));
  // the template's own landmarks are frontal and level
  const float *t = fv_arcface_template ();
  fv_face_quality (crop.data (), 112 * 3, 0, 0, 112, 112, t, 112, 112, &in);
  EXPECT_NEAR (0.0f, in.yaw, 1.0f);
  EXPECT_NEAR (0.0f, in.roll, 1.0f);
  EXPECT_FLOAT_EQ (1.0f, in.pose);
}

// Garbage detections (NaN or crossed landmarks, empty or absurd boxes, a
// 0x0 frame) give a score in [0, 1], never a crash or a NaN score.
TEST (FaceQualityUnit, GarbageDetectionsGiveAValidScore)
{
  std::vector<guint8> crop (112 * 112 * 3);
  for (size_t i = 0; i < crop.size (); i++)
    crop[i] = (guint8) ((i * 7919u) >> 3);
  const float nan = std::nanf ("");
  const float nan_lm[10] = { nan, nan, nan, nan, nan, nan, nan, nan, nan,
    nan
  };
  const float crossed[10] = { 70, 50, 40, 50, 56, 70, 70, 90, 40, 90 };
  const float boxes[][4] = { {0, 0, 0, 0}, {50, 50, 10, 10},
  {-1e30f, -1e30f, 1e30f, 1e30f}, {nan, 0, 100, 100}, {0, 0, 1e-20f, 1e-20f}
  };
  for (const auto &b : boxes)
    for (const float *lm : { (const float *) NULL, nan_lm, crossed })
      for (guint fw : { 0u, 640u }) {
        FvFaceQuality q;
        float s = fv_face_quality (crop.data (), 112 * 3, b[0], b[1], b[2],
            b[3], lm, fw, fw, &q);
        EXPECT_TRUE (s >= 0.0f && s <= 1.0f) << s;
        EXPECT_EQ (s, q.score);
      }
  FvFaceQuality q;
  fv_face_quality (crop.data (), 112 * 3, 0, 0, 100, 100, crossed, 640, 480,
      &q);
  EXPECT_EQ (FV_FACE_QUALITY_TURNED, q.reason);
}

// Every photo of the four sources, as it is: ordinary faces pass the
// element's default gate. Prints the spread of each measure (how the
// bounds in src/face/fv-quality.c and the default were chosen).
TEST_F (FaceQuality, OrdinaryPhotosPassTheDefaultGate)
{
  std::vector<float> scores, laps, sizes, yaws, means, stds;
  size_t i = 0;
  for (const char *src : { "deepface", "face_recognition", "faceapi_bbt",
          "openface" }) {
    for (const Face &face : ReadFaces (src)) {
      if (i++ % fvtest::SampleEvery () != 0)
        continue;
      Image img;
      ASSERT_TRUE (LoadImage (fvtest::SharedPath ("data/faces/" +
                  face.source + "/" + face.raw), &img)) << face.raw;
      FvFaceQuality q = Quality (img, face);
      EXPECT_GE (q.score, kDefaultMinQuality) << face.source << "/" <<
          face.raw << ": " << Describe (q);
      scores.push_back (q.score);
      laps.push_back (q.laplacian_ratio);
      sizes.push_back (q.face_size);
      yaws.push_back (std::fabs (q.yaw));
      means.push_back (q.mean);
      stds.push_back (q.stddev);
    }
  }
  auto spread = [](const char *name, std::vector<float> v) {
    std::sort (v.begin (), v.end ());
    printf ("%-16s min %8.3f  p5 %8.3f  median %8.3f  max %8.3f\n", name,
        v.front (), v[v.size () / 20], v[v.size () / 2], v.back ());
  };
  printf ("%zu photos\n", scores.size ());
  spread ("score", scores);
  spread ("laplacian_ratio", laps);
  spread ("face_size", sizes);
  spread ("|yaw|", yaws);
  spread ("mean", means);
  spread ("stddev", stds);
}

// One person (deepface person01, a sharp frontal photo): blurred and
// shrunk copies score lower, for the right reason.
TEST_F (FaceQuality, BlurredAndTinyScoreBelowSharp)
{
  Face face;
  for (const Face &f : ReadFaces ("deepface"))
    if (f.raw == "raw/person01/img1.jpg")
      face = f;
  ASSERT_FALSE (face.raw.empty ());
  Image photo;
  ASSERT_TRUE (LoadImage (fvtest::SharedPath ("data/faces/deepface/" +
              face.raw), &photo));
  // at half size (a 196 px face) the blur stays cheap under the sanitizers
  for (int k = 0; k < 4; k++)
    face.box[k] *= 0.5f;
  for (int k = 0; k < 10; k++)
    face.lm[k] *= 0.5f;
  Image img = Shrink (photo, 0.5);
  FvFaceQuality sharp = Quality (img, face);
  printf ("sharp:   %s\n", Describe (sharp).c_str ());
  EXPECT_GE (sharp.score, 0.9);

  // sigma of 2.5 pixels of the 112x112 crop, in photo pixels
  double eyes = std::hypot (face.lm[2] - face.lm[0], face.lm[3] - face.lm[1]);
  double crop_px = eyes / (73.5318 - 38.2946);
  FvFaceQuality blurred = Quality (Blur (img, 2.5 * crop_px), face);
  printf ("blurred: %s\n", Describe (blurred).c_str ());
  EXPECT_LT (blurred.score, sharp.score - 0.5);
  EXPECT_EQ (FV_FACE_QUALITY_BLURRED, blurred.reason);

  // a face of about 20 pixels
  double factor = 20.0 / sharp.face_size;
  FvFaceQuality tiny = Quality (Shrink (img, factor), face, factor);
  printf ("tiny:    %s\n", Describe (tiny).c_str ());
  EXPECT_LT (tiny.score, sharp.score - 0.5);
  EXPECT_EQ (FV_FACE_QUALITY_TOO_SMALL, tiny.reason);
  // its sharpness is judged at its own resolution: the shrunk face is not
  // called blurred
  EXPECT_GT (tiny.sharpness, 0.9);

  // a small face as in a video (48 px) still passes the default gate
  double small_factor = 48.0 / sharp.face_size;
  FvFaceQuality small = Quality (Shrink (img, small_factor), face,
      small_factor);
  printf ("small:   %s\n", Describe (small).c_str ());
  EXPECT_GE (small.score, kDefaultMinQuality);
  EXPECT_GT (small.score, tiny.score);
}

// A genuinely turned face: faceapi_bbt stuart5 is a real photo of Stuart
// looking far to the side (reference landmarks: the nose next to the
// eye); stuart1 is the same person, frontal. Nothing is synthesised: the
// pose comes from the landmarks of a real turned face.
TEST_F (FaceQuality, TurnedScoresBelowFrontal)
{
  Face frontal, turned;
  for (const Face &f : ReadFaces ("faceapi_bbt")) {
    if (f.raw == "raw/stuart/stuart1.png")
      frontal = f;
    if (f.raw == "raw/stuart/stuart5.png")
      turned = f;
  }
  ASSERT_FALSE (frontal.raw.empty () || turned.raw.empty ());
  Image a, b;
  ASSERT_TRUE (LoadImage (fvtest::SharedPath ("data/faces/faceapi_bbt/" +
              frontal.raw), &a));
  ASSERT_TRUE (LoadImage (fvtest::SharedPath ("data/faces/faceapi_bbt/" +
              turned.raw), &b));
  FvFaceQuality qf = Quality (a, frontal), qt = Quality (b, turned);
  printf ("frontal: %s\nturned:  %s\n", Describe (qf).c_str (),
      Describe (qt).c_str ());
  EXPECT_LT (std::fabs (qf.yaw), 15.0f);
  EXPECT_GT (std::fabs (qt.yaw), 40.0f);
  EXPECT_LT (qt.score, qf.score - 0.3);
  EXPECT_EQ (FV_FACE_QUALITY_TURNED, qt.reason);
}

}  // namespace

// Alignment: the least-squares similarity transform, exact crops where the
// warp is a whole-pixel map, agreement with the shipped aligned crops of
// ../shared/data/faces (embedding cosine >= 0.99 against the reference
// embedding), and bad landmarks / boxes (NaN, absurd, off-frame).
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "fv-test-image.h"
#include "fv-test-util.h"

namespace {

constexpr int kSide = 112;
constexpr size_t kCrop = kSide * kSide * 3;

struct Image {
  int w = 0, h = 0;
  std::vector<guint8> rgb;
  FvFrame frame;

  void Wrap () {
    const guint8 *planes[1] = { rgb.data () };
    gint strides[1] = { w * 3 };
    ASSERT_TRUE (fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes,
            strides, NULL));
  }
};

// Decodes an image file to packed RGB, upright (EXIF orientation applied).
bool
LoadImage (const std::string &path, Image * img)
{
  if (!fvtest::LoadRgb (path, &img->w, &img->h, &img->rgb))
    return false;
  img->Wrap ();
  return true;
}

Image
Gradient (int w, int h)
{
  Image img;
  img.w = w;
  img.h = h;
  img.rgb.resize ((size_t) w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *p = &img.rgb[((size_t) y * w + x) * 3];
      p[0] = (guint8) (x * 255 / std::max (w - 1, 1));
      p[1] = (guint8) (y * 255 / std::max (h - 1, 1));
      p[2] = (guint8) ((x * 7 + y * 13) % 256);
    }
  img.Wrap ();
  return img;
}

bool
AllEqual (const guint8 * crop, guint8 r, guint8 g, guint8 b)
{
  for (size_t i = 0; i < kCrop; i += 3)
    if (crop[i] != r || crop[i + 1] != g || crop[i + 2] != b)
      return false;
  return true;
}

}  // namespace

TEST (FaceAlign, SimilarityRecoversAKnownTransform)
{
  const float *tpl = fv_arcface_template ();
  const double angle = 0.3, scale = 2.5, tx = -40, ty = 17;
  const double a = scale * std::cos (angle), b = scale * std::sin (angle);
  float src[10], m[6];
  for (int i = 0; i < 5; i++) {
    src[2 * i] = a * tpl[2 * i] - b * tpl[2 * i + 1] + tx;
    src[2 * i + 1] = b * tpl[2 * i] + a * tpl[2 * i + 1] + ty;
  }
  // From the template to src: the transform itself.
  ASSERT_TRUE (fv_similarity_estimate (tpl, src, 5, m));
  EXPECT_NEAR (a, m[0], 1e-4);
  EXPECT_NEAR (-b, m[1], 1e-4);
  EXPECT_NEAR (tx, m[2], 1e-3);
  EXPECT_NEAR (b, m[3], 1e-4);
  EXPECT_NEAR (a, m[4], 1e-4);
  EXPECT_NEAR (ty, m[5], 1e-3);

  // Mirrored points cannot be matched by a similarity; the result is
  // still a proper rotation (no reflection): m[0] == m[4], m[1] == -m[3].
  float mirror[10];
  for (int i = 0; i < 5; i++) {
    mirror[2 * i] = 112 - tpl[2 * i];
    mirror[2 * i + 1] = tpl[2 * i + 1];
  }
  ASSERT_TRUE (fv_similarity_estimate (mirror, tpl, 5, m));
  EXPECT_FLOAT_EQ (m[0], m[4]);
  EXPECT_FLOAT_EQ (m[1], -m[3]);

  float same[10] = { 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 };
  EXPECT_FALSE (fv_similarity_estimate (same, tpl, 5, m));
  float bad[10];
  memcpy (bad, tpl, sizeof bad);
  bad[3] = NAN;
  EXPECT_FALSE (fv_similarity_estimate (bad, tpl, 5, m));
  EXPECT_FALSE (fv_similarity_estimate (tpl, bad, 5, m));
}

// Landmarks that are the template scaled by 2 and shifted by whole pixels
// make every crop pixel land on a frame pixel: the crop is those pixels.
TEST (FaceAlign, WholePixelWarpIsExact)
{
  Image img = Gradient (300, 280);
  const float *tpl = fv_arcface_template ();
  g_autoptr (FvAligner) al = fv_aligner_new ();
  std::vector<guint8> crop (kCrop);

  for (int s = 1; s <= 2; s++) {
    float lm[10];
    for (int i = 0; i < 5; i++) {
      lm[2 * i] = s * tpl[2 * i] + 31;
      lm[2 * i + 1] = s * tpl[2 * i + 1] + 17;
    }
    ASSERT_TRUE (fv_aligner_align (al, &img.frame, lm, crop.data (),
            kSide * 3));
    int bad = 0;
    for (int v = 0; v < kSide; v++)
      for (int u = 0; u < kSide; u++)
        for (int c = 0; c < 3; c++)
          bad += crop[(v * kSide + u) * 3 + c] !=
              img.rgb[((17 + s * v) * img.w + 31 + s * u) * 3 + c];
    EXPECT_EQ (0, bad) << "scale " << s;

    // The tensor variant is the same crop as the embedder's input.
    std::vector<float> t (kCrop);
    ASSERT_TRUE (fv_aligner_align_tensor (al, &img.frame, lm, t.data ()));
    double worst = 0;
    for (size_t i = 0; i < kCrop; i++)
      worst = std::max (worst, std::fabs (t[i] - (crop[i] - 127.5) / 128.0));
    EXPECT_LT (worst, 2e-4);
  }
}

// With the landmarks of faces.csv, our crop of each raw photo embeds like
// the shipped aligned crop (reference embedding): cosine >= 0.99.
TEST (FaceAlign, MatchesTheShippedCrops)
{
  FV_SKIP_WITHOUT_MODEL (model, "MobileFaceNet.tflite");
  FV_SKIP_WITHOUT_SHARED ("golden/dev_faces_reference_embeddings.csv");
  FV_SKIP_WITHOUT_SHARED ("data/faces");

  std::map<std::string, std::vector<float>> ref =
      fvtest::ReferenceEmbeddings ();
  ASSERT_GT (ref.size (), 100u);

  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) emb = fv_embedder_new (model.c_str (), &error);
  ASSERT_NE (nullptr, emb) << error->message;
  const guint dim = fv_embedder_get_dim (emb);
  g_autoptr (FvAligner) al = fv_aligner_new ();
  std::vector<guint8> crop (kCrop);
  std::vector<float> e (dim), et (dim), tensor (kCrop);
  static const char *cols[] = { "eye_l_x", "eye_l_y", "eye_r_x", "eye_r_y",
    "nose_x", "nose_y", "mouth_l_x", "mouth_l_y", "mouth_r_x", "mouth_r_y"
  };

  int n = 0, no_ref = 0, below = 0;
  double worst = 2, worst_t = 2, sum = 0, pix_sum = 0;
  std::string worst_name;
  for (const char *source : { "deepface", "face_recognition", "faceapi_bbt",
          "openface"}) {
    std::string dir = fvtest::SharedPath (std::string ("data/faces/") + source);
    size_t k = 0;
    for (auto &row : fvtest::ReadCsv (dir + "/faces.csv")) {
      if (k++ % fvtest::SampleEvery () != 0)
        continue;
      Image img, shipped;
      ASSERT_TRUE (LoadImage (dir + "/" + row["raw"], &img)) << row["raw"];
      ASSERT_TRUE (LoadImage (dir + "/" + row["aligned"], &shipped));
      float lm[10];
      for (int i = 0; i < 10; i++)
        lm[i] = (float) g_ascii_strtod (row[cols[i]].c_str (), NULL);
      ASSERT_TRUE (fv_aligner_align (al, &img.frame, lm, crop.data (),
              kSide * 3)) << row["raw"];
      fv_embedder_embed (emb, crop.data (), kSide * 3, e.data ());
      ASSERT_TRUE (fv_aligner_align_tensor (al, &img.frame, lm,
              tensor.data ()));
      fv_embedder_embed_tensor (emb, 1, tensor.data (), et.data ());

      std::string key = std::string (source) + "/" + row["aligned"];
      if (ref.count (key) == 0) {
        // openface/aligned/carell/carell.png has no reference embedding.
        no_ref++;
        continue;
      }
      double cos = fv_cosine (e.data (), ref[key].data (), dim);
      double cos_t = fv_cosine (et.data (), ref[key].data (), dim);
      // The shipped crops were not made from these raw files (those were
      // scaled to 1024 px and re-encoded), so fine texture differs: an
      // independent cv2.warpAffine crop of the same raw photo with the
      // same landmarks scores 0.9829, 0.9797 and 0.9880 on the three
      // hardest faces, as this code does. Hence: >= 0.99 on 97% of the
      // faces, >= 0.97 on all.
      EXPECT_GE (cos, 0.97) << key;
      EXPECT_GE (cos_t, 0.97) << key;
      if (cos < 0.99) {
        below++;
        printf ("  %s: cosine %.4f\n", key.c_str (), cos);
      }
      double diff = 0;
      for (size_t i = 0; i < kCrop; i++)
        diff += std::abs ((int) crop[i] - (int) shipped.rgb[i]);
      pix_sum += diff / kCrop;
      sum += cos;
      if (cos < worst) {
        worst = cos;
        worst_name = key;
      }
      worst_t = std::min (worst_t, cos_t);
      n++;
    }
  }
  if (fvtest::SampleEvery () == 1) {
    EXPECT_EQ (121, n);
    EXPECT_EQ (1, no_ref);
  }
  EXPECT_GE (n - below, 0.97 * n);
  EXPECT_GE (sum / n, 0.995);
  printf ("alignment vs shipped crops: %d faces, cosine mean %.5f, %d below "
      "0.99, lowest %.5f (%s); tensor path lowest %.5f; mean |pixel diff| "
      "%.3f\n", n, sum / n, below, worst, worst_name.c_str (), worst_t,
      pix_sum / n);
}

TEST (FaceAlign, UnusableLandmarksGiveTheFillColour)
{
  Image img = Gradient (200, 200);
  const float *tpl = fv_arcface_template ();
  g_autoptr (FvAligner) al = fv_aligner_new ();
  fv_aligner_set_fill (al, 10, 20, 30);
  std::vector<guint8> crop (kCrop);
  std::vector<float> tensor (kCrop);

  std::vector<std::vector<float>> cases;
  std::vector<float> good (tpl, tpl + 10);
  for (float v : { NAN, INFINITY, -INFINITY, 1e30f, -3e7f }) {
    std::vector<float> c = good;
    c[4] = v;
    cases.push_back (c);
  }
  cases.push_back (std::vector<float> (10, 50.0f));        // one spot
  std::vector<float> tiny = good;
  for (auto &x : tiny)
    x = 100 + x * 1e-5f;        // eyes a millionth of a pixel apart
  cases.push_back (tiny);
  // Not a face: eyes at the bottom, mouth at the top, nose far away.
  cases.push_back ({ 20, 190, 180, 190, 100, -400, 20, 10, 180, 10 });

  for (size_t i = 0; i < cases.size (); i++) {
    memset (crop.data (), 0x99, kCrop);
    EXPECT_FALSE (fv_aligner_align (al, &img.frame, cases[i].data (),
            crop.data (), kSide * 3)) << "case " << i;
    EXPECT_TRUE (AllEqual (crop.data (), 10, 20, 30)) << "case " << i;
    EXPECT_FALSE (fv_aligner_align_tensor (al, &img.frame, cases[i].data (),
            tensor.data ()));
    EXPECT_FLOAT_EQ ((10 - 127.5f) / 128.0f, tensor[0]);
  }
}

TEST (FaceAlign, FacesOffTheFrame)
{
  Image img = Gradient (200, 150);
  const float *tpl = fv_arcface_template ();
  g_autoptr (FvAligner) al = fv_aligner_new ();
  std::vector<guint8> crop (kCrop);
  float lm[10];

  // Half outside on the left: the left part of the crop is fill (black),
  // the right part is frame.
  for (int i = 0; i < 5; i++) {
    lm[2 * i] = tpl[2 * i] - 56;
    lm[2 * i + 1] = tpl[2 * i + 1] + 10;
  }
  ASSERT_TRUE (fv_aligner_align (al, &img.frame, lm, crop.data (),
          kSide * 3));
  EXPECT_EQ (0, crop[(50 * kSide + 10) * 3 + 2]);
  // Crop (100, 50) shows frame (44, 60).
  EXPECT_EQ (img.rgb[(60 * img.w + 44) * 3 + 2],
      crop[(50 * kSide + 100) * 3 + 2]);

  // Wholly outside: FALSE and all fill.
  for (int i = 0; i < 5; i++) {
    lm[2 * i] = tpl[2 * i] + 5000;
    lm[2 * i + 1] = tpl[2 * i + 1] - 900;
  }
  EXPECT_FALSE (fv_aligner_align (al, &img.frame, lm, crop.data (),
          kSide * 3));
  EXPECT_TRUE (AllEqual (crop.data (), 0, 0, 0));

  // A 1x1 frame works (everything but the middle is fill).
  Image one = Gradient (1, 1);
  for (int i = 0; i < 5; i++) {
    lm[2 * i] = tpl[2 * i] / 112.0f;
    lm[2 * i + 1] = tpl[2 * i + 1] / 112.0f;
  }
  EXPECT_TRUE (fv_aligner_align (al, &one.frame, lm, crop.data (),
          kSide * 3));
}

TEST (FaceAlign, BoxCrops)
{
  Image img = Gradient (400, 300);
  g_autoptr (FvAligner) al = fv_aligner_new ();
  std::vector<guint8> crop (kCrop);

  // A 112-wide box with no margin is a 1:1 copy (box edges are pixel
  // edges: pixel centres at integers, so [9.5, 121.5] covers 10..121).
  ASSERT_TRUE (fv_aligner_crop_box (al, &img.frame, 9.5f, 19.5f, 121.5f,
          131.5f, 0.0f, crop.data (), kSide * 3));
  int bad = 0;
  for (int v = 0; v < kSide; v++)
    for (int u = 0; u < kSide; u++)
      for (int c = 0; c < 3; c++)
        bad += crop[(v * kSide + u) * 3 + c] !=
            img.rgb[((20 + v) * img.w + 10 + u) * 3 + c];
  EXPECT_EQ (0, bad);

  // A tall box becomes a square around its centre: margin 1 doubles it.
  ASSERT_TRUE (fv_aligner_crop_box (al, &img.frame, 150, 50, 200, 106, 1.0f,
          crop.data (), kSide * 3));

  // Partly outside: fill on the outside part.
  fv_aligner_set_fill (al, 1, 2, 3);
  ASSERT_TRUE (fv_aligner_crop_box (al, &img.frame, -100, -100, 50, 50,
          0.0f, crop.data (), kSide * 3));
  EXPECT_EQ (1, crop[0]);
  EXPECT_EQ (3, crop[2]);
  EXPECT_NE (1, crop[(111 * kSide + 111) * 3]);

  // Wholly outside, inverted, empty, not finite, absurd: FALSE + fill.
  const float boxes[][5] = {
    {500, 400, 600, 500, 0}, {-300, -300, -200, -200, 0.2f},
    {100, 100, 50, 150, 0}, {100, 100, 100, 150, 0}, {NAN, 0, 10, 10, 0},
    {0, 0, INFINITY, 10, 0}, {0, 0, 1e9f, 1e9f, 0}, {10, 10, 50, 50, -1},
    {10, 10, 50, 50, NAN},
  };
  for (const auto &b : boxes) {
    memset (crop.data (), 0x42, kCrop);
    EXPECT_FALSE (fv_aligner_crop_box (al, &img.frame, b[0], b[1], b[2],
            b[3], b[4], crop.data (), kSide * 3)) << b[0] << "," << b[2];
    EXPECT_TRUE (AllEqual (crop.data (), 1, 2, 3));
  }
}

// A face region much larger than the scratch limit (1024 px) is
// box-filtered first; on a smooth image the crop still follows the image.
TEST (FaceAlign, HugeRegionsAreDownscaledNotRefused)
{
  Image img = Gradient (3000, 2000);
  g_autoptr (FvAligner) al = fv_aligner_new ();
  std::vector<guint8> crop (kCrop);
  ASSERT_TRUE (fv_aligner_crop_box (al, &img.frame, 100, 100, 2900, 1900,
          0.0f, crop.data (), kSide * 3));
  // Red follows x: at crop column u the frame x is about 100 + 25 * u.
  for (int u = 8; u < kSide - 8; u += 13) {
    double fx = 100 + 2800.0 * (u + 0.5) / kSide - 0.5;
    double want = fx * 255 / 2999;
    EXPECT_NEAR (want, crop[(56 * kSide + u) * 3], 3.0) << u;
  }
  EXPECT_LE (fv_aligner_get_memory_size (al), (gsize) 16 << 20);
}

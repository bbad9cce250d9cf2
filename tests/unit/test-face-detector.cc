// The MTCNN detector and the face pipeline on real photos
// (../shared/data/faces): agreement with the independent reference
// detections (../shared/golden/dev_faces_mtcnn_reference.csv), end-to-end
// verification per source (ROC AUC, best accuracy), and bad input: no
// face, tiny and huge images (bounded memory), other pixel formats.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <libyuv.h>

#include "fv-test-image.h"
#include "fv-test-util.h"

namespace {

const char *const kSources[] = { "deepface", "face_recognition",
  "faceapi_bbt", "openface"
};

struct Image {
  int w = 0, h = 0;
  std::vector<guint8> rgb;
  FvFrame frame;

  void Wrap () {
    const guint8 *planes[1] = { rgb.data () };
    gint strides[1] = { w * 3 };
    g_autoptr (GError) error = NULL;
    ASSERT_TRUE (fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes,
            strides, &error)) << error->message;
  }
};

bool
LoadImage (const std::string &path, Image * img)
{
  if (!fvtest::LoadRgb (path, &img->w, &img->h, &img->rgb))
    return false;
  img->Wrap ();
  return true;
}

double
Iou (const float *a, const float *b)
{
  double w = std::min (a[2], b[2]) - std::max (a[0], b[0]);
  double h = std::min (a[3], b[3]) - std::max (a[1], b[1]);
  if (w <= 0 || h <= 0)
    return 0;
  double i = w * h;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
      - i);
}

long
StatusKb (const char *key)
{
  std::ifstream f ("/proc/self/status");
  std::string line;
  while (std::getline (f, line))
    if (line.rfind (key, 0) == 0)
      return std::atol (line.c_str () + strlen (key));
  return -1;
}

// Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
bool
ResetPeakRss ()
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  if (!f)
    return false;
  bool ok = fputs ("5", f) >= 0;
  return fclose (f) == 0 && ok;
}

struct Photo {
  std::string source, raw;
  std::vector<FvDetection> faces;
  std::vector<float> embedding;         // of the largest face
  bool largest_aligned = false;
};

// Runs the face pipeline over every raw photo once for all tests here.
class FaceData : public ::testing::Test {
 protected:
  static void SetUpTestSuite () {
    if (fvtest::ModelPath ("MobileFaceNet.tflite").empty ()
        || fvtest::ModelPath ("pnet.tflite").empty ()
        || !fvtest::HaveShared ("data/faces/deepface/faces.csv"))
      return;
    g_autoptr (GError) error = NULL;
    FvDetector *det = fv_detector_new (NULL, &error);
    ASSERT_NE (nullptr, det) << error->message;
    FvEmbedder *emb = fv_embedder_new (fvtest::ModelPath
        ("MobileFaceNet.tflite").c_str (), &error);
    ASSERT_NE (nullptr, emb) << error->message;
    g_autoptr (FvFacePipeline) pipe = fv_face_pipeline_new (det, emb, 16);
    const guint dim = fv_embedder_get_dim (emb);
    double ms = 0;

    for (const char *source : kSources) {
      std::string dir = fvtest::SharedPath (std::string ("data/faces/")
          + source);
      std::set<std::string> raws;
      for (auto &row : fvtest::ReadCsv (dir + "/faces.csv"))
        raws.insert (row["raw"]);
      size_t k = 0;
      for (const std::string &raw : raws) {
        if (k++ % fvtest::SampleEvery () != 0)
          continue;
        Image img;
        ASSERT_TRUE (LoadImage (dir + "/" + raw, &img)) << raw;
        Photo p;
        p.source = source;
        p.raw = raw;
        guint n = 0;
        gint64 t0 = g_get_monotonic_time ();
        const FvFace *faces = fv_face_pipeline_process (pipe, &img.frame, &n);
        ms += (g_get_monotonic_time () - t0) / 1000.0;
        // The main face by the library's rule, as the commands take it.
        int best = -1;
        double best_prominence = -1;
        for (guint i = 0; i < n; i++) {
          const FvDetection &d = faces[i].detection;
          p.faces.push_back (d);
          double prominence = fv_detection_prominence (&d, img.w, img.h,
              NULL, NULL);
          if (prominence > best_prominence) {
            best_prominence = prominence;
            best = i;
          }
        }
        if (best >= 0) {
          p.embedding.assign (faces[best].embedding,
              faces[best].embedding + dim);
          p.largest_aligned = faces[best].aligned;
        }
        photos_->push_back (p);
      }
    }
    printf ("face pipeline: %zu photos, %.1f ms per photo (detect + align + "
        "embed)\n", photos_->size (), ms / photos_->size ());
  }

  static void TearDownTestSuite () {
    photos_->clear ();
  }

  void SetUp () override {
    FV_SKIP_WITHOUT_MODEL (m, "MobileFaceNet.tflite");
    FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
    FV_SKIP_WITHOUT_SHARED ("golden/dev_faces_mtcnn_reference.csv");
    FV_SKIP_WITHOUT_SHARED ("data/faces");
    ASSERT_GT (photos_->size (), 100u / fvtest::SampleEvery ());
  }

  // The accuracy figures need every photo: under FV_TEST_SAMPLE_EVERY (the
  // sanitizer tree) they are left to the optimised tree.
  static bool Sampled () {
    return fvtest::SampleEvery () > 1;
  }

  static const Photo *Find (const std::string &source,
      const std::string &raw) {
    for (const Photo &p : *photos_)
      if (p.source == source && p.raw == raw)
        return &p;
    return nullptr;
  }

  static std::vector<Photo> *photos_;
};

std::vector<Photo> *FaceData::photos_ = new std::vector<Photo>;

// Each reference face is found with IoU >= 0.7 and every landmark within
// 5% of the box width on at least 95% of faces; no more than 5% extra.
TEST_F (FaceData, DetectionsMatchTheReference)
{
  if (Sampled ())
    GTEST_SKIP () << "accuracy over every photo: checked in the optimised tree";
  static const char *cols[] = { "x1", "y1", "x2", "y2", "score", "eye_l_x",
    "eye_l_y", "eye_r_x", "eye_r_y", "nose_x", "nose_y", "mouth_l_x",
    "mouth_l_y", "mouth_r_x", "mouth_r_y"
  };
  std::map<std::pair<std::string, std::string>, std::vector<std::vector<float>>>
      ref;
  for (auto &row : fvtest::ReadCsv (fvtest::SharedPath
          ("golden/dev_faces_mtcnn_reference.csv"))) {
    std::vector<float> v;
    for (const char *c : cols)
      v.push_back ((float) g_ascii_strtod (row[c].c_str (), NULL));
    ref[{row["source"], row["raw"]}].push_back (v);
  }

  int n_ref = 0, ok = 0, missed = 0, extra = 0, extra_no_ref = 0, n_ours = 0;
  double iou_sum = 0, lm_sum = 0, lm_worst = 0;
  for (const Photo &p : *photos_) {
    const auto &r = ref[{p.source, p.raw}];
    std::vector<bool> used (p.faces.size (), false);
    n_ours += p.faces.size ();
    for (const auto &rf : r) {
      n_ref++;
      int best = -1;
      double best_iou = 0;
      for (size_t j = 0; j < p.faces.size (); j++) {
        double v = Iou (rf.data (), &p.faces[j].x1);
        if (v > best_iou) {
          best_iou = v;
          best = j;
        }
      }
      if (best < 0) {
        missed++;
        printf ("  missed %s/%s\n", p.source.c_str (), p.raw.c_str ());
        continue;
      }
      used[best] = true;
      const FvDetection &d = p.faces[best];
      double bw = rf[2] - rf[0], err = 0;
      for (int k = 0; k < 5; k++)
        err = std::max (err, std::hypot (rf[5 + 2 * k] - d.landmarks[2 * k],
                rf[6 + 2 * k] - d.landmarks[2 * k + 1]) / bw);
      iou_sum += best_iou;
      lm_sum += err;
      lm_worst = std::max (lm_worst, err);
      if (best_iou >= 0.7 && err <= 0.05)
        ok++;
      else
        printf ("  %s/%s: IoU %.3f, landmark error %.3f of the box width\n",
            p.source.c_str (), p.raw.c_str (), best_iou, err);
    }
    for (size_t j = 0; j < p.faces.size (); j++) {
      if (used[j])
        continue;
      bool overlaps = false;
      for (const auto &rf : r)
        overlaps |= Iou (rf.data (), &p.faces[j].x1) >= 0.5;
      if (!overlaps) {
        extra++;
        extra_no_ref += r.empty ();
        printf ("  extra face in %s/%s: score %.3f%s\n", p.source.c_str (),
            p.raw.c_str (), p.faces[j].score,
            r.empty ()? " (the reference found none in this photo)" : "");
      }
    }
  }
  ASSERT_EQ (129, n_ref);
  printf ("detector vs reference: %d/%d faces within IoU 0.7 + landmarks 5%% "
      "(%.1f%%), %d missed, mean IoU %.3f, mean of max landmark error "
      "%.2f%%, worst %.2f%%; %d detections, %d extra (%.1f%%; %d of them in "
      "photos where the reference found nothing)\n", ok, n_ref,
      100.0 * ok / n_ref, missed, iou_sum / (n_ref - missed),
      100 * lm_sum / (n_ref - missed), 100 * lm_worst, n_ours, extra,
      100.0 * extra / n_ref, extra_no_ref);
  EXPECT_GE (ok, 0.95 * n_ref);
  EXPECT_LE (extra, 0.05 * n_ref);
}

// Pairs of pairs.csv mapped to raw photos, with our own detection and
// alignment of the largest face: ROC AUC >= 0.999 and best accuracy >=
// 0.99 per source, over the pairs whose both photos have a face.
TEST_F (FaceData, EndToEndVerificationPerSource)
{
  if (Sampled ())
    GTEST_SKIP () << "accuracy over every photo: checked in the optimised tree";
  for (const char *source : kSources) {
    std::string dir = fvtest::SharedPath (std::string ("data/faces/")
        + source);
    std::map<std::string, std::string> raw_of;
    for (auto &row : fvtest::ReadCsv (dir + "/faces.csv"))
      raw_of[row["aligned"]] = row["raw"];
    std::vector<std::pair<double, int>> scores;
    int skipped = 0, total = 0;
    for (auto &row : fvtest::ReadCsv (dir + "/pairs.csv")) {
      total++;
      ASSERT_EQ (1u, raw_of.count (row["a"])) << row["a"];
      ASSERT_EQ (1u, raw_of.count (row["b"])) << row["b"];
      const Photo *a = Find (source, raw_of[row["a"]]);
      const Photo *b = Find (source, raw_of[row["b"]]);
      ASSERT_TRUE (a && b);
      if (a->embedding.empty () || b->embedding.empty ()) {
        skipped++;
        continue;
      }
      double cos = fv_cosine (a->embedding.data (), b->embedding.data (),
          a->embedding.size ());
      scores.push_back ({cos, row["same"] == "1"});
    }
    // AUC = P(genuine > impostor), ties count half.
    double pairs = 0, wins = 0;
    for (auto &g : scores)
      for (auto &i : scores)
        if (g.second && !i.second) {
          pairs++;
          wins += g.first > i.first ? 1.0 : g.first == i.first ? 0.5 : 0.0;
        }
    double auc = pairs > 0 ? wins / pairs : 0;
    // Best accuracy over every threshold "same if cos >= t".
    std::sort (scores.begin (), scores.end ());
    int n = scores.size (), pos = 0;
    for (auto &s : scores)
      pos += s.second;
    int best = n - pos, neg_below = 0, pos_below = 0;
    double best_t = scores.empty ()? 0 : scores.back ().first + 1e-6;
    for (int i = 0; i < n; i++) {
      // Threshold at scores[i]: everything from i up is "same".
      int correct = neg_below + (pos - pos_below);
      if (correct > best) {
        best = correct;
        best_t = scores[i].first;
      }
      if (scores[i].second)
        pos_below++;
      else
        neg_below++;
    }
    double acc = n ? (double) best / n : 0;
    printf ("end to end %-16s: %d of %d pairs (%d without a face), ROC AUC "
        "%.4f, best accuracy %.4f at cosine %.3f\n", source, n, total,
        skipped, auc, acc, best_t);
    EXPECT_GE (auc, 0.999) << source;
    EXPECT_GE (acc, 0.99) << source;
    if (strcmp (source, "faceapi_bbt") != 0) {
      EXPECT_EQ (0, skipped) << source;
    }
  }
}

// Photos where the face fills the picture are found by the padded retry.
TEST_F (FaceData, TightCropsNeedThePaddedRetry)
{
  Image img;
  ASSERT_TRUE (LoadImage (fvtest::SharedPath
          ("data/faces/faceapi_bbt/raw/howard/howard5.png"), &img));
  FvDetectorOptions o;
  fv_detector_options_init (&o);
  o.retry_padded = FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) plain = fv_detector_new (&o, &error);
  ASSERT_NE (nullptr, plain) << error->message;
  g_autoptr (FvDetector) retry = fv_detector_new (NULL, &error);
  FvDetection d[4];
  EXPECT_EQ (0u, fv_detector_detect (plain, &img.frame, d, 4));
  ASSERT_EQ (1u, fv_detector_detect (retry, &img.frame, d, 4));
  EXPECT_GT (d[0].score, 0.9);
  // The face covers most of the 150x150 picture.
  EXPECT_GT (d[0].x2 - d[0].x1, 100);
  EXPECT_LT (d[0].x1, 40);
}

// Tight 150x150 crops around every face of the shared photos (a square
// of 0.9 times the reference box's longer side: the face fills the
// picture and its edges are cut) are all found, with a box on the face.
// Before the large-face pass, the padded retry (only when nothing was
// found, black border, the normal pyramid) missed one of them.
TEST_F (FaceData, TightCropsAreAllFound)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) det = fv_detector_new (NULL, &error);
  ASSERT_NE (nullptr, det) << error->message;
  const int kSide = 150;
  size_t k = 0, tried = 0;
  std::vector<std::string> missed;
  for (const char *source : kSources) {
    std::string dir = fvtest::SharedPath (std::string ("data/faces/")
        + source);
    for (auto &row : fvtest::ReadCsv (dir + "/faces.csv")) {
      if (k++ % fvtest::SampleEvery () != 0)
        continue;
      g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file ((dir + "/"
              + row["raw"]).c_str (), NULL);
      ASSERT_NE (nullptr, pb) << row["raw"];
      const int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
      double bx = std::stod (row["bbox_x"]), by = std::stod (row["bbox_y"]);
      double bw = std::stod (row["bbox_w"]), bh = std::stod (row["bbox_h"]);
      double side = std::min (0.9 * std::max (bw, bh), (double) std::min (w,
              h));
      double x0 = std::clamp (bx + bw / 2 - side / 2, 0.0, w - side);
      double y0 = std::clamp (by + bh / 2 - side / 2, 0.0, h - side);
      double sc = kSide / side;
      g_autoptr (GdkPixbuf) crop = gdk_pixbuf_new (GDK_COLORSPACE_RGB,
          gdk_pixbuf_get_has_alpha (pb), 8, kSide, kSide);
      gdk_pixbuf_scale (pb, crop, 0, 0, kSide, kSide, -x0 * sc, -y0 * sc, sc,
          sc, GDK_INTERP_BILINEAR);
      Image img;
      img.w = img.h = kSide;
      img.rgb.resize (kSide * kSide * 3);
      const int nch = gdk_pixbuf_get_n_channels (crop);
      const int rs = gdk_pixbuf_get_rowstride (crop);
      const guint8 *px = gdk_pixbuf_read_pixels (crop);
      for (int y = 0; y < kSide; y++)
        for (int x = 0; x < kSide; x++)
          for (int c = 0; c < 3; c++)
            img.rgb[((size_t) y * kSide + x) * 3 + c] = px[y * rs + x * nch
                + c];
      img.Wrap ();
      const float want[4] = { (float) ((bx - x0) * sc), (float) ((by - y0)
            * sc), (float) ((bx + bw - x0) * sc), (float) ((by + bh - y0)
            * sc) };
      FvDetection d[8];
      guint n = fv_detector_detect (det, &img.frame, d, 8);
      double best = 0;
      for (guint i = 0; i < n; i++)
        best = std::max (best, Iou (&d[i].x1, want));
      tried++;
      if (best < 0.4)
        missed.push_back (row["raw"]);
    }
  }
  printf ("tight 150x150 crops: %zu of %zu found\n", tried - missed.size (),
      tried);
  EXPECT_GT (tried, 100u / fvtest::SampleEvery ());
  EXPECT_TRUE (missed.empty ()) << missed.size () << " missed, the first: "
      << missed[0];
}

// P-Net split across threads (sharing one set of workers over all
// pyramid levels) finds the same faces as one thread, on several photos.
TEST_F (FaceData, ThreadsGiveTheSameDetections)
{
  FvDetectorOptions o;
  fv_detector_options_init (&o);
  o.threads = 2;
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) one = fv_detector_new (NULL, &error);
  ASSERT_NE (nullptr, one) << error->message;
  g_autoptr (FvDetector) two = fv_detector_new (&o, &error);
  ASSERT_NE (nullptr, two) << error->message;

  for (const char *rel : {"data/faces/deepface/raw/person04/img13.jpg",
           "data/faces/face_recognition/raw/obama/obama.jpg",
           "data/faces/faceapi_bbt/raw/howard/howard5.png"}) {
    if (!fvtest::HaveShared (rel))
      continue;
    Image img;
    ASSERT_TRUE (LoadImage (fvtest::SharedPath (rel), &img)) << rel;
    FvDetection a[8], b[8];
    for (int round = 0; round < 3; round++) {
      guint na = fv_detector_detect (one, &img.frame, a, 8);
      guint nb = fv_detector_detect (two, &img.frame, b, 8);
      ASSERT_EQ (na, nb) << rel;
      ASSERT_GT (na, 0u) << rel;
      for (guint i = 0; i < na; i++) {
        EXPECT_NEAR (a[i].x1, b[i].x1, 1e-3) << rel;
        EXPECT_NEAR (a[i].y2, b[i].y2, 1e-3) << rel;
        EXPECT_NEAR (a[i].score, b[i].score, 1e-5) << rel;
        EXPECT_NEAR (a[i].landmarks[4], b[i].landmarks[4], 1e-3) << rel;
      }
    }
  }
}

// Every pixel format finds the same face as RGB.
TEST_F (FaceData, PixelFormatsGiveTheSameDetection)
{
  Image img;
  ASSERT_TRUE (LoadImage (fvtest::SharedPath
          ("data/faces/deepface/raw/person04/img13.jpg"), &img));
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) det = fv_detector_new (NULL, &error);
  ASSERT_NE (nullptr, det);
  FvDetection want[4], got[4];
  ASSERT_EQ (1u, fv_detector_detect (det, &img.frame, want, 4));

  const int w = img.w, h = img.h, cw = (w + 1) / 2, ch = (h + 1) / 2;
  std::vector<guint8> y (w * h), u (cw * ch), v (cw * ch), argb (w * h * 4),
      gray (w * h);
  libyuv::RAWToI420 (img.rgb.data (), w * 3, y.data (), w, u.data (), cw,
      v.data (), cw, w, h);
  libyuv::RAWToARGB (img.rgb.data (), w * 3, argb.data (), w * 4, w, h);
  libyuv::RAWToJ400 (img.rgb.data (), w * 3, gray.data (), w, w, h);
  struct {
    FvPixelFormat f;
    const guint8 *planes[3];
    gint strides[3];
  } cases[] = {
    {FV_PIXEL_FORMAT_I420, {y.data (), u.data (), v.data ()}, {w, cw, cw}},
    {FV_PIXEL_FORMAT_BGRA, {argb.data ()}, {w * 4}},
    {FV_PIXEL_FORMAT_GRAY8, {gray.data ()}, {w}},
  };
  for (const auto &c : cases) {
    FvFrame f;
    ASSERT_TRUE (fv_frame_init (&f, c.f, w, h, c.planes, c.strides, &error));
    ASSERT_EQ (1u, fv_detector_detect (det, &f, got, 4))
        << fv_pixel_format_to_string (c.f);
    // Gray is another image (no colour): its detection moves more.
    const bool gray = c.f == FV_PIXEL_FORMAT_GRAY8;
    EXPECT_GE (Iou (&want[0].x1, &got[0].x1), gray ? 0.8 : 0.9)
        << fv_pixel_format_to_string (c.f);
    double worst = 0;
    for (int k = 0; k < 10; k++)
      worst = std::max (worst, (double) std::fabs (want[0].landmarks[k]
              - got[0].landmarks[k]));
    EXPECT_LE (worst, (gray ? 0.05 : 0.03) * (want[0].x2 - want[0].x1))
        << fv_pixel_format_to_string (c.f);
  }
}

// The pipeline's embedding is the embedding of the aligner's crop of the
// detection, and its crop can be read back.
TEST_F (FaceData, PipelineIsDetectAlignEmbed)
{
  Image img;
  ASSERT_TRUE (LoadImage (fvtest::SharedPath
          ("data/faces/openface/raw/adams/adams.jpg"), &img));
  g_autoptr (GError) error = NULL;
  FvDetector *det = fv_detector_new (NULL, &error);
  FvEmbedder *emb = fv_embedder_new (fvtest::ModelPath
      ("MobileFaceNet.tflite").c_str (), &error);
  ASSERT_TRUE (det && emb);
  g_autoptr (FvFacePipeline) pipe = fv_face_pipeline_new (det, emb, 4);
  guint n = 0;
  const FvFace *faces = fv_face_pipeline_process (pipe, &img.frame, &n);
  ASSERT_EQ (1u, n);
  EXPECT_TRUE (faces[0].aligned);
  const guint dim = fv_embedder_get_dim (emb);
  EXPECT_NEAR (1.0, fv_cosine (faces[0].embedding, faces[0].embedding, dim),
      1e-5);

  g_autoptr (FvAligner) al = fv_aligner_new ();
  std::vector<guint8> crop (112 * 112 * 3);
  ASSERT_TRUE (fv_aligner_align (al, &img.frame, faces[0].detection.landmarks,
          crop.data (), 112 * 3));
  gsize stride = 0;
  const guint8 *pc = fv_face_pipeline_get_crop (pipe, 0, &stride);
  ASSERT_EQ (112u * 3, stride);
  EXPECT_EQ (0, memcmp (pc, crop.data (), crop.size ()));
  std::vector<float> e (dim);
  fv_embedder_embed (emb, crop.data (), 112 * 3, e.data ());
  EXPECT_GE (fv_cosine (e.data (), faces[0].embedding, dim), 0.99999);

  // A second frame of the same size: no new memory in the detector.
  gsize before = fv_detector_get_memory_size (det);
  faces = fv_face_pipeline_process (pipe, &img.frame, &n);
  EXPECT_EQ (1u, n);
  EXPECT_EQ (before, fv_detector_get_memory_size (det));
}

// ---- without the shared data -------------------------------------------

class Detector : public ::testing::Test {
 protected:
  void SetUp () override {
    FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
    g_autoptr (GError) error = NULL;
    det_ = fv_detector_new (NULL, &error);
    ASSERT_NE (nullptr, det_) << error->message;
  }
  void TearDown () override {
    fv_detector_free (det_);
  }
  guint Detect (int w, int h, const std::vector<guint8> &rgb) {
    FvFrame f;
    const guint8 *planes[1] = { rgb.data () };
    gint strides[1] = { w * 3 };
    EXPECT_TRUE (fv_frame_init (&f, FV_PIXEL_FORMAT_RGB, w, h, planes,
            strides, NULL));
    return fv_detector_detect (det_, &f, faces_, 8);
  }
  FvDetector *det_ = nullptr;
  FvDetection faces_[8];
};

TEST_F (Detector, ImagesWithoutFaces)
{
  const int w = 640, h = 480;
  std::vector<guint8> rgb (w * h * 3, 128);
  EXPECT_EQ (0u, Detect (w, h, rgb)) << "flat grey";
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      rgb[(y * w + x) * 3] = x * 255 / w;
      rgb[(y * w + x) * 3 + 1] = y * 255 / h;
      rgb[(y * w + x) * 3 + 2] = 60;
    }
  EXPECT_EQ (0u, Detect (w, h, rgb)) << "gradient";
  guint32 s = 2463534242u;
  for (auto &p : rgb) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    p = s >> 24;
  }
  EXPECT_EQ (0u, Detect (w, h, rgb)) << "noise";
  std::fill (rgb.begin (), rgb.end (), 0);
  EXPECT_EQ (0u, Detect (w, h, rgb)) << "black";
}

TEST_F (Detector, TinyImages)
{
  for (int side : { 1, 2, 11, 12, 13, 39, 40 }) {
    std::vector<guint8> rgb (side * side * 3, 200);
    EXPECT_EQ (0u, Detect (side, side, rgb)) << side;
    EXPECT_EQ (0u, Detect (side, 1, rgb)) << side;
    EXPECT_EQ (0u, Detect (1, side, rgb)) << side;
  }
}

// max_faces == 0 is allowed (count only what fits: nothing).
TEST_F (Detector, ZeroRoom)
{
  std::vector<guint8> rgb (64 * 64 * 3, 10);
  FvFrame f;
  const guint8 *planes[1] = { rgb.data () };
  gint strides[1] = { 64 * 3 };
  ASSERT_TRUE (fv_frame_init (&f, FV_PIXEL_FORMAT_RGB, 64, 64, planes,
          strides, NULL));
  EXPECT_EQ (0u, fv_detector_detect (det_, &f, NULL, 0));
}

// An 8000x6000 frame is downscaled to the maximum input size (1920) first:
// the detector's memory stays that of a 1920x1440 frame. With the shared
// photos, a face pasted in at 4x is found where it is.
TEST_F (Detector, HugeFrameHasBoundedMemory)
{
  const int w = 8000, h = 6000;
  std::vector<guint8> rgb ((size_t) w * h * 3, 90);
  float want[4] = { 0, 0, 0, 0 };
  bool have_face = false;
  std::string photo = fvtest::SharedPath
      ("data/faces/deepface/raw/person01/img10.jpg");
  if (g_file_test (photo.c_str (), G_FILE_TEST_EXISTS)) {
    g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (photo.c_str (),
        NULL);
    ASSERT_NE (nullptr, pb);
    int pw = gdk_pixbuf_get_width (pb) * 4, ph = gdk_pixbuf_get_height (pb) * 4;
    g_autoptr (GdkPixbuf) big = gdk_pixbuf_scale_simple (pb, pw, ph,
        GDK_INTERP_BILINEAR);
    const int ox = 3000, oy = 1500, nch = gdk_pixbuf_get_n_channels (big);
    const int stride = gdk_pixbuf_get_rowstride (big);
    const guint8 *px = gdk_pixbuf_read_pixels (big);
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw; x++)
        for (int c = 0; c < 3; c++)
          rgb[((size_t) (oy + y) * w + ox + x) * 3 + c] =
              px[(size_t) y * stride + x * nch + c];
    // The reference box of this photo (golden CSV), scaled and moved.
    const float ref[4] = { 93.00f, 93.06f, 305.77f, 385.49f };
    for (int i = 0; i < 4; i++)
      want[i] = ref[i] * 4 + (i % 2 ? oy : ox);
    have_face = true;
  }

  bool peak_ok = ResetPeakRss ();
  long rss0 = StatusKb ("VmRSS:");
  gint64 t0 = g_get_monotonic_time ();
  guint n = Detect (w, h, rgb);
  double ms = (g_get_monotonic_time () - t0) / 1000.0;
  long peak = StatusKb ("VmHWM:");
  gsize mem = fv_detector_get_memory_size (det_);
  printf ("8000x6000 frame: %u face(s) in %.0f ms; detector holds %.1f MB; "
      "peak RSS during detect %s%.1f MB above the %.1f MB before (the frame "
      "itself is %.1f MB)\n", n, ms, mem / 1048576.0, peak_ok ? "" : "(not "
      "measurable) ", (peak - rss0) / 1024.0, rss0 / 1024.0,
      rgb.size () / 1048576.0);
  EXPECT_LE (mem, (gsize) 96 << 20);
  if (peak_ok) {
    EXPECT_LE (peak - rss0, 128L * 1024);
  }
  if (have_face) {
    ASSERT_GE (n, 1u);
    EXPECT_GE (Iou (want, &faces_[0].x1), 0.7);
  }

  // Without a face both passes run (the padded retry plans a second,
  // larger pyramid).
  std::fill (rgb.begin (), rgb.end (), 90);
  peak_ok = ResetPeakRss ();
  rss0 = StatusKb ("VmRSS:");
  t0 = g_get_monotonic_time ();
  EXPECT_EQ (0u, Detect (w, h, rgb));
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  peak = StatusKb ("VmHWM:");
  mem = fv_detector_get_memory_size (det_);
  printf ("8000x6000 frame without a face (two passes): %.0f ms; detector "
      "holds %.1f MB; peak RSS during detect %.1f MB above the %.1f MB "
      "before\n", ms, mem / 1048576.0, (peak - rss0) / 1024.0,
      rss0 / 1024.0);
  EXPECT_LE (mem, (gsize) 128 << 20);
  if (peak_ok) {
    EXPECT_LE (peak - rss0, 128L * 1024);
  }

  // The same content at 1920x1440 needs no more memory than the big one.
  std::vector<guint8> small ((size_t) 1920 * 1440 * 3, 90);
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) fresh = fv_detector_new (NULL, &error);
  FvFrame f;
  const guint8 *planes[1] = { small.data () };
  gint strides[1] = { 1920 * 3 };
  ASSERT_TRUE (fv_frame_init (&f, FV_PIXEL_FORMAT_RGB, 1920, 1440, planes,
          strides, NULL));
  fv_detector_detect (fresh, &f, faces_, 8);
  EXPECT_GE (fv_detector_get_memory_size (fresh) + ((gsize) 8 << 20), mem);
}

TEST_F (Detector, PrepareMakesDetectAllocationFree)
{
  g_autoptr (GError) error = NULL;
  ASSERT_TRUE (fv_detector_prepare (det_, 640, 480, &error));
  gsize mem = fv_detector_get_memory_size (det_);
  std::vector<guint8> rgb (640 * 480 * 3, 128);
  Detect (640, 480, rgb);       // nothing found: the padded retry runs too
  EXPECT_EQ (mem, fv_detector_get_memory_size (det_));
}

// Issue 12: a frame size is input (caps, files), not a programming error:
// out of range it is an FV_IMAGE_ERROR_SIZE, never a critical that leaves
// the GError unset (which crashed mtcnnfacedetect's set_caps).
TEST_F (Detector, PrepareOutOfRangeIsAnError)
{
  const std::pair<guint, guint> bad[] = {
    { FV_FRAME_MAX_SIZE + 1, 16 }, { 16, FV_FRAME_MAX_SIZE + 1 },
    { G_MAXUINT, G_MAXUINT }, { 0, 16 }, { 16, 0 },
  };
  for (auto wh : bad) {
    SCOPED_TRACE (std::to_string (wh.first) + "x" + std::to_string (wh.second));
    GError *error = nullptr;
    EXPECT_FALSE (fv_detector_prepare (det_, wh.first, wh.second, &error));
    ASSERT_NE (error, nullptr);
    EXPECT_TRUE (g_error_matches (error, FV_IMAGE_ERROR,
            FV_IMAGE_ERROR_SIZE)) << error->message;
    EXPECT_NE (strstr (error->message, "32767"), nullptr) << error->message;
    g_error_free (error);
  }
  // NULL error is fine too, and the largest size is still accepted
  EXPECT_FALSE (fv_detector_prepare (det_, FV_FRAME_MAX_SIZE + 1, 1, NULL));
  g_autoptr (GError) error = NULL;
  EXPECT_TRUE (fv_detector_prepare (det_, FV_FRAME_MAX_SIZE, 16, &error))
      << error->message;
}

TEST (DetectorLoad, WrongModelsAreErrors)
{
  FV_SKIP_WITHOUT_MODEL (mfn, "MobileFaceNet.tflite");
  FV_SKIP_WITHOUT_MODEL (pnet, "pnet.tflite");
  FV_SKIP_WITHOUT_MODEL (rnet, "rnet.tflite");
  FV_SKIP_WITHOUT_MODEL (onet, "onet.tflite");
  g_autoptr (GError) error = NULL;
  // R-Net where O-Net belongs, MobileFaceNet where P-Net belongs.
  g_autoptr (FvDetector) a = fv_detector_new_from_files (pnet.c_str (),
      rnet.c_str (), rnet.c_str (), NULL, &error);
  EXPECT_EQ (nullptr, a);
  ASSERT_NE (nullptr, error);
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR,
          FV_MODEL_ERROR_INVALID)) << error->message;
  g_clear_error (&error);
  g_autoptr (FvDetector) b = fv_detector_new_from_files (mfn.c_str (),
      rnet.c_str (), onet.c_str (), NULL, &error);
  EXPECT_EQ (nullptr, b);
  ASSERT_NE (nullptr, error);
  g_clear_error (&error);
  g_autoptr (FvDetector) c = fv_detector_new_from_files ("/nonexistent/p",
      rnet.c_str (), onet.c_str (), NULL, &error);
  EXPECT_EQ (nullptr, c);
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR,
          FV_MODEL_ERROR_NOT_FOUND));
}

// The detector models are pinned (models/SHA256SUMS): a damaged pnet that
// still loads would silently change detections. Refused unless the caller
// brings its own models on purpose (allow_unpinned, or
// FV_ALLOW_UNPINNED_MODELS=1), and then the detector says so.
TEST (DetectorPins, DamagedModelsAreRefusedUnlessAllowed)
{
  FV_SKIP_WITHOUT_MODEL (pnet, "pnet.tflite");
  std::string rnet = fvtest::ModelPath ("rnet.tflite");
  std::string onet = fvtest::ModelPath ("onet.tflite");
  GError *error = nullptr;
  {
    g_autoptr (FvDetector) d = fv_detector_new_from_files (pnet.c_str (),
        rnet.c_str (), onet.c_str (), nullptr, &error);
    ASSERT_NE (nullptr, d) << error->message;
    EXPECT_TRUE (fv_detector_get_models_pinned (d));
  }
  // A copy of pnet with one weight byte changed that still loads.
  std::vector<unsigned char> bytes = fvtest::ReadFile (pnet);
  std::string dir = fvtest::ScratchDir ("detector-pins");
  g_autofree char *damaged = g_build_filename (dir.c_str (), "pnet.tflite",
      NULL);
  bool loads = false;
  for (size_t off = bytes.size () / 2; !loads && off < bytes.size () - 64;
      off += 97) {
    std::vector<unsigned char> b = bytes;
    b[off] ^= 0x10;
    ASSERT_TRUE (g_file_set_contents (damaged, (const char *) b.data (),
            (gssize) b.size (), nullptr));
    FvModel *m = fv_model_new_from_file (damaged, nullptr);
    loads = m != nullptr;
    if (m)
      fv_model_unref (m);
  }
  ASSERT_TRUE (loads);
  g_unsetenv ("FV_ALLOW_UNPINNED_MODELS");
  {
    g_autoptr (FvDetector) d = fv_detector_new_from_files (damaged,
        rnet.c_str (), onet.c_str (), nullptr, &error);
    EXPECT_EQ (nullptr, d);
    ASSERT_NE (nullptr, error);
    EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR,
            FV_MODEL_ERROR_INVALID)) << error->message;
    EXPECT_NE (nullptr, strstr (error->message, "SHA-256")) << error->message;
    EXPECT_NE (nullptr, strstr (error->message, damaged)) << error->message;
    g_clear_error (&error);
  }
  FvDetectorOptions o;
  fv_detector_options_init (&o);
  o.allow_unpinned = TRUE;
  {
    g_autoptr (FvDetector) d = fv_detector_new_from_files (damaged,
        rnet.c_str (), onet.c_str (), &o, &error);
    ASSERT_NE (nullptr, d) << error->message;
    EXPECT_FALSE (fv_detector_get_models_pinned (d));
  }
  g_setenv ("FV_ALLOW_UNPINNED_MODELS", "1", TRUE);
  {
    g_autoptr (FvDetector) d = fv_detector_new_from_files (damaged,
        rnet.c_str (), onet.c_str (), nullptr, &error);
    ASSERT_NE (nullptr, d) << error->message;
    EXPECT_FALSE (fv_detector_get_models_pinned (d));
  }
  g_unsetenv ("FV_ALLOW_UNPINNED_MODELS");
  g_unlink (damaged);
}

}  // namespace

// ---- tracking (fv_detector_track) ---------------------------------------

// Frames of 1280x720 (or any size) built from the shared photos: a grey
// background with photos pasted in, scaled and moved, cut by the edges.
class Track : public ::testing::Test {
 protected:
  struct Scene {
    int w, h;
    std::vector<guint8> rgb;
    FvFrame frame;
    Scene (int w_, int h_) : w (w_), h (h_), rgb ((size_t) w_ * h_ * 3, 110) {
      const guint8 *planes[1] = { rgb.data () };
      gint strides[1] = { w * 3 };
      fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes, strides,
          NULL);
    }
    // Pastes @pb scaled to @pw pixels wide with its top left at (x, y).
    void Paste (GdkPixbuf * pb, int x, int y, int pw) {
      int ph = (int) lround ((double) pw * gdk_pixbuf_get_height (pb)
          / gdk_pixbuf_get_width (pb));
      g_autoptr (GdkPixbuf) s = gdk_pixbuf_scale_simple (pb, pw, ph,
          GDK_INTERP_BILINEAR);
      const int nch = gdk_pixbuf_get_n_channels (s);
      const int stride = gdk_pixbuf_get_rowstride (s);
      const guint8 *px = gdk_pixbuf_read_pixels (s);
      for (int j = 0; j < ph; j++)
        for (int i = 0; i < pw; i++) {
          if (x + i < 0 || x + i >= w || y + j < 0 || y + j >= h)
            continue;
          for (int c = 0; c < 3; c++)
            rgb[((size_t) (y + j) * w + x + i) * 3 + c] =
                px[(size_t) j * stride + i * nch + c];
        }
    }
  };

  void SetUp () override {
    FV_SKIP_WITHOUT_MODEL (p, "pnet.tflite");
    FV_SKIP_WITHOUT_SHARED ("data/faces/deepface/raw");
    g_autoptr (GError) error = NULL;
    det_ = fv_detector_new (NULL, &error);
    ASSERT_NE (nullptr, det_) << error->message;
    const char *const names[] = {
      "data/faces/deepface/raw/person01/img10.jpg",
      "data/faces/deepface/raw/person02/img12.jpg",
      "data/faces/deepface/raw/person03/img47.jpg",
    };
    for (const char *name : names) {
      std::string path = fvtest::SharedPath (name);
      GdkPixbuf *raw = gdk_pixbuf_new_from_file (path.c_str (), NULL);
      ASSERT_NE (nullptr, raw) << path;
      photos_.push_back (gdk_pixbuf_apply_embedded_orientation (raw));
      g_object_unref (raw);
    }
  }
  void TearDown () override {
    for (GdkPixbuf *pb : photos_)
      g_object_unref (pb);
    fv_detector_free (det_);
  }
  std::vector<FvDetection> Detect (const Scene & s) {
    FvDetection f[16];
    guint n = fv_detector_detect (det_, &s.frame, f, 16);
    return std::vector<FvDetection> (f, f + n);
  }
  std::vector<FvDetection> TrackFrom (const Scene & s,
      const std::vector<FvDetection> &prev) {
    FvDetection f[16];
    guint n = fv_detector_track (det_, &s.frame, prev.data (), prev.size (),
        f, 16);
    return std::vector<FvDetection> (f, f + n);
  }
  // The face of @faces that overlaps @want most, and that overlap.
  static double BestIou (const std::vector<FvDetection> &faces,
      const FvDetection & want, const FvDetection ** best = nullptr) {
    double b = 0;
    for (const FvDetection &f : faces) {
      double iou = Iou (&f.x1, &want.x1);
      if (iou > b) {
        b = iou;
        if (best)
          *best = &f;
      }
    }
    return b;
  }
  // Each of @want is found in @got with IoU > 0.7 and landmarks within 8%
  // of the box width (O-Net on another crop of the same face moves them by
  // up to about 6%); nothing else is found.
  static void ExpectSameFaces (const std::vector<FvDetection> &want,
      const std::vector<FvDetection> &got) {
    EXPECT_EQ (want.size (), got.size ());
    for (const FvDetection &w : want) {
      const FvDetection *g = nullptr;
      EXPECT_GT (BestIou (got, w, &g), 0.7);
      if (!g)
        continue;
      double tol = 0.08 * (w.x2 - w.x1);
      for (int k = 0; k < 2 * FV_N_LANDMARKS; k++)
        EXPECT_NEAR (w.landmarks[k], g->landmarks[k], tol) << k;
      EXPECT_GT (g->score, 0.7f);
    }
  }

  FvDetector *det_ = nullptr;
  std::vector<GdkPixbuf *> photos_;
};

// A face found on one frame is found again by tracking on the next, moved
// by a few pixels or scaled by a few percent, where a full detect finds it.
TEST_F (Track, FindsMovedFacesLikeDetect)
{
  struct Move {
    int dx, dy;
    double scale;
  } moves[] = { { 0, 0, 1.0 }, { 8, 5, 1.0 }, { -14, 9, 1.0 },
    { 0, -20, 1.0 }, { 4, 2, 1.06 }, { -3, 0, 0.94 }, { 25, 0, 1.1 } };
  // the sanitizer tree (FV_TEST_SAMPLE_EVERY) tries one photo
  const size_t n_photos = fvtest::SampleEvery () > 1 ? 1 : photos_.size ();
  for (size_t pi = 0; pi < n_photos; pi++) {
    GdkPixbuf *pb = photos_[pi];
    SCOPED_TRACE ("photo " + std::to_string (pi));
    Scene a (1280, 720);
    a.Paste (pb, 400, 100, 300);
    std::vector<FvDetection> prev = Detect (a);
    ASSERT_GE (prev.size (), 1u);
    for (const Move &m : moves) {
      SCOPED_TRACE (std::to_string (m.dx) + "," + std::to_string (m.dy)
          + " x" + std::to_string (m.scale));
      Scene b (1280, 720);
      b.Paste (pb, 400 + m.dx, 100 + m.dy, (int) lround (300 * m.scale));
      std::vector<FvDetection> full = Detect (b);
      ASSERT_GE (full.size (), 1u);
      ExpectSameFaces (full, TrackFrom (b, prev));
    }
  }
}

// Several faces at once (one batch), one of them cut by the frame's edge.
TEST_F (Track, SeveralFacesAndTheEdge)
{
  Scene a (1280, 720), b (1280, 720);
  a.Paste (photos_[0], -60, 200, 260);
  a.Paste (photos_[1], 450, 60, 280);
  a.Paste (photos_[2], 900, 250, 240);
  b.Paste (photos_[0], -66, 204, 260);
  b.Paste (photos_[1], 456, 56, 285);
  b.Paste (photos_[2], 895, 250, 236);
  std::vector<FvDetection> prev = Detect (a), full = Detect (b);
  ASSERT_GE (prev.size (), 3u);
  ASSERT_EQ (prev.size (), full.size ());
  ExpectSameFaces (full, TrackFrom (b, prev));
}

// Frames larger than the maximum input size are downscaled first, as in
// detect: tracking works on the same canvas.
TEST_F (Track, LargeFrame)
{
  Scene a (2880, 1620), b (2880, 1620);
  a.Paste (photos_[1], 1000, 300, 700);
  b.Paste (photos_[1], 1020, 290, 700);
  std::vector<FvDetection> prev = Detect (a), full = Detect (b);
  ASSERT_GE (prev.size (), 1u);
  ExpectSameFaces (full, TrackFrom (b, prev));
}

// A face that left the frame is not found again (the caller then runs a
// full detect); the others are.
TEST_F (Track, FaceThatLeftIsDropped)
{
  Scene a (1280, 720), b (1280, 720), empty (1280, 720);
  a.Paste (photos_[0], 100, 100, 280);
  a.Paste (photos_[2], 800, 150, 280);
  b.Paste (photos_[2], 805, 150, 280);
  std::vector<FvDetection> prev = Detect (a);
  ASSERT_EQ (2u, prev.size ());
  std::vector<FvDetection> got = TrackFrom (b, prev);
  ExpectSameFaces (Detect (b), got);
  EXPECT_EQ (1u, got.size ());
  EXPECT_EQ (0u, TrackFrom (empty, prev).size ());
  // no previous faces, no room: nothing
  EXPECT_EQ (0u, TrackFrom (b, {}).size ());
  EXPECT_EQ (0u, fv_detector_track (det_, &b.frame, prev.data (), 2, NULL,
          0));
}

// Garbage previous boxes (NaN, infinite, huge, negative, empty, inverted)
// are ignored without harm, next to a real one.
TEST_F (Track, GarbagePreviousBoxes)
{
  Scene a (1280, 720);
  a.Paste (photos_[1], 450, 60, 280);
  std::vector<FvDetection> real = Detect (a);
  ASSERT_EQ (1u, real.size ());
  const float nan = NAN, inf = INFINITY;
  const float boxes[][4] = {
    { nan, 0, 100, 100 }, { 0, 0, inf, 100 }, { -inf, -inf, inf, inf },
    { -1e30f, -1e30f, 1e30f, 1e30f }, { -5000, -5000, -4000, -4000 },
    { 1e9f, 1e9f, 1e9f + 100, 1e9f + 100 }, { 300, 300, 300, 300 },
    { 500, 500, 400, 400 }, { 0, 0, 0.5f, 0.5f }, { -100, -100, 5000, 3000 },
    { 1279, 719, 1400, 800 }, { -30, -30, 2, 2 }, { 0, 0, 1280, 720 },
  };
  std::vector<FvDetection> prev;
  for (const auto &b : boxes) {
    FvDetection d = real[0];
    d.x1 = b[0];
    d.y1 = b[1];
    d.x2 = b[2];
    d.y2 = b[3];
    prev.push_back (d);
    std::vector<FvDetection> one (1, d);
    TrackFrom (a, one);         // must not crash; any result is fine
  }
  prev.push_back (real[0]);
  std::vector<FvDetection> got = TrackFrom (a, prev);
  ASSERT_GE (got.size (), 1u);
  EXPECT_GT (BestIou (got, real[0]), 0.7);
  // a previous list larger than the detector handles is cut, not overrun
  std::vector<FvDetection> many (1000, real[0]);
  EXPECT_EQ (1u, TrackFrom (a, many).size ());
  // tiny frames
  Scene tiny (3, 2);
  EXPECT_EQ (0u, TrackFrom (tiny, real).size ());
}

// Once prepared for a size, tracking allocates no detector memory.
TEST_F (Track, NoNewMemory)
{
  Scene a (1280, 720);
  a.Paste (photos_[1], 450, 60, 280);
  g_autoptr (GError) error = NULL;
  ASSERT_TRUE (fv_detector_prepare (det_, 1280, 720, &error));
  std::vector<FvDetection> prev = Detect (a);
  gsize mem = fv_detector_get_memory_size (det_);
  // the working memory it borrows too: prepare sized it for tracking
  gsize work = fv_detector_get_work_size (det_);
  gsize pool = fv_workspace_get_size ();
  for (int i = 0; i < 3; i++)
    prev = TrackFrom (a, prev);
  EXPECT_EQ (1u, prev.size ());
  EXPECT_EQ (mem, fv_detector_get_memory_size (det_));
  EXPECT_EQ (work, fv_detector_get_work_size (det_));
  EXPECT_EQ (pool, fv_workspace_get_size ());
}

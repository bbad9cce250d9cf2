// Golden test: MobileFaceNet embeddings equal those of the independent
// numpy reference (tests/data/mobilefacenet.bin, copied from
// ../shared/golden; format in ../shared/reference/make_golden.py).
#include <cmath>
#include <cstring>

#include "fv-test-util.h"

namespace {

constexpr int kSide = 112;
constexpr int kDim = 192;
constexpr size_t kRecord = 32 + kSide * kSide * 3 + 4 * (2 * kDim + 8);

struct GoldenCase {
  std::string name;
  const unsigned char *rgb;
  const float *unit;
};

class Golden : public ::testing::Test {
 protected:
  void SetUp () override {
    data_ = fvtest::ReadFile (fvtest::TestDataPath ("mobilefacenet.bin"));
    ASSERT_GE (data_.size (), 64u) << "tests/data/mobilefacenet.bin missing";
    ASSERT_EQ (0, memcmp (data_.data (), "MFNG", 4));
    uint32_t hdr[7];
    memcpy (hdr, data_.data () + 4, sizeof (hdr));
    ASSERT_EQ (1u, hdr[0]);
    n_ = hdr[1];
    ASSERT_EQ ((uint32_t) kSide, hdr[2]);
    ASSERT_EQ ((uint32_t) kDim, hdr[5]);
    ASSERT_EQ (64 + n_ * kRecord, data_.size ());
    for (char c : std::string ((const char *) data_.data () + 32, 32)) {
      char buf[3];
      snprintf (buf, sizeof buf, "%02x", (unsigned char) c);
      sha_ += buf;
    }
    for (uint32_t i = 0; i < n_; i++) {
      const unsigned char *r = data_.data () + 64 + i * kRecord;
      GoldenCase c;
      c.name = std::string ((const char *) r, strnlen ((const char *) r, 32));
      c.rgb = r + 32;
      c.unit = (const float *) (r + 32 + kSide * kSide * 3 + 4 * kDim);
      cases_.push_back (c);
    }
  }

  static void Compare (const GoldenCase &c, const float *e, double *max_diff) {
    double diff = 0, dot = 0, norm = 0;
    for (int i = 0; i < kDim; i++) {
      diff = std::max (diff, (double) std::fabs (e[i] - c.unit[i]));
      dot += (double) e[i] * c.unit[i];
      norm += (double) e[i] * e[i];
    }
    EXPECT_NEAR (1.0, norm, 1e-5) << c.name;
    EXPECT_LE (diff, 1e-4) << c.name;
    EXPECT_GE (dot, 0.99999) << c.name;
    *max_diff = std::max (*max_diff, diff);
  }

  std::vector<unsigned char> data_;
  uint32_t n_ = 0;
  std::string sha_;
  std::vector<GoldenCase> cases_;
};

TEST_F (Golden, EveryCaseMatchesTheReference)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) e = fv_embedder_new (path.c_str (), &error);
  ASSERT_NE (nullptr, e) << error->message;
  ASSERT_EQ ((guint) kDim, fv_embedder_get_dim (e));
  EXPECT_EQ (sha_, fv_embedder_get_fingerprint (e));
  ASSERT_EQ (8u, cases_.size ());

  double max_diff = 0;
  for (const auto &c : cases_) {
    float emb[kDim];
    fv_embedder_embed (e, c.rgb, kSide * 3, emb);
    Compare (c, emb, &max_diff);
  }
  RecordProperty ("max_abs_diff", std::to_string (max_diff));
  printf ("golden: isa=%s max|diff|=%.3g over %zu cases\n",
      fv_isa_name (fv_model_get_isa (fv_embedder_get_model (e))), max_diff,
      cases_.size ());
}

// The file's batch (2) is not binding: batches of 1, 3 and 8 give the same
// vectors, and a batch embedder also handles fewer faces than its maximum.
TEST_F (Golden, AnyBatchSizeGivesTheSameEmbeddings)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, model) << error->message;

  std::vector<const guint8 *> rgb;
  std::vector<gsize> strides;
  for (const auto &c : cases_) {
    rgb.push_back (c.rgb);
    strides.push_back (kSide * 3);
  }
  for (guint batch : {1u, 3u, 8u}) {
    g_autoptr (FvEmbedder) e = fv_embedder_new_for_model (model, batch,
        &error);
    ASSERT_NE (nullptr, e) << error->message;
    std::vector<float> out (cases_.size () * kDim);
    fv_embedder_embed_batch (e, cases_.size (), rgb.data (), strides.data (),
        out.data ());
    double max_diff = 0;
    for (size_t i = 0; i < cases_.size (); i++)
      Compare (cases_[i], out.data () + i * kDim, &max_diff);
  }
}

TEST_F (Golden, TensorInputMatchesByteInput)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) e = fv_embedder_new (path.c_str (), &error);
  ASSERT_NE (nullptr, e) << error->message;
  std::vector<float> in (kSide * kSide * 3);
  for (size_t i = 0; i < in.size (); i++)
    in[i] = (cases_[6].rgb[i] - 127.5f) / 128.0f;
  float emb[kDim];
  fv_embedder_embed_tensor (e, 1, in.data (), emb);
  double max_diff = 0;
  Compare (cases_[6], emb, &max_diff);
}

}  // namespace

namespace {

// Two threads (one image split across them, and a batch spread over them)
// give the golden vectors too.
TEST_F (Golden, ThreadedEmbedderMatchesTheReference)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, model) << error->message;
  std::vector<const guint8 *> rgb;
  std::vector<gsize> strides;
  for (const auto &c : cases_) {
    rgb.push_back (c.rgb);
    strides.push_back (kSide * 3);
  }
  for (guint batch : {1u, 4u}) {
    g_autoptr (FvEmbedder) e = fv_embedder_new_for_model (model, batch,
        &error);
    ASSERT_NE (nullptr, e) << error->message;
    ASSERT_TRUE (fv_embedder_set_threads (e, 2, &error)) << error->message;
    std::vector<float> out (cases_.size () * kDim);
    fv_embedder_embed_batch (e, cases_.size (), rgb.data (), strides.data (),
        out.data ());
    double max_diff = 0;
    for (size_t i = 0; i < cases_.size (); i++)
      Compare (cases_[i], out.data () + i * kDim, &max_diff);
  }
}

}  // namespace

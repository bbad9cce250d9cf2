// Create / use / destroy cycles of every engine object, on the success
// paths and on the error paths (malformed models, impossible sessions,
// a model that is no embedder). The tests themselves only check that
// each step succeeds or fails as it should; the leak checking is done by
// the tools around them:
//   - build-san: LeakSanitizer at exit (ASAN_OPTIONS=detect_leaks=1);
//   - build: the 'valgrind' suite runs Leaks.* under
//     valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
//     with FV_LEAK_CYCLES=1.
// FV_LEAK_CYCLES sets the number of cycles (default 5; MobileFaceNet gets
// at most 2, its run is the slow part; valgrind runs 1 cycle in ~40 s).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "fv-test-util.h"

namespace {

int
Cycles ()
{
  const char *env = g_getenv ("FV_LEAK_CYCLES");
  int n = env ? atoi (env) : 5;
  return n > 0 ? n : 1;
}

uint32_t
U32 (const std::vector<unsigned char> &d, size_t p)
{
  uint32_t v;
  memcpy (&v, &d[p], 4);
  return v;
}

// Position of scalar field @id of the table at @t (FlatBuffer layout).
size_t
Field (const std::vector<unsigned char> &d, size_t t, int id)
{
  size_t vt = t - (int32_t) U32 (d, t);
  uint16_t vt_size, off;
  memcpy (&vt_size, &d[vt], 2);
  if (4 + 2 * (size_t) id >= vt_size)
    return 0;
  memcpy (&off, &d[vt + 4 + 2 * id], 2);
  return off ? t + off : 0;
}

// Variants of a model that fail at different depths of loading: in the
// header, in the reader, in the graph builder (a constant whose data is
// a NaN, after some tensors were imported), in shape inference.
std::vector<std::vector<unsigned char>>
BadVariants (const std::vector<unsigned char> &good)
{
  std::vector<std::vector<unsigned char>> v;
  v.emplace_back (good.begin (), good.begin () + 5);
  v.emplace_back (good.begin (), good.begin () + good.size () / 2);
  v.emplace_back (good.begin (), good.end () - 4096);
  v.push_back (good);
  memcpy (&v.back ()[4], "TFL2", 4);
  v.push_back (good);
  {
    size_t f = Field (good, U32 (good, 0), 0);  // Model.version
    uint32_t two = 2;
    memcpy (&v.back ()[f], &two, 4);
  }
  // NaN weights near the end of the buffers: most tensors are imported
  // (and allocated) before the failure.
  {
    size_t root = U32 (good, 0);
    size_t bf = Field (good, root, 4);  // Model.buffers
    size_t bv = bf + U32 (good, bf);
    uint32_t n = U32 (good, bv);
    for (uint32_t i = n - 1; i > 0; i--) {
      size_t slot = bv + 4 + 4 * i;
      size_t b = slot + U32 (good, slot);
      size_t df = Field (good, b, 0);
      if (!df)
        continue;
      size_t data = df + U32 (good, df);
      if (U32 (good, data) < 16)
        continue;
      v.push_back (good);
      float nan = NAN;
      memcpy (&v.back ()[data + 8], &nan, 4);
      break;
    }
  }
  // Random single-byte changes in the tables at the end of the file.
  guint32 seed = 7;
  for (int k = 0; k < 24; k++) {
    v.push_back (good);
    seed = seed * 1103515245u + 12345u;
    size_t pos = good.size () - 1 - (seed >> 8) % std::min<size_t> (4096,
        good.size () - 8);
    v.back ()[pos] ^= 0x5a;
  }
  return v;
}

int
LoadVariants (const std::vector<std::vector<unsigned char>> &variants)
{
  int failed = 0;
  for (const auto &d : variants) {
    guint8 *copy = (guint8 *) g_memdup2 (d.data (), d.size ());
    g_autoptr (GError) error = NULL;
    g_autoptr (FvModel) m = fv_model_new_from_data (copy, d.size (), &error);
    g_free (copy);
    if (!m) {
      EXPECT_TRUE (error && error->domain == FV_MODEL_ERROR);
      failed++;
      continue;
    }
    // Some byte changes only touch names or weights: plan those too.
    g_autoptr (GError) serr = NULL;
    g_autoptr (FvSession) s = fv_session_new (m, 1, 24, 24, &serr);
    if (s)
      fv_session_run (s, 1);
  }
  return failed;
}

TEST (Leaks, ModelsAndSessions)
{
  FV_SKIP_WITHOUT_MODEL (pnet, "pnet.tflite");
  FV_SKIP_WITHOUT_MODEL (rnet, "rnet.tflite");
  std::vector<unsigned char> rnet_bytes = fvtest::ReadFile (rnet);
  for (int c = 0; c < Cycles (); c++) {
    g_autoptr (GError) error = NULL;
    FvModel *p = fv_model_new_from_file (pnet.c_str (), &error);
    ASSERT_NE (nullptr, p) << error->message;
    FvModel *r = fv_model_new_from_data (rnet_bytes.data (),
        rnet_bytes.size (), &error);
    ASSERT_NE (nullptr, r) << error->message;

    // Sessions outlive the caller's reference to the model.
    FvSession *sp = fv_session_new (p, 2, 31, 47, &error);
    ASSERT_NE (nullptr, sp) << error->message;
    FvSession *sr = fv_session_new (r, 16, 0, 0, &error);
    ASSERT_NE (nullptr, sr) << error->message;
    fv_model_unref (p);
    fv_model_ref (r);
    fv_model_unref (r);
    memset (fv_session_get_input (sp, 0), 0, 2 * 31 * 47 * 3 * 4);
    memset (fv_session_get_input (sr, 0), 0, 16 * 24 * 24 * 3 * 4);
    fv_session_run (sp, 2);
    fv_session_run (sp, 1);
    fv_session_run (sr, 16);
    EXPECT_NE (nullptr, fv_session_get_output (sr, 1, NULL));

    // Failing sessions free what they planned so far.
    for (guint side : { 48u, 3u, 100u }) {
      g_autoptr (GError) e2 = NULL;
      EXPECT_EQ (nullptr, fv_session_new (r, 1, side, side, &e2));
      EXPECT_TRUE (g_error_matches (e2, FV_MODEL_ERROR,
              FV_MODEL_ERROR_SHAPE));
    }
    g_autoptr (GError) e3 = NULL;
    EXPECT_EQ (nullptr, fv_session_new (r, 0, 0, 0, &e3));
    g_autoptr (GError) e4 = NULL;
    EXPECT_EQ (nullptr, fv_session_new (fv_session_get_model (sp), 4096,
            16384, 16384, &e4));
    g_autoptr (GError) e5 = NULL;
    EXPECT_EQ (nullptr, fv_embedder_new_for_model (r, 1, &e5));

    fv_session_free (sr);
    fv_session_free (sp);
    fv_model_unref (r);
  }
}

TEST (Leaks, MalformedModels)
{
  FV_SKIP_WITHOUT_MODEL (pnet, "pnet.tflite");
  FV_SKIP_WITHOUT_MODEL (rnet, "rnet.tflite");
  auto pv = BadVariants (fvtest::ReadFile (pnet));
  auto rv = BadVariants (fvtest::ReadFile (rnet));
  for (int c = 0; c < Cycles (); c++) {
    EXPECT_GE (LoadVariants (pv), 6);
    EXPECT_GE (LoadVariants (rv), 6);
    g_autoptr (GError) error = NULL;
    EXPECT_EQ (nullptr, fv_model_new_from_file ("/nonexistent/x.tflite",
            &error));
    g_clear_error (&error);
    std::string dir = fvtest::ScratchDir ("leaks");
    EXPECT_EQ (nullptr, fv_model_new_from_file (dir.c_str (), &error));
    g_clear_error (&error);
    EXPECT_EQ (nullptr, fv_model_new_from_data (NULL, 0, &error));
    g_clear_error (&error);
    EXPECT_EQ (nullptr, fv_embedder_new (pnet.c_str (), &error));
    EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR,
            FV_MODEL_ERROR_INVALID));
  }
}

TEST (Leaks, Embedder)
{
  FV_SKIP_WITHOUT_MODEL (mfn, "MobileFaceNet.tflite");
  std::vector<unsigned char> bytes = fvtest::ReadFile (mfn);
  auto bad = BadVariants (bytes);
  bad.resize (5);               // those that fail before the weights
  std::vector<guint8> face (FV_EMBED_SIZE * FV_EMBED_SIZE * 3);
  for (size_t i = 0; i < face.size (); i++)
    face[i] = (guint8) (i * 7);
  int cycles = std::min (Cycles (), 2);
  for (int c = 0; c < cycles; c++) {
    g_autoptr (GError) error = NULL;
    FvEmbedder *e = fv_embedder_new (mfn.c_str (), &error);
    ASSERT_NE (nullptr, e) << error->message;
    std::vector<float> emb (fv_embedder_get_dim (e));
    fv_embedder_embed (e, face.data (), FV_EMBED_SIZE * 3, emb.data ());
    EXPECT_NEAR (1.0f, fv_cosine (emb.data (), emb.data (), emb.size ()),
        1e-5);

    // A second embedder sharing the model, with a batch.
    FvEmbedder *e2 = fv_embedder_new_for_model (fv_embedder_get_model (e), 2,
        &error);
    ASSERT_NE (nullptr, e2) << error->message;
    fv_embedder_free (e);
    const guint8 *faces[2] = { face.data (), face.data () };
    gsize strides[2] = { FV_EMBED_SIZE * 3, FV_EMBED_SIZE * 3 };
    std::vector<float> embs (2 * fv_embedder_get_dim (e2));
    fv_embedder_embed_batch (e2, 2, faces, strides, embs.data ());
    EXPECT_NEAR (1.0f, fv_cosine (embs.data (), emb.data (), emb.size ()),
        1e-4);
    // Sessions that cannot be planned for this model.
    g_autoptr (GError) e3 = NULL;
    EXPECT_EQ (nullptr, fv_session_new (fv_embedder_get_model (e2), 1, 120,
            120, &e3));
    fv_embedder_free (e2);

    EXPECT_EQ ((int) bad.size (), LoadVariants (bad));
  }
}

}  // namespace

// Working memory (fv-workspace.h): detectors and embedders on the same
// models hold no activation memory of their own between runs; the
// process's few blocks serve them all, so that eight of them run from
// eight threads at once in the memory of one per processor, and give
// exactly the results of one instance run alone. A session runs the same
// in memory that held garbage (NaN) as in fresh memory.
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "fv-test-image.h"
#include "fv-test-util.h"

namespace {

constexpr guint kInstances = 8;

guint
Limit ()
{
  return CLAMP (g_get_num_processors (), 2u, 64u);
}

TEST (Workspace, LendsOneBlockPerBorrowerAndReusesIt)
{
  gpointer a = fv_workspace_acquire (1000);
  ASSERT_NE (nullptr, a);
  EXPECT_EQ (0u, GPOINTER_TO_SIZE (a) % 64);
  memset (a, 1, 1000);
  fv_workspace_release (a);
  // Free and large enough: the same block again, nothing new.
  guint blocks = fv_workspace_get_n_blocks ();
  gpointer b = fv_workspace_acquire (500);
  EXPECT_EQ (a, b);
  EXPECT_EQ (blocks, fv_workspace_get_n_blocks ());
  // A thread that holds blocks never waits for one, even beyond the limit.
  std::vector<gpointer> nested;
  for (guint i = 0; i < Limit () + 2; i++)
    nested.push_back (fv_workspace_acquire (64));
  for (gpointer p : nested)
    EXPECT_NE (b, p);
  for (gpointer p : nested)
    fv_workspace_release (p);
  fv_workspace_release (b);
  // The blocks beyond the limit went back; one thread borrowed.
  EXPECT_LE (fv_workspace_get_n_blocks (), MAX (blocks, Limit ()));
  EXPECT_EQ (1u, fv_workspace_get_max_borrowers ());
}

std::vector<float>
RunOn (FvSession *s, const std::vector<float> &input)
{
  memcpy (fv_session_get_input (s, 0), input.data (),
      input.size () * sizeof (float));
  fv_session_run (s, 1);
  FvShape shape;
  const float *out = fv_session_get_output (s, 0, &shape);
  size_t n = 1;
  for (guint i = 0; i < shape.rank; i++)
    n *= shape.dims[i];
  return std::vector<float> (out, out + n);
}

// Every activation is written before it is read: memory that held NaN
// gives bit-identical outputs.
TEST (Workspace, BoundSessionIgnoresWhatTheMemoryHeld)
{
  for (const char *name : { "MobileFaceNet.tflite", "onet.tflite",
          "pnet.tflite" }) {
    FV_SKIP_WITHOUT_MODEL (path, name);
    g_autoptr (GError) error = NULL;
    g_autoptr (FvModel) m = fv_model_new_from_file (path.c_str (), &error);
    ASSERT_NE (nullptr, m) << error->message;
    const bool pnet = strcmp (name, "pnet.tflite") == 0;
    g_autoptr (FvSession) own = fv_session_new (m, 1, pnet ? 60 : 0,
        pnet ? 44 : 0, &error);
    g_autoptr (FvSession) bound = fv_session_new (m, 1, pnet ? 60 : 0,
        pnet ? 44 : 0, &error);
    ASSERT_NE (nullptr, own);
    ASSERT_NE (nullptr, bound);
    FvShape in;
    fv_model_get_input_shape (m, 0, &in);
    size_t n = (size_t) (pnet ? 60 * 44 : in.dims[1] * in.dims[2]) * 3;
    std::vector<float> input (n);
    for (size_t i = 0; i < n; i++)
      input[i] = (float) ((i * 7919) % 255) / 128.0f - 1.0f;

    gsize need = fv_session_get_arena_need (bound);
    ASSERT_GT (need, n * sizeof (float));
    float *mem = (float *) g_aligned_alloc (need, 1, 64);
    for (gsize i = 0; i < need / sizeof (float); i++)
      mem[i] = std::numeric_limits < float >::quiet_NaN ();
    ASSERT_TRUE (fv_session_bind_arena (bound, mem));
    EXPECT_EQ (0u, fv_session_get_arena_size (bound));
    std::vector<float> want = RunOn (own, input);
    std::vector<float> got = RunOn (bound, input);
    ASSERT_EQ (want.size (), got.size ());
    EXPECT_EQ (0, memcmp (want.data (), got.data (),
            want.size () * sizeof (float))) << name;
    // Back to memory of its own: the same again.
    ASSERT_TRUE (fv_session_bind_arena (bound, NULL));
    got = RunOn (bound, input);
    EXPECT_EQ (0, memcmp (want.data (), got.data (),
            want.size () * sizeof (float))) << name;
    g_aligned_free (mem);
  }
}

struct Result
{
  std::vector<FvDetection> faces;
  std::vector<float> embeddings;
};

Result
DetectAndEmbed (FvDetector *det, FvEmbedder *emb, FvAligner *al,
    const FvFrame *frame)
{
  Result r;
  FvDetection faces[8];
  guint n = fv_detector_detect (det, frame, faces, 8);
  guint dim = fv_embedder_get_dim (emb);
  std::vector<guint8> crop (FV_EMBED_SIZE * FV_EMBED_SIZE * 3);
  r.faces.assign (faces, faces + n);
  r.embeddings.resize ((size_t) n * dim);
  for (guint i = 0; i < n; i++) {
    if (fv_aligner_align (al, frame, faces[i].landmarks, crop.data (),
            FV_EMBED_SIZE * 3))
      fv_embedder_embed (emb, crop.data (), FV_EMBED_SIZE * 3,
          &r.embeddings[(size_t) i * dim]);
  }
  return r;
}

bool
Same (const Result &a, const Result &b)
{
  return a.faces.size () == b.faces.size ()
      && memcmp (a.faces.data (), b.faces.data (),
      a.faces.size () * sizeof (FvDetection)) == 0
      && memcmp (a.embeddings.data (), b.embeddings.data (),
      a.embeddings.size () * sizeof (float)) == 0;
}

// Fails if detectors or embedders go back to keeping their activations:
// they would hold megabytes each between runs.
TEST (Workspace, InstancesShareWorkingMemoryAndAgreeAcrossThreads)
{
  FV_SKIP_WITHOUT_MODEL (pnet, "pnet.tflite");
  FV_SKIP_WITHOUT_MODEL (rnet, "rnet.tflite");
  FV_SKIP_WITHOUT_MODEL (onet, "onet.tflite");
  FV_SKIP_WITHOUT_MODEL (mfn, "MobileFaceNet.tflite");
  const std::string photo =
      fvtest::SharedPath ("data/faces/deepface/raw/person01/img10.jpg");
  int w, h;
  std::vector<guint8> rgb;
  if (!fvtest::LoadRgb (photo, &w, &h, &rgb))
    GTEST_SKIP () << photo << " not found";
  FvFrame frame;
  const guint8 *planes[1] = { rgb.data () };
  gint strides[1] = { w * 3 };
  g_autoptr (GError) error = NULL;
  ASSERT_TRUE (fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes,
          strides, &error));

  FvModel *m[4];
  const std::string *paths[4] = { &pnet, &rnet, &onet, &mfn };
  for (int i = 0; i < 4; i++) {
    m[i] = fv_model_get_shared (paths[i]->c_str (), &error);
    ASSERT_NE (nullptr, m[i]) << error->message;
  }
  FvDetector *det[kInstances];
  FvEmbedder *emb[kInstances];
  FvAligner *al[kInstances];
  for (guint i = 0; i < kInstances; i++) {
    det[i] = fv_detector_new_for_models (m[0], m[1], m[2], NULL, &error);
    ASSERT_NE (nullptr, det[i]) << error->message;
    emb[i] = fv_embedder_new_for_model (m[3], 1, &error);
    ASSERT_NE (nullptr, emb[i]) << error->message;
    al[i] = fv_aligner_new ();
  }

  const Result want = DetectAndEmbed (det[0], emb[0], al[0], &frame);
  ASSERT_GE (want.faces.size (), 1u);

  const int rounds = fvtest::SampleEvery () > 1 ? 1 : 3;
  std::vector<int> mismatches (kInstances, 0);
  std::vector<std::thread> threads;
  for (guint t = 0; t < kInstances; t++)
    threads.emplace_back ([&, t] {
          for (int r = 0; r < rounds; r++)
            if (!Same (want, DetectAndEmbed (det[t], emb[t], al[t], &frame)))
              mismatches[t]++;
        });
  for (auto &th : threads)
    th.join ();
  for (guint t = 0; t < kInstances; t++)
    EXPECT_EQ (0, mismatches[t]) << "instance " << t;

  // Between runs an instance holds next to nothing; a detection borrows
  // megabytes, and the process's working memory is that of the blocks lent
  // at once (one per processor), not of the instances.
  gsize work = 0;
  for (guint i = 0; i < kInstances; i++) {
    EXPECT_LT (fv_detector_get_memory_size (det[i]), (gsize) 64 << 10);
    EXPECT_EQ (0u, fv_embedder_get_arena_size (emb[i]));
    work = MAX (work, fv_detector_get_work_size (det[i]));
  }
  EXPECT_GT (work, (gsize) 2 << 20);
  EXPECT_LE (fv_workspace_get_max_borrowers (), Limit ());
  EXPECT_LE (fv_workspace_get_n_blocks (), Limit ());
  EXPECT_LE (fv_workspace_get_size (), Limit () * work);
  printf ("%u detectors + embedders on %u threads: %u blocks of working "
      "memory, %.1f MB in all (a detection borrows %.1f MB); a detector "
      "holds %.2f MB between runs\n", kInstances, kInstances,
      fv_workspace_get_n_blocks (), fv_workspace_get_size () / 1048576.0,
      work / 1048576.0, fv_detector_get_memory_size (det[0]) / 1048576.0);

  for (guint i = 0; i < kInstances; i++) {
    fv_detector_free (det[i]);
    fv_embedder_free (emb[i]);
    fv_aligner_free (al[i]);
  }
  for (int i = 0; i < 4; i++)
    fv_model_unref (m[i]);
}

}  // namespace

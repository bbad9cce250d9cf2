// Threads: a session run on several threads gives the same outputs as on
// one, whether it splits each layer (one image, or the images left over)
// or runs whole images per thread (batches), for MobileFaceNet and for the
// MTCNN nets (generic ops, several outputs); and the per-step profile
// accounts for every multiply-add.
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "fv-test-util.h"

namespace {

std::vector<float>
RandomInput (size_t n, unsigned seed)
{
  std::mt19937 rng (seed);
  std::uniform_real_distribution<float> d (-1.0f, 1.0f);
  std::vector<float> v (n);
  for (auto &x : v)
    x = d (rng);
  return v;
}

size_t
Elems (const FvShape &s)
{
  size_t n = 1;
  for (guint i = 0; i < s.rank; i++)
    n *= s.dims[i];
  return n;
}

// Runs @session on @batch images of @input; returns every output, the
// first @batch images of each, concatenated.
std::vector<float>
RunSession (FvSession *session, const std::vector<float> &input, guint batch)
{
  FvModel *model = fv_session_get_model (session);
  FvShape shape;
  std::vector<float> out;

  memcpy (fv_session_get_input (session, 0), input.data (),
      input.size () * sizeof (float));
  fv_session_run (session, batch);
  for (guint o = 0; o < fv_model_get_n_outputs (model); o++) {
    const float *p = fv_session_get_output (session, o, &shape);
    size_t per_image = Elems (shape) / shape.dims[0];
    out.insert (out.end (), p, p + per_image * batch);
  }
  return out;
}

void
ExpectSame (const std::vector<float> &want, const std::vector<float> &got,
    const std::string &what)
{
  ASSERT_EQ (want.size (), got.size ()) << what;
  double diff = 0;
  for (size_t i = 0; i < want.size (); i++) {
    ASSERT_TRUE (std::isfinite (got[i])) << what << " element " << i;
    diff = std::max (diff, (double) std::fabs (want[i] - got[i]));
  }
  // The same kernels compute every element whatever the split.
  EXPECT_LE (diff, 1e-6) << what;
}

// Compares @model at @threads threads with one thread, over batches.
void
CheckModel (FvModel *model, guint height, guint width, guint max_batch,
    guint threads)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) one = fv_session_new (model, max_batch, height, width,
      &error);
  ASSERT_NE (nullptr, one) << error->message;
  g_autoptr (FvSession) many = fv_session_new (model, max_batch, height,
      width, &error);
  ASSERT_NE (nullptr, many) << error->message;
  ASSERT_TRUE (fv_session_set_threads (many, threads, &error))
      << error->message;
  EXPECT_EQ (threads, fv_session_get_threads (many));
  EXPECT_GE (fv_session_get_arena_size (many),
      fv_session_get_arena_size (one));

  FvShape in;
  fv_model_get_input_shape (model, 0, &in);
  const size_t image = (size_t) (height ? height : in.dims[1])
      * (width ? width : in.dims[2]) * in.dims[3];
  for (guint batch = 1; batch <= max_batch; batch++) {
    auto input = RandomInput (image * batch, 17 + batch);
    auto want = RunSession (one, input, batch);
    // Several rounds: a race shows up as a difference in some of them.
    const int rounds = fvtest::SampleEvery () > 1 ? 2 : 5;
    for (int round = 0; round < rounds; round++) {
      auto got = RunSession (many, input, batch);
      ExpectSame (want, got, "batch " + std::to_string (batch) + " threads "
          + std::to_string (threads) + " round " + std::to_string (round));
    }
  }
}

TEST (Threads, MobileFaceNetMatchesOneThread)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, model) << error->message;
  CheckModel (model, 0, 0, 5, 2);
  CheckModel (model, 0, 0, 4, 3);
}

TEST (Threads, MtcnnNetsMatchOneThread)
{
  FV_SKIP_WITHOUT_MODEL (pnet, "pnet.tflite");
  FV_SKIP_WITHOUT_MODEL (rnet, "rnet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) p = fv_model_new_from_file (pnet.c_str (), &error);
  ASSERT_NE (nullptr, p) << error->message;
  g_autoptr (FvModel) r = fv_model_new_from_file (rnet.c_str (), &error);
  ASSERT_NE (nullptr, r) << error->message;
  CheckModel (p, 97, 131, 2, 2);
  CheckModel (r, 0, 0, 5, 2);
}

TEST (Threads, ChangingTheCountKeepsResults)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, model) << error->message;
  g_autoptr (FvSession) s = fv_session_new (model, 3, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  auto input = RandomInput (112 * 112 * 3 * 3, 5);
  auto want = RunSession (s, input, 3);
  for (guint n : {2u, 1u, 4u, 0u, 2u}) {
    ASSERT_TRUE (fv_session_set_threads (s, n, &error)) << error->message;
    EXPECT_EQ (n ? n : g_get_num_processors (), fv_session_get_threads (s));
    ExpectSame (want, RunSession (s, input, 3), "threads " + std::to_string (n));
  }
}

TEST (Threads, TooManyThreadsIsAnError)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, model) << error->message;
  g_autoptr (FvSession) s = fv_session_new (model, 1, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  EXPECT_FALSE (fv_session_set_threads (s, 100000, &error));
  ASSERT_NE (nullptr, error);
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR,
          FV_MODEL_ERROR_INVALID));
  EXPECT_EQ (1u, fv_session_get_threads (s));
}

// The profile names every step, counts the multiply-adds that the engine
// runs for MobileFaceNet and times every step once switched on.
TEST (Threads, ProfileCoversEveryStep)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, model) << error->message;
  for (guint threads : {1u, 2u}) {
    g_autoptr (FvSession) s = fv_session_new (model, 2, 0, 0, &error);
    ASSERT_NE (nullptr, s) << error->message;
    ASSERT_TRUE (fv_session_set_threads (s, threads, &error));
    auto input = RandomInput (112 * 112 * 3 * 2, 9);
    fv_session_set_profiling (s, TRUE);
    RunSession (s, input, 1);
    RunSession (s, input, 2);
    guint64 macs = 0;
    guint gemm = 0;
    ASSERT_GT (fv_session_get_n_steps (s), 0u);
    for (guint i = 0; i < fv_session_get_n_steps (s); i++) {
      FvStepProfile p;
      fv_session_get_step_profile (s, i, &p);
      ASSERT_NE (nullptr, p.name);
      ASSERT_NE (nullptr, p.family);
      EXPECT_EQ (2u, p.runs);
      // With whole images per thread, only those of thread 0 are timed.
      if (threads == 1)
        EXPECT_EQ (3u, p.images);
      else
        EXPECT_TRUE (p.images >= 1 && p.images <= 3) << p.images;
      if (p.macs > 0) {
        EXPECT_NE (nullptr, p.kernel) << p.name;
        EXPECT_GT (p.ns, 0u) << p.name;
      }
      if (strcmp (p.family, "gemm") == 0)
        gemm++;
      macs += p.macs;
    }
    // The file's 234,105,344 less two folded pairs of 1x1 convolutions
    // (fv-passes.c): the 64x64 on 56x56 (12,845,056) and the head's
    // 512x512 (262,144).
    EXPECT_EQ (220998144u, macs);
    EXPECT_EQ (32u, gemm);
    fv_session_set_profiling (s, FALSE);
    FvStepProfile p;
    fv_session_get_step_profile (s, 0, &p);
    EXPECT_EQ (0u, p.ns);
    EXPECT_EQ (0u, p.runs);
  }
}

// Issue 14: one process-wide pool. Callers get the same pool (one thread
// per processor); many callers at once all finish their tasks (a caller
// that finds the workers busy runs its chunks itself), and a limited run
// never uses more threads than asked.
struct PoolTask
{
  std::atomic<int> chunks{ 0 };
  std::atomic<unsigned> max_thread{ 0 };
};

void
CountChunk (gpointer data, guint, guint, guint thread)
{
  PoolTask *t = static_cast<PoolTask *> (data);
  t->chunks++;
  unsigned m = t->max_thread.load ();
  while (thread > m && !t->max_thread.compare_exchange_weak (m, thread)) {
  }
}

TEST (Threads, SharedPoolServesConcurrentCallers)
{
  const guint n_cpus = g_get_num_processors ();
  g_autoptr (GError) error = NULL;
  FvThreadPool *a = fv_thread_pool_get_shared (1, &error);
  ASSERT_NE (nullptr, a) << error->message;
  FvThreadPool *b = fv_thread_pool_get_shared (n_cpus, &error);
  EXPECT_EQ (a, b);
  EXPECT_EQ (fv_thread_pool_get_n_threads (a), n_cpus);
  FvThreadPool *own = fv_thread_pool_get_shared (n_cpus + 1, &error);
  EXPECT_NE (own, a);
  EXPECT_EQ (fv_thread_pool_get_n_threads (own), n_cpus + 1);
  fv_thread_pool_free (own);

  PoolTask tasks[4];
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; c++)
    callers.emplace_back ([&, c] {
      for (int r = 0; r < 100; r++)
        fv_thread_pool_run_limited (a, CountChunk, &tasks[c], 16, 2);
    });
  for (auto &t : callers)
    t.join ();
  for (auto &t : tasks) {
    EXPECT_EQ (t.chunks.load (), 100 * 16);
    EXPECT_LT (t.max_thread.load (), 2u);
  }
  fv_thread_pool_free (b);
  fv_thread_pool_free (a);
  // the last reference stopped it; the next caller starts a new one
  FvThreadPool *again = fv_thread_pool_get_shared (1, &error);
  ASSERT_NE (nullptr, again);
  fv_thread_pool_free (again);
}

// Issue 14: a model file is loaded once while someone holds it, and a copy
// of the file (another inode) is another model.
TEST (Threads, SharedModelsAreLoadedOnce)
{
  FV_SKIP_WITHOUT_MODEL (path, "rnet.tflite");
  g_autoptr (GError) error = NULL;
  const guint base = fv_model_get_n_shared ();
  FvModel *a = fv_model_get_shared (path.c_str (), &error);
  ASSERT_NE (nullptr, a) << error->message;
  FvModel *b = fv_model_get_shared (path.c_str (), &error);
  EXPECT_EQ (a, b);
  EXPECT_EQ (fv_model_get_n_shared (), base + 1);

  std::string copy = fvtest::ScratchDir ("shared-model") + "/rnet-copy.tflite";
  gchar *bytes = NULL;
  gsize len = 0;
  ASSERT_TRUE (g_file_get_contents (path.c_str (), &bytes, &len, NULL));
  ASSERT_TRUE (g_file_set_contents (copy.c_str (), bytes, len, NULL));
  g_free (bytes);
  FvModel *c = fv_model_get_shared (copy.c_str (), &error);
  ASSERT_NE (nullptr, c) << error->message;
  EXPECT_NE (a, c);
  EXPECT_STREQ (fv_model_get_sha256 (a), fv_model_get_sha256 (c));
  EXPECT_EQ (fv_model_get_n_shared (), base + 2);

  fv_model_unref (c);
  fv_model_unref (a);
  EXPECT_EQ (fv_model_get_n_shared (), base + 1);
  fv_model_unref (b);
  EXPECT_EQ (fv_model_get_n_shared (), base);
  // a missing file is an error, as with fv_model_new_from_file()
  EXPECT_EQ (nullptr, fv_model_get_shared ("/nonexistent/x.tflite", NULL));
}

}  // namespace

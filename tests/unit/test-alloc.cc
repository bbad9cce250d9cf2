// No allocation per embedding: every allocation of the process is counted
// (malloc and friends are interposed in this test binary; under
// AddressSanitizer its allocator hooks count instead) around many runs of
// a session, one and several threads, single images and batches, and of
// the embedder. The count must stay at zero.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fv-test-util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) \
    || __has_feature(thread_sanitizer)
#define FV_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FV_TEST_SANITIZED 1
#endif

namespace {

std::atomic<bool> counting (false);
std::atomic<long> allocations (0);

inline void
Count ()
{
  if (counting.load (std::memory_order_relaxed))
    allocations.fetch_add (1, std::memory_order_relaxed);
}

}  // namespace

#if defined(FV_TEST_SANITIZED)
// The sanitizer runtime owns malloc; it calls these hooks when present.
extern "C" int __sanitizer_install_malloc_and_free_hooks (
    void (*malloc_hook) (const volatile void *, size_t),
    void (*free_hook) (const volatile void *));

namespace {
void
MallocHook (const volatile void *, size_t)
{
  Count ();
}

void
FreeHook (const volatile void *)
{
}

bool
InstallHooks ()
{
  static const bool installed =
      __sanitizer_install_malloc_and_free_hooks (MallocHook, FreeHook) != 0;
  return installed;
}
}  // namespace
#else
// glibc's own entry points, for the interposed functions to forward to.
extern "C" {
void *__libc_malloc (size_t size);
void *__libc_calloc (size_t n, size_t size);
void *__libc_realloc (void *p, size_t size);
void *__libc_memalign (size_t alignment, size_t size);

void *
malloc (size_t size)
{
  Count ();
  return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
  Count ();
  return __libc_calloc (n, size);
}

void *
realloc (void *p, size_t size)
{
  Count ();
  return __libc_realloc (p, size);
}

int
posix_memalign (void **out, size_t alignment, size_t size)
{
  Count ();
  void *p = __libc_memalign (alignment, size);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

void *
aligned_alloc (size_t alignment, size_t size)
{
  Count ();
  return __libc_memalign (alignment, size);
}

void *
memalign (size_t alignment, size_t size)
{
  Count ();
  return __libc_memalign (alignment, size);
}
}

namespace {
bool
InstallHooks ()
{
  return true;
}
}  // namespace
#endif

namespace {

class Alloc : public ::testing::Test {
 protected:
  void SetUp () override {
    if (!InstallHooks ())
      GTEST_SKIP () << "cannot hook the allocator of this build";
  }
  // Allocations made by @fn, on any thread.
  template <typename F> long Allocations (F fn) {
    allocations = 0;
    counting = true;
    fn ();
    counting = false;
    return allocations.load ();
  }
};

// The counter sees allocations at all, from any thread: otherwise the
// zero below would prove nothing.
TEST_F (Alloc, CounterSeesAllocations)
{
  EXPECT_GE (Allocations ([] {
            void *p = g_malloc (100);
            g_free (p);
          }), 1);
  EXPECT_GE (Allocations ([] {
            std::vector<int> v (1000);
            v[0] = 1;
          }), 1);
  EXPECT_GE (Allocations ([] {
            GThread *t = g_thread_new ("alloc-test", [] (gpointer) -> gpointer {
                  g_free (g_malloc (10));
                  return nullptr;
                }, nullptr);
            g_thread_join (t);
          }), 2);
}

TEST_F (Alloc, SessionRunsAllocateNothing)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) model = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, model) << error->message;
  std::vector<float> input (112 * 112 * 3 * 3, 0.25f);

  for (guint threads : {1u, 2u, 3u}) {
    g_autoptr (FvSession) s = fv_session_new (model, 3, 0, 0, &error);
    ASSERT_NE (nullptr, s) << error->message;
    ASSERT_TRUE (fv_session_set_threads (s, threads, &error));
    auto run = [&] (guint batch, int times) {
      for (int i = 0; i < times; i++) {
        memcpy (fv_session_get_input (s, 0), input.data (),
            batch * 112 * 112 * 3 * sizeof (float));
        fv_session_run (s, batch);
      }
    };
    // fewer runs in the sanitizer tree (FV_TEST_SAMPLE_EVERY), where each
    // is ten times slower; a single allocating run is caught either way
    const int many = fvtest::SampleEvery () > 1 ? 2 : 10;
    const int few = fvtest::SampleEvery () > 1 ? 1 : 4;
    run (1, 2);
    run (3, 2);
    EXPECT_EQ (0, Allocations ([&] {
              run (1, many);
              run (2, few);
              run (3, few);
            })) << threads << " thread(s)";
    // Also with the step timers on, and after the workers fell asleep.
    fv_session_set_profiling (s, TRUE);
    run (1, 1);
    EXPECT_EQ (0, Allocations ([&] {
              run (1, few + 1);
              g_usleep (20000);
              run (3, 2);
            })) << threads << " thread(s), profiling";
  }
}

TEST_F (Alloc, EmbedderAllocatesNothing)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) e = fv_embedder_new (path.c_str (), &error);
  ASSERT_NE (nullptr, e) << error->message;
  std::vector<guint8> rgb (112 * 112 * 3);
  for (size_t i = 0; i < rgb.size (); i++)
    rgb[i] = (guint8) (i * 7);
  float emb[192];
  fv_embedder_embed (e, rgb.data (), 112 * 3, emb);
  EXPECT_EQ (0, Allocations ([&] {
            for (int i = 0; i < 20; i++)
              fv_embedder_embed (e, rgb.data (), 112 * 3, emb);
          }));
}

}  // namespace

// No allocation per embedding: every allocation of the process is counted
// (malloc and friends are interposed in this test binary; under
// AddressSanitizer its allocator hooks count instead) around many runs of
// a session, one and several threads, single images and batches, and of
// the embedder. The count must stay at zero. The detector too, except for
// the row buffers that libyuv's scalers allocate inside each call (its
// API takes no scratch memory): allocations whose caller lies in libyuv
// are not counted there.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <link.h>

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
// Code addresses whose allocations are not counted: [lo, hi).
std::atomic<uintptr_t> exempt_lo (0), exempt_hi (0);

inline void
Count (const void *caller = nullptr)
{
  if (!counting.load (std::memory_order_relaxed))
    return;
  const uintptr_t c = (uintptr_t) caller;
  if (c && c >= exempt_lo.load (std::memory_order_relaxed)
      && c < exempt_hi.load (std::memory_order_relaxed))
    return;
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
  Count (__builtin_return_address (0));
  return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
  Count (__builtin_return_address (0));
  return __libc_calloc (n, size);
}

void *
realloc (void *p, size_t size)
{
  Count (__builtin_return_address (0));
  return __libc_realloc (p, size);
}

int
posix_memalign (void **out, size_t alignment, size_t size)
{
  Count (__builtin_return_address (0));
  void *p = __libc_memalign (alignment, size);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

void *
aligned_alloc (size_t alignment, size_t size)
{
  Count (__builtin_return_address (0));
  return __libc_memalign (alignment, size);
}

void *
memalign (size_t alignment, size_t size)
{
  Count (__builtin_return_address (0));
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
#define FV_TEST_KNOWS_CALLERS 1
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

#ifdef FV_TEST_KNOWS_CALLERS
// The executable code of the loaded library whose name contains @name;
// false when there is none (a static build).
bool
CodeRange (const char *name, uintptr_t * lo, uintptr_t * hi)
{
  struct Find
  {
    const char *name;
    uintptr_t lo, hi;
  } f = { name, UINTPTR_MAX, 0 };
  dl_iterate_phdr ([] (struct dl_phdr_info *info, size_t, void *data) -> int {
        Find *f = (Find *) data;
        if (!info->dlpi_name || !strstr (info->dlpi_name, f->name))
          return 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW (Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
            continue;
          uintptr_t a = info->dlpi_addr + ph.p_vaddr;
          f->lo = std::min (f->lo, a);
          f->hi = std::max (f->hi, (uintptr_t) (a + ph.p_memsz));
        }
        return 1;
      }, &f);
  *lo = f.lo;
  *hi = f.hi;
  return f.hi > f.lo;
}
#endif

// The detector on frames of one size, with faces (R-Net and O-Net crops
// run) and without, detecting and tracking: after the first frame, its own
// code allocates nothing.
TEST_F (Alloc, DetectorAllocatesNothingButLibyuvRows)
{
#ifndef FV_TEST_KNOWS_CALLERS
  GTEST_SKIP () << "the sanitizer's allocator hooks do not tell the caller";
#else
  FV_SKIP_WITHOUT_MODEL (path, "pnet.tflite");
  uintptr_t lo, hi;
  if (!CodeRange ("libyuv", &lo, &hi))
    GTEST_SKIP () << "libyuv is not a shared library here";
  // A real face (R-Net and O-Net run on its candidates) and a flat frame
  // of the same size (only P-Net).
  const std::string photo =
      fvtest::SharedPath ("data/faces/deepface/raw/person01/img10.jpg");
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (photo.c_str (), NULL);
  if (!pb)
    GTEST_SKIP () << photo << " not found";
  const guint w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  const int nch = gdk_pixbuf_get_n_channels (pb);
  const int stride = gdk_pixbuf_get_rowstride (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  std::vector<guint8> rgb ((size_t) w * h * 3);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      memcpy (&rgb[((size_t) y * w + x) * 3], px + (size_t) y * stride
          + x * nch, 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) det = fv_detector_new (NULL, &error);
  ASSERT_NE (nullptr, det) << error->message;
  FvFrame frame;
  const guint8 *planes[1] = { rgb.data () };
  gint strides[1] = { (gint) w * 3 };
  ASSERT_TRUE (fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, w, h, planes,
          strides, &error));
  FvDetection faces[8];
  std::vector<guint8> flat ((size_t) w * h * 3, 100);
  FvFrame empty = frame;
  empty.planes[0] = flat.data ();
  FvDetection prev[8];
  ASSERT_EQ (1u, fv_detector_detect (det, &frame, prev, 8));
  fv_detector_detect (det, &empty, faces, 8);
  // tracking the face (fv_detector_track) too
  ASSERT_EQ (1u, fv_detector_track (det, &frame, prev, 1, faces, 8));
  // and the scene-change gate between full scans (fv_scene)
  g_autoptr (FvScene) scene = fv_scene_new ();
  fv_scene_set_reference (scene, &frame, prev, 1);
  EXPECT_GT (fv_scene_get_change (scene, &empty, prev, 1),
      FV_SCENE_CHANGE_THRESHOLD);
  const int times = fvtest::SampleEvery () > 1 ? 2 : 6;

  // Counted with libyuv's allocations included, the frames do allocate:
  // the exemption below is what makes the zero.
  EXPECT_GE (Allocations ([&] {
            fv_detector_detect (det, &empty, faces, 8);
          }), 1);
  exempt_lo = lo;
  exempt_hi = hi;
  long n = Allocations ([&] {
        for (int i = 0; i < times; i++) {
          fv_detector_detect (det, &frame, faces, 8);
          fv_detector_detect (det, &empty, faces, 8);
          fv_detector_track (det, &frame, prev, 1, faces, 8);
          fv_detector_track (det, &empty, prev, 1, faces, 8);
          fv_scene_set_reference (scene, &frame, prev, 1);
          fv_scene_get_change (scene, &empty, faces, 1);
          fv_scene_get_change (scene, &frame, prev, 1);
        }
      });
  exempt_lo = 0;
  exempt_hi = 0;
  EXPECT_EQ (0, n);
#endif
}

}  // namespace

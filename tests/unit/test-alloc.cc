// No allocation per embedding: every allocation of the process is counted
// (malloc and friends are interposed in this test binary; under
// AddressSanitizer its allocator hooks count instead) around many runs of
// a session, one and several threads, single images and batches, and of
// the embedder, and of the detector, scaling included (libyuv's
// ScalePlane() would malloc a row buffer per call; fv_scale_plane() runs
// those paths with the detector's own buffer). The count must stay at zero.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gdk-pixbuf/gdk-pixbuf.h>

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
  if (!counting.load (std::memory_order_relaxed))
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

// Matching against a large snapshot (half floats and residuals): the half
// scan, its float re-rank (rows rebuilt), a query close to a crowd of
// near-copies (rescanned in float) and the float scan allocate nothing
// once the thread's re-rank rows exist.
TEST_F (Alloc, LargeGalleryMatchAllocatesNothing)
{
  const guint dim = 128, n = 4200, crowd = 300;
  std::vector<float> flat ((gsize) n * dim);
  std::vector<std::string> labels (n);
  std::vector<const char *> ptrs (n);
  guint64 seed = 7;
  for (auto &x : flat) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    x = (float) ((seed >> 40) & 0xffff) / 65536.0f - 0.5f;
  }
  for (guint i = 0; i < crowd; i++)
    for (guint k = 0; k < dim; k++)
      flat[(gsize) i * dim + k] = flat[k] + 1e-5f * flat[(gsize) i * dim + k];
  for (guint i = 0; i < n; i++) {
    labels[i] = "id" + std::to_string (i);
    ptrs[i] = labels[i].c_str ();
  }
  FvGallerySnapshot *snap = fv_gallery_snapshot_new (dim, n, ptrs.data (),
      flat.data (), NULL);
  ASSERT_TRUE (fv_gallery_snapshot_has_half (snap));
  // a member with noise, an unrelated vector, the crowd
  std::vector<float> q (3 * dim);
  for (guint k = 0; k < dim; k++) {
    q[k] = flat[(gsize) 1000 * dim + k] + 0.1f * flat[(gsize) 2000 * dim + k];
    q[dim + k] = flat[(gsize) 3000 * dim + (dim - 1 - k)];
    q[2 * dim + k] = flat[k];
  }
  FvGalleryMatch m[3];
  auto run = [&] {
    fv_gallery_snapshot_match (snap, q.data (), 3, 0.5f, 0.0f, m);
    fv_gallery_snapshot_match (snap, q.data () + dim, 1, 0.5f, 0.0f, m);
    fv_gallery_snapshot_match_with (snap, FV_GALLERY_SCAN_FLOAT, q.data (),
        2, 0.5f, 0.0f, m);
  };
  run ();                       // the thread's re-rank rows
  EXPECT_EQ (0, Allocations ([&] {
            run ();
            run ();
          }));
  fv_gallery_snapshot_unref (snap);
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

// A packed RGB copy of @pb and a frame on it.
struct RgbImage
{
  std::vector<guint8> px;
  FvFrame frame;
};

bool
ToRgb (GdkPixbuf * pb, RgbImage * img)
{
  const guint w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  const int nch = gdk_pixbuf_get_n_channels (pb);
  const int stride = gdk_pixbuf_get_rowstride (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  img->px.resize ((size_t) w * h * 3);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      memcpy (&img->px[((size_t) y * w + x) * 3], px + (size_t) y * stride
          + x * nch, 3);
  const guint8 *planes[1] = { img->px.data () };
  gint strides[1] = { (gint) w * 3 };
  return fv_frame_init (&img->frame, FV_PIXEL_FORMAT_RGB, w, h, planes,
      strides, NULL);
}

// The detector once warmed up, on every path that scales: a photo with a
// face (pyramid levels, R-Net and O-Net crops), a flat frame of the same
// size (P-Net only), the face alone smaller than the padded pass's canvas
// (which scales it up, bilinear, and finds the face that fills the
// picture), and the photo through a detector whose maximum input size it
// exceeds (the frame reader box-filters it down in bands), and tracking
// the face on the photo and the flat frame. The padded
// pass (on by default) runs on all of them.
TEST_F (Alloc, DetectorAllocatesNothing)
{
  FV_SKIP_WITHOUT_MODEL (path, "pnet.tflite");
  const std::string photo =
      fvtest::SharedPath ("data/faces/deepface/raw/person01/img10.jpg");
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (photo.c_str (), NULL);
  if (!pb)
    GTEST_SKIP () << photo << " not found";
  g_autoptr (GError) error = NULL;
  g_autoptr (FvDetector) det = fv_detector_new (NULL, &error);
  ASSERT_NE (nullptr, det) << error->message;
  FvDetectorOptions opts;
  fv_detector_options_init (&opts);
  opts.max_input_size = 256;
  g_autoptr (FvDetector) shrink = fv_detector_new (&opts, &error);
  ASSERT_NE (nullptr, shrink) << error->message;
  RgbImage face, flat, alone;
  ASSERT_TRUE (ToRgb (pb, &face));
  flat = face;
  std::fill (flat.px.begin (), flat.px.end (), 100);
  flat.frame.planes[0] = flat.px.data ();
  FvDetection faces[8];

  // The first frame of a size plans and allocates: the counter sees the
  // detector's allocations.
  EXPECT_GE (Allocations ([&] {
            ASSERT_EQ (1u, fv_detector_detect (det, &face.frame, faces, 8));
          }), 1);
  const int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  const int x1 = std::max (0, (int) faces[0].x1);
  const int y1 = std::max (0, (int) faces[0].y1);
  const int x2 = std::min (w, (int) faces[0].x2);
  const int y2 = std::min (h, (int) faces[0].y2);
  ASSERT_GT (x2 - x1, 100);
  g_autoptr (GdkPixbuf) cut = gdk_pixbuf_new_subpixbuf (pb, x1, y1, x2 - x1,
      y2 - y1);
  g_autoptr (GdkPixbuf) small = gdk_pixbuf_scale_simple (cut, 100,
      100 * (y2 - y1) / (x2 - x1), GDK_INTERP_BILINEAR);
  ASSERT_TRUE (ToRgb (small, &alone));
  // tracking the face (fv_detector_track) too
  FvDetection prev[1] = { faces[0] };
  ASSERT_EQ (1u, fv_detector_track (det, &face.frame, prev, 1, faces, 8));
  fv_detector_track (det, &flat.frame, prev, 1, faces, 8);
  // and the scene-change gate between full scans (fv_scene)
  g_autoptr (FvScene) scene = fv_scene_new ();
  fv_scene_set_reference (scene, &face.frame, prev, 1);
  EXPECT_GT (fv_scene_get_change (scene, &flat.frame, prev, 1),
      FV_SCENE_CHANGE_THRESHOLD);
  fv_detector_detect (det, &flat.frame, faces, 8);
  EXPECT_GE (fv_detector_detect (det, &alone.frame, faces, 8), 1u)
      << "the padded pass finds the face that fills a small picture";
  EXPECT_GE (fv_detector_detect (shrink, &face.frame, faces, 8), 1u);

  const int times = fvtest::SampleEvery () > 1 ? 1 : 4;
  EXPECT_EQ (0, Allocations ([&] {
            for (int i = 0; i < times; i++) {
              fv_detector_detect (det, &face.frame, faces, 8);
              fv_detector_detect (det, &flat.frame, faces, 8);
              fv_detector_detect (det, &alone.frame, faces, 8);
              fv_detector_detect (shrink, &face.frame, faces, 8);
              fv_detector_track (det, &face.frame, prev, 1, faces, 8);
              fv_detector_track (det, &flat.frame, prev, 1, faces, 8);
              fv_scene_set_reference (scene, &face.frame, prev, 1);
              fv_scene_get_change (scene, &flat.frame, faces, 1);
              fv_scene_get_change (scene, &face.frame, prev, 1);
            }
          }));
}
}  // namespace

// Plane scaling (src/face/fv-scale.c): fv_scale_plane() writes exactly the
// pixels of libyuv's ScalePlane() (box and bilinear, every path it can
// take: the detector's pyramid levels and crops, the frame reader's bands,
// the padded pass's upscaling, and odd sizes), at every libyuv CPU level,
// inside a scratch buffer of the announced size and without touching the
// destination outside its rectangle.
#include <cstring>
#include <random>
#include <vector>

#include <libyuv.h>

#include "face/fv-face-private.h"
#include "fv-test-util.h"

namespace {

struct Size
{
  int sw, sh, dw, dh;
};

// Textured source: the sums and interpolations see every byte value.
std::vector<guint8>
MakePlane (int h, int stride, unsigned seed)
{
  std::vector<guint8> p ((size_t) stride * h);
  std::mt19937 rng (seed);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < stride; x++)
      p[(size_t) y * stride + x] = (guint8) ((x * 7 + y * 13) % 256 < 128
          ? rng () & 255 : (x * 3 + y * 5) & 255);
  return p;
}

std::vector<Size>
Sizes ()
{
  std::vector<Size> s = {
    // the pyramid of a 640x480 canvas (factor 0.709) and of a 1920 one
    {640, 480, 454, 340}, {640, 480, 322, 241}, {640, 480, 228, 171},
    {640, 480, 162, 121}, {640, 480, 115, 86}, {640, 480, 81, 61},
    {640, 480, 58, 43}, {640, 480, 41, 31}, {640, 480, 29, 22},
    {1920, 1080, 1361, 766}, {1920, 1080, 684, 385},
    // crops to R-Net and O-Net: down, up, equal, one pixel
    {100, 100, 24, 24}, {47, 53, 24, 24}, {24, 24, 24, 24}, {13, 9, 24, 24},
    {1, 1, 24, 24}, {200, 210, 48, 48}, {60, 58, 48, 48}, {31, 40, 48, 48},
    {3, 48, 48, 48}, {48, 3, 48, 48}, {30, 30, 21, 17},
    // ratios with their own libyuv paths: 1/2, 3/4, 3/8, 1/4, 2x, x3
    {96, 64, 48, 32}, {96, 64, 72, 48}, {96, 64, 36, 24}, {96, 64, 24, 16},
    {24, 24, 48, 48}, {23, 24, 46, 48}, {90, 30, 90, 10}, {90, 30, 30, 30},
    // the frame reader's bands (one output row from many source rows) and
    // the padded pass's upscaling
    {1280, 45, 640, 16}, {3840, 30, 1920, 8}, {1000, 7, 333, 1},
    {200, 150, 400, 300}, {201, 149, 320, 240}, {320, 240, 321, 241},
    // wide sources (the 64-bit column stepper) and single columns/rows
    {33000, 2, 100, 1}, {1, 100, 1, 24}, {100, 1, 24, 1},
  };
  // random sizes, fewer in the sanitizer tree (FV_TEST_SAMPLE_EVERY)
  const int n_random = fvtest::SampleEvery () > 1 ? 40 : 150;
  std::mt19937 rng (7);
  for (int i = 0; i < n_random; i++) {
    std::uniform_int_distribution < int >src (1, 300);
    Size z;
    z.sw = src (rng);
    z.sh = src (rng);
    z.dw = std::uniform_int_distribution < int >(1, 2 * z.sw + 1) (rng);
    z.dh = std::uniform_int_distribution < int >(1, 2 * z.sh + 1) (rng);
    s.push_back (z);
  }
  return s;
}

void
CheckSame (const Size & z, bool box, unsigned seed)
{
  const int ss = z.sw + 5, ds = z.dw + 3;
  std::vector<guint8> src = MakePlane (z.sh, ss, seed);
  std::vector<guint8> want ((size_t) ds * z.dh, 0xA5);
  std::vector<guint8> got ((size_t) ds * z.dh, 0xA5);
  // exactly the announced bytes: AddressSanitizer sees an overrun
  std::vector<guint8> scratch (fv_scale_scratch_size (z.sw, z.dw));

  libyuv::ScalePlane (src.data (), ss, z.sw, z.sh, want.data (), ds, z.dw,
      z.dh, box ? libyuv::kFilterBox : libyuv::kFilterBilinear);
  fv_scale_plane (src.data (), ss, z.sw, z.sh, got.data (), ds, z.dw, z.dh,
      box, scratch.data ());
  for (int y = 0; y < z.dh; y++)
    for (int x = 0; x < ds; x++) {
      size_t i = (size_t) y * ds + x;
      if (want[i] != got[i]) {
        ADD_FAILURE () << z.sw << "x" << z.sh << " -> " << z.dw << "x" << z.dh
            << (box ? " box" : " bilinear") << ": pixel (" << x << ", " << y
            << ") is " << (int) got[i] << ", libyuv " << (int) want[i];
        return;
      }
    }
}

TEST (FaceScale, SameAsLibyuvAtEveryCpuLevel)
{
  // libyuv's own CPU levels: all it has, SSSE3 only, plain C.
  const int masks[] = { -1, libyuv::kCpuHasX86 | libyuv::kCpuHasSSE2
        | libyuv::kCpuHasSSSE3 | 1, 1
  };
  const std::vector<Size> sizes = Sizes ();

  for (int mask : masks) {
    libyuv::MaskCpuFlags (mask);
    unsigned seed = 1;
    for (const Size & z : sizes) {
      CheckSame (z, true, seed++);
      CheckSame (z, false, seed++);
    }
  }
  libyuv::MaskCpuFlags (-1);
}

}  // namespace

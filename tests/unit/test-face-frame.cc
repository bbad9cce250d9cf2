// Frame access: every pixel format reads back as the RGB image it was made
// from (the packed formats exactly, the YUV ones within the loss of 4:2:0
// chroma), regions at any offset equal the same pixels of a whole-frame
// read, and bad frame descriptions are errors.
#include <cmath>
#include <cstring>
#include <vector>

#include <libyuv.h>

#include "fv-test-util.h"

namespace {

// A colour test image: smooth gradients plus a few sharp-edged blocks.
std::vector<guint8>
MakeRgb (int w, int h)
{
  std::vector<guint8> rgb (w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *p = &rgb[(y * w + x) * 3];
      p[0] = (guint8) (128 + 100 * std::sin (x * 0.05) * std::cos (y * 0.03));
      p[1] = (guint8) ((x * 255) / std::max (w - 1, 1));
      p[2] = (guint8) ((y * 255) / std::max (h - 1, 1));
      if (((x / 37) + (y / 29)) % 5 == 0) {
        p[0] = 250;
        p[1] = 20;
        p[2] = 60;
      }
    }
  return rgb;
}

// One frame in one format, with its own memory and padded strides.
struct TestFrame {
  FvPixelFormat format;
  std::vector<guint8> plane[3];
  gint stride[3] = { 0, 0, 0 };
  FvFrame frame;
};

// Packed formats are built here byte by byte from the GStreamer memory
// order (not with libyuv, whose names use word order), so a mix-up in
// the library's mapping cannot cancel out. YUV and gray come from libyuv.
void
BuildFrame (TestFrame * t, FvPixelFormat format, const std::vector<guint8> &rgb,
    int w, int h)
{
  static const struct {
    FvPixelFormat f;
    int bpp;
    int r, g, b, x;             // byte positions; x = -1: none
  } packed[] = {
    {FV_PIXEL_FORMAT_RGB, 3, 0, 1, 2, -1},
    {FV_PIXEL_FORMAT_BGR, 3, 2, 1, 0, -1},
    {FV_PIXEL_FORMAT_RGBx, 4, 0, 1, 2, 3},
    {FV_PIXEL_FORMAT_BGRx, 4, 2, 1, 0, 3},
    {FV_PIXEL_FORMAT_xRGB, 4, 1, 2, 3, 0},
    {FV_PIXEL_FORMAT_xBGR, 4, 3, 2, 1, 0},
    {FV_PIXEL_FORMAT_RGBA, 4, 0, 1, 2, 3},
    {FV_PIXEL_FORMAT_BGRA, 4, 2, 1, 0, 3},
    {FV_PIXEL_FORMAT_ARGB, 4, 1, 2, 3, 0},
    {FV_PIXEL_FORMAT_ABGR, 4, 3, 2, 1, 0},
  };
  const guint8 *planes[3] = { NULL, NULL, NULL };
  g_autoptr (GError) error = NULL;

  t->format = format;
  for (const auto &p : packed) {
    if (p.f != format)
      continue;
    t->stride[0] = w * p.bpp + 13;      // odd padding on purpose
    t->plane[0].assign ((size_t) t->stride[0] * h, 0xEE);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const guint8 *s = &rgb[(y * w + x) * 3];
        guint8 *d = &t->plane[0][y * t->stride[0] + x * p.bpp];
        d[p.r] = s[0];
        d[p.g] = s[1];
        d[p.b] = s[2];
        if (p.x >= 0)
          d[p.x] = (guint8) (x * 31 + y);       // alpha / padding: ignored
      }
  }
  if (format == FV_PIXEL_FORMAT_I420 || format == FV_PIXEL_FORMAT_NV12) {
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    std::vector<guint8> y (w * h), u (cw * ch), v (cw * ch);
    libyuv::RAWToI420 (rgb.data (), w * 3, y.data (), w, u.data (), cw,
        v.data (), cw, w, h);
    t->stride[0] = w + 7;
    t->plane[0].assign ((size_t) t->stride[0] * h, 0);
    for (int r = 0; r < h; r++)
      memcpy (&t->plane[0][r * t->stride[0]], &y[r * w], w);
    if (format == FV_PIXEL_FORMAT_I420) {
      t->stride[1] = t->stride[2] = cw + 5;
      t->plane[1].assign ((size_t) t->stride[1] * ch, 0);
      t->plane[2].assign ((size_t) t->stride[2] * ch, 0);
      for (int r = 0; r < ch; r++) {
        memcpy (&t->plane[1][r * t->stride[1]], &u[r * cw], cw);
        memcpy (&t->plane[2][r * t->stride[2]], &v[r * cw], cw);
      }
    } else {
      t->stride[1] = 2 * cw + 6;
      t->plane[1].assign ((size_t) t->stride[1] * ch, 0);
      libyuv::MergeUVPlane (u.data (), cw, v.data (), cw, t->plane[1].data (),
          t->stride[1], cw, ch);
    }
  }
  if (format == FV_PIXEL_FORMAT_GRAY8) {
    t->stride[0] = w + 3;
    t->plane[0].assign ((size_t) t->stride[0] * h, 0);
    libyuv::RAWToJ400 (rgb.data (), w * 3, t->plane[0].data (), t->stride[0],
        w, h);
  }
  for (int i = 0; i < 3; i++)
    planes[i] = t->plane[i].empty ()? NULL : t->plane[i].data ();
  ASSERT_TRUE (fv_frame_init (&t->frame, format, w, h, planes, t->stride,
          &error)) << error->message;
}

const FvPixelFormat kAllFormats[] = {
  FV_PIXEL_FORMAT_I420, FV_PIXEL_FORMAT_NV12, FV_PIXEL_FORMAT_RGB,
  FV_PIXEL_FORMAT_BGR, FV_PIXEL_FORMAT_RGBx, FV_PIXEL_FORMAT_BGRx,
  FV_PIXEL_FORMAT_xRGB, FV_PIXEL_FORMAT_xBGR, FV_PIXEL_FORMAT_RGBA,
  FV_PIXEL_FORMAT_BGRA, FV_PIXEL_FORMAT_ARGB, FV_PIXEL_FORMAT_ABGR,
  FV_PIXEL_FORMAT_GRAY8,
};

bool
IsYuv (FvPixelFormat f)
{
  return f == FV_PIXEL_FORMAT_I420 || f == FV_PIXEL_FORMAT_NV12;
}

// The RGB image a gray frame stands for: libyuv's full-range luma,
// repeated in all three channels.
std::vector<guint8>
GrayRgb (const std::vector<guint8> &rgb, int w, int h)
{
  std::vector<guint8> y (w * h), out (w * h * 3);
  libyuv::RAWToJ400 (rgb.data (), w * 3, y.data (), w, w, h);
  for (int i = 0; i < w * h; i++)
    out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = y[i];
  return out;
}

struct Diff {
  double mean = 0;
  int max = 0;
  double over16 = 0;            // fraction of values off by more than 16
};

Diff
Compare (const guint8 * a, const guint8 * b, size_t n)
{
  Diff d;
  for (size_t i = 0; i < n; i++) {
    int e = std::abs ((int) a[i] - (int) b[i]);
    d.mean += e;
    d.max = std::max (d.max, e);
    d.over16 += e > 16;
  }
  d.mean /= std::max<size_t> (n, 1);
  d.over16 /= std::max<size_t> (n, 1);
  return d;
}

}  // namespace

TEST (FaceFrame, FormatNamesRoundTrip)
{
  for (FvPixelFormat f : kAllFormats) {
    const char *name = fv_pixel_format_to_string (f);
    ASSERT_NE (nullptr, name);
    EXPECT_EQ (f, fv_pixel_format_from_string (name)) << name;
  }
  EXPECT_EQ (3u, fv_pixel_format_n_planes (FV_PIXEL_FORMAT_I420));
  EXPECT_EQ (2u, fv_pixel_format_n_planes (FV_PIXEL_FORMAT_NV12));
  EXPECT_EQ (1u, fv_pixel_format_n_planes (FV_PIXEL_FORMAT_xBGR));
  EXPECT_EQ (FV_PIXEL_FORMAT_UNKNOWN, fv_pixel_format_from_string ("YUY2"));
  EXPECT_EQ (nullptr, fv_pixel_format_to_string ((FvPixelFormat) 99));
}

// Whole frame, odd size: packed formats give back the RGB bytes exactly;
// I420/NV12 within 4:2:0 chroma loss; GRAY8 its luma.
TEST (FaceFrame, EveryFormatReadsBackAsRgb)
{
  const int w = 203, h = 151;
  std::vector<guint8> rgb = MakeRgb (w, h), gray = GrayRgb (rgb, w, h);
  std::vector<guint8> out (w * h * 3);

  for (FvPixelFormat f : kAllFormats) {
    TestFrame t;
    BuildFrame (&t, f, rgb, w, h);
    std::fill (out.begin (), out.end (), 0x77);
    fv_frame_read_rgb (&t.frame, 0, 0, w, h, out.data (), w * 3);
    const std::vector<guint8> &want = f == FV_PIXEL_FORMAT_GRAY8 ? gray : rgb;
    Diff d = Compare (out.data (), want.data (), out.size ());
    if (IsYuv (f)) {
      // Round trip through BT.601 limited range with chroma shared by 2x2
      // pixels: small on smooth areas, large only along the sharp edges
      // of the blocks (one colour's chroma bleeds into the other).
      EXPECT_LE (d.mean, 3.0) << fv_pixel_format_to_string (f);
      EXPECT_LE (d.over16, 0.05) << fv_pixel_format_to_string (f);
    } else {
      EXPECT_EQ (0, d.max) << fv_pixel_format_to_string (f);
    }
    RecordProperty (std::string ("mean_abs_") + fv_pixel_format_to_string (f),
        std::to_string (d.mean));
  }
}

// A region read at any offset (odd ones included, which matter for 4:2:0
// chroma) and across the 512-pixel row chunks equals the same pixels of a
// whole-frame read; pixels outside the frame are black.
TEST (FaceFrame, RegionsMatchTheWholeFrame)
{
  const int w = 1101, h = 37;
  std::vector<guint8> rgb = MakeRgb (w, h);
  std::vector<guint8> whole (w * h * 3);
  const int regions[][4] = {
    {0, 0, w, h}, {1, 1, 600, 20}, {511, 3, 3, 5}, {3, 0, 1098, 37},
    {-5, -3, 40, 10}, {w - 7, h - 2, 20, 9}, {-10, -10, w + 20, h + 20},
    {w + 5, 0, 4, 4}, {0, -50, 10, 10},
  };

  for (FvPixelFormat f : kAllFormats) {
    TestFrame t;
    BuildFrame (&t, f, rgb, w, h);
    fv_frame_read_rgb (&t.frame, 0, 0, w, h, whole.data (), w * 3);
    for (const auto &r : regions) {
      const int rw = r[2], rh = r[3], stride = rw * 3 + 5;
      std::vector<guint8> out ((size_t) stride * rh, 0x55);
      fv_frame_read_rgb (&t.frame, r[0], r[1], rw, rh, out.data (), stride);
      int bad = 0;
      for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++)
          for (int c = 0; c < 3; c++) {
            int fx = r[0] + x, fy = r[1] + y;
            guint8 want = (fx < 0 || fy < 0 || fx >= w || fy >= h) ? 0
                : whole[(fy * w + fx) * 3 + c];
            bad += out[y * stride + x * 3 + c] != want;
          }
      EXPECT_EQ (0, bad) << fv_pixel_format_to_string (f) << " region "
          << r[0] << "," << r[1] << " " << rw << "x" << rh;
      // The row padding of the output is not touched.
      EXPECT_EQ (0x55, out[stride - 1]);
    }
  }
}

TEST (FaceFrame, MatrixChangesYuvOnly)
{
  const int w = 64, h = 48;
  std::vector<guint8> rgb = MakeRgb (w, h), a (w * h * 3), b (w * h * 3);
  TestFrame t;
  BuildFrame (&t, FV_PIXEL_FORMAT_I420, rgb, w, h);
  fv_frame_read_rgb (&t.frame, 0, 0, w, h, a.data (), w * 3);
  t.frame.matrix = FV_COLOR_MATRIX_BT709;
  fv_frame_read_rgb (&t.frame, 0, 0, w, h, b.data (), w * 3);
  EXPECT_GT (Compare (a.data (), b.data (), a.size ()).max, 2);

  TestFrame p;
  BuildFrame (&p, FV_PIXEL_FORMAT_RGBx, rgb, w, h);
  fv_frame_read_rgb (&p.frame, 0, 0, w, h, a.data (), w * 3);
  p.frame.matrix = FV_COLOR_MATRIX_BT709_FULL;
  fv_frame_read_rgb (&p.frame, 0, 0, w, h, b.data (), w * 3);
  EXPECT_EQ (0, Compare (a.data (), b.data (), a.size ()).max);
}

TEST (FaceFrame, BadDescriptionsAreErrors)
{
  guint8 px[64] = { 0 };
  const guint8 *planes[3] = { px, px, px };
  const guint8 *missing[3] = { px, NULL, px };
  gint strides[3] = { 12, 2, 2 };
  FvFrame f;

  struct {
    int format;                 // an int: 42 is no FvPixelFormat value
    guint w, h;
    const guint8 *const *planes;
    gint stride0;
    int code;
  } cases[] = {
    {42, 2, 2, planes, 12, FV_IMAGE_ERROR_FORMAT},
    {FV_PIXEL_FORMAT_UNKNOWN, 2, 2, planes, 12, FV_IMAGE_ERROR_FORMAT},
    {FV_PIXEL_FORMAT_RGB, 0, 2, planes, 12, FV_IMAGE_ERROR_SIZE},
    {FV_PIXEL_FORMAT_RGB, 2, 0, planes, 12, FV_IMAGE_ERROR_SIZE},
    {FV_PIXEL_FORMAT_RGB, 40000, 1, planes, 120000, FV_IMAGE_ERROR_SIZE},
    {FV_PIXEL_FORMAT_RGB, 5, 2, planes, 12, FV_IMAGE_ERROR_SIZE},
    {FV_PIXEL_FORMAT_RGBA, 4, 2, planes, 15, FV_IMAGE_ERROR_SIZE},
    {FV_PIXEL_FORMAT_RGB, 2, 2, planes, -6, FV_IMAGE_ERROR_SIZE},
    {FV_PIXEL_FORMAT_I420, 4, 2, missing, 4, FV_IMAGE_ERROR_FORMAT},
    {FV_PIXEL_FORMAT_I420, 6, 2, planes, 6, FV_IMAGE_ERROR_SIZE},
  };
  for (const auto &c : cases) {
    g_autoptr (GError) error = NULL;
    gint s[3] = { c.stride0, strides[1], strides[2] };
    EXPECT_FALSE (fv_frame_init (&f, (FvPixelFormat) c.format, c.w, c.h,
            c.planes, s, &error));
    ASSERT_NE (nullptr, error);
    EXPECT_EQ (FV_IMAGE_ERROR, error->domain);
    EXPECT_EQ (c.code, error->code) << error->message;
  }

  // The smallest frames are fine.
  g_autoptr (GError) error = NULL;
  gint s1[3] = { 3, 1, 1 };
  EXPECT_TRUE (fv_frame_init (&f, FV_PIXEL_FORMAT_RGB, 1, 1, planes, s1,
          &error));
  EXPECT_TRUE (fv_frame_init (&f, FV_PIXEL_FORMAT_I420, 1, 1, planes, s1,
          &error));
  guint8 out[3] = { 1, 1, 1 };
  fv_frame_read_rgb (&f, 0, 0, 1, 1, out, 3);
}

// The aligned crop (a rotated, scaled warp) and the box crop of every
// format equal those of the RGB frame: exactly for the packed formats,
// within 4:2:0 loss for I420/NV12; GRAY8 equals the crop of its gray RGB.
TEST (FaceFrame, CropsAgreeAcrossFormats)
{
  const int w = 320, h = 241;
  std::vector<guint8> rgb = MakeRgb (w, h), gray = GrayRgb (rgb, w, h);
  const float *tpl = fv_arcface_template ();
  const double ang = 0.35, sc = 1.7;
  float lm[10];
  for (int i = 0; i < 5; i++) {
    double x = tpl[2 * i] - 56, y = tpl[2 * i + 1] - 56;
    lm[2 * i] = 151.3 + sc * (std::cos (ang) * x - std::sin (ang) * y);
    lm[2 * i + 1] = 117.8 + sc * (std::sin (ang) * x + std::cos (ang) * y);
  }
  g_autoptr (FvAligner) al = fv_aligner_new ();
  const size_t n = 112 * 112 * 3;
  std::vector<guint8> want (n), want_box (n), want_gray (n),
      want_gray_box (n), got (n), got_box (n);
  TestFrame ref, ref_gray;
  BuildFrame (&ref, FV_PIXEL_FORMAT_RGB, rgb, w, h);
  BuildFrame (&ref_gray, FV_PIXEL_FORMAT_RGB, gray, w, h);
  ASSERT_TRUE (fv_aligner_align (al, &ref.frame, lm, want.data (), 336));
  ASSERT_TRUE (fv_aligner_crop_box (al, &ref.frame, 200.2f, 150.7f, 330.1f,
          260.4f, 0.2f, want_box.data (), 336));
  ASSERT_TRUE (fv_aligner_align (al, &ref_gray.frame, lm, want_gray.data (),
          336));
  ASSERT_TRUE (fv_aligner_crop_box (al, &ref_gray.frame, 200.2f, 150.7f,
          330.1f, 260.4f, 0.2f, want_gray_box.data (), 336));

  for (FvPixelFormat f : kAllFormats) {
    TestFrame t;
    BuildFrame (&t, f, rgb, w, h);
    ASSERT_TRUE (fv_aligner_align (al, &t.frame, lm, got.data (), 336));
    ASSERT_TRUE (fv_aligner_crop_box (al, &t.frame, 200.2f, 150.7f, 330.1f,
            260.4f, 0.2f, got_box.data (), 336));
    bool g = f == FV_PIXEL_FORMAT_GRAY8;
    Diff a = Compare (got.data (), (g ? want_gray : want).data (), n);
    Diff b = Compare (got_box.data (), (g ? want_gray_box : want_box).data (),
        n);
    if (IsYuv (f)) {
      printf ("%s crops vs RGB: aligned mean |diff| %.2f (%.2f%% > 16), box "
          "%.2f (%.2f%% > 16)\n", fv_pixel_format_to_string (f), a.mean,
          100 * a.over16, b.mean, 100 * b.over16);
      EXPECT_LE (a.mean, 3.0) << fv_pixel_format_to_string (f);
      EXPECT_LE (a.over16, 0.05) << fv_pixel_format_to_string (f);
      EXPECT_LE (b.mean, 3.0) << fv_pixel_format_to_string (f);
      EXPECT_LE (b.over16, 0.05) << fv_pixel_format_to_string (f);
    } else {
      EXPECT_EQ (0, a.max) << fv_pixel_format_to_string (f);
      EXPECT_EQ (0, b.max) << fv_pixel_format_to_string (f);
    }
  }
}

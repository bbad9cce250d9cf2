// faceverifyoverlay on single frames: box pixels where the face is, label
// text present and scaled with the frame, the three colours, landmarks,
// all four 32-bit formats, the FvFaceIdMeta path after videoscale, the ROI
// parameter fallback, and bad boxes and labels.
#include <gtest/gtest.h>

#include "fv-plugin-test.h"

// In the sanitizer build, two allocations that live as long as the process
// by design are not leaks of ours: fontconfig's configuration (under pango),
// and GLib's first quark block, which it drops when a process makes 2048
// quarks (a scan of GStreamer's whole plugin folder does), allocated in its
// library constructor. The second needs full stacks to be recognised.
extern "C" const char *
__asan_default_options ()
{
  return "fast_unwind_on_malloc=0";
}

extern "C" const char *
__lsan_default_suppressions ()
{
  return "leak:libfontconfig.so\nleak:_dl_init\n";
}

namespace {

const guint32 kKnown = 0xff00c850;      // the element's defaults
const guint32 kUnknown = 0xfff03030;
const guint32 kUnverified = 0xffffb000;
const guint8 kGrey = 128;

struct Rgb
{
  guint8 r, g, b;
  bool operator== (const Rgb &o) const
  {
    return r == o.r && g == o.g && b == o.b;
  }
  bool operator!= (const Rgb &o) const { return !(*this == o); }
};

Rgb
ColorOf (guint32 argb)
{
  return { (guint8) (argb >> 16), (guint8) (argb >> 8), (guint8) argb };
}

std::ostream &
operator<< (std::ostream &os, const Rgb &c)
{
  return os << "rgb(" << (int) c.r << "," << (int) c.g << "," << (int) c.b
      << ")";
}

// A mapped output frame that reads pixels as RGB whatever the format.
class Frame
{
public:
  Frame (GstBuffer *buf, GstVideoFormat fmt, int w, int h)
  {
    gst_video_info_set_format (&info_, fmt, w, h);
    ok_ = gst_video_frame_map (&frame_, &info_, buf, GST_MAP_READ);
  }
  ~Frame ()
  {
    if (ok_)
      gst_video_frame_unmap (&frame_);
  }
  bool ok () const { return ok_; }
  int width () const { return GST_VIDEO_INFO_WIDTH (&info_); }
  int height () const { return GST_VIDEO_INFO_HEIGHT (&info_); }
  Rgb At (int x, int y) const
  {
    const guint8 *row = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame_,
        0) + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame_, 0) + x * 4;
    return { row[GST_VIDEO_FRAME_COMP_OFFSET (&frame_, 0)],
      row[GST_VIDEO_FRAME_COMP_OFFSET (&frame_, 1)],
      row[GST_VIDEO_FRAME_COMP_OFFSET (&frame_, 2)] };
  }
  bool IsGrey (int x, int y) const
  {
    return At (x, y) == Rgb { kGrey, kGrey, kGrey };
  }
  // Pixels in [x0, x1) x [y0, y1) that are not the grey background.
  int CountChanged (int x0, int y0, int x1, int y1) const
  {
    int n = 0;
    for (int y = std::max (y0, 0); y < std::min (y1, height ()); y++)
      for (int x = std::max (x0, 0); x < std::min (x1, width ()); x++)
        n += !IsGrey (x, y);
    return n;
  }
  int CountColor (int x0, int y0, int x1, int y1, Rgb c) const
  {
    int n = 0;
    for (int y = std::max (y0, 0); y < std::min (y1, height ()); y++)
      for (int x = std::max (x0, 0); x < std::min (x1, width ()); x++)
        n += At (x, y) == c;
    return n;
  }

private:
  GstVideoInfo info_;
  GstVideoFrame frame_;
  bool ok_ = false;
};

// A grey frame (opaque) in @fmt.
GstBuffer *
GreyFrame (GstVideoFormat fmt, int w, int h)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, fmt, w, h);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  GstVideoFrame f;
  gst_video_frame_map (&f, &info, buf, GST_MAP_WRITE);
  for (int y = 0; y < h; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0)
        + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0);
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 4; c++)
        row[4 * x + c] = c == (int) GST_VIDEO_FRAME_COMP_OFFSET (&f, 3)
            && GST_VIDEO_INFO_HAS_ALPHA (&info) ? 255 : kGrey;
  }
  gst_video_frame_unmap (&f);
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 10;
  return buf;
}

FvFaceIdMeta *
AddIdentity (GstBuffer *buf, int roi_id, int x, int y, int w, int h,
    const char *label, bool known, double similarity)
{
  FvFaceIdMeta *m = fv_buffer_add_face_id_meta (buf, roi_id, label);
  m->known = known;
  m->label_id = known ? 1 : -1;
  m->similarity = similarity;
  m->x = x;
  m->y = y;
  m->w = w;
  m->h = h;
  m->track_id = 1;
  return m;
}

class OverlayTest : public ::testing::Test
{
protected:
  GstHarness *h = NULL;

  void TearDown () override
  {
    if (h)
      gst_harness_teardown (h);
  }

  // faceverifyoverlay alone (or @desc) with @fmt caps at @w x @h in.
  void Start (GstVideoFormat fmt, int w, int ht, const char *props = "",
      const char *desc = NULL)
  {
    std::string d = desc ? desc : std::string ("faceverifyoverlay ") + props;
    h = gst_harness_new_parse (d.c_str ());
    ASSERT_NE (h, nullptr);
    gst_harness_set_src_caps_str (h, fvplug::CapsFor (fmt, w, ht).c_str ());
  }

  GstBuffer *Push (GstBuffer *buf)
  {
    EXPECT_EQ (gst_harness_push (h, buf), GST_FLOW_OK);
    return gst_harness_pull (h);
  }

  std::vector<guint8> LabelArea (GstBuffer *out);
};

// The face box at (100, 90) 80x80 with line width 4: the stroke covers
// x 100..103 on the left edge, inside the box.
const int kX = 100, kY = 90, kW = 80, kH = 80, kLw = 4;

// The RGB of every pixel above the box of a 320x240 BGRx frame (where the
// label goes); takes @out and ends the harness, for the next Start ().
std::vector<guint8>
OverlayTest::LabelArea (GstBuffer *out)
{
  std::vector<guint8> px;
  {
    Frame f (out, GST_VIDEO_FORMAT_BGRx, 320, 240);
    for (int y = 0; y < kY; y++)
      for (int x = 0; x < 320; x++) {
        Rgb c = f.At (x, y);
        px.push_back (c.r);
        px.push_back (c.g);
        px.push_back (c.b);
      }
  }
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  h = NULL;
  return px;
}

class OverlayFormatTest : public OverlayTest,
    public ::testing::WithParamInterface<GstVideoFormat>
{
};

TEST_P (OverlayFormatTest, DrawsBoxWhereTheFaceIsAndItsLabel)
{
  GstVideoFormat fmt = GetParam ();
  Start (fmt, 320, 240, "line-width=4");
  GstBuffer *in = GreyFrame (fmt, 320, 240);
  fvplug::AddFace (in, kX, kY, kW, kH, 7);
  AddIdentity (in, 7, kX, kY, kW, kH, "alice", true, 0.91);
  GstBuffer *out = Push (in);
  ASSERT_NE (out, nullptr);
  {
    Frame f (out, fmt, 320, 240);
    ASSERT_TRUE (f.ok ());
    const Rgb known = ColorOf (kKnown);
    // the four edges, in the known colour, inside the box
    EXPECT_EQ (f.At (kX, kY + kH / 2), known);
    EXPECT_EQ (f.At (kX + kLw - 1, kY + kH / 2), known);
    EXPECT_EQ (f.At (kX + kW - 1, kY + kH / 2), known);
    EXPECT_EQ (f.At (kX + kW / 2, kY + kH - 1), known);
    EXPECT_EQ (f.At (kX + kW / 2, kY), known);
    // not outside it, not inside the stroke
    EXPECT_TRUE (f.IsGrey (kX - 1, kY + kH / 2));
    EXPECT_TRUE (f.IsGrey (kX + kW, kY + kH / 2));
    EXPECT_TRUE (f.IsGrey (kX + kLw, kY + kH / 2));
    EXPECT_TRUE (f.IsGrey (kX + kW / 2, kY + kH / 2));
    EXPECT_TRUE (f.IsGrey (kX + kW / 2, kY + kH));
    // the whole picture below the box and left of it is untouched
    EXPECT_EQ (f.CountChanged (0, kY + kH, 320, 240), 0);
    EXPECT_EQ (f.CountChanged (0, 0, kX, 240), 0);
    // the label: a filled rectangle of the known colour right above the
    // box, with text in it (pixels of neither colour)
    int label_bg = f.CountColor (kX, 0, 320, kY, known);
    int label_px = f.CountChanged (kX, 0, 320, kY);
    EXPECT_GT (label_bg, 12 * 40) << "no label background above the box";
    EXPECT_GT (label_px - label_bg, 40) << "no text in the label";
    EXPECT_EQ (f.At (kX + 1, kY - 2), known);
  }
  gst_buffer_unref (out);
}

INSTANTIATE_TEST_SUITE_P (Formats, OverlayFormatTest,
    ::testing::Values (GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_BGRA,
        GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_RGBA),
    [](const ::testing::TestParamInfo<GstVideoFormat> &i) {
      return std::string (gst_video_format_to_string (i.param));
    });

TEST_F (OverlayTest, TextIsWhatTheLabelSays)
{
  // the same box with two different labels draws different text, and
  // with draw-labels=false there is no label at all
  auto draw = [this] (const char *label, const char *props) {
    Start (GST_VIDEO_FORMAT_BGRx, 320, 240, props);
    GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, 320, 240);
    AddIdentity (in, 3, kX, kY, kW, kH, label, true, 0.8);
    return LabelArea (Push (in));
  };
  auto bob = draw ("bob", "line-width=4");
  auto mallory = draw ("mallory-the-long-name", "line-width=4");
  auto none = draw ("bob", "line-width=4 draw-labels=false");
  EXPECT_NE (bob, mallory);
  EXPECT_EQ (none, std::vector<guint8> (none.size (), kGrey));
  // the longer label is wider
  auto width_of = [] (const std::vector<guint8> &px) {
    int right = -1;
    for (int y = 0; y < kY; y++)
      for (int x = 0; x < 320; x++)
        if (px[(y * 320 + x) * 3] != kGrey)
          right = std::max (right, x);
    return right;
  };
  EXPECT_GT (width_of (mallory), width_of (bob) + 40);
}

// A face that faceverify left unknown for its quality says why in its
// label: the same pixels as a label that reads the reason (no score), not
// those of "unknown 0.00"; from the meta and from the ROI param alike;
// the box keeps the unknown colour.
TEST_F (OverlayTest, UnknownForItsQualitySaysWhy)
{
  struct Face
  {
    const char *label;
    bool known;
    const char *reason, *quality_reason;
    bool roi_param;
  };
  auto draw = [this] (const Face &face, const char *props) {
    Start (GST_VIDEO_FORMAT_BGRx, 320, 240, props);
    GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, 320, 240);
    GstVideoRegionOfInterestMeta *roi = fvplug::AddFace (in, kX, kY, kW, kH,
        3);
    if (face.roi_param) {
      GstStructure *s = gst_structure_new ("face_id", "label", G_TYPE_STRING,
          face.label, "known", G_TYPE_BOOLEAN, face.known, "similarity",
          G_TYPE_DOUBLE, 0.0, NULL);
      if (face.reason)
        gst_structure_set (s, "reason", G_TYPE_STRING, face.reason, NULL);
      if (face.quality_reason)
        gst_structure_set (s, "quality-reason", G_TYPE_STRING,
            face.quality_reason, NULL);
      gst_video_region_of_interest_meta_add_param (roi, s);
    } else {
      FvFaceIdMeta *m = AddIdentity (in, 3, kX, kY, kW, kH, face.label,
          face.known, 0.0);
      m->reason = face.reason ? g_intern_string (face.reason) : NULL;
      m->quality_reason = face.quality_reason ?
          g_intern_string (face.quality_reason) : NULL;
    }
    GstBuffer *out = Push (in);
    {
      Frame f (out, GST_VIDEO_FORMAT_BGRx, 320, 240);
      EXPECT_EQ (f.At (kX, kY + kH / 2), ColorOf (face.known ? kKnown :
              kUnknown));
    }
    return LabelArea (out);
  };
  const char *plain = "line-width=4 show-similarity=false";
  auto unknown = draw ({"unknown", false, nullptr, nullptr, false},
      "line-width=4");
  auto small = draw ({"unknown", false, "low-quality", "too small", false},
      "line-width=4");
  auto small_text = draw ({"too small", false, nullptr, nullptr, false},
      plain);
  auto blurred = draw ({"unknown", false, "low-quality", "blurred", false},
      "line-width=4");
  EXPECT_NE (small, unknown) << "the reason is not drawn";
  EXPECT_EQ (small, small_text) << "the label does not read \"too small\"";
  EXPECT_NE (small, blurred);
  // only the bare reason (an older faceverify): that is what it reads
  auto bare = draw ({"unknown", false, "low-quality", nullptr, false},
      "line-width=4");
  EXPECT_EQ (bare, draw ({"low-quality", false, nullptr, nullptr, false},
          plain));
  // the ROI param fallback says the same
  EXPECT_EQ (draw ({"unknown", false, "low-quality", "too small", true},
          "line-width=4"), small_text);
  // a known face's label is its identity, whatever a reason field says
  EXPECT_EQ (draw ({"alice", true, nullptr, "too small", false}, plain),
      draw ({"alice", true, nullptr, nullptr, false}, plain));
  // and draw-labels=false still draws none
  auto none = draw ({"unknown", false, "low-quality", "too small", false},
      "line-width=4 draw-labels=false");
  EXPECT_EQ (none, std::vector<guint8> (none.size (), kGrey));
}

TEST_F (OverlayTest, KnownUnknownAndUnverifiedHaveTheirColours)
{
  Start (GST_VIDEO_FORMAT_RGBx, 640, 240, "line-width=2 draw-labels=false");
  GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_RGBx, 640, 240);
  fvplug::AddFace (in, 20, 50, 100, 100, 1);
  fvplug::AddFace (in, 220, 50, 100, 100, 2);
  fvplug::AddFace (in, 420, 50, 100, 100, 3);       // no identity
  AddIdentity (in, 1, 20, 50, 100, 100, "alice", true, 0.9);
  AddIdentity (in, 2, 220, 50, 100, 100, NULL, false, 0.2);
  GstBuffer *out = Push (in);
  Frame f (out, GST_VIDEO_FORMAT_RGBx, 640, 240);
  EXPECT_EQ (f.At (20, 100), ColorOf (kKnown));
  EXPECT_EQ (f.At (220, 100), ColorOf (kUnknown));
  EXPECT_EQ (f.At (420, 100), ColorOf (kUnverified));
  EXPECT_NE (ColorOf (kKnown), ColorOf (kUnknown));
  gst_buffer_unref (out);
}

// A face_id param that faceverify marked verified=false (an upstream
// claim on a ROI it did not verify) is drawn as unverified, whatever the
// claim says.
TEST_F (OverlayTest, UnverifiedFaceIdParamDrawsAsUnverified)
{
  Start (GST_VIDEO_FORMAT_RGBx, 320, 240, "line-width=2 draw-labels=false");
  GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_RGBx, 320, 240);
  GstVideoRegionOfInterestMeta *roi = fvplug::AddFace (in, 20, 50, 100, 100,
      1);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("face_id", "label", G_TYPE_STRING, "mallory",
          "known", G_TYPE_BOOLEAN, TRUE, "verified", G_TYPE_BOOLEAN, FALSE,
          NULL));
  GstBuffer *out = Push (in);
  Frame f (out, GST_VIDEO_FORMAT_RGBx, 320, 240);
  EXPECT_EQ (f.At (20, 100), ColorOf (kUnverified));
  gst_buffer_unref (out);
}

TEST_F (OverlayTest, ColoursAreProperties)
{
  Start (GST_VIDEO_FORMAT_BGRA, 320, 240,
      "line-width=2 draw-labels=false known-color=0xff102030 "
      "unknown-color=0xff405060");
  GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRA, 320, 240);
  AddIdentity (in, 1, 10, 10, 50, 50, "a", true, 0.9);
  AddIdentity (in, 2, 100, 10, 50, 50, "unknown", false, 0.1);
  GstBuffer *out = Push (in);
  Frame f (out, GST_VIDEO_FORMAT_BGRA, 320, 240);
  EXPECT_EQ (f.At (10, 30), (Rgb { 0x10, 0x20, 0x30 }));
  EXPECT_EQ (f.At (100, 30), (Rgb { 0x40, 0x50, 0x60 }));
  gst_buffer_unref (out);
}

TEST_F (OverlayTest, FollowsTheMetaThroughVideoscale)
{
  // videoscale doubles the frame and drops the ROI's params; the identity
  // must still be drawn, at the scaled place, from FvFaceIdMeta.
  Start (GST_VIDEO_FORMAT_BGRx, 320, 240, "",
      "videoscale ! video/x-raw,width=640,height=480 ! "
      "faceverifyoverlay line-width=4");
  GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, 320, 240);
  GstVideoRegionOfInterestMeta *roi = fvplug::AddFace (in, kX, kY, kW, kH, 5);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("face_id", "label", G_TYPE_STRING, "alice",
          "known", G_TYPE_BOOLEAN, TRUE, "similarity", G_TYPE_DOUBLE, 0.9,
          NULL));
  AddIdentity (in, 5, kX, kY, kW, kH, "alice", true, 0.9);
  GstBuffer *out = Push (in);
  ASSERT_NE (out, nullptr);
  ASSERT_EQ (fv_buffer_get_n_face_id_metas (out), 1u);
  Frame f (out, GST_VIDEO_FORMAT_BGRx, 640, 480);
  const Rgb known = ColorOf (kKnown);
  EXPECT_EQ (f.At (2 * kX + 1, 2 * kY + kH), known);
  EXPECT_EQ (f.At (2 * kX + 2 * kW - 2, 2 * kY + kH), known);
  EXPECT_TRUE (f.IsGrey (2 * kX - 1, 2 * kY + kH));
  EXPECT_TRUE (f.IsGrey (2 * kX + kW, 2 * kY + kH));
  // drawn once: nothing in the unverified colour from the bare ROI
  EXPECT_EQ (f.CountColor (0, 0, 640, 480, ColorOf (kUnverified)), 0);
  // and the label is above the scaled box
  EXPECT_GT (f.CountColor (2 * kX, 0, 640, 2 * kY, known), 12 * 40);
  gst_buffer_unref (out);
}

TEST_F (OverlayTest, FallsBackToRoiParams)
{
  Start (GST_VIDEO_FORMAT_BGRx, 640, 240,
      "line-width=2 draw-landmarks=true draw-labels=true");
  GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, 640, 240);
  // a DL Streamer-style face_id without our "known" field
  GstVideoRegionOfInterestMeta *a = fvplug::AddFace (in, 20, 80, 100, 100, 1);
  gst_video_region_of_interest_meta_add_param (a,
      gst_structure_new ("face_id", "label", G_TYPE_STRING, "carol",
          "label_id", G_TYPE_INT, 4, "confidence", G_TYPE_DOUBLE, 0.77,
          NULL));
  GstVideoRegionOfInterestMeta *b = fvplug::AddFace (in, 220, 80, 100, 100, 2);
  gst_video_region_of_interest_meta_add_param (b,
      gst_structure_new ("face_id", "label", G_TYPE_STRING, "unknown",
          "label_id", G_TYPE_INT, -1, "known", G_TYPE_BOOLEAN, FALSE, NULL));
  // a detector's ROI with landmarks and no identity
  const float lm[10] = { 450, 110, 490, 110, 470, 130, 455, 150, 485, 150 };
  GstVideoRegionOfInterestMeta *c =
      fvplug::AddFace (in, 420, 80, 100, 100, 3, lm);
  gst_video_region_of_interest_meta_add_param (c,
      gst_structure_new ("detection", "confidence", G_TYPE_DOUBLE, 0.99,
          NULL));
  // a ROI of another type is not drawn
  GstVideoRegionOfInterestMeta *d =
      gst_buffer_add_video_region_of_interest_meta (in, "car", 560, 100, 60,
      60);
  d->id = 9;
  GstBuffer *out = Push (in);
  Frame f (out, GST_VIDEO_FORMAT_BGRx, 640, 240);
  EXPECT_EQ (f.At (20, 130), ColorOf (kKnown));
  EXPECT_EQ (f.At (220, 130), ColorOf (kUnknown));
  EXPECT_EQ (f.At (420, 130), ColorOf (kUnverified));
  // landmark dots, at the points, not on the box
  EXPECT_EQ (f.At (450, 110), ColorOf (kUnverified));
  EXPECT_EQ (f.At (470, 130), ColorOf (kUnverified));
  EXPECT_TRUE (f.IsGrey (470, 170));
  EXPECT_EQ (f.CountChanged (560, 100, 620, 160), 0);
  // every label has text
  EXPECT_GT (f.CountChanged (20, 0, 200, 80), 12 * 40);
  EXPECT_GT (f.CountChanged (420, 0, 600, 80), 12 * 40);
  gst_buffer_unref (out);
}

TEST_F (OverlayTest, LandmarksFromTheMetaOnlyWhenAskedFor)
{
  for (int on = 0; on < 2; on++) {
    Start (GST_VIDEO_FORMAT_BGRx, 320, 240,
        on ? "draw-landmarks=true draw-labels=false" : "draw-labels=false");
    GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, 320, 240);
    FvFaceIdMeta *m = AddIdentity (in, 1, kX, kY, kW, kH, "a", true, 0.9);
    const float lm[10] = { 120, 115, 160, 115, 140, 135, 125, 155, 155, 155 };
    m->n_landmarks = 5;
    memcpy (m->landmarks, lm, sizeof (lm));
    GstBuffer *out = Push (in);
    Frame f (out, GST_VIDEO_FORMAT_BGRx, 320, 240);
    EXPECT_EQ (f.At (140, 135) == ColorOf (kKnown), on == 1);
    EXPECT_EQ (f.At (125, 155) == ColorOf (kKnown), on == 1);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
    h = NULL;
  }
}

// Height in rows of the label background at @w x @ht (automatic size).
static int
LabelHeight (int w, int ht)
{
  GstHarness *h = gst_harness_new_parse ("faceverifyoverlay");
  gst_harness_set_src_caps_str (h,
      fvplug::CapsFor (GST_VIDEO_FORMAT_BGRx, w, ht).c_str ());
  GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, w, ht);
  int bx = w / 4, by = ht / 2, bs = ht / 4;
  AddIdentity (in, 1, bx, by, bs, bs, "alice", true, 0.9);
  EXPECT_EQ (gst_harness_push (h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  int rows = 0;
  {
    Frame f (out, GST_VIDEO_FORMAT_BGRx, w, ht);
    for (int y = 0; y < by; y++)
      rows += f.At (bx + 1, y) == ColorOf (kKnown);
  }
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  return rows;
}

TEST_F (OverlayTest, TextSizeFollowsTheFrame)
{
  int small = LabelHeight (320, 240);
  int hd = LabelHeight (1920, 1080);
  EXPECT_GE (small, 12);        // never below 12 px text
  EXPECT_GT (hd, 2 * small);
  EXPECT_LT (hd, 80);
}

TEST_F (OverlayTest, BadBoxesAndLabelsAreDrawnOrSkippedSafely)
{
  Start (GST_VIDEO_FORMAT_BGRx, 320, 240, "draw-landmarks=true");
  GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, 320, 240);
  AddIdentity (in, 1, 10000, 10000, 50, 50, "far away", true, 0.9);
  AddIdentity (in, 2, 10, 10, 0, 0, "empty", true, 0.9);
  AddIdentity (in, 3, 0, 0, G_MAXUINT / 2, G_MAXUINT / 2, "huge", false, 0.1);
  AddIdentity (in, 4, 300, 230, 100, 100, "\xff\xfe not utf-8", true, 0.9);
  std::string longname (5000, 'x');
  FvFaceIdMeta *m = AddIdentity (in, 5, 150, 5, 40, 40, longname.c_str (),
      true, 0.9);
  const float lm[10] = { -1e30f, 1e30f, NAN, INFINITY, 5, 5, 6, 6, 7, 7 };
  m->n_landmarks = 5;
  memcpy (m->landmarks, lm, sizeof (lm));
  fv_face_id_meta_set_label (m, NULL);
  GstBuffer *out = Push (in);
  ASSERT_NE (out, nullptr);
  gst_buffer_unref (out);
  // a second frame with no faces at all passes untouched
  out = Push (GreyFrame (GST_VIDEO_FORMAT_BGRx, 320, 240));
  Frame f (out, GST_VIDEO_FORMAT_BGRx, 320, 240);
  EXPECT_EQ (f.CountChanged (0, 0, 320, 240), 0);
  gst_buffer_unref (out);
}

TEST_F (OverlayTest, RefusesFormatsItCannotDrawOn)
{
  h = gst_harness_new_parse ("faceverifyoverlay");
  gst_harness_set_src_caps_str (h,
      fvplug::CapsFor (GST_VIDEO_FORMAT_I420, 320, 240).c_str ());
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, 320, 240);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  EXPECT_EQ (gst_harness_push (h, buf), GST_FLOW_NOT_NEGOTIATED);
}

// Issue 12: frames the library cannot read are refused at caps time with
// an error naming the limit.
TEST_F (OverlayTest, FramesAboveTheMaximumSizeAreRefused)
{
  for (auto wh : { std::make_pair (FV_FRAME_MAX_SIZE + 1, 16),
          std::make_pair (16, FV_FRAME_MAX_SIZE + 1) }) {
    auto r = fvplug::PushOneFrame ("faceverifyoverlay", GST_VIDEO_FORMAT_BGRx,
        wh.first, wh.second);
    EXPECT_EQ (r.flow, GST_FLOW_NOT_NEGOTIATED) << wh.first << "x" << wh.second;
    EXPECT_NE (r.text.find ("32767"), std::string::npos) << r.text;
  }
}

// Issue 12: a label comes from a gallery, which is untrusted input. Long,
// multi-byte, combining, control, bidi-override and zero-width labels are
// drawn without a crash, on one line: a newline does not make the label
// taller than a plain one.
TEST_F (OverlayTest, OddLabelsAreDrawnSafelyOnOneLine)
{
  auto rows_of = [this] (const std::string &label) {
    Start (GST_VIDEO_FORMAT_BGRx, 320, 240, "line-width=2");
    GstBuffer *in = GreyFrame (GST_VIDEO_FORMAT_BGRx, 320, 240);
    AddIdentity (in, 1, 20, 120, 100, 100, label.c_str (), true, 0.9);
    GstBuffer *out = Push (in);
    int rows = 0;
    {
      Frame f (out, GST_VIDEO_FORMAT_BGRx, 320, 240);
      for (int y = 0; y < 120; y++)
        rows += f.CountChanged (0, y, 320, y + 1) > 0;
    }
    gst_buffer_unref (out);
    gst_harness_teardown (h);
    h = NULL;
    return rows;
  };
  std::string euros, combining, emoji;
  for (int i = 0; i < 3000; i++) {
    euros += "\xe2\x82\xac";                   // U+20AC
    combining += "a\xcc\x81\xcc\x82\xcc\x83";     // a + 3 combining marks
    emoji += "\xf0\x9f\x98\x80";               // U+1F600
  }
  const std::string odd[] = {
    euros, combining, emoji,
    "al\xe2\x80\xae" "ecila",                       // right-to-left override
    "al\xe2\x80\x8bice",                         // zero-width space
    "\t \r\x1b[31m",                             // controls
    "\xe2\x82",                                  // cut multi-byte sequence
  };
  for (const auto &label : odd)
    EXPECT_GT (rows_of (label), 0);
  int plain = rows_of ("alice bob carol");
  EXPECT_EQ (rows_of ("alice\nbob\ncarol"), plain);
  EXPECT_EQ (rows_of ("alice\r\nbob\u2028carol"), plain);
}

}  // namespace

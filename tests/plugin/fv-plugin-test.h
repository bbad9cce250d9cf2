// Helpers shared by the GStreamer plugin tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "fv-test-util.h"
#include "gstfaceverifymeta.h"

namespace fvplug {

// How long a test waits for something that should happen (a reload, a
// warning, an identity): long enough for a busy machine and the sanitizers.
// Tests assert that it happens, never how fast; speed is the benchmarks'
// business.
constexpr gint64 kGenerousUs = 30 * G_USEC_PER_SEC;

// A scratch folder of this test process (build/test-scratch/plugin-<pid>),
// so that two runs of the same test in one build tree do not share files;
// removed when the process ends (fv-plugin-main.cc).
inline std::string
PluginScratchRoot ()
{
  return "plugin-" + std::to_string ((long) getpid ());
}

inline std::string
PluginScratch (const std::string &sub = "")
{
  return fvtest::ScratchDir (sub.empty () ? PluginScratchRoot ()
      : PluginScratchRoot () + "/" + sub);
}

// A packed RGB image.
struct RgbImage
{
  int width = 0;
  int height = 0;
  std::vector<guint8> data;     // stride = 3 * width
  int Stride () const { return 3 * width; }
};

inline RgbImage
LoadRgb (const std::string &path, int scale_to_w = 0, int scale_to_h = 0)
{
  RgbImage img;
  GError *err = NULL;
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (path.c_str (), &err);
  if (!pb) {
    ADD_FAILURE () << "cannot load " << path << ": " << err->message;
    g_error_free (err);
    return img;
  }
  if (scale_to_w > 0) {
    GdkPixbuf *s = gdk_pixbuf_scale_simple (pb, scale_to_w, scale_to_h,
        GDK_INTERP_BILINEAR);
    g_object_unref (pb);
    pb = s;
  }
  img.width = gdk_pixbuf_get_width (pb);
  img.height = gdk_pixbuf_get_height (pb);
  int nc = gdk_pixbuf_get_n_channels (pb);
  int rs = gdk_pixbuf_get_rowstride (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  img.data.resize ((size_t) img.width * img.height * 3);
  for (int y = 0; y < img.height; y++)
    for (int x = 0; x < img.width; x++)
      for (int c = 0; c < 3; c++)
        img.data[(size_t) y * img.Stride () + x * 3 + c] =
            px[(size_t) y * rs + x * nc + (nc >= 3 ? c : 0)];
  g_object_unref (pb);
  return img;
}

inline RgbImage
GreyCanvas (int w, int h, guint8 v = 128)
{
  RgbImage img;
  img.width = w;
  img.height = h;
  img.data.assign ((size_t) w * h * 3, v);
  return img;
}

inline void
Paste (RgbImage &dst, const RgbImage &src, int x0, int y0)
{
  for (int y = 0; y < src.height; y++)
    for (int x = 0; x < src.width; x++) {
      int dx = x0 + x, dy = y0 + y;
      if (dx < 0 || dy < 0 || dx >= dst.width || dy >= dst.height)
        continue;
      memcpy (&dst.data[(size_t) dy * dst.Stride () + dx * 3],
          &src.data[(size_t) y * src.Stride () + x * 3], 3);
    }
}

// A buffer holding the image as tightly packed RGB.
inline GstBuffer *
RgbBuffer (const RgbImage &img)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, img.width,
      img.height);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  GstVideoFrame f;
  gst_video_frame_map (&f, &info, buf, GST_MAP_WRITE);
  for (int y = 0; y < img.height; y++)
    memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0)
        + y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0),
        &img.data[(size_t) y * img.Stride ()], img.Stride ());
  gst_video_frame_unmap (&f);
  return buf;
}

// Converts an RGB buffer into another raw format (GstVideoConverter).
inline GstBuffer *
ConvertBuffer (GstBuffer *rgb, int w, int h, GstVideoFormat fmt)
{
  GstVideoInfo in, out;
  gst_video_info_set_format (&in, GST_VIDEO_FORMAT_RGB, w, h);
  gst_video_info_set_format (&out, fmt, w, h);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, out.size, NULL);
  GstVideoFrame fi, fo;
  gst_video_frame_map (&fi, &in, rgb, GST_MAP_READ);
  gst_video_frame_map (&fo, &out, buf, GST_MAP_WRITE);
  GstVideoConverter *c = gst_video_converter_new (&in, &out, NULL);
  gst_video_converter_frame (c, &fi, &fo);
  gst_video_converter_free (c);
  gst_video_frame_unmap (&fi);
  gst_video_frame_unmap (&fo);
  return buf;
}

inline std::string
CapsFor (GstVideoFormat fmt, int w, int h)
{
  return std::string ("video/x-raw,format=") + gst_video_format_to_string (fmt)
      + ",width=" + std::to_string (w) + ",height=" + std::to_string (h)
      + ",framerate=10/1";
}

// Adds a "face" ROI; with @landmarks (10 values) also a landmarks param.
inline GstVideoRegionOfInterestMeta *
AddFace (GstBuffer *buf, int x, int y, int w, int h, int id,
    const float *landmarks = NULL)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, "face", x, y, w, h);
  roi->id = id;
  if (landmarks) {
    GValue arr = G_VALUE_INIT;
    g_value_init (&arr, GST_TYPE_ARRAY);
    for (int k = 0; k < 10; k++) {
      GValue v = G_VALUE_INIT;
      g_value_init (&v, G_TYPE_DOUBLE);
      g_value_set_double (&v, landmarks[k]);
      gst_value_array_append_and_take_value (&arr, &v);
    }
    GstStructure *s = gst_structure_new_empty ("landmarks");
    gst_structure_take_value (s, "points", &arr);
    gst_video_region_of_interest_meta_add_param (roi, s);
  }
  return roi;
}

// What one frame of @w x @h pixels (@fmt, grey) with one face ROI did to a
// new @factory element: the flow of the push and the text (message and
// debug string) of the errors and warnings it posted.
struct OneFrameResult
{
  GstFlowReturn flow = GST_FLOW_OK;
  std::string text;
};

inline OneFrameResult
PushOneFrame (const char *factory, GstVideoFormat fmt, int w, int h)
{
  OneFrameResult r;
  GstElement *e = gst_element_factory_make (factory, NULL);
  EXPECT_NE (e, nullptr);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  GstHarness *hr = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps_str (hr, CapsFor (fmt, w, h).c_str ());
  if (GST_STATE (hr->element) != GST_STATE_PLAYING)
    gst_harness_play (hr);
  GstVideoInfo info;
  gst_video_info_set_format (&info, fmt, w, h);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  gst_buffer_memset (buf, 0, 128, info.size);
  AddFace (buf, 0, 0, 64, 64, 1);
  r.flow = gst_harness_push (hr, buf);
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, (GstMessageType) (GST_MESSAGE_ERROR
                  | GST_MESSAGE_WARNING)))) {
    GError *err = NULL;
    gchar *dbg = NULL;
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
      gst_message_parse_error (m, &err, &dbg);
    else
      gst_message_parse_warning (m, &err, &dbg);
    r.text += std::string (err->message) + " / " + (dbg ? dbg : "") + "\n";
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (m);
  }
  gst_harness_teardown (hr);
  gst_object_unref (bus);
  return r;
}

// The ArcFace template, scaled and moved: landmarks of an aligned crop
// drawn at (x0, y0) with the given side.
inline std::vector<float>
TemplateAt (float x0, float y0, float side)
{
  const float *t = fv_arcface_template ();
  std::vector<float> lm (10);
  for (int k = 0; k < 5; k++) {
    lm[2 * k] = x0 + t[2 * k] * side / FV_EMBED_SIZE;
    lm[2 * k + 1] = y0 + t[2 * k + 1] * side / FV_EMBED_SIZE;
  }
  return lm;
}

// One row of faces/<source>/faces.csv.
struct FaceRow
{
  std::string identity, raw, aligned;
  float box[4];                 // x, y, w, h
  float lm[10];
};

inline std::vector<FaceRow>
LoadFaces (const std::string &source)
{
  std::vector<FaceRow> rows;
  std::ifstream in (fvtest::SharedPath ("data/faces/" + source + "/faces.csv"));
  std::string line;
  std::getline (in, line);
  while (std::getline (in, line)) {
    std::vector<std::string> f;
    std::stringstream ss (line);
    std::string cell;
    while (std::getline (ss, cell, ','))
      f.push_back (cell);
    if (f.size () < 23)
      continue;
    FaceRow r;
    r.identity = f[0];
    r.raw = f[1];
    r.aligned = f[2];
    for (int k = 0; k < 4; k++)
      r.box[k] = std::stof (f[9 + k]);
    for (int k = 0; k < 10; k++)
      r.lm[k] = std::stof (f[13 + k]);
    rows.push_back (r);
  }
  return rows;
}

inline std::string
FacePath (const std::string &source, const std::string &rel)
{
  return fvtest::SharedPath ("data/faces/" + source + "/" + rel);
}

inline std::vector<float>
EmbedRgb (FvEmbedder *e, const RgbImage &img)
{
  std::vector<float> v (fv_embedder_get_dim (e));
  fv_embedder_embed (e, img.data.data (), img.Stride (), v.data ());
  return v;
}

// Removes a gallery and its SQLite side files.
inline void
RemoveGallery (const std::string &path)
{
  g_unlink (path.c_str ());
  g_unlink ((path + "-wal").c_str ());
  g_unlink ((path + "-shm").c_str ());
  g_unlink ((path + "-journal").c_str ());
}

// Creates a gallery at @path with one identity per entry.
inline bool
MakeGallery (const std::string &path, FvEmbedder *e,
    const std::map<std::string, std::vector<std::vector<float>>> &ids)
{
  RemoveGallery (path);
  GError *err = NULL;
  FvGallery *g = fv_gallery_open (path.c_str (), FV_GALLERY_OPEN_CREATE,
      fv_embedder_get_fingerprint (e), fv_embedder_get_dim (e), &err);
  if (!g) {
    ADD_FAILURE () << err->message;
    g_error_free (err);
    return false;
  }
  for (const auto &kv : ids) {
    std::vector<FvGallerySample> s (kv.second.size ());
    for (size_t i = 0; i < s.size (); i++) {
      s[i].embedding = kv.second[i].data ();
      s[i].quality = -1;
      s[i].source = NULL;
    }
    if (!fv_gallery_enroll (g, kv.first.c_str (), NULL, s.data (), s.size (),
            FV_GALLERY_ENROLL_APPEND, NULL, &err)) {
      ADD_FAILURE () << err->message;
      g_error_free (err);
      fv_gallery_free (g);
      return false;
    }
  }
  fv_gallery_free (g);
  return true;
}

// Sets the element to @state and returns the first ERROR or WARNING
// message (or NULL) posted within a short time.
struct BusResult
{
  GstStateChangeReturn ret;
  GQuark domain = 0;
  int code = -1;
  std::string text;
  std::string debug;
};

inline BusResult
StartAndCatchError (GstElement *el, GstState state = GST_STATE_PAUSED)
{
  BusResult r;
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (el, bus);
  r.ret = gst_element_set_state (el, state);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (m) {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error (m, &err, &dbg);
    r.domain = err->domain;
    r.code = err->code;
    r.text = err->message ? err->message : "";
    r.debug = dbg ? dbg : "";
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (m);
  }
  gst_element_set_state (el, GST_STATE_NULL);
  gst_element_set_bus (el, NULL);
  gst_object_unref (bus);
  return r;
}

// The identities on a buffer, by ROI id.
inline std::map<int, FvFaceIdMeta *>
Identities (GstBuffer *buf)
{
  std::map<int, FvFaceIdMeta *> m;
  gpointer state = NULL;
  FvFaceIdMeta *meta;
  while ((meta = fv_buffer_iterate_face_id_meta (buf, &state)))
    m[meta->roi_id] = meta;
  return m;
}

inline int
CountRois (GstBuffer *buf)
{
  int n = 0;
  gpointer state = NULL;
  while (gst_buffer_iterate_meta_filtered (buf, &state,
          GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    n++;
  return n;
}


inline float
BoxIou (const float *a, const float *b)
{
  float x0 = std::max (a[0], b[0]), y0 = std::max (a[1], b[1]);
  float x1 = std::min (a[0] + a[2], b[0] + b[2]);
  float y1 = std::min (a[1] + a[3], b[1] + b[3]);
  if (x1 <= x0 || y1 <= y0)
    return 0;
  float i = (x1 - x0) * (y1 - y0);
  return i / (a[2] * a[3] + b[2] * b[3] - i);
}

// Detects, aligns and embeds the labelled face of a raw photo (the face
// that best overlaps the faces.csv box), the same way the elements do.
inline bool
EmbedRawFace (FvFacePipeline *fp, const FaceRow &row,
    std::vector<float> &out)
{
  RgbImage img = LoadRgb (FacePath ("deepface", row.raw));
  if (img.width == 0)
    return false;
  FvFrame frame;
  const guint8 *planes[3] = { img.data.data (), NULL, NULL };
  gint strides[3] = { img.Stride (), 0, 0 };
  if (!fv_frame_init (&frame, FV_PIXEL_FORMAT_RGB, img.width, img.height,
          planes, strides, NULL))
    return false;
  guint n = 0;
  const FvFace *faces = fv_face_pipeline_process (fp, &frame, &n);
  int best = -1;
  float best_iou = 0.3f;
  for (guint i = 0; i < n; i++) {
    const FvDetection *d = &faces[i].detection;
    float b[4] = { d->x1, d->y1, d->x2 - d->x1, d->y2 - d->y1 };
    float iou = BoxIou (b, row.box);
    if (iou > best_iou) {
      best_iou = iou;
      best = i;
    }
  }
  if (best < 0)
    return false;
  guint dim = fv_embedder_get_dim (fv_face_pipeline_get_embedder (fp));
  out.assign (faces[best].embedding, faces[best].embedding + dim);
  return true;
}

// Creates a gallery at @path for the model file @model.
inline bool
MakeGallery (const std::string &path, const std::string &model,
    const std::map<std::string, std::vector<std::vector<float>>> &ids)
{
  FvEmbedder *e = fv_embedder_new (model.c_str (), NULL);
  if (!e) {
    ADD_FAILURE () << "cannot load " << model;
    return false;
  }
  bool ok = MakeGallery (path, e, ids);
  fv_embedder_free (e);
  return ok;
}

// --- the test clip ---------------------------------------------------------

// ../shared/data/video/clip_mjpeg.avi: 90 frames of 640x480 at 10 fps, one
// photo per second (segments), the first second grey.
constexpr const char *kClip = "data/video/clip_mjpeg.avi";

struct Segment
{
  int first, last;
  std::string identity, raw;
};

inline std::vector<Segment>
LoadSegments ()
{
  std::vector<Segment> v;
  std::ifstream in (fvtest::SharedPath ("data/video/clip_segments.csv"));
  std::string line;
  std::getline (in, line);
  while (std::getline (in, line)) {
    std::vector<std::string> f;
    std::stringstream ss (line);
    std::string c;
    while (std::getline (ss, c, ','))
      f.push_back (c);
    while (f.size () < 8)
      f.push_back ("");
    v.push_back ({ std::stoi (f[3]), std::stoi (f[4]), f[6], f[7] });
  }
  return v;
}

// The embeddings of the clip tests' gallery: every deepface photo that is
// not in the clip, by identity (13 identities), embedded the way the
// elements do it.
inline bool
ClipGalleryEmbeddings (const std::string &model,
    const std::vector<Segment> &segments,
    std::map<std::string, std::vector<std::vector<float>>> &ids)
{
  std::set<std::string> in_clip;
  for (const Segment &s : segments)
    if (!s.raw.empty ())
      in_clip.insert (s.raw);
  FvDetector *det = fv_detector_new (NULL, NULL);
  FvEmbedder *emb = fv_embedder_new (model.c_str (), NULL);
  if (!det || !emb) {
    ADD_FAILURE () << "cannot load the models";
    return false;
  }
  FvFacePipeline *fp = fv_face_pipeline_new (det, emb, 8);
  int used = 0, failed = 0;
  for (const FaceRow &r : LoadFaces ("deepface")) {
    if (in_clip.count (r.raw))
      continue;
    std::vector<float> e;
    if (EmbedRawFace (fp, r, e)) {
      ids[r.identity].push_back (e);
      used++;
    } else {
      failed++;
    }
  }
  fv_face_pipeline_free (fp);
  printf ("gallery: %zu identities, %d photos (%d without a face)\n",
      ids.size (), used, failed);
  EXPECT_EQ (ids.size (), 13u);
  return ids.size () == 13u;
}

}  // namespace fvplug

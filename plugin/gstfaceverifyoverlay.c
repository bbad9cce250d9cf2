/* gst-faceverify: the faceverifyoverlay element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-faceverifyoverlay
 * @title: faceverifyoverlay
 *
 * Draws the faces that `faceverify` identified onto the video, in place:
 * a box per face, a label with the identity and its similarity, and
 * optionally the five landmarks. Known faces, unknown faces and faces that
 * were not verified (a detector's ROI without an identity) each have their
 * own colour. Text is rendered with Pango and cairo at a size that follows
 * the frame height, so it stays readable from 320x240 to 4K.
 *
 * Where the drawing comes from, in this order:
 *
 * - every #FvFaceIdMeta on the buffer (box, label, similarity and
 *   landmarks); this meta is scaled with the frame, so the overlay may
 *   follow `videoscale`;
 * - every #GstVideoRegionOfInterestMeta of type `roi-type` that no
 *   #FvFaceIdMeta refers to: its box, its `face_id` parameter (`label`,
 *   `known`, else `label_id` >= 0, `similarity`, else `confidence`), its
 *   `landmarks` parameter (`points`) and its `detection` parameter
 *   (`confidence`) for faces without an identity (a `face_id` marked
 *   `verified`=false by `faceverify` counts as none).
 *
 * A face that `faceverify` left unknown because of its quality (below its
 * `min-quality`) is labelled with why, in the unknown colour and without
 * a score: what is wrong with the crop (the #FvFaceIdMeta's
 * `quality_reason`, the `face_id` parameter's `quality-reason`: "blurred",
 * "too small", "turned", "dark", "bright", "low contrast", "cut by the
 * frame edge"), else the bare `reason` ("low-quality").
 *
 * A label is drawn on one line, at most 64 characters; control, line
 * break and format characters (bidi overrides, zero-width) show as U+FFFD.
 *
 * The element works on 32-bit RGB frames (BGRx, BGRA, RGBx, RGBA on a
 * little-endian machine); put a `videoconvert` in front for other formats.
 * Alpha is treated as opaque: the drawing is meant for video to be shown.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mtcnnfacedetect ! \
 *     faceverify gallery-file=team.db ! videoconvert ! \
 *     faceverifyoverlay draw-landmarks=true ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfaceverifyoverlay.h"
#include "gstfaceverifyelements.h"
#include "gstfaceverifymeta.h"
#include "gstfvcommon.h"

#include <gst/video/video.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_face_verify_overlay_debug);
#define GST_CAT_DEFAULT gst_face_verify_overlay_debug

#define DEFAULT_ROI_TYPE "face"
#define DEFAULT_DRAW_LANDMARKS FALSE
#define DEFAULT_DRAW_LABELS TRUE
#define DEFAULT_SHOW_SIMILARITY TRUE
#define DEFAULT_KNOWN_COLOR 0xff00c850
#define DEFAULT_UNKNOWN_COLOR 0xfff03030
#define DEFAULT_UNVERIFIED_COLOR 0xffffb000
#define DEFAULT_LINE_WIDTH 0
#define DEFAULT_FONT_DESC "Sans Bold"
#define DEFAULT_FONT_SIZE 0.0

/* Automatic sizes follow the frame height: text 1/36 of it (at least
 * MIN_FONT_PX), lines 1/360 of it (at least 2 px). */
#define AUTO_FONT_DIVISOR 36.0
#define MIN_FONT_PX 12.0
#define AUTO_LINE_DIVISOR 360
#define MAX_LABEL_CHARS 64

/* cairo's 32-bit formats are native-endian words: 0xAARRGGBB. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define OVERLAY_FORMATS "{ BGRx, BGRA, RGBx, RGBA }"
#define NATIVE_X GST_VIDEO_FORMAT_BGRx
#define NATIVE_A GST_VIDEO_FORMAT_BGRA
#define SWAPPED_X GST_VIDEO_FORMAT_RGBx
#define SWAPPED_A GST_VIDEO_FORMAT_RGBA
#else
#define OVERLAY_FORMATS "{ xRGB, ARGB, xBGR, ABGR }"
#define NATIVE_X GST_VIDEO_FORMAT_xRGB
#define NATIVE_A GST_VIDEO_FORMAT_ARGB
#define SWAPPED_X GST_VIDEO_FORMAT_xBGR
#define SWAPPED_A GST_VIDEO_FORMAT_ABGR
#endif

enum
{
  PROP_0,
  PROP_ROI_TYPE,
  PROP_DRAW_LANDMARKS,
  PROP_DRAW_LABELS,
  PROP_SHOW_SIMILARITY,
  PROP_KNOWN_COLOR,
  PROP_UNKNOWN_COLOR,
  PROP_UNVERIFIED_COLOR,
  PROP_LINE_WIDTH,
  PROP_FONT_DESC,
  PROP_FONT_SIZE,
};

typedef enum
{
  FACE_KNOWN,
  FACE_UNKNOWN,
  FACE_UNVERIFIED,
} FaceKind;

/* One face to draw, gathered from the metas of a frame. */
typedef struct
{
  gdouble x, y, w, h;
  const gchar *label;           /* borrowed from a meta; NULL: none */
  const gchar *reason;          /* why it was not checked, borrowed; or NULL */
  FaceKind kind;
  gboolean has_score;
  gdouble score;
  guint n_landmarks;
  gfloat landmarks[2 * FV_FACE_ID_N_LANDMARKS];
} OverlayFace;

/* Properties copied once per frame. */
typedef struct
{
  GQuark roi_type;
  gboolean draw_landmarks;
  gboolean draw_labels;
  gboolean show_similarity;
  guint32 colors[3];            /* by FaceKind, ARGB */
  guint line_width;
  gdouble font_size;
  guint font_serial;
} OverlaySettings;

struct _GstFaceVerifyOverlay
{
  GstVideoFilter parent;

  /* properties, under the object lock */
  gchar *roi_type;
  GQuark roi_type_quark;
  gboolean draw_landmarks;
  gboolean draw_labels;
  gboolean show_similarity;
  guint32 colors[3];
  guint line_width;
  gchar *font_desc;
  gdouble font_size;
  guint font_serial;            /* bumped when font-desc changes */

  /* streaming thread */
  gboolean swap_rb;
  cairo_format_t cairo_format;
  PangoFontMap *font_map;
  PangoContext *pango_context;
  PangoLayout *layout;
  PangoFontDescription *font;
  guint font_serial_loaded;     /* font_serial that @font was made from */
  guint layout_font_serial;
  gdouble layout_font_px;
  GArray *faces;                /* OverlayFace, reused every frame */
  GArray *drawn_roi_ids;        /* gint, reused every frame */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));

G_DEFINE_TYPE (GstFaceVerifyOverlay, gst_face_verify_overlay,
    GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (faceverifyoverlay, "faceverifyoverlay",
    GST_RANK_NONE, GST_TYPE_FACE_VERIFY_OVERLAY);

static void
gst_face_verify_overlay_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFaceVerifyOverlay *self = GST_FACE_VERIFY_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ROI_TYPE:
      gst_fv_set_roi_type (value, DEFAULT_ROI_TYPE, &self->roi_type,
          &self->roi_type_quark);
      break;
    case PROP_DRAW_LANDMARKS:
      self->draw_landmarks = g_value_get_boolean (value);
      break;
    case PROP_DRAW_LABELS:
      self->draw_labels = g_value_get_boolean (value);
      break;
    case PROP_SHOW_SIMILARITY:
      self->show_similarity = g_value_get_boolean (value);
      break;
    case PROP_KNOWN_COLOR:
      self->colors[FACE_KNOWN] = g_value_get_uint (value);
      break;
    case PROP_UNKNOWN_COLOR:
      self->colors[FACE_UNKNOWN] = g_value_get_uint (value);
      break;
    case PROP_UNVERIFIED_COLOR:
      self->colors[FACE_UNVERIFIED] = g_value_get_uint (value);
      break;
    case PROP_LINE_WIDTH:
      self->line_width = g_value_get_uint (value);
      break;
    case PROP_FONT_DESC:
      g_free (self->font_desc);
      self->font_desc = g_value_dup_string (value);
      if (!self->font_desc)
        self->font_desc = g_strdup (DEFAULT_FONT_DESC);
      self->font_serial++;
      break;
    case PROP_FONT_SIZE:
      self->font_size = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_face_verify_overlay_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstFaceVerifyOverlay *self = GST_FACE_VERIFY_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ROI_TYPE:
      g_value_set_string (value, self->roi_type);
      break;
    case PROP_DRAW_LANDMARKS:
      g_value_set_boolean (value, self->draw_landmarks);
      break;
    case PROP_DRAW_LABELS:
      g_value_set_boolean (value, self->draw_labels);
      break;
    case PROP_SHOW_SIMILARITY:
      g_value_set_boolean (value, self->show_similarity);
      break;
    case PROP_KNOWN_COLOR:
      g_value_set_uint (value, self->colors[FACE_KNOWN]);
      break;
    case PROP_UNKNOWN_COLOR:
      g_value_set_uint (value, self->colors[FACE_UNKNOWN]);
      break;
    case PROP_UNVERIFIED_COLOR:
      g_value_set_uint (value, self->colors[FACE_UNVERIFIED]);
      break;
    case PROP_LINE_WIDTH:
      g_value_set_uint (value, self->line_width);
      break;
    case PROP_FONT_DESC:
      g_value_set_string (value, self->font_desc);
      break;
    case PROP_FONT_SIZE:
      g_value_set_double (value, self->font_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_face_verify_overlay_start (GstBaseTransform * trans)
{
  GstFaceVerifyOverlay *self = GST_FACE_VERIFY_OVERLAY (trans);

  /* A font map of our own: pango's default one belongs to whichever thread
   * asked first, and this element draws from the streaming thread. */
  self->font_map = pango_cairo_font_map_new ();
  self->pango_context = pango_font_map_create_context (self->font_map);
  self->layout = pango_layout_new (self->pango_context);
  self->layout_font_serial = G_MAXUINT;
  self->layout_font_px = 0.0;
  return TRUE;
}

static gboolean
gst_face_verify_overlay_stop (GstBaseTransform * trans)
{
  GstFaceVerifyOverlay *self = GST_FACE_VERIFY_OVERLAY (trans);

  g_clear_object (&self->layout);
  g_clear_object (&self->pango_context);
  g_clear_object (&self->font_map);
  g_clear_pointer (&self->font, pango_font_description_free);
  return TRUE;
}

static gboolean
gst_face_verify_overlay_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstFaceVerifyOverlay *self = GST_FACE_VERIFY_OVERLAY (filter);
  GstVideoFormat fmt = GST_VIDEO_INFO_FORMAT (in_info);

  self->swap_rb = (fmt == SWAPPED_X || fmt == SWAPPED_A);
  self->cairo_format = (fmt == NATIVE_A || fmt == SWAPPED_A) ?
      CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24;
  if (!(fmt == NATIVE_X || fmt == NATIVE_A || fmt == SWAPPED_X
          || fmt == SWAPPED_A))
    return FALSE;
  return gst_fv_check_frame_size (GST_ELEMENT (self), in_info);
}

static void
gst_face_verify_overlay_read_settings (GstFaceVerifyOverlay * self,
    OverlaySettings * s)
{
  GST_OBJECT_LOCK (self);
  s->roi_type = self->roi_type_quark;
  s->draw_landmarks = self->draw_landmarks;
  s->draw_labels = self->draw_labels;
  s->show_similarity = self->show_similarity;
  memcpy (s->colors, self->colors, sizeof (s->colors));
  s->line_width = self->line_width;
  s->font_size = self->font_size;
  s->font_serial = self->font_serial;
  if (!self->font || s->font_serial != self->font_serial_loaded) {
    g_clear_pointer (&self->font, pango_font_description_free);
    self->font = pango_font_description_from_string (self->font_desc);
    self->font_serial_loaded = s->font_serial;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_face_verify_overlay_seen_roi (GstFaceVerifyOverlay * self, gint roi_id)
{
  guint i;

  for (i = 0; i < self->drawn_roi_ids->len; i++)
    if (g_array_index (self->drawn_roi_ids, gint, i) == roi_id)
      return TRUE;
  return FALSE;
}

static gboolean
get_number (const GstStructure * s, const gchar * field, gdouble * out)
{
  const GValue *v;

  if (!s || !(v = gst_structure_get_value (s, field)))
    return FALSE;
  if (G_VALUE_HOLDS_DOUBLE (v))
    *out = g_value_get_double (v);
  else if (G_VALUE_HOLDS_FLOAT (v))
    *out = g_value_get_float (v);
  else
    return FALSE;
  return isfinite (*out);
}

/* The fallback for faces without an FvFaceIdMeta (e.g. from another
 * verifier, or before the meta library existed): the ROI and its params. */
static void
gst_face_verify_overlay_face_from_roi (GstVideoRegionOfInterestMeta * roi,
    OverlayFace * f)
{
  const GstStructure *id = gst_video_region_of_interest_meta_get_param (roi,
      "face_id");
  const GstStructure *det = gst_video_region_of_interest_meta_get_param (roi,
      "detection");
  gdouble d, pts[2 * FV_FACE_ID_N_LANDMARKS];
  gboolean verified;

  /* faceverify marks a claim on a ROI it did not verify */
  if (id && gst_structure_get_boolean (id, "verified", &verified)
      && !verified)
    id = NULL;
  f->x = roi->x;
  f->y = roi->y;
  f->w = roi->w;
  f->h = roi->h;

  if (id) {
    gboolean known;
    gint label_id;

    f->label = gst_structure_get_string (id, "label");
    if (gst_structure_get_boolean (id, "known", &known))
      f->kind = known ? FACE_KNOWN : FACE_UNKNOWN;
    else if (gst_structure_get_int (id, "label_id", &label_id))
      f->kind = label_id >= 0 ? FACE_KNOWN : FACE_UNKNOWN;
    else
      f->kind = f->label && g_strcmp0 (f->label, FV_FACE_ID_UNKNOWN_LABEL)
          ? FACE_KNOWN : FACE_UNKNOWN;
    f->has_score = get_number (id, "similarity", &f->score)
        || get_number (id, "confidence", &f->score);
    if (!f->label)
      f->label = f->kind == FACE_KNOWN ? "?" : FV_FACE_ID_UNKNOWN_LABEL;
    if (f->kind == FACE_UNKNOWN) {
      f->reason = gst_structure_get_string (id, "quality-reason");
      if (!f->reason)
        f->reason = gst_structure_get_string (id, "reason");
    }
  } else {
    f->kind = FACE_UNVERIFIED;
    f->label = g_quark_to_string (roi->roi_type);
    f->has_score = get_number (det, "confidence", &d);
    f->score = f->has_score ? d : 0.0;
  }

  if (gst_fv_roi_get_landmarks (roi, pts)) {
    guint k;

    f->n_landmarks = FV_FACE_ID_N_LANDMARKS;
    for (k = 0; k < 2 * FV_FACE_ID_N_LANDMARKS; k++)
      f->landmarks[k] = (gfloat) pts[k];
  }
}

static void
gst_face_verify_overlay_collect (GstFaceVerifyOverlay * self, GstBuffer * buf,
    const OverlaySettings * s)
{
  gpointer state = NULL;
  FvFaceIdMeta *m;
  GstMeta *meta;

  g_array_set_size (self->faces, 0);
  g_array_set_size (self->drawn_roi_ids, 0);

  while ((m = fv_buffer_iterate_face_id_meta (buf, &state))) {
    OverlayFace f = { 0, };

    f.x = m->x;
    f.y = m->y;
    f.w = m->w;
    f.h = m->h;
    f.label = m->label ? m->label : FV_FACE_ID_UNKNOWN_LABEL;
    f.kind = m->known ? FACE_KNOWN : FACE_UNKNOWN;
    f.has_score = TRUE;
    f.score = m->similarity;
    if (!m->known)
      f.reason = m->quality_reason ? m->quality_reason : m->reason;
    f.n_landmarks = MIN (m->n_landmarks, FV_FACE_ID_N_LANDMARKS);
    memcpy (f.landmarks, m->landmarks, sizeof (f.landmarks));
    g_array_append_val (self->faces, f);
    g_array_append_val (self->drawn_roi_ids, m->roi_id);
  }

  state = NULL;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    OverlayFace f = { 0, };

    if (roi->roi_type != s->roi_type)
      continue;
    if (roi->id != 0 && gst_face_verify_overlay_seen_roi (self, roi->id))
      continue;
    gst_face_verify_overlay_face_from_roi (roi, &f);
    g_array_append_val (self->faces, f);
  }
}

static void
set_color (cairo_t * cr, guint32 argb, gboolean swap_rb)
{
  gdouble a = ((argb >> 24) & 0xff) / 255.0;
  gdouble r = ((argb >> 16) & 0xff) / 255.0;
  gdouble g = ((argb >> 8) & 0xff) / 255.0;
  gdouble b = (argb & 0xff) / 255.0;

  if (swap_rb)
    cairo_set_source_rgba (cr, b, g, r, a);
  else
    cairo_set_source_rgba (cr, r, g, b, a);
}

/* Black text on light label colours, white on dark ones. */
static guint32
text_color_for (guint32 argb)
{
  gdouble r = (argb >> 16) & 0xff, g = (argb >> 8) & 0xff, b = argb & 0xff;

  return (0.299 * r + 0.587 * g + 0.114 * b) > 140.0 ? 0xff000000 : 0xffffffff;
}

/* The label's first MAX_LABEL_CHARS characters of valid UTF-8 into @out
 * (MAX_LABEL_CHARS * 6 + 1 bytes). A label comes from a gallery, which is
 * untrusted: controls, line breaks and format characters (bidi overrides,
 * zero-width) become U+FFFD, so a label stays one line and reads as what it
 * is. */
static void
clean_label (const gchar * label, gchar * out)
{
  const gchar *p = label;
  guint n;

  if (!g_utf8_validate (label, -1, NULL)) {
    strcpy (out, "?");
    return;
  }
  for (n = 0; *p && n < MAX_LABEL_CHARS; n++, p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);

    switch (g_unichar_type (c)) {
      case G_UNICODE_CONTROL:
      case G_UNICODE_FORMAT:
      case G_UNICODE_LINE_SEPARATOR:
      case G_UNICODE_PARAGRAPH_SEPARATOR:
        c = 0xfffd;
        break;
      default:
        break;
    }
    out += g_unichar_to_utf8 (c, out);
  }
  *out = '\0';
}

/* The label text: the cleaned identity and, optionally, the similarity or
 * detection score; for a face not checked for its quality, why (its
 * similarity is no measure of anything). */
static void
format_label (const OverlayFace * f, gboolean show_score, gchar * out,
    gsize out_size)
{
  gchar name[MAX_LABEL_CHARS * 6 + 1];

  if (f->reason) {
    clean_label (f->reason, name);
    g_strlcpy (out, name, out_size);
    return;
  }
  clean_label (f->label ? f->label : "", name);
  if (show_score && f->has_score)
    g_snprintf (out, out_size, "%s %.2f", name, f->score);
  else
    g_strlcpy (out, name, out_size);
}

static void
gst_face_verify_overlay_draw (GstFaceVerifyOverlay * self, cairo_t * cr,
    gint width, gint height, const OverlaySettings * s)
{
  gdouble lw = s->line_width ? (gdouble) s->line_width :
      (gdouble) MAX (2, (height + AUTO_LINE_DIVISOR / 2) / AUTO_LINE_DIVISOR);
  gdouble font_px = s->font_size > 0.0 ? s->font_size :
      MAX (MIN_FONT_PX, height / AUTO_FONT_DIVISOR);
  gdouble pad = MAX (1.0, floor (font_px / 6.0));
  guint i, k;

  if (s->draw_labels && (font_px != self->layout_font_px
          || s->font_serial != self->layout_font_serial)) {
    pango_font_description_set_absolute_size (self->font,
        font_px * PANGO_SCALE);
    pango_layout_set_font_description (self->layout, self->font);
    self->layout_font_px = font_px;
    self->layout_font_serial = s->font_serial;
  }

  if (s->draw_labels)
    pango_cairo_update_layout (cr, self->layout);
  cairo_set_line_width (cr, lw);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);

  for (i = 0; i < self->faces->len; i++) {
    const OverlayFace *f = &g_array_index (self->faces, OverlayFace, i);
    guint32 color = s->colors[f->kind];
    gdouble x0 = MAX (f->x, 0.0), y0 = MAX (f->y, 0.0);
    gdouble x1 = MIN (f->x + f->w, (gdouble) width);
    gdouble y1 = MIN (f->y + f->h, (gdouble) height);

    /* Boxes are clipped to the frame (cairo's fixed-point coordinates
     * overflow long before guint does); nothing is drawn for a box that
     * is empty or wholly outside. */
    if (!(x1 > x0 && y1 > y0))
      continue;

    /* The stroke lies just inside the box, on whole pixels, so a box is
     * crisp and never covers the pixels outside its region. */
    set_color (cr, color, self->swap_rb);
    cairo_rectangle (cr, x0 + lw / 2, y0 + lw / 2, MAX (x1 - x0 - lw, 0.0),
        MAX (y1 - y0 - lw, 0.0));
    cairo_stroke (cr);

    if (s->draw_landmarks) {
      gdouble r = MAX (2.0, lw * 1.25);

      for (k = 0; k < f->n_landmarks; k++) {
        gdouble px = f->landmarks[2 * k], py = f->landmarks[2 * k + 1];

        if (!(px >= 0 && px < width && py >= 0 && py < height))
          continue;             /* also skips NaN */
        cairo_new_sub_path (cr);
        cairo_arc (cr, px, py, r, 0, 2 * G_PI);
      }
      cairo_fill (cr);
    }

    if (s->draw_labels) {
      gchar text[MAX_LABEL_CHARS * 6 + 32];
      gint tw, th;
      gdouble bw, bh, bx, by;

      format_label (f, s->show_similarity, text, sizeof (text));
      pango_layout_set_text (self->layout, text, -1);
      pango_layout_get_pixel_size (self->layout, &tw, &th);
      bw = tw + 2 * pad;
      bh = th + 2 * pad;
      /* Above the box when there is room, else just inside its top. */
      bx = x0;
      by = y0 - bh;
      if (by < 0)
        by = y0;
      if (bx + bw > width)
        bx = width - bw;
      if (bx < 0)
        bx = 0;
      if (by + bh > height)
        by = height - bh;

      set_color (cr, color, self->swap_rb);
      cairo_rectangle (cr, bx, by, bw, bh);
      cairo_fill (cr);
      set_color (cr, text_color_for (color), self->swap_rb);
      cairo_move_to (cr, bx + pad, by + pad);
      pango_cairo_show_layout (cr, self->layout);
    }
  }
}

static GstFlowReturn
gst_face_verify_overlay_transform_frame_ip (GstVideoFilter * filter,
    GstVideoFrame * frame)
{
  GstFaceVerifyOverlay *self = GST_FACE_VERIFY_OVERLAY (filter);
  OverlaySettings s;
  cairo_surface_t *surface;
  cairo_t *cr;
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);

  gst_face_verify_overlay_read_settings (self, &s);
  gst_face_verify_overlay_collect (self, frame->buffer, &s);
  if (self->faces->len == 0)
    return GST_FLOW_OK;

  if (stride % 4 != 0 || stride < 4 * width) {
    GST_WARNING_OBJECT (self, "stride %d unusable by cairo; not drawing",
        stride);
    return GST_FLOW_OK;
  }

  surface = cairo_image_surface_create_for_data (GST_VIDEO_FRAME_PLANE_DATA
      (frame, 0), self->cairo_format, width, height, stride);
  cr = cairo_create (surface);
  gst_face_verify_overlay_draw (self, cr, width, height, &s);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  cairo_surface_destroy (surface);
  return GST_FLOW_OK;
}

static void
gst_face_verify_overlay_finalize (GObject * object)
{
  GstFaceVerifyOverlay *self = GST_FACE_VERIFY_OVERLAY (object);

  g_free (self->roi_type);
  g_free (self->font_desc);
  g_clear_object (&self->layout);
  g_clear_object (&self->pango_context);
  g_clear_object (&self->font_map);
  g_clear_pointer (&self->font, pango_font_description_free);
  g_array_unref (self->faces);
  g_array_unref (self->drawn_roi_ids);

  G_OBJECT_CLASS (gst_face_verify_overlay_parent_class)->finalize (object);
}

static void
gst_face_verify_overlay_init (GstFaceVerifyOverlay * self)
{
  self->roi_type = g_strdup (DEFAULT_ROI_TYPE);
  self->roi_type_quark = g_quark_from_string (DEFAULT_ROI_TYPE);
  self->draw_landmarks = DEFAULT_DRAW_LANDMARKS;
  self->draw_labels = DEFAULT_DRAW_LABELS;
  self->show_similarity = DEFAULT_SHOW_SIMILARITY;
  self->colors[FACE_KNOWN] = DEFAULT_KNOWN_COLOR;
  self->colors[FACE_UNKNOWN] = DEFAULT_UNKNOWN_COLOR;
  self->colors[FACE_UNVERIFIED] = DEFAULT_UNVERIFIED_COLOR;
  self->line_width = DEFAULT_LINE_WIDTH;
  self->font_desc = g_strdup (DEFAULT_FONT_DESC);
  self->font_size = DEFAULT_FONT_SIZE;
  self->font_serial = 0;
  self->faces = g_array_sized_new (FALSE, TRUE, sizeof (OverlayFace), 16);
  self->drawn_roi_ids = g_array_sized_new (FALSE, TRUE, sizeof (gint), 16);
}

static void
gst_face_verify_overlay_install_properties (GObjectClass * gobject_class)
{
  /**
   * GstFaceVerifyOverlay:known-color:
   *
   * Colour of known faces, as ARGB (0xAARRGGBB).
   */
  g_object_class_install_property (gobject_class, PROP_KNOWN_COLOR,
      g_param_spec_uint ("known-color", "Known colour",
          "Colour of known faces, as ARGB (0xAARRGGBB)", 0, G_MAXUINT32,
          DEFAULT_KNOWN_COLOR,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:unknown-color:
   *
   * Colour of faces that matched nobody, as ARGB (0xAARRGGBB).
   */
  g_object_class_install_property (gobject_class, PROP_UNKNOWN_COLOR,
      g_param_spec_uint ("unknown-color", "Unknown colour",
          "Colour of faces that matched nobody, as ARGB (0xAARRGGBB)", 0,
          G_MAXUINT32, DEFAULT_UNKNOWN_COLOR,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:unverified-color:
   *
   * Colour of face ROIs without an identity (not verified, e.g. smaller
   * than faceverify's min-face-size), as ARGB (0xAARRGGBB).
   */
  g_object_class_install_property (gobject_class, PROP_UNVERIFIED_COLOR,
      g_param_spec_uint ("unverified-color", "Unverified colour",
          "Colour of face ROIs without an identity (not verified, e.g. "
          "smaller than faceverify's min-face-size), as ARGB (0xAARRGGBB)",
          0, G_MAXUINT32, DEFAULT_UNVERIFIED_COLOR,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:line-width:
   *
   * Width of the box lines in pixels (0: 1/360 of the frame height, at
   * least 2).
   */
  g_object_class_install_property (gobject_class, PROP_LINE_WIDTH,
      g_param_spec_uint ("line-width", "Line width",
          "Width of the box lines in pixels (0: 1/360 of the frame height, "
          "at least 2)", 0, 64, DEFAULT_LINE_WIDTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:font-desc:
   *
   * Pango font family and style of the labels, e.g. "Sans Bold" (a size
   * given here is replaced by font-size).
   */
  g_object_class_install_property (gobject_class, PROP_FONT_DESC,
      g_param_spec_string ("font-desc", "Font description",
          "Pango font family and style of the labels, e.g. \"Sans Bold\" "
          "(a size given here is replaced by font-size)", DEFAULT_FONT_DESC,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:font-size:
   *
   * Label text size in pixels (0: 1/36 of the frame height, at least 12).
   */
  g_object_class_install_property (gobject_class, PROP_FONT_SIZE,
      g_param_spec_double ("font-size", "Font size",
          "Label text size in pixels (0: 1/36 of the frame height, at least "
          "12)", 0.0, 1000.0, DEFAULT_FONT_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
}

static void
gst_face_verify_overlay_class_init (GstFaceVerifyOverlayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_face_verify_overlay_debug, "faceverifyoverlay",
      0, "draws face identities");

  gobject_class->set_property = gst_face_verify_overlay_set_property;
  gobject_class->get_property = gst_face_verify_overlay_get_property;
  gobject_class->finalize = gst_face_verify_overlay_finalize;

  /**
   * GstFaceVerifyOverlay:roi-type:
   *
   * Regions of interest of this type are drawn (those without an
   * FvFaceIdMeta from their ROI parameters).
   */
  g_object_class_install_property (gobject_class, PROP_ROI_TYPE,
      g_param_spec_string ("roi-type", "ROI type",
          "Regions of interest of this type are drawn (those without an "
          "FvFaceIdMeta from their ROI parameters)", DEFAULT_ROI_TYPE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:draw-landmarks:
   *
   * Draw the five facial landmarks as dots.
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_LANDMARKS,
      g_param_spec_boolean ("draw-landmarks", "Draw landmarks",
          "Draw the five facial landmarks as dots", DEFAULT_DRAW_LANDMARKS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:draw-labels:
   *
   * Draw each face's label (identity, "unknown", or the ROI type of a face
   * that was not verified).
   */
  g_object_class_install_property (gobject_class, PROP_DRAW_LABELS,
      g_param_spec_boolean ("draw-labels", "Draw labels",
          "Draw each face's label (identity, \"unknown\", or the ROI type "
          "of a face that was not verified)", DEFAULT_DRAW_LABELS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstFaceVerifyOverlay:show-similarity:
   *
   * Follow the label with the cosine similarity to the best identity (the
   * detection confidence for faces that were not verified).
   */
  g_object_class_install_property (gobject_class, PROP_SHOW_SIMILARITY,
      g_param_spec_boolean ("show-similarity", "Show similarity",
          "Follow the label with the cosine similarity to the best identity "
          "(the detection confidence for faces that were not verified)",
          DEFAULT_SHOW_SIMILARITY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  gst_face_verify_overlay_install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Face identity overlay", "Filter/Effect/Video",
      "Draws the boxes, identities and landmarks of the faces that "
      "faceverify identified onto the video", "gst-faceverify developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_face_verify_overlay_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_face_verify_overlay_stop);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_face_verify_overlay_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_face_verify_overlay_transform_frame_ip);
}

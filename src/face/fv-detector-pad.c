/* gst-faceverify: face verification on the CPU
 *
 * fv-detector-pad.c: the detector's "large face" pass. MTCNN needs some
 * background around a face: a face that fills the frame, or is cut by its
 * edges, reaches P-Net's coarsest level without the context it was
 * trained on and is missed. This pass shrinks the frame so that its
 * shorter side is PAD_SIDE pixels, surrounds it with a grey border and
 * runs a second, small detector (sharing the models) that looks only for
 * faces of at least half the frame. Its faces join the normal pass's.
 *
 * The canvas is at most (PAD_LONG + 2 PAD_BORDER) pixels long, so the pass
 * costs little next to the normal pass on any frame: reading the frame
 * once more (box-filtered), P-Net on six levels of at most 112 x 40
 * pixels, and R-Net and O-Net on its few candidates.
 */
#include "fv-face-private.h"

#include <math.h>
#include <string.h>

/* The frame's shorter side on the canvas, the cap on its longer side, the
 * grey border on every side, and the smallest face looked for (half the
 * shorter side: smaller faces are the normal pass's). */
#define PAD_SIDE 144
#define PAD_LONG 576
#define PAD_BORDER 48
#define PAD_MIN_FACE 72
/* A finer pyramid than the normal pass's 0.709: with few levels, a face
 * between two of them is easily missed, and these levels are tiny. */
#define PAD_SCALE_FACTOR 0.8f
#define PAD_GREY 128
#define PAD_MAX_FACES 8

/* A face of the pad pass and one of the normal pass are the same face
 * when their intersection covers this much of the smaller box. */
#define PAD_SAME_FACE 0.5f
#define PAD_PART_OF_FACE 0.5f

struct _FvDetectorPad
{
  FvDetector *detector;
  guint min_face_size;          /* the normal pass's, which bounds ours too */
  guint max_input_size;
  gsize work_bytes;             /* the largest working memory so far */
  FvDetection found[PAD_MAX_FACES];
};

/* The pass's working memory (fv-workspace.h): its images, then the small
 * detector's. */
typedef struct
{
  guint8 *planes;               /* 3 planes of the frame, dw x dh */
  guint8 *small;                /* 3 planes before upscaling, sw x sh */
  FvScratch convert;
  guint8 *canvas;               /* packed RGB, cw x ch */
  guint8 *rows;                 /* the scaler's row buffers */
  guint8 *detector;
} PadWork;

FvDetectorPad *
fv_detector_pad_new (FvModel * pnet, FvModel * rnet, FvModel * onet,
    const FvDetectorOptions * outer, GError ** error)
{
  FvDetectorPad *pad;
  FvDetectorOptions o = *outer;

  o.min_face_size = PAD_MIN_FACE;
  o.scale_factor = PAD_SCALE_FACTOR;
  o.max_input_size = 8192;
  o.retry_padded = FALSE;
  o.threads = 1;
  pad = g_new0 (FvDetectorPad, 1);
  pad->min_face_size = outer->min_face_size;
  pad->max_input_size = outer->max_input_size;
  pad->detector = fv_detector_new_for_models (pnet, rnet, onet, &o, error);
  if (pad->detector == NULL) {
    g_free (pad);
    return NULL;
  }
  return pad;
}

void
fv_detector_pad_free (FvDetectorPad * pad)
{
  if (pad == NULL)
    return;
  fv_detector_free (pad->detector);
  g_free (pad);
}

/* The frame's size on the canvas. */
static void
pad_size (guint w, guint h, guint * dw, guint * dh)
{
  double s = (double) PAD_SIDE / MIN (w, h);

  if (MAX (w, h) * s > PAD_LONG)
    s = (double) PAD_LONG / MAX (w, h);
  *dw = MAX (1, (guint) (w * s + 0.5));
  *dh = MAX (1, (guint) (h * s + 0.5));
}

/* The frame is read no larger than itself, then scaled up if needed. */
static void
pad_sizes (guint w, guint h, guint * dw, guint * dh, guint * sw, guint * sh)
{
  pad_size (w, h, dw, dh);
  *sw = MIN (*dw, w);
  *sh = MIN (*dh, h);
}

/* Where the parts of the working memory for frames of @w x @h lie, from
 * @base (%NULL: only the size); 0 when the small detector has nothing to
 * search. */
static gsize
pad_work (FvDetectorPad * pad, guint w, guint h, guint8 * base, PadWork * pw)
{
  guint dw, dh, sw, sh;
  gsize off = 0, planes, small, convert, canvas, rows, det, convert_size;
  gsize inner;

  pad_sizes (w, h, &dw, &dh, &sw, &sh);
  inner = fv_detector_get_work_for (pad->detector, dw + 2 * PAD_BORDER,
      dh + 2 * PAD_BORDER);
  if (inner == 0)
    return 0;
  convert_size = fv_frame_planar_scratch_size (w, h, sw, sh);
#define TAKE(var, bytes) G_STMT_START { \
  var = off; \
  off = (off + (bytes) + 63) / 64 * 64; \
} G_STMT_END
  TAKE (planes, (gsize) (3) * dw * dh);
  TAKE (small, (gsize) (3) * sw * sh);
  TAKE (convert, convert_size);
  TAKE (canvas, (gsize) (3) * (dw + 2 * PAD_BORDER) * (dh + 2 * PAD_BORDER));
  TAKE (rows, fv_scale_scratch_size (sw, dw));
  TAKE (det, inner);
#undef TAKE
  if (base) {
    pw->planes = base + planes;
    pw->small = base + small;
    pw->convert.data = base + convert;
    pw->convert.size = convert_size;
    pw->canvas = base + canvas;
    pw->rows = base + rows;
    pw->detector = base + det;
  }
  pad->work_bytes = MAX (pad->work_bytes, off);
  return off;
}

gboolean
fv_detector_pad_prepare (FvDetectorPad * pad, guint width, guint height,
    GError ** error)
{
  guint dw, dh;
  gsize size;

  pad_size (width, height, &dw, &dh);
  if (!fv_detector_prepare (pad->detector, dw + 2 * PAD_BORDER,
          dh + 2 * PAD_BORDER, error))
    return FALSE;
  size = pad_work (pad, width, height, NULL, NULL);
  if (size > 0)
    fv_workspace_release (fv_workspace_acquire (size));
  return TRUE;
}

gsize
fv_detector_pad_get_work_size (FvDetectorPad * pad)
{
  return pad->work_bytes;
}

gsize
fv_detector_pad_get_memory_size (FvDetectorPad * pad)
{
  return fv_detector_get_memory_size (pad->detector);
}

/* Draws the frame, dw x dh, on the grey canvas; returns the canvas. */
static guint8 *
pad_draw (PadWork * pw, const FvFrame * frame, guint dw, guint dh,
    guint sw, guint sh)
{
  guint cw = dw + 2 * PAD_BORDER, ch = dh + 2 * PAD_BORDER;
  gsize plane = (gsize) dw * dh, splane = (gsize) sw *sh;
  guint8 *rgb = pw->canvas;
  FvPlanes small;
  guint c, x, y;

  for (c = 0; c < 3; c++)
    small.p[c] = pw->small + c * splane;
  small.stride = sw;
  fv_frame_read_planar (frame, 0, 0, frame->width, frame->height, &small, sw,
      sh, &pw->convert);
  for (c = 0; c < 3; c++)
    fv_scale_plane (small.p[c], sw, sw, sh, pw->planes + c * plane, dw,
        dw, dh, FALSE, pw->rows);

  memset (rgb, PAD_GREY, (gsize) (3) * cw * ch);
  for (y = 0; y < dh; y++) {
    guint8 *row = rgb + ((gsize) (y + PAD_BORDER) * cw + PAD_BORDER) * 3;

    for (x = 0; x < dw; x++) {
      gsize i = (gsize) y * dw + x;

      row[3 * x] = pw->planes[i];
      row[3 * x + 1] = pw->planes[plane + i];
      row[3 * x + 2] = pw->planes[2 * plane + i];
    }
  }
  return rgb;
}

static float
area (const FvDetection * a)
{
  return MAX (0.0f, a->x2 - a->x1) * MAX (0.0f, a->y2 - a->y1);
}

/* Intersection of @a and @b over the smaller box's area. */
static float
overlap (const FvDetection * a, const FvDetection * b)
{
  float iw = MIN (a->x2, b->x2) - MAX (a->x1, b->x1);
  float ih = MIN (a->y2, b->y2) - MAX (a->y1, b->y1);
  float aa = (a->x2 - a->x1) * (a->y2 - a->y1);
  float ab = (b->x2 - b->x1) * (b->y2 - b->y1);

  if (iw <= 0.0f || ih <= 0.0f || aa <= 0.0f || ab <= 0.0f)
    return 0.0f;
  return iw * ih / MIN (aa, ab);
}

/* Adds @f to the @n faces (room for @max), best score first. A face the
 * normal pass found too is kept from the normal pass (its landmarks come
 * from a sharper canvas), unless that box is less than half of @f's: then
 * it was a part of the face, and @f replaces it. @f is dropped if it is
 * worse than all of a full list. */
static guint
merge_face (FvDetection * faces, guint n, guint max, const FvDetection * f)
{
  guint i, at;

  for (i = 0; i < n; i++) {
    if (overlap (&faces[i], f) >= PAD_SAME_FACE) {
      if (area (&faces[i]) >= PAD_PART_OF_FACE * area (f))
        return n;
      memmove (&faces[i], &faces[i + 1], (n - i - 1) * sizeof *faces);
      n--;
      break;
    }
  }
  for (at = 0; at < n && faces[at].score >= f->score; at++);
  if (at >= max)
    return n;
  if (n == max)
    n--;
  memmove (&faces[at + 1], &faces[at], (n - at) * sizeof *faces);
  faces[at] = *f;
  return n + 1;
}

guint
fv_detector_pad_detect (FvDetectorPad * pad, const FvFrame * frame,
    FvDetection * faces, guint n_faces, guint max_faces)
{
  guint dw, dh, sw, sh, cw, ch, n = 0, i, k;
  const guint8 *planes[1];
  gint strides[1];
  FvFrame canvas;
  float sx, sy, to_input;
  PadWork pw;
  guint8 *work;
  gsize size;

  /* min_face_size holds for this pass too, in pixels of the normal pass's
   * (possibly downscaled) input: skip the pass when no face it can find
   * is that large, and drop its smaller faces below. */
  to_input = MIN (1.0f, (float) pad->max_input_size / MAX (frame->width,
          frame->height));
  if (1.5f * MIN (frame->width, frame->height) * to_input < pad->min_face_size)
    return n_faces;
  pad_sizes (frame->width, frame->height, &dw, &dh, &sw, &sh);
  size = pad_work (pad, frame->width, frame->height, NULL, NULL);
  if (size == 0)
    return n_faces;
  cw = dw + 2 * PAD_BORDER;
  ch = dh + 2 * PAD_BORDER;
  /* One block for the images and the small detector: a thread never
   * holds two. */
  work = fv_workspace_acquire (size);
  pad_work (pad, frame->width, frame->height, work, &pw);
  planes[0] = pad_draw (&pw, frame, dw, dh, sw, sh);
  strides[0] = (gint) (3 * cw);
  if (fv_frame_init (&canvas, FV_PIXEL_FORMAT_RGB, cw, ch, planes, strides,
          NULL))
    n = fv_detector_detect_in (pad->detector, &canvas, pad->found,
        PAD_MAX_FACES, pw.detector);
  fv_workspace_release (work);

  /* Canvas pixel centres back to frame pixel centres. */
  sx = (float) frame->width / dw;
  sy = (float) frame->height / dh;
  for (i = 0; i < n; i++) {
    FvDetection *f = &pad->found[i];

#define TO_X(v) (((v) - PAD_BORDER + 0.5f) * sx - 0.5f)
#define TO_Y(v) (((v) - PAD_BORDER + 0.5f) * sy - 0.5f)
    f->x1 = TO_X (f->x1);
    f->y1 = TO_Y (f->y1);
    f->x2 = TO_X (f->x2);
    f->y2 = TO_Y (f->y2);
    for (k = 0; k < FV_N_LANDMARKS; k++) {
      f->landmarks[2 * k] = TO_X (f->landmarks[2 * k]);
      f->landmarks[2 * k + 1] = TO_Y (f->landmarks[2 * k + 1]);
    }
#undef TO_X
#undef TO_Y
    if (MAX (f->x2 - f->x1, f->y2 - f->y1) * to_input < pad->min_face_size)
      continue;
    n_faces = merge_face (faces, n_faces, max_faces, f);
  }
  return n_faces;
}

/* FvDetector: the MTCNN cascade (P-Net on an image pyramid, R-Net and
 * O-Net on batches of candidate crops) on the library's engine.
 *
 * The nets were converted from Caffe weights trained on column-major
 * images: every image or crop is transposed (rows and columns swapped)
 * before it enters a net, and P-Net's maps come out transposed. R-Net and
 * O-Net regressions and landmarks are in normal image coordinates.
 *
 * The frame is converted once per pass into a planar RGB "canvas" of at
 * most max_input_size on its longer side (downscaled if larger, and
 * surrounded by a border on the padded retry). Pyramid levels and crops
 * are box-filtered from the canvas with libyuv (fv_scale_plane(), with
 * a row buffer of the working memory). */
#include "fv-face-private.h"
#include "core/fv-core.h"

#include <math.h>
#include <string.h>

#define CELL 12                 /* P-Net window */
#define STRIDE 2                /* P-Net cell stride */
#define RNET_SIZE 24
#define ONET_SIZE 48
#define RNET_BATCH 64
#define ONET_BATCH 16

/* Bounds on the work per frame, only reached by pathological images: the
 * best cells of a level entering its NMS, the survivors of a level, all
 * stage-1 survivors, and the crops given to R-Net and O-Net. */
#define LEVEL_TOP 2048
#define LEVEL_KEEP 512
#define STAGE1_MAX 8192
#define RNET_MAX 1024
#define ONET_MAX 256

#define MAX_LEVELS 128
#define N_PLANS 4

/* The padded retry puts this fraction of the frame's size on each side,
 * filled with PAD_VALUE. */
#define PAD_FRACTION 0.25
#define PAD_VALUE 0

typedef FvCand Cand;

/* Everything that depends on the canvas size: the pyramid and one P-Net
 * session per level. */
typedef struct
{
  guint cw, ch;
  guint n_levels;
  float scale[MAX_LEVELS];
  guint lw[MAX_LEVELS], lh[MAX_LEVELS];
  FvSession *session[MAX_LEVELS];
  gsize net_bytes;              /* the largest level's arena */
  guint64 stamp;
} Plan;

/* The SHA-256 of the shipped detector models (models/SHA256SUMS). */
static const char *const pinned_sha256[3] = {
  "8272d20e7e0981b20028d3bc783fd6a5a9bc7d34da8f73b3def0ac62de082077",
  "169c451054b94f85b01924f4946d314389d3eb5cb6c70eb438df86c52fb54c55",
  "946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601",
};

struct _FvDetector
{
  FvDetectorOptions opts;
  gboolean pinned;              /* the three models match pinned_sha256 */
  FvModel *pnet, *rnet, *onet;
  int p_prob, p_reg, r_prob, r_reg, o_prob, o_reg, o_lm;
  FvSession *rsession, *osession;
  /* Owns the worker threads that every P-Net session shares. */
  FvSession *pnet_threads;
  Plan plans[N_PLANS];
  guint64 clock;
  FvDetectorPad *pad;           /* the large-face pass, if retry_padded */
  gsize rnet_bytes, onet_bytes;
  gsize work_bytes;             /* the largest working memory so far */
  guint8 crop[3 * ONET_SIZE * ONET_SIZE];

  /* The working memory of a detection, borrowed from the process's
   * (fv-workspace.h) for its duration, see work_layout(). */
  guint8 *canvas;               /* 3 planes cw x ch */
  guint8 *level;                /* 3 planes, the largest level */
  FvScratch convert;            /* frame conversion scratch */
  guint8 *rows;                 /* the scaler's row buffers, for any level
                                 * or crop of this canvas */
  float *net;                   /* the arena of every net */
  Cand *heap;                   /* LEVEL_TOP */
  Cand *cands;                  /* STAGE1_MAX */
  guint8 *dead;                 /* STAGE1_MAX */
};

/**
 * fv_detector_options_init:
 * @options: (out caller-allocates): options to fill
 *
 * Sets the defaults: minimum face 40 px, pyramid factor 0.709, thresholds
 * 0.6 / 0.7 / 0.7, maximum input size 1920, padded retry on.
 */
void
fv_detector_options_init (FvDetectorOptions * options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof *options);
  options->min_face_size = 40;
  options->scale_factor = 0.709f;
  options->thresholds[0] = 0.6f;
  options->thresholds[1] = 0.7f;
  options->thresholds[2] = 0.7f;
  options->max_input_size = 1920;
  options->retry_padded = TRUE;
  options->threads = 1;
}

static gboolean
options_valid (const FvDetectorOptions * o)
{
  guint i;

  if (o->min_face_size < CELL || o->min_face_size > 16384)
    return FALSE;
  if (!(o->scale_factor > 0.1f && o->scale_factor <= 0.95f))
    return FALSE;
  for (i = 0; i < 3; i++)
    if (!(o->thresholds[i] >= 0.0f && o->thresholds[i] <= 1.0f))
      return FALSE;
  return o->max_input_size >= 64 && o->max_input_size <= 8192
      && o->threads <= 256;
}

/* Finds the outputs of a cascade net by their channel count, which is
 * unambiguous in all three (2 = scores, 4 = box regression, 10 =
 * landmarks). */
static gboolean
find_outputs (FvModel * m, const char *what, const guint * channels,
    int *index, guint n, GError ** error)
{
  guint i, j, no = fv_model_get_n_outputs (m);

  for (j = 0; j < n; j++) {
    index[j] = -1;
    for (i = 0; i < no; i++) {
      FvShape s;
      fv_model_get_output_shape (m, i, &s);
      if (s.rank >= 2 && s.dims[s.rank - 1] == channels[j]) {
        index[j] = i;
        break;
      }
    }
    if (index[j] < 0) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
          "not an MTCNN %s: no output with %u channels", what, channels[j]);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
check_input (FvModel * m, const char *what, guint size, GError ** error)
{
  FvShape s;

  fv_model_get_input_shape (m, 0, &s);
  if (s.rank != 4 || s.dims[3] != 3
      || (size && (s.dims[1] != size || s.dims[2] != size))) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "not an MTCNN %s: the input must be [N,%u,%u,3]", what, size, size);
    return FALSE;
  }
  return TRUE;
}

/**
 * fv_detector_new_for_models:
 * @pnet: the P-Net model (pnet.tflite)
 * @rnet: the R-Net model (rnet.tflite)
 * @onet: the O-Net model (onet.tflite)
 * @options: (nullable): settings, or %NULL for the defaults
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Creates a detector. The R-Net and O-Net sessions (batches of 64 and 16
 * crops) are planned here; the P-Net sessions and buffers for a frame
 * size when that size is first seen, or by fv_detector_prepare().
 *
 * Returns: (transfer full) (nullable): a new detector holding references
 *   to the models
 */
FvDetector *
fv_detector_new_for_models (FvModel * pnet, FvModel * rnet, FvModel * onet,
    const FvDetectorOptions * options, GError ** error)
{
  static const guint pc[] = { 2, 4 }, oc[] = { 2, 4, 10 };
  g_autoptr (FvDetector) d = NULL;
  g_autoptr (FvSession) probe = NULL;
  int idx[3];

  g_return_val_if_fail (pnet != NULL && rnet != NULL && onet != NULL, NULL);
  g_return_val_if_fail (options == NULL || options_valid (options), NULL);

  d = g_new0 (FvDetector, 1);
  if (options)
    d->opts = *options;
  else
    fv_detector_options_init (&d->opts);
  d->pnet = fv_model_ref (pnet);
  d->rnet = fv_model_ref (rnet);
  d->onet = fv_model_ref (onet);
  d->pinned = g_strcmp0 (fv_model_get_sha256 (pnet), pinned_sha256[0]) == 0
      && g_strcmp0 (fv_model_get_sha256 (rnet), pinned_sha256[1]) == 0
      && g_strcmp0 (fv_model_get_sha256 (onet), pinned_sha256[2]) == 0;

  if (!check_input (pnet, "P-Net", 0, error)
      || !check_input (rnet, "R-Net", RNET_SIZE, error)
      || !check_input (onet, "O-Net", ONET_SIZE, error))
    return NULL;
  if (!find_outputs (pnet, "P-Net", pc, idx, 2, error))
    return NULL;
  d->p_prob = idx[0];
  d->p_reg = idx[1];
  if (!find_outputs (rnet, "R-Net", pc, idx, 2, error))
    return NULL;
  d->r_prob = idx[0];
  d->r_reg = idx[1];
  if (!find_outputs (onet, "O-Net", oc, idx, 3, error))
    return NULL;
  d->o_prob = idx[0];
  d->o_reg = idx[1];
  d->o_lm = idx[2];

  /* P-Net must run at any size: try the smallest one now. */
  probe = fv_session_new (pnet, 1, CELL, CELL, error);
  if (!probe)
    return NULL;
  if (d->opts.threads != 1
      && !fv_session_set_threads (probe, d->opts.threads, error))
    return NULL;
  d->pnet_threads = g_steal_pointer (&probe);
  /* Without memory: they run in the working memory. */
  d->rsession = fv_session_new_unbound (rnet, RNET_BATCH, 0, 0, error);
  if (!d->rsession)
    return NULL;
  d->osession = fv_session_new_unbound (onet, ONET_BATCH, 0, 0, error);
  if (!d->osession)
    return NULL;
  d->rnet_bytes = fv_session_get_arena_need (d->rsession);
  d->onet_bytes = fv_session_get_arena_need (d->osession);
  if (d->opts.retry_padded) {
    d->pad = fv_detector_pad_new (pnet, rnet, onet, &d->opts, error);
    if (!d->pad)
      return NULL;
  }
  return g_steal_pointer (&d);
}

/**
 * fv_detector_new_from_files:
 * @pnet_path: (type filename): pnet.tflite
 * @rnet_path: (type filename): rnet.tflite
 * @onet_path: (type filename): onet.tflite
 * @options: (nullable): settings, or %NULL for the defaults
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Returns: (transfer full) (nullable): a new detector
 */
FvDetector *
fv_detector_new_from_files (const char *pnet_path, const char *rnet_path,
    const char *onet_path, const FvDetectorOptions * options, GError ** error)
{
  g_autoptr (FvModel) p = NULL;
  g_autoptr (FvModel) r = NULL;
  g_autoptr (FvModel) o = NULL;
  const char *paths[3] = { pnet_path, rnet_path, onet_path };
  const char *env = g_getenv ("FV_ALLOW_UNPINNED_MODELS");
  gboolean allow = (options && options->allow_unpinned)
      || (env && strcmp (env, "1") == 0);
  FvModel *models[3];
  guint i;

  g_return_val_if_fail (pnet_path && rnet_path && onet_path, NULL);
  if (!(p = fv_model_new_from_file (pnet_path, error))
      || !(r = fv_model_new_from_file (rnet_path, error))
      || !(o = fv_model_new_from_file (onet_path, error)))
    return NULL;
  models[0] = p;
  models[1] = r;
  models[2] = o;
  for (i = 0; i < 3 && !allow; i++) {
    if (strcmp (fv_model_get_sha256 (models[i]), pinned_sha256[i]) != 0) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
          "%s: the detector model's SHA-256 (%.16s…) is not the pinned one "
          "(%.16s…, models/SHA256SUMS): the file is damaged or another "
          "model; set FV_ALLOW_UNPINNED_MODELS=1 (or allow_unpinned) to "
          "use your own models", paths[i], fv_model_get_sha256 (models[i]),
          pinned_sha256[i]);
      return NULL;
    }
  }
  return fv_detector_new_for_models (p, r, o, options, error);
}

/**
 * fv_detector_new:
 * @options: (nullable): settings, or %NULL for the defaults
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Loads pnet.tflite, rnet.tflite and onet.tflite from where
 * fv_find_model() finds them.
 *
 * Returns: (transfer full) (nullable): a new detector
 */
FvDetector *
fv_detector_new (const FvDetectorOptions * options, GError ** error)
{
  static const char *names[] = { "pnet.tflite", "rnet.tflite", "onet.tflite" };
  char *paths[3] = { NULL, NULL, NULL };
  FvDetector *d = NULL;
  guint i;

  for (i = 0; i < 3; i++) {
    paths[i] = fv_find_model (names[i]);
    if (!paths[i]) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_NOT_FOUND,
          "model %s not found (set FV_MODEL_DIR or run models/fetch.sh)",
          names[i]);
      goto out;
    }
  }
  d = fv_detector_new_from_files (paths[0], paths[1], paths[2], options, error);
out:
  for (i = 0; i < 3; i++)
    g_free (paths[i]);
  return d;
}

/**
 * fv_detector_get_models_pinned:
 * @detector: a detector
 *
 * Whether the detector's three models are the shipped ones (their SHA-256
 * matches models/SHA256SUMS). %FALSE only for models the caller brought
 * (fv_detector_new_for_models(), or @allow_unpinned): the caller should
 * warn, since detections then depend on those files.
 *
 * Returns: %TRUE for the pinned models
 */
gboolean
fv_detector_get_models_pinned (FvDetector * detector)
{
  g_return_val_if_fail (detector != NULL, FALSE);
  return detector->pinned;
}

static void
plan_clear (Plan * p)
{
  guint i;

  for (i = 0; i < p->n_levels; i++)
    fv_session_free (p->session[i]);
  memset (p, 0, sizeof *p);
}

/**
 * fv_detector_free:
 * @detector: (transfer full) (nullable): a detector
 */
void
fv_detector_free (FvDetector * detector)
{
  guint i;

  if (!detector)
    return;
  for (i = 0; i < N_PLANS; i++)
    plan_clear (&detector->plans[i]);
  fv_session_free (detector->rsession);
  fv_session_free (detector->pnet_threads);
  fv_session_free (detector->osession);
  g_clear_pointer (&detector->pnet, fv_model_unref);
  g_clear_pointer (&detector->rnet, fv_model_unref);
  g_clear_pointer (&detector->onet, fv_model_unref);
  fv_detector_pad_free (detector->pad);
  g_free (detector);
}

/**
 * fv_detector_get_options:
 * @detector: a detector
 * @options: (out caller-allocates): the detector's settings
 */
void
fv_detector_get_options (FvDetector * detector, FvDetectorOptions * options)
{
  g_return_if_fail (detector != NULL && options != NULL);
  *options = detector->opts;
}

/* How a frame maps onto the canvas: scaled to dw x dh at (ox, oy). */
typedef struct
{
  guint dw, dh, ox, oy, cw, ch;
} Layout;

static void
layout_for (const FvDetector * d, guint w, guint h, gboolean padded, Layout * l)
{
  double grow = padded ? 1.0 + 2.0 * PAD_FRACTION : 1.0;
  double s = MIN (1.0, d->opts.max_input_size / (MAX (w, h) * grow));

  l->dw = CLAMP ((guint) (w * s + 0.5), 1, w);
  l->dh = CLAMP ((guint) (h * s + 0.5), 1, h);
  l->ox = padded ? (guint) (l->dw * PAD_FRACTION + 0.5) : 0;
  l->oy = padded ? (guint) (l->dh * PAD_FRACTION + 0.5) : 0;
  l->cw = l->dw + 2 * l->ox;
  l->ch = l->dh + 2 * l->oy;
}

static Plan *
get_plan (FvDetector * d, guint cw, guint ch, GError ** error)
{
  Plan *p = NULL;
  double scale, minl;
  guint i;

  for (i = 0; i < N_PLANS; i++) {
    if (d->plans[i].cw == cw && d->plans[i].ch == ch) {
      d->plans[i].stamp = ++d->clock;
      return &d->plans[i];
    }
  }
  /* Replace the least recently used plan. */
  for (i = 0; i < N_PLANS; i++)
    if (!p || d->plans[i].stamp < p->stamp)
      p = &d->plans[i];
  plan_clear (p);

  scale = (double) CELL / d->opts.min_face_size;
  minl = MIN (cw, ch) * scale;
  while (minl >= CELL && p->n_levels < MAX_LEVELS) {
    guint lw = (guint) ceil (cw * scale), lh = (guint) ceil (ch * scale);
    FvSession *s;

    /* Transposed: the image width is the tensor height. */
    s = fv_session_new_unbound (d->pnet, 1, lw, lh, error);
    if (!s) {
      plan_clear (p);
      return NULL;
    }
    fv_session_share_threads (s, d->pnet_threads);
    /* The levels run one after the other, in the working memory. */
    p->session[p->n_levels] = s;
    p->scale[p->n_levels] = scale;
    p->lw[p->n_levels] = lw;
    p->lh[p->n_levels] = lh;
    p->net_bytes = MAX (p->net_bytes, fv_session_get_arena_need (s));
    p->n_levels++;
    scale *= d->opts.scale_factor;
    minl *= d->opts.scale_factor;
  }
  p->cw = cw;
  p->ch = ch;
  p->stamp = ++d->clock;
  return p;
}

/* Where each part of the working memory of a detection on a frame of
 * @w x @h laid out as @l with plan @p lies, from @base (%NULL: only the
 * size). The nets run one after the other in the same arena. */
static gsize
work_layout (FvDetector * d, const Plan * p, const Layout * l, guint w,
    guint h, guint8 * base)
{
  gsize off = 0, net, canvas, level, convert, rows, heap, cands, dead;
  gsize convert_size = fv_frame_planar_scratch_size (w, h, l->dw, l->dh);

#define TAKE(var, bytes) G_STMT_START { \
  var = off; \
  off = fv_round_up (off + (bytes), FV_ALIGN); \
} G_STMT_END
  TAKE (net, MAX (p->net_bytes, MAX (d->rnet_bytes, d->onet_bytes)));
  TAKE (canvas, (gsize) (3) * l->cw * l->ch);
  TAKE (level, p->n_levels ? (gsize) (3) * p->lw[0] * p->lh[0] : 0);
  TAKE (convert, convert_size);
  /* Levels and crops are at most the canvas wide, from at most the canvas
   * wide (fv_scale_scratch_size() grows with both). */
  TAKE (rows, fv_scale_scratch_size (l->cw, MAX (l->cw, ONET_SIZE)));
  TAKE (heap, sizeof (Cand) * LEVEL_TOP);
  TAKE (cands, sizeof (Cand) * STAGE1_MAX);
  TAKE (dead, STAGE1_MAX);
#undef TAKE
  if (base) {
    d->net = (float *) (base + net);
    d->canvas = base + canvas;
    d->level = base + level;
    d->convert.data = base + convert;
    d->convert.size = convert_size;
    d->rows = base + rows;
    d->heap = (Cand *) (base + heap);
    d->cands = (Cand *) (base + cands);
    d->dead = base + dead;
  }
  return off;
}

/* The plan for frames of @w x @h laid out as @l, and the size of the
 * working memory for them; %NULL if P-Net cannot be planned. */
static Plan *
prepare_layout (FvDetector * d, guint w, guint h, const Layout * l,
    gsize * work_bytes, GError ** error)
{
  Plan *p = get_plan (d, l->cw, l->ch, error);

  if (!p)
    return NULL;
  *work_bytes = work_layout (d, p, l, w, h, NULL);
  d->work_bytes = MAX (d->work_bytes, *work_bytes);
  return p;
}

/**
 * fv_detector_prepare:
 * @detector: a detector
 * @width: frame width
 * @height: frame height
 * @error: return location for an %FV_MODEL_ERROR, or an %FV_IMAGE_ERROR
 *   (%FV_IMAGE_ERROR_SIZE) for a size outside 1 to %FV_FRAME_MAX_SIZE
 *
 * Plans the P-Net sessions for frames of this size (for both the normal
 * pass and the padded retry) and grows the process's working memory
 * (fv-workspace.h) to what a detection on them borrows, so that
 * fv_detector_detect() on such frames allocates nothing. Optional: detect
 * does it on the first frame of a new size. The detector keeps the plans
 * of the last few canvas sizes.
 *
 * Returns: %FALSE if the size is out of range or a P-Net session cannot
 *   be planned
 */
gboolean
fv_detector_prepare (FvDetector * detector, guint width, guint height,
    GError ** error)
{
  Layout l;
  gsize size;

  g_return_val_if_fail (detector != NULL, FALSE);
  if (!fv_frame_check_size (width, height, error))
    return FALSE;
  layout_for (detector, width, height, FALSE, &l);
  if (!prepare_layout (detector, width, height, &l, &size, error))
    return FALSE;
  /* Grows the working memory (one block of it) now. */
  fv_workspace_release (fv_workspace_acquire (size));
  return !detector->pad || fv_detector_pad_prepare (detector->pad, width,
      height, error);
}

/**
 * fv_detector_get_memory_size:
 * @detector: a detector
 *
 * Returns: the bytes the detector holds in sessions and buffers between
 *   detections (not counting the models' weights, nor the working memory
 *   it borrows during a detection, see fv_detector_get_work_size())
 */
gsize
fv_detector_get_memory_size (FvDetector * detector)
{
  gsize n;

  g_return_val_if_fail (detector != NULL, 0);
  n = fv_session_get_arena_size (detector->rsession)
      + fv_session_get_arena_size (detector->osession)
      + fv_session_get_arena_size (detector->pnet_threads);
  if (detector->pad)
    n += fv_detector_pad_get_memory_size (detector->pad);
  return n;
}

/**
 * fv_detector_get_work_size:
 * @detector: a detector
 *
 * The detector keeps its canvas, candidate lists and the activations of
 * its nets in the process's working memory (fv-workspace.h), borrowed for
 * the duration of a detection: one block per running detection, whatever
 * the number of detectors.
 *
 * Returns: the most bytes of working memory one of its detections has
 *   borrowed so far (or will, for the sizes given to
 *   fv_detector_prepare()), its large-face pass included
 */
gsize
fv_detector_get_work_size (FvDetector * detector)
{
  g_return_val_if_fail (detector != NULL, 0);
  return MAX (detector->work_bytes, detector->pad ?
      fv_detector_pad_get_work_size (detector->pad) : 0);
}

/* ---- nets --------------------------------------------------------------- */

static inline float
norm (guint8 p)
{
  return ((float) p - 127.5f) * (1.0f / 128.0f);
}

/* Writes 3 planes of w x h as a transposed NHWC tensor [w][h][3]. */
static void
planes_to_input (const guint8 * r, const guint8 * g, const guint8 * b,
    gsize stride, guint w, guint h, float *dst)
{
  guint x, y;

  for (x = 0; x < w; x++) {
    for (y = 0; y < h; y++) {
      gsize o = y * stride + x;
      dst[0] = norm (r[o]);
      dst[1] = norm (g[o]);
      dst[2] = norm (b[o]);
      dst += 3;
    }
  }
}

static void
run_level (FvDetector * d, const Plan * p, guint li, guint8 * const *canvas,
    guint * n_cands)
{
  FvSession *s = p->session[li];
  guint lw = p->lw[li], lh = p->lh[li], mw, mh, x, y, n_heap = 0, kept, c;
  gsize plane = (gsize) (lw) * lh;
  guint8 *lv = d->level;
  const float *prob, *reg;
  float scale = p->scale[li], th = d->opts.thresholds[0];
  FvShape shape;

  for (c = 0; c < 3; c++)
    fv_scale_plane (canvas[c], p->cw, p->cw, p->ch, lv + c * plane, lw, lw,
        lh, TRUE, d->rows);
  fv_session_bind_arena (s, d->net);
  planes_to_input (lv, lv + plane, lv + 2 * plane, lw, lw, lh,
      fv_session_get_input (s, 0));
  fv_session_run (s, 1);

  prob = fv_session_get_output (s, d->p_prob, &shape);
  reg = fv_session_get_output (s, d->p_reg, NULL);
  mw = shape.dims[1];           /* along image x (transposed) */
  mh = shape.dims[2];
  for (x = 0; x < mw; x++) {
    for (y = 0; y < mh; y++) {
      gsize o = (gsize) (x) * mh + y;
      float score = prob[o * 2 + 1];
      Cand cd;
      if (!(score > th))
        continue;
      cd.x1 = truncf ((STRIDE * x + 1) / scale);
      cd.y1 = truncf ((STRIDE * y + 1) / scale);
      cd.x2 = truncf ((STRIDE * x + CELL) / scale);
      cd.y2 = truncf ((STRIDE * y + CELL) / scale);
      cd.score = score;
      memcpy (cd.reg, reg + o * 4, sizeof cd.reg);
      fv_cands_heap_push (d->heap, &n_heap, LEVEL_TOP, &cd);
    }
  }
  fv_cands_sort (d->heap, n_heap);
  kept = MIN (fv_cands_nms (d->heap, n_heap, 0.5f, FALSE, d->dead), LEVEL_KEEP);

  if (*n_cands + kept > STAGE1_MAX) {
    /* Only for pathological frames: thin out what we have. */
    fv_cands_sort (d->cands, *n_cands);
    *n_cands = fv_cands_nms (d->cands, *n_cands, 0.7f, FALSE, d->dead);
    *n_cands = MIN (*n_cands, STAGE1_MAX - kept);
  }
  memcpy (d->cands + *n_cands, d->heap, kept * sizeof (Cand));
  *n_cands += kept;
}

/* Crops box @c of the canvas, resized to size x size (zero outside the
 * canvas, like the reference's padded patch), into a transposed input. */
static void
crop_to_input (FvDetector * d, const Plan * p, guint8 * const *canvas,
    const Cand * c, guint size, float *dst)
{
  gint64 x1, y1, x2, y2, bw, bh, ix1, iy1, ix2, iy2, ox1, oy1, ox2, oy2;
  gsize plane = (gsize) (size) * size;
  guint k;

  x1 = (gint64) rintf (CLAMP (c->x1, -1e7f, 1e7f));
  y1 = (gint64) rintf (CLAMP (c->y1, -1e7f, 1e7f));
  x2 = (gint64) rintf (CLAMP (c->x2, -1e7f, 1e7f));
  y2 = (gint64) rintf (CLAMP (c->y2, -1e7f, 1e7f));
  bw = x2 - x1 + 1;
  bh = y2 - y1 + 1;
  ix1 = MAX (x1, 0);
  iy1 = MAX (y1, 0);
  ix2 = MIN (x2, (gint64) p->cw - 1);
  iy2 = MIN (y2, (gint64) p->ch - 1);
  if (bw <= 0 || bh <= 0 || ix2 < ix1 || iy2 < iy1) {
    memset (dst, 0, plane * 3 * sizeof (float));
    return;
  }
  ox1 = (ix1 - x1) * size / bw;
  oy1 = (iy1 - y1) * size / bh;
  ox2 = ((ix2 + 1 - x1) * size + bw - 1) / bw;
  oy2 = ((iy2 + 1 - y1) * size + bh - 1) / bh;
  ox2 = CLAMP (ox2, ox1 + 1, (gint64) size);
  oy2 = CLAMP (oy2, oy1 + 1, (gint64) size);
  ox1 = MIN (ox1, ox2 - 1);
  oy1 = MIN (oy1, oy2 - 1);
  if (ox1 > 0 || oy1 > 0 || ox2 < size || oy2 < size)
    memset (d->crop, 0, 3 * plane);
  for (k = 0; k < 3; k++)
    fv_scale_plane (canvas[k] + iy1 * p->cw + ix1, p->cw, ix2 - ix1 + 1,
        iy2 - iy1 + 1, d->crop + k * plane + oy1 * size + ox1, size,
        ox2 - ox1, oy2 - oy1, TRUE, d->rows);
  planes_to_input (d->crop, d->crop + plane, d->crop + 2 * plane, size, size,
      size, dst);
}

/* R-Net over @n candidates in batches; keeps those above the threshold
 * (with their regression) at the front and returns their number. */
static guint
run_rnet (FvDetector * d, const Plan * p, guint8 * const *canvas, Cand * c,
    guint n)
{
  gsize image = RNET_SIZE * RNET_SIZE * 3;
  float *in = (fv_session_bind_arena (d->rsession, d->net),
      fv_session_get_input (d->rsession, 0));
  float th = d->opts.thresholds[1];
  guint done = 0, kept = 0, i;

  while (done < n) {
    guint b = MIN (RNET_BATCH, n - done);
    const float *prob, *reg;
    for (i = 0; i < b; i++)
      crop_to_input (d, p, canvas, &c[done + i], RNET_SIZE, in + i * image);
    fv_session_run (d->rsession, b);
    prob = fv_session_get_output (d->rsession, d->r_prob, NULL);
    reg = fv_session_get_output (d->rsession, d->r_reg, NULL);
    for (i = 0; i < b; i++) {
      if (!(prob[2 * i + 1] > th))
        continue;
      c[kept] = c[done + i];
      c[kept].score = prob[2 * i + 1];
      memcpy (c[kept].reg, reg + 4 * i, sizeof c[kept].reg);
      kept++;
    }
    done += b;
  }
  return kept;
}

static guint
run_onet (FvDetector * d, const Plan * p, guint8 * const *canvas, Cand * c,
    guint n)
{
  gsize image = ONET_SIZE * ONET_SIZE * 3;
  float *in = (fv_session_bind_arena (d->osession, d->net),
      fv_session_get_input (d->osession, 0));
  float th = d->opts.thresholds[2];
  guint done = 0, kept = 0, i, k;

  while (done < n) {
    guint b = MIN (ONET_BATCH, n - done);
    const float *prob, *reg, *lm;
    for (i = 0; i < b; i++)
      crop_to_input (d, p, canvas, &c[done + i], ONET_SIZE, in + i * image);
    fv_session_run (d->osession, b);
    prob = fv_session_get_output (d->osession, d->o_prob, NULL);
    reg = fv_session_get_output (d->osession, d->o_reg, NULL);
    lm = fv_session_get_output (d->osession, d->o_lm, NULL);
    for (i = 0; i < b; i++) {
      Cand *o;
      float w, h;
      if (!(prob[2 * i + 1] > th))
        continue;
      o = &c[kept];
      *o = c[done + i];
      o->score = prob[2 * i + 1];
      /* Landmarks are relative to the square box that went in: x0..x4,
       * then y0..y4. */
      w = o->x2 - o->x1 + 1;
      h = o->y2 - o->y1 + 1;
      for (k = 0; k < FV_N_LANDMARKS; k++) {
        o->lm[2 * k] = o->x1 + w * lm[10 * i + k] - 1;
        o->lm[2 * k + 1] = o->y1 + h * lm[10 * i + FV_N_LANDMARKS + k] - 1;
      }
      fv_cand_regress (o, reg + 4 * i);
      kept++;
    }
    done += b;
  }
  return kept;
}

/* Converts the frame into the canvas (in the working memory) laid out as
 * @l; returns its three planes in @canvas. */
static void
draw_canvas (FvDetector * d, const FvFrame * frame, const Layout * l,
    guint8 ** canvas)
{
  FvPlanes dst;
  gsize plane = (gsize) l->cw * l->ch;
  guint c;

  for (c = 0; c < 3; c++)
    canvas[c] = d->canvas + c * plane;
  if (l->ox || l->oy)
    memset (d->canvas, PAD_VALUE, 3 * plane);
  dst.stride = l->cw;
  for (c = 0; c < 3; c++)
    dst.p[c] = canvas[c] + (gsize) l->oy * l->cw + l->ox;
  fv_frame_read_planar (frame, 0, 0, frame->width, frame->height, &dst,
      l->dw, l->dh, &d->convert);
}

/* Stage 3 on the first @n of d->cands, R-Net survivors with their
 * regression: O-Net, landmarks, final boxes. Returns the number of faces,
 * best first, in d->cands. */
static guint
run_last_stage (FvDetector * d, const Plan * p, guint8 * const *canvas, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    fv_cand_regress (&d->cands[i], d->cands[i].reg);
    fv_cand_square (&d->cands[i]);
  }
  n = run_onet (d, p, canvas, d->cands, n);
  if (n == 0)
    return 0;
  fv_cands_sort (d->cands, n);
  return fv_cands_nms (d->cands, n, 0.7f, TRUE, d->dead);
}

/* Stages 2 and 3 of the cascade on the @n squared candidates in d->cands.
 * Returns the number of faces, best first, in d->cands. */
static guint
refine (FvDetector * d, const Plan * p, guint8 * const *canvas, guint n)
{
  n = run_rnet (d, p, canvas, d->cands, n);
  if (n == 0)
    return 0;
  fv_cands_sort (d->cands, n);
  n = MIN (fv_cands_nms (d->cands, n, 0.7f, FALSE, d->dead), ONET_MAX);
  return run_last_stage (d, p, canvas, n);
}

/* One pass of the cascade over the frame laid out on the canvas as @l
 * with plan @p, for faces of at least @min_face canvas pixels, in the
 * working memory. Returns the number of faces, best first, in d->cands. */
static guint
run_pass (FvDetector * d, const FvFrame * frame, const Layout * l,
    const Plan * p, float min_face)
{
  guint8 *canvas[3];
  guint n = 0, i;

  draw_canvas (d, frame, l, canvas);

  /* Stage 1: P-Net on every pyramid level. */
  for (i = 0; i < p->n_levels; i++)
    if (CELL / p->scale[i] >= min_face)
      run_level (d, p, i, canvas, &n);
  if (n == 0)
    return 0;
  fv_cands_sort (d->cands, n);
  n = MIN (fv_cands_nms (d->cands, n, 0.7f, FALSE, d->dead), RNET_MAX);
  for (i = 0; i < n; i++) {
    fv_cand_regress (&d->cands[i], d->cands[i].reg);
    fv_cand_square (&d->cands[i]);
  }
  return refine (d, p, canvas, n);
}

/* Writes the first @n of d->cands, canvas pixels of layout @l, to @faces
 * in frame pixels. */
static void
cands_to_faces (const FvDetector * d, const FvFrame * frame, const Layout * l,
    guint n, FvDetection * faces)
{
  /* Canvas pixel centres back to frame pixel centres. */
  float sx = (float) frame->width / l->dw, sy = (float) frame->height / l->dh;
  guint i, k;

  for (i = 0; i < n; i++) {
    const Cand *c = &d->cands[i];
    FvDetection *f = &faces[i];
#define TO_X(v) (((v) - l->ox + 0.5f) * sx - 0.5f)
#define TO_Y(v) (((v) - l->oy + 0.5f) * sy - 0.5f)
    f->x1 = TO_X (c->x1);
    f->y1 = TO_Y (c->y1);
    f->x2 = TO_X (c->x2);
    f->y2 = TO_Y (c->y2);
    f->score = c->score;
    for (k = 0; k < FV_N_LANDMARKS; k++) {
      f->landmarks[2 * k] = TO_X (c->lm[2 * k]);
      f->landmarks[2 * k + 1] = TO_Y (c->lm[2 * k + 1]);
    }
#undef TO_X
#undef TO_Y
  }
}

/**
 * fv_detector_detect:
 * @detector: a detector
 * @frame: the frame
 * @faces: (out caller-allocates) (array length=max_faces): room for the
 *   faces
 * @max_faces: the size of @faces
 *
 * Finds the faces in @frame, best score first. Frames larger than the
 * maximum input size are downscaled first (the minimum face size applies
 * to the downscaled frame). With the padded retry on, also searches a
 * small copy of the frame in a grey border for faces that fill the whole
 * picture (fv-detector-pad.c). Allocates nothing once frames of this size
 * have been seen (or prepared with fv_detector_prepare()), the scaling of
 * the frame, of the pyramid levels and of the crops included.
 *
 * Returns: the number of faces written to @faces (at most @max_faces)
 */
guint
fv_detector_detect (FvDetector * detector, const FvFrame * frame,
    FvDetection * faces, guint max_faces)
{
  gsize size;
  guint n = 0;

  g_return_val_if_fail (detector != NULL && frame != NULL, 0);
  g_return_val_if_fail (faces != NULL || max_faces == 0, 0);
  g_return_val_if_fail (frame->width >= 1 && frame->height >= 1, 0);

  size = fv_detector_get_work_for (detector, frame->width, frame->height);
  if (size > 0) {
    guint8 *work = fv_workspace_acquire (size);
    n = fv_detector_detect_in (detector, frame, faces, max_faces, work);
    fv_workspace_release (work);
  }
  if (detector->pad)
    n = fv_detector_pad_detect (detector->pad, frame, faces, n, max_faces);
  return n;
}

/* The working memory fv_detector_detect_in() needs for frames of @width x
 * @height (planned now if need be); 0 when there is nothing to search. */
gsize
fv_detector_get_work_for (FvDetector * d, guint width, guint height)
{
  Layout l;
  const Plan *p;
  gsize size = 0;

  layout_for (d, width, height, FALSE, &l);
  p = prepare_layout (d, width, height, &l, &size, NULL);
  return p && p->n_levels > 0 ? size : 0;
}

/* The normal pass (not the padded one) on @frame in @work, at least
 * fv_detector_get_work_for() bytes. */
guint
fv_detector_detect_in (FvDetector * d, const FvFrame * frame,
    FvDetection * faces, guint max_faces, guint8 * work)
{
  Layout l;
  const Plan *p;
  guint n;

  layout_for (d, frame->width, frame->height, FALSE, &l);
  p = get_plan (d, l.cw, l.ch, NULL);
  if (!p || p->n_levels == 0)
    return 0;
  work_layout (d, p, &l, frame->width, frame->height, work);
  n = run_pass (d, frame, &l, p, 0.0f);
  n = MIN (n, max_faces);
  cands_to_faces (d, frame, &l, n, faces);
  return n;
}

/* ---- tracking ----------------------------------------------------------- */

/* The boxes tried around a previous face: its squared box, and that box
 * shifted left, right, up and down by a quarter of its size. R-Net's
 * regression pulls each towards the face. Measured (tests/plugin/
 * bench-track, "reach": deepface faces of about 120 px at 1280x720 moved
 * on a grid of tenths of their size): these five find a face again up to
 * 0.4 of its size away on either axis, all but a few far corners (640 of
 * 648 positions); the squared box alone only up to about 0.2 (246 of 486
 * on the same grid with six other photos). Size changes from 0.75x to
 * 1.33x need nothing more; scaled boxes as extra candidates only cost
 * time. */
static const float track_moves[][2] = {
  {0.0f, 0.0f},
  {-0.25f, 0.0f}, {0.25f, 0.0f},
  {0.0f, -0.25f}, {0.0f, 0.25f},
};

#define N_TRACK_MOVES G_N_ELEMENTS (track_moves)

/* Keeps the best R-Net survivor of each previous face: O-Net, which costs
 * most, then runs once per face (the candidates of one face are next to
 * each other, in the order of lm[0]). */
static guint
best_per_face (Cand * c, guint n)
{
  guint i, kept = 0;

  for (i = 0; i < n; i++) {
    if (kept > 0 && c[kept - 1].lm[0] == c[i].lm[0]) {
      if (c[i].score > c[kept - 1].score)
        c[kept - 1] = c[i];
    } else {
      c[kept++] = c[i];
    }
  }
  return kept;
}

/* Adds the candidates around @f (frame pixels), the @origin-th previous
 * face, to d->cands from @n on; returns the new count. A box that is not
 * finite, empty, or far larger than or outside the canvas adds nothing.
 * Until O-Net, lm[0] holds @origin (R-Net does not touch it). */
static guint
track_candidates (FvDetector * d, const FvFrame * frame, const Layout * l,
    const FvDetection * f, guint origin, guint n)
{
  float sx = (float) l->dw / frame->width, sy = (float) l->dh / frame->height;
  float x1, y1, x2, y2, cx, cy, size, limit = 4.0f * MAX (l->cw, l->ch);
  guint k;

  if (!isfinite (f->x1) || !isfinite (f->y1) || !isfinite (f->x2)
      || !isfinite (f->y2))
    return n;
  /* Frame pixel centres to canvas pixel centres. */
  x1 = (f->x1 + 0.5f) * sx - 0.5f + l->ox;
  y1 = (f->y1 + 0.5f) * sy - 0.5f + l->oy;
  x2 = (f->x2 + 0.5f) * sx - 0.5f + l->ox;
  y2 = (f->y2 + 0.5f) * sy - 0.5f + l->oy;
  size = MAX (x2 - x1, y2 - y1);
  cx = 0.5f * (x1 + x2);
  cy = 0.5f * (y1 + y2);
  if (!(x2 - x1 >= 1.0f && y2 - y1 >= 1.0f && size <= limit)
      || cx < -0.5f * size || cx > l->cw + 0.5f * size
      || cy < -0.5f * size || cy > l->ch + 0.5f * size)
    return n;
  for (k = 0; k < N_TRACK_MOVES; k++) {
    Cand *c = &d->cands[n++];
    float mx = cx + size * track_moves[k][0];
    float my = cy + size * track_moves[k][1];

    memset (c, 0, sizeof *c);
    c->lm[0] = (float) origin;
    c->x1 = mx - 0.5f * size;
    c->y1 = my - 0.5f * size;
    c->x2 = c->x1 + size;
    c->y2 = c->y1 + size;
  }
  return n;
}

/**
 * fv_detector_track:
 * @detector: a detector
 * @frame: the frame
 * @previous: (array length=n_previous): faces found on an earlier frame
 *   (by fv_detector_detect() or this function), in @frame's pixels
 * @n_previous: the number of @previous faces
 * @faces: (out caller-allocates) (array length=max_faces): room for the
 *   faces; may not be @previous
 * @max_faces: the size of @faces
 *
 * Looks for the @previous faces again in @frame, only around where they
 * were: for each, its squared box and four boxes around it (shifted by a
 * quarter of its size left, right, up and down) go through R-Net, the
 * best of them through O-Net (both batched over all faces), then the
 * same non-maximum suppression as fv_detector_detect(). A face that
 * O-Net does not confirm is not returned, so fewer faces than @n_previous
 * means that some were lost; faces that were not in @previous are never
 * found (that takes fv_detector_detect()). Boxes, scores and landmarks
 * are those of fv_detector_detect(), on the same canvas (frames larger
 * than the maximum input size are downscaled). Previous boxes that are
 * not finite, empty, or far outside or larger than the frame are
 * ignored; at most 204 previous faces are used. Costs a small fraction of
 * fv_detector_detect() (no P-Net, no padded retry) and allocates nothing
 * in steady state, like it.
 *
 * Returns: the number of faces written to @faces (at most @max_faces),
 *   best score first
 */
guint
fv_detector_track (FvDetector * detector, const FvFrame * frame,
    const FvDetection * previous, guint n_previous, FvDetection * faces,
    guint max_faces)
{
  Layout l;
  const Plan *p;
  guint8 *canvas[3], *work;
  gsize size;
  guint n = 0, i;

  g_return_val_if_fail (detector != NULL && frame != NULL, 0);
  g_return_val_if_fail (previous != NULL || n_previous == 0, 0);
  g_return_val_if_fail (faces != NULL || max_faces == 0, 0);
  g_return_val_if_fail (frame->width >= 1 && frame->height >= 1, 0);

  if (n_previous == 0 || max_faces == 0)
    return 0;
  n_previous = MIN (n_previous, RNET_MAX / N_TRACK_MOVES);
  layout_for (detector, frame->width, frame->height, FALSE, &l);
  p = prepare_layout (detector, frame->width, frame->height, &l, &size, NULL);
  if (!p)
    return 0;
  /* The candidates too are in the working memory. */
  work = fv_workspace_acquire (size);
  work_layout (detector, p, &l, frame->width, frame->height, work);
  for (i = 0; i < n_previous; i++)
    n = track_candidates (detector, frame, &l, &previous[i], i, n);
  if (n > 0) {
    draw_canvas (detector, frame, &l, canvas);
    n = best_per_face (detector->cands, run_rnet (detector, p, canvas,
            detector->cands, n));
    n = MIN (run_last_stage (detector, p, canvas, n), max_faces);
    cands_to_faces (detector, frame, &l, n, faces);
  }
  fv_workspace_release (work);
  return n;
}

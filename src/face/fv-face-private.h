/* Internal helpers shared by the frame access, the aligner and the
 * detector. */
#ifndef FV_FACE_PRIVATE_H
#define FV_FACE_PRIVATE_H

#include "fv.h"

G_BEGIN_DECLS

/* A buffer that only grows: allocation happens the first time a larger
 * frame size is seen, never in steady state. */
typedef struct
{
  guint8 *data;
  gsize size;
} FvScratch;

guint8 *fv_scratch_ensure (FvScratch * scratch, gsize size);
void fv_scratch_clear (FvScratch * scratch);

/* Scales one 8-bit plane like libyuv's ScalePlane() with kFilterBox
 * (@box) or kFilterBilinear, but allocates nothing: @scratch holds
 * fv_scale_scratch_size (@src_width, @dst_width) bytes (fv-scale.c). */
void fv_scale_plane (const guint8 * src, gsize src_stride, guint src_width,
    guint src_height, guint8 * dst, gsize dst_stride, guint dst_width,
    guint dst_height, gboolean box, guint8 * scratch);
gsize fv_scale_scratch_size (guint src_width, guint dst_width);

/* A candidate face of the detector's cascade, in canvas pixels
 * (fv-cands.c). */
typedef struct
{
  float x1, y1, x2, y2, score;
  float reg[4];
  float lm[2 * FV_N_LANDMARKS];
} FvCand;

/* Keeps the best @cap by score in the min-heap @h of *@n. */
void fv_cands_heap_push (FvCand * h, guint * n, guint cap, const FvCand * c);
/* Sorts best score first, in place (heapsort: no memory, unlike qsort). */
void fv_cands_sort (FvCand * c, guint n);
/* Greedy NMS on a list sorted best first; @dead holds @n bytes. */
guint fv_cands_nms (FvCand * c, guint n, float thr, gboolean min_mode,
    guint8 * dead);
void fv_cand_regress (FvCand * c, const float *reg);
void fv_cand_square (FvCand * c);

/* Three 8-bit planes R, G, B with one stride. */
typedef struct
{
  guint8 *p[3];
  gsize stride;
} FvPlanes;

/* FALSE with an FV_IMAGE_ERROR_SIZE error when @width x @height is not a
 * frame size the library reads (1 to FV_FRAME_MAX_SIZE each way): sizes
 * come from caps and files, so this is an error, not an assertion. */
gboolean fv_frame_check_size (guint width, guint height, GError ** error);

/* Converts the region (x, y, w, h), which must lie inside the frame, to
 * planar RGB of size dw x dh at @dst (dw <= w, dh <= h; box-filtered when
 * smaller). @scratch is used only when scaling. */
void fv_frame_read_planar (const FvFrame * frame, guint x, guint y, guint w,
    guint h, const FvPlanes * dst, guint dw, guint dh, FvScratch * scratch);

const guint8 *fv_frame_luma_row (const FvFrame * frame, guint y,
    FvScratch * scratch);

/* Bytes of scratch that fv_frame_read_planar() needs for these sizes. */
gsize fv_frame_planar_scratch_size (guint w, guint h, guint dw, guint dh);

/* The detector's normal pass in working memory that the caller borrowed
 * (fv-workspace.h), of the size fv_detector_get_work_for() gives for the
 * frame's size (0: nothing to search, do not call). */
gsize fv_detector_get_work_for (FvDetector * detector, guint width,
    guint height);
guint fv_detector_detect_in (FvDetector * detector, const FvFrame * frame,
    FvDetection * faces, guint max_faces, guint8 * work);

/* The detector's pass for faces that fill the frame (fv-detector-pad.c):
 * a small detector sharing the models, run on the frame shrunk and
 * surrounded by a grey border; its faces are merged into the normal
 * pass's (@n_faces of @max_faces, best first). */
typedef struct _FvDetectorPad FvDetectorPad;

FvDetectorPad *fv_detector_pad_new (FvModel * pnet, FvModel * rnet,
    FvModel * onet, const FvDetectorOptions * outer, GError ** error);
void fv_detector_pad_free (FvDetectorPad * pad);
gboolean fv_detector_pad_prepare (FvDetectorPad * pad, guint width,
    guint height, GError ** error);
gsize fv_detector_pad_get_memory_size (FvDetectorPad * pad);
gsize fv_detector_pad_get_work_size (FvDetectorPad * pad);
guint fv_detector_pad_detect (FvDetectorPad * pad, const FvFrame * frame,
    FvDetection * faces, guint n_faces, guint max_faces);

G_END_DECLS

#endif /* FV_FACE_PRIVATE_H */

/* gst-faceverify: face verification on the CPU
 *
 * fv-face.h: faces from video frames: frame access, 5-point alignment,
 * the MTCNN detector and the detect -> align -> embed pipeline. Included
 * by fv.h; use fv.h.
 */
#ifndef FV_FACE_H
#define FV_FACE_H

#include "fv-embedder.h"
#include "fv-quality.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------------------ */
/* Frames                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * FvPixelFormat:
 * @FV_PIXEL_FORMAT_UNKNOWN: not a format (for errors)
 * @FV_PIXEL_FORMAT_I420: planar 4:2:0 YUV: Y, U, V planes, chroma halved in
 *   both directions
 * @FV_PIXEL_FORMAT_NV12: Y plane, then one plane of interleaved U,V at half
 *   resolution
 * @FV_PIXEL_FORMAT_RGB: packed bytes R,G,B
 * @FV_PIXEL_FORMAT_BGR: packed bytes B,G,R
 * @FV_PIXEL_FORMAT_RGBx: bytes R,G,B,unused
 * @FV_PIXEL_FORMAT_BGRx: bytes B,G,R,unused
 * @FV_PIXEL_FORMAT_xRGB: bytes unused,R,G,B
 * @FV_PIXEL_FORMAT_xBGR: bytes unused,B,G,R
 * @FV_PIXEL_FORMAT_RGBA: bytes R,G,B,A
 * @FV_PIXEL_FORMAT_BGRA: bytes B,G,R,A
 * @FV_PIXEL_FORMAT_ARGB: bytes A,R,G,B
 * @FV_PIXEL_FORMAT_ABGR: bytes A,B,G,R
 * @FV_PIXEL_FORMAT_GRAY8: one plane of 8-bit gray (full range)
 *
 * Pixel formats of a #FvFrame. The names and byte orders are those of
 * GStreamer's video formats (memory order, not word order). Alpha is
 * ignored, not composited.
 */
typedef enum
{
  FV_PIXEL_FORMAT_UNKNOWN = 0,
  FV_PIXEL_FORMAT_I420,
  FV_PIXEL_FORMAT_NV12,
  FV_PIXEL_FORMAT_RGB,
  FV_PIXEL_FORMAT_BGR,
  FV_PIXEL_FORMAT_RGBx,
  FV_PIXEL_FORMAT_BGRx,
  FV_PIXEL_FORMAT_xRGB,
  FV_PIXEL_FORMAT_xBGR,
  FV_PIXEL_FORMAT_RGBA,
  FV_PIXEL_FORMAT_BGRA,
  FV_PIXEL_FORMAT_ARGB,
  FV_PIXEL_FORMAT_ABGR,
  FV_PIXEL_FORMAT_GRAY8,
} FvPixelFormat;

/**
 * FvColorMatrix:
 * @FV_COLOR_MATRIX_BT601: ITU-R BT.601, limited range (16-235)
 * @FV_COLOR_MATRIX_BT709: ITU-R BT.709, limited range
 * @FV_COLOR_MATRIX_BT601_FULL: BT.601, full range (JPEG)
 * @FV_COLOR_MATRIX_BT709_FULL: BT.709, full range
 *
 * How the YUV formats (I420, NV12) turn into RGB. Ignored for the others.
 */
typedef enum
{
  FV_COLOR_MATRIX_BT601 = 0,
  FV_COLOR_MATRIX_BT709,
  FV_COLOR_MATRIX_BT601_FULL,
  FV_COLOR_MATRIX_BT709_FULL,
} FvColorMatrix;

/**
 * FV_FRAME_MAX_SIZE:
 *
 * The largest width or height of a #FvFrame.
 */
#define FV_FRAME_MAX_SIZE 32767

/**
 * FvFrame:
 * @format: the pixel format
 * @matrix: the YUV to RGB matrix (I420 and NV12 only)
 * @width: width in pixels, 1 to %FV_FRAME_MAX_SIZE
 * @height: height in pixels, 1 to %FV_FRAME_MAX_SIZE
 * @planes: the planes (1 for packed formats and GRAY8, 2 for NV12, 3 for
 *   I420); the unused ones are %NULL
 * @strides: bytes from one row of each plane to the next (positive)
 *
 * A video frame or image that the library reads but never owns or
 * copies as a whole: only the regions that a face needs are converted.
 * Fill it with fv_frame_init(), which checks it.
 */
typedef struct
{
  FvPixelFormat format;
  FvColorMatrix matrix;
  guint width;
  guint height;
  const guint8 *planes[3];
  gint strides[3];
} FvFrame;

FV_API const char *fv_pixel_format_to_string (FvPixelFormat format);
FV_API FvPixelFormat fv_pixel_format_from_string (const char *name);
FV_API guint fv_pixel_format_n_planes (FvPixelFormat format);

FV_API gboolean fv_frame_init (FvFrame * frame, FvPixelFormat format,
    guint width, guint height, const guint8 * const *planes,
    const gint * strides, GError ** error);
FV_API void fv_frame_read_rgb (const FvFrame * frame, gint x, gint y,
    guint width, guint height, guint8 * rgb, gsize rgb_stride);

/* ------------------------------------------------------------------------ */
/* Alignment                                                                */
/* ------------------------------------------------------------------------ */

/**
 * FV_N_LANDMARKS:
 *
 * The number of facial landmarks (points) used for alignment: left eye,
 * right eye, nose tip, left mouth corner, right mouth corner, "left" and
 * "right" as seen in the image.
 */
#define FV_N_LANDMARKS 5

/**
 * FvAligner:
 *
 * Cuts 112x112 RGB face crops out of frames, either aligned to the ArcFace
 * five-point template with a similarity transform or as a square box crop.
 * Holds the scratch memory for the frame region that one face needs; not
 * thread-safe (one per thread).
 */
typedef struct _FvAligner FvAligner;

FV_API const float *fv_arcface_template (void);
FV_API gboolean fv_similarity_estimate (const float *src, const float *dst,
    guint n_points, float matrix[6]);

FV_API FvAligner *fv_aligner_new (void);
FV_API void fv_aligner_free (FvAligner * aligner);
FV_API void fv_aligner_set_fill (FvAligner * aligner, guint8 red,
    guint8 green, guint8 blue);
FV_API gboolean fv_aligner_align (FvAligner * aligner, const FvFrame * frame,
    const float *landmarks, guint8 * rgb, gsize rgb_stride);
FV_API gboolean fv_aligner_align_tensor (FvAligner * aligner,
    const FvFrame * frame, const float *landmarks, float *tensor);
FV_API gboolean fv_aligner_crop_box (FvAligner * aligner,
    const FvFrame * frame, float x1, float y1, float x2, float y2,
    float margin, guint8 * rgb, gsize rgb_stride);
FV_API gboolean fv_aligner_crop_box_tensor (FvAligner * aligner,
    const FvFrame * frame, float x1, float y1, float x2, float y2,
    float margin, float *tensor);
FV_API gsize fv_aligner_get_memory_size (FvAligner * aligner);

/**
 * FV_BOX_CROP_MARGIN:
 *
 * The margin of the box crop that fv_aligner_crop_face() falls back to
 * when a face has no usable landmarks: extra room around the box as a
 * fraction of its longer side, so the square crop's side is 1.1 times the
 * box's longer side. One value serves every detector: on the 122 faces of
 * the shared data sets (reference MTCNN boxes), the box crop's embedding
 * is closest to the aligned crop's with 0.1 (mean cosine 0.587; 0.550 with
 * 0.2, 0.584 with 0), and the boxes of OpenCV's Haar cascade, the other
 * detector we see upstream of faceverify, are right with it on most
 * frames of the test clip.
 */
#define FV_BOX_CROP_MARGIN 0.1f

FV_API gboolean fv_aligner_crop_face (FvAligner * aligner,
    const FvFrame * frame, float x1, float y1, float x2, float y2,
    const float *landmarks, guint8 * rgb, gsize rgb_stride);

/* ------------------------------------------------------------------------ */
/* Detector                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * FvDetection:
 * @x1: left edge of the face box, in frame pixels
 * @y1: top edge
 * @x2: right edge (the box is [@x1, @x2] x [@y1, @y2]; it may reach
 *   outside the frame)
 * @y2: bottom edge
 * @score: O-Net confidence, 0 to 1
 * @landmarks: five points as x, y pairs in frame pixels, in the order of
 *   %FV_N_LANDMARKS
 *
 * One detected face.
 */
typedef struct
{
  float x1, y1, x2, y2;
  float score;
  float landmarks[2 * FV_N_LANDMARKS];
} FvDetection;

/**
 * FvDetectorOptions:
 * @min_face_size: the smallest face to find, in pixels of the (possibly
 *   downscaled) input; 12 or more; default 40
 * @scale_factor: ratio between two levels of the image pyramid, in
 *   (0.1, 0.95]; default 0.709
 * @thresholds: P-Net, R-Net and O-Net score thresholds, in [0, 1];
 *   default 0.6, 0.7, 0.7
 * @max_input_size: frames whose longer side is larger are downscaled to
 *   this size before detection, which bounds memory and time; 64 to 8192,
 *   default 1920
 * @retry_padded: also search the frame shrunk to 144 pixels on its
 *   shorter side and surrounded by a grey border, for faces of at least
 *   half the frame: faces that fill the picture or are cut by its edges,
 *   which the normal pass misses (MTCNN needs some background around a
 *   face); its faces join the normal pass's (a face found by both is kept
 *   once, from the normal pass unless that box was only a part of the
 *   face). Costs a fraction of a millisecond and
 *   one more reading of the frame; default %TRUE
 * @allow_unpinned: accept pnet/rnet/onet files whose SHA-256 differs from
 *   the pinned sums (models/SHA256SUMS) in fv_detector_new() and
 *   fv_detector_new_from_files(): for users who bring their own models.
 *   The environment variable `FV_ALLOW_UNPINNED_MODELS=1` does the same.
 *   fv_detector_get_models_pinned() then tells the caller to warn.
 *   Default %FALSE: a damaged detector model silently changes detections,
 *   so it is refused (%FV_MODEL_ERROR_INVALID, naming the file)
 * @threads: threads that run P-Net, the costly first stage (the calling
 *   thread included); 0 for one per processor; default 1
 *
 * Settings of a #FvDetector. Initialise with fv_detector_options_init().
 */
typedef struct
{
  guint min_face_size;
  float scale_factor;
  float thresholds[3];
  guint max_input_size;
  gboolean retry_padded;
  guint threads;
  gboolean allow_unpinned;
} FvDetectorOptions;

/**
 * FvDetector:
 *
 * The MTCNN face detector (P-Net, R-Net, O-Net) with five landmarks,
 * running on the library's engine. Not thread-safe: one per thread (they
 * can share the models).
 */
typedef struct _FvDetector FvDetector;

FV_API void fv_detector_options_init (FvDetectorOptions * options);
FV_API FvDetector *fv_detector_new (const FvDetectorOptions * options,
    GError ** error);
FV_API FvDetector *fv_detector_new_from_files (const char *pnet_path,
    const char *rnet_path, const char *onet_path,
    const FvDetectorOptions * options, GError ** error);
FV_API gboolean fv_detector_get_models_pinned (FvDetector * detector);
FV_API FvDetector *fv_detector_new_for_models (FvModel * pnet,
    FvModel * rnet, FvModel * onet, const FvDetectorOptions * options,
    GError ** error);
FV_API void fv_detector_free (FvDetector * detector);
FV_API void fv_detector_get_options (FvDetector * detector,
    FvDetectorOptions * options);
FV_API gboolean fv_detector_prepare (FvDetector * detector, guint width,
    guint height, GError ** error);
FV_API guint fv_detector_detect (FvDetector * detector, const FvFrame * frame,
    FvDetection * faces, guint max_faces);
FV_API guint fv_detector_track (FvDetector * detector, const FvFrame * frame,
    const FvDetection * previous, guint n_previous, FvDetection * faces,
    guint max_faces);
FV_API gsize fv_detector_get_memory_size (FvDetector * detector);
FV_API gsize fv_detector_get_work_size (FvDetector * detector);

/**
 * FvScene:
 *
 * Tells whether a frame between two full scans of the detector shows
 * something new outside the tracked faces (a face walking in), so that it
 * gets a full scan at once instead of at the next periodic one.
 */
typedef struct _FvScene FvScene;

/**
 * FV_SCENE_CHANGE_THRESHOLD:
 *
 * A fv_scene_get_change() above this many luma levels (0-255) is a
 * change of the scene. Measured (README, "Choosing full-scan-interval"):
 * sensor noise and slow light changes stay far below it, a face that
 * appears far above.
 */
#define FV_SCENE_CHANGE_THRESHOLD 12.0f

FV_API FvScene *fv_scene_new (void);
FV_API void fv_scene_free (FvScene * scene);
FV_API void fv_scene_set_reference (FvScene * scene, const FvFrame * frame,
    const FvDetection * faces, guint n_faces);
FV_API float fv_scene_get_change (FvScene * scene, const FvFrame * frame,
    const FvDetection * faces, guint n_faces);

/**
 * FV_PROMINENCE_COMPARABLE:
 *
 * Two faces of a picture are comparable when the lower prominence
 * (fv_detection_prominence()) is at least this fraction of the higher:
 * neither is clearly the subject, and `faceverify enroll` asks which one
 * is meant.
 */
#define FV_PROMINENCE_COMPARABLE 0.6f

FV_API float fv_detection_prominence (const FvDetection * detection,
    guint width, guint height, float *size, float *centrality);
FV_API void fv_detections_sort_by_prominence (FvDetection * faces,
    guint n_faces, guint width, guint height);

/* ------------------------------------------------------------------------ */
/* Face pipeline: detect -> align -> embed                                  */
/* ------------------------------------------------------------------------ */

/**
 * FvFace:
 * @detection: box, score and landmarks in frame pixels
 * @aligned: %TRUE when the crop was aligned with the landmarks, %FALSE
 *   when the landmarks were unusable and a box crop was embedded instead
 * @embedding: (array): the L2-normalised embedding (the embedder's
 *   dimension); owned by the pipeline, valid until its next run
 * @quality: the quality of the crop that was embedded (fv_face_quality())
 *
 * One face found by fv_face_pipeline_process().
 */
typedef struct
{
  FvDetection detection;
  gboolean aligned;
  const float *embedding;
  FvFaceQuality quality;
} FvFace;

/**
 * FvFacePipeline:
 *
 * Finds, aligns and embeds every face of a frame. Not thread-safe.
 */
typedef struct _FvFacePipeline FvFacePipeline;

FV_API FvFacePipeline *fv_face_pipeline_new (FvDetector * detector,
    FvEmbedder * embedder, guint max_faces);
FV_API void fv_face_pipeline_free (FvFacePipeline * pipeline);
FV_API FvDetector *fv_face_pipeline_get_detector (FvFacePipeline * pipeline);
FV_API FvEmbedder *fv_face_pipeline_get_embedder (FvFacePipeline * pipeline);
FV_API const FvFace *fv_face_pipeline_process (FvFacePipeline * pipeline,
    const FvFrame * frame, guint * n_faces);
FV_API const guint8 *fv_face_pipeline_get_crop (FvFacePipeline * pipeline,
    guint index, gsize * stride);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvAligner, fv_aligner_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvDetector, fv_detector_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvFacePipeline, fv_face_pipeline_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvScene, fv_scene_free)

G_END_DECLS

#endif /* FV_FACE_H */

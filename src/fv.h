/* gst-faceverify: face verification on the CPU
 *
 * fv.h: the public API of libfaceverify. The plugin and the tools use the
 * library through this header only.
 */
#ifndef FV_H
#define FV_H

#include <glib.h>

G_BEGIN_DECLS

#if defined(FV_COMPILATION)
#define FV_API __attribute__ ((visibility ("default")))
#else
#define FV_API
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * FV_MODEL_ERROR:
 *
 * Error domain for loading and planning models. Errors in this domain are
 * from the #FvModelError enumeration.
 */
#define FV_MODEL_ERROR (fv_model_error_quark ())

/**
 * FvModelError:
 * @FV_MODEL_ERROR_NOT_FOUND: the model file does not exist
 * @FV_MODEL_ERROR_IO: the file could not be read (a directory, no permission)
 * @FV_MODEL_ERROR_FORMAT: the file is not a well-formed TFLite FlatBuffer
 *   (bad identifier, offset or length out of range, missing table)
 * @FV_MODEL_ERROR_VERSION: unsupported schema version
 * @FV_MODEL_ERROR_UNSUPPORTED_OP: the graph uses an operator (or an operator
 *   option) that the engine does not implement; the message names it
 * @FV_MODEL_ERROR_UNSUPPORTED_TYPE: a tensor has a data type other than
 *   float32 (or int32 for shape/axis constants)
 * @FV_MODEL_ERROR_SHAPE: tensor shapes are inconsistent with the operators
 *   or with the requested input size
 * @FV_MODEL_ERROR_INVALID: the model is well-formed but not usable for the
 *   requested purpose (e.g. not an embedding model)
 *
 * Error codes of the %FV_MODEL_ERROR domain.
 */
typedef enum
{
  FV_MODEL_ERROR_NOT_FOUND,
  FV_MODEL_ERROR_IO,
  FV_MODEL_ERROR_FORMAT,
  FV_MODEL_ERROR_VERSION,
  FV_MODEL_ERROR_UNSUPPORTED_OP,
  FV_MODEL_ERROR_UNSUPPORTED_TYPE,
  FV_MODEL_ERROR_SHAPE,
  FV_MODEL_ERROR_INVALID,
} FvModelError;

/**
 * FV_IMAGE_ERROR:
 *
 * Error domain for image input. Errors in this domain are from the
 * #FvImageError enumeration.
 */
#define FV_IMAGE_ERROR (fv_image_error_quark ())

/**
 * FvImageError:
 * @FV_IMAGE_ERROR_IO: the image file could not be read
 * @FV_IMAGE_ERROR_DECODE: the data could not be decoded as an image
 * @FV_IMAGE_ERROR_SIZE: the image does not have the required size
 * @FV_IMAGE_ERROR_FORMAT: unsupported pixel format
 *
 * Error codes of the %FV_IMAGE_ERROR domain.
 */
typedef enum
{
  FV_IMAGE_ERROR_IO,
  FV_IMAGE_ERROR_DECODE,
  FV_IMAGE_ERROR_SIZE,
  FV_IMAGE_ERROR_FORMAT,
} FvImageError;

FV_API GQuark fv_model_error_quark (void);
FV_API GQuark fv_image_error_quark (void);

/* ------------------------------------------------------------------------ */
/* CPU features and kernel dispatch                                         */
/* ------------------------------------------------------------------------ */

/**
 * FvIsa:
 * @FV_ISA_SCALAR: portable C
 * @FV_ISA_AVX2: x86-64 AVX2 + FMA
 * @FV_ISA_AVX512: x86-64 AVX-512 F/VL/DQ/BW
 * @FV_ISA_NEON: AArch64 Advanced SIMD
 *
 * Instruction-set levels of the kernels. The engine picks the best level
 * that the CPU supports and that the environment variable `FV_CPU_MASK`
 * does not switch off (`FV_CPU_MASK=scalar`, `avx2`, `avx512`, `neon`: the
 * highest level allowed; or a comma list of levels to disable prefixed by
 * `-`, e.g. `-avx512`).
 */
typedef enum
{
  FV_ISA_SCALAR = 0,
  FV_ISA_AVX2 = 1,
  FV_ISA_AVX512 = 2,
  FV_ISA_NEON = 3,
  FV_ISA_COUNT
} FvIsa;

FV_API const char *fv_isa_name (FvIsa isa);
FV_API gboolean fv_isa_supported (FvIsa isa);
FV_API FvIsa fv_isa_best (void);

/* ------------------------------------------------------------------------ */
/* Models and sessions (the inference engine)                               */
/* ------------------------------------------------------------------------ */

/**
 * FvModel:
 *
 * An immutable, reference-counted network loaded from a TFLite file, with
 * its weights already repacked for the chosen kernels. One model is shared
 * read-only by every #FvSession and thread.
 */
typedef struct _FvModel FvModel;

/**
 * FvSession:
 *
 * The per-thread state needed to run a #FvModel at one input size and a
 * maximum batch: the execution plan and one arena holding every activation.
 * Running a session allocates nothing.
 */
typedef struct _FvSession FvSession;

/**
 * FV_MAX_DIMS:
 *
 * The maximum rank of a tensor.
 */
#define FV_MAX_DIMS 4

/**
 * FvShape:
 * @rank: number of dimensions
 * @dims: the dimensions, outermost first (NHWC for images)
 *
 * A tensor shape.
 */
typedef struct
{
  guint rank;
  guint dims[FV_MAX_DIMS];
} FvShape;

FV_API FvModel *fv_model_new_from_file (const char *path, GError ** error);
FV_API FvModel *fv_model_new_from_data (const guint8 * data, gsize size,
    GError ** error);
FV_API FvModel *fv_model_new_from_file_with_isa (const char *path, FvIsa isa,
    GError ** error);
FV_API FvModel *fv_model_ref (FvModel * model);
FV_API void fv_model_unref (FvModel * model);
FV_API const char *fv_model_get_sha256 (FvModel * model);
FV_API FvIsa fv_model_get_isa (FvModel * model);
FV_API guint fv_model_get_n_inputs (FvModel * model);
FV_API guint fv_model_get_n_outputs (FvModel * model);
FV_API void fv_model_get_input_shape (FvModel * model, guint index,
    FvShape * shape);
FV_API void fv_model_get_output_shape (FvModel * model, guint index,
    FvShape * shape);
FV_API int fv_model_find_output (FvModel * model, const char *name);
FV_API const char *fv_model_get_output_name (FvModel * model, guint index);
FV_API guint fv_model_get_n_nodes (FvModel * model);
FV_API const char *fv_model_describe_kernels (FvModel * model);

FV_API FvSession *fv_session_new (FvModel * model, guint max_batch,
    guint height, guint width, GError ** error);
FV_API void fv_session_free (FvSession * session);
FV_API FvModel *fv_session_get_model (FvSession * session);
FV_API float *fv_session_get_input (FvSession * session, guint index);
FV_API const float *fv_session_get_output (FvSession * session, guint index,
    FvShape * shape);
FV_API void fv_session_run (FvSession * session, guint batch);
FV_API gsize fv_session_get_arena_size (FvSession * session);
FV_API guint fv_session_get_max_batch (FvSession * session);

/* Threads and profiling of a session. */
FV_API gboolean fv_session_set_threads (FvSession * session,
    guint n_threads, GError ** error);
FV_API guint fv_session_get_threads (FvSession * session);
FV_API void fv_session_share_threads (FvSession * session, FvSession * from);

/**
 * FvStepProfile:
 * @name: the layer's output tensor, as named in the model file
 * @family: the kernel family ("gemm" for 1x1 convolutions, "fc", "conv",
 *   "dwconv3x3", "dwconv") or the generic op ("elementwise", "maxpool", ...)
 * @kernel: (nullable): the kernel function that runs the step, %NULL for
 *   generic ops
 * @macs: multiply-adds per image
 * @ns: nanoseconds spent in the step since profiling was switched on
 * @runs: runs since profiling was switched on
 * @images: images computed in those runs
 *
 * One step of a session's plan and, when profiling is on, its time (see
 * fv_session_set_profiling()). The strings belong to the model.
 */
typedef struct
{
  const char *name;
  const char *family;
  const char *kernel;
  guint64 macs;
  guint64 ns;
  guint64 runs;
  guint64 images;
} FvStepProfile;

FV_API void fv_session_set_profiling (FvSession * session, gboolean enabled);
FV_API guint fv_session_get_n_steps (FvSession * session);
FV_API void fv_session_get_step_profile (FvSession * session, guint index,
    FvStepProfile * profile);

/* ------------------------------------------------------------------------ */
/* Embedder                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * FV_EMBED_SIZE:
 *
 * The side of the square RGB crop that an #FvEmbedder takes (112).
 */
#define FV_EMBED_SIZE 112

/**
 * FvEmbedder:
 *
 * Turns aligned 112x112 RGB face crops into L2-normalised embeddings with
 * MobileFaceNet. Not thread-safe: use one embedder per thread (they can
 * share the #FvModel).
 */
typedef struct _FvEmbedder FvEmbedder;

FV_API FvEmbedder *fv_embedder_new (const char *model_path, GError ** error);
FV_API FvEmbedder *fv_embedder_new_for_model (FvModel * model,
    guint max_batch, GError ** error);
FV_API void fv_embedder_free (FvEmbedder * embedder);
FV_API guint fv_embedder_get_dim (FvEmbedder * embedder);
FV_API const char *fv_embedder_get_fingerprint (FvEmbedder * embedder);
FV_API FvModel *fv_embedder_get_model (FvEmbedder * embedder);
FV_API gsize fv_embedder_get_arena_size (FvEmbedder * embedder);
FV_API gboolean fv_embedder_set_threads (FvEmbedder * embedder,
    guint n_threads, GError ** error);
FV_API void fv_embedder_embed (FvEmbedder * embedder, const guint8 * rgb,
    gsize stride, float *embedding);
FV_API void fv_embedder_embed_batch (FvEmbedder * embedder, guint n_faces,
    const guint8 * const *rgb, const gsize * strides, float *embeddings);
FV_API void fv_embedder_embed_tensor (FvEmbedder * embedder, guint n_faces,
    const float *input, float *embeddings);

/* ------------------------------------------------------------------------ */
/* Utilities                                                                */
/* ------------------------------------------------------------------------ */

FV_API char *fv_find_model (const char *file_name);
FV_API float fv_l2_normalize (float *v, gsize n);
FV_API float fv_cosine (const float *a, const float *b, gsize n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvModel, fv_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvSession, fv_session_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvEmbedder, fv_embedder_free)

G_END_DECLS

#include "core/fv-threadpool.h"
#include "face/fv-face.h"
#include "face/fv-tracker.h"
#include "gallery/fv-gallery.h"

#endif /* FV_H */

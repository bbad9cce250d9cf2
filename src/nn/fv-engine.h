/* gst-faceverify: face verification on the CPU
 *
 * fv-engine.h: the inference engine's public API (models and sessions).
 */
#ifndef FV_ENGINE_H
#define FV_ENGINE_H

#include "fv-prelude.h"

G_BEGIN_DECLS

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

/**
 * FV_MODEL_MAX_FILE_SIZE:
 *
 * The largest model file fv_model_new_from_file() reads: 64 MiB (the
 * shipped models are below 5 MiB). Model files must also be regular files:
 * a device such as /dev/zero, a FIFO or a socket is refused with
 * %FV_MODEL_ERROR_IO before anything is read.
 */
#define FV_MODEL_MAX_FILE_SIZE ((guint64) 64 << 20)

FV_API FvModel *fv_model_new_from_file (const char *path, GError ** error);
FV_API FvModel *fv_model_new_from_data (const guint8 * data, gsize size,
    GError ** error);
FV_API FvModel *fv_model_new_from_file_with_isa (const char *path, FvIsa isa,
    GError ** error);
FV_API FvModel *fv_model_get_shared (const char *path, GError ** error);
FV_API guint fv_model_get_n_shared (void);
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
FV_API FvSession *fv_session_new_unbound (FvModel * model, guint max_batch,
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
FV_API gboolean fv_session_borrow_arena (FvSession * session,
    FvSession * host);
FV_API gboolean fv_session_bind_arena (FvSession * session, float *arena);
FV_API gsize fv_session_get_arena_need (FvSession * session);

/**
 * FvStepProfile:
 * @name: the layer's output tensor, as named in the model file
 * @family: the kernel family ("gemm" for 1x1 convolutions, "fc", "conv",
 *   "dwconv3x3", "dwconv", "maxpool") or the generic op ("elementwise",
 *   "softmax", ...)
 * @kernel: (nullable): the kernel function that runs the step, %NULL for
 *   generic ops
 * @macs: multiply-adds per image
 * @ns: nanoseconds spent in the step since profiling was switched on (CPU
 *   time of the thread that ran it, see fv_session_set_profiling())
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvModel, fv_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvSession, fv_session_free)

G_END_DECLS

#endif /* FV_ENGINE_H */

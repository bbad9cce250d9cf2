/* gst-faceverify: face verification on the CPU
 *
 * fv-embedder.h: MobileFaceNet embeddings of aligned face crops.
 */
#ifndef FV_EMBEDDER_H
#define FV_EMBEDDER_H

#include "nn/fv-engine.h"

G_BEGIN_DECLS

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
FV_API void fv_embedder_set_flip (FvEmbedder * embedder, gboolean flip);
FV_API gboolean fv_embedder_get_flip (FvEmbedder * embedder);
FV_API void fv_embedder_embed (FvEmbedder * embedder, const guint8 * rgb,
    gsize stride, float *embedding);
FV_API void fv_embedder_embed_batch (FvEmbedder * embedder, guint n_faces,
    const guint8 * const *rgb, const gsize * strides, float *embeddings);
FV_API void fv_embedder_embed_tensor (FvEmbedder * embedder, guint n_faces,
    const float *input, float *embeddings);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvEmbedder, fv_embedder_free)

G_END_DECLS

#endif /* FV_EMBEDDER_H */

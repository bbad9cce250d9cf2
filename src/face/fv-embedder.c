/* FvEmbedder: aligned 112x112 RGB crops in, unit embeddings out. */
#include "fv.h"
#include "core/fv-core.h"

#include <math.h>
#include <string.h>

struct _FvEmbedder
{
  FvModel *model;
  FvSession *session;
  guint dim;
  guint max_batch;
  gboolean flip;
};

#define SIDE FV_EMBED_SIZE

/**
 * fv_embedder_new_for_model:
 * @model: a MobileFaceNet-like model: one [N,112,112,3] input and one
 *   output of D values per image
 * @max_batch: how many faces one run may take (1 or more)
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Returns: (transfer full) (nullable): a new embedder holding a reference
 *   to @model
 */
FvEmbedder *
fv_embedder_new_for_model (FvModel * model, guint max_batch, GError ** error)
{
  g_autoptr (FvEmbedder) e = NULL;
  FvShape in, out;
  guint i;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (max_batch >= 1, NULL);

  fv_model_get_input_shape (model, 0, &in);
  if (in.rank != 4 || in.dims[1] != FV_EMBED_SIZE
      || in.dims[2] != FV_EMBED_SIZE || in.dims[3] != 3) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "not an embedding model: the input must be [N,%d,%d,3]",
        FV_EMBED_SIZE, FV_EMBED_SIZE);
    return NULL;
  }
  if (fv_model_get_n_outputs (model) != 1) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "not an embedding model: it has %u outputs",
        fv_model_get_n_outputs (model));
    return NULL;
  }

  e = g_new0 (FvEmbedder, 1);
  e->model = fv_model_ref (model);
  e->max_batch = max_batch;
  /* Its memory is borrowed for each run (embed_source()). */
  e->session = fv_session_new_unbound (model, max_batch, 0, 0, error);
  if (!e->session)
    return NULL;
  fv_session_get_output (e->session, 0, &out);
  e->dim = 1;
  for (i = 1; i < out.rank; i++)
    e->dim *= out.dims[i];
  if (e->dim < 2 || e->dim > 4096) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "not an embedding model: %u output values per image", e->dim);
    return NULL;
  }
  return g_steal_pointer (&e);
}

/**
 * fv_embedder_new:
 * @model_path: (type filename): path of MobileFaceNet.tflite
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Loads the model and prepares to embed one face at a time.
 *
 * Returns: (transfer full) (nullable): a new embedder
 */
FvEmbedder *
fv_embedder_new (const char *model_path, GError ** error)
{
  g_autoptr (FvModel) model = NULL;

  g_return_val_if_fail (model_path != NULL, NULL);
  model = fv_model_new_from_file (model_path, error);
  if (!model)
    return NULL;
  return fv_embedder_new_for_model (model, 1, error);
}

/**
 * fv_embedder_free:
 * @embedder: (transfer full) (nullable): an embedder
 */
void
fv_embedder_free (FvEmbedder * embedder)
{
  if (!embedder)
    return;
  fv_session_free (embedder->session);
  if (embedder->model)
    fv_model_unref (embedder->model);
  g_free (embedder);
}

/**
 * fv_embedder_get_dim:
 * @embedder: an embedder
 *
 * Returns: the number of values in an embedding (192 for MobileFaceNet)
 */
guint
fv_embedder_get_dim (FvEmbedder * embedder)
{
  g_return_val_if_fail (embedder != NULL, 0);
  return embedder->dim;
}

/**
 * fv_embedder_get_fingerprint:
 * @embedder: an embedder
 *
 * Returns: (transfer none): the SHA-256 of the model file, in hex
 */
const char *
fv_embedder_get_fingerprint (FvEmbedder * embedder)
{
  g_return_val_if_fail (embedder != NULL, NULL);
  return fv_model_get_sha256 (embedder->model);
}

/**
 * fv_embedder_get_model:
 * @embedder: an embedder
 *
 * Returns: (transfer none): the model
 */
FvModel *
fv_embedder_get_model (FvEmbedder * embedder)
{
  g_return_val_if_fail (embedder != NULL, NULL);
  return embedder->model;
}

/**
 * fv_embedder_get_arena_size:
 * @embedder: an embedder
 *
 * Returns: the bytes of activation memory the embedder holds between
 *   runs: 0 unless threads of its own for whole images
 *   (fv_embedder_set_threads() on a batch) need memory of their own; it
 *   borrows the process's working memory (fv-workspace.h) while it runs
 */
gsize
fv_embedder_get_arena_size (FvEmbedder * embedder)
{
  g_return_val_if_fail (embedder != NULL, 0);
  return fv_session_get_arena_size (embedder->session);
}

/**
 * fv_embedder_set_threads:
 * @embedder: an embedder
 * @n_threads: worker threads, 1 or more
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Lets one embedding split across @n_threads threads, and a batch of
 * faces spread across them. Call it before embedding, not during.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_embedder_set_threads (FvEmbedder * embedder, guint n_threads,
    GError ** error)
{
  g_return_val_if_fail (embedder != NULL, FALSE);
  return fv_session_set_threads (embedder->session, n_threads, error);
}

/**
 * fv_embedder_set_flip:
 * @embedder: an embedder
 * @flip: whether to also embed the mirror image
 *
 * Test-time augmentation: with @flip every face is also embedded mirrored
 * left to right, and its embedding is the unit vector along the sum of
 * the two unit embeddings. Twice the work per face; see the README for
 * what it gains.
 */
void
fv_embedder_set_flip (FvEmbedder * embedder, gboolean flip)
{
  g_return_if_fail (embedder != NULL);
  embedder->flip = flip != FALSE;
}

/**
 * fv_embedder_get_flip:
 * @embedder: an embedder
 *
 * Returns: whether the embedder averages each face with its mirror image
 *   (fv_embedder_set_flip())
 */
gboolean
fv_embedder_get_flip (FvEmbedder * embedder)
{
  g_return_val_if_fail (embedder != NULL, FALSE);
  return embedder->flip;
}

/* Runs the @n images in the input. Without @add, the unit embeddings go to
 * @embeddings; with @add (the mirrored pass), they are added to the ones
 * there and the sums normalised. */
static void
run_and_normalize (FvEmbedder * e, guint n, float *embeddings, gboolean add)
{
  const float *out;
  guint i, k;

  fv_session_run (e->session, n);
  out = fv_session_get_output (e->session, 0, NULL);
  if (!add) {
    memcpy (embeddings, out, sizeof (float) * n * e->dim);
    for (i = 0; i < n; i++)
      fv_l2_normalize (embeddings + (gsize) (i) * e->dim, e->dim);
    return;
  }
  for (i = 0; i < n; i++) {
    const float *src = out + (gsize) (i) * e->dim;
    float *dst = embeddings + (gsize) (i) * e->dim;
    double sq = 0.0;
    float inv;

    for (k = 0; k < e->dim; k++)
      sq += (double) src[k] * src[k];
    inv = (float) (1.0 / sqrt (MAX (sq, 1e-10)));
    for (k = 0; k < e->dim; k++)
      dst[k] += src[k] * inv;
    fv_l2_normalize (dst, e->dim);
  }
}

/* Where the images of one run come from: preprocessed floats or 8-bit
 * RGB crops, @done faces into the caller's list. */
typedef struct
{
  const float *tensor;
  const guint8 *const *rgb;
  const gsize *strides;
  guint done;
} FvEmbedSource;

/* Fills the input with @n images of @src, mirrored left to right with
 * @mirror. */
static void
fill_input (float *in, const FvEmbedSource * src, guint n, gboolean mirror)
{
  const gsize image = SIDE * SIDE * 3;
  guint f, x, y, c;

  for (f = 0; f < n; f++) {
    float *dst = in + (gsize) (f) * image;
    for (y = 0; y < SIDE; y++) {
      for (x = 0; x < SIDE; x++) {
        guint sx = mirror ? SIDE - 1 - x : x;
        if (src->tensor) {
          const float *p = src->tensor + (src->done + f) * image
              + ((gsize) (y) * SIDE + sx) * 3;
          for (c = 0; c < 3; c++)
            *dst++ = p[c];
        } else {
          const guint8 *p = src->rgb[src->done + f]
              + y * src->strides[src->done + f] + sx * 3;
          for (c = 0; c < 3; c++)
            *dst++ = ((float) p[c] - 127.5f) * (1.0f / 128.0f);
        }
      }
    }
  }
}

/* Embeds @n_faces images of @src, a batch at a time, and with flip their
 * mirror images too (a run leaves garbage in the input: the mirrored pass
 * fills it again). */
static void
embed_source (FvEmbedder * e, FvEmbedSource * src, guint n_faces,
    float *embeddings)
{
  /* The activations live in the process's working memory while the
   * embedder runs (fv-workspace.h), unless fv_session_set_threads() gave
   * the session threads for whole images, with memory of their own. */
  gpointer work = fv_workspace_acquire (fv_session_get_arena_need (e->session));
  float *in;

  if (!fv_session_bind_arena (e->session, work))
    g_clear_pointer (&work, fv_workspace_release);
  in = fv_session_get_input (e->session, 0);
  for (src->done = 0; src->done < n_faces;) {
    guint n = MIN (n_faces - src->done, e->max_batch);
    float *out = embeddings + (gsize) (src->done) * e->dim;

    fill_input (in, src, n, FALSE);
    run_and_normalize (e, n, out, FALSE);
    if (e->flip) {
      fill_input (in, src, n, TRUE);
      run_and_normalize (e, n, out, TRUE);
    }
    src->done += n;
  }
  if (work)
    fv_workspace_release (work);
}

/**
 * fv_embedder_embed_tensor:
 * @embedder: an embedder
 * @n_faces: number of faces
 * @input: (array): @n_faces preprocessed NHWC images of 112x112x3 floats
 *   ((p - 127.5) / 128, RGB)
 * @embeddings: (out caller-allocates) (array): room for @n_faces times
 *   the dimension
 *
 * Embeds already normalised input. Allocates nothing.
 */
void
fv_embedder_embed_tensor (FvEmbedder * embedder, guint n_faces,
    const float *input, float *embeddings)
{
  FvEmbedSource src = { input, NULL, NULL, 0 };

  g_return_if_fail (embedder != NULL && (input || n_faces == 0));
  embed_source (embedder, &src, n_faces, embeddings);
}

/**
 * fv_embedder_embed_batch:
 * @embedder: an embedder
 * @n_faces: number of faces
 * @rgb: (array length=n_faces): the faces: 112x112 packed 8-bit RGB
 * @strides: (array length=n_faces): bytes per row of each face
 * @embeddings: (out caller-allocates) (array): room for @n_faces times the
 *   dimension; each embedding is L2-normalised
 *
 * Embeds several aligned faces, up to the embedder's batch at a time
 * (each also mirrored with fv_embedder_set_flip()). Allocates nothing.
 */
void
fv_embedder_embed_batch (FvEmbedder * embedder, guint n_faces,
    const guint8 * const *rgb, const gsize * strides, float *embeddings)
{
  FvEmbedSource src = { NULL, rgb, strides, 0 };

  g_return_if_fail (embedder != NULL && (n_faces == 0 || (rgb && strides)));
  embed_source (embedder, &src, n_faces, embeddings);
}

/**
 * fv_embedder_embed:
 * @embedder: an embedder
 * @rgb: (array): a face of exactly %FV_EMBED_SIZE x %FV_EMBED_SIZE pixels,
 *   packed 8-bit R, G, B (in that order), aligned to the ArcFace template
 * @stride: bytes per row of @rgb, at least 3 * %FV_EMBED_SIZE
 * @embedding: (out caller-allocates) (array): room for the dimension;
 *   L2-normalised on return
 *
 * Embeds one face. Allocates nothing.
 */
void
fv_embedder_embed (FvEmbedder * embedder, const guint8 * rgb, gsize stride,
    float *embedding)
{
  fv_embedder_embed_batch (embedder, 1, &rgb, &stride, embedding);
}

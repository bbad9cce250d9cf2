/* libFuzzer target for the TFLite reader and the engine behind it.
 *
 * Every input goes through fv_model_new_from_data(); a model that loads is
 * planned at its own input size with batch 1 and, when its arena is small
 * enough, run once on a zero input. Everything is freed before returning,
 * so LeakSanitizer sees a leak on any path. Errors must be FV_MODEL_ERROR
 * with a message; a critical or warning from GLib is a crash.
 *
 *   build-san/tests/fuzz/fuzz-tflite -max_len=1048576 -rss_limit_mb=4096 \
 *       -max_total_time=60 CORPUS_DIR
 */
#include <stdint.h>
#include <string.h>

#include "fv.h"
#include "fv-nn.h"              /* internal: the declared shapes */

/* Larger plans are only built, not run: a run over a big arena costs
 * seconds and finds nothing that a small one would not. */
#define MAX_RUN_ARENA (64u << 20)

/* Models whose activations (as declared in the file, which loading has
 * checked) add up to more than this are not planned: the library would
 * allocate up to 4 GiB, past the fuzzer's -rss_limit_mb. */
#define MAX_PLAN_BYTES ((gsize) 512 << 20)

/* An upper bound of the arena of a plan at the file's own size. */
static gsize
declared_activation_bytes (FvModel * model)
{
  const FvGraph *g = model->graph;
  gsize total = 0;
  guint i;

  for (i = 0; i < g->tensors->len; i++) {
    const FvGTensor *t = FV_GTENSOR (g, i);
    gsize n;

    if (t->is_const || (t->producer < 0 && (int) i != g->input))
      continue;
    n = fv_shape_elems (&t->shape);
    if (n > MAX_PLAN_BYTES)
      return G_MAXSIZE;
    total += n * sizeof (float) + 64;
    if (total > MAX_PLAN_BYTES)
      return G_MAXSIZE;
  }
  return total;
}

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static gboolean initialised = FALSE;
  GError *error = NULL;
  FvModel *model;
  FvSession *session;

  if (!initialised) {
    /* The library never logs on bad input: a critical or warning (a
     * g_return_if_fail that fired) is a bug, so make it a crash. */
    g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    initialised = TRUE;
  }

  model = fv_model_new_from_data (size ? data : NULL, size, &error);
  if (!model) {
    /* A failure must say why, in the model domain. */
    if (!error || error->domain != FV_MODEL_ERROR || !error->message[0])
      __builtin_trap ();
    g_error_free (error);
    return 0;
  }

  if (declared_activation_bytes (model) > MAX_PLAN_BYTES) {
    fv_model_unref (model);
    return 0;
  }
  session = fv_session_new (model, 1, 0, 0, &error);
  if (session) {
    if (fv_session_get_arena_size (session) < MAX_RUN_ARENA) {
      FvShape shape;
      gsize n;
      guint i;
      float *in = fv_session_get_input (session, 0);

      fv_model_get_input_shape (model, 0, &shape);
      n = (gsize) shape.dims[1] * shape.dims[2] * shape.dims[3];
      memset (in, 0, n * sizeof (float));
      fv_session_run (session, 1);
      for (i = 0; i < fv_model_get_n_outputs (model); i++)
        (void) fv_session_get_output (session, i, NULL);
    }
    fv_session_free (session);
  } else {
    if (!error || error->domain != FV_MODEL_ERROR)
      __builtin_trap ();
    g_error_free (error);
  }
  fv_model_unref (model);
  return 0;
}

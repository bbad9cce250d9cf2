/* Small public utilities: model lookup and vector helpers. */
#include "fv-config.h"
#include "fv-core.h"

#include <math.h>

/**
 * fv_find_model:
 * @file_name: a model file name, e.g. "MobileFaceNet.tflite"
 *
 * Looks for a model file in `$FV_MODEL_DIR`, then in the source tree's
 * `models/` folder (filled by models/fetch.sh, for uninstalled use), then
 * in the installed data directory.
 *
 * Returns: (transfer full) (nullable) (type filename): the path of the
 *   first match, or %NULL
 */
char *
fv_find_model (const char *file_name)
{
  const char *dirs[3];
  guint i;

  g_return_val_if_fail (file_name != NULL, NULL);
  dirs[0] = g_getenv ("FV_MODEL_DIR");
  dirs[1] = FV_SOURCE_MODEL_DIR;
  dirs[2] = FV_INSTALLED_MODEL_DIR;
  for (i = 0; i < G_N_ELEMENTS (dirs); i++) {
    g_autofree char *path = NULL;
    if (!dirs[i] || !*dirs[i])
      continue;
    path = g_build_filename (dirs[i], file_name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
      return g_steal_pointer (&path);
  }
  return NULL;
}

/**
 * fv_l2_normalize:
 * @v: (array length=n) (inout): a vector
 * @n: its length
 *
 * Scales @v to unit length as the model's authors do:
 * v / sqrt (max (sum (v^2), 1e-10)).
 *
 * Returns: the norm before scaling
 */
float
fv_l2_normalize (float *v, gsize n)
{
  double sum = 0.0;
  float inv;
  gsize i;

  for (i = 0; i < n; i++)
    sum += (double) v[i] * v[i];
  inv = (float) (1.0 / sqrt (MAX (sum, 1e-10)));
  for (i = 0; i < n; i++)
    v[i] *= inv;
  return (float) sqrt (sum);
}

/**
 * fv_cosine:
 * @a: (array length=n): a vector
 * @b: (array length=n): a vector
 * @n: their length
 *
 * Returns: the cosine similarity of @a and @b (0 if either is zero)
 */
float
fv_cosine (const float *a, const float *b, gsize n)
{
  double ab = 0.0, aa = 0.0, bb = 0.0;
  gsize i;

  for (i = 0; i < n; i++) {
    ab += (double) a[i] * b[i];
    aa += (double) a[i] * a[i];
    bb += (double) b[i] * b[i];
  }
  if (aa <= 0.0 || bb <= 0.0)
    return 0.0f;
  return (float) (ab / sqrt (aa * bb));
}

float *
fv_alloc_floats (gsize n)
{
  return g_aligned_alloc0 (MAX (n, 1), sizeof (float), FV_ALIGN);
}

void
fv_free_floats (float *p)
{
  g_aligned_free (p);
}

/* gst-faceverify: face verification on the CPU
 *
 * fv-utils.h: small public helpers (model lookup, vector maths).
 */
#ifndef FV_UTILS_H
#define FV_UTILS_H

#include "fv-prelude.h"

G_BEGIN_DECLS

FV_API char *fv_find_model (const char *file_name);
FV_API float fv_l2_normalize (float *v, gsize n);
FV_API float fv_cosine (const float *a, const float *b, gsize n);

G_END_DECLS

#endif /* FV_UTILS_H */

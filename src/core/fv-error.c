/* Error domains of libfaceverify. */
#include "fv-core.h"

/**
 * fv_model_error_quark:
 *
 * Returns: the #GQuark of the %FV_MODEL_ERROR domain
 */
/* *INDENT-OFF* */
G_DEFINE_QUARK (fv-model-error-quark, fv_model_error);
/* *INDENT-ON* */

/**
 * fv_image_error_quark:
 *
 * Returns: the #GQuark of the %FV_IMAGE_ERROR domain
 */
/* *INDENT-OFF* */
G_DEFINE_QUARK (fv-image-error-quark, fv_image_error);
/* *INDENT-ON* */

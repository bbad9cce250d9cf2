/* gst-faceverify: face verification on the CPU
 *
 * fv-prelude.h: the ground header. The export macro and the
 * instruction-set levels need only libc, so that the kernels (which
 * include nothing else of ours) build where GLib is absent
 * (tests/arm/run.sh defines FV_LIBC_ONLY); the error domains and the ISA
 * queries come with GLib.
 */
#ifndef FV_PRELUDE_H
#define FV_PRELUDE_H

#if defined(FV_COMPILATION)
#define FV_API __attribute__ ((visibility ("default")))
#else
#define FV_API
#endif

#ifdef __cplusplus
#define FV_BEGIN_DECLS extern "C" {
#define FV_END_DECLS }
#else
#define FV_BEGIN_DECLS
#define FV_END_DECLS
#endif

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

#ifndef FV_LIBC_ONLY

#include <glib.h>

G_BEGIN_DECLS

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

FV_API const char *fv_isa_name (FvIsa isa);
FV_API gboolean fv_isa_supported (FvIsa isa);
FV_API FvIsa fv_isa_best (void);

G_END_DECLS

#endif /* FV_LIBC_ONLY */

#endif /* FV_PRELUDE_H */

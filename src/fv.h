/* gst-faceverify: face verification on the CPU
 *
 * fv.h: the public API of libfaceverify, an umbrella over the area
 * headers. The plugin and the tools use the library through this header
 * only.
 */
#ifndef FV_H
#define FV_H

#include "fv-prelude.h"
#include "core/fv-utils.h"
#include "core/fv-threadpool.h"
#include "core/fv-workspace.h"
#include "nn/fv-engine.h"
#include "face/fv-embedder.h"
#include "face/fv-face.h"
#include "face/fv-tracker.h"
#include "face/fv-quality.h"
#include "gallery/fv-gallery.h"

#endif /* FV_H */

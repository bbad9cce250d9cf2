/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-scan.h: the matcher's dot-product scan. The kernels live in
 * src/kernels/ (dotrows) and come from the kernel table of the ISA level
 * that fv_isa_select() picks.
 */
#ifndef FV_GALLERY_SCAN_H
#define FV_GALLERY_SCAN_H

#include "kernels/fv-kernels.h"

#endif /* FV_GALLERY_SCAN_H */

/* gst-faceverify: element registration
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FACEVERIFY_ELEMENTS_H
#define GST_FACEVERIFY_ELEMENTS_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* One line per element; each element file defines its own registration. */
GST_ELEMENT_REGISTER_DECLARE (mtcnnfacedetect);
GST_ELEMENT_REGISTER_DECLARE (faceverify);
GST_ELEMENT_REGISTER_DECLARE (faceverifyoverlay);
GST_ELEMENT_REGISTER_DECLARE (faceverifypublish);

G_END_DECLS

#endif /* GST_FACEVERIFY_ELEMENTS_H */

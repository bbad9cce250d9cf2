/* gst-faceverify: the "faceverify" plugin
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfaceverifyelements.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (mtcnnfacedetect, plugin);
  ret |= GST_ELEMENT_REGISTER (faceverify, plugin);
  ret |= GST_ELEMENT_REGISTER (faceverifyoverlay, plugin);
  ret |= GST_ELEMENT_REGISTER (faceverifypublish, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR,
    GST_VERSION_MINOR,
    faceverify,
    "Face detection (MTCNN) and face verification (MobileFaceNet) against "
    "a gallery of enrolled people, on the CPU",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

/* gst-faceverify: faceverifypublish's face thumbnails
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfvpublishcrop.h"

#include <gdk-pixbuf/gdk-pixbuf.h>

#define JPEG_QUALITY "90"

/* The face of @meta, cut from @buf by the library's one crop rule (aligned
 * to the ArcFace template from its landmarks, else a square crop of its
 * box), as a base64 JPEG of FV_EMBED_SIZE x FV_EMBED_SIZE. NULL when the
 * frame cannot be read. Only called for `identified` events. */
gchar *
gst_fv_publish_crop_jpeg (FvAligner * aligner, const GstFvPixelPath * path,
    const GstVideoInfo * info, GstBuffer * buf, const FvFaceIdMeta * m)
{
  guint8 rgb[FV_EMBED_SIZE * FV_EMBED_SIZE * 3];
  GstVideoFrame vframe;
  FvFrame frame;
  gboolean ok;
  GdkPixbuf *pb;
  gchar *jpeg = NULL, *b64 = NULL;
  gsize len = 0;

  if (!gst_video_frame_map (&vframe, (GstVideoInfo *) info, buf, GST_MAP_READ))
    return NULL;
  ok = gst_fv_frame_wrap (path, &vframe, &frame)
      && fv_aligner_crop_face (aligner, &frame, m->x, m->y, m->x + m->w,
      m->y + m->h, m->n_landmarks == FV_FACE_ID_N_LANDMARKS ? m->landmarks :
      NULL, rgb, FV_EMBED_SIZE * 3);
  gst_video_frame_unmap (&vframe);
  if (!ok)
    return NULL;

  pb = gdk_pixbuf_new_from_data (rgb, GDK_COLORSPACE_RGB, FALSE, 8,
      FV_EMBED_SIZE, FV_EMBED_SIZE, FV_EMBED_SIZE * 3, NULL, NULL);
  if (gdk_pixbuf_save_to_buffer (pb, &jpeg, &len, "jpeg", NULL, "quality",
          JPEG_QUALITY, NULL))
    b64 = g_base64_encode ((const guchar *) jpeg, len);
  g_free (jpeg);
  g_object_unref (pb);
  return b64;
}

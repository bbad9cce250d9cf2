/* gst-faceverify: face identity metadata
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:gstfaceverifymeta
 * @title: FvFaceIdMeta
 * @short_description: the identity of a face, linked to its ROI by id
 *
 * `faceverify` attaches one #FvFaceIdMeta per verified face. It refers to
 * the face's #GstVideoRegionOfInterestMeta through @roi_id and repeats the
 * decision that the ROI's `face_id` parameter carries. Unlike ROI
 * parameters (which `videoscale` and `videoconvert` drop in GStreamer
 * 1.22), this meta is copied by every element that copies metadata and is
 * scaled together with the frame.
 *
 * Reading it in a pad probe:
 * |[<!-- language="C" -->
 * gpointer state = NULL;
 * FvFaceIdMeta *m;
 *
 * while ((m = fv_buffer_iterate_face_id_meta (buffer, &state)))
 *   g_print ("roi %d: %s (%.3f)%s\n", m->roi_id, m->label, m->similarity,
 *       m->known ? "" : " unknown");
 * ]|
 *
 * Link with `pkg-config --cflags --libs gstfaceverifymeta-1.0`.
 */
#include "gstfaceverifymeta.h"

#include <string.h>

static gboolean
fv_face_id_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  FvFaceIdMeta *m = (FvFaceIdMeta *) meta;

  m->roi_id = 0;
  m->label = NULL;
  m->label_id = -1;
  m->known = FALSE;
  m->similarity = 0.0;
  m->margin = 0.0;
  m->track_id = 0;
  m->frames_ago = 0;
  m->aligned = FALSE;
  m->gallery_version = 0;
  m->x = m->y = m->w = m->h = 0;
  m->n_landmarks = 0;
  memset (m->landmarks, 0, sizeof (m->landmarks));
  m->embedding = NULL;
  m->quality = -1.0;
  m->reason = NULL;
  m->quality_reason = NULL;
  return TRUE;
}

static void
fv_face_id_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  FvFaceIdMeta *m = (FvFaceIdMeta *) meta;

  g_clear_pointer (&m->label, g_free);
  g_clear_pointer (&m->embedding, g_bytes_unref);
}

static FvFaceIdMeta *
fv_face_id_meta_copy_to (FvFaceIdMeta * src, GstBuffer * dest)
{
  FvFaceIdMeta *d = fv_buffer_add_face_id_meta (dest, src->roi_id,
      src->label);

  if (!d)
    return NULL;
  d->label_id = src->label_id;
  d->known = src->known;
  d->similarity = src->similarity;
  d->margin = src->margin;
  d->track_id = src->track_id;
  d->frames_ago = src->frames_ago;
  d->aligned = src->aligned;
  d->gallery_version = src->gallery_version;
  d->x = src->x;
  d->y = src->y;
  d->w = src->w;
  d->h = src->h;
  d->n_landmarks = src->n_landmarks;
  memcpy (d->landmarks, src->landmarks, sizeof (d->landmarks));
  if (src->embedding)
    d->embedding = g_bytes_ref (src->embedding);
  d->quality = src->quality;
  d->reason = src->reason;
  d->quality_reason = src->quality_reason;
  return d;
}

static gboolean
fv_face_id_meta_transform (GstBuffer * dest, GstMeta * meta,
    GstBuffer * buffer, GQuark type, gpointer data)
{
  FvFaceIdMeta *src = (FvFaceIdMeta *) meta;
  FvFaceIdMeta *d;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    /* The identity belongs to the whole frame, so a region copy keeps it
     * too, as GstVideoRegionOfInterestMeta does. */
    return fv_face_id_meta_copy_to (src, dest) != NULL;
  }

  if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    GstVideoMetaTransform *trans = data;
    gint iw = GST_VIDEO_INFO_WIDTH (trans->in_info);
    gint ih = GST_VIDEO_INFO_HEIGHT (trans->in_info);
    gint ow = GST_VIDEO_INFO_WIDTH (trans->out_info);
    gint oh = GST_VIDEO_INFO_HEIGHT (trans->out_info);
    gdouble sx, sy;
    guint i;

    if (iw <= 0 || ih <= 0 || ow <= 0 || oh <= 0)
      return FALSE;
    sx = (gdouble) ow / iw;
    sy = (gdouble) oh / ih;

    d = fv_face_id_meta_copy_to (src, dest);
    if (!d)
      return FALSE;
    d->x = (guint) (src->x * sx + 0.5);
    d->y = (guint) (src->y * sy + 0.5);
    d->w = (guint) (src->w * sx + 0.5);
    d->h = (guint) (src->h * sy + 0.5);
    for (i = 0; i < d->n_landmarks; i++) {
      d->landmarks[2 * i] = (gfloat) (src->landmarks[2 * i] * sx);
      d->landmarks[2 * i + 1] = (gfloat) (src->landmarks[2 * i + 1] * sy);
    }
    return TRUE;
  }

  /* Any other transform (e.g. a rotation we do not know how to follow):
   * drop the meta rather than carry a wrong box. */
  return FALSE;
}

/**
 * fv_face_id_meta_api_get_type:
 *
 * Returns: the #GType of the #FvFaceIdMeta API
 */
GType
fv_face_id_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = {
    GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL
  };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("FvFaceIdMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

/**
 * fv_face_id_meta_get_info:
 *
 * Returns: (transfer none): the #GstMetaInfo of #FvFaceIdMeta
 */
const GstMetaInfo *
fv_face_id_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (FV_FACE_ID_META_API_TYPE,
        "FvFaceIdMeta", sizeof (FvFaceIdMeta), fv_face_id_meta_init,
        fv_face_id_meta_free, fv_face_id_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

/**
 * fv_buffer_add_face_id_meta:
 * @buffer: a writable #GstBuffer
 * @roi_id: the id of the face's #GstVideoRegionOfInterestMeta (not 0)
 * @label: (nullable): the identity's label; %NULL stands for
 *   %FV_FACE_ID_UNKNOWN_LABEL
 *
 * Attaches an identity to @buffer. The other fields start as "unknown"
 * (@label_id -1, @known %FALSE, zero similarity); set them directly.
 *
 * Returns: (transfer none) (nullable): the new meta, owned by @buffer
 */
FvFaceIdMeta *
fv_buffer_add_face_id_meta (GstBuffer * buffer, gint roi_id,
    const gchar * label)
{
  FvFaceIdMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);
  g_return_val_if_fail (roi_id != 0, NULL);

  m = (FvFaceIdMeta *) gst_buffer_add_meta (buffer, FV_FACE_ID_META_INFO, NULL);
  if (!m)
    return NULL;
  m->roi_id = roi_id;
  m->label = g_strdup (label ? label : FV_FACE_ID_UNKNOWN_LABEL);
  return m;
}

/**
 * fv_buffer_get_face_id_meta:
 * @buffer: a #GstBuffer
 * @roi_id: a ROI id
 *
 * Returns: (transfer none) (nullable): the identity attached to the ROI
 *   with id @roi_id, or %NULL when there is none
 */
FvFaceIdMeta *
fv_buffer_get_face_id_meta (GstBuffer * buffer, gint roi_id)
{
  gpointer state = NULL;
  GstMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              FV_FACE_ID_META_API_TYPE))) {
    FvFaceIdMeta *m = (FvFaceIdMeta *) meta;
    if (m->roi_id == roi_id)
      return m;
  }
  return NULL;
}

/**
 * fv_buffer_iterate_face_id_meta:
 * @buffer: a #GstBuffer
 * @state: (out caller-allocates): a pointer set to %NULL before the first
 *   call, kept between calls
 *
 * Walks the identities on @buffer in the order they were added.
 *
 * Returns: (transfer none) (nullable): the next identity, or %NULL at the
 *   end
 */
FvFaceIdMeta *
fv_buffer_iterate_face_id_meta (GstBuffer * buffer, gpointer * state)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (state != NULL, NULL);

  return (FvFaceIdMeta *) gst_buffer_iterate_meta_filtered (buffer, state,
      FV_FACE_ID_META_API_TYPE);
}

/**
 * fv_buffer_get_n_face_id_metas:
 * @buffer: a #GstBuffer
 *
 * Returns: how many #FvFaceIdMeta @buffer carries
 */
guint
fv_buffer_get_n_face_id_metas (GstBuffer * buffer)
{
  gpointer state = NULL;
  guint n = 0;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), 0);

  while (gst_buffer_iterate_meta_filtered (buffer, &state,
          FV_FACE_ID_META_API_TYPE))
    n++;
  return n;
}

/**
 * fv_face_id_meta_set_label:
 * @meta: an #FvFaceIdMeta
 * @label: (nullable): the new label (copied); %NULL stands for
 *   %FV_FACE_ID_UNKNOWN_LABEL
 */
void
fv_face_id_meta_set_label (FvFaceIdMeta * meta, const gchar * label)
{
  g_return_if_fail (meta != NULL);

  g_free (meta->label);
  meta->label = g_strdup (label ? label : FV_FACE_ID_UNKNOWN_LABEL);
}

/**
 * fv_face_id_meta_set_embedding:
 * @meta: an #FvFaceIdMeta
 * @embedding: (nullable) (transfer none): float32 values in host byte
 *   order; the meta takes a reference
 */
void
fv_face_id_meta_set_embedding (FvFaceIdMeta * meta, GBytes * embedding)
{
  g_return_if_fail (meta != NULL);

  if (embedding)
    g_bytes_ref (embedding);
  g_clear_pointer (&meta->embedding, g_bytes_unref);
  meta->embedding = embedding;
}

/**
 * fv_face_id_meta_get_embedding:
 * @meta: an #FvFaceIdMeta
 * @n_values: (out) (optional): the number of float values
 *
 * Returns: (transfer none) (nullable) (array length=n_values): the
 *   embedding, or %NULL when none was attached
 */
const gfloat *
fv_face_id_meta_get_embedding (FvFaceIdMeta * meta, gsize * n_values)
{
  gsize size = 0;
  const gfloat *data = NULL;

  g_return_val_if_fail (meta != NULL, NULL);

  if (meta->embedding)
    data = g_bytes_get_data (meta->embedding, &size);
  if (n_values)
    *n_values = size / sizeof (gfloat);
  return data;
}

/**
 * fv_face_id_meta_get_roi:
 * @meta: an #FvFaceIdMeta
 * @buffer: the buffer that carries @meta
 *
 * Returns: (transfer none) (nullable): the region of interest that @meta
 *   refers to, or %NULL when it is no longer on @buffer
 */
GstVideoRegionOfInterestMeta *
fv_face_id_meta_get_roi (FvFaceIdMeta * meta, GstBuffer * buffer)
{
  g_return_val_if_fail (meta != NULL, NULL);
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  return gst_buffer_get_video_region_of_interest_meta_id (buffer, meta->roi_id);
}

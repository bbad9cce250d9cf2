/* gst-faceverify: the gallery an element matches against (plugin-internal)
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_GALLERY_HOST_H
#define GST_FV_GALLERY_HOST_H

#include <gst/gst.h>

#include "fv.h"

G_BEGIN_DECLS

/* GstFvGalleryHost: the gallery location of an element, the snapshot in
 * use and the background thread that follows changes to it (file or
 * database) and swaps new snapshots in without stalling the streaming
 * thread. Messages (WARNING, ERROR) are posted on the element. */
typedef struct _GstFvGalleryHost GstFvGalleryHost;

/* Lives as long as @element (init to finalize); does not ref it. */
GstFvGalleryHost *gst_fv_gallery_host_new (GstElement * element);
void gst_fv_gallery_host_free (GstFvGalleryHost * host);

/* The location (path or URI, may be NULL); while started a new one is
 * loaded in the background. */
void gst_fv_gallery_host_set_location (GstFvGalleryHost * host,
    const gchar * location);
gchar *gst_fv_gallery_host_dup_location (GstFvGalleryHost * host);

/* gallery-required: whether start() fails when the gallery cannot be read
 * (and no snapshot of the same location is kept from the last run);
 * read at start. */
void gst_fv_gallery_host_set_required (GstFvGalleryHost * host,
    gboolean required);
gboolean gst_fv_gallery_host_get_required (GstFvGalleryHost * host);

/* Loads the gallery made with the model @fingerprint / @dim and starts
 * following it; when it cannot be read and is required (and no snapshot
 * was kept), posts an ERROR and returns FALSE. */
gboolean gst_fv_gallery_host_start (GstFvGalleryHost * host,
    const gchar * fingerprint, guint dim);
/* Stops following, without waiting on a database, and keeps the snapshot
 * in use for the next start() of the same location (freed with the
 * host). */
void gst_fv_gallery_host_stop (GstFvGalleryHost * host);

/* Asks the background thread to look now (after a write). */
void gst_fv_gallery_host_wake (GstFvGalleryHost * host);

/* (transfer full) (nullable): the snapshot in use, and its version. */
FvGallerySnapshot *gst_fv_gallery_host_ref_snapshot (GstFvGalleryHost * host,
    guint64 * version);

/* (transfer full): the gallery opened for a write in the caller's thread
 * (created when missing); only while started. */
FvGallery *gst_fv_gallery_host_open_for_writing (GstFvGalleryHost * host,
    GError ** error);

G_END_DECLS

#endif /* GST_FV_GALLERY_HOST_H */

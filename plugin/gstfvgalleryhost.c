/* gst-faceverify: the gallery an element matches against
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfvgalleryhost.h"
#include "gstfvcommon.h"

#include <string.h>

GST_DEBUG_CATEGORY_EXTERN (gst_face_verify_debug);
#define GST_CAT_DEFAULT gst_face_verify_debug

/* How often the background thread looks at the gallery. */
#define GALLERY_POLL_US (200 * G_TIME_SPAN_MILLISECOND)

struct _GstFvGalleryHost
{
  GstElement *element;

  /* the location and, while started, the model; under lock */
  GMutex lock;
  gchar *location;
  gchar *fingerprint;
  guint dim;

  /* the gallery in use, swapped by the reload thread; under lock */
  FvGallerySnapshot *snapshot;
  guint64 version;

  /* owned by the reload thread while it runs */
  FvGalleryWatch *watch;
  GThread *reload_thread;
  GMutex reload_lock;
  GCond reload_cond;
  gboolean reload_stop;
  gboolean reload_now;
};

GstFvGalleryHost *
gst_fv_gallery_host_new (GstElement * element)
{
  GstFvGalleryHost *host = g_new0 (GstFvGalleryHost, 1);

  host->element = element;
  g_mutex_init (&host->lock);
  g_mutex_init (&host->reload_lock);
  g_cond_init (&host->reload_cond);
  return host;
}

void
gst_fv_gallery_host_free (GstFvGalleryHost * host)
{
  if (!host)
    return;
  gst_fv_gallery_host_stop (host);
  g_free (host->location);
  g_mutex_clear (&host->lock);
  g_mutex_clear (&host->reload_lock);
  g_cond_clear (&host->reload_cond);
  g_free (host);
}

void
gst_fv_gallery_host_set_location (GstFvGalleryHost * host,
    const gchar * location)
{
  gboolean running;

  g_mutex_lock (&host->lock);
  g_free (host->location);
  host->location = g_strdup (location);
  running = host->fingerprint != NULL;
  g_mutex_unlock (&host->lock);
  if (running)
    gst_fv_gallery_host_wake (host);
}

gchar *
gst_fv_gallery_host_dup_location (GstFvGalleryHost * host)
{
  gchar *location;

  g_mutex_lock (&host->lock);
  location = g_strdup (host->location);
  g_mutex_unlock (&host->lock);
  return location;
}

/* Publishes a new snapshot (may be NULL: no gallery); takes @snapshot. */
static void
gst_fv_gallery_host_swap (GstFvGalleryHost * host, FvGallerySnapshot * snapshot)
{
  FvGallerySnapshot *old;
  guint64 version;

  g_mutex_lock (&host->lock);
  old = host->snapshot;
  host->snapshot = snapshot;
  version = ++host->version;
  g_mutex_unlock (&host->lock);
  if (old)
    fv_gallery_snapshot_unref (old);
  GST_INFO_OBJECT (host->element, "gallery version %" G_GUINT64_FORMAT
      ": %u ids", version,
      snapshot ? fv_gallery_snapshot_get_n_identities (snapshot) : 0);
}

/* Loads the gallery when the location or its contents changed, and posts
 * one message per new failure. Runs in start() (@at_start) and then only
 * in the reload thread. */
static gboolean
gst_fv_gallery_host_update (GstFvGalleryHost * host, gboolean at_start)
{
  GstElement *element = host->element;
  g_autofree gchar *path = NULL, *loc = NULL, *fingerprint = NULL;
  g_autoptr (GError) err = NULL;
  FvGallerySnapshot *snap;
  gboolean fresh = FALSE;
  guint dim;

  g_mutex_lock (&host->lock);
  path = g_strdup (host->location);
  fingerprint = g_strdup (host->fingerprint);
  dim = host->dim;
  g_mutex_unlock (&host->lock);

  if (!path || !*path) {
    if (host->watch || at_start) {
      g_clear_pointer (&host->watch, fv_gallery_watch_free);
      gst_fv_gallery_host_swap (host, NULL);
    }
    return TRUE;
  }
  if (!host->watch || strcmp (fv_gallery_watch_get_path (host->watch),
          path) != 0) {
    g_clear_pointer (&host->watch, fv_gallery_watch_free);
    host->watch = fv_gallery_watch_new (path, fingerprint, dim);
    fresh = TRUE;
  }

  loc = fv_gallery_location_redact (path);      /* no password */
  switch (fv_gallery_watch_check (host->watch, &snap, &err)) {
    case FV_GALLERY_WATCH_LOADED:      /* damaged rows: one warning */
      gst_fv_gallery_host_swap (host,
          gst_fv_warn_skipped_rows (element, loc, snap));
      break;
    case FV_GALLERY_WATCH_MISSING:
      if (fresh) {
        GST_ELEMENT_WARNING (element, RESOURCE, NOT_FOUND,
            ("The gallery \"%s\" does not exist (yet): every face is "
                "unknown until it appears.", loc), (NULL));
        gst_fv_gallery_host_swap (host, NULL);
      } else {
        GST_ELEMENT_WARNING (element, RESOURCE, NOT_FOUND,
            ("The gallery \"%s\" disappeared; the previous gallery stays "
                "in use.", loc), (NULL));
      }
      break;
    case FV_GALLERY_WATCH_FAILED:
      if (at_start) {
        GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
            ("Could not open the gallery \"%s\".", loc), ("%s", err->message));
        return FALSE;
      }
      GST_ELEMENT_WARNING (element, RESOURCE, READ,
          ("Could not reload the gallery \"%s\"; the previous gallery "
              "stays in use.", loc), ("%s", err->message));
      break;
    case FV_GALLERY_WATCH_UNCHANGED:
      break;
  }
  return TRUE;
}

static gpointer
gst_fv_gallery_host_reload_main (gpointer data)
{
  GstFvGalleryHost *host = data;

  g_mutex_lock (&host->reload_lock);
  while (!host->reload_stop) {
    gint64 deadline = g_get_monotonic_time () + GALLERY_POLL_US;

    while (!host->reload_stop && !host->reload_now)
      if (!g_cond_wait_until (&host->reload_cond, &host->reload_lock, deadline))
        break;
    if (host->reload_stop)
      break;
    host->reload_now = FALSE;
    g_mutex_unlock (&host->reload_lock);

    gst_fv_gallery_host_update (host, FALSE);

    g_mutex_lock (&host->reload_lock);
  }
  g_mutex_unlock (&host->reload_lock);
  return NULL;
}

void
gst_fv_gallery_host_wake (GstFvGalleryHost * host)
{
  g_mutex_lock (&host->reload_lock);
  host->reload_now = TRUE;
  g_cond_signal (&host->reload_cond);
  g_mutex_unlock (&host->reload_lock);
}

gboolean
gst_fv_gallery_host_start (GstFvGalleryHost * host, const gchar * fingerprint,
    guint dim)
{
  g_mutex_lock (&host->lock);
  g_free (host->fingerprint);
  host->fingerprint = g_strdup (fingerprint);
  host->dim = dim;
  g_mutex_unlock (&host->lock);

  if (!gst_fv_gallery_host_update (host, TRUE)) {
    gst_fv_gallery_host_stop (host);
    return FALSE;
  }
  host->reload_stop = FALSE;
  host->reload_now = FALSE;
  host->reload_thread = g_thread_new ("faceverify-gallery",
      gst_fv_gallery_host_reload_main, host);
  return TRUE;
}

void
gst_fv_gallery_host_stop (GstFvGalleryHost * host)
{
  if (host->reload_thread) {
    g_mutex_lock (&host->reload_lock);
    host->reload_stop = TRUE;
    g_cond_signal (&host->reload_cond);
    g_mutex_unlock (&host->reload_lock);
    g_thread_join (host->reload_thread);
    host->reload_thread = NULL;
  }
  g_clear_pointer (&host->watch, fv_gallery_watch_free);
  g_mutex_lock (&host->lock);
  g_clear_pointer (&host->snapshot, fv_gallery_snapshot_unref);
  g_clear_pointer (&host->fingerprint, g_free);
  g_mutex_unlock (&host->lock);
}

FvGallerySnapshot *
gst_fv_gallery_host_ref_snapshot (GstFvGalleryHost * host, guint64 * version)
{
  FvGallerySnapshot *snap;

  g_mutex_lock (&host->lock);
  snap = host->snapshot ? fv_gallery_snapshot_ref (host->snapshot) : NULL;
  *version = host->version;
  g_mutex_unlock (&host->lock);
  return snap;
}

FvGallery *
gst_fv_gallery_host_open_for_writing (GstFvGalleryHost * host, GError ** error)
{
  g_autofree gchar *path = NULL, *fingerprint = NULL;
  guint dim;

  g_mutex_lock (&host->lock);
  path = g_strdup (host->location);
  fingerprint = g_strdup (host->fingerprint);
  dim = host->dim;
  g_mutex_unlock (&host->lock);

  if (!fingerprint) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the element is not running (the model is not loaded)");
    return NULL;
  }
  if (!path || !*path) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the gallery-file property is not set");
    return NULL;
  }
  return fv_gallery_open (path,
      FV_GALLERY_OPEN_READ_WRITE | FV_GALLERY_OPEN_CREATE, fingerprint, dim,
      error);
}

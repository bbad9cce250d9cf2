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

  gboolean required;

  /* the gallery in use, swapped by the reload thread, and the location it
   * was loaded from; under lock */
  FvGallerySnapshot *snapshot;
  gchar *snapshot_location;
  guint64 version;

  /* the snapshot in use when the element last stopped, its location and
   * model: a restart whose gallery cannot be read starts with it; under
   * lock */
  FvGallerySnapshot *kept;
  gchar *kept_location;
  gchar *kept_fingerprint;

  /* the first look since start() is still to be reported */
  gboolean starting;
  /* set by stop(): the watch gives up waiting on a database */
  gint stopping;

  /* owned by the reload thread while it runs; the pointer changes under
   * watch_lock (so that stop() can cancel it) */
  GMutex watch_lock;
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
  host->required = TRUE;
  g_mutex_init (&host->lock);
  g_mutex_init (&host->watch_lock);
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
  g_clear_pointer (&host->kept, fv_gallery_snapshot_unref);
  g_free (host->kept_location);
  g_free (host->kept_fingerprint);
  g_mutex_clear (&host->lock);
  g_mutex_clear (&host->watch_lock);
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

void
gst_fv_gallery_host_set_required (GstFvGalleryHost * host, gboolean required)
{
  g_mutex_lock (&host->lock);
  host->required = required;
  g_mutex_unlock (&host->lock);
}

gboolean
gst_fv_gallery_host_get_required (GstFvGalleryHost * host)
{
  gboolean required;

  g_mutex_lock (&host->lock);
  required = host->required;
  g_mutex_unlock (&host->lock);
  return required;
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

/* Publishes a new snapshot (may be NULL: no gallery) loaded from
 * @location; takes @snapshot. */
static void
gst_fv_gallery_host_swap (GstFvGalleryHost * host,
    FvGallerySnapshot * snapshot, const gchar * location)
{
  FvGallerySnapshot *old;
  guint64 version;

  g_mutex_lock (&host->lock);
  old = host->snapshot;
  host->snapshot = snapshot;
  g_free (host->snapshot_location);
  host->snapshot_location = snapshot ? g_strdup (location) : NULL;
  version = ++host->version;
  g_mutex_unlock (&host->lock);
  if (old)
    fv_gallery_snapshot_unref (old);
  GST_INFO_OBJECT (host->element, "gallery version %" G_GUINT64_FORMAT
      ": %u ids, %u sample rows read", version,
      snapshot ? fv_gallery_snapshot_get_n_identities (snapshot) : 0,
      snapshot ? fv_gallery_snapshot_get_n_fetched (snapshot) : 0);
}

/* A new watch on @path, cancelled at once when stop() has begun. */
static void
gst_fv_gallery_host_new_watch (GstFvGalleryHost * host, const gchar * path,
    const gchar * fingerprint, guint dim)
{
  FvGalleryWatch *old;

  g_mutex_lock (&host->watch_lock);
  old = host->watch;
  host->watch = path ? fv_gallery_watch_new (path, fingerprint, dim) : NULL;
  if (host->watch && g_atomic_int_get (&host->stopping))
    fv_gallery_watch_cancel (host->watch);
  g_mutex_unlock (&host->watch_lock);
  fv_gallery_watch_free (old);
}

/* The first look since start() failed: the snapshot of the last run
 * (@kept), or an empty gallery when the gallery is not required, or an
 * ERROR. */
static gboolean
gst_fv_gallery_host_first_failure (GstFvGalleryHost * host, const gchar * loc,
    const GError * err, gboolean kept, gboolean required)
{
  GstElement *element = host->element;

  if (kept) {
    GST_ELEMENT_WARNING (element, RESOURCE, OPEN_READ,
        ("Could not open the gallery \"%s\"; the gallery loaded before "
            "stays in use until it can be read again.", loc),
        ("%s", err->message));
  } else if (!required) {
    GST_ELEMENT_WARNING (element, RESOURCE, OPEN_READ,
        ("Could not open the gallery \"%s\": every face is unknown until "
            "it can be loaded (tried again in the background).", loc),
        ("%s", err->message));
  } else {
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        ("Could not open the gallery \"%s\".", loc), ("%s (set "
            "gallery-required=false to start without it)", err->message));
    return FALSE;
  }
  return TRUE;
}

/* Loads the gallery when the location or its contents changed, and posts
 * one message per new failure. Runs in start() (@at_start) and then only
 * in the reload thread. FALSE (after an ERROR) when the first look
 * failed, the gallery is required and no snapshot was kept. */
static gboolean
gst_fv_gallery_host_update (GstFvGalleryHost * host, gboolean at_start)
{
  GstElement *element = host->element;
  g_autofree gchar *path = NULL, *loc = NULL, *fingerprint = NULL;
  g_autoptr (GError) err = NULL;
  FvGallerySnapshot *snap;
  FvGalleryWatchStatus status;
  gboolean fresh = FALSE, required, kept, starting;
  guint dim;

  g_mutex_lock (&host->lock);
  path = g_strdup (host->location);
  fingerprint = g_strdup (host->fingerprint);
  dim = host->dim;
  required = host->required;
  kept = host->snapshot != NULL;
  g_mutex_unlock (&host->lock);

  if (!path || !*path) {
    if (host->watch || at_start) {
      gst_fv_gallery_host_new_watch (host, NULL, NULL, 0);
      gst_fv_gallery_host_swap (host, NULL, NULL);
    }
    host->starting = FALSE;
    return TRUE;
  }
  if (!host->watch || strcmp (fv_gallery_watch_get_path (host->watch),
          path) != 0) {
    gst_fv_gallery_host_new_watch (host, path, fingerprint, dim);
    fresh = TRUE;
  }

  loc = fv_gallery_location_redact (path);      /* no password */
  status = fv_gallery_watch_check (host->watch, &snap, &err);
  if (g_atomic_int_get (&host->stopping)) {
    g_clear_pointer (&snap, fv_gallery_snapshot_unref);
    return TRUE;
  }
  starting = host->starting && status != FV_GALLERY_WATCH_UNCHANGED;
  if (starting)
    host->starting = FALSE;
  switch (status) {
    case FV_GALLERY_WATCH_LOADED:      /* damaged rows: one warning */
      gst_fv_gallery_host_swap (host,
          gst_fv_warn_skipped_rows (element, loc, snap), path);
      break;
    case FV_GALLERY_WATCH_MISSING:
      if (fresh) {
        GST_ELEMENT_WARNING (element, RESOURCE, NOT_FOUND,
            ("The gallery \"%s\" does not exist (yet): every face is "
                "unknown until it appears.", loc), (NULL));
        gst_fv_gallery_host_swap (host, NULL, NULL);
      } else {
        GST_ELEMENT_WARNING (element, RESOURCE, NOT_FOUND,
            ("The gallery \"%s\" disappeared; the previous gallery stays "
                "in use.", loc), (NULL));
      }
      break;
    case FV_GALLERY_WATCH_FAILED:
      if (starting)
        return gst_fv_gallery_host_first_failure (host, loc, err, kept,
            required);
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

/* The snapshot of the last run, when it was loaded from @location with
 * the model @fingerprint; dropped otherwise. Under lock. */
static FvGallerySnapshot *
gst_fv_gallery_host_take_kept (GstFvGalleryHost * host,
    const gchar * location, const gchar * fingerprint)
{
  FvGallerySnapshot *kept = g_steal_pointer (&host->kept);

  if (kept && (g_strcmp0 (host->kept_location, location) != 0
          || g_strcmp0 (host->kept_fingerprint, fingerprint) != 0))
    g_clear_pointer (&kept, fv_gallery_snapshot_unref);
  g_clear_pointer (&host->kept_location, g_free);
  g_clear_pointer (&host->kept_fingerprint, g_free);
  return kept;
}

/* With gallery-required (the default), the first look happens here and
 * decides; without, the reload thread looks at once and start() never
 * waits on a database. Either way a snapshot kept from the last run of
 * the same location is used until a load succeeds. */
gboolean
gst_fv_gallery_host_start (GstFvGalleryHost * host, const gchar * fingerprint,
    guint dim)
{
  FvGallerySnapshot *kept;
  g_autofree gchar *location = NULL;
  gboolean required;

  g_mutex_lock (&host->lock);
  g_free (host->fingerprint);
  host->fingerprint = g_strdup (fingerprint);
  host->dim = dim;
  required = host->required;
  location = g_strdup (host->location);
  kept = gst_fv_gallery_host_take_kept (host, location, fingerprint);
  g_mutex_unlock (&host->lock);

  g_atomic_int_set (&host->stopping, 0);
  host->starting = TRUE;
  if (kept)
    gst_fv_gallery_host_swap (host, kept, location);
  if (required && !gst_fv_gallery_host_update (host, TRUE)) {
    gst_fv_gallery_host_stop (host);
    return FALSE;
  }
  host->reload_stop = FALSE;
  host->reload_now = !required;
  host->reload_thread = g_thread_new ("faceverify-gallery",
      gst_fv_gallery_host_reload_main, host);
  return TRUE;
}

/* Never waits on a database: the watch gives up its waits first. The
 * snapshot in use is kept for the next start(). */
void
gst_fv_gallery_host_stop (GstFvGalleryHost * host)
{
  g_atomic_int_set (&host->stopping, 1);
  g_mutex_lock (&host->watch_lock);
  if (host->watch)
    fv_gallery_watch_cancel (host->watch);
  g_mutex_unlock (&host->watch_lock);
  if (host->reload_thread) {
    g_mutex_lock (&host->reload_lock);
    host->reload_stop = TRUE;
    g_cond_signal (&host->reload_cond);
    g_mutex_unlock (&host->reload_lock);
    g_thread_join (host->reload_thread);
    host->reload_thread = NULL;
  }
  gst_fv_gallery_host_new_watch (host, NULL, NULL, 0);
  g_mutex_lock (&host->lock);
  if (host->snapshot && host->fingerprint) {
    g_clear_pointer (&host->kept, fv_gallery_snapshot_unref);
    g_free (host->kept_location);
    g_free (host->kept_fingerprint);
    host->kept = g_steal_pointer (&host->snapshot);
    host->kept_location = g_steal_pointer (&host->snapshot_location);
    host->kept_fingerprint = g_strdup (host->fingerprint);
  }
  g_clear_pointer (&host->snapshot, fv_gallery_snapshot_unref);
  g_clear_pointer (&host->snapshot_location, g_free);
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

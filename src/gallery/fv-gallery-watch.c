/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-watch.c: following the gallery at a location for a reader
 * that runs for a long time: it appears, changes, is replaced, rewritten
 * in place or deleted, and each new state is loaded or reported once.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-store.h"

struct _FvGalleryWatch
{
  char *path;
  char *fingerprint;
  guint dim;
  const FvGalleryStoreClass *klass;
  FvGallery *gallery;           /* NULL until the first load */
  FvGalleryStamp stamp;         /* the location when @gallery was loaded */
  gboolean have_failed;
  FvGalleryStamp failed;        /* the location when a failure was reported */
  /* A database's stamp never moves: a failed open is tried again after a
   * back-off that grows to RETRY_MAX_US (reported once all the same). */
  gint64 retry_at;
  gint64 backoff_us;
  gint cancelled;               /* atomic: set by fv_gallery_watch_cancel() */
};

#define RETRY_MIN_US (500 * G_TIME_SPAN_MILLISECOND)
#define RETRY_MAX_US (30 * G_TIME_SPAN_SECOND)

/**
 * fv_gallery_watch_new:
 * @path: (type filename): the gallery's location
 * @model_fingerprint: (nullable): the model the gallery must be made with,
 *   as for fv_gallery_open()
 * @dim: the embedding dimension, or 0 to accept any
 *
 * Follows the gallery at @path for a reader: the file need not exist yet.
 * Nothing is read until fv_gallery_watch_check().
 *
 * Returns: (transfer full): the watch; free with fv_gallery_watch_free()
 */
FvGalleryWatch *
fv_gallery_watch_new (const char *path, const char *model_fingerprint,
    guint dim)
{
  FvGalleryWatch *w;

  g_return_val_if_fail (path != NULL, NULL);

  w = g_new0 (FvGalleryWatch, 1);
  w->path = g_strdup (path);
  w->fingerprint = g_strdup (model_fingerprint);
  w->dim = dim;
  w->klass = fv_gallery_store_class_for (path);
  return w;
}

/**
 * fv_gallery_watch_free:
 * @watch: (transfer full) (nullable): a watch
 *
 * Closes the gallery (snapshots handed out stay valid).
 */
void
fv_gallery_watch_free (FvGalleryWatch * watch)
{
  if (watch == NULL)
    return;
  fv_gallery_free (watch->gallery);
  g_free (watch->path);
  g_free (watch->fingerprint);
  g_free (watch);
}

/**
 * fv_gallery_watch_get_path:
 * @watch: a watch
 *
 * Returns: (transfer none) (type filename): the location it follows
 */
const char *
fv_gallery_watch_get_path (FvGalleryWatch * watch)
{
  g_return_val_if_fail (watch != NULL, NULL);
  return watch->path;
}

/**
 * fv_gallery_watch_cancel:
 * @watch: a watch
 *
 * Makes the watch give up: a fv_gallery_watch_check() running in another
 * thread stops waiting on a database server (connecting, or a query in
 * flight) within a fraction of a second and fails, and later checks fail
 * at once with %FV_GALLERY_WATCH_UNCHANGED. For stopping a reader that
 * must not wait for an unreachable server (such as a pipeline going to
 * NULL). Snapshots handed out stay valid. May be called from any thread,
 * before fv_gallery_watch_free().
 */
void
fv_gallery_watch_cancel (FvGalleryWatch * watch)
{
  g_return_if_fail (watch != NULL);
  g_atomic_int_set (&watch->cancelled, 1);
}

/* Reports a failure once per state of the location: FALSE (and @error
 * cleared) when this state was reported before. */
static gboolean
report_once (FvGalleryWatch * w, const FvGalleryStamp * st, GError ** error)
{
  if (w->have_failed && fv_gallery_stamp_equal (st, &w->failed)) {
    g_clear_error (error);
    return FALSE;
  }
  w->have_failed = TRUE;
  w->failed = *st;
  return TRUE;
}

/* A new handle on the location, loaded. */
static FvGallery *
open_loaded (FvGalleryWatch * w, GError ** error)
{
  FvGallery *g = fv_gallery_open_cancellable (w->path,
      FV_GALLERY_OPEN_READ_ONLY, w->fingerprint, w->dim, &w->cancelled,
      error);

  if (g && !fv_gallery_reload (g, error))
    g_clear_pointer (&g, fv_gallery_free);
  return g;
}

static FvGalleryWatchStatus
loaded (FvGalleryWatch * w, const FvGalleryStamp * st,
    FvGallerySnapshot ** snapshot)
{
  w->stamp = *st;
  w->have_failed = FALSE;
  w->backoff_us = 0;
  *snapshot = fv_gallery_get_snapshot (w->gallery);
  return FV_GALLERY_WATCH_LOADED;
}

/**
 * fv_gallery_watch_check:
 * @watch: a watch
 * @snapshot: (out) (transfer full) (nullable): the new snapshot, set with
 *   %FV_GALLERY_WATCH_LOADED, %NULL otherwise
 * @error: return location for a %FV_GALLERY_ERROR, set with
 *   %FV_GALLERY_WATCH_MISSING and %FV_GALLERY_WATCH_FAILED
 *
 * Looks whether the gallery changed since the last call and loads it if
 * so. A change is anything that makes the location hold other data: a
 * commit by any process (`PRAGMA data_version`), the file replaced by
 * another (renamed over it, copied in place of it), or the file rewritten
 * in place, which a connection in WAL mode may not notice by itself: then
 * the file is opened afresh and checked as by fv_gallery_open().
 *
 * Each failure is reported once per state of the location: while the file
 * stays as it was when it failed, later calls return
 * %FV_GALLERY_WATCH_UNCHANGED. The gallery loaded before (if any) stays
 * open, so a caller keeps matching against its last snapshot.
 *
 * Blocks while the gallery is read: call it off the streaming thread.
 *
 * Returns: %FV_GALLERY_WATCH_LOADED with a new snapshot;
 *   %FV_GALLERY_WATCH_UNCHANGED when there is nothing new (to report);
 *   %FV_GALLERY_WATCH_MISSING when nothing is at the location (never was,
 *   or deleted); %FV_GALLERY_WATCH_FAILED when what is there cannot be
 *   loaded
 */
FvGalleryWatchStatus
fv_gallery_watch_check (FvGalleryWatch * watch,
    FvGallerySnapshot ** snapshot, GError ** error)
{
  FvGalleryStamp st;
  FvGallery *g;

  g_return_val_if_fail (watch != NULL, FV_GALLERY_WATCH_FAILED);
  g_return_val_if_fail (snapshot != NULL, FV_GALLERY_WATCH_FAILED);
  g_return_val_if_fail (error == NULL || *error == NULL,
      FV_GALLERY_WATCH_FAILED);

  *snapshot = NULL;
  if (g_atomic_int_get (&watch->cancelled))
    return FV_GALLERY_WATCH_UNCHANGED;
  watch->klass->stat (watch->path, &st);
  if (!st.exists) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: no such gallery file", watch->path);
    return report_once (watch, &st, error) ? FV_GALLERY_WATCH_MISSING :
        FV_GALLERY_WATCH_UNCHANGED;
  }

  if (watch->gallery && fv_gallery_stamp_equal (&st, &watch->stamp)) {
    /* The same file: changes made through SQLite show in data_version. */
    if (!fv_gallery_needs_reload (watch->gallery))
      return FV_GALLERY_WATCH_UNCHANGED;
    if (!fv_gallery_reload (watch->gallery, error))
      return report_once (watch, &st, error) ? FV_GALLERY_WATCH_FAILED :
          FV_GALLERY_WATCH_UNCHANGED;
    return loaded (watch, &st, snapshot);
  }

  /* Another file at the location, or the file rewritten: open it afresh,
   * unless this very state failed before. */
  if (watch->have_failed && fv_gallery_stamp_equal (&st, &watch->failed)
      && !(watch->klass->remote && g_get_monotonic_time () >= watch->retry_at))
    return FV_GALLERY_WATCH_UNCHANGED;
  g = open_loaded (watch, error);
  if (!g) {
    watch->backoff_us = CLAMP (watch->backoff_us * 2, RETRY_MIN_US,
        RETRY_MAX_US);
    watch->retry_at = g_get_monotonic_time () + watch->backoff_us;
    return report_once (watch, &st, error) ? FV_GALLERY_WATCH_FAILED :
        FV_GALLERY_WATCH_UNCHANGED;
  }
  fv_gallery_free (watch->gallery);
  watch->gallery = g;
  return loaded (watch, &st, snapshot);
}

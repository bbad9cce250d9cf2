/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery.c: the gallery handle: opening through the store that serves
 * the location, the checks of every argument, one lock around the store,
 * and the snapshot that matching threads take without waiting.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-store.h"

#include <math.h>
#include <string.h>

#define MAX_FINGERPRINT 128

/**
 * fv_gallery_error_quark:
 *
 * Returns: the #GQuark of the %FV_GALLERY_ERROR domain
 */
/* *INDENT-OFF* */
G_DEFINE_QUARK (fv-gallery-error-quark, fv_gallery_error);
/* *INDENT-ON* */

struct _FvGallery
{
  char *path;
  char *shown;                  /* the path for messages (redacted) */
  gboolean read_only;
  char *fingerprint;
  guint dim;

  /* store_lock guards the store. The matching thread never takes it:
   * fv_gallery_needs_reload() only tries. */
  GMutex store_lock;
  FvGalleryStore *store;

  GMutex snap_lock;             /* guards only the snapshot pointer */
  FvGallerySnapshot *snapshot;

  const gint *cancel;           /* for the store (nullable) */
};

/* ------------------------------------------------------------------------ */
/* Stores                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * fv_gallery_location_is_database:
 * @location: a gallery's location
 *
 * Whether @location is a libpq connection URI (`postgresql://…` or
 * `postgres://…`), which names a PostgreSQL database, rather than the path
 * of an SQLite file.
 *
 * Returns: %TRUE for a PostgreSQL URI
 */
gboolean
fv_gallery_location_is_database (const char *location)
{
  g_return_val_if_fail (location != NULL, FALSE);
  return g_ascii_strncasecmp (location, "postgresql://", 13) == 0
      || g_ascii_strncasecmp (location, "postgres://", 11) == 0;
}

/* Replaces the value of every `password=` query parameter by "***". */
static void
redact_query (GString * out, const char *query)
{
  g_auto (GStrv) params = g_strsplit (query, "&", -1);
  guint i;

  for (i = 0; params[i]; i++) {
    if (i > 0)
      g_string_append_c (out, '&');
    if (g_ascii_strncasecmp (params[i], "password=", 9) == 0)
      g_string_append (out, "password=***");
    else
      g_string_append (out, params[i]);
  }
}

/**
 * fv_gallery_location_redact:
 * @location: a gallery's location
 *
 * @location as it may be printed, logged or put in an error: in a
 * PostgreSQL URI, the password (`user:secret@host`, `?password=secret`)
 * is replaced by `***`; every other parameter stays. A path is returned
 * as it is. Every message of the library names a database this way.
 *
 * Returns: (transfer full): the printable location; free with g_free()
 */
char *
fv_gallery_location_redact (const char *location)
{
  const char *auth, *host_end, *at, *colon, *query;
  GString *out;

  g_return_val_if_fail (location != NULL, NULL);
  if (!fv_gallery_location_is_database (location))
    return g_strdup (location);

  auth = strstr (location, "://") + 3;
  host_end = auth + strcspn (auth, "/?");
  out = g_string_new_len (location, auth - location);
  /* The user info ends at the last '@' before the path. */
  at = NULL;
  for (const char *c = auth; c < host_end; c++)
    if (*c == '@')
      at = c;
  if (at) {
    colon = memchr (auth, ':', at - auth);
    if (colon) {
      g_string_append_len (out, auth, colon - auth);
      g_string_append (out, ":***");
    } else {
      g_string_append_len (out, auth, at - auth);
    }
    auth = at;
  }
  query = strchr (host_end, '?');
  if (query) {
    g_string_append_len (out, auth, query + 1 - auth);
    redact_query (out, query + 1);
  } else {
    g_string_append (out, auth);
  }
  return g_string_free (out, FALSE);
}

const FvGalleryStoreClass *
fv_gallery_store_class_for (const char *location)
{
#if FV_HAVE_LIBPQ
  if (fv_gallery_location_is_database (location))
    return &fv_gallery_pg_class;
#endif
  return &fv_gallery_sqlite_class;
}

void
fv_gallery_store_free_base (FvGalleryStore * store)
{
  g_free (store->location);
  g_free (store->fingerprint);
  g_free (store->metric);
}

gboolean
fv_gallery_stamp_equal (const FvGalleryStamp * a, const FvGalleryStamp * b)
{
  return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino
      && a->mtime_ns == b->mtime_ns && a->size == b->size;
}

gint64
fv_gallery_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ------------------------------------------------------------------------ */
/* Embeddings and arguments                                                 */
/* ------------------------------------------------------------------------ */

void
fv_gallery_encode_embedding (const float *src, guint n, guint8 * dst)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, src, (gsize) (n) * sizeof (float));
#else
  guint i;

  for (i = 0; i < n; i++) {
    guint32 v;

    memcpy (&v, &src[i], 4);
    v = GUINT32_TO_LE (v);
    memcpy (dst + 4 * i, &v, 4);
  }
#endif
}

/* Stored embeddings are unit vectors: every write normalises them. A
 * stored vector whose norm is further than this from 1 is damaged (float32
 * normalisation is good to about 1e-7). */
#define STORED_NORM_TOLERANCE 1e-3

static const char *
blob_to_unit_floats (const void *blob, gsize bytes, guint dim, float *dst)
{
  double sum = 0.0;
  guint i;

  if (blob == NULL || bytes != (gsize) (dim) * 4)
    return "wrong size";
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, blob, (gsize) (dim) * 4);
#else
  for (i = 0; i < dim; i++) {
    guint32 v;

    memcpy (&v, (const guint8 *) blob + 4 * i, 4);
    v = GUINT32_FROM_LE (v);
    memcpy (&dst[i], &v, 4);
  }
#endif
  for (i = 0; i < dim; i++) {
    if (!isfinite (dst[i]))
      return "a non-finite value";
    sum += (double) dst[i] * dst[i];
  }
  if (!(fabs (sqrt (sum) - 1.0) <= STORED_NORM_TOLERANCE))
    return "not a unit vector";
  fv_l2_normalize (dst, dim);
  return NULL;
}

gboolean
fv_gallery_decode_embedding (const FvGalleryStore * store, gint64 sample_id,
    const void *blob, gsize bytes, float *dst, GError ** error)
{
  const char *why = blob_to_unit_floats (blob, bytes, store->dim, dst);

  if (why == NULL)
    return TRUE;
  g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
      "%s: the gallery file is damaged: sample %" G_GINT64_FORMAT
      " is not a valid %u-dimensional embedding (%s)", store->location,
      sample_id, store->dim, why);
  return FALSE;
}

gboolean
fv_gallery_check_text (const char *what, const char *text, gsize max_bytes,
    GError ** error)
{
  const char *p;
  gsize len = strlen (text);

  if (len == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the %s is empty", what);
    return FALSE;
  }
  if (len > max_bytes) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the %s is longer than %" G_GSIZE_FORMAT " bytes", what, max_bytes);
    return FALSE;
  }
  if (!g_utf8_validate (text, len, NULL)) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the %s is not valid UTF-8", what);
    return FALSE;
  }
  for (p = text; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    GUnicodeType type = g_unichar_type (c);

    if (g_unichar_iscntrl (c) || type == G_UNICODE_FORMAT
        || type == G_UNICODE_LINE_SEPARATOR
        || type == G_UNICODE_PARAGRAPH_SEPARATOR) {
      g_autofree char *escaped = g_strescape (text, NULL);

      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "the %s \"%s\" contains %s (U+%04X)", what, escaped,
          type == G_UNICODE_FORMAT ? "an invisible formatting character "
          "(zero-width or bidirectional control)" : "a control character", c);
      return FALSE;
    }
  }
  return TRUE;
}

/* The label rule (README, "Galleries are untrusted input"): UTF-8 of at
 * most FV_GALLERY_MAX_LABEL bytes, not empty after trimming white space,
 * not "unknown" in any case (what a face without a match is called), and
 * no control, line or paragraph separator or invisible formatting
 * character (Unicode category Cf: zero-width characters, bidirectional
 * overrides and isolates, the byte-order mark). */
gboolean
fv_gallery_check_label (const char *label, GError ** error)
{
  g_autofree char *trimmed = NULL;
  g_autofree char *folded = NULL;

  if (label == NULL) {
    g_set_error_literal (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "no label given");
    return FALSE;
  }
  if (!fv_gallery_check_text ("label", label, FV_GALLERY_MAX_LABEL, error))
    return FALSE;
  trimmed = g_strstrip (g_strdup (label));
  if (*trimmed == '\0') {
    g_set_error_literal (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the label is only white space");
    return FALSE;
  }
  folded = g_utf8_casefold (trimmed, -1);
  if (strcmp (folded, "unknown") == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the label \"%s\" is reserved: \"unknown\" is what a face without "
        "a match is called", label);
    return FALSE;
  }
  return TRUE;
}

gboolean
fv_gallery_check_display_name (const char *name, GError ** error)
{
  return name == NULL || fv_gallery_check_text ("display name", name,
      FV_GALLERY_MAX_DISPLAY_NAME, error);
}

/* Copies the sample's embedding, normalised, into @unit. */
gboolean
fv_gallery_check_embedding (const float *embedding, guint dim, float *unit,
    GError ** error)
{
  double sum = 0.0;
  guint i;

  if (embedding == NULL) {
    g_set_error_literal (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "a sample has no embedding");
    return FALSE;
  }
  for (i = 0; i < dim; i++) {
    if (!isfinite (embedding[i])) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "an embedding holds a non-finite value (element %u)", i);
      return FALSE;
    }
    if (fabsf (embedding[i]) > FV_GALLERY_MAX_EMBEDDING_VALUE) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "an embedding holds an absurd value (element %u is %g; at most "
          "%g)", i, embedding[i], FV_GALLERY_MAX_EMBEDDING_VALUE);
      return FALSE;
    }
    sum += (double) embedding[i] * embedding[i];
  }
  if (!(sum > 1e-20)) {
    g_set_error_literal (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "an embedding is all zeros");
    return FALSE;
  }
  memcpy (unit, embedding, (gsize) (dim) * sizeof (float));
  fv_l2_normalize (unit, dim);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * fv_gallery_open:
 * @path: (type filename): the gallery file
 * @flags: how to open it
 * @model_fingerprint: (nullable): the SHA-256 (hex) of the model whose
 *   embeddings will be matched or enrolled (fv_embedder_get_fingerprint()),
 *   or %NULL to accept a gallery of any model (for listing and exporting).
 *   Required with %FV_GALLERY_OPEN_CREATE.
 * @dim: the embedding dimension, or 0 to accept any. Required with
 *   %FV_GALLERY_OPEN_CREATE.
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Opens a gallery and checks it: the file must be an SQLite database with
 * the gallery schema (%FV_GALLERY_ERROR_NOT_GALLERY) and nothing else: a
 * trigger, view, virtual or extra table, extra index or generated column
 * is refused for reading and writing (%FV_GALLERY_ERROR_UNSAFE, naming the
 * object; checked again in every write transaction and every reload;
 * fv_gallery_repair() copies the data into a clean gallery); not damaged or
 * truncated (%FV_GALLERY_ERROR_CORRUPT; opened for writing, the whole file
 * is checked first), of a known schema version (%FV_GALLERY_ERROR_VERSION),
 * made with @model_fingerprint (%FV_GALLERY_ERROR_MODEL_MISMATCH) and of
 * dimension @dim (%FV_GALLERY_ERROR_DIM_MISMATCH). For writing, the file
 * and its folder must be writable (%FV_GALLERY_ERROR_READ_ONLY). A file
 * that fails a check is left untouched.
 *
 * Opened for writing, a gallery with an older schema is migrated (one
 * transaction); read-only, it is read as it is.
 *
 * @path may also be a libpq connection URI, `postgresql://user@host:port/
 * dbname?param=value…` (or `postgres://…`; see
 * fv_gallery_location_is_database()): the gallery is then the tables
 * fv_meta, fv_identities and fv_samples in that PostgreSQL database,
 * created with %FV_GALLERY_OPEN_CREATE and checked in the same ways. The
 * URI's parameters (sslmode, passfile, service…) and the PG* environment
 * variables reach libpq untouched; a role without write rights is refused
 * for writing (%FV_GALLERY_ERROR_READ_ONLY); an unreachable server is
 * %FV_GALLERY_ERROR_IO. Messages name the location without its password
 * (fv_gallery_location_redact()).
 *
 * Opening does not load the embeddings: call fv_gallery_reload().
 *
 * Returns: (transfer full) (nullable): the gallery, or %NULL on error
 */
FvGallery *
fv_gallery_open (const char *path, FvGalleryOpenFlags flags,
    const char *model_fingerprint, guint dim, GError ** error)
{
  return fv_gallery_open_cancellable (path, flags, model_fingerprint, dim,
      NULL, error);
}

FvGallery *
fv_gallery_open_cancellable (const char *path, FvGalleryOpenFlags flags,
    const char *model_fingerprint, guint dim, const gint * cancel,
    GError ** error)
{
  FvGalleryStore *store;
  FvGallery *g;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (!(flags & FV_GALLERY_OPEN_CREATE)
      || (model_fingerprint != NULL && dim > 0), NULL);
  g_return_val_if_fail (dim <= FV_GALLERY_MAX_DIM, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (model_fingerprint && !fv_gallery_check_text ("model fingerprint",
          model_fingerprint, MAX_FINGERPRINT, error))
    return NULL;
#if !FV_HAVE_LIBPQ
  if (fv_gallery_location_is_database (path)) {
    g_autofree char *shown = fv_gallery_location_redact (path);

    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "%s: this gst-faceverify was built without PostgreSQL support "
        "(libpq)", shown);
    return NULL;
  }
#endif
  store = fv_gallery_store_class_for (path)->open (path, flags,
      model_fingerprint, dim, cancel, error);
  if (!store)
    return NULL;

  g = g_new0 (FvGallery, 1);
  g->path = g_strdup (path);
  g->shown = fv_gallery_location_redact (path);
  g->read_only = store->read_only;
  g->fingerprint = g_strdup (store->fingerprint);
  g->dim = store->dim;
  g_mutex_init (&g->store_lock);
  g_mutex_init (&g->snap_lock);
  g->store = store;
  g->cancel = cancel;
  return g;
}

/**
 * fv_gallery_free:
 * @gallery: (transfer full): a gallery
 *
 * Closes the file and drops the gallery's reference to its snapshot
 * (snapshots handed out stay valid).
 */
void
fv_gallery_free (FvGallery * gallery)
{
  if (gallery == NULL)
    return;
  if (gallery->snapshot)
    fv_gallery_snapshot_unref (gallery->snapshot);
  gallery->store->klass->close (gallery->store);
  g_mutex_clear (&gallery->store_lock);
  g_mutex_clear (&gallery->snap_lock);
  g_free (gallery->path);
  g_free (gallery->shown);
  g_free (gallery->fingerprint);
  g_free (gallery);
}

/**
 * fv_gallery_get_path:
 * @gallery: a gallery
 *
 * Returns: (transfer none) (type filename): the file's path
 */
const char *
fv_gallery_get_path (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, NULL);
  return gallery->path;
}

/**
 * fv_gallery_get_model_fingerprint:
 * @gallery: a gallery
 *
 * Returns: (transfer none): the SHA-256 (lower-case hex) of the model that
 *   made the gallery's embeddings
 */
const char *
fv_gallery_get_model_fingerprint (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, NULL);
  return gallery->fingerprint;
}

/**
 * fv_gallery_get_dim:
 * @gallery: a gallery
 *
 * Returns: the embedding dimension
 */
guint
fv_gallery_get_dim (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, 0);
  return gallery->dim;
}

/**
 * fv_gallery_get_metric:
 * @gallery: a gallery
 *
 * Returns: (transfer none): the metric (%FV_GALLERY_METRIC)
 */
const char *
fv_gallery_get_metric (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, NULL);
  return gallery->store->metric;
}

/**
 * fv_gallery_get_schema_version:
 * @gallery: a gallery
 *
 * Returns: the file's schema version (%FV_GALLERY_SCHEMA_VERSION unless an
 *   older gallery was opened read-only)
 */
guint
fv_gallery_get_schema_version (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, 0);
  return gallery->store->schema_version;
}

/**
 * fv_gallery_is_read_only:
 * @gallery: a gallery
 *
 * Returns: whether the gallery was opened read-only
 */
gboolean
fv_gallery_is_read_only (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, TRUE);
  return gallery->read_only;
}

FvGalleryStore *
fv_gallery_lock_store (FvGallery * gallery)
{
  g_mutex_lock (&gallery->store_lock);
  return gallery->store;
}

void
fv_gallery_unlock_store (FvGallery * gallery)
{
  g_mutex_unlock (&gallery->store_lock);
}

gboolean
fv_gallery_check_writable (FvGallery * gallery, GError ** error)
{
  if (gallery->read_only) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_READ_ONLY,
        "%s: the gallery was opened read-only", gallery->shown);
    return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Changes                                                                  */
/* ------------------------------------------------------------------------ */

static gboolean
check_enrollment (const FvGalleryEnrollment * e, GError ** error)
{
  if (!fv_gallery_check_label (e->label, error))
    return FALSE;
  if (!fv_gallery_check_display_name (e->display_name, error))
    return FALSE;
  if (e->n_samples == 0 || e->samples == NULL) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "no sample to enroll for \"%s\"", e->label);
    return FALSE;
  }
  return TRUE;
}

/**
 * fv_gallery_enroll_batch:
 * @gallery: a gallery opened for writing
 * @enrollments: (array length=n_enrollments): the identities to enroll
 * @n_enrollments: how many
 * @flags: what to do with labels that are already there
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Enrolls several identities in one transaction: either all of them are in
 * the gallery afterwards, or (on error, or if the process dies) none.
 * Every embedding is checked (finite, not zero) and stored normalised.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_enroll_batch (FvGallery * gallery,
    const FvGalleryEnrollment * enrollments, guint n_enrollments,
    FvGalleryEnrollFlags flags, GError ** error)
{
  g_autofree FvGalleryStoreIdentity *items = NULL;
  FvGalleryStore *store;
  gint64 now = fv_gallery_now ();
  gboolean ok;
  guint i;

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (n_enrollments == 0 || enrollments != NULL, FALSE);
  g_return_val_if_fail (flags <= FV_GALLERY_ENROLL_NEW_ONLY, FALSE);

  if (!fv_gallery_check_writable (gallery, error))
    return FALSE;
  items = g_new0 (FvGalleryStoreIdentity, MAX (n_enrollments, 1));
  for (i = 0; i < n_enrollments; i++) {
    const FvGalleryEnrollment *e = &enrollments[i];

    if (!check_enrollment (e, error))
      return FALSE;
    items[i] = (FvGalleryStoreIdentity) {
    e->label, e->display_name, e->samples, e->n_samples, now, now, NULL};
  }
  store = fv_gallery_lock_store (gallery);
  ok = fv_gallery_store_enroll (store, items, n_enrollments, flags, "enroll",
      NULL, error);
  fv_gallery_unlock_store (gallery);
  return ok;
}

/**
 * fv_gallery_enroll:
 * @gallery: a gallery opened for writing
 * @label: the identity's label
 * @display_name: (nullable): a name to show; with
 *   %FV_GALLERY_ENROLL_APPEND, %NULL keeps the current one
 * @samples: (array length=n_samples): the samples (at least one)
 * @n_samples: how many
 * @flags: what to do if @label is already in the gallery
 * @identity_id: (out) (optional): the identity's database id
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Enrolls one identity with its samples in one transaction.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_enroll (FvGallery * gallery, const char *label,
    const char *display_name, const FvGallerySample * samples,
    guint n_samples, FvGalleryEnrollFlags flags, gint64 * identity_id,
    GError ** error)
{
  FvGalleryEnrollment e = { label, display_name, samples, n_samples };
  gint64 now = fv_gallery_now ();
  FvGalleryStoreIdentity item = { label, display_name, samples, n_samples,
    now, now, NULL
  };
  FvGalleryStore *store;
  gboolean ok;

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (flags <= FV_GALLERY_ENROLL_NEW_ONLY, FALSE);

  if (!fv_gallery_check_writable (gallery, error))
    return FALSE;
  if (!check_enrollment (&e, error))
    return FALSE;
  store = fv_gallery_lock_store (gallery);
  ok = fv_gallery_store_enroll (store, &item, 1, flags, "enroll", identity_id,
      error);
  fv_gallery_unlock_store (gallery);
  return ok;
}

/**
 * fv_gallery_remove:
 * @gallery: a gallery opened for writing
 * @label: the identity to remove
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Removes an identity and all its samples, in one transaction.
 * %FV_GALLERY_ERROR_NOT_FOUND if there is no such label.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_remove (FvGallery * gallery, const char *label, GError ** error)
{
  FvGalleryStore *store;
  gboolean ok;

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (label != NULL, FALSE);

  if (!fv_gallery_check_writable (gallery, error))
    return FALSE;
  store = fv_gallery_lock_store (gallery);
  ok = fv_gallery_store_remove (store, label, error);
  fv_gallery_unlock_store (gallery);
  return ok;
}

/**
 * fv_gallery_set_default_threshold:
 * @gallery: a gallery opened for writing
 * @threshold: the match threshold (cosine similarity, in [-1, 1])
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Records @threshold as the gallery's calibrated match threshold (the
 * metadata key `match_threshold`, with the time in
 * `match_threshold_updated`), in one transaction that bumps the
 * generation, so that watchers and running elements reload and use it
 * where no threshold of their own is set. `faceverify calibrate` sets it
 * from a false-accept rate. %FV_GALLERY_ERROR_INVALID if @threshold is
 * not a finite number in [-1, 1].
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_set_default_threshold (FvGallery * gallery, double threshold,
    GError ** error)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  FvGalleryStore *store;
  gboolean ok;

  g_return_val_if_fail (gallery != NULL, FALSE);

  if (!isfinite (threshold) || threshold < -1.0 || threshold > 1.0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the match threshold must be a number in [-1, 1]");
    return FALSE;
  }
  if (!fv_gallery_check_writable (gallery, error))
    return FALSE;
  fv_gallery_format_threshold (threshold, buf);
  store = fv_gallery_lock_store (gallery);
  ok = fv_gallery_store_set_meta (store, FV_GALLERY_META_THRESHOLD, buf, error);
  fv_gallery_unlock_store (gallery);
  return ok;
}

/**
 * fv_gallery_get_default_threshold:
 * @gallery: a gallery
 * @threshold: (out) (optional): where to store the threshold
 *
 * The calibrated match threshold of the snapshot loaded last
 * (fv_gallery_snapshot_get_default_threshold()); call fv_gallery_reload()
 * first to see a change made since.
 *
 * Returns: %TRUE if the loaded snapshot has one; %FALSE if not, or if no
 *   snapshot was loaded
 */
gboolean
fv_gallery_get_default_threshold (FvGallery * gallery, double *threshold)
{
  g_autoptr (FvGallerySnapshot) snap = NULL;

  g_return_val_if_fail (gallery != NULL, FALSE);

  snap = fv_gallery_get_snapshot (gallery);
  return snap != NULL && fv_gallery_snapshot_get_default_threshold (snap,
      threshold);
}

static gboolean
update_identity (FvGallery * gallery, const char *label,
    FvGalleryStoreField field, const char *value, GError ** error)
{
  FvGalleryStore *store;
  gboolean ok;

  if (!fv_gallery_check_writable (gallery, error))
    return FALSE;
  store = fv_gallery_lock_store (gallery);
  ok = fv_gallery_store_update (store, label, field, value, error);
  fv_gallery_unlock_store (gallery);
  return ok;
}

/**
 * fv_gallery_rename:
 * @gallery: a gallery opened for writing
 * @label: the identity's label
 * @new_label: its new label
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Changes an identity's label (its id, samples and display name stay).
 * %FV_GALLERY_ERROR_NOT_FOUND if there is no @label,
 * %FV_GALLERY_ERROR_EXISTS if @new_label is taken.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_rename (FvGallery * gallery, const char *label,
    const char *new_label, GError ** error)
{
  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (label != NULL, FALSE);

  if (!fv_gallery_check_label (new_label, error))
    return FALSE;
  return update_identity (gallery, label, FV_GALLERY_STORE_LABEL, new_label,
      error);
}

/**
 * fv_gallery_set_display_name:
 * @gallery: a gallery opened for writing
 * @label: the identity's label
 * @display_name: (nullable): the new display name, or %NULL for none
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_set_display_name (FvGallery * gallery, const char *label,
    const char *display_name, GError ** error)
{
  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (label != NULL, FALSE);

  if (!fv_gallery_check_display_name (display_name, error))
    return FALSE;
  return update_identity (gallery, label, FV_GALLERY_STORE_DISPLAY_NAME,
      display_name, error);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * fv_gallery_identity_free:
 * @identity: (transfer full) (nullable): an identity
 */
void
fv_gallery_identity_free (FvGalleryIdentity * identity)
{
  if (identity == NULL)
    return;
  g_free (identity->label);
  g_free (identity->display_name);
  g_free (identity);
}

/**
 * fv_gallery_sample_info_free:
 * @sample: (transfer full) (nullable): a sample
 */
void
fv_gallery_sample_info_free (FvGallerySampleInfo * sample)
{
  if (sample == NULL)
    return;
  g_free (sample->source);
  g_free (sample->embedding);
  g_free (sample);
}

/**
 * fv_gallery_list:
 * @gallery: a gallery
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Lists the identities, sorted by label.
 *
 * Returns: (transfer full) (element-type FvGalleryIdentity) (nullable): the
 *   identities (the array frees them), or %NULL on error
 */
GPtrArray *
fv_gallery_list (FvGallery * gallery, GError ** error)
{
  FvGalleryStore *store;
  GPtrArray *list;

  g_return_val_if_fail (gallery != NULL, NULL);

  store = fv_gallery_lock_store (gallery);
  list = store->klass->list (store, NULL, error);
  fv_gallery_unlock_store (gallery);
  return list;
}

/**
 * fv_gallery_get_identity:
 * @gallery: a gallery
 * @label: a label
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Returns: (transfer full) (nullable): the identity, or %NULL with
 *   %FV_GALLERY_ERROR_NOT_FOUND if there is no such label (or another
 *   error)
 */
FvGalleryIdentity *
fv_gallery_get_identity (FvGallery * gallery, const char *label,
    GError ** error)
{
  g_autoptr (GPtrArray) list = NULL;
  FvGalleryStore *store;

  g_return_val_if_fail (gallery != NULL, NULL);
  g_return_val_if_fail (label != NULL, NULL);

  store = fv_gallery_lock_store (gallery);
  list = store->klass->list (store, label, error);
  fv_gallery_unlock_store (gallery);
  if (list == NULL)
    return NULL;
  if (list->len == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: no identity \"%s\" in the gallery", gallery->shown, label);
    return NULL;
  }
  return g_ptr_array_steal_index (list, 0);
}

/**
 * fv_gallery_get_samples:
 * @gallery: a gallery
 * @label: a label
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Reads an identity's samples, oldest first.
 *
 * Returns: (transfer full) (element-type FvGallerySampleInfo) (nullable):
 *   the samples (the array frees them), or %NULL with
 *   %FV_GALLERY_ERROR_NOT_FOUND if there is no such label (or another
 *   error)
 */
GPtrArray *
fv_gallery_get_samples (FvGallery * gallery, const char *label, GError ** error)
{
  FvGalleryStore *store;
  GPtrArray *list;

  g_return_val_if_fail (gallery != NULL, NULL);
  g_return_val_if_fail (label != NULL, NULL);

  store = fv_gallery_lock_store (gallery);
  list = store->klass->get_samples (store, label, error);
  fv_gallery_unlock_store (gallery);
  return list;
}

/* ------------------------------------------------------------------------ */
/* Snapshots and reloading                                                  */
/* ------------------------------------------------------------------------ */

/* The path names another store now: open and check it as the one before.
 * Runs under store_lock. */
static gboolean
reopen (FvGallery * g, GError ** error)
{
  FvGalleryStore *store = g->store->klass->open (g->path, g->read_only ?
      FV_GALLERY_OPEN_READ_ONLY : FV_GALLERY_OPEN_READ_WRITE,
      g->fingerprint, g->dim, g->cancel, error);

  if (!store)
    return FALSE;
  g->store->klass->close (g->store);
  g->store = store;
  return TRUE;
}

/**
 * fv_gallery_reload:
 * @gallery: a gallery
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Loads all identities and samples into a new #FvGallerySnapshot, in one
 * read transaction, and makes it the one fv_gallery_get_snapshot() returns.
 * The schema allow-list and SQLite's quick check run first
 * (%FV_GALLERY_ERROR_UNSAFE, %FV_GALLERY_ERROR_CORRUPT); every row is then
 * validated, and a damaged one is left out and listed on the snapshot
 * (fv_gallery_snapshot_get_skipped()), never matched.
 * Threads that match keep using the snapshot they hold and are never
 * blocked. If the path now names another file (the gallery was replaced
 * by a copy), that file is opened and checked as by fv_gallery_open() with
 * the same model and dimension. On error the current snapshot stays.
 *
 * A PostgreSQL gallery (schema version 3, and a role that may read its
 * change log) reloads incrementally: only the identities changed since the
 * snapshot in use are read, and the new snapshot is made from that one
 * (fv_gallery_snapshot_get_n_fetched() tells how many rows were read); when
 * the log cannot tell (pruned, or a change written around it) everything
 * is read.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_reload (FvGallery * gallery, GError ** error)
{
  FvGallerySnapshot *snap, *old;
  FvGalleryStore *store;

  g_return_val_if_fail (gallery != NULL, FALSE);

  g_mutex_lock (&gallery->snap_lock);
  old = gallery->snapshot ? fv_gallery_snapshot_ref (gallery->snapshot) : NULL;
  g_mutex_unlock (&gallery->snap_lock);

  store = fv_gallery_lock_store (gallery);
  if (store->klass->poll (store) == FV_GALLERY_STORE_REPLACED
      && !reopen (gallery, error))
    snap = NULL;
  else
    snap = gallery->store->klass->load (gallery->store, old, error);
  fv_gallery_unlock_store (gallery);
  if (old)
    fv_gallery_snapshot_unref (old);
  if (!snap)
    return FALSE;

  g_mutex_lock (&gallery->snap_lock);
  old = gallery->snapshot;
  gallery->snapshot = snap;
  g_mutex_unlock (&gallery->snap_lock);
  if (old)
    fv_gallery_snapshot_unref (old);
  return TRUE;
}

/**
 * fv_gallery_needs_reload:
 * @gallery: a gallery
 *
 * A cheap check (a `PRAGMA data_version` and a stat(), no reading of the
 * data) whether the gallery file changed since the last fv_gallery_reload()
 * — through this handle, another handle or another process — or was
 * replaced by another file. Also %TRUE when nothing was loaded yet.
 *
 * Never waits: while another thread uses the gallery's connection (a
 * reload or a change in progress) it returns %FALSE, and a later call
 * tells.
 *
 * Returns: whether fv_gallery_reload() would load something new
 */
gboolean
fv_gallery_needs_reload (FvGallery * gallery)
{
  gboolean loaded, changed;

  g_return_val_if_fail (gallery != NULL, FALSE);

  g_mutex_lock (&gallery->snap_lock);
  loaded = gallery->snapshot != NULL;
  g_mutex_unlock (&gallery->snap_lock);
  if (!loaded)
    return TRUE;

  if (!g_mutex_trylock (&gallery->store_lock))
    return FALSE;
  changed = gallery->store->klass->poll (gallery->store)
      != FV_GALLERY_STORE_UNCHANGED;
  g_mutex_unlock (&gallery->store_lock);
  return changed;
}

/**
 * fv_gallery_get_snapshot:
 * @gallery: a gallery
 *
 * The snapshot loaded by the last successful fv_gallery_reload(). Takes a
 * lock only long enough to add a reference: safe to call per frame.
 *
 * Returns: (transfer full) (nullable): the snapshot, or %NULL if none was
 *   loaded yet
 */
FvGallerySnapshot *
fv_gallery_get_snapshot (FvGallery * gallery)
{
  FvGallerySnapshot *snap = NULL;

  g_return_val_if_fail (gallery != NULL, NULL);

  g_mutex_lock (&gallery->snap_lock);
  if (gallery->snapshot)
    snap = fv_gallery_snapshot_ref (gallery->snapshot);
  g_mutex_unlock (&gallery->snap_lock);
  return snap;
}

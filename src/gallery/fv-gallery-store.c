/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-store.c: what every store does the same way: the start of
 * open() and the check of the recorded model, dimension and metric; one
 * write transaction around each change, the enrollment loop, and the
 * rules and messages of remove and update. The stores provide only their
 * statements (FvGalleryStoreClass's write operations).
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-store.h"

#include <math.h>
#include <string.h>

void
fv_gallery_store_init (FvGalleryStore * store,
    const FvGalleryStoreClass * klass, char *location, FvGalleryOpenFlags flags)
{
  store->klass = klass;
  store->location = location;
  store->read_only = (flags & (FV_GALLERY_OPEN_CREATE |
          FV_GALLERY_OPEN_READ_WRITE)) == 0;
}

/* One change: runs inside write_transaction(). */
typedef gboolean (*WriteFn) (FvGalleryStore * store, gconstpointer data,
    const char *what, GError ** error);

/* begin_write(), the change, commit_write(); rollback_write() on error. */
static gboolean
write_transaction (FvGalleryStore * store, WriteFn fn, gconstpointer data,
    const char *what, GError ** error)
{
  const FvGalleryStoreClass *klass = store->klass;

  if (klass->begin_write (store, what, error)
      && fn (store, data, what, error)
      && klass->commit_write (store, what, error))
    return TRUE;
  klass->rollback_write (store);
  return FALSE;
}

static gboolean
no_identity (FvGalleryStore * store, const char *label, const char *what,
    GError ** error)
{
  g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
      "%s: cannot %s: no identity \"%s\" in the gallery", store->location,
      what, label);
  return FALSE;
}

typedef struct
{
  const FvGalleryStoreIdentity *identities;
  guint n_identities;
  FvGalleryEnrollFlags flags;
  gint64 *identity_id;
  const char *threshold;
} Enroll;

static gboolean
enroll_all (FvGalleryStore * store, gconstpointer data, const char *what,
    GError ** error)
{
  const Enroll *e = data;
  gboolean changed = FALSE;
  guint i;

  if (store->klass->enroll_many && e->n_identities > 1) {
    if (!store->klass->enroll_many (store, e->identities, e->n_identities,
            e->flags, what, e->identity_id, error))
      return FALSE;
  } else {
    for (i = 0; i < e->n_identities; i++)
      if (!store->klass->enroll_one (store, &e->identities[i], e->flags, what,
              e->identity_id, error))
        return FALSE;
  }
  return e->threshold == NULL
      || store->klass->run_on_label (store, store->klass->set_meta_sql,
      FV_GALLERY_META_THRESHOLD, e->threshold, what, &changed, error);
}

gboolean
fv_gallery_store_enroll (FvGalleryStore * store,
    const FvGalleryStoreIdentity * identities, guint n_identities,
    FvGalleryEnrollFlags flags, const char *what, gint64 * identity_id,
    GError ** error)
{
  Enroll e = { identities, n_identities, flags, identity_id, NULL };

  return write_transaction (store, enroll_all, &e, what, error);
}

gboolean
fv_gallery_store_enroll_calibrated (FvGalleryStore * store,
    const FvGalleryStoreIdentity * identities, guint n_identities,
    FvGalleryEnrollFlags flags, const char *what, const double *threshold,
    GError ** error)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  Enroll e = { identities, n_identities, flags, NULL, NULL };

  if (threshold) {
    if (!isfinite (*threshold) || *threshold < -1.0 || *threshold > 1.0) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "the match threshold must be a number in [-1, 1]");
      return FALSE;
    }
    e.threshold = fv_gallery_format_threshold (*threshold, buf);
  }
  return write_transaction (store, enroll_all, &e, what, error);
}

static gboolean
remove_identity (FvGalleryStore * store, gconstpointer data,
    const char *what, GError ** error)
{
  const char *label = data;
  gint64 id = store->klass->lookup_identity (store, label, what, error);

  if (id < 0)
    return FALSE;
  if (id == 0)
    return no_identity (store, label, what, error);
  return store->klass->run_on_id (store, store->klass->delete_samples_sql, id,
      what, error)
      && store->klass->run_on_id (store, store->klass->delete_identity_sql,
      id, what, error);
}

gboolean
fv_gallery_store_remove (FvGalleryStore * store, const char *label,
    GError ** error)
{
  return write_transaction (store, remove_identity, label,
      "remove the identity", error);
}

typedef struct
{
  FvGalleryStoreField field;
  const char *label;
  const char *value;
} Update;

/* Sets one column of an identity; NOT_FOUND when there is none, EXISTS
 * when the new label is taken. */
static gboolean
update_identity (FvGalleryStore * store, gconstpointer data,
    const char *what, GError ** error)
{
  const Update *u = data;
  const char *sql = u->field == FV_GALLERY_STORE_LABEL ?
      store->klass->set_label_sql : store->klass->set_display_name_sql;
  g_autoptr (GError) err = NULL;
  gboolean found = FALSE;

  if (!store->klass->run_on_label (store, sql, u->label, u->value, what,
          &found, &err)) {
    if (g_error_matches (err, FV_GALLERY_ERROR, FV_GALLERY_ERROR_EXISTS)) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_EXISTS,
          "%s: cannot %s: the label \"%s\" is already in the gallery",
          store->location, what, u->value);
      return FALSE;
    }
    g_propagate_error (error, g_steal_pointer (&err));
    return FALSE;
  }
  if (!found)
    return no_identity (store, u->label, what, error);
  return TRUE;
}

gboolean
fv_gallery_store_update (FvGalleryStore * store, const char *label,
    FvGalleryStoreField field, const char *value, GError ** error)
{
  Update u = { field, label, value };

  return write_transaction (store, update_identity, &u,
      field == FV_GALLERY_STORE_LABEL ? "rename the identity"
      : "set the display name", error);
}

typedef struct
{
  const char *key;
  const char *value;
} SetMeta;

static gboolean
set_meta (FvGalleryStore * store, gconstpointer data, const char *what,
    GError ** error)
{
  const SetMeta *m = data;
  gboolean changed = FALSE;

  return store->klass->run_on_label (store, store->klass->set_meta_sql,
      m->key, m->value, what, &changed, error);
}

gboolean
fv_gallery_store_set_meta (FvGalleryStore * store, const char *key,
    const char *value, GError ** error)
{
  SetMeta m = { key, value };

  return write_transaction (store, set_meta, &m, "set the metadata", error);
}

const char *
fv_gallery_format_threshold (double threshold,
    char buf[G_ASCII_DTOSTR_BUF_SIZE])
{
  return g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.6f", threshold);
}

gboolean
fv_gallery_store_get_threshold (FvGalleryStore * store, gboolean * has,
    double *threshold, GError ** error)
{
  g_autofree char *text = NULL;

  *has = FALSE;
  if (!store->klass->get_meta (store, FV_GALLERY_META_THRESHOLD, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!fv_gallery_parse_threshold (text, threshold)) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: its %s is damaged (not a number in [-1, 1])", store->location,
        FV_GALLERY_META_THRESHOLD);
    return FALSE;
  }
  *has = TRUE;
  return TRUE;
}

gboolean
fv_gallery_parse_threshold (const char *text, double *value)
{
  char *end = NULL;
  double v;

  if (text == NULL || *text == '\0')
    return FALSE;
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v) || v < -1.0 || v > 1.0)
    return FALSE;
  *value = v;
  return TRUE;
}

gboolean
fv_gallery_store_check_meta (FvGalleryStore * store, GHashTable * meta,
    gint64 version, const char *want_fingerprint, guint want_dim,
    GError ** error)
{
  const char *loc = store->location;
  const char *fp = g_hash_table_lookup (meta, "model_sha256");
  const char *dim_str = g_hash_table_lookup (meta, "dim");
  const char *metric = g_hash_table_lookup (meta, "metric");
  char *end = NULL;
  guint64 dim = dim_str ? g_ascii_strtoull (dim_str, &end, 10) : 0;

  if ((version >= 0 && version < 2) || fp == NULL || *fp == '\0' || dim == 0
      || dim > FV_GALLERY_MAX_DIM || end == NULL || *end != '\0'
      || metric == NULL) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: the gallery's metadata is damaged (%smodel, dimension or "
        "metric missing or invalid)", loc, version >= 0 ? "version, " : "");
    return FALSE;
  }
  if (strcmp (metric, FV_GALLERY_METRIC) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "%s: the gallery uses the metric \"%s\"; this gst-faceverify "
        "matches with \"" FV_GALLERY_METRIC "\" only", loc, metric);
    return FALSE;
  }
  if (want_fingerprint && g_ascii_strcasecmp (fp, want_fingerprint) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "%s: the gallery was enrolled with another model (SHA-256 %.16s…, "
        "the model in use is %.16s…); its embeddings cannot be compared: "
        "enroll the people again with this model", loc, fp, want_fingerprint);
    return FALSE;
  }
  if (want_dim && dim != want_dim) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_DIM_MISMATCH,
        "%s: the gallery holds %" G_GUINT64_FORMAT "-dimensional embeddings, "
        "the model makes %u-dimensional ones", loc, dim, want_dim);
    return FALSE;
  }
  store->fingerprint = g_ascii_strdown (fp, -1);
  store->dim = (guint) dim;
  store->metric = g_strdup (metric);
  return TRUE;
}

gboolean
fv_gallery_store_encode_sample (const FvGallerySample * sample, guint dim,
    float *unit, guint8 * blob, char **source, gboolean * has_quality,
    GError ** error)
{
  *source = NULL;
  if (!fv_gallery_check_embedding (sample->embedding, dim, unit, error))
    return FALSE;
  fv_gallery_encode_embedding (unit, dim, blob);
  if (sample->source)
    *source = g_utf8_make_valid (sample->source, -1);
  *has_quality = sample->quality >= 0.0f && isfinite (sample->quality);
  return TRUE;
}

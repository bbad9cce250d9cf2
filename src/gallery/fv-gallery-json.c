/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-json.c: export of a gallery as JSON and import of such an
 * export, the same for every store. The text is read with SQLite's JSON
 * functions on a private in-memory connection.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-sqlite.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define JSON_FORMAT "gst-faceverify-gallery-export"
#define JSON_VERSION 1

/* ------------------------------------------------------------------------ */
/* Export                                                                   */
/* ------------------------------------------------------------------------ */

static void
json_append_string (GString * out, const char *s)
{
  const char *p;

  if (s == NULL) {
    g_string_append (out, "null");
    return;
  }
  g_string_append_c (out, '"');
  for (p = s; *p; p++) {
    guchar c = (guchar) * p;

    switch (c) {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          g_string_append_printf (out, "\\u%04x", c);
        else
          g_string_append_c (out, (char) c);
        break;
    }
  }
  g_string_append_c (out, '"');
}

static void
json_append_time (GString * out, gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  g_autofree char *s = dt ? g_date_time_format_iso8601 (dt) : NULL;

  json_append_string (out, s ? s : "1970-01-01T00:00:00Z");
}

static void
json_append_float (GString * out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* Nine significant digits bring a float32 back exactly. */
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

typedef struct
{
  GString *out;
  guint dim;
  gboolean first_identity;
  gboolean first_sample;
  gint64 current;
} Export;

static void
export_identity (Export * x, const FvGalleryIdentity * identity)
{
  GString *out = x->out;

  if (!x->first_identity)
    g_string_append (out, "\n      ]\n    },");
  x->first_identity = FALSE;
  x->first_sample = TRUE;
  x->current = identity->id;
  g_string_append (out, "\n    {\n      \"label\": ");
  json_append_string (out, identity->label);
  g_string_append (out, ",\n      \"display_name\": ");
  json_append_string (out, identity->display_name);
  g_string_append (out, ",\n      \"created\": ");
  json_append_time (out, identity->created);
  g_string_append (out, ",\n      \"updated\": ");
  json_append_time (out, identity->updated);
  g_string_append (out, ",\n      \"samples\": [");
}

static gboolean
export_row (const FvGalleryIdentity * identity,
    const FvGalleryStoreSample * sample, gpointer user_data, GError ** error)
{
  Export *x = user_data;
  GString *out = x->out;
  guint k;

  if (x->first_identity || identity->id != x->current)
    export_identity (x, identity);
  if (sample == NULL)
    return TRUE;
  g_string_append (out, x->first_sample ? "\n        " : ",\n        ");
  x->first_sample = FALSE;
  g_string_append (out, "{\"quality\": ");
  if (sample->has_quality)
    json_append_float (out, sample->quality);
  else
    g_string_append (out, "null");
  g_string_append (out, ", \"source\": ");
  json_append_string (out, sample->source);
  g_string_append (out, ", \"created\": ");
  json_append_time (out, sample->created);
  g_string_append (out, ", \"embedding\": [");
  for (k = 0; k < x->dim; k++) {
    if (k)
      g_string_append_c (out, ',');
    json_append_float (out, sample->embedding[k]);
  }
  g_string_append (out, "]}");
  return TRUE;
}

/**
 * fv_gallery_export_json:
 * @gallery: a gallery
 * @length: (out) (optional): the length of the text
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Writes the whole gallery as JSON:
 *
 * |[
 * { "format": "gst-faceverify-gallery-export", "version": 1,
 *   "model_sha256": "d8ba…", "dim": 192, "metric": "cosine",
 *   "match_threshold": 0.4321,
 *   "identities": [
 *     { "label": "alice", "display_name": "Alice", "created": "2024-…Z",
 *       "updated": "2024-…Z",
 *       "samples": [ { "quality": 0.99, "source": "alice1.jpg",
 *                      "created": "2024-…Z", "embedding": [0.01, …] } ] } ] }
 * ]|
 *
 * Times are ISO 8601 in UTC, embeddings L2-normalised with nine
 * significant digits (float32 values come back exactly), identities sorted
 * by label. `quality`, `source` and `display_name` may be null.
 * `match_threshold` is the gallery's calibrated threshold
 * (fv_gallery_set_default_threshold()) as stored now, null when it has
 * none; a damaged one fails the export with %FV_GALLERY_ERROR_CORRUPT.
 *
 * Returns: (transfer full) (nullable): the JSON text, or %NULL on error
 */
char *
fv_gallery_export_json (FvGallery * gallery, gsize * length, GError ** error)
{
  Export x = { NULL, 0, TRUE, TRUE, G_MININT64 };
  g_autoptr (GString) out = NULL;
  FvGalleryStore *store;
  gboolean ok, has_threshold = FALSE;
  double threshold = 0.0;

  g_return_val_if_fail (gallery != NULL, NULL);

  out = g_string_new ("{\n  \"format\": \"" JSON_FORMAT "\",\n  \"version\": "
      G_STRINGIFY (JSON_VERSION) ",\n  \"model_sha256\": ");
  json_append_string (out, fv_gallery_get_model_fingerprint (gallery));
  g_string_append_printf (out, ",\n  \"dim\": %u,\n  \"metric\": ",
      fv_gallery_get_dim (gallery));
  json_append_string (out, fv_gallery_get_metric (gallery));

  x.out = out;
  x.dim = fv_gallery_get_dim (gallery);
  store = fv_gallery_lock_store (gallery);
  ok = fv_gallery_store_get_threshold (store, &has_threshold, &threshold,
      error);
  if (ok) {
    g_string_append (out, ",\n  \"match_threshold\": ");
    if (has_threshold)
      json_append_float (out, threshold);
    else
      g_string_append (out, "null");
    g_string_append (out, ",\n  \"identities\": [");
    ok = store->klass->foreach_sample (store, export_row, &x, error);
  }
  fv_gallery_unlock_store (gallery);
  if (!ok)
    return NULL;

  if (!x.first_identity)
    g_string_append (out, "\n      ]\n    }\n  ");
  g_string_append (out, "]\n}\n");
  if (length)
    *length = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ------------------------------------------------------------------------ */
/* Import                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct
{
  char *label;
  char *display_name;
  gint64 created;
  gint64 updated;
  GArray *embeddings;           /* float, dim per sample */
  GArray *quality;              /* float */
  GPtrArray *sources;           /* char * or NULL */
  GArray *sample_created;       /* gint64 */
} ImportIdentity;

static void
import_identity_free (ImportIdentity * ii)
{
  g_free (ii->label);
  g_free (ii->display_name);
  g_array_unref (ii->embeddings);
  g_array_unref (ii->quality);
  g_ptr_array_unref (ii->sources);
  g_array_unref (ii->sample_created);
  g_free (ii);
}

/* A time from the JSON: an ISO 8601 string or seconds since the epoch. */
static gboolean
column_time (sqlite3_stmt * stmt, int col, gint64 fallback, gint64 * t)
{
  int type = sqlite3_column_type (stmt, col);

  if (type == SQLITE_NULL) {
    *t = fallback;
    return TRUE;
  }
  if (type == SQLITE_INTEGER) {
    *t = sqlite3_column_int64 (stmt, col);
    return TRUE;
  }
  if (type == SQLITE_TEXT) {
    g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 ((const char *)
        sqlite3_column_text (stmt, col), NULL);

    if (dt) {
      *t = g_date_time_to_unix (dt);
      return TRUE;
    }
  }
  return FALSE;
}

/* Parses "[x,y,…]" with exactly @dim numbers into @out. */
static gboolean
parse_vector (const char *text, guint dim, float *out)
{
  const char *p = text;
  guint n = 0;

  if (p == NULL)
    return FALSE;
  while (g_ascii_isspace (*p))
    p++;
  if (*p++ != '[')
    return FALSE;
  for (;;) {
    char *end;
    double v;

    while (g_ascii_isspace (*p))
      p++;
    v = g_ascii_strtod (p, &end);
    if (end == p || n >= dim || !isfinite (v))
      return FALSE;
    out[n++] = (float) v;
    p = end;
    while (g_ascii_isspace (*p))
      p++;
    if (*p == ']')
      break;
    if (*p++ != ',')
      return FALSE;
  }
  return n == dim;
}

/* *INDENT-OFF* */
static gboolean
json_error (GError ** error, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* *INDENT-ON* */

static gboolean
json_error (GError ** error, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
      "cannot import: %s", msg);
  return FALSE;
}


/* *INDENT-OFF* */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3, sqlite3_close_v2)
/* *INDENT-ON* */

/* What the parser reads and checks the export against. */
typedef struct
{
  sqlite3 *db;                  /* private, in memory, for json_*() */
  const char *path;
  const char *fingerprint;
  const char *metric;
  guint dim;
  const char *json;
  gsize length;
  gboolean has_threshold;       /* the export carries a calibration */
  double threshold;
} Parse;

static sqlite3 *
open_parser (const char *path, GError ** error)
{
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (":memory:", &db, SQLITE_OPEN_READWRITE, NULL)
      != SQLITE_OK) {
    fv_sqlite_set_error (error, db, SQLITE_CANTOPEN, path, "read the JSON");
    sqlite3_close_v2 (db);
    return NULL;
  }
  return db;
}

/* The calibrated threshold (column @col: its JSON type, then its value):
 * missing or null is none (exports made before it was carried); anything
 * but a number in [-1, 1] is refused. */
static gboolean
parse_threshold (Parse * p, sqlite3_stmt * stmt, int col, GError ** error)
{
  const char *type = (const char *) sqlite3_column_text (stmt, col);
  double v;

  p->has_threshold = FALSE;
  if (type == NULL || strcmp (type, "null") == 0)
    return TRUE;
  if (strcmp (type, "real") != 0 && strcmp (type, "integer") != 0)
    return json_error (error, "\"match_threshold\" is not a number (%s)", type);
  v = sqlite3_column_double (stmt, col + 1);
  if (!isfinite (v) || v < -1.0 || v > 1.0)
    return json_error (error, "\"match_threshold\" is not a number in "
        "[-1, 1] (%g)", v);
  p->has_threshold = TRUE;
  p->threshold = v;
  return TRUE;
}

/* Checks the export's format, version, model, metric and dimension. */
static gboolean
parse_header (Parse * p, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (p->db, p->path,
      "SELECT json_valid (?1), json_extract (?1, '$.format'),"
      " json_extract (?1, '$.version'), json_extract (?1, '$.model_sha256'),"
      " json_extract (?1, '$.dim'), json_extract (?1, '$.metric'),"
      " json_type (?1, '$.identities'), json_type (?1, '$.match_threshold'),"
      " json_extract (?1, '$.match_threshold')", "read the JSON", error);
  const char *format, *fp, *metric, *type;
  gint64 version, dim;

  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, p->json, (int) p->length, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int (stmt, 0) != 1)
    return json_error (error, "not well-formed JSON");
  format = (const char *) sqlite3_column_text (stmt, 1);
  version = sqlite3_column_int64 (stmt, 2);
  fp = (const char *) sqlite3_column_text (stmt, 3);
  dim = sqlite3_column_int64 (stmt, 4);
  metric = (const char *) sqlite3_column_text (stmt, 5);
  type = (const char *) sqlite3_column_text (stmt, 6);
  if (g_strcmp0 (format, JSON_FORMAT) != 0)
    return json_error (error, "not a gst-faceverify gallery export (\"format\""
        " is not \"" JSON_FORMAT "\")");
  if (version != JSON_VERSION)
    return json_error (error, "export format version %" G_GINT64_FORMAT
        " is not supported (this gst-faceverify reads version %d)", version,
        JSON_VERSION);
  if (fp == NULL || g_ascii_strcasecmp (fp, p->fingerprint) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "cannot import: the export was made with another model (SHA-256 "
        "%.16s…) than the gallery %s (%.16s…)", fp ? fp : "none", p->path,
        p->fingerprint);
    return FALSE;
  }
  if (g_strcmp0 (metric, p->metric) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "cannot import: the export uses the metric \"%s\", the gallery %s "
        "\"%s\"", metric ? metric : "none", p->path, p->metric);
    return FALSE;
  }
  if (dim != (gint64) p->dim) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_DIM_MISMATCH,
        "cannot import: the export holds %" G_GINT64_FORMAT "-dimensional "
        "embeddings, the gallery %s %u-dimensional ones", dim, p->path, p->dim);
    return FALSE;
  }
  if (g_strcmp0 (type, "array") != 0)
    return json_error (error, "\"identities\" is not an array");
  return parse_threshold (p, stmt, 7, error);
}

/* The identity columns of a row of parse_identities()' query. */
static ImportIdentity *
parse_identity (sqlite3_stmt * stmt, gint64 key, gint64 now, GError ** error)
{
  const char *label = (const char *) sqlite3_column_text (stmt, 2);
  ImportIdentity *ii;

  if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 1), "object") != 0) {
    json_error (error, "identity %" G_GINT64_FORMAT " is not an object", key);
    return NULL;
  }
  if (label == NULL || sqlite3_column_type (stmt, 2) != SQLITE_TEXT) {
    json_error (error, "identity %" G_GINT64_FORMAT " has no label", key);
    return NULL;
  }
  if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 6), "array") != 0) {
    json_error (error, "identity \"%s\" has no \"samples\" array", label);
    return NULL;
  }
  ii = g_new0 (ImportIdentity, 1);
  ii->label = g_strdup (label);
  ii->display_name = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  ii->embeddings = g_array_new (FALSE, FALSE, sizeof (float));
  ii->quality = g_array_new (FALSE, FALSE, sizeof (float));
  ii->sources = g_ptr_array_new_with_free_func (g_free);
  ii->sample_created = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (!column_time (stmt, 4, now, &ii->created)
      || !column_time (stmt, 5, ii->created, &ii->updated)) {
    json_error (error, "identity \"%s\" has an invalid time", label);
    import_identity_free (ii);
    return NULL;
  }
  return ii;
}

/* The sample columns of a row of parse_identities()' query. */
static gboolean
parse_sample (Parse * p, sqlite3_stmt * stmt, ImportIdentity * ii,
    GError ** error)
{
  float quality = -1.0f;
  gint64 t;
  int type = sqlite3_column_type (stmt, 10);

  if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 8), "object") != 0)
    return json_error (error, "a sample of \"%s\" is not an object", ii->label);
  g_array_set_size (ii->embeddings, ii->embeddings->len + p->dim);
  if (!parse_vector ((const char *) sqlite3_column_text (stmt, 9), p->dim,
          &g_array_index (ii->embeddings, float, ii->embeddings->len - p->dim)))
      return json_error (error, "a sample of \"%s\" has no embedding of %u "
        "finite numbers", ii->label, p->dim);
  if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
    quality = (float) sqlite3_column_double (stmt, 10);
  else if (type != SQLITE_NULL)
    return json_error (error, "a sample of \"%s\" has a quality that is not"
        " a number", ii->label);
  g_array_append_val (ii->quality, quality);
  g_ptr_array_add (ii->sources,
      g_strdup ((const char *) sqlite3_column_text (stmt, 11)));
  if (!column_time (stmt, 12, ii->updated, &t))
    return json_error (error, "a sample of \"%s\" has an invalid time",
        ii->label);
  g_array_append_val (ii->sample_created, t);
  return TRUE;
}

/* Parses the identities of the export into @out (ImportIdentity *). */
static gboolean
parse_identities (Parse * p, GPtrArray * out, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (p->db, p->path,
      "SELECT i.key, json_type (i.value),"
      "  json_extract (i.value, '$.label'),"
      "  json_extract (i.value, '$.display_name'),"
      "  json_extract (i.value, '$.created'),"
      "  json_extract (i.value, '$.updated'),"
      "  json_type (i.value, '$.samples'),"
      "  s.key, json_type (s.value),"
      "  json_extract (s.value, '$.embedding'),"
      "  json_extract (s.value, '$.quality'),"
      "  json_extract (s.value, '$.source'),"
      "  json_extract (s.value, '$.created')"
      " FROM json_each (?1, '$.identities') AS i"
      " LEFT JOIN json_each (CASE json_type (i.value) WHEN 'object'"
      "   THEN i.value ELSE '{}' END, '$.samples') AS s", "read the JSON",
      error);
  gint64 now = fv_gallery_now (), current = -1;
  ImportIdentity *ii = NULL;
  int rc;

  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, p->json, (int) p->length, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 key = sqlite3_column_int64 (stmt, 0);

    if (key != current) {
      current = key;
      ii = parse_identity (stmt, key, now, error);
      if (ii == NULL)
        return FALSE;
      g_ptr_array_add (out, ii);
    }
    if (sqlite3_column_type (stmt, 7) == SQLITE_NULL)
      continue;                 /* no samples: reported by the enrollment */
    if (!parse_sample (p, stmt, ii, error))
      return FALSE;
  }
  if ((rc & 0xff) == SQLITE_ERROR || (rc & 0xff) == SQLITE_TOOBIG)
    return json_error (error, "%s", sqlite3_errmsg (p->db));
  return fv_sqlite_finish_rows (stmt, rc, p->db, p->path, "read the JSON",
      error);
}

/**
 * fv_gallery_json_get_model:
 * @json: (array length=length): text written by fv_gallery_export_json()
 * @length: its length, or -1 if it is nul-terminated
 * @model_fingerprint: (out) (transfer full): the model's SHA-256
 * @dim: (out): the embedding dimension
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Reads which model and dimension an export was made with, e.g. to create
 * the gallery it is imported into.
 *
 * Returns: %TRUE on success, %FALSE with %FV_GALLERY_ERROR_INVALID if the
 *   text is not such an export
 */
gboolean
fv_gallery_json_get_model (const char *json, gssize length,
    char **model_fingerprint, guint * dim, GError ** error)
{
  g_autoptr (sqlite3) db = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  const char *format, *fp;
  gint64 d;

  g_return_val_if_fail (json != NULL, FALSE);
  g_return_val_if_fail (model_fingerprint != NULL && dim != NULL, FALSE);

  if (length < 0)
    length = (gssize) strlen (json);
  if ((gsize) length > (gsize) G_MAXINT32 / 2)
    return json_error (error, "the JSON text is too large (%" G_GSSIZE_FORMAT
        " bytes)", length);
  db = open_parser ("(memory)", error);
  if (!db)
    return FALSE;
  if (sqlite3_prepare_v2 (db, "SELECT json_valid (?1),"
          " json_extract (?1, '$.format'),"
          " json_extract (?1, '$.model_sha256'),"
          " json_extract (?1, '$.dim')", -1, &stmt, NULL) != SQLITE_OK) {
    fv_sqlite_set_error (error, db, SQLITE_ERROR, "(memory)", "read the JSON");
    return FALSE;
  }
  sqlite3_bind_text (stmt, 1, json, (int) length, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int (stmt, 0) != 1)
    return json_error (error, "not well-formed JSON");
  format = (const char *) sqlite3_column_text (stmt, 1);
  fp = (const char *) sqlite3_column_text (stmt, 2);
  d = sqlite3_column_int64 (stmt, 3);
  if (g_strcmp0 (format, JSON_FORMAT) != 0)
    return json_error (error, "not a gst-faceverify gallery export "
        "(\"format\" is not \"" JSON_FORMAT "\")");
  if (fp == NULL || *fp == '\0' || d <= 0 || d > FV_GALLERY_MAX_DIM)
    return json_error (error, "the export names no model or dimension");
  *model_fingerprint = g_strdup (fp);
  *dim = (guint) d;
  return TRUE;
}

/* Parses and checks the whole export into @items (ImportIdentity *). */
static gboolean
parse_import (FvGallery * gallery, const char *json, gsize length,
    GPtrArray * items, gboolean * has_threshold, double *threshold,
    GError ** error)
{
  g_autoptr (sqlite3) db = NULL;
  g_autofree char *shown = fv_gallery_location_redact (fv_gallery_get_path
      (gallery));
  Parse p = { NULL, shown,
    fv_gallery_get_model_fingerprint (gallery),
    fv_gallery_get_metric (gallery), fv_gallery_get_dim (gallery), json,
    length
  };
  guint i;

  if (length > (gsize) G_MAXINT32 / 2)
    return json_error (error, "the JSON text is too large (%" G_GSIZE_FORMAT
        " bytes)", length);
  db = p.db = open_parser (p.path, error);
  if (!db || !parse_header (&p, error) || !parse_identities (&p, items, error))
    return FALSE;
  *has_threshold = p.has_threshold;
  *threshold = p.threshold;
  for (i = 0; i < items->len; i++) {
    ImportIdentity *ii = items->pdata[i];

    if (!fv_gallery_check_label (ii->label, error)
        || !fv_gallery_check_display_name (ii->display_name, error))
      return FALSE;
    if (ii->quality->len == 0) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "cannot import: identity \"%s\" has no samples", ii->label);
      return FALSE;
    }
  }
  return TRUE;
}

/**
 * fv_gallery_import_json:
 * @gallery: a gallery opened for writing
 * @json: (array length=length): text written by fv_gallery_export_json()
 * @length: its length, or -1 if it is nul-terminated
 * @flags: what to do with labels that are already in the gallery
 *   (%FV_GALLERY_ENROLL_NEW_ONLY: the import fails and changes nothing)
 * @n_identities: (out) (optional): how many identities were imported
 * @n_samples: (out) (optional): how many samples
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Adds the identities of an export to the gallery, in one transaction,
 * keeping their times, and its `match_threshold` when it has one (the
 * gallery's calibrated threshold, see fv_gallery_set_default_threshold();
 * an export without one, as written before it was carried, leaves the
 * gallery's as it is). The export must be of the gallery's model,
 * dimension and metric (%FV_GALLERY_ERROR_MODEL_MISMATCH,
 * %FV_GALLERY_ERROR_DIM_MISMATCH); malformed text, including a
 * `match_threshold` that is not a number in [-1, 1], is
 * %FV_GALLERY_ERROR_INVALID and changes nothing.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_import_json (FvGallery * gallery, const char *json,
    gssize length, FvGalleryEnrollFlags flags, guint * n_identities,
    guint * n_samples, GError ** error)
{
  g_autoptr (GPtrArray) items = NULL;
  g_autoptr (GArray) identities = NULL;
  g_autoptr (GArray) samples = NULL;
  FvGalleryStore *store;
  const guint dim = fv_gallery_get_dim (gallery);
  guint i, k, total = 0;
  gboolean ok, has_threshold = FALSE;
  double threshold = 0.0;

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (json != NULL, FALSE);
  g_return_val_if_fail (flags <= FV_GALLERY_ENROLL_NEW_ONLY, FALSE);

  if (!fv_gallery_check_writable (gallery, error))
    return FALSE;
  if (length < 0)
    length = (gssize) strlen (json);
  items = g_ptr_array_new_with_free_func ((GDestroyNotify)
      import_identity_free);
  if (!parse_import (gallery, json, (gsize) length, items, &has_threshold,
          &threshold, error))
    return FALSE;

  for (i = 0; i < items->len; i++)
    total += ((ImportIdentity *) items->pdata[i])->quality->len;
  identities = g_array_sized_new (FALSE, TRUE, sizeof (FvGalleryStoreIdentity),
      items->len);
  samples = g_array_sized_new (FALSE, TRUE, sizeof (FvGallerySample), total);
  for (i = 0; i < items->len; i++) {
    ImportIdentity *ii = items->pdata[i];
    FvGalleryStoreIdentity e = { ii->label, ii->display_name, NULL,
      ii->quality->len, ii->created, ii->updated,
      (const gint64 *) ii->sample_created->data
    };

    for (k = 0; k < ii->quality->len; k++) {
      FvGallerySample s = { &g_array_index (ii->embeddings, float,
            (gsize) (k) * dim), g_array_index (ii->quality, float, k),
        ii->sources->pdata[k]
      };

      g_array_append_val (samples, s);
    }
    g_array_append_val (identities, e);
  }
  /* The samples array no longer grows: point each identity at its own. */
  for (i = 0, k = 0; i < identities->len; i++) {
    FvGalleryStoreIdentity *e = &g_array_index (identities,
        FvGalleryStoreIdentity, i);

    e->samples = &g_array_index (samples, FvGallerySample, k);
    k += e->n_samples;
  }

  store = fv_gallery_lock_store (gallery);
  ok = fv_gallery_store_enroll_calibrated (store,
      (const FvGalleryStoreIdentity *) identities->data, identities->len,
      flags, "import", has_threshold ? &threshold : NULL, error);
  fv_gallery_unlock_store (gallery);
  if (!ok)
    return FALSE;
  if (n_identities)
    *n_identities = items->len;
  if (n_samples)
    *n_samples = total;
  return TRUE;
}

/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-store.h: the storage boundary of the gallery. The handle
 * (fv-gallery.c), the JSON code, the watch and the snapshot builder talk to
 * a store only through FvGalleryStoreClass; SQLite (fv-gallery-sqlite*.c) is
 * one implementation, and another backend plugs in beside it by providing
 * its own class and a test in fv_gallery_store_class_for().
 */
#ifndef FV_GALLERY_STORE_H
#define FV_GALLERY_STORE_H

#include "gallery/fv-gallery-private.h"

G_BEGIN_DECLS

#define FV_GALLERY_MAX_DIM 65536
#define FV_GALLERY_MAX_DISPLAY_NAME 1024

/* An internal open flag (read-only only): skip the schema allow-list, so
 * that fv_gallery_check_file() and fv_gallery_repair() can read the data
 * of a gallery that every other open refuses. Reading runs no trigger. */
#define FV_GALLERY_OPEN_SALVAGE ((FvGalleryOpenFlags) (1 << 8))

typedef struct _FvGalleryStore FvGalleryStore;
typedef struct _FvGalleryStoreClass FvGalleryStoreClass;

/* What a location looks like from outside, without opening it: two equal
 * stamps mean that nothing replaced or rewrote it in between. A backend
 * without files reports exists=TRUE and zeros (its changes show in
 * poll()). */
typedef struct
{
  gboolean exists;
  guint64 dev;
  guint64 ino;
  gint64 mtime_ns;
  gint64 size;
} FvGalleryStamp;

/* The answer of poll(), cheapest first. */
typedef enum
{
  FV_GALLERY_STORE_UNCHANGED,
  FV_GALLERY_STORE_CHANGED,     /* load() would read something new */
  FV_GALLERY_STORE_REPLACED,    /* the location names another store: reopen */
} FvGalleryStoreChange;

/* One identity to write: the public enrollment plus the times an import
 * keeps (created and updated; sample_created may be NULL: updated). */
typedef struct
{
  const char *label;
  const char *display_name;
  const FvGallerySample *samples;
  guint n_samples;
  gint64 created;
  gint64 updated;
  const gint64 *sample_created;
} FvGalleryStoreIdentity;

/* What update() changes. */
typedef enum
{
  FV_GALLERY_STORE_LABEL,
  FV_GALLERY_STORE_DISPLAY_NAME,
} FvGalleryStoreField;

/* A stored sample as foreach_sample() hands it out: the quality as
 * recorded (a double, or none), the embedding normalised. */
typedef struct
{
  gint64 id;
  gboolean has_quality;
  double quality;
  const char *source;
  gint64 created;
  const float *embedding;
} FvGalleryStoreSample;

/* Called by foreach_sample() for every sample, identities sorted by label
 * and samples by id; @sample is NULL once for an identity without any.
 * FALSE stops with @error set. */
typedef gboolean (*FvGalleryStoreVisit) (const FvGalleryIdentity * identity,
    const FvGalleryStoreSample * sample, gpointer user_data, GError ** error);

/* What every store fills in on open. The handle serialises all calls on a
 * store (one at a time); poll() is only called when no other call runs. */
struct _FvGalleryStore
{
  const FvGalleryStoreClass *klass;
  char *location;
  gboolean read_only;
  char *fingerprint;            /* lower-case hex */
  guint dim;
  char *metric;
  guint schema_version;
};

struct _FvGalleryStoreClass
{
  const char *name;
  /* A database server rather than a file: its stamp never moves, so the
   * watch retries a failed open with a back-off instead of waiting for
   * the stamp to change. */
  gboolean remote;

  /* The location's stamp; FALSE (and exists=FALSE) when there is none. */
  gboolean (*stat) (const char *location, FvGalleryStamp * stamp);
  /* Opens and checks as fv_gallery_open() documents. A store that waits
   * on a server gives up its waits (fails with IO) once *@cancel
   * (nullable; read atomically, for as long as the store lives) is
   * non-zero. */
  FvGalleryStore *(*open) (const char *location, FvGalleryOpenFlags flags,
      const char *fingerprint, guint dim, const gint * cancel,
      GError ** error);
  void (*close) (FvGalleryStore * store);

  /* Change detection, allocation-free: compares with the last load(). */
  FvGalleryStoreChange (*poll) (FvGalleryStore * store);
  /* Reads everything into a new snapshot (with fv_gallery_snapshot_build_*)
   * in one read transaction and remembers what it read for poll().
   * @previous (nullable) is the snapshot in use, for a backend that can
   * apply changes incrementally. */
  FvGallerySnapshot *(*load) (FvGalleryStore * store,
      FvGallerySnapshot * previous, GError ** error);

  /* Reading, each in one read transaction. list() with a @label lists
   * only that one (an empty array when it is not there). */
  GPtrArray *(*list) (FvGalleryStore * store, const char *label,
      GError ** error);
  GPtrArray *(*get_samples) (FvGalleryStore * store, const char *label,
      GError ** error);
  gboolean (*foreach_sample) (FvGalleryStore * store,
      FvGalleryStoreVisit visit, gpointer user_data, GError ** error);
  /* The stored text of the metadata key @key into *@value (NULL when the
   * key is not there; free it). Also on a salvage store. */
  gboolean (*get_meta) (FvGalleryStore * store, const char *key,
      char **value, GError ** error);

  /* Changes: fv_gallery_store_enroll(), _remove() and _update() (below)
   * run these statements inside begin_write() .. commit_write(), and
   * rollback_write() on any error (also after a failed begin_write()).
   * begin_write() fails with READ_ONLY on a store opened read-only where
   * the server would take the write; commit_write() makes the change
   * visible to poll() and to the other processes. */
  gboolean (*begin_write) (FvGalleryStore * store, const char *what,
      GError ** error);
  gboolean (*commit_write) (FvGalleryStore * store, const char *what,
      GError ** error);
  void (*rollback_write) (FvGalleryStore * store);
  /* Writes one identity and its samples as enroll() documents; sets
   * *@identity_id (nullable) to the identity's id. */
  gboolean (*enroll_one) (FvGalleryStore * store,
      const FvGalleryStoreIdentity * identity, FvGalleryEnrollFlags flags,
      const char *what, gint64 * identity_id, GError ** error);
  /* Optional: enrolls @n identities in order with the result of calling
   * enroll_one() on each (and *@identity_id set to the last one's id),
   * in fewer round trips. NULL: enroll_one() is called for each. */
  gboolean (*enroll_many) (FvGalleryStore * store,
      const FvGalleryStoreIdentity * identities, guint n,
      FvGalleryEnrollFlags flags, const char *what, gint64 * identity_id,
      GError ** error);
  /* The id of @label, or 0 if it is not in the gallery; -1 on error. */
  gint64 (*lookup_identity) (FvGalleryStore * store, const char *label,
      const char *what, GError ** error);
  /* Runs @sql with the parameter @id. */
  gboolean (*run_on_id) (FvGalleryStore * store, const char *sql, gint64 id,
      const char *what, GError ** error);
  /* Runs @sql with the parameters (@label, @value, now); *@changed is
   * FALSE when it changed no row. Fails with EXISTS (any message) on a
   * unique constraint. */
  gboolean (*run_on_label) (FvGalleryStore * store, const char *sql,
      const char *label, const char *value, const char *what,
      gboolean * changed, GError ** error);
  /* The statements of remove (with an identity's id) and update (with
   * label, new value and time), in the backend's dialect. The samples go
   * explicitly, whatever the foreign keys say. */
  const char *delete_samples_sql;
  const char *delete_identity_sql;
  const char *set_label_sql;
  const char *set_display_name_sql;
  /* Sets a metadata key (and KEY_updated to the time), with the
   * parameters of run_on_label(): (key, value, now). */
  const char *set_meta_sql;
};

extern const FvGalleryStoreClass fv_gallery_sqlite_class;
#if FV_HAVE_LIBPQ
extern const FvGalleryStoreClass fv_gallery_pg_class;
#endif

/* The backend that serves @location (a libpq URI: PostgreSQL; a path:
 * SQLite). */
const FvGalleryStoreClass *fv_gallery_store_class_for (const char *location);
/* Fills in what every open() starts with: the class, @location (taken)
 * and read_only (neither CREATE nor READ_WRITE in @flags). */
void fv_gallery_store_init (FvGalleryStore * store,
    const FvGalleryStoreClass * klass, char *location,
    FvGalleryOpenFlags flags);
void fv_gallery_store_free_base (FvGalleryStore * store);
gboolean fv_gallery_stamp_equal (const FvGalleryStamp * a,
    const FvGalleryStamp * b);

/* Changes (fv-gallery-store.c), each one transaction that leaves the
 * store as it was on error; NOT_FOUND when the label is not there, EXISTS
 * when taken. enroll() normalises the embeddings with
 * fv_gallery_check_embedding() and sets @identity_id to the last
 * identity's id; @what names the change in messages ("enroll",
 * "import"). */
gboolean fv_gallery_store_enroll (FvGalleryStore * store,
    const FvGalleryStoreIdentity * identities, guint n_identities,
    FvGalleryEnrollFlags flags, const char *what, gint64 * identity_id,
    GError ** error);
/* enroll() and, when @threshold is not NULL, the calibrated threshold in
 * the same transaction (INVALID, before any change, when it is not a
 * number in [-1, 1]): an import or a repair that keeps it. */
gboolean fv_gallery_store_enroll_calibrated (FvGalleryStore * store,
    const FvGalleryStoreIdentity * identities, guint n_identities,
    FvGalleryEnrollFlags flags, const char *what, const double *threshold,
    GError ** error);
gboolean fv_gallery_store_remove (FvGalleryStore * store, const char *label,
    GError ** error);
gboolean fv_gallery_store_update (FvGalleryStore * store, const char *label,
    FvGalleryStoreField field, const char *value, GError ** error);

/* The metadata key of the calibrated match threshold (a decimal number
 * in [-1, 1], written with "%.6f" in the C locale). */
#define FV_GALLERY_META_THRESHOLD "match_threshold"

/* Sets the metadata key @key to @value in one transaction (bumping the
 * generation, so that watchers reload). */
gboolean fv_gallery_store_set_meta (FvGalleryStore * store, const char *key,
    const char *value, GError ** error);
/* Parses a stored threshold: FALSE unless a finite number in [-1, 1]. */
gboolean fv_gallery_parse_threshold (const char *text, double *value);
/* The stored text of a threshold, in @buf. */
const char *fv_gallery_format_threshold (double threshold,
    char buf[G_ASCII_DTOSTR_BUF_SIZE]);
/* The calibrated threshold as stored now (get_meta()): *@has FALSE when
 * there is none; CORRUPT when the stored text is not a threshold. */
gboolean fv_gallery_store_get_threshold (FvGalleryStore * store,
    gboolean * has, double *threshold, GError ** error);

/* Checks the metadata a store read (model_sha256, dim, metric) against
 * what the caller wants and fills in the store's fingerprint, dim and
 * metric; the same errors for every backend. @version: the schema version
 * read with it, below 2 counts as damaged; -1 where the backend checks the
 * version on its own. */
gboolean fv_gallery_store_check_meta (FvGalleryStore * store,
    GHashTable * meta, gint64 version, const char *want_fingerprint,
    guint want_dim, GError ** error);

/* fv_gallery_open() with a cancel flag for the store (see open() above),
 * for the watch. */
FvGallery *fv_gallery_open_cancellable (const char *path,
    FvGalleryOpenFlags flags, const char *model_fingerprint, guint dim,
    const gint * cancel, GError ** error);

/* The handle, for the JSON code: its store under the handle's lock. */
FvGalleryStore *fv_gallery_lock_store (FvGallery * gallery);
void fv_gallery_unlock_store (FvGallery * gallery);
gboolean fv_gallery_check_writable (FvGallery * gallery, GError ** error);

/* Argument checks shared by the handle, the JSON import and the stores. */
gboolean fv_gallery_check_text (const char *what, const char *text,
    gsize max_bytes, GError ** error);
gboolean fv_gallery_check_label (const char *label, GError ** error);
gboolean fv_gallery_check_display_name (const char *name, GError ** error);
gboolean fv_gallery_check_embedding (const float *embedding, guint dim,
    float *unit, GError ** error);
gint64 fv_gallery_now (void);

/* Stored embeddings: float32 little-endian. decode() normalises and fails
 * with CORRUPT, naming the sample, on a wrong size or a non-finite or zero
 * vector. */
void fv_gallery_encode_embedding (const float *src, guint dim, guint8 * dst);
/* What a store writes for one sample: the embedding checked (as
 * fv_gallery_check_embedding()) and encoded into @blob (dim * 4 bytes;
 * @unit is scratch for dim floats), *@source the source as valid UTF-8 or
 * NULL (free it), *@has_quality whether the quality is a number to
 * store. */
gboolean fv_gallery_store_encode_sample (const FvGallerySample * sample,
    guint dim, float *unit, guint8 * blob, char **source,
    gboolean * has_quality, GError ** error);
gboolean fv_gallery_decode_embedding (const FvGalleryStore * store,
    gint64 sample_id, const void *blob, gsize bytes, float *dst,
    GError ** error);

/* Builds a snapshot from a store's rows (fv-gallery-snapshot.c): first
 * every identity in ascending id order, then each sample's identity id
 * (count), then layout(), then every sample (add, any order), then
 * finish(). Samples of unknown identities are skipped; identities without
 * samples are left out. */
typedef struct _FvGallerySnapshotBuild FvGallerySnapshotBuild;

FvGallerySnapshotBuild *fv_gallery_snapshot_build_new (const FvGalleryStore *
    store);
void fv_gallery_snapshot_build_identity (FvGallerySnapshotBuild * b,
    gint64 id, const char *label, const char *display_name);
gboolean fv_gallery_snapshot_build_count (FvGallerySnapshotBuild * b,
    gint64 identity_id, GError ** error);
void fv_gallery_snapshot_build_layout (FvGallerySnapshotBuild * b,
    guint64 generation);
gboolean fv_gallery_snapshot_build_sample (FvGallerySnapshotBuild * b,
    gint64 identity_id, gint64 sample_id, const void *blob, gsize bytes,
    GError ** error);
/* The stored text of the calibrated threshold (NULL: none); any time
 * before finish(). CORRUPT when it is not a threshold. */
gboolean fv_gallery_snapshot_build_threshold (FvGallerySnapshotBuild * b,
    const char *text, GError ** error);
FvGallerySnapshot *fv_gallery_snapshot_build_finish (FvGallerySnapshotBuild *
    b, GError ** error);
void fv_gallery_snapshot_build_free (FvGallerySnapshotBuild * b);

/* An incremental load: a new snapshot made of @old without the identities
 * in @changed (ascending ids: those that a store's change log names) and
 * with @delta, built as above from the current rows of just those
 * identities (any of them may be gone). Identities stay in ascending id
 * order and each one's rows as @delta or @old had them, so the result
 * equals a full load of the same generation. @old must have no skipped
 * rows (a full load is due then); the result has @delta's skipped rows,
 * generation and n_fetched. Takes neither. */
FvGallerySnapshot *fv_gallery_snapshot_merge (FvGallerySnapshot * old,
    const gint64 * changed, guint n_changed, FvGallerySnapshot * delta);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvGallerySnapshotBuild,
    fv_gallery_snapshot_build_free)

G_END_DECLS

#endif /* FV_GALLERY_STORE_H */

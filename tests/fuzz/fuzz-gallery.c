/* libFuzzer target for gallery files (src/gallery): a gallery is untrusted
 * input, for writers as much as for readers.
 *
 * Every input is written to a private file and opened read-only (reload,
 * list, samples of the first identity, export, check) and read-write (an
 * enrolment, a removal, a reload, repair into a new file). Errors must be
 * FV_GALLERY_ERROR with a message; a critical or warning from GLib is a
 * crash. Everything is freed before returning, so LeakSanitizer sees a
 * leak on any path.
 *
 *   build-san/tests/fuzz/fuzz-gallery -max_total_time=30 CORPUS_DIR
 *
 * Seeds: FV_FUZZ_GALLERY_SEEDS=DIR build-san/tests/fuzz/fuzz-gallery
 * writes a few galleries (schema 2, schema 1, with a trigger, with a view)
 * into DIR and exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "fv.h"

#define DIM 8

static const char fingerprint[] =
    "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b";

static char *work_dir;

static void
check_error (GError * error)
{
  if (!error || error->domain != FV_GALLERY_ERROR || !error->message[0])
    __builtin_trap ();
}

static void
remove_gallery (const char *path)
{
  char *wal = g_strconcat (path, "-wal", NULL);
  char *shm = g_strconcat (path, "-shm", NULL);

  g_unlink (wal);
  g_unlink (shm);
  g_unlink (path);
  g_free (wal);
  g_free (shm);
}

static void
read_everything (FvGallery * g)
{
  GError *error = NULL;
  GPtrArray *list;
  char *json;

  if (fv_gallery_reload (g, &error)) {
    FvGallerySnapshot *s = fv_gallery_get_snapshot (g);
    float q[DIM] = { 1, 0, 0, 0, 0, 0, 0, 0 };
    guint dim = fv_gallery_snapshot_get_dim (s), i;
    float *query = g_new0 (float, MAX (dim, 1));
    FvGalleryMatch m;

    memcpy (query, q, MIN (dim, DIM) * sizeof (float));
    for (i = 0; i < fv_gallery_snapshot_get_n_skipped (s); i++)
      if (!fv_gallery_snapshot_get_skipped (s, i))
        __builtin_trap ();
    fv_gallery_snapshot_match (s, query, 1, 0.5f, 0.05f, &m);
    if (m.known && m.label == NULL)
      __builtin_trap ();
    g_free (query);
    fv_gallery_snapshot_unref (s);
  } else {
    check_error (error);
    g_clear_error (&error);
  }
  list = fv_gallery_list (g, &error);
  if (list) {
    if (list->len > 0) {
      FvGalleryIdentity *id = list->pdata[0];
      GPtrArray *samples = fv_gallery_get_samples (g, id->label, &error);

      if (samples)
        g_ptr_array_unref (samples);
      else
        check_error (error);
      g_clear_error (&error);
    }
    g_ptr_array_unref (list);
  } else {
    check_error (error);
    g_clear_error (&error);
  }
  json = fv_gallery_export_json (g, NULL, &error);
  if (!json)
    check_error (error);
  g_clear_error (&error);
  g_free (json);
}

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

static char *path, *copy, *repaired;

/* The private folder goes when the fuzzer exits. */
static void
remove_work_dir (void)
{
  remove_gallery (path);
  remove_gallery (copy);
  remove_gallery (repaired);
  g_rmdir (work_dir);
}

static void
make_seed (const char *dir, const char *name, const char *extra_sql,
    gboolean v1)
{
  char *seed_path = g_build_filename (dir, name, NULL);
  GError *error = NULL;
  FvGallery *g;
  sqlite3 *db;
  float v[2][DIM] = { {1, 0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0, 0} };
  FvGallerySample s[2] = { {v[0], 0.9f, "a.png"}, {v[1], -1.0f, NULL} };

  remove_gallery (seed_path);
  if (v1) {
    if (sqlite3_open (seed_path, &db) != SQLITE_OK)
      exit (1);
    sqlite3_exec (db, "PRAGMA page_size = 512;"
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT "
        "NULL);"
        "CREATE TABLE identities (id INTEGER PRIMARY KEY, label TEXT NOT NULL"
        " UNIQUE, created INTEGER NOT NULL);"
        "CREATE TABLE samples (id INTEGER PRIMARY KEY, identity_id INTEGER "
        "NOT NULL REFERENCES identities (id) ON DELETE CASCADE, embedding "
        "BLOB NOT NULL, created INTEGER NOT NULL);"
        "CREATE INDEX samples_by_identity ON samples (identity_id);"
        "INSERT INTO meta VALUES ('format', 'gst-faceverify-gallery'),"
        " ('dim', '8'), ('metric', 'cosine'), ('generation', '1'),"
        " ('model_sha256', 'd8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d"
        "34da0bc8a760443b');"
        "INSERT INTO identities VALUES (1, 'ada', 1000);"
        "INSERT INTO samples VALUES (1, 1, x'0000803f00000000000000000000000"
        "0000000000000000000000000000000000', 1000);"
        "PRAGMA user_version = 1;", NULL, NULL, NULL);
    sqlite3_close (db);
    g_free (seed_path);
    return;
  }
  if (sqlite3_open (seed_path, &db) != SQLITE_OK)
    exit (1);
  sqlite3_exec (db, "PRAGMA page_size = 512", NULL, NULL, NULL);
  sqlite3_close (db);
  g = fv_gallery_open (seed_path, FV_GALLERY_OPEN_CREATE, fingerprint, DIM,
      &error);
  if (!g
      || !fv_gallery_enroll (g, "ada", "Ada L.", s, 2, FV_GALLERY_ENROLL_APPEND,
          NULL, &error)
      || !fv_gallery_enroll (g, "grace", NULL, s + 1, 1,
          FV_GALLERY_ENROLL_APPEND, NULL, &error)) {
    fprintf (stderr, "fuzz-gallery: cannot make a seed: %s\n",
        error ? error->message : "?");
    exit (1);
  }
  fv_gallery_free (g);
  if (sqlite3_open (seed_path, &db) != SQLITE_OK)
    exit (1);
  /* One file, no WAL: what a copied gallery looks like. */
  sqlite3_exec (db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
  if (extra_sql)
    sqlite3_exec (db, extra_sql, NULL, NULL, NULL);
  sqlite3_close (db);
  g_free (seed_path);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  const char *seeds = g_getenv ("FV_FUZZ_GALLERY_SEEDS");

  (void) argc;
  (void) argv;
  if (seeds) {
    g_mkdir_with_parents (seeds, 0755);
    make_seed (seeds, "gallery.db", NULL, FALSE);
    make_seed (seeds, "gallery-v1.db", NULL, TRUE);
    make_seed (seeds, "gallery-trigger.db", "CREATE TRIGGER wipe AFTER "
        "INSERT ON samples BEGIN DELETE FROM identities; END", FALSE);
    make_seed (seeds, "gallery-view.db", "CREATE VIEW v AS SELECT label FROM "
        "identities", FALSE);
    exit (0);
  }
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *error = NULL;
  GPtrArray *problems;
  FvGallery *g;

  if (work_dir == NULL) {
    /* The library never logs on bad input: a critical or warning (a
     * g_return_if_fail that fired) is a bug, so make it a crash. */
    g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    /* tmpfs when there is one: the writes sync (synchronous=FULL). */
    if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR)) {
      work_dir = g_strdup ("/dev/shm/fuzz-gallery-XXXXXX");
      if (!g_mkdtemp (work_dir))
        g_clear_pointer (&work_dir, g_free);
    }
    if (!work_dir)
      work_dir = g_dir_make_tmp ("fuzz-gallery-XXXXXX", NULL);
    if (!work_dir)
      abort ();
    path = g_build_filename (work_dir, "g.db", NULL);
    copy = g_build_filename (work_dir, "rw.db", NULL);
    repaired = g_build_filename (work_dir, "repaired.db", NULL);
    atexit (remove_work_dir);
  }
  remove_gallery (path);
  remove_gallery (copy);
  remove_gallery (repaired);
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL)
      || !g_file_set_contents (copy, (const char *) data, (gssize) size, NULL))
    abort ();

  /* Read-only, any model and dimension. */
  g = fv_gallery_open (path, FV_GALLERY_OPEN_READ_ONLY, NULL, 0, &error);
  if (g) {
    read_everything (g);
    fv_gallery_free (g);
  } else {
    check_error (error);
    g_clear_error (&error);
  }
  problems = fv_gallery_check_file (path, &error);
  if (problems)
    g_ptr_array_unref (problems);
  else
    check_error (error);
  g_clear_error (&error);
  if (!fv_gallery_repair (path, repaired, NULL, NULL, NULL, &error)) {
    check_error (error);
    g_clear_error (&error);
  }

  /* Read-write, as the writer of dimension 8 that the seeds are. */
  g = fv_gallery_open (copy, FV_GALLERY_OPEN_READ_WRITE, fingerprint, DIM,
      &error);
  if (g) {
    float v[DIM] = { 0, 0, 1, 0, 0, 0, 0, 0 };
    FvGallerySample s = { v, 0.5f, "fuzz" };

    if (!fv_gallery_enroll (g, "fuzz", NULL, &s, 1, FV_GALLERY_ENROLL_APPEND,
            NULL, &error)) {
      check_error (error);
      g_clear_error (&error);
    }
    if (!fv_gallery_remove (g, "ada", &error)) {
      check_error (error);
      g_clear_error (&error);
    }
    read_everything (g);
    fv_gallery_free (g);
  } else {
    check_error (error);
    g_clear_error (&error);
  }
  return 0;
}

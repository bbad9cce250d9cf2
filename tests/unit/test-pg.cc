// gst-faceverify: the PostgreSQL gallery backend against a real PostgreSQL
// 15 (fv-pg-fixture.h): round trip, model checks, concurrent writers, a
// read-only role, copies between SQLite and PostgreSQL with the tool,
// passwords kept out of messages, a watch that follows another process's
// changes and survives a server restart, changes applied incrementally
// from the change log (equal to a full load), catching up by generation,
// the schema migration, and a cancel that ends a connection attempt.
#include <gtest/gtest.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <future>
#include <string>
#include <vector>

#include "fv.h"
#include "fv-pg-fixture.h"

namespace {

const char kFp[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const char kOtherFp[] =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
const guint kDim = 16;

FvPgServer *server = nullptr;
std::string skip_reason;

class PgEnvironment : public::testing::Environment
{
public:
  void SetUp () override
  {
    if (!FvPgServer::Available ()) {
      skip_reason = "PostgreSQL 15 server binaries not installed in "
          FV_PG_BINDIR " (apt-get install postgresql-15)";
      return;
    }
    server = new FvPgServer ();
    std::string why;
    if (!server->Init (&why))
      skip_reason = "could not start PostgreSQL: " + why;
    ASSERT_TRUE (skip_reason.empty ()) << skip_reason;
  }
  void TearDown () override
  {
    delete server;
    server = nullptr;
  }
};

std::vector<float>
Vec (int seed)
{
  std::vector<float> v (kDim);
  for (guint i = 0; i < kDim; i++)
    v[i] = (float) std::sin (seed * 7.1 + i * 1.3) + (i == (guint) seed
        % kDim ? 3.0f : 0.0f);
  return v;
}

class PgTest : public::testing::Test
{
protected:
  void SetUp () override
  {
    if (!server)
      GTEST_SKIP () << skip_reason;
    static int n = 0;
    db_ = "t" + std::to_string (getpid ()) + "_" + std::to_string (++n);
    ASSERT_TRUE (server->Psql ("CREATE DATABASE " + db_));
    uri_ = server->Uri ("postgres", FV_PG_PASSWORD, db_);
  }

  FvGallery *Open (FvGalleryOpenFlags flags, const char *fp = kFp,
      guint dim = kDim, GError ** error = nullptr)
  {
    return fv_gallery_open (uri_.c_str (), flags, fp, dim, error);
  }

  static bool Enroll (FvGallery * g, const char *label, int seed,
      guint n = 1, GError ** error = nullptr)
  {
    std::vector<std::vector<float>> vs;
    std::vector<FvGallerySample> s;
    for (guint i = 0; i < n; i++)
      vs.push_back (Vec (seed + 1000 * i));
    for (guint i = 0; i < n; i++)
      s.push_back ({vs[i].data (), 0.5f, "test.jpg"});
    return fv_gallery_enroll (g, label, nullptr, s.data (), n,
        FV_GALLERY_ENROLL_APPEND, nullptr, error);
  }

  std::string db_, uri_;
};

std::string
RunTool (const std::vector<std::string> &args, int *status,
    std::string *err_out = nullptr)
{
  const char *tool = g_getenv ("FV_FACEVERIFY");
  std::vector<char *> argv;
  argv.push_back (const_cast<char *>(tool ? tool : "faceverify"));
  for (const auto &a : args)
    argv.push_back (const_cast<char *>(a.c_str ()));
  argv.push_back (nullptr);
  char *out = nullptr, *err = nullptr;
  int ws = 0;
  g_spawn_sync (nullptr, argv.data (), nullptr, G_SPAWN_DEFAULT, nullptr,
      nullptr, &out, &err, &ws, nullptr);
  *status = WIFEXITED (ws) ? WEXITSTATUS (ws) : -1;
  std::string o = out ? out : "";
  if (err_out)
    *err_out = err ? err : "";
  g_free (out);
  g_free (err);
  return o;
}

TEST (PgRedact, PasswordsOnly)
{
  const char *cases[][2] = {
    {"postgresql://u:secret@h:5432/db?sslmode=require",
        "postgresql://u:***@h:5432/db?sslmode=require"},
    {"postgres://u@h/db?password=secret&sslmode=disable",
        "postgres://u@h/db?password=***&sslmode=disable"},
    {"postgresql://h/db?service=fv", "postgresql://h/db?service=fv"},
    {"postgresql:///db", "postgresql:///db"},
    {"/tmp/a:b@c.db", "/tmp/a:b@c.db"},
  };
  for (auto &c : cases) {
    g_autofree char *r = fv_gallery_location_redact (c[0]);
    EXPECT_STREQ (r, c[1]);
  }
  EXPECT_TRUE (fv_gallery_location_is_database ("postgres://x/y"));
  EXPECT_TRUE (fv_gallery_location_is_database ("postgresql://x/y"));
  EXPECT_FALSE (fv_gallery_location_is_database ("gallery.db"));
}

TEST_F (PgTest, RoundTrip)
{
  g_autoptr (GError) error = nullptr;
  g_autoptr (FvGallery) missing = Open (FV_GALLERY_OPEN_READ_ONLY, kFp,
      kDim, &error);
  ASSERT_EQ (missing, nullptr);
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_NOT_FOUND)) << error->message;
  g_clear_error (&error);

  g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE, kFp, kDim, &error);
  ASSERT_NE (g, nullptr) << error->message;
  EXPECT_EQ (fv_gallery_get_dim (g), kDim);
  // Version 3: the tables of SQLite's version 2 plus the change log.
  EXPECT_EQ (fv_gallery_get_schema_version (g), 3u);
  ASSERT_TRUE (Enroll (g, "alice", 1, 2, &error)) << error->message;
  ASSERT_TRUE (Enroll (g, "bob", 2, 1, &error)) << error->message;
  ASSERT_TRUE (Enroll (g, "carol", 3, 1, &error)) << error->message;
  // Several samples; APPEND adds, NEW_ONLY refuses a taken label.
  ASSERT_TRUE (Enroll (g, "bob", 5, 1, &error)) << error->message;
  std::vector<float> v = Vec (9);
  FvGallerySample s = { v.data (), -1.0f, nullptr };
  EXPECT_FALSE (fv_gallery_enroll (g, "bob", nullptr, &s, 1,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_EXISTS));
  g_clear_error (&error);
  // The label rules are the handle's, whatever the backend.
  EXPECT_FALSE (fv_gallery_enroll (g, "", nullptr, &s, 1,
          FV_GALLERY_ENROLL_APPEND, nullptr, &error));
  g_clear_error (&error);

  ASSERT_TRUE (fv_gallery_rename (g, "carol", "caroline", &error))
      << error->message;
  EXPECT_FALSE (fv_gallery_rename (g, "caroline", "alice", &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_EXISTS));
  g_clear_error (&error);
  ASSERT_TRUE (fv_gallery_set_display_name (g, "alice", "Alice L.", &error));
  ASSERT_TRUE (fv_gallery_remove (g, "caroline", &error)) << error->message;
  EXPECT_FALSE (fv_gallery_remove (g, "caroline", &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_NOT_FOUND));
  g_clear_error (&error);

  g_autoptr (GPtrArray) list = fv_gallery_list (g, &error);
  ASSERT_NE (list, nullptr) << error->message;
  ASSERT_EQ (list->len, 2u);
  auto *a = (FvGalleryIdentity *) list->pdata[0];
  auto *b = (FvGalleryIdentity *) list->pdata[1];
  EXPECT_STREQ (a->label, "alice");
  EXPECT_STREQ (a->display_name, "Alice L.");
  EXPECT_EQ (a->n_samples, 2u);
  EXPECT_STREQ (b->label, "bob");
  EXPECT_EQ (b->n_samples, 2u);
  g_autoptr (GPtrArray) samples = fv_gallery_get_samples (g, "alice", &error);
  ASSERT_NE (samples, nullptr) << error->message;
  ASSERT_EQ (samples->len, 2u);
  EXPECT_STREQ (((FvGallerySampleInfo *) samples->pdata[0])->source,
      "test.jpg");
  EXPECT_NEAR (((FvGallerySampleInfo *) samples->pdata[0])->quality, 0.5,
      1e-6);

  // Read back by another handle (read-only) and matched.
  g_autoptr (FvGallery) r = Open (FV_GALLERY_OPEN_READ_ONLY, kFp, kDim,
      &error);
  ASSERT_NE (r, nullptr) << error->message;
  ASSERT_TRUE (fv_gallery_reload (r, &error)) << error->message;
  g_autoptr (FvGallerySnapshot) snap = fv_gallery_get_snapshot (r);
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (snap), 2u);
  EXPECT_EQ (fv_gallery_snapshot_get_n_samples (snap), 4u);
  EXPECT_GE (fv_gallery_snapshot_get_generation (snap), 7u);
  std::vector<float> q = Vec (1);
  FvGalleryMatch m;
  fv_gallery_snapshot_match (snap, q.data (), 1, 0.5f, 0.05f, &m);
  EXPECT_TRUE (m.known);
  EXPECT_STREQ (m.label, "alice");
  EXPECT_FALSE (Enroll (r, "dave", 4, 1, &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_READ_ONLY));

  // Export and import (the JSON code is backend-neutral).
  gsize len = 0;
  g_autofree char *json = fv_gallery_export_json (g, &len, &error);
  ASSERT_NE (json, nullptr);
  EXPECT_NE (std::string (json).find ("\"alice\""), std::string::npos);
}

TEST_F (PgTest, CalibratedThresholdRoundTrip)
{
  g_autoptr (GError) error = nullptr;
  double t = 0;
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE, kFp, kDim,
        &error);
    ASSERT_NE (g, nullptr) << error->message;
    ASSERT_TRUE (Enroll (g, "alice", 1, 1, &error)) << error->message;
    ASSERT_TRUE (fv_gallery_reload (g, &error)) << error->message;
    EXPECT_FALSE (fv_gallery_get_default_threshold (g, &t));
    ASSERT_TRUE (fv_gallery_set_default_threshold (g, 0.4321, &error))
        << error->message;
    // twice: the second one updates the key
    ASSERT_TRUE (fv_gallery_set_default_threshold (g, 0.375, &error))
        << error->message;
  }
  g_autoptr (FvGallery) r = Open (FV_GALLERY_OPEN_READ_ONLY, kFp, kDim,
      &error);
  ASSERT_NE (r, nullptr) << error->message;
  ASSERT_TRUE (fv_gallery_reload (r, &error)) << error->message;
  ASSERT_TRUE (fv_gallery_get_default_threshold (r, &t));
  EXPECT_DOUBLE_EQ (t, 0.375);
  EXPECT_FALSE (fv_gallery_set_default_threshold (r, 0.5, &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_READ_ONLY));
}

// The calibrated threshold goes with an export and comes back on import
// into PostgreSQL; an export without it (older ones) imports with none,
// a hostile one is refused and writes nothing.
TEST_F (PgTest, CalibratedThresholdSurvivesExportAndImport)
{
  g_autoptr (GError) error = nullptr;
  double t = 0;
  g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE, kFp, kDim, &error);
  ASSERT_NE (g, nullptr) << error->message;
  ASSERT_TRUE (Enroll (g, "alice", 1, 2, &error)) << error->message;
  ASSERT_TRUE (fv_gallery_set_default_threshold (g, 0.4321, &error))
      << error->message;
  g_autofree char *json = fv_gallery_export_json (g, nullptr, &error);
  ASSERT_NE (json, nullptr) << error->message;
  const std::string key = "\"match_threshold\": 0.4321";
  std::string good = json;
  ASSERT_NE (good.find (key), std::string::npos) << good;

  std::string db2 = db_ + "_b";
  ASSERT_TRUE (server->Psql ("CREATE DATABASE " + db2));
  std::string uri2 = server->Uri ("postgres", FV_PG_PASSWORD, db2);
  g_autoptr (FvGallery) h = fv_gallery_open (uri2.c_str (),
      FV_GALLERY_OPEN_CREATE, kFp, kDim, &error);
  ASSERT_NE (h, nullptr) << error->message;

  // hostile: refused, nothing written
  std::string bad = good;
  bad.replace (bad.find (key), key.size (), "\"match_threshold\": 1.5");
  EXPECT_FALSE (fv_gallery_import_json (h, bad.c_str (), -1,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, nullptr, &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_INVALID));
  g_clear_error (&error);
  // older export without the key: imports, sets none
  std::string old = good;
  old.erase (old.find (key), key.size () + 1);
  ASSERT_TRUE (fv_gallery_import_json (h, old.c_str (), -1,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, nullptr, &error))
      << error->message;
  ASSERT_TRUE (fv_gallery_reload (h, &error)) << error->message;
  EXPECT_FALSE (fv_gallery_get_default_threshold (h, &t));
  {
    g_autoptr (FvGallerySnapshot) snap = fv_gallery_get_snapshot (h);
    EXPECT_EQ (fv_gallery_snapshot_get_n_identities (snap), 1u);
  }

  // the export with it: restored
  ASSERT_TRUE (fv_gallery_import_json (h, json, -1,
          FV_GALLERY_ENROLL_REPLACE, nullptr, nullptr, &error))
      << error->message;
  g_autoptr (FvGallery) r = fv_gallery_open (uri2.c_str (),
      FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_NE (r, nullptr) << error->message;
  ASSERT_TRUE (fv_gallery_reload (r, &error)) << error->message;
  ASSERT_TRUE (fv_gallery_get_default_threshold (r, &t));
  EXPECT_DOUBLE_EQ (t, 0.4321);
  // and it exports again the same
  g_autofree char *again = fv_gallery_export_json (r, nullptr, &error);
  ASSERT_NE (again, nullptr) << error->message;
  EXPECT_NE (std::string (again).find (key), std::string::npos);
}

TEST_F (PgTest, ModelMismatchRefused)
{
  g_autoptr (GError) error = nullptr;
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_NE (g, nullptr);
    ASSERT_TRUE (Enroll (g, "alice", 1));
  }
  g_autoptr (FvGallery) other = Open (FV_GALLERY_OPEN_CREATE, kOtherFp, kDim,
      &error);
  EXPECT_EQ (other, nullptr);
  ASSERT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_MODEL_MISMATCH));
  EXPECT_EQ (std::string (error->message).find (FV_PG_PASSWORD),
      std::string::npos) << error->message;
  EXPECT_NE (std::string (error->message).find ("***"), std::string::npos)
      << error->message;
  g_clear_error (&error);
  g_autoptr (FvGallery) dim = Open (FV_GALLERY_OPEN_READ_ONLY, kFp, 32,
      &error);
  EXPECT_EQ (dim, nullptr);
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_DIM_MISMATCH));
}

TEST_F (PgTest, TriggersRefused)
{
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_NE (g, nullptr);
  }
  server->UseDatabase (db_);
  ASSERT_TRUE (server->Psql ("CREATE FUNCTION fv_evil () RETURNS trigger "
          "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
          "CREATE TRIGGER fv_evil BEFORE INSERT ON fv_identities "
          "FOR EACH ROW EXECUTE FUNCTION fv_evil ()"));
  server->UseDatabase ("postgres");
  g_autoptr (GError) error = nullptr;
  g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
      &error);
  EXPECT_EQ (g, nullptr);
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_NOT_GALLERY)) << (error ? error->message : "");
}

TEST_F (PgTest, PasswordNeverInErrors)
{
  g_autoptr (GError) error = nullptr;
  std::string bad = server->Uri ("postgres", "Wr0ng-Secret", db_);
  g_autoptr (FvGallery) g = fv_gallery_open (bad.c_str (),
      FV_GALLERY_OPEN_CREATE, kFp, kDim, &error);
  ASSERT_EQ (g, nullptr);
  printf ("error: %s\n", error->message);
  EXPECT_EQ (std::string (error->message).find ("Wr0ng-Secret"),
      std::string::npos);
  // The tool's messages too.
  int status = 0;
  std::string err;
  RunTool ({"gallery", "list", "--gallery", bad}, &status, &err);
  EXPECT_NE (status, 0);
  EXPECT_EQ (err.find ("Wr0ng-Secret"), std::string::npos) << err;
  EXPECT_NE (err.find ("***"), std::string::npos) << err;
}

TEST_F (PgTest, ConcurrentWritersLoseNothing)
{
  const int kProcs = 20, kSamples = 3;
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; i++) {
    pid_t pid = fork ();
    ASSERT_GE (pid, 0);
    if (pid == 0) {
      GError *e = nullptr;
      FvGallery *g = Open (FV_GALLERY_OPEN_CREATE, kFp, kDim, &e);
      bool ok = g && Enroll (g, ("person-" + std::to_string (i)).c_str (),
          i, kSamples, &e) && Enroll (g, "shared", 100 + i, 1, &e);
      if (!ok)
        fprintf (stderr, "child %d: %s\n", i, e ? e->message : "?");
      fv_gallery_free (g);
      _exit (ok ? 0 : 1);
    }
    pids.push_back (pid);
  }
  for (pid_t pid : pids) {
    int st = 0;
    ASSERT_EQ (waitpid (pid, &st, 0), pid);
    EXPECT_TRUE (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  }
  g_autoptr (GError) error = nullptr;
  g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_ONLY, kFp, kDim,
      &error);
  ASSERT_NE (g, nullptr) << error->message;
  g_autoptr (GPtrArray) list = fv_gallery_list (g, &error);
  ASSERT_NE (list, nullptr);
  ASSERT_EQ (list->len, (guint) kProcs + 1);
  for (guint i = 0; i < list->len; i++) {
    auto *id = (FvGalleryIdentity *) list->pdata[i];
    EXPECT_EQ (id->n_samples, strcmp (id->label, "shared") == 0 ?
        (guint) kProcs : (guint) kSamples) << id->label;
  }
}

TEST_F (PgTest, ReadOnlyRole)
{
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_NE (g, nullptr);
    ASSERT_TRUE (Enroll (g, "alice", 1));
  }
  server->UseDatabase (db_);
  ASSERT_TRUE (server->Psql ("DO $$ BEGIN IF NOT EXISTS (SELECT FROM "
          "pg_roles WHERE rolname = 'fv_node') THEN CREATE ROLE fv_node "
          "LOGIN PASSWORD 'n0de-Pass'; END IF; END $$;"
          "GRANT SELECT ON fv_meta, fv_identities, fv_samples TO fv_node"));
  server->UseDatabase ("postgres");
  std::string uri = server->Uri ("fv_node", "n0de-Pass", db_);
  g_autoptr (GError) error = nullptr;
  g_autoptr (FvGallery) r = fv_gallery_open (uri.c_str (),
      FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_NE (r, nullptr) << error->message;
  ASSERT_TRUE (fv_gallery_reload (r, &error)) << error->message;
  g_autoptr (FvGallerySnapshot) snap = fv_gallery_get_snapshot (r);
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (snap), 1u);

  g_autoptr (FvGallery) w = fv_gallery_open (uri.c_str (),
      FV_GALLERY_OPEN_READ_WRITE, kFp, kDim, &error);
  EXPECT_EQ (w, nullptr);
  ASSERT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_READ_ONLY));
  printf ("read-only role, opened for writing: %s\n", error->message);
  EXPECT_NE (std::string (error->message).find ("may only read"),
      std::string::npos);
  EXPECT_EQ (std::string (error->message).find ("n0de-Pass"),
      std::string::npos);
  g_clear_error (&error);
  int status = 0;
  std::string err;
  RunTool ({"gallery", "remove", "--gallery", uri, "alice"}, &status, &err);
  EXPECT_NE (status, 0);
  EXPECT_NE (err.find ("may only read"), std::string::npos) << err;
  EXPECT_EQ (err.find ("n0de-Pass"), std::string::npos) << err;
}

std::string
ListCsv (const std::string &location)
{
  int status = 0;
  std::string out = RunTool ({"gallery", "list", "--csv", "--gallery",
          location}, &status);
  EXPECT_EQ (status, 0) << location;
  // Drop the id column (ids differ between stores).
  std::string res;
  gchar **lines = g_strsplit (out.c_str (), "\n", -1);
  for (int i = 0; lines[i]; i++) {
    std::string l = lines[i];
    size_t cut = l.rfind (',');
    res += (cut == std::string::npos ? l : l.substr (0, cut)) + "\n";
  }
  g_strfreev (lines);
  return res;
}

TEST_F (PgTest, CopyBothWays)
{
  g_autofree char *tmp = g_dir_make_tmp ("fv-pg-copy-XXXXXX", nullptr);
  std::string sqlite_a = std::string (tmp) + "/a.db";
  std::string sqlite_b = std::string (tmp) + "/b.db";
  {
    g_autoptr (FvGallery) g = fv_gallery_open (sqlite_a.c_str (),
        FV_GALLERY_OPEN_CREATE, kFp, kDim, nullptr);
    ASSERT_NE (g, nullptr);
    ASSERT_TRUE (Enroll (g, "alice", 1, 2));
    ASSERT_TRUE (Enroll (g, "bob", 2, 1));
    ASSERT_TRUE (fv_gallery_set_display_name (g, "bob", "Bob B.", nullptr));
  }
  int status = 0;
  std::string err;
  std::string out = RunTool ({"gallery", "copy", sqlite_a, uri_}, &status,
      &err);
  ASSERT_EQ (status, 0) << err;
  EXPECT_EQ (out.find (FV_PG_PASSWORD), std::string::npos) << out;
  EXPECT_EQ (ListCsv (sqlite_a), ListCsv (uri_));
  // The target holds identities now: refused without --force.
  RunTool ({"gallery", "copy", sqlite_a, uri_}, &status, &err);
  EXPECT_NE (status, 0);
  EXPECT_NE (err.find ("--force"), std::string::npos) << err;
  EXPECT_EQ (err.find (FV_PG_PASSWORD), std::string::npos) << err;

  // Back into a new SQLite file.
  RunTool ({"gallery", "copy", uri_, sqlite_b}, &status, &err);
  ASSERT_EQ (status, 0) << err;
  EXPECT_EQ (ListCsv (sqlite_b), ListCsv (sqlite_a));

  // --force makes the target a copy (extra identities go).
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE);
    ASSERT_TRUE (Enroll (g, "zed", 7, 1));
  }
  RunTool ({"gallery", "copy", "--force", sqlite_a, uri_}, &status, &err);
  ASSERT_EQ (status, 0) << err;
  EXPECT_EQ (ListCsv (uri_), ListCsv (sqlite_a));
  g_unlink (sqlite_a.c_str ());
  g_unlink (sqlite_b.c_str ());
  std::string rm = "rm -rf '" + std::string (tmp) + "'";
  EXPECT_EQ (system (rm.c_str ()), 0);
}

// The PostgreSQL store enrolls a batch in a few statements (enroll_many);
// it must leave exactly what SQLite's one-by-one loop leaves, for new,
// existing and repeated labels, awkward characters, every flag, and a
// failed batch must leave nothing.
static std::string
ApplyBatches (const std::string &location, bool *new_only_failed)
{
  g_autoptr (FvGallery) g = fv_gallery_open (location.c_str (),
      FV_GALLERY_OPEN_CREATE, kFp, kDim, nullptr);
  EXPECT_NE (g, nullptr);
  if (!g)
    return "";
  std::vector<std::vector<float>> v;
  for (int i = 0; i < 16; i++)
    v.push_back (Vec (100 + i));
  std::vector<FvGallerySample> s;
  for (int i = 0; i < 16; i++)
    s.push_back ({v[i].data (), i % 3 ? 0.25f * (i % 4) : -1.0f,
            i % 2 ? "dir/x,\"y\"{}.jpg" : nullptr});
  FvGallerySample one = s[15];
  EXPECT_TRUE (fv_gallery_enroll (g, "old", "Old", &one, 1,
          FV_GALLERY_ENROLL_APPEND, nullptr, nullptr));
  const char *odd = "q\"uo,te{}\\back NULL";
  FvGalleryEnrollment append[] = {
    {"a", nullptr, &s[0], 2}, {odd, "D\xc3\xa9, \"x\" {}", &s[2], 1},
    {"old", nullptr, &s[3], 1}, {"a", "A again", &s[4], 1},
    {"b", nullptr, &s[5], 2}, {"\xc3\xbcn\xc3\xaf", "NULL", &s[7], 1},
  };
  EXPECT_TRUE (fv_gallery_enroll_batch (g, append, G_N_ELEMENTS (append),
          FV_GALLERY_ENROLL_APPEND, nullptr));
  FvGalleryEnrollment replace[] = {
    {"b", "B", &s[8], 1}, {"c", nullptr, &s[9], 1}, {"b", "B2", &s[10], 2},
  };
  EXPECT_TRUE (fv_gallery_enroll_batch (g, replace, G_N_ELEMENTS (replace),
          FV_GALLERY_ENROLL_REPLACE, nullptr));
  FvGalleryEnrollment fails[] = {
    {"d", nullptr, &s[12], 1}, {"old", nullptr, &s[13], 1},
  };
  g_autoptr (GError) err = nullptr;
  *new_only_failed = !fv_gallery_enroll_batch (g, fails, G_N_ELEMENTS (fails),
      FV_GALLERY_ENROLL_NEW_ONLY, &err)
      && g_error_matches (err, FV_GALLERY_ERROR, FV_GALLERY_ERROR_EXISTS);
  gsize len = 0;
  g_autofree char *json = fv_gallery_export_json (g, &len, nullptr);
  return json ? json : "";
}

// The parts of an export that both stores must agree on: each identity's
// label, display name and samples (embedding, quality, source), in order.
static std::string
Comparable (const std::string &json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, json.c_str (), -1, nullptr))
    return "unparsable";
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *ids = json_object_get_array_member (root, "identities");
  std::string out;
  for (guint i = 0; ids && i < json_array_get_length (ids); i++) {
    JsonNode *copy = json_node_copy (json_array_get_element (ids, i));
    JsonObject *c = json_node_get_object (copy);
    for (const char *k : {"id", "created", "updated"})
      if (json_object_has_member (c, k))
        json_object_remove_member (c, k);
    // Times are the clock's at each enrolment.
    JsonArray *samples = json_object_get_array_member (c, "samples");
    for (guint j = 0; samples && j < json_array_get_length (samples); j++)
      json_object_remove_member (json_array_get_object_element (samples, j),
          "created");
    g_autofree char *text = json_to_string (copy, FALSE);
    json_node_unref (copy);
    out += text;
    out += "\n";
  }
  return out;
}

TEST_F (PgTest, BatchEnrolmentLeavesWhatOneByOneLeaves)
{
  g_autofree char *tmp = g_dir_make_tmp ("fv-pg-batch-XXXXXX", nullptr);
  std::string sqlite = std::string (tmp) + "/g.db";
  bool pg_failed = false, sqlite_failed = false;
  std::string pg = Comparable (ApplyBatches (uri_, &pg_failed));
  std::string lite = Comparable (ApplyBatches (sqlite, &sqlite_failed));
  EXPECT_TRUE (pg_failed);
  EXPECT_TRUE (sqlite_failed);
  EXPECT_NE (pg.find ("uo,te"), std::string::npos) << pg;
  EXPECT_EQ (pg.find ("\"d\""), std::string::npos) << pg;
  EXPECT_EQ (pg, lite);
  g_unlink (sqlite.c_str ());
  g_rmdir (tmp);
}

// Waits (30 s at most) until the watch loads a snapshot with @n identities.
bool
WaitForIdentities (FvGalleryWatch * w, guint n, double *seconds,
    int *failures = nullptr)
{
  gint64 t0 = g_get_monotonic_time ();
  while (g_get_monotonic_time () - t0 < 30 * G_USEC_PER_SEC) {
    FvGallerySnapshot *snap = nullptr;
    GError *e = nullptr;
    FvGalleryWatchStatus st = fv_gallery_watch_check (w, &snap, &e);
    if (st == FV_GALLERY_WATCH_FAILED && failures)
      (*failures)++;
    g_clear_error (&e);
    if (snap) {
      guint have = fv_gallery_snapshot_get_n_identities (snap);
      fv_gallery_snapshot_unref (snap);
      if (have == n) {
        *seconds = (g_get_monotonic_time () - t0) / 1e6;
        return true;
      }
    }
    g_usleep (20 * 1000);
  }
  return false;
}

TEST_F (PgTest, PassfileAndParametersPassThrough)
{
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_NE (g, nullptr);
  }
  // No password in the URI: libpq reads it from the passfile parameter or
  // PGPASSFILE, as it documents (the file must not be group-readable).
  g_autofree char *tmp = g_dir_make_tmp ("fv-pgpass-XXXXXX", nullptr);
  std::string passfile = std::string (tmp) + "/pgpass";
  std::string line = "127.0.0.1:" + std::to_string (server->Port ()) +
      ":*:postgres:" FV_PG_PASSWORD "\n";
  ASSERT_TRUE (g_file_set_contents (passfile.c_str (), line.c_str (), -1,
          nullptr));
  chmod (passfile.c_str (), 0600);
  std::string base = "postgresql://postgres@127.0.0.1:" +
      std::to_string (server->Port ()) + "/" + db_;
  g_autoptr (GError) error = nullptr;
  std::string with_param = base + "?sslmode=disable&passfile=" + passfile +
      "&application_name=node-1";
  g_autoptr (FvGallery) a = fv_gallery_open (with_param.c_str (),
      FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  EXPECT_NE (a, nullptr) << error->message;
  g_clear_error (&error);
  g_setenv ("PGPASSFILE", passfile.c_str (), TRUE);
  std::string plain = base + "?sslmode=disable";
  g_autoptr (FvGallery) b = fv_gallery_open (plain.c_str (),
      FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  g_unsetenv ("PGPASSFILE");
  EXPECT_NE (b, nullptr) << error->message;
  g_clear_error (&error);
  // sslmode=require reaches libpq: this server has no TLS.
  std::string tls = base + "?sslmode=require&password=" FV_PG_PASSWORD;
  g_autoptr (FvGallery) c = fv_gallery_open (tls.c_str (),
      FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  EXPECT_EQ (c, nullptr);
  ASSERT_NE (error, nullptr);
  printf ("sslmode=require: %s\n", error->message);
  EXPECT_NE (std::string (error->message).find ("SSL"), std::string::npos);
  EXPECT_EQ (std::string (error->message).find (FV_PG_PASSWORD),
      std::string::npos);
  g_unlink (passfile.c_str ());
  g_rmdir (tmp);
}

TEST_F (PgTest, WatchWaitsForAGalleryToAppear)
{
  // Nothing in the database yet: reported once, then tried again with a
  // back-off until the gallery is there.
  g_autoptr (FvGalleryWatch) w = fv_gallery_watch_new (uri_.c_str (), kFp,
      kDim);
  FvGallerySnapshot *snap = nullptr;
  g_autoptr (GError) error = nullptr;
  EXPECT_EQ (fv_gallery_watch_check (w, &snap, &error),
      FV_GALLERY_WATCH_FAILED);
  ASSERT_NE (error, nullptr);
  EXPECT_EQ (std::string (error->message).find (FV_PG_PASSWORD),
      std::string::npos);
  g_clear_error (&error);
  EXPECT_EQ (fv_gallery_watch_check (w, &snap, &error),
      FV_GALLERY_WATCH_UNCHANGED);
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_TRUE (Enroll (g, "alice", 1));
  }
  double secs = 0;
  int failures = 0;
  ASSERT_TRUE (WaitForIdentities (w, 1, &secs, &failures));
  EXPECT_EQ (failures, 0);
  printf ("the new gallery was loaded after %.3f s\n", secs);
}

TEST_F (PgTest, GenerationCatchesAChangeWithoutNotification)
{
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_TRUE (Enroll (g, "alice", 1));
    ASSERT_TRUE (Enroll (g, "bob", 2));
  }
  g_autoptr (FvGalleryWatch) w = fv_gallery_watch_new (uri_.c_str (), kFp,
      kDim);
  double secs = 0;
  ASSERT_TRUE (WaitForIdentities (w, 2, &secs));
  // A writer that does not NOTIFY (as through a pooler that drops them):
  // the generation tells.
  server->UseDatabase (db_);
  ASSERT_TRUE (server->Psql ("BEGIN; UPDATE fv_meta SET value ="
          " (value::bigint + 1)::text WHERE key = 'generation';"
          "DELETE FROM fv_samples WHERE identity_id = (SELECT id FROM"
          " fv_identities WHERE label = 'bob');"
          "DELETE FROM fv_identities WHERE label = 'bob'; COMMIT"));
  server->UseDatabase ("postgres");
  ASSERT_TRUE (WaitForIdentities (w, 1, &secs));
  printf ("a change without notification was seen after %.3f s\n", secs);
}

TEST_F (PgTest, WatchFollowsOtherProcessAndRestart)
{
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_TRUE (Enroll (g, "alice", 1));
  }
  g_autoptr (FvGalleryWatch) w = fv_gallery_watch_new (uri_.c_str (), kFp,
      kDim);
  double secs = 0;
  ASSERT_TRUE (WaitForIdentities (w, 1, &secs));

  // Another process enrolls.
  pid_t pid = fork ();
  ASSERT_GE (pid, 0);
  if (pid == 0) {
    FvGallery *g = Open (FV_GALLERY_OPEN_READ_WRITE);
    _exit (g && Enroll (g, "bob", 2) ? 0 : 1);
  }
  int st = 0;
  waitpid (pid, &st, 0);
  ASSERT_TRUE (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  ASSERT_TRUE (WaitForIdentities (w, 2, &secs));
  printf ("another process's enrollment reached the watch in %.3f s\n", secs);

  // The server goes away: one failure reported, the last snapshot kept;
  // back again: a change made after the restart arrives.
  server->Stop ();
  int failures = 0;
  for (int i = 0; i < 50; i++) {
    FvGallerySnapshot *snap = nullptr;
    GError *e = nullptr;
    if (fv_gallery_watch_check (w, &snap, &e) == FV_GALLERY_WATCH_FAILED)
      failures++;
    g_clear_error (&e);
    if (snap)
      fv_gallery_snapshot_unref (snap);
    g_usleep (50 * 1000);
  }
  EXPECT_EQ (failures, 1);
  std::string why;
  ASSERT_TRUE (server->Start (&why)) << why;
  {
    g_autoptr (GError) error = nullptr;
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
        &error);
    ASSERT_NE (g, nullptr) << error->message;
    ASSERT_TRUE (Enroll (g, "carol", 3));
  }
  failures = 0;
  ASSERT_TRUE (WaitForIdentities (w, 3, &secs, &failures));
  EXPECT_EQ (failures, 0);
  printf ("after the restart, the change arrived in %.3f s\n", secs);
}

// --- incremental loads ------------------------------------------------------

// A full load of the gallery through a new handle.
FvGallerySnapshot *
FullLoad (const std::string &uri)
{
  g_autoptr (GError) error = nullptr;
  g_autoptr (FvGallery) g = fv_gallery_open (uri.c_str (),
      FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  EXPECT_NE (g, nullptr) << error->message;
  if (!g || !fv_gallery_reload (g, &error))
    return nullptr;
  return fv_gallery_get_snapshot (g);
}

// The same identities (ids, labels, names, order), rows and answers: every
// seed the tests enroll from matches alike, to the last bit.
void
ExpectSameSnapshot (FvGallerySnapshot * a, FvGallerySnapshot * b)
{
  ASSERT_NE (a, nullptr);
  ASSERT_NE (b, nullptr);
  EXPECT_EQ (fv_gallery_snapshot_get_generation (a),
      fv_gallery_snapshot_get_generation (b));
  ASSERT_EQ (fv_gallery_snapshot_get_n_identities (a),
      fv_gallery_snapshot_get_n_identities (b));
  EXPECT_EQ (fv_gallery_snapshot_get_n_samples (a),
      fv_gallery_snapshot_get_n_samples (b));
  for (guint i = 0; i < fv_gallery_snapshot_get_n_identities (a); i++) {
    EXPECT_EQ (fv_gallery_snapshot_get_identity_id (a, i),
        fv_gallery_snapshot_get_identity_id (b, i));
    EXPECT_STREQ (fv_gallery_snapshot_get_label (a, i),
        fv_gallery_snapshot_get_label (b, i));
    EXPECT_STREQ (fv_gallery_snapshot_get_display_name (a, i),
        fv_gallery_snapshot_get_display_name (b, i));
  }
  for (int seed = 0; seed < 40; seed++)
    for (int k = 0; k < 3; k++) {
      std::vector<float> q = Vec (seed + 1000 * k);
      FvGalleryMatch ma, mb;
      fv_gallery_snapshot_match (a, q.data (), 1, 0.5f, 0.05f, &ma);
      fv_gallery_snapshot_match (b, q.data (), 1, 0.5f, 0.05f, &mb);
      EXPECT_EQ (ma.identity_id, mb.identity_id) << seed;
      EXPECT_EQ (ma.similarity, mb.similarity) << seed;
      EXPECT_EQ (ma.margin, mb.margin) << seed;
    }
}

// Waits (30 s at most) until the watch loads the generation of @want;
// returns that snapshot.
FvGallerySnapshot *
WaitForGeneration (FvGalleryWatch * w, FvGallerySnapshot * want)
{
  guint64 gen = fv_gallery_snapshot_get_generation (want);
  gint64 t0 = g_get_monotonic_time ();
  while (g_get_monotonic_time () - t0 < 30 * G_USEC_PER_SEC) {
    FvGallerySnapshot *snap = nullptr;
    GError *e = nullptr;
    fv_gallery_watch_check (w, &snap, &e);
    g_clear_error (&e);
    if (snap && fv_gallery_snapshot_get_generation (snap) == gen)
      return snap;
    if (snap)
      fv_gallery_snapshot_unref (snap);
    g_usleep (20 * 1000);
  }
  ADD_FAILURE () << "generation " << gen << " never arrived";
  return nullptr;
}

class PgLiveTest : public PgTest
{
protected:
  void SetUp () override
  {
    PgTest::SetUp ();
    if (IsSkipped ())
      return;
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_NE (g, nullptr);
    ASSERT_TRUE (Enroll (g, "alice", 1, 2));
    ASSERT_TRUE (Enroll (g, "bob", 2, 1));
    ASSERT_TRUE (Enroll (g, "carol", 3, 2));
    ASSERT_TRUE (Enroll (g, "dave", 4, 1));
    w_ = fv_gallery_watch_new (uri_.c_str (), kFp, kDim);
    g_autoptr (FvGallerySnapshot) full = FullLoad (uri_);
    g_autoptr (FvGallerySnapshot) first = WaitForGeneration (w_, full);
    ASSERT_NE (first, nullptr);
    // The first load reads everything.
    EXPECT_EQ (fv_gallery_snapshot_get_n_fetched (first), 6u);
  }

  void TearDown () override
  {
    g_clear_pointer (&w_, fv_gallery_watch_free);
  }

  // After a change: the watch's next snapshot equals a full load, and it
  // read @fetched sample rows.
  void ExpectIncremental (guint fetched, const char *what)
  {
    SCOPED_TRACE (what);
    g_autoptr (FvGallerySnapshot) full = FullLoad (uri_);
    ASSERT_NE (full, nullptr);
    g_autoptr (FvGallerySnapshot) snap = WaitForGeneration (w_, full);
    ASSERT_NE (snap, nullptr);
    ExpectSameSnapshot (snap, full);
    EXPECT_EQ (fv_gallery_snapshot_get_n_fetched (snap), fetched);
    EXPECT_EQ (fv_gallery_snapshot_get_n_fetched (full),
        fv_gallery_snapshot_get_n_samples (full));
  }

  // Ends every connection to the test's database but the caller's.
  void KillConnections ()
  {
    ASSERT_TRUE (server->Psql ("SELECT pg_terminate_backend (pid) FROM "
            "pg_stat_activity WHERE datname = '" + db_ + "' AND pid <> "
            "pg_backend_pid ()"));
  }

  FvGalleryWatch *w_ = nullptr;
};

TEST_F (PgLiveTest, EachChangeIsAppliedIncrementally)
{
  g_autoptr (GError) error = nullptr;
  g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE);
  ASSERT_NE (g, nullptr);
  ASSERT_TRUE (Enroll (g, "erin", 5, 2, &error)) << error->message;
  ExpectIncremental (2, "enroll a new identity");
  ASSERT_TRUE (Enroll (g, "alice", 11, 1, &error)) << error->message;
  ExpectIncremental (3, "add a sample");
  ASSERT_TRUE (fv_gallery_remove (g, "bob", &error)) << error->message;
  ExpectIncremental (0, "remove");
  ASSERT_TRUE (fv_gallery_rename (g, "carol", "caroline", &error));
  ExpectIncremental (2, "rename");
  ASSERT_TRUE (fv_gallery_set_display_name (g, "dave", "Dave D.", &error));
  ExpectIncremental (1, "display name");
  std::vector<float> v = Vec (21);
  FvGallerySample s = { v.data (), -1.0f, nullptr };
  ASSERT_TRUE (fv_gallery_enroll (g, "erin", nullptr, &s, 1,
          FV_GALLERY_ENROLL_REPLACE, nullptr, &error)) << error->message;
  ExpectIncremental (1, "replace the samples");
}

TEST_F (PgLiveTest, AWatchThatMissedNotificationsCatchesUpByGeneration)
{
  // The watch's connection is killed; changes are made while it is not
  // listening (their notifications are lost to it).
  KillConnections ();
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE);
    ASSERT_NE (g, nullptr);
    ASSERT_TRUE (Enroll (g, "erin", 5, 2));
    ASSERT_TRUE (fv_gallery_remove (g, "bob", nullptr));
    ASSERT_TRUE (Enroll (g, "alice", 12, 1));
  }
  // erin (2) and alice (3) read again, bob dropped: not the whole table.
  ExpectIncremental (5, "after the connection was killed");
}

TEST_F (PgLiveTest, APrunedLogMeansAFullLoad)
{
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE);
    ASSERT_NE (g, nullptr);
    ASSERT_TRUE (Enroll (g, "erin", 5, 2));
  }
  server->UseDatabase (db_);
  ASSERT_TRUE (server->Psql ("DELETE FROM fv_changes"));
  server->UseDatabase ("postgres");
  ExpectIncremental (8, "the log cannot answer: everything read");
  // The log holds FV_PG_LOG_KEEP generations: an old entry goes with a
  // later write (a generation far ahead stands for many writes).
  server->UseDatabase (db_);
  ASSERT_TRUE (server->Psql ("INSERT INTO fv_changes VALUES (-50000, 1);"
          "UPDATE fv_meta SET value = '1000000' WHERE key = 'generation'"));
  server->UseDatabase ("postgres");
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE);
    ASSERT_TRUE (Enroll (g, "frank", 6, 1));
  }
  server->UseDatabase (db_);
  EXPECT_TRUE (server->Psql ("DO $$ BEGIN IF (SELECT count(*) FROM "
          "fv_changes WHERE generation < 990000) > 0 THEN RAISE 'not "
          "pruned'; END IF; END $$"));
  server->UseDatabase ("postgres");
}

TEST_F (PgTest, SchemaVersion2IsReadAndMigratedOnWrite)
{
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_CREATE);
    ASSERT_TRUE (Enroll (g, "alice", 1));
  }
  // What a gallery made before the change log looks like.
  server->UseDatabase (db_);
  ASSERT_TRUE (server->Psql ("DROP TABLE fv_changes; UPDATE fv_meta SET "
          "value = '2' WHERE key = 'schema_version'"));
  server->UseDatabase ("postgres");
  g_autoptr (GError) error = nullptr;
  g_autoptr (FvGalleryWatch) w = fv_gallery_watch_new (uri_.c_str (), kFp,
      kDim);
  double secs = 0;
  ASSERT_TRUE (WaitForIdentities (w, 1, &secs));
  {
    g_autoptr (FvGallery) r = Open (FV_GALLERY_OPEN_READ_ONLY, kFp, kDim,
        &error);
    ASSERT_NE (r, nullptr) << error->message;
    EXPECT_EQ (fv_gallery_get_schema_version (r), 2u);
    ASSERT_TRUE (fv_gallery_reload (r, &error)) << error->message;
  }
  {
    g_autoptr (FvGallery) g = Open (FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
        &error);
    ASSERT_NE (g, nullptr) << error->message;
    EXPECT_EQ (fv_gallery_get_schema_version (g), 3u);
    ASSERT_TRUE (Enroll (g, "bob", 2));
  }
  // The watch that opened version 2 keeps following (full loads).
  ASSERT_TRUE (WaitForIdentities (w, 2, &secs));
  g_autoptr (FvGallery) r = Open (FV_GALLERY_OPEN_READ_ONLY);
  EXPECT_EQ (fv_gallery_get_schema_version (r), 3u);
}

// A port that accepts connections into its backlog and never answers (a
// server that hangs, a blackholed network).
int
SilentListener (int *port)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { };
  socklen_t len = sizeof a;
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) != 0
      || listen (fd, 16) != 0
      || getsockname (fd, (struct sockaddr *) &a, &len) != 0)
    return -1;
  *port = ntohs (a.sin_port);
  return fd;
}

TEST (PgCancel, CancelEndsAConnectionAttempt)
{
  int port = 0;
  int fd = SilentListener (&port);
  ASSERT_GE (fd, 0);
  // Without the cancel this attempt would wait 120 s.
  std::string uri = "postgresql://postgres:x@127.0.0.1:" +
      std::to_string (port) + "/db?sslmode=disable&connect_timeout=120";
  FvGalleryWatch *w = fv_gallery_watch_new (uri.c_str (), kFp, kDim);
  auto check = std::async (std::launch::async, [w]() {
        FvGallerySnapshot *snap = nullptr;
        GError *e = nullptr;
        FvGalleryWatchStatus st = fv_gallery_watch_check (w, &snap, &e);
        g_clear_error (&e);
        return st;
      });
  // Still waiting for the server after a while.
  EXPECT_EQ (check.wait_for (std::chrono::milliseconds (500)),
      std::future_status::timeout);
  gint64 t0 = g_get_monotonic_time ();
  fv_gallery_watch_cancel (w);
  ASSERT_EQ (check.wait_for (std::chrono::seconds (30)),
      std::future_status::ready);
  printf ("the cancelled check returned after %.3f s\n",
      (g_get_monotonic_time () - t0) / 1e6);
  EXPECT_EQ (check.get (), FV_GALLERY_WATCH_FAILED);
  FvGallerySnapshot *snap = nullptr;
  EXPECT_EQ (fv_gallery_watch_check (w, &snap, nullptr),
      FV_GALLERY_WATCH_UNCHANGED);
  fv_gallery_watch_free (w);
  close (fd);
}

}  // namespace

int
main (int argc, char **argv)
{
  ::testing::InitGoogleTest (&argc, argv);
  ::testing::AddGlobalTestEnvironment (new PgEnvironment ());
  return RUN_ALL_TESTS ();
}

// gst-faceverify: the gallery (src/gallery): every operation, every
// refusal, schema versioning, reloading, readers in other processes while
// one writes, crash safety under SIGKILL, and the scan kernels against the
// scalar reference.
#include <gtest/gtest.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fv-test-util.h"
#include "fv.h"
#include "gallery/fv-gallery-store.h"
#include "kernels/f16.h"

extern "C" {
}

namespace {

const char kFp[] =
    "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b";
const char kOtherFp[] =
    "0000000000000000000000000000000000000000000000000000000000000000";
constexpr guint kDim = 192;

void
RemoveTree (const std::string &path)
{
  if (g_file_test (path.c_str (), G_FILE_TEST_IS_DIR)) {
    g_chmod (path.c_str (), 0755);
    GDir *d = g_dir_open (path.c_str (), 0, nullptr);
    const char *f;
    while (d && (f = g_dir_read_name (d)) != nullptr) {
      g_autofree char *p = g_build_filename (path.c_str (), f, NULL);
      RemoveTree (p);
    }
    if (d)
      g_dir_close (d);
    g_rmdir (path.c_str ());
  } else {
    g_unlink (path.c_str ());
  }
}

// This process's scratch folder (several runs of the suite may share a
// build folder), removed when the tests end.
const std::string &
ProcessScratch ()
{
  static std::string dir = fvtest::ScratchDir ("gallery-"
      + std::to_string (getpid ()));
  return dir;
}

class ScratchCleanup : public ::testing::Environment
{
public:
  void TearDown () override { RemoveTree (ProcessScratch ()); }
};

const auto *const kCleanup =
    ::testing::AddGlobalTestEnvironment (new ScratchCleanup);

// A fresh, empty scratch folder for one test.
std::string
Fresh (const std::string &name)
{
  g_autofree char *dir = g_build_filename (ProcessScratch ().c_str (),
      name.c_str (), NULL);
  RemoveTree (dir);
  g_mkdir_with_parents (dir, 0755);
  return dir;
}

std::string
Path (const std::string &dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir.c_str (), name, NULL);
  return p;
}

std::vector<float>
RandomUnit (std::mt19937 &rng, guint dim = kDim)
{
  std::normal_distribution<float> n (0.0f, 1.0f);
  std::vector<float> v (dim);
  double s = 0;
  for (auto &x : v) {
    x = n (rng);
    s += (double) x * x;
  }
  for (auto &x : v)
    x = (float) (x / std::sqrt (s));
  return v;
}

struct GalleryDeleter
{
  void operator() (FvGallery *g) const { fv_gallery_free (g); }
};
using GalleryPtr = std::unique_ptr<FvGallery, GalleryDeleter>;

struct SnapDeleter
{
  void operator() (FvGallerySnapshot *s) const
  {
    if (s)
      fv_gallery_snapshot_unref (s);
  }
};
using SnapPtr = std::unique_ptr<FvGallerySnapshot, SnapDeleter>;

GalleryPtr
Open (const std::string &path, FvGalleryOpenFlags flags,
    const char *fp = kFp, guint dim = kDim, GError **error = nullptr)
{
  return GalleryPtr (fv_gallery_open (path.c_str (), flags, fp, dim, error));
}

GalleryPtr
Create (const std::string &path, guint dim = kDim)
{
  GError *error = nullptr;
  GalleryPtr g (fv_gallery_open (path.c_str (), FV_GALLERY_OPEN_CREATE, kFp,
          dim, &error));
  EXPECT_TRUE (g) << (error ? error->message : "");
  g_clear_error (&error);
  return g;
}

// Enrolls @label with @n random samples; returns them.
std::vector<std::vector<float>>
EnrollRandom (FvGallery *g, const char *label, guint n, std::mt19937 &rng,
    FvGalleryEnrollFlags flags = FV_GALLERY_ENROLL_APPEND,
    const char *display = nullptr)
{
  std::vector<std::vector<float>> vecs;
  std::vector<FvGallerySample> samples (n);
  for (guint i = 0; i < n; i++)
    vecs.push_back (RandomUnit (rng, fv_gallery_get_dim (g)));
  for (guint i = 0; i < n; i++) {
    samples[i].embedding = vecs[i].data ();
    samples[i].quality = 0.5f + 0.1f * i;
    samples[i].source = "src.png";
  }
  GError *error = nullptr;
  EXPECT_TRUE (fv_gallery_enroll (g, label, display, samples.data (), n,
          flags, nullptr, &error)) << (error ? error->message : "");
  g_clear_error (&error);
  return vecs;
}

std::map<std::string, guint>
Counts (FvGallery *g)
{
  std::map<std::string, guint> m;
  GError *error = nullptr;
  GPtrArray *list = fv_gallery_list (g, &error);
  EXPECT_TRUE (list) << (error ? error->message : "");
  g_clear_error (&error);
  for (guint i = 0; list && i < list->len; i++) {
    auto *id = (FvGalleryIdentity *) list->pdata[i];
    m[id->label] = id->n_samples;
  }
  if (list)
    g_ptr_array_unref (list);
  return m;
}

// Runs SQL on the file directly (outside the library).
std::string
Sql (const std::string &path, const std::string &sql)
{
  sqlite3 *db = nullptr;
  std::string result;
  EXPECT_EQ (sqlite3_open (path.c_str (), &db), SQLITE_OK);
  sqlite3_stmt *st = nullptr;
  int rc = sqlite3_prepare_v2 (db, sql.c_str (), -1, &st, nullptr);
  EXPECT_EQ (rc, SQLITE_OK) << sqlite3_errmsg (db) << " in " << sql;
  while (st && (rc = sqlite3_step (st)) == SQLITE_ROW) {
    if (!result.empty ())
      result += "\n";
    const unsigned char *t = sqlite3_column_text (st, 0);
    result += t ? (const char *) t : "NULL";
  }
  sqlite3_finalize (st);
  sqlite3_close (db);
  return result;
}

void
WriteBytes (const std::string &path, const std::vector<unsigned char> &b)
{
  ASSERT_TRUE (g_file_set_contents (path.c_str (), (const char *) b.data (),
          (gssize) b.size (), nullptr));
}

#define EXPECT_GALLERY_ERROR(error, want)                                    \
  do {                                                                       \
    ASSERT_NE ((error), nullptr) << "no error";                              \
    EXPECT_TRUE (g_error_matches ((error), FV_GALLERY_ERROR, (want)))        \
        << "code " << (error)->code << ": " << (error)->message;             \
    EXPECT_GT (strlen ((error)->message), 10u);                              \
  } while (0)

// ------------------------------------------------------------------------
// Creating and the basic operations
// ------------------------------------------------------------------------

TEST (Gallery, CreateRecordsModelDimensionMetricAndSchema)
{
  std::string dir = Fresh ("create");
  std::string path = Path (dir, "g.db");
  {
    GalleryPtr g = Create (path);
    ASSERT_TRUE (g);
    EXPECT_STREQ (fv_gallery_get_model_fingerprint (g.get ()), kFp);
    EXPECT_EQ (fv_gallery_get_dim (g.get ()), kDim);
    EXPECT_STREQ (fv_gallery_get_metric (g.get ()), "cosine");
    EXPECT_EQ (fv_gallery_get_schema_version (g.get ()),
        (guint) FV_GALLERY_SCHEMA_VERSION);
    EXPECT_FALSE (fv_gallery_is_read_only (g.get ()));
    EXPECT_EQ (fv_gallery_get_path (g.get ()), path);
  }
  EXPECT_EQ (Sql (path, "PRAGMA user_version"),
      std::to_string (FV_GALLERY_SCHEMA_VERSION));
  EXPECT_EQ (Sql (path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ (Sql (path, "SELECT value FROM meta WHERE key = 'model_sha256'"),
      kFp);
  EXPECT_EQ (Sql (path, "SELECT value FROM meta WHERE key = 'dim'"), "192");
  EXPECT_EQ (Sql (path, "SELECT value FROM meta WHERE key = 'metric'"),
      "cosine");

  // Opened again, read-only, with or without the model's fingerprint.
  GError *error = nullptr;
  GalleryPtr r = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_TRUE (r) << error->message;
  EXPECT_TRUE (fv_gallery_is_read_only (r.get ()));
  GalleryPtr any = Open (path, FV_GALLERY_OPEN_READ_ONLY, nullptr, 0, &error);
  ASSERT_TRUE (any) << error->message;
  EXPECT_EQ (fv_gallery_get_dim (any.get ()), kDim);
  // Upper-case fingerprints compare equal.
  g_autofree char *upper = g_ascii_strup (kFp, -1);
  GalleryPtr up = Open (path, FV_GALLERY_OPEN_READ_ONLY, upper, kDim, &error);
  EXPECT_TRUE (up) << error->message;
}

TEST (Gallery, CalibratedThresholdIsStoredAndFollowsReloads)
{
  std::string dir = Fresh ("threshold");
  std::string path = Path (dir, "g.db");
  std::mt19937 rng (13);
  GError *error = nullptr;
  double t = 0;
  GalleryPtr g = Create (path);
  ASSERT_TRUE (g);
  EnrollRandom (g.get (), "alice", 2, rng);
  ASSERT_TRUE (fv_gallery_reload (g.get (), nullptr));
  EXPECT_FALSE (fv_gallery_get_default_threshold (g.get (), &t));
  guint64 gen = fv_gallery_snapshot_get_generation (SnapPtr
      (fv_gallery_get_snapshot (g.get ())).get ());

  // out of range: refused, nothing written
  for (double bad : { -1.5, 1.01, (double) NAN, (double) INFINITY }) {
    EXPECT_FALSE (fv_gallery_set_default_threshold (g.get (), bad, &error));
    EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
            FV_GALLERY_ERROR_INVALID));
    g_clear_error (&error);
  }
  ASSERT_TRUE (fv_gallery_set_default_threshold (g.get (), 0.4321, &error))
      << error->message;
  EXPECT_TRUE (fv_gallery_needs_reload (g.get ()));
  ASSERT_TRUE (fv_gallery_reload (g.get (), nullptr));
  ASSERT_TRUE (fv_gallery_get_default_threshold (g.get (), &t));
  EXPECT_DOUBLE_EQ (t, 0.4321);
  SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_generation (snap.get ()), gen + 1);
  g.reset ();

  // reopened read-only: read back; a read-only handle cannot set it
  GalleryPtr r = Open (path, FV_GALLERY_OPEN_READ_ONLY);
  ASSERT_TRUE (r);
  ASSERT_TRUE (fv_gallery_reload (r.get (), nullptr));
  t = 0;
  ASSERT_TRUE (fv_gallery_get_default_threshold (r.get (), &t));
  EXPECT_DOUBLE_EQ (t, 0.4321);
  EXPECT_FALSE (fv_gallery_set_default_threshold (r.get (), 0.5, &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_READ_ONLY));
  g_clear_error (&error);
  r.reset ();

  // a damaged stored value fails the load, never a silent default
  Sql (path, "UPDATE meta SET value = 'lax' WHERE key = "
      "'match_threshold'");
  r = Open (path, FV_GALLERY_OPEN_READ_ONLY);
  ASSERT_TRUE (r);
  EXPECT_FALSE (fv_gallery_reload (r.get (), &error));
  EXPECT_TRUE (g_error_matches (error, FV_GALLERY_ERROR,
          FV_GALLERY_ERROR_CORRUPT));
  EXPECT_NE (strstr (error->message, "match_threshold"), nullptr)
      << error->message;
  g_clear_error (&error);
}

TEST (Gallery, EnrollListAndSamples)
{
  std::string dir = Fresh ("enroll");
  GalleryPtr g = Create (Path (dir, "g.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (1);
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;

  // A non-normalised embedding is stored normalised.
  std::vector<float> raw = RandomUnit (rng);
  for (auto &x : raw)
    x *= 3.5f;
  std::vector<float> second = RandomUnit (rng);
  FvGallerySample s[2] = { {raw.data (), 0.9f, "alice1.jpg"},
  {second.data (), -1.0f, nullptr}
  };
  gint64 id = 0;
  GError *error = nullptr;
  ASSERT_TRUE (fv_gallery_enroll (g.get (), "alice", "Alice Liddell", s, 2,
          FV_GALLERY_ENROLL_APPEND, &id, &error)) << error->message;
  EXPECT_GT (id, 0);
  EnrollRandom (g.get (), "bob", 1, rng);
  EnrollRandom (g.get (), "Émile", 3, rng);

  GPtrArray *list = fv_gallery_list (g.get (), &error);
  ASSERT_TRUE (list) << error->message;
  ASSERT_EQ (list->len, 3u);
  auto *a = (FvGalleryIdentity *) list->pdata[0];
  EXPECT_STREQ (a->label, "alice");     // sorted by label
  EXPECT_STREQ (((FvGalleryIdentity *) list->pdata[1])->label, "bob");
  EXPECT_STREQ (((FvGalleryIdentity *) list->pdata[2])->label, "Émile");
  EXPECT_EQ (a->id, id);
  EXPECT_STREQ (a->display_name, "Alice Liddell");
  EXPECT_EQ (a->n_samples, 2u);
  EXPECT_GE (a->created, before);
  EXPECT_LE (a->created, before + 5);
  EXPECT_EQ (a->updated, a->created);
  EXPECT_EQ (((FvGalleryIdentity *) list->pdata[1])->display_name, nullptr);
  EXPECT_EQ (((FvGalleryIdentity *) list->pdata[2])->n_samples, 3u);
  g_ptr_array_unref (list);

  FvGalleryIdentity *one = fv_gallery_get_identity (g.get (), "bob", &error);
  ASSERT_TRUE (one) << error->message;
  EXPECT_EQ (one->n_samples, 1u);
  fv_gallery_identity_free (one);
  EXPECT_EQ (fv_gallery_get_identity (g.get (), "carol", &error), nullptr);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);

  GPtrArray *samples = fv_gallery_get_samples (g.get (), "alice", &error);
  ASSERT_TRUE (samples) << error->message;
  ASSERT_EQ (samples->len, 2u);
  auto *s0 = (FvGallerySampleInfo *) samples->pdata[0];
  auto *s1 = (FvGallerySampleInfo *) samples->pdata[1];
  EXPECT_NEAR (s0->quality, 0.9f, 1e-6);
  EXPECT_STREQ (s0->source, "alice1.jpg");
  EXPECT_LT (s1->quality, 0.0f);        // none recorded
  EXPECT_EQ (s1->source, nullptr);
  double norm = 0;
  for (guint k = 0; k < kDim; k++) {
    EXPECT_NEAR (s0->embedding[k], raw[k] / 3.5f, 1e-6);
    EXPECT_NEAR (s1->embedding[k], second[k], 1e-6);
    norm += (double) s0->embedding[k] * s0->embedding[k];
  }
  EXPECT_NEAR (norm, 1.0, 1e-5);
  g_ptr_array_unref (samples);
  EXPECT_EQ (fv_gallery_get_samples (g.get (), "nobody", &error), nullptr);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);

  // The blobs are float32 little-endian, dim * 4 bytes.
  EXPECT_EQ (Sql (Path (dir, "g.db"),
          "SELECT DISTINCT length (embedding) FROM samples"), "768");
}

TEST (Gallery, EnrollAppendReplaceNewOnly)
{
  std::string dir = Fresh ("flags");
  GalleryPtr g = Create (Path (dir, "g.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (2);
  GError *error = nullptr;

  EnrollRandom (g.get (), "alice", 2, rng, FV_GALLERY_ENROLL_APPEND, "A");
  EnrollRandom (g.get (), "alice", 3, rng, FV_GALLERY_ENROLL_APPEND);
  EXPECT_EQ (Counts (g.get ())["alice"], 5u);
  FvGalleryIdentity *id = fv_gallery_get_identity (g.get (), "alice", NULL);
  ASSERT_TRUE (id);
  EXPECT_STREQ (id->display_name, "A");        // APPEND with NULL keeps it
  fv_gallery_identity_free (id);

  auto kept = EnrollRandom (g.get (), "alice", 1, rng,
      FV_GALLERY_ENROLL_REPLACE);
  EXPECT_EQ (Counts (g.get ())["alice"], 1u);
  id = fv_gallery_get_identity (g.get (), "alice", NULL);
  EXPECT_EQ (id->display_name, nullptr);       // REPLACE replaces it
  fv_gallery_identity_free (id);

  std::vector<float> v = RandomUnit (rng);
  FvGallerySample s = { v.data (), 1.0f, nullptr };
  EXPECT_FALSE (fv_gallery_enroll (g.get (), "alice", nullptr, &s, 1,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_EXISTS);
  g_clear_error (&error);
  EXPECT_EQ (Counts (g.get ())["alice"], 1u);
  GPtrArray *samples = fv_gallery_get_samples (g.get (), "alice", nullptr);
  ASSERT_TRUE (samples);
  EXPECT_NEAR (((FvGallerySampleInfo *) samples->pdata[0])->embedding[0],
      kept[0][0], 1e-6);
  g_ptr_array_unref (samples);
}

TEST (Gallery, EnrollRefusesBadInputAndWritesNothing)
{
  std::string dir = Fresh ("bad-input");
  std::string path = Path (dir, "g.db");
  GalleryPtr g = Create (path);
  ASSERT_TRUE (g);
  std::mt19937 rng (3);
  std::vector<float> good = RandomUnit (rng);
  std::vector<float> nan_v = good, inf_v = good, zero_v (kDim, 0.0f);
  nan_v[17] = NAN;
  inf_v[191] = INFINITY;
  FvGallerySample ok = { good.data (), 1.0f, nullptr };
  FvGallerySample bad_nan = { nan_v.data (), 1.0f, nullptr };
  FvGallerySample bad_inf = { inf_v.data (), 1.0f, nullptr };
  FvGallerySample bad_zero = { zero_v.data (), 1.0f, nullptr };
  std::string long_label (FV_GALLERY_MAX_LABEL + 1, 'x');
  const char invalid_utf8[] = "ab\xff\xfe";

  struct Case
  {
    const char *label;
    const char *display;
    const FvGallerySample *samples;
    guint n;
  } cases[] = {
    {"", nullptr, &ok, 1},
    {"tab\there", nullptr, &ok, 1},
    {"new\nline", nullptr, &ok, 1},
    {invalid_utf8, nullptr, &ok, 1},
    {long_label.c_str (), nullptr, &ok, 1},
    {"name", "bad\x01name", &ok, 1},
    {"nan", nullptr, &bad_nan, 1},
    {"inf", nullptr, &bad_inf, 1},
    {"zero", nullptr, &bad_zero, 1},
    {"none", nullptr, &ok, 0},
  };
  for (const auto &c : cases) {
    GError *error = nullptr;
    EXPECT_FALSE (fv_gallery_enroll (g.get (), c.label, c.display,
            c.samples, c.n, FV_GALLERY_ENROLL_APPEND, nullptr, &error))
        << c.label;
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
    g_clear_error (&error);
  }
  // A bad sample after good ones: the identity is not half-enrolled.
  FvGallerySample mixed[3] = { ok, ok, bad_nan };
  GError *error = nullptr;
  EXPECT_FALSE (fv_gallery_enroll (g.get (), "mixed", nullptr, mixed, 3,
          FV_GALLERY_ENROLL_APPEND, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
  g_clear_error (&error);
  EXPECT_TRUE (Counts (g.get ()).empty ());
  EXPECT_EQ (Sql (path, "SELECT count(*) FROM samples"), "0");
  EXPECT_EQ (Sql (path, "SELECT value FROM meta WHERE key = 'generation'"),
      "0");
}

TEST (Gallery, EnrollBatchIsOneTransaction)
{
  std::string dir = Fresh ("batch");
  GalleryPtr g = Create (Path (dir, "g.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (4);
  std::vector<std::vector<float>> v;
  for (int i = 0; i < 4; i++)
    v.push_back (RandomUnit (rng));
  v[3][0] = NAN;
  FvGallerySample s[4];
  for (int i = 0; i < 4; i++)
    s[i] = { v[i].data (), 1.0f, nullptr };
  FvGalleryEnrollment e[4] = {
    {"a", nullptr, &s[0], 1}, {"b", nullptr, &s[1], 1},
    {"c", "C", &s[2], 1}, {"d", nullptr, &s[3], 1},
  };
  GError *error = nullptr;
  EXPECT_FALSE (fv_gallery_enroll_batch (g.get (), e, 4,
          FV_GALLERY_ENROLL_APPEND, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
  g_clear_error (&error);
  EXPECT_TRUE (Counts (g.get ()).empty ());

  ASSERT_TRUE (fv_gallery_enroll_batch (g.get (), e, 3,
          FV_GALLERY_ENROLL_NEW_ONLY, &error)) << error->message;
  EXPECT_EQ (Counts (g.get ()).size (), 3u);
  // NEW_ONLY with one taken label: nothing of the batch goes in.
  FvGalleryEnrollment again[2] = { {"e", nullptr, &s[0], 1},
  {"a", nullptr, &s[1], 1}
  };
  EXPECT_FALSE (fv_gallery_enroll_batch (g.get (), again, 2,
          FV_GALLERY_ENROLL_NEW_ONLY, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_EXISTS);
  g_clear_error (&error);
  EXPECT_EQ (Counts (g.get ()).count ("e"), 0u);
}

TEST (Gallery, RemoveRenameDisplayName)
{
  std::string dir = Fresh ("remove-rename");
  std::string path = Path (dir, "g.db");
  GalleryPtr g = Create (path);
  ASSERT_TRUE (g);
  std::mt19937 rng (5);
  EnrollRandom (g.get (), "alice", 2, rng);
  EnrollRandom (g.get (), "bob", 3, rng);
  EnrollRandom (g.get (), "carol", 1, rng);
  GError *error = nullptr;

  ASSERT_TRUE (fv_gallery_remove (g.get (), "bob", &error)) << error->message;
  auto c = Counts (g.get ());
  EXPECT_EQ (c.size (), 2u);
  EXPECT_EQ (c.count ("bob"), 0u);
  EXPECT_EQ (Sql (path, "SELECT count(*) FROM samples"), "3");
  EXPECT_FALSE (fv_gallery_remove (g.get (), "bob", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);

  FvGalleryIdentity *before = fv_gallery_get_identity (g.get (), "alice",
      NULL);
  ASSERT_TRUE (before);
  ASSERT_TRUE (fv_gallery_rename (g.get (), "alice", "alicia", &error))
      << error->message;
  FvGalleryIdentity *after = fv_gallery_get_identity (g.get (), "alicia",
      NULL);
  ASSERT_TRUE (after);
  EXPECT_EQ (after->id, before->id);
  EXPECT_EQ (after->n_samples, 2u);
  fv_gallery_identity_free (before);
  fv_gallery_identity_free (after);
  EXPECT_FALSE (fv_gallery_rename (g.get (), "alicia", "carol", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_EXISTS);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_rename (g.get (), "nobody", "x", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_rename (g.get (), "carol", "", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
  g_clear_error (&error);
  EXPECT_EQ (Counts (g.get ()).count ("carol"), 1u);

  ASSERT_TRUE (fv_gallery_set_display_name (g.get (), "carol", "Carol C.",
          &error)) << error->message;
  FvGalleryIdentity *cid = fv_gallery_get_identity (g.get (), "carol", NULL);
  EXPECT_STREQ (cid->display_name, "Carol C.");
  fv_gallery_identity_free (cid);
  ASSERT_TRUE (fv_gallery_set_display_name (g.get (), "carol", nullptr,
          &error));
  cid = fv_gallery_get_identity (g.get (), "carol", NULL);
  EXPECT_EQ (cid->display_name, nullptr);
  fv_gallery_identity_free (cid);
  EXPECT_FALSE (fv_gallery_set_display_name (g.get (), "nobody", "x",
          &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);
}

TEST (Gallery, ExportImportRoundTrip)
{
  std::string dir = Fresh ("json");
  GalleryPtr g = Create (Path (dir, "a.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (6);
  EnrollRandom (g.get (), "alice", 2, rng, FV_GALLERY_ENROLL_APPEND,
      "Alice \"Quoted\" \\ O'Hara");
  EnrollRandom (g.get (), "bob,comma", 1, rng);
  GError *error = nullptr;
  gsize len = 0;
  g_autofree char *json = fv_gallery_export_json (g.get (), &len, &error);
  ASSERT_TRUE (json) << error->message;
  EXPECT_EQ (len, strlen (json));
  EXPECT_NE (strstr (json, "\"format\": \"gst-faceverify-gallery-export\""),
      nullptr);

  g_autofree char *fp = nullptr;
  guint dim = 0;
  ASSERT_TRUE (fv_gallery_json_get_model (json, -1, &fp, &dim, &error));
  EXPECT_STREQ (fp, kFp);
  EXPECT_EQ (dim, kDim);

  GalleryPtr h = Create (Path (dir, "b.db"));
  ASSERT_TRUE (h);
  guint n_ids = 0, n_samples = 0;
  ASSERT_TRUE (fv_gallery_import_json (h.get (), json, (gssize) len,
          FV_GALLERY_ENROLL_NEW_ONLY, &n_ids, &n_samples, &error))
      << error->message;
  EXPECT_EQ (n_ids, 2u);
  EXPECT_EQ (n_samples, 3u);

  // Everything comes back: labels, names, times, exact float32 values.
  GPtrArray *la = fv_gallery_list (g.get (), nullptr);
  GPtrArray *lb = fv_gallery_list (h.get (), nullptr);
  ASSERT_EQ (la->len, lb->len);
  for (guint i = 0; i < la->len; i++) {
    auto *x = (FvGalleryIdentity *) la->pdata[i];
    auto *y = (FvGalleryIdentity *) lb->pdata[i];
    EXPECT_STREQ (x->label, y->label);
    EXPECT_STREQ (x->display_name, y->display_name);
    EXPECT_EQ (x->created, y->created);
    EXPECT_EQ (x->updated, y->updated);
    EXPECT_EQ (x->n_samples, y->n_samples);
    GPtrArray *sa = fv_gallery_get_samples (g.get (), x->label, nullptr);
    GPtrArray *sb = fv_gallery_get_samples (h.get (), y->label, nullptr);
    ASSERT_EQ (sa->len, sb->len);
    for (guint k = 0; k < sa->len; k++) {
      auto *p = (FvGallerySampleInfo *) sa->pdata[k];
      auto *q = (FvGallerySampleInfo *) sb->pdata[k];
      EXPECT_EQ (0, memcmp (p->embedding, q->embedding, kDim * 4));
      EXPECT_FLOAT_EQ (p->quality, q->quality);
      EXPECT_STREQ (p->source, q->source);
      EXPECT_EQ (p->created, q->created);
    }
    g_ptr_array_unref (sa);
    g_ptr_array_unref (sb);
  }
  g_ptr_array_unref (la);
  g_ptr_array_unref (lb);

  // Again: NEW_ONLY refuses as a whole, APPEND doubles, REPLACE keeps.
  EXPECT_FALSE (fv_gallery_import_json (h.get (), json, -1,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_EXISTS);
  g_clear_error (&error);
  EXPECT_EQ (Counts (h.get ())["alice"], 2u);
  ASSERT_TRUE (fv_gallery_import_json (h.get (), json, -1,
          FV_GALLERY_ENROLL_APPEND, nullptr, nullptr, &error));
  EXPECT_EQ (Counts (h.get ())["alice"], 4u);
  ASSERT_TRUE (fv_gallery_import_json (h.get (), json, -1,
          FV_GALLERY_ENROLL_REPLACE, nullptr, nullptr, &error));
  EXPECT_EQ (Counts (h.get ())["alice"], 2u);

  // An empty gallery exports and imports too.
  GalleryPtr e = Create (Path (dir, "empty.db"));
  g_autofree char *ej = fv_gallery_export_json (e.get (), nullptr, &error);
  ASSERT_TRUE (ej);
  ASSERT_TRUE (fv_gallery_import_json (h.get (), ej, -1,
          FV_GALLERY_ENROLL_NEW_ONLY, &n_ids, nullptr, &error));
  EXPECT_EQ (n_ids, 0u);
}

TEST (Gallery, ImportRefusesBadJson)
{
  std::string dir = Fresh ("json-bad");
  GalleryPtr g = Create (Path (dir, "g.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (7);
  EnrollRandom (g.get (), "alice", 1, rng);
  g_autofree char *json = fv_gallery_export_json (g.get (), nullptr, nullptr);
  ASSERT_TRUE (json);
  std::string good = json;
  GalleryPtr h = Create (Path (dir, "h.db"));
  GalleryPtr h64 = Create (Path (dir, "h64.db"), 64);

  auto replace = [&](const std::string &from, const std::string &to) {
    std::string s = good;
    size_t at = s.find (from);
    EXPECT_NE (at, std::string::npos) << from;
    if (at != std::string::npos)
      s.replace (at, from.size (), to);
    return s;
  };
  struct Case
  {
    std::string text;
    FvGallery *into;
    int code;
  } cases[] = {
    {"", h.get (), FV_GALLERY_ERROR_INVALID},
    {"{\"format\":", h.get (), FV_GALLERY_ERROR_INVALID},
    {"[1,2,3]", h.get (), FV_GALLERY_ERROR_INVALID},
    {good.substr (0, good.size () / 2), h.get (), FV_GALLERY_ERROR_INVALID},
    {replace ("gst-faceverify-gallery-export", "other"), h.get (),
        FV_GALLERY_ERROR_INVALID},
    {replace ("\"version\": 1", "\"version\": 2"), h.get (),
        FV_GALLERY_ERROR_INVALID},
    {replace (kFp, kOtherFp), h.get (), FV_GALLERY_ERROR_MODEL_MISMATCH},
    {replace ("\"metric\": \"cosine\"", "\"metric\": \"l2\""), h.get (),
        FV_GALLERY_ERROR_MODEL_MISMATCH},
    {good, h64.get (), FV_GALLERY_ERROR_DIM_MISMATCH},
    {replace ("\"embedding\": [", "\"embedding\": [0.5,"), h.get (),
        FV_GALLERY_ERROR_INVALID},
    {replace ("\"embedding\": [", "\"embedding\": [\"x\","), h.get (),
        FV_GALLERY_ERROR_INVALID},
    {replace ("\"label\": \"alice\"", "\"label\": 5"), h.get (),
        FV_GALLERY_ERROR_INVALID},
    {replace ("\"label\": \"alice\"", "\"label\": \"\""), h.get (),
        FV_GALLERY_ERROR_INVALID},
    {replace ("\"samples\": [", "\"samples\": [], \"x\": ["), h.get (),
        FV_GALLERY_ERROR_INVALID},
    {replace ("\"created\": \"", "\"created\": \"not a time"), h.get (),
        FV_GALLERY_ERROR_INVALID},
  };
  for (const auto &c : cases) {
    GError *error = nullptr;
    EXPECT_FALSE (fv_gallery_import_json (c.into, c.text.data (),
            (gssize) c.text.size (), FV_GALLERY_ENROLL_NEW_ONLY, nullptr,
            nullptr, &error)) << c.text.substr (0, 200);
    EXPECT_GALLERY_ERROR (error, c.code);
    g_clear_error (&error);
  }
  EXPECT_TRUE (Counts (h.get ()).empty ());
  EXPECT_TRUE (Counts (h64.get ()).empty ());
  g_autofree char *fp = nullptr;
  guint dim = 0;
  GError *error = nullptr;
  EXPECT_FALSE (fv_gallery_json_get_model ("{}", -1, &fp, &dim, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
  g_clear_error (&error);
}

// ------------------------------------------------------------------------
// Refusals when opening
// ------------------------------------------------------------------------

// Makes a gallery of @n identities (2 samples each), fully checkpointed
// into the main file (no -wal left).
void
MakeGallery (const std::string &path, guint n, guint dim = kDim)
{
  GalleryPtr g = Create (path, dim);
  ASSERT_TRUE (g);
  std::mt19937 rng (n);
  std::vector<std::vector<float>> v;
  std::vector<FvGallerySample> s (2 * n);
  std::vector<FvGalleryEnrollment> e (n);
  std::vector<std::string> labels (n);
  for (guint i = 0; i < 2 * n; i++)
    v.push_back (RandomUnit (rng, dim));
  for (guint i = 0; i < n; i++) {
    labels[i] = "person" + std::to_string (i);
    s[2 * i] = { v[2 * i].data (), 1.0f, "a.png" };
    s[2 * i + 1] = { v[2 * i + 1].data (), 1.0f, "b.png" };
    e[i] = { labels[i].c_str (), nullptr, &s[2 * i], 2 };
  }
  GError *error = nullptr;
  ASSERT_TRUE (fv_gallery_enroll_batch (g.get (), e.data (), n,
          FV_GALLERY_ENROLL_NEW_ONLY, &error)) << error->message;
}

// Tries every way of opening @path that could damage it: must fail with
// @code and leave the bytes as they were.
void
ExpectRefused (const std::string &path, int code, const char *what)
{
  SCOPED_TRACE (what);
  std::vector<unsigned char> before = fvtest::ReadFile (path);
  const FvGalleryOpenFlags modes[] = { FV_GALLERY_OPEN_READ_ONLY,
    FV_GALLERY_OPEN_READ_WRITE, FV_GALLERY_OPEN_CREATE
  };
  for (FvGalleryOpenFlags mode : modes) {
    GError *error = nullptr;
    GalleryPtr g = Open (path, mode, kFp, kDim, &error);
    if (g) {
      // Some damage only shows when the data is read.
      EXPECT_FALSE (fv_gallery_reload (g.get (), &error))
          << "mode " << mode << ": opened and loaded";
    }
    EXPECT_GALLERY_ERROR (error, code);
    g_clear_error (&error);
  }
  EXPECT_TRUE (fvtest::ReadFile (path) == before) << "the file was changed";
}

TEST (GalleryRefuse, MissingFileFolderAndEmptyFile)
{
  std::string dir = Fresh ("refuse-missing");
  GError *error = nullptr;
  GalleryPtr g = Open (Path (dir, "nope.db"), FV_GALLERY_OPEN_READ_ONLY,
      kFp, kDim, &error);
  EXPECT_FALSE (g);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g = Open (Path (dir, "nope.db"), FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
      &error);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  EXPECT_FALSE (g_file_test (Path (dir, "nope.db").c_str (),
          G_FILE_TEST_EXISTS));
  g = Open (Path (dir, "no/such/folder/g.db"), FV_GALLERY_OPEN_CREATE, kFp,
      kDim, &error);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g = Open (dir, FV_GALLERY_OPEN_CREATE, kFp, kDim, &error);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_IO);
  g_clear_error (&error);

  std::string empty = Path (dir, "empty.db");
  WriteBytes (empty, {});
  g = Open (empty, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_NOT_GALLERY);
  g_clear_error (&error);
  // Creating into an empty file is fine: there is nothing to lose.
  g = Open (empty, FV_GALLERY_OPEN_CREATE, kFp, kDim, &error);
  EXPECT_TRUE (g) << error->message;
}

TEST (GalleryRefuse, RandomBytesAndOtherFiles)
{
  std::string dir = Fresh ("refuse-bytes");
  std::mt19937 rng (8);
  std::vector<unsigned char> random (65536);
  for (auto &b : random)
    b = (unsigned char) rng ();
  std::string p = Path (dir, "random.db");
  WriteBytes (p, random);
  ExpectRefused (p, FV_GALLERY_ERROR_NOT_GALLERY, "random bytes");

  std::string png = Path (dir, "image.db");
  WriteBytes (png, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0,
          13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0});
  ExpectRefused (png, FV_GALLERY_ERROR_NOT_GALLERY, "a PNG");

  std::string text = Path (dir, "text.db");
  std::string t = "label,embedding\nalice,0.1 0.2\n";
  WriteBytes (text, std::vector<unsigned char> (t.begin (), t.end ()));
  ExpectRefused (text, FV_GALLERY_ERROR_NOT_GALLERY, "a text file");

  std::string shortf = Path (dir, "short.db");
  std::string hdr = "SQLite format 3";
  std::vector<unsigned char> sb (hdr.begin (), hdr.end ());
  sb.push_back (0);
  sb.resize (50, 0xab);
  WriteBytes (shortf, sb);
  ExpectRefused (shortf, FV_GALLERY_ERROR_CORRUPT, "a truncated header");

  // An SQLite database of another application.
  std::string other = Path (dir, "other.db");
  Sql (other, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
  Sql (other, "INSERT INTO notes (text) VALUES ('keep me')");
  ExpectRefused (other, FV_GALLERY_ERROR_NOT_GALLERY, "another database");
  EXPECT_EQ (Sql (other, "SELECT text FROM notes"), "keep me");

  // A 'meta' table but not ours.
  std::string meta = Path (dir, "meta.db");
  Sql (meta, "CREATE TABLE meta (key TEXT, value TEXT)");
  Sql (meta, "PRAGMA user_version = 1");
  ExpectRefused (meta, FV_GALLERY_ERROR_NOT_GALLERY, "someone else's meta");
}

TEST (GalleryRefuse, OtherModelDimensionMetricAndNewerSchema)
{
  std::string dir = Fresh ("refuse-model");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 3);
  std::vector<unsigned char> before = fvtest::ReadFile (path);
  const FvGalleryOpenFlags modes[] = { FV_GALLERY_OPEN_READ_ONLY,
    FV_GALLERY_OPEN_READ_WRITE, FV_GALLERY_OPEN_CREATE
  };
  for (FvGalleryOpenFlags mode : modes) {
    GError *error = nullptr;
    GalleryPtr g = Open (path, mode, kOtherFp, kDim, &error);
    EXPECT_FALSE (g);
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_MODEL_MISMATCH);
    EXPECT_NE (strstr (error->message, "another model"), nullptr)
        << error->message;
    g_clear_error (&error);
    g = Open (path, mode, kFp, 128, &error);
    EXPECT_FALSE (g);
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_DIM_MISMATCH);
    g_clear_error (&error);
  }
  EXPECT_TRUE (fvtest::ReadFile (path) == before);

  std::string metric = Path (dir, "metric.db");
  MakeGallery (metric, 1);
  Sql (metric, "UPDATE meta SET value = 'l2' WHERE key = 'metric'");
  ExpectRefused (metric, FV_GALLERY_ERROR_MODEL_MISMATCH, "another metric");

  std::string newer = Path (dir, "newer.db");
  MakeGallery (newer, 1);
  Sql (newer, "PRAGMA user_version = 99");
  ExpectRefused (newer, FV_GALLERY_ERROR_VERSION, "a newer schema");

  std::string nodim = Path (dir, "nodim.db");
  MakeGallery (nodim, 1);
  Sql (nodim, "DELETE FROM meta WHERE key = 'dim'");
  {
    GError *error = nullptr;
    GalleryPtr g = Open (nodim, FV_GALLERY_OPEN_READ_ONLY, nullptr, 0,
        &error);
    EXPECT_FALSE (g);
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_CORRUPT);
    g_clear_error (&error);
  }

  // A bad blob written behind the library's back: that row is left out
  // and named, never used; the rest loads.
  std::string blob = Path (dir, "blob.db");
  MakeGallery (blob, 2);
  Sql (blob, "UPDATE samples SET embedding = x'0011' WHERE id = 2");
  GError *error = nullptr;
  GalleryPtr g = Open (blob, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_TRUE (g) << error->message;
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
  SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_samples (snap.get ()), 3u);
  ASSERT_EQ (fv_gallery_snapshot_get_n_skipped (snap.get ()), 1u);
  EXPECT_NE (strstr (fv_gallery_snapshot_get_skipped (snap.get (), 0),
          "sample 2 "), nullptr);
}

TEST (GalleryRefuse, TruncatedFiles)
{
  std::string dir = Fresh ("refuse-truncated");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 400);
  std::vector<unsigned char> full = fvtest::ReadFile (path);
  ASSERT_GT (full.size (), 40000u);
  ASSERT_FALSE (g_file_test ((path + "-wal").c_str (), G_FILE_TEST_EXISTS));
  const size_t page = 4096;
  std::vector<size_t> cuts = { 99, 100, 1000, page, page + 1, 2 * page,
    full.size () / 2, full.size () - page, full.size () - 1
  };
  for (size_t cut : cuts) {
    std::string p = Path (dir, "cut.db");
    WriteBytes (p, std::vector<unsigned char> (full.begin (),
            full.begin () + cut));
    ExpectRefused (p, FV_GALLERY_ERROR_CORRUPT,
        ("cut at " + std::to_string (cut)).c_str ());
    g_unlink (p.c_str ());
  }
}

TEST (GalleryRefuse, DamagedPages)
{
  std::string dir = Fresh ("refuse-damaged");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 400);
  std::vector<unsigned char> full = fvtest::ReadFile (path);
  const size_t page = 4096, n_pages = full.size () / page;
  std::mt19937 rng (9);

  // Garbage over every page but the first: any read hits it.
  {
    std::vector<unsigned char> b = full;
    for (size_t i = page; i < b.size (); i++)
      b[i] = (unsigned char) rng ();
    std::string p = Path (dir, "all.db");
    WriteBytes (p, b);
    ExpectRefused (p, FV_GALLERY_ERROR_CORRUPT, "all pages damaged");
  }
  // A broken page size in the header.
  {
    std::vector<unsigned char> b = full;
    b[16] = 0x12;
    b[17] = 0x34;
    std::string p = Path (dir, "header.db");
    WriteBytes (p, b);
    ExpectRefused (p, FV_GALLERY_ERROR_CORRUPT, "bad page size");
  }
  // One damaged page at a time: writers refuse (integrity check); readers
  // either refuse or load everything, never fewer identities.
  for (size_t k = 1; k < n_pages; k += std::max<size_t> (1, n_pages / 12)) {
    SCOPED_TRACE ("page " + std::to_string (k + 1));
    std::vector<unsigned char> b = full;
    for (size_t i = k * page + 8; i < (k + 1) * page - 8; i++)
      b[i] = (unsigned char) rng ();
    std::string p = Path (dir, "page.db");
    WriteBytes (p, b);
    GError *error = nullptr;
    GalleryPtr w = Open (p, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim, &error);
    EXPECT_FALSE (w);
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_CORRUPT);
    g_clear_error (&error);
    GalleryPtr r = Open (p, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
    if (r && fv_gallery_reload (r.get (), &error)) {
      SnapPtr s (fv_gallery_get_snapshot (r.get ()));
      EXPECT_EQ (fv_gallery_snapshot_get_n_identities (s.get ()), 400u);
      EXPECT_EQ (fv_gallery_snapshot_get_n_samples (s.get ()), 800u);
    } else {
      ASSERT_NE (error, nullptr);
      EXPECT_EQ (error->domain, FV_GALLERY_ERROR);
      EXPECT_TRUE (error->code == FV_GALLERY_ERROR_CORRUPT
          || error->code == FV_GALLERY_ERROR_NOT_GALLERY) << error->message;
    }
    g_clear_error (&error);
    r.reset ();
    EXPECT_TRUE (fvtest::ReadFile (p) == b) << "the file was changed";
    g_unlink (p.c_str ());
  }
}

TEST (GalleryRefuse, ChangesThroughReadOnlyHandle)
{
  std::string dir = Fresh ("refuse-ro-handle");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 2);
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_TRUE (g);
  std::vector<float> v (kDim, 0.1f);
  FvGallerySample s = { v.data (), 1.0f, nullptr };
  FvGalleryEnrollment e = { "x", nullptr, &s, 1 };
  EXPECT_FALSE (fv_gallery_enroll (g.get (), "x", nullptr, &s, 1,
          FV_GALLERY_ENROLL_APPEND, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_READ_ONLY);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_enroll_batch (g.get (), &e, 1,
          FV_GALLERY_ENROLL_APPEND, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_READ_ONLY);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_remove (g.get (), "person0", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_READ_ONLY);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_rename (g.get (), "person0", "p", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_READ_ONLY);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_set_display_name (g.get (), "person0", "p",
          &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_READ_ONLY);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_import_json (g.get (), "{}", -1,
          FV_GALLERY_ENROLL_APPEND, nullptr, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_READ_ONLY);
  g_clear_error (&error);
  EXPECT_EQ (Counts (g.get ()).size (), 2u);
}

// Runs @body in a child process as an unprivileged user (root ignores
// file permissions); returns its exit status, or -1 if that is impossible.
template <typename F>
int
RunUnprivileged (F body)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  if (uid == 0) {
    struct passwd *pw = getpwnam ("nobody");
    if (pw == nullptr)
      return -1;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  fflush (nullptr);
  pid_t pid = fork ();
  if (pid == 0) {
    if (geteuid () == 0 && (setgid (gid) != 0 || setuid (uid) != 0))
      _exit (77);
    _exit (body ());
  }
  int status = 0;
  waitpid (pid, &status, 0);
  if (!WIFEXITED (status))
    return -2;
  return WEXITSTATUS (status) == 77 ? -1 : WEXITSTATUS (status);
}

TEST (GalleryRefuse, ReadOnlyLocation)
{
  std::string dir = Fresh ("refuse-ro-location");
  std::string ro = Path (dir, "ro");
  ASSERT_EQ (g_mkdir (ro.c_str (), 0755), 0);
  std::string path = Path (ro, "g.db");
  MakeGallery (path, 3);
  std::string rofile = Path (dir, "rofile.db");
  MakeGallery (rofile, 1);
  g_chmod (rofile.c_str (), 0444);
  g_chmod (ro.c_str (), 0555);

  int status = RunUnprivileged ([&]() {
        int fails = 0;
        GError *error = nullptr;
        // The build folder may not be open to other users: then skip.
        if (access (path.c_str (), R_OK) != 0)
          return 77;
        // Writing a gallery in a read-only folder: refused, clearly.
        GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
            &error);
        if (g || !g_error_matches (error, FV_GALLERY_ERROR,
                FV_GALLERY_ERROR_READ_ONLY))
          fails |= 1;
        g_clear_error (&error);
        g = Open (Path (ro, "new.db"), FV_GALLERY_OPEN_CREATE, kFp, kDim,
            &error);
        if (g || !g_error_matches (error, FV_GALLERY_ERROR,
                FV_GALLERY_ERROR_READ_ONLY))
          fails |= 2;
        g_clear_error (&error);
        g = Open (rofile, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim, &error);
        if (g || !g_error_matches (error, FV_GALLERY_ERROR,
                FV_GALLERY_ERROR_READ_ONLY))
          fails |= 4;
        g_clear_error (&error);
        // Reading it works (WAL without -shm: read as immutable).
        g = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
        if (!g || !fv_gallery_reload (g.get (), &error)) {
          fprintf (stderr, "read-only open: %s\n", error ? error->message
              : "?");
          fails |= 8;
        }
        else {
          SnapPtr s (fv_gallery_get_snapshot (g.get ()));
          if (fv_gallery_snapshot_get_n_identities (s.get ()) != 3)
            fails |= 16;
          if (fv_gallery_needs_reload (g.get ()))
            fails |= 32;
        }
        g_clear_error (&error);
        return fails;
      });
  g_chmod (ro.c_str (), 0755);
  if (status == -1)
    GTEST_SKIP () << "cannot run as an unprivileged user";
  EXPECT_EQ (status, 0) << "failed checks (bits): " << status;
  EXPECT_FALSE (g_file_test (Path (ro, "new.db").c_str (),
          G_FILE_TEST_EXISTS));
}

// ------------------------------------------------------------------------
// Schema versions
// ------------------------------------------------------------------------

// A version 1 gallery, written by hand as the first release did.
void
MakeV1 (const std::string &path, std::vector<std::vector<float>> &vecs)
{
  sqlite3 *db = nullptr;
  ASSERT_EQ (sqlite3_open (path.c_str (), &db), SQLITE_OK);
  const char *schema =
      "PRAGMA journal_mode = WAL;"
      "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
      "CREATE TABLE identities (id INTEGER PRIMARY KEY,"
      "  label TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
      "CREATE TABLE samples (id INTEGER PRIMARY KEY,"
      "  identity_id INTEGER NOT NULL REFERENCES identities (id)"
      "  ON DELETE CASCADE, embedding BLOB NOT NULL,"
      "  created INTEGER NOT NULL);"
      "CREATE INDEX samples_by_identity ON samples (identity_id);"
      "INSERT INTO meta VALUES ('format', 'gst-faceverify-gallery'),"
      "  ('dim', '192'), ('metric', 'cosine'), ('generation', '7'),"
      "  ('model_sha256', '" "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b"
      "');"
      "INSERT INTO identities VALUES (1, 'ada', 1000), (2, 'grace', 2000);"
      "PRAGMA user_version = 1;";
  ASSERT_EQ (sqlite3_exec (db, schema, nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg (db);
  std::mt19937 rng (10);
  sqlite3_stmt *st = nullptr;
  sqlite3_prepare_v2 (db, "INSERT INTO samples (identity_id, embedding, "
      "created) VALUES (?1, ?2, ?3)", -1, &st, nullptr);
  for (int i = 0; i < 3; i++) {
    vecs.push_back (RandomUnit (rng));
    std::vector<unsigned char> le (kDim * 4);
    for (guint k = 0; k < kDim; k++) {
      guint32 u;
      memcpy (&u, &vecs.back ()[k], 4);
      for (int b = 0; b < 4; b++)
        le[4 * k + b] = (unsigned char) (u >> (8 * b));
    }
    sqlite3_reset (st);
    sqlite3_bind_int (st, 1, i < 2 ? 1 : 2);
    sqlite3_bind_blob (st, 2, le.data (), (int) le.size (), SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 3, 1000 + i);
    ASSERT_EQ (sqlite3_step (st), SQLITE_DONE);
  }
  sqlite3_finalize (st);
  sqlite3_close (db);
}

TEST (GallerySchema, ReadsVersion1AndMigratesIt)
{
  std::string dir = Fresh ("schema");
  std::string path = Path (dir, "v1.db");
  std::vector<std::vector<float>> vecs;
  MakeV1 (path, vecs);
  ASSERT_EQ (Sql (path, "PRAGMA user_version"), "1");

  // Read-only: read as it is, not changed.
  {
    GError *error = nullptr;
    GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
    ASSERT_TRUE (g) << error->message;
    EXPECT_EQ (fv_gallery_get_schema_version (g.get ()), 1u);
    auto c = Counts (g.get ());
    EXPECT_EQ (c["ada"], 2u);
    EXPECT_EQ (c["grace"], 1u);
    FvGalleryIdentity *id = fv_gallery_get_identity (g.get (), "grace",
        nullptr);
    ASSERT_TRUE (id);
    EXPECT_EQ (id->created, 2000);
    EXPECT_EQ (id->updated, 2000);
    EXPECT_EQ (id->display_name, nullptr);
    fv_gallery_identity_free (id);
    GPtrArray *s = fv_gallery_get_samples (g.get (), "ada", &error);
    ASSERT_TRUE (s);
    EXPECT_LT (((FvGallerySampleInfo *) s->pdata[0])->quality, 0.0f);
    EXPECT_EQ (((FvGallerySampleInfo *) s->pdata[0])->source, nullptr);
    EXPECT_NEAR (((FvGallerySampleInfo *) s->pdata[1])->embedding[5],
        vecs[1][5], 1e-6);
    g_ptr_array_unref (s);
    ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
    SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
    EXPECT_EQ (fv_gallery_snapshot_get_n_samples (snap.get ()), 3u);
    EXPECT_EQ (fv_gallery_snapshot_get_generation (snap.get ()), 7u);
    FvGalleryMatch m;
    fv_gallery_snapshot_match (snap.get (), vecs[2].data (), 1, 0.5f, 0.0f,
        &m);
    EXPECT_STREQ (m.label, "grace");
    EXPECT_NEAR (m.similarity, 1.0f, 1e-5);
    g_autofree char *json = fv_gallery_export_json (g.get (), nullptr,
        &error);
    EXPECT_TRUE (json) << error->message;
  }
  EXPECT_EQ (Sql (path, "PRAGMA user_version"), "1");

  // Read-write: migrated in place, nothing lost.
  {
    GError *error = nullptr;
    GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
        &error);
    ASSERT_TRUE (g) << error->message;
    EXPECT_EQ (fv_gallery_get_schema_version (g.get ()), 2u);
    auto c = Counts (g.get ());
    EXPECT_EQ (c["ada"], 2u);
    EXPECT_EQ (c["grace"], 1u);
    std::mt19937 rng (11);
    EnrollRandom (g.get (), "ada", 1, rng, FV_GALLERY_ENROLL_APPEND,
        "Ada Lovelace");
    FvGalleryIdentity *id = fv_gallery_get_identity (g.get (), "ada",
        nullptr);
    EXPECT_STREQ (id->display_name, "Ada Lovelace");
    EXPECT_EQ (id->n_samples, 3u);
    EXPECT_EQ (id->created, 1000);
    fv_gallery_identity_free (id);
  }
  EXPECT_EQ (Sql (path, "PRAGMA user_version"), "2");
  EXPECT_EQ (Sql (path, "SELECT updated FROM identities WHERE label = "
          "'grace'"), "2000");
  EXPECT_EQ (Sql (path, "PRAGMA integrity_check"), "ok");
  GError *error = nullptr;
  GalleryPtr again = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim,
      &error);
  ASSERT_TRUE (again);
  EXPECT_EQ (fv_gallery_get_schema_version (again.get ()), 2u);
}

// ------------------------------------------------------------------------
// Matching
// ------------------------------------------------------------------------

struct Brute
{
  int index;
  double sim;
  double margin;
};

Brute
BruteMatch (const std::vector<std::vector<float>> &rows,
    const std::vector<int> &row_id, int n_ids, const float *q, guint dim)
{
  std::vector<double> best (n_ids, -2.0);
  double qq = 0;
  for (guint k = 0; k < dim; k++)
    qq += (double) q[k] * q[k];
  for (size_t r = 0; r < rows.size (); r++) {
    double d = 0, rr = 0;
    for (guint k = 0; k < dim; k++) {
      d += (double) rows[r][k] * q[k];
      rr += (double) rows[r][k] * rows[r][k];
    }
    d /= std::sqrt (rr * qq);
    best[row_id[r]] = std::max (best[row_id[r]], d);
  }
  int bi = (int) (std::max_element (best.begin (), best.end ()) -
      best.begin ());
  double second = -1.0;
  for (int i = 0; i < n_ids; i++)
    if (i != bi)
      second = std::max (second, best[i]);
  return { bi, best[bi], best[bi] - second };
}

// The half-float scan of large snapshots gives the float scan's results
// bit for bit: random queries, noisy members, near ties between two
// identities, and a crowd of near-copies that overflows the re-rank's
// candidate list (that query is scanned again in float).
TEST (GalleryMatch, HalfScanGivesTheFloatResults)
{
  std::mt19937 rng (11);
  const guint dim = 128, n_ids = 5000, crowd = 400;
  std::vector<std::string> labels;
  std::vector<const char *> label_ptrs;
  std::vector<guint> counts;
  std::vector<float> flat;
  std::vector<float> centre = RandomUnit (rng, dim);

  for (guint i = 0; i < n_ids; i++) {
    const guint n = 1 + i % 3;
    labels.push_back ("id" + std::to_string (i));
    counts.push_back (n);
    for (guint k = 0; k < n; k++) {
      std::vector<float> v = RandomUnit (rng, dim);
      if (i < crowd)            // the crowd: all within ~1e-3 of centre
        for (guint d = 0; d < dim; d++)
          v[d] = centre[d] + 1e-4f * v[d];
      flat.insert (flat.end (), v.begin (), v.end ());
    }
  }
  for (auto &l : labels)
    label_ptrs.push_back (l.c_str ());
  SnapPtr snap (fv_gallery_snapshot_new (dim, n_ids, label_ptrs.data (),
          flat.data (), counts.data ()));
  ASSERT_TRUE (snap);
  ASSERT_TRUE (fv_gallery_snapshot_has_half (snap.get ()));

  const guint n_q = (guint) (400 / fvtest::SampleEvery ()) + 8;
  std::vector<float> queries;
  for (guint i = 0; i < n_q; i++) {
    std::vector<float> q = RandomUnit (rng, dim);
    const float *a = &flat[(rng () % (flat.size () / dim)) * dim];
    const float *b = &flat[(rng () % (flat.size () / dim)) * dim];
    for (guint d = 0; d < dim; d++) {
      switch (i % 4) {
        case 0:                // unrelated
          break;
        case 1:                // a noisy member
          q[d] = a[d] + 0.5f * q[d];
          break;
        case 2:                // half way between two rows: a near tie
          q[d] = a[d] + b[d] + 1e-4f * q[d];
          break;
        default:               // the crowd
          q[d] = centre[d] + 1e-3f * q[d];
          break;
      }
    }
    queries.insert (queries.end (), q.begin (), q.end ());
  }
  // The reference: the same rows in a float matrix (the snapshot keeps
  // half floats and residuals; its float scan rebuilds the rows).
  SnapPtr ref (fv_gallery_snapshot_copy_float (snap.get ()));
  ASSERT_FALSE (fv_gallery_snapshot_has_half (ref.get ()));
  std::vector<FvGalleryMatch> f (n_q), h (n_q), r (n_q);
  // In batches of three (the kernels take up to four queries per pass).
  for (guint s = 0; s < n_q; s += 3) {
    fv_gallery_snapshot_match_with (snap.get (), FV_GALLERY_SCAN_FLOAT,
        &queries[s * dim], std::min (3u, n_q - s), 0.5f, 0.01f, &f[s]);
    fv_gallery_snapshot_match_with (snap.get (), FV_GALLERY_SCAN_HALF,
        &queries[s * dim], std::min (3u, n_q - s), 0.5f, 0.01f, &h[s]);
    fv_gallery_snapshot_match_with (ref.get (), FV_GALLERY_SCAN_FLOAT,
        &queries[s * dim], std::min (3u, n_q - s), 0.5f, 0.01f, &r[s]);
  }
  guint known = 0, crowd_hits = 0;
  for (guint i = 0; i < n_q; i++) {
    EXPECT_EQ (h[i].index, f[i].index) << "query " << i;
    EXPECT_EQ (h[i].known, f[i].known) << "query " << i;
    // bit for bit, not nearly
    EXPECT_EQ (h[i].similarity, f[i].similarity) << "query " << i;
    EXPECT_EQ (h[i].margin, f[i].margin) << "query " << i;
    EXPECT_EQ (f[i].index, r[i].index) << "query " << i;
    EXPECT_EQ (f[i].known, r[i].known) << "query " << i;
    EXPECT_EQ (f[i].similarity, r[i].similarity) << "query " << i;
    EXPECT_EQ (f[i].margin, r[i].margin) << "query " << i;
    known += f[i].known;
    crowd_hits += i % 4 == 3 && f[i].index >= 0 && f[i].index < (gint) crowd;
  }
  EXPECT_GT (known, 0u);        // the noisy members are found
  EXPECT_GT (crowd_hits, 0u);   // the crowd queries did reach the crowd
}

// The shared pairs (reference embeddings of the aligned crops): one side
// of every pair enrolled among 12,000 random people, the other side
// matched; the half scan decides every pair as the float scan does.
TEST (GalleryMatch, HalfScanDecidesTheSharedPairsAsFloat)
{
  FV_SKIP_WITHOUT_SHARED ("golden/dev_faces_reference_embeddings.csv");
  FV_SKIP_WITHOUT_SHARED ("data/faces");

  std::map<std::string, std::vector<float>> ref =
      fvtest::ReferenceEmbeddings ();
  ASSERT_GT (ref.size (), 100u);
  const guint dim = (guint) ref.begin ()->second.size ();

  std::vector<std::string> labels;
  std::vector<float> flat;
  std::map<std::string, guint> enrolled;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const char *source : { "deepface", "face_recognition", "faceapi_bbt",
          "openface"}) {
    for (auto &row : fvtest::ReadCsv (fvtest::SharedPath (
                std::string ("data/faces/") + source + "/pairs.csv"))) {
      std::string a = std::string (source) + "/" + row["a"];
      std::string b = std::string (source) + "/" + row["b"];
      if (!ref.count (a) || !ref.count (b))
        continue;
      pairs.emplace_back (a, b);
      if (!enrolled.count (a)) {
        enrolled[a] = (guint) labels.size ();
        labels.push_back (a);
        flat.insert (flat.end (), ref[a].begin (), ref[a].end ());
      }
    }
  }
  ASSERT_GT (pairs.size (), 100u);
  std::mt19937 rng (5);
  while (labels.size () < 12000) {
    std::vector<float> v = RandomUnit (rng, dim);
    labels.push_back ("random" + std::to_string (labels.size ()));
    flat.insert (flat.end (), v.begin (), v.end ());
  }
  std::vector<const char *> label_ptrs;
  for (auto &l : labels)
    label_ptrs.push_back (l.c_str ());
  SnapPtr snap (fv_gallery_snapshot_new (dim, (guint) labels.size (),
          label_ptrs.data (), flat.data (), NULL));
  ASSERT_TRUE (fv_gallery_snapshot_has_half (snap.get ()));
  // the same rows in a float matrix: the float scan of before
  SnapPtr floats (fv_gallery_snapshot_copy_float (snap.get ()));

  guint same = 0;
  for (auto &p : pairs) {
    FvGalleryMatch f, h;
    fv_gallery_snapshot_match_with (floats.get (), FV_GALLERY_SCAN_FLOAT,
        ref[p.second].data (), 1, FV_GALLERY_DEFAULT_MATCH_THRESHOLD,
        FV_GALLERY_DEFAULT_MATCH_MARGIN, &f);
    fv_gallery_snapshot_match_with (snap.get (), FV_GALLERY_SCAN_HALF,
        ref[p.second].data (), 1, FV_GALLERY_DEFAULT_MATCH_THRESHOLD,
        FV_GALLERY_DEFAULT_MATCH_MARGIN, &h);
    EXPECT_EQ (h.index, f.index) << p.first << " " << p.second;
    EXPECT_EQ (h.known, f.known) << p.first << " " << p.second;
    EXPECT_EQ (h.similarity, f.similarity) << p.first << " " << p.second;
    EXPECT_EQ (h.margin, f.margin) << p.first << " " << p.second;
    same += f.known && f.index == (gint) enrolled[p.first];
  }
  EXPECT_GT (same, 0u);
}

TEST (GalleryMatch, AgreesWithBruteForce)
{
  for (guint dim : { 1u, 7u, 16u, 100u, 129u, 192u }) {
    SCOPED_TRACE ("dim " + std::to_string (dim));
    std::mt19937 rng (dim);
    const int n_ids = 300;
    std::vector<std::vector<float>> rows;
    std::vector<int> row_id;
    std::vector<guint> counts (n_ids);
    std::vector<std::string> labels (n_ids);
    std::vector<const char *> label_ptrs (n_ids);
    std::vector<float> flat;
    for (int i = 0; i < n_ids; i++) {
      counts[i] = 1 + rng () % 3;
      labels[i] = "id" + std::to_string (i);
      label_ptrs[i] = labels[i].c_str ();
      for (guint k = 0; k < counts[i]; k++) {
        rows.push_back (RandomUnit (rng, dim));
        // Stored vectors need not be normalised: the snapshot does it.
        for (auto &x : rows.back ())
          x *= 2.0f;
        row_id.push_back (i);
        flat.insert (flat.end (), rows.back ().begin (), rows.back ().end ());
      }
    }
    SnapPtr snap (fv_gallery_snapshot_new (dim, n_ids, label_ptrs.data (),
            flat.data (), counts.data ()));
    ASSERT_TRUE (snap);
    EXPECT_EQ (fv_gallery_snapshot_get_n_samples (snap.get ()), rows.size ());
    EXPECT_EQ (fv_gallery_snapshot_get_n_identities (snap.get ()),
        (guint) n_ids);

    const guint n_q = 23;
    std::vector<float> queries;
    for (guint i = 0; i < n_q; i++) {
      std::vector<float> q = RandomUnit (rng, dim);
      if (i % 2 == 0) {         // near a gallery row
        const auto &r = rows[rng () % rows.size ()];
        for (guint k = 0; k < dim; k++)
          q[k] = 0.3f * q[k] + r[k];
      }
      queries.insert (queries.end (), q.begin (), q.end ());
    }
    std::vector<FvGalleryMatch> one (n_q), batch (n_q);
    for (guint i = 0; i < n_q; i++)
      fv_gallery_snapshot_match (snap.get (), &queries[i * dim], 1, 0.5f,
          0.05f, &one[i]);
    // Every batch size, up to and beyond the kernel's four.
    for (guint b = 2; b <= 7; b++) {
      for (guint s = 0; s < n_q; s += b)
        fv_gallery_snapshot_match (snap.get (), &queries[s * dim],
            std::min (b, n_q - s), 0.5f, 0.05f, &batch[s]);
      for (guint i = 0; i < n_q; i++) {
        EXPECT_EQ (batch[i].index, one[i].index) << "batch " << b;
        EXPECT_FLOAT_EQ (batch[i].similarity, one[i].similarity);
        EXPECT_FLOAT_EQ (batch[i].margin, one[i].margin);
      }
    }
    for (guint i = 0; i < n_q; i++) {
      Brute ref = BruteMatch (rows, row_id, n_ids, &queries[i * dim], dim);
      const FvGalleryMatch &m = one[i];
      if (std::fabs (ref.margin) > 1e-4 || dim == 1) {
        EXPECT_EQ (m.index, ref.index) << "query " << i;
      }
      EXPECT_NEAR (m.similarity, ref.sim, 2e-5) << "query " << i;
      EXPECT_NEAR (m.margin, ref.margin, 4e-5) << "query " << i;
      if (m.index >= 0) {
        EXPECT_STREQ (m.label, labels[m.index].c_str ());
        EXPECT_EQ (m.identity_id, m.index + 1);
      }
      EXPECT_EQ (m.known, m.similarity >= 0.5f && m.margin >= 0.05f);
    }
  }
}

TEST (GalleryMatch, DecisionsAndEdgeCases)
{
  std::mt19937 rng (12);
  std::vector<float> a = RandomUnit (rng), b = RandomUnit (rng);
  std::vector<float> flat (a);
  flat.insert (flat.end (), b.begin (), b.end ());
  const char *labels[] = { "a", "b" };
  SnapPtr two (fv_gallery_snapshot_new (kDim, 2, labels, flat.data (),
          nullptr));
  SnapPtr one (fv_gallery_snapshot_new (kDim, 1, labels, a.data (), nullptr));
  SnapPtr none (fv_gallery_snapshot_new (kDim, 0, nullptr, nullptr,
          nullptr));
  FvGalleryMatch m;

  // A query equal to a: similarity 1, margin 1 - cos (a, b).
  fv_gallery_snapshot_match (two.get (), a.data (), 1, 0.9f, 0.1f, &m);
  EXPECT_EQ (m.index, 0);
  EXPECT_STREQ (m.label, "a");
  EXPECT_NEAR (m.similarity, 1.0f, 1e-5);
  EXPECT_NEAR (m.margin, 1.0f - fv_cosine (a.data (), b.data (), kDim), 1e-5);
  EXPECT_TRUE (m.known);
  // The same query, scaled: the same result.
  std::vector<float> scaled (a);
  for (auto &x : scaled)
    x *= 1000.0f;
  FvGalleryMatch m2;
  fv_gallery_snapshot_match (two.get (), scaled.data (), 1, 0.9f, 0.1f, &m2);
  EXPECT_EQ (m2.index, 0);
  EXPECT_NEAR (m2.similarity, m.similarity, 1e-6);
  // Threshold and margin decide.
  fv_gallery_snapshot_match (two.get (), a.data (), 1, 1.01f, 0.0f, &m);
  EXPECT_FALSE (m.known);
  fv_gallery_snapshot_match (two.get (), a.data (), 1, 0.0f, 1.99f, &m);
  EXPECT_FALSE (m.known);
  // Halfway between a and b: similar to both, no margin.
  std::vector<float> mid (kDim);
  for (guint k = 0; k < kDim; k++)
    mid[k] = a[k] + b[k];
  fv_gallery_snapshot_match (two.get (), mid.data (), 1, 0.3f, 0.05f, &m);
  EXPECT_GT (m.similarity, 0.6f);
  EXPECT_LT (m.margin, 1e-5);
  EXPECT_FALSE (m.known);
  // One identity: the second-best is taken as -1.
  fv_gallery_snapshot_match (one.get (), a.data (), 1, 0.5f, 0.05f, &m);
  EXPECT_NEAR (m.margin, 2.0f, 1e-5);
  EXPECT_TRUE (m.known);
  // Empty gallery, zero query, NaN query: no identity, not known.
  fv_gallery_snapshot_match (none.get (), a.data (), 1, -1.0f, 0.0f, &m);
  EXPECT_EQ (m.index, -1);
  EXPECT_EQ (m.label, nullptr);
  EXPECT_EQ (m.identity_id, -1);
  EXPECT_FALSE (m.known);
  std::vector<float> zero (kDim, 0.0f), nan_q (a);
  nan_q[3] = NAN;
  fv_gallery_snapshot_match (two.get (), zero.data (), 1, -1.0f, 0.0f, &m);
  EXPECT_EQ (m.index, -1);
  EXPECT_FALSE (m.known);
  fv_gallery_snapshot_match (two.get (), nan_q.data (), 1, -1.0f, 0.0f, &m);
  EXPECT_EQ (m.index, -1);
  EXPECT_FALSE (m.known);
  EXPECT_EQ (fv_gallery_snapshot_get_generation (two.get ()), 0u);
  EXPECT_EQ (fv_gallery_snapshot_get_identity_id (two.get (), 1), 2);
  EXPECT_EQ (fv_gallery_snapshot_get_display_name (two.get (), 1), nullptr);
  EXPECT_NE (fv_gallery_scan_kernel_name (), nullptr);
}

TEST (GalleryMatch, FromTheFile)
{
  std::string dir = Fresh ("match-file");
  GalleryPtr g = Create (Path (dir, "g.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (13);
  auto alice = EnrollRandom (g.get (), "alice", 3, rng,
      FV_GALLERY_ENROLL_APPEND, "Alice");
  auto bob = EnrollRandom (g.get (), "bob", 2, rng);
  EnrollRandom (g.get (), "carol", 1, rng);
  GError *error = nullptr;
  EXPECT_EQ (fv_gallery_get_snapshot (g.get ()), nullptr);
  EXPECT_TRUE (fv_gallery_needs_reload (g.get ()));
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
  SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
  ASSERT_TRUE (snap);
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (snap.get ()), 3u);
  EXPECT_EQ (fv_gallery_snapshot_get_n_samples (snap.get ()), 6u);
  EXPECT_EQ (fv_gallery_snapshot_get_generation (snap.get ()), 3u);
  // Each sample finds its own identity: the best over its samples.
  std::vector<float> q;
  for (auto &v : alice)
    q.insert (q.end (), v.begin (), v.end ());
  q.insert (q.end (), bob[1].begin (), bob[1].end ());
  FvGalleryMatch m[4];
  fv_gallery_snapshot_match (snap.get (), q.data (), 4, 0.9f, 0.05f, m);
  for (int i = 0; i < 3; i++) {
    EXPECT_STREQ (m[i].label, "alice");
    EXPECT_NEAR (m[i].similarity, 1.0f, 1e-5);
    EXPECT_TRUE (m[i].known);
  }
  EXPECT_STREQ (m[3].label, "bob");
  FvGalleryIdentity *id = fv_gallery_get_identity (g.get (), "bob", nullptr);
  EXPECT_EQ (m[3].identity_id, id->id);
  EXPECT_STREQ (fv_gallery_snapshot_get_display_name (snap.get (),
          (guint) m[0].index), "Alice");
  fv_gallery_identity_free (id);
}

// ------------------------------------------------------------------------
// Reloading
// ------------------------------------------------------------------------

TEST (GalleryReload, NoticesChangesAndSwapsSnapshots)
{
  std::string dir = Fresh ("reload");
  std::string path = Path (dir, "g.db");
  GalleryPtr w = Create (path);
  ASSERT_TRUE (w);
  std::mt19937 rng (14);
  EnrollRandom (w.get (), "alice", 1, rng);
  EnrollRandom (w.get (), "bob", 1, rng);
  GError *error = nullptr;
  GalleryPtr r = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_TRUE (r);
  ASSERT_TRUE (fv_gallery_reload (r.get (), &error));
  EXPECT_FALSE (fv_gallery_needs_reload (r.get ()));
  SnapPtr old (fv_gallery_get_snapshot (r.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (old.get ()), 2u);
  guint64 gen = fv_gallery_snapshot_get_generation (old.get ());

  // A change through another connection.
  auto carol = EnrollRandom (w.get (), "carol", 1, rng);
  EXPECT_TRUE (fv_gallery_needs_reload (r.get ()));
  EXPECT_TRUE (fv_gallery_needs_reload (r.get ()));     // until reloaded
  ASSERT_TRUE (fv_gallery_reload (r.get (), &error));
  EXPECT_FALSE (fv_gallery_needs_reload (r.get ()));
  SnapPtr cur (fv_gallery_get_snapshot (r.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (cur.get ()), 3u);
  EXPECT_EQ (fv_gallery_snapshot_get_generation (cur.get ()), gen + 1);
  // The old snapshot is untouched and still usable.
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (old.get ()), 2u);
  FvGalleryMatch m;
  fv_gallery_snapshot_match (old.get (), carol[0].data (), 1, 0.9f, 0.0f, &m);
  EXPECT_FALSE (m.known);
  fv_gallery_snapshot_match (cur.get (), carol[0].data (), 1, 0.9f, 0.0f, &m);
  EXPECT_TRUE (m.known);
  EXPECT_STREQ (m.label, "carol");

  // Changes through the handle itself count too.
  ASSERT_TRUE (fv_gallery_reload (w.get (), &error));
  EXPECT_FALSE (fv_gallery_needs_reload (w.get ()));
  ASSERT_TRUE (fv_gallery_remove (w.get (), "alice", &error));
  EXPECT_TRUE (fv_gallery_needs_reload (w.get ()));
  EXPECT_TRUE (fv_gallery_needs_reload (r.get ()));
  ASSERT_TRUE (fv_gallery_reload (r.get (), &error));
  cur.reset (fv_gallery_get_snapshot (r.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (cur.get ()), 2u);

  // The file replaced by another gallery (e.g. copied over it).
  std::string other = Path (dir, "other.db");
  MakeGallery (other, 5);
  ASSERT_EQ (g_rename (other.c_str (), path.c_str ()), 0);
  g_unlink ((path + "-wal").c_str ());
  g_unlink ((path + "-shm").c_str ());
  EXPECT_TRUE (fv_gallery_needs_reload (r.get ()));
  ASSERT_TRUE (fv_gallery_reload (r.get (), &error)) << error->message;
  cur.reset (fv_gallery_get_snapshot (r.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (cur.get ()), 5u);
  EXPECT_FALSE (fv_gallery_needs_reload (r.get ()));

  // ... or by a gallery of another model: the reload fails, the old
  // snapshot stays.
  std::string wrong = Path (dir, "wrong.db");
  {
    GalleryPtr x = Open (wrong, FV_GALLERY_OPEN_CREATE, kOtherFp, kDim);
    ASSERT_TRUE (x);
  }
  ASSERT_EQ (g_rename (wrong.c_str (), path.c_str ()), 0);
  EXPECT_TRUE (fv_gallery_needs_reload (r.get ()));
  EXPECT_FALSE (fv_gallery_reload (r.get (), &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_MODEL_MISMATCH);
  g_clear_error (&error);
  cur.reset (fv_gallery_get_snapshot (r.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (cur.get ()), 5u);
}

// ------------------------------------------------------------------------
// Watching a location (what the element asks while it plays)
// ------------------------------------------------------------------------

struct WatchDeleter
{
  void operator() (FvGalleryWatch *w) const { fv_gallery_watch_free (w); }
};
using WatchPtr = std::unique_ptr<FvGalleryWatch, WatchDeleter>;

// One check: its status, and the new snapshot's identity count (or -1).
struct Check
{
  FvGalleryWatchStatus status;
  int n_identities;
  int error_code;
};

Check
CheckWatch (FvGalleryWatch *w)
{
  FvGallerySnapshot *snap = nullptr;
  GError *error = nullptr;
  Check c;
  c.status = fv_gallery_watch_check (w, &snap, &error);
  c.n_identities = snap ? (int) fv_gallery_snapshot_get_n_identities (snap)
      : -1;
  c.error_code = error ? error->code : -1;
  EXPECT_EQ (snap != nullptr, c.status == FV_GALLERY_WATCH_LOADED);
  EXPECT_EQ (error != nullptr, c.status == FV_GALLERY_WATCH_MISSING
      || c.status == FV_GALLERY_WATCH_FAILED);
  EXPECT_TRUE (!error || strstr (error->message, "g.db")) << error->message;
  if (snap)
    fv_gallery_snapshot_unref (snap);
  g_clear_error (&error);
  return c;
}

// Copies @from's bytes over @to's, keeping @to's inode (as `cp` does: the
// file is truncated first).
void
OverwriteInPlace (const std::string &from, const std::string &to)
{
  gchar *bytes = nullptr;
  gsize len = 0;
  ASSERT_TRUE (g_file_get_contents (from.c_str (), &bytes, &len, nullptr));
  FILE *f = fopen (to.c_str (), "wb");
  ASSERT_NE (f, nullptr);
  ASSERT_EQ (fwrite (bytes, 1, len, f), len);
  fclose (f);
  g_free (bytes);
}

ino_t
Inode (const std::string &path)
{
  GStatBuf st;
  EXPECT_EQ (g_stat (path.c_str (), &st), 0);
  return st.st_ino;
}

TEST (GalleryWatch, UnchangedGalleryIsLoadedOnce)
{
  std::string dir = Fresh ("watch-same");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 3);
  WatchPtr w (fv_gallery_watch_new (path.c_str (), kFp, kDim));
  EXPECT_STREQ (fv_gallery_watch_get_path (w.get ()), path.c_str ());
  Check c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_LOADED);
  EXPECT_EQ (c.n_identities, 3);
  for (int i = 0; i < 3; i++)
    EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);
  // Reading it from elsewhere changes nothing either.
  GalleryPtr r = Open (path, FV_GALLERY_OPEN_READ_ONLY);
  ASSERT_TRUE (r);
  ASSERT_TRUE (fv_gallery_reload (r.get (), nullptr));
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);
}

TEST (GalleryWatch, NoticesCommitsOfOtherConnections)
{
  std::string dir = Fresh ("watch-commit");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 2);
  WatchPtr w (fv_gallery_watch_new (path.c_str (), kFp, kDim));
  EXPECT_EQ (CheckWatch (w.get ()).n_identities, 2);
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE);
  ASSERT_TRUE (g);
  std::mt19937 rng (3);
  EnrollRandom (g.get (), "carol", 1, rng);
  Check c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_LOADED);
  EXPECT_EQ (c.n_identities, 3);
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);
}

TEST (GalleryWatch, NoticesAFileReplacedByRename)
{
  std::string dir = Fresh ("watch-rename");
  std::string path = Path (dir, "g.db");
  std::string other = Path (dir, "other.db");
  MakeGallery (path, 2);
  MakeGallery (other, 5);
  WatchPtr w (fv_gallery_watch_new (path.c_str (), kFp, kDim));
  EXPECT_EQ (CheckWatch (w.get ()).n_identities, 2);
  ASSERT_EQ (g_rename (other.c_str (), path.c_str ()), 0);
  Check c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_LOADED);
  EXPECT_EQ (c.n_identities, 5);
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);

  // A replacement of another model: reported once, then left alone.
  std::string wrong = Path (dir, "wrong.db");
  {
    GalleryPtr x = Open (wrong, FV_GALLERY_OPEN_CREATE, kOtherFp, kDim);
    ASSERT_TRUE (x);
  }
  ASSERT_EQ (g_rename (wrong.c_str (), path.c_str ()), 0);
  c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_FAILED);
  EXPECT_EQ (c.error_code, FV_GALLERY_ERROR_MODEL_MISMATCH);
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);
}

TEST (GalleryWatch, NoticesAFileRewrittenInPlace)
{
  std::string dir = Fresh ("watch-inplace");
  std::string path = Path (dir, "g.db");
  std::string other = Path (dir, "other.db");
  MakeGallery (path, 2);
  MakeGallery (other, 40);
  WatchPtr w (fv_gallery_watch_new (path.c_str (), kFp, kDim));
  EXPECT_EQ (CheckWatch (w.get ()).n_identities, 2);
  ino_t ino = Inode (path);
  OverwriteInPlace (other, path);
  ASSERT_EQ (Inode (path), ino);
  Check c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_LOADED);
  EXPECT_EQ (c.n_identities, 40);
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);

  // Junk written over it: reported once; the snapshot handed out before
  // stays valid.
  std::vector<unsigned char> junk (8192, 'x');
  WriteBytes (other, junk);
  OverwriteInPlace (other, path);
  ASSERT_EQ (Inode (path), ino);
  c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_FAILED);
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);
}

TEST (GalleryWatch, NoticesADeletedFileAndOneThatAppears)
{
  std::string dir = Fresh ("watch-deleted");
  std::string path = Path (dir, "g.db");
  WatchPtr w (fv_gallery_watch_new (path.c_str (), kFp, kDim));
  Check c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_MISSING);
  EXPECT_EQ (c.error_code, FV_GALLERY_ERROR_NOT_FOUND);
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);

  std::string tmp = Path (dir, "tmp.db");
  MakeGallery (tmp, 4);
  ASSERT_EQ (g_rename (tmp.c_str (), path.c_str ()), 0);
  c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_LOADED);
  EXPECT_EQ (c.n_identities, 4);

  ASSERT_EQ (g_unlink (path.c_str ()), 0);
  c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_MISSING);
  EXPECT_EQ (c.error_code, FV_GALLERY_ERROR_NOT_FOUND);
  EXPECT_EQ (CheckWatch (w.get ()).status, FV_GALLERY_WATCH_UNCHANGED);

  // Back again: loaded afresh.
  MakeGallery (tmp, 6);
  ASSERT_EQ (g_rename (tmp.c_str (), path.c_str ()), 0);
  c = CheckWatch (w.get ());
  EXPECT_EQ (c.status, FV_GALLERY_WATCH_LOADED);
  EXPECT_EQ (c.n_identities, 6);
}

TEST (GalleryReload, MatchingNeverWaitsForReloads)
{
  std::string dir = Fresh ("reload-threads");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 2000);
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim, &error);
  ASSERT_TRUE (g) << error->message;
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error));
  std::atomic<bool> stop (false);
  std::atomic<int> matches (0), bad (0);
  std::mt19937 rng (15);
  std::vector<float> q = RandomUnit (rng);

  std::thread matcher ([&]() {
        while (!stop) {
          FvGallerySnapshot *s = fv_gallery_get_snapshot (g.get ());
          FvGalleryMatch m;
          fv_gallery_snapshot_match (s, q.data (), 1, 0.5f, 0.0f, &m);
          if (m.index < 0 || m.label == nullptr
              || strncmp (m.label, "person", 6) != 0)
            bad++;
          fv_gallery_needs_reload (g.get ());
          fv_gallery_snapshot_unref (s);
          matches++;
        }
      });
  guint64 longest_reload = 0;
  for (int i = 0; i < 10; i++) {
    std::mt19937 r2 (100 + i);
    EnrollRandom (g.get (), ("new" + std::to_string (i)).c_str (), 1, r2);
    gint64 t0 = g_get_monotonic_time ();
    ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
    longest_reload = std::max<guint64> (longest_reload,
        g_get_monotonic_time () - t0);
  }
  // While a reload reads the file, matching goes on: the matcher ran many
  // times during the reloads.
  int before = matches;
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error));
  stop = true;
  matcher.join ();
  EXPECT_EQ (bad, 0);
  EXPECT_GT (matches, 10);
  (void) before;
  SnapPtr s (fv_gallery_get_snapshot (g.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (s.get ()), 2010u);
}

// ------------------------------------------------------------------------
// Several processes
// ------------------------------------------------------------------------

constexpr guint kSamplesPerIdentity = 3;

// In a child: enrolls @n identities with kSamplesPerIdentity samples each,
// one transaction each.
int
WriterChild (const std::string &path, const std::string &prefix, guint n,
    guint batch, guint delay_us)
{
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_CREATE, kFp, kDim, &error);
  if (!g)
    return 10;
  std::mt19937 rng (getpid ());
  for (guint i = 0; n == 0 || i < n; i++) {
    std::vector<std::string> labels (batch);
    std::vector<std::vector<float>> v (batch * kSamplesPerIdentity);
    std::vector<FvGallerySample> s (batch * kSamplesPerIdentity);
    std::vector<FvGalleryEnrollment> e (batch);
    for (guint b = 0; b < batch; b++) {
      labels[b] = prefix + std::to_string (i) + "_" + std::to_string (b);
      for (guint k = 0; k < kSamplesPerIdentity; k++) {
        guint j = b * kSamplesPerIdentity + k;
        v[j] = RandomUnit (rng);
        s[j] = { v[j].data (), 1.0f, labels[b].c_str () };
      }
      e[b] = { labels[b].c_str (), nullptr, &s[b * kSamplesPerIdentity],
        kSamplesPerIdentity };
    }
    if (!fv_gallery_enroll_batch (g.get (), e.data (), batch,
            FV_GALLERY_ENROLL_NEW_ONLY, &error))
      return 11;
    if (delay_us)
      g_usleep (delay_us);
  }
  return 0;
}

// In a child: reads while another process writes; every view it gets must
// be whole.
int
ReaderChild (const std::string &path, gint64 until_us)
{
  GError *error = nullptr;
  GalleryPtr g;
  while (!g && g_get_monotonic_time () < until_us) {
    g = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
    g_clear_error (&error);
    if (!g)
      g_usleep (1000);
  }
  if (!g)
    return 20;
  guint64 last_gen = 0;
  guint reloads = 0;
  while (g_get_monotonic_time () < until_us) {
    if (fv_gallery_needs_reload (g.get ())) {
      if (!fv_gallery_reload (g.get (), &error)) {
        fprintf (stderr, "reader: %s\n", error->message);
        return 21;
      }
      reloads++;
      FvGallerySnapshot *s = fv_gallery_get_snapshot (g.get ());
      guint n_ids = fv_gallery_snapshot_get_n_identities (s);
      guint n_samples = fv_gallery_snapshot_get_n_samples (s);
      guint64 gen = fv_gallery_snapshot_get_generation (s);
      fv_gallery_snapshot_unref (s);
      if (n_samples != n_ids * kSamplesPerIdentity)
        return 22;
      if (gen < last_gen)
        return 23;
      last_gen = gen;
    }
    auto counts = Counts (g.get ());
    for (auto &kv : counts)
      if (kv.second != kSamplesPerIdentity)
        return 24;
    g_usleep (500);
  }
  return reloads > 1 ? 0 : 25;
}

TEST (GalleryProcesses, ReadersWhileOneWrites)
{
  std::string dir = Fresh ("processes");
  std::string path = Path (dir, "g.db");
  { GalleryPtr g = Create (path); }
  gint64 until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  fflush (nullptr);
  std::vector<pid_t> readers;
  for (int i = 0; i < 3; i++) {
    pid_t pid = fork ();
    ASSERT_GE (pid, 0);
    if (pid == 0)
      _exit (ReaderChild (path, until));
    readers.push_back (pid);
  }
  pid_t writer = fork ();
  ASSERT_GE (writer, 0);
  if (writer == 0)
    _exit (WriterChild (path, "w", 60, 1, 20000));
  int status = 0;
  waitpid (writer, &status, 0);
  ASSERT_TRUE (WIFEXITED (status));
  EXPECT_EQ (WEXITSTATUS (status), 0) << "writer";
  for (pid_t pid : readers) {
    waitpid (pid, &status, 0);
    ASSERT_TRUE (WIFEXITED (status));
    EXPECT_EQ (WEXITSTATUS (status), 0) << "reader (see ReaderChild codes)";
  }
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_TRUE (g) << error->message;
  EXPECT_EQ (Counts (g.get ()).size (), 60u);
}

TEST (GalleryProcesses, SurvivesSigkillMidEnrollment)
{
  std::string dir = Fresh ("sigkill");
  std::string path = Path (dir, "g.db");
  { GalleryPtr g = Create (path); }
  std::mt19937 rng (16);
  size_t committed = 0;
  const int rounds = 40;
  for (int round = 0; round < rounds; round++) {
    SCOPED_TRACE ("round " + std::to_string (round));
    // Half the rounds enroll one identity per transaction, half batches of
    // five.
    guint batch = round % 2 ? 5 : 1;
    std::string prefix = "r" + std::to_string (round) + "_";
    fflush (nullptr);
    pid_t pid = fork ();
    ASSERT_GE (pid, 0);
    if (pid == 0)
      _exit (WriterChild (path, prefix, 0, batch, 0));
    g_usleep (2000 + rng () % 60000);
    kill (pid, SIGKILL);
    int status = 0;
    waitpid (pid, &status, 0);
    ASSERT_TRUE (WIFSIGNALED (status)) << "the writer stopped by itself: "
        << (WIFEXITED (status) ? WEXITSTATUS (status) : -1);

    EXPECT_EQ (Sql (path, "PRAGMA integrity_check"), "ok");
    GError *error = nullptr;
    GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
        &error);
    ASSERT_TRUE (g) << error->message;
    auto counts = Counts (g.get ());
    // Every identity whole; every batch whole; nothing committed lost.
    std::map<std::string, guint> per_batch;
    for (auto &kv : counts) {
      EXPECT_EQ (kv.second, kSamplesPerIdentity) << kv.first;
      per_batch[kv.first.substr (0, kv.first.rfind ('_'))]++;
    }
    for (auto &kv : per_batch) {
      guint b = kv.first.find ('_') != std::string::npos
          && std::stoi (kv.first.substr (1)) % 2 ? 5 : 1;
      EXPECT_EQ (kv.second, b) << kv.first;
    }
    EXPECT_GE (counts.size (), committed);
    committed = counts.size ();
    ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
    SnapPtr s (fv_gallery_get_snapshot (g.get ()));
    EXPECT_EQ (fv_gallery_snapshot_get_n_samples (s.get ()),
        counts.size () * kSamplesPerIdentity);
  }
  EXPECT_GT (committed, (size_t) rounds) << "the children committed little";
  std::cout << "[          ] " << rounds << " writers killed; "
      << committed << " identities committed, each whole\n";
}


// ------------------------------------------------------------------------
// A writer killed during a checkpoint: SQLite recovers, so must we
// ------------------------------------------------------------------------

// Whether the main file is shorter than its header says: what a checkpoint
// leaves when it is killed after writing page 1 and before the last page.
bool
TornByCheckpoint (const std::string &path)
{
  unsigned char h[100];
  FILE *f = fopen (path.c_str (), "rb");
  if (!f)
    return false;
  size_t n = fread (h, 1, sizeof h, f);
  fseek (f, 0, SEEK_END);
  long size = ftell (f);
  fclose (f);
  if (n < sizeof h)
    return false;
  auto be32 = [&](int o) {
    return ((guint32) h[o] << 24) | ((guint32) h[o + 1] << 16)
        | ((guint32) h[o + 2] << 8) | h[o + 3];
  };
  guint64 page = ((guint) h[16] << 8) | h[17];
  if (page == 1)
    page = 65536;
  return be32 (24) == be32 (92) && (guint64) size < be32 (28) * page;
}

// In a child: enrols batches and checkpoints the WAL into the main file,
// again and again, until killed.
int
CheckpointChild (const std::string &path, const std::string &prefix)
{
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim, &error);
  if (!g)
    return 10;
  sqlite3 *db = nullptr;
  if (sqlite3_open (path.c_str (), &db) != SQLITE_OK)
    return 12;
  sqlite3_busy_timeout (db, 10000);
  std::mt19937 rng (getpid ());
  const guint batch = 40;
  for (guint i = 0;; i++) {
    std::vector<std::string> labels (batch);
    std::vector<std::vector<float>> v (batch * kSamplesPerIdentity);
    std::vector<FvGallerySample> s (batch * kSamplesPerIdentity);
    std::vector<FvGalleryEnrollment> e (batch);
    for (guint b = 0; b < batch; b++) {
      labels[b] = prefix + std::to_string (i) + "_" + std::to_string (b);
      for (guint k = 0; k < kSamplesPerIdentity; k++) {
        guint j = b * kSamplesPerIdentity + k;
        v[j] = RandomUnit (rng);
        s[j] = { v[j].data (), 1.0f, nullptr };
      }
      e[b] = { labels[b].c_str (), nullptr, &s[b * kSamplesPerIdentity],
        kSamplesPerIdentity };
    }
    if (!fv_gallery_enroll_batch (g.get (), e.data (), batch,
            FV_GALLERY_ENROLL_NEW_ONLY, &error))
      return 11;
    sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr,
        nullptr);
  }
  return 0;
}

int
RunToolStatus (const std::vector<std::string> &args, std::string *err)
{
  const char *tool = g_getenv ("FV_FACEVERIFY");
  if (!tool || !*tool)
    return 0;
  std::vector<char *> argv;
  argv.push_back (const_cast<char *>(tool));
  for (const auto &a : args)
    argv.push_back (const_cast<char *>(a.c_str ()));
  argv.push_back (nullptr);
  char *e = nullptr;
  int status = 0;
  gboolean ok = g_spawn_sync (nullptr, argv.data (), nullptr,
      G_SPAWN_STDOUT_TO_DEV_NULL, nullptr, nullptr, nullptr, &e, &status,
      nullptr);
  *err = e ? e : "";
  g_free (e);
  return ok && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

TEST (GalleryProcesses, SurvivesSigkillDuringCheckpoint)
{
  std::string dir = Fresh ("sigkill-checkpoint");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 300);
  std::mt19937 rng (17);
  size_t committed = 300;
  guint torn = 0, rounds = 0;
  const gint64 until = g_get_monotonic_time () + 40 * G_USEC_PER_SEC;
  for (int round = 0; round < 60 && g_get_monotonic_time () < until;
      round++, rounds++) {
    SCOPED_TRACE ("round " + std::to_string (round));
    std::string prefix = "c" + std::to_string (round) + "_";
    fflush (nullptr);
    pid_t pid = fork ();
    ASSERT_GE (pid, 0);
    if (pid == 0)
      _exit (CheckpointChild (path, prefix));
    // Kill the moment the main file is torn by a checkpoint, or after a
    // random while.
    gint64 deadline = g_get_monotonic_time () + 5000 + rng () % 120000;
    bool hit = false;
    while (!hit && g_get_monotonic_time () < deadline)
      hit = TornByCheckpoint (path);
    kill (pid, SIGKILL);
    int status = 0;
    waitpid (pid, &status, 0);
    ASSERT_TRUE (WIFSIGNALED (status)) << "the writer stopped by itself: "
        << (WIFEXITED (status) ? WEXITSTATUS (status) : -1);
    if (hit && TornByCheckpoint (path))
      torn++;

    // Every tool opens it, readers first (a read-only open does not
    // checkpoint), and nothing committed is lost.
    GError *error = nullptr;
    {
      GalleryPtr r = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim,
          &error);
      ASSERT_TRUE (r) << error->message;
      ASSERT_TRUE (fv_gallery_reload (r.get (), &error)) << error->message;
      SnapPtr s (fv_gallery_get_snapshot (r.get ()));
      EXPECT_GE (fv_gallery_snapshot_get_n_identities (s.get ()), committed);
    }
    std::string err;
    EXPECT_EQ (RunToolStatus ({"gallery", "list", "--gallery", path}, &err),
        0) << err;
    GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
        &error);
    ASSERT_TRUE (g) << error->message;
    auto counts = Counts (g.get ());
    std::map<std::string, guint> per_batch;
    for (auto &kv : counts) {
      if (kv.first.rfind ("person", 0) == 0)
        continue;
      EXPECT_EQ (kv.second, kSamplesPerIdentity) << kv.first;
      per_batch[kv.first.substr (0, kv.first.rfind ('_'))]++;
    }
    for (auto &kv : per_batch)
      EXPECT_EQ (kv.second, 40u) << kv.first << ": a batch cut in two";
    EXPECT_GE (counts.size (), committed);
    committed = counts.size ();
    ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
  }
  EXPECT_EQ (Sql (path, "PRAGMA integrity_check"), "ok");
  std::cout << "[          ] " << rounds << " writers killed, " << torn
      << " of them mid-checkpoint (main file shorter than its header); "
      << committed << " identities, none lost\n";
}

// ------------------------------------------------------------------------
// A gallery is untrusted input: the schema allow-list, check and repair
// ------------------------------------------------------------------------

// A little-endian float32 blob as an SQL literal: x'…'.
std::string
BlobLiteral (const std::vector<float> &v)
{
  std::string s = "x'";
  char hex[3];
  for (float f : v) {
    guint32 u;
    memcpy (&u, &f, 4);
    for (int b = 0; b < 4; b++) {
      snprintf (hex, sizeof hex, "%02x", (unsigned) ((u >> (8 * b)) & 0xff));
      s += hex;
    }
  }
  return s + "'";
}

// Every mode refuses @path with UNSAFE and a message naming @object; the
// file is not changed.
void
ExpectUnsafe (const std::string &path, const char *object)
{
  SCOPED_TRACE (object);
  std::vector<unsigned char> before = fvtest::ReadFile (path);
  const FvGalleryOpenFlags modes[] = { FV_GALLERY_OPEN_READ_ONLY,
    FV_GALLERY_OPEN_READ_WRITE, FV_GALLERY_OPEN_CREATE
  };
  for (FvGalleryOpenFlags mode : modes) {
    GError *error = nullptr;
    GalleryPtr g = Open (path, mode, kFp, kDim, &error);
    EXPECT_FALSE (g) << "mode " << mode << ": opened";
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_UNSAFE);
    if (error) {
      EXPECT_NE (strstr (error->message, object), nullptr) << error->message;
    }
    g_clear_error (&error);
  }
  EXPECT_TRUE (fvtest::ReadFile (path) == before) << "the file was changed";
}

TEST (GalleryUntrusted, TriggersViewsAndExtraObjectsAreRefused)
{
  std::string dir = Fresh ("untrusted-schema");
  std::mt19937 rng (31);
  struct Case
  {
    const char *name;
    std::string sql;
  } cases[] = {
    {"wipe", "CREATE TRIGGER wipe AFTER INSERT ON samples BEGIN "
          "DELETE FROM identities; END"},
    {"plant", "CREATE TRIGGER plant AFTER INSERT ON identities BEGIN "
          "INSERT INTO samples (identity_id, embedding, created) VALUES "
          "(NEW.id, " + BlobLiteral (RandomUnit (rng)) + ", 0); END"},
    {"everyone", "CREATE VIEW everyone AS SELECT label FROM identities"},
    {"notes", "CREATE TABLE notes (x TEXT)"},
    {"by_label_again", "CREATE INDEX by_label_again ON identities (label)"},
  };
  for (const auto &c : cases) {
    std::string path = Path (dir, (std::string (c.name) + ".db").c_str ());
    MakeGallery (path, 2);
    Sql (path, c.sql);
    ExpectUnsafe (path, c.name);
  }
}

TEST (GalleryUntrusted, TriggerPlantedAfterOpeningRunsNothing)
{
  std::string dir = Fresh ("untrusted-later");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 3);
  std::mt19937 rng (32);
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim, &error);
  ASSERT_TRUE (g) << error->message;
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
  // Another process adds a trigger while the handle is open.
  Sql (path, "CREATE TRIGGER wipe AFTER INSERT ON samples BEGIN "
      "DELETE FROM identities; END");
  std::vector<float> v = RandomUnit (rng);
  FvGallerySample s = { v.data (), 1.0f, nullptr };
  EXPECT_FALSE (fv_gallery_enroll (g.get (), "admin", nullptr, &s, 1,
          FV_GALLERY_ENROLL_APPEND, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_UNSAFE);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_remove (g.get (), "person0", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_UNSAFE);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_reload (g.get (), &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_UNSAFE);
  g_clear_error (&error);
  EXPECT_EQ (Sql (path, "SELECT count(*) FROM identities"), "3");
  EXPECT_EQ (Sql (path, "SELECT count(*) FROM samples"), "6");
}

TEST (GalleryUntrusted, CheckReportsAndRepairCopiesIntoACleanGallery)
{
  std::string dir = Fresh ("untrusted-repair");
  std::string path = Path (dir, "bad.db");
  MakeGallery (path, 4);
  Sql (path, "CREATE TRIGGER wipe AFTER INSERT ON samples BEGIN "
      "DELETE FROM identities; END");
  Sql (path, "CREATE VIEW everyone AS SELECT label FROM identities");
  GError *error = nullptr;

  GPtrArray *problems = fv_gallery_check_file (path.c_str (), &error);
  ASSERT_TRUE (problems) << error->message;
  std::string all;
  for (guint i = 0; i < problems->len; i++)
    all += std::string ((const char *) problems->pdata[i]) + "\n";
  g_ptr_array_unref (problems);
  EXPECT_NE (all.find ("trigger \"wipe\""), std::string::npos) << all;
  EXPECT_NE (all.find ("view \"everyone\""), std::string::npos) << all;

  std::string good = Path (dir, "good.db");
  MakeGallery (good, 2);
  problems = fv_gallery_check_file (good.c_str (), &error);
  ASSERT_TRUE (problems) << error->message;
  EXPECT_EQ (problems->len, 0u);
  g_ptr_array_unref (problems);

  std::string fresh = Path (dir, "fresh.db");
  guint n_ids = 0, n_samples = 0, n_skipped = 7;
  std::vector<unsigned char> before = fvtest::ReadFile (path);
  ASSERT_TRUE (fv_gallery_repair (path.c_str (), fresh.c_str (), &n_ids,
          &n_samples, &n_skipped, &error)) << error->message;
  EXPECT_EQ (n_ids, 4u);
  EXPECT_EQ (n_samples, 8u);
  EXPECT_EQ (n_skipped, 0u);
  EXPECT_TRUE (fvtest::ReadFile (path) == before) << "the source was changed";
  EXPECT_EQ (Sql (fresh, "SELECT count(*) FROM sqlite_schema WHERE type IN "
          "('trigger', 'view')"), "0");
  {
    GalleryPtr g = Open (fresh, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim,
        &error);
    ASSERT_TRUE (g) << error->message;
    auto c = Counts (g.get ());
    EXPECT_EQ (c.size (), 4u);
    EXPECT_EQ (c["person3"], 2u);
  }
  // The embeddings are the same ones.
  EXPECT_EQ (Sql (fresh, "SELECT hex(embedding) FROM samples ORDER BY id"),
      Sql (path, "SELECT hex(embedding) FROM samples ORDER BY id"));
  // Never onto an existing file, never onto the source.
  EXPECT_FALSE (fv_gallery_repair (path.c_str (), good.c_str (), nullptr,
          nullptr, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_EXISTS);
  g_clear_error (&error);
  EXPECT_FALSE (fv_gallery_repair (path.c_str (), path.c_str (), nullptr,
          nullptr, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_EXISTS);
  g_clear_error (&error);
  EXPECT_TRUE (fvtest::ReadFile (path) == before) << "the source was changed";
}

// The calibrated threshold (faceverify calibrate) of a gallery travels
// with its export, comes back on import, and a repair keeps it. An
// export written before it was carried still imports; a hostile value is
// refused and nothing is written.
double
Threshold (FvGallery *g, bool *has)
{
  double t = -7;
  EXPECT_TRUE (fv_gallery_reload (g, nullptr));
  *has = fv_gallery_get_default_threshold (g, &t);
  return t;
}

// The one rule of "the threshold to use" (the element and the tool).
TEST (GalleryThreshold, ChooseThresholdRule)
{
  FvGalleryThresholdSource source = FV_GALLERY_THRESHOLD_GIVEN;
  EXPECT_FLOAT_EQ (fv_gallery_snapshot_choose_threshold (nullptr, NAN,
          &source), (float) FV_GALLERY_DEFAULT_MATCH_THRESHOLD);
  EXPECT_EQ (source, FV_GALLERY_THRESHOLD_DEFAULT);
  EXPECT_FLOAT_EQ (fv_gallery_snapshot_choose_threshold (nullptr, -1.0,
          &source), -1.0f);
  EXPECT_EQ (source, FV_GALLERY_THRESHOLD_GIVEN);

  std::string dir = Fresh ("thr-rule");
  GalleryPtr g = Create (Path (dir, "g.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (23);
  EnrollRandom (g.get (), "alice", 1, rng);
  ASSERT_TRUE (fv_gallery_reload (g.get (), nullptr));
  {
    SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
    EXPECT_FLOAT_EQ (fv_gallery_snapshot_choose_threshold (snap.get (), NAN,
            &source), (float) FV_GALLERY_DEFAULT_MATCH_THRESHOLD);
    EXPECT_EQ (source, FV_GALLERY_THRESHOLD_DEFAULT);
  }
  ASSERT_TRUE (fv_gallery_set_default_threshold (g.get (), 0.625, nullptr));
  ASSERT_TRUE (fv_gallery_reload (g.get (), nullptr));
  SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
  EXPECT_FLOAT_EQ (fv_gallery_snapshot_choose_threshold (snap.get (), NAN,
          &source), 0.625f);
  EXPECT_EQ (source, FV_GALLERY_THRESHOLD_CALIBRATED);
  EXPECT_FLOAT_EQ (fv_gallery_snapshot_choose_threshold (snap.get (), 0.3,
          &source), 0.3f);
  EXPECT_EQ (source, FV_GALLERY_THRESHOLD_GIVEN);
  EXPECT_STREQ (fv_gallery_threshold_source_to_string
      (FV_GALLERY_THRESHOLD_CALIBRATED), "calibrated");
}

TEST (GalleryThreshold, ExportImportRoundTrip)
{
  std::string dir = Fresh ("thr-json");
  GalleryPtr g = Create (Path (dir, "a.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (21);
  EnrollRandom (g.get (), "alice", 2, rng);
  GError *error = nullptr;
  bool has = true;

  // none yet: null in the export, and none after the import
  g_autofree char *plain = fv_gallery_export_json (g.get (), nullptr, &error);
  ASSERT_TRUE (plain) << error->message;
  EXPECT_NE (strstr (plain, "\"match_threshold\": null"), nullptr) << plain;
  GalleryPtr n = Create (Path (dir, "n.db"));
  ASSERT_TRUE (fv_gallery_import_json (n.get (), plain, -1,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, nullptr, &error))
      << error->message;
  Threshold (n.get (), &has);
  EXPECT_FALSE (has);

  ASSERT_TRUE (fv_gallery_set_default_threshold (g.get (), 0.4321, &error))
      << error->message;
  gsize len = 0;
  g_autofree char *json = fv_gallery_export_json (g.get (), &len, &error);
  ASSERT_TRUE (json) << error->message;
  EXPECT_NE (strstr (json, "\"match_threshold\": 0.4321,"), nullptr) << json;

  GalleryPtr h = Create (Path (dir, "b.db"));
  ASSERT_TRUE (h);
  ASSERT_TRUE (fv_gallery_import_json (h.get (), json, (gssize) len,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, nullptr, &error))
      << error->message;
  EXPECT_DOUBLE_EQ (Threshold (h.get (), &has), 0.4321);
  EXPECT_TRUE (has);
  EXPECT_EQ (Counts (h.get ())["alice"], 2u);
  // and in the file as `faceverify calibrate` writes it
  EXPECT_EQ (Sql (Path (dir, "b.db"), "SELECT value FROM meta WHERE key = "
          "'match_threshold'"), "0.432100");

  // An export of an older gst-faceverify (no such key) still imports:
  // into a fresh gallery it sets none, into a calibrated one it keeps
  // that gallery's own.
  std::string old = json;
  size_t at = old.find ("\n  \"match_threshold\": 0.4321,");
  ASSERT_NE (at, std::string::npos);
  old.erase (at, strlen ("\n  \"match_threshold\": 0.4321,"));
  ASSERT_EQ (old.find ("match_threshold"), std::string::npos);
  GalleryPtr o = Create (Path (dir, "old.db"));
  ASSERT_TRUE (fv_gallery_import_json (o.get (), old.c_str (), -1,
          FV_GALLERY_ENROLL_NEW_ONLY, nullptr, nullptr, &error))
      << error->message;
  EXPECT_EQ (Counts (o.get ())["alice"], 2u);
  Threshold (o.get (), &has);
  EXPECT_FALSE (has);
  ASSERT_TRUE (fv_gallery_set_default_threshold (o.get (), 0.25, nullptr));
  ASSERT_TRUE (fv_gallery_import_json (o.get (), old.c_str (), -1,
          FV_GALLERY_ENROLL_REPLACE, nullptr, nullptr, &error))
      << error->message;
  EXPECT_DOUBLE_EQ (Threshold (o.get (), &has), 0.25);
  // an export that has one replaces it
  ASSERT_TRUE (fv_gallery_import_json (o.get (), json, -1,
          FV_GALLERY_ENROLL_REPLACE, nullptr, nullptr, &error))
      << error->message;
  EXPECT_DOUBLE_EQ (Threshold (o.get (), &has), 0.4321);
}

TEST (GalleryThreshold, ImportRefusesHostileValues)
{
  std::string dir = Fresh ("thr-hostile");
  GalleryPtr g = Create (Path (dir, "a.db"));
  ASSERT_TRUE (g);
  std::mt19937 rng (22);
  EnrollRandom (g.get (), "alice", 1, rng);
  ASSERT_TRUE (fv_gallery_set_default_threshold (g.get (), 0.5, nullptr));
  g_autofree char *json = fv_gallery_export_json (g.get (), nullptr, nullptr);
  ASSERT_TRUE (json);
  std::string good = json;
  const std::string key = "\"match_threshold\": 0.5";
  ASSERT_NE (good.find (key), std::string::npos) << good;

  GalleryPtr h = Create (Path (dir, "h.db"));
  ASSERT_TRUE (h);
  for (const char *bad : { "NaN", "nan", "Infinity", "1e999", "-1e999",
          "1.0000001", "-1.5", "2", "\"0.5\"", "true", "[0.5]",
          "{\"v\": 0.5}" }) {
    std::string text = good;
    text.replace (text.find (key), key.size (),
        std::string ("\"match_threshold\": ") + bad);
    GError *error = nullptr;
    EXPECT_FALSE (fv_gallery_import_json (h.get (), text.c_str (), -1,
            FV_GALLERY_ENROLL_NEW_ONLY, nullptr, nullptr, &error)) << bad;
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
    if (error && strcmp (bad, "NaN") != 0 && strcmp (bad, "nan") != 0
        && strcmp (bad, "Infinity") != 0) {
      EXPECT_NE (strstr (error->message, "match_threshold"), nullptr)
          << bad << ": " << error->message;
    }
    g_clear_error (&error);
  }
  // nothing was written: no identity, no threshold
  EXPECT_TRUE (Counts (h.get ()).empty ());
  bool has = true;
  Threshold (h.get (), &has);
  EXPECT_FALSE (has);
  // the edges are thresholds
  for (const char *edge : { "-1", "1", "1.0", "0" }) {
    std::string text = good;
    text.replace (text.find (key), key.size (),
        std::string ("\"match_threshold\": ") + edge);
    GError *error = nullptr;
    EXPECT_TRUE (fv_gallery_import_json (h.get (), text.c_str (), -1,
            FV_GALLERY_ENROLL_REPLACE, nullptr, nullptr, &error))
        << edge << ": " << (error ? error->message : "");
    g_clear_error (&error);
    EXPECT_DOUBLE_EQ (Threshold (h.get (), &has), g_ascii_strtod (edge,
            nullptr));
  }
}

TEST (GalleryThreshold, RepairKeepsItAndCheckNamesADamagedOne)
{
  std::string dir = Fresh ("thr-repair");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 2);
  {
    GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE);
    ASSERT_TRUE (g);
    ASSERT_TRUE (fv_gallery_set_default_threshold (g.get (), 0.375,
            nullptr));
  }
  GError *error = nullptr;
  std::string fresh = Path (dir, "fresh.db");
  guint n_ids = 0, n_skipped = 7;
  ASSERT_TRUE (fv_gallery_repair (path.c_str (), fresh.c_str (), &n_ids,
          nullptr, &n_skipped, &error)) << error->message;
  EXPECT_EQ (n_ids, 2u);
  EXPECT_EQ (n_skipped, 0u);
  {
    GalleryPtr r = Open (fresh, FV_GALLERY_OPEN_READ_ONLY);
    ASSERT_TRUE (r);
    bool has = false;
    EXPECT_DOUBLE_EQ (Threshold (r.get (), &has), 0.375);
    EXPECT_TRUE (has);
  }

  // An empty gallery with a calibration keeps it too.
  std::string empty = Path (dir, "empty.db");
  {
    GalleryPtr e = Create (empty);
    ASSERT_TRUE (fv_gallery_set_default_threshold (e.get (), -0.125,
            nullptr));
  }
  std::string empty2 = Path (dir, "empty2.db");
  ASSERT_TRUE (fv_gallery_repair (empty.c_str (), empty2.c_str (), &n_ids,
          nullptr, &n_skipped, &error)) << error->message;
  EXPECT_EQ (n_ids, 0u);
  {
    GalleryPtr r = Open (empty2, FV_GALLERY_OPEN_READ_ONLY);
    ASSERT_TRUE (r);
    bool has = false;
    EXPECT_DOUBLE_EQ (Threshold (r.get (), &has), -0.125);
  }

  // A damaged one is a problem for check and is left behind by repair.
  Sql (path, "UPDATE meta SET value = 'nan' WHERE key = 'match_threshold'");
  GPtrArray *problems = fv_gallery_check_file (path.c_str (), &error);
  ASSERT_TRUE (problems) << error->message;
  ASSERT_EQ (problems->len, 1u);
  EXPECT_NE (strstr ((const char *) problems->pdata[0], "match_threshold"),
      nullptr) << (const char *) problems->pdata[0];
  g_ptr_array_unref (problems);
  std::string fresh2 = Path (dir, "fresh2.db");
  ASSERT_TRUE (fv_gallery_repair (path.c_str (), fresh2.c_str (), &n_ids,
          nullptr, &n_skipped, &error)) << error->message;
  EXPECT_EQ (n_ids, 2u);
  EXPECT_EQ (n_skipped, 1u);
  EXPECT_EQ (Sql (fresh2, "SELECT count(*) FROM meta WHERE key = "
          "'match_threshold'"), "0");
  // and the export of a damaged one fails, naming it
  GalleryPtr d = Open (path, FV_GALLERY_OPEN_READ_ONLY);
  ASSERT_TRUE (d);
  g_autofree char *json = fv_gallery_export_json (d.get (), nullptr, &error);
  EXPECT_EQ (json, nullptr);
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_CORRUPT);
  if (error) {
    EXPECT_NE (strstr (error->message, "match_threshold"), nullptr);
  }
  g_clear_error (&error);
}

// ------------------------------------------------------------------------
// Integrity of what is read; the label rule
// ------------------------------------------------------------------------

std::string
Repeat (float v)
{
  return BlobLiteral (std::vector<float> (kDim, v));
}

TEST (GalleryUntrusted, DamagedRowsAreSkippedAndNamedNeverUsed)
{
  std::string dir = Fresh ("untrusted-rows");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 6);
  std::mt19937 rng (33);
  std::vector<float> half = RandomUnit (rng);
  for (auto &x : half)
    x *= 0.5f;
  // Samples 1, 2 (person0): absurd magnitude; NaN. Sample 3 (person1): norm
  // 0.5. person2: an invalid label (its samples 5, 6 go). Sample 99 has no
  // identity. person3's label is not UTF-8 (samples 7, 8).
  Sql (path, "UPDATE samples SET embedding = " + Repeat (3e38f)
      + " WHERE id = 1");
  Sql (path, "UPDATE samples SET embedding = " + Repeat (NAN) + " WHERE id = 2");
  Sql (path, "UPDATE samples SET embedding = " + BlobLiteral (half)
      + " WHERE id = 3");
  Sql (path, "UPDATE identities SET label = 'Unknown' WHERE label = "
      "'person2'");
  Sql (path, "UPDATE identities SET label = CAST (x'ff41' AS TEXT) WHERE "
      "label = 'person3'");
  Sql (path, "INSERT INTO samples (id, identity_id, embedding, created) "
      "VALUES (99, 4242, " + BlobLiteral (RandomUnit (rng)) + ", 0)");
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_TRUE (g) << error->message;
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
  SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
  // person0 lost both samples, person1 one; person2, person3 go.
  EXPECT_EQ (fv_gallery_snapshot_get_n_identities (snap.get ()), 3u);
  EXPECT_EQ (fv_gallery_snapshot_get_n_samples (snap.get ()), 5u);
  std::set<std::string> labels;
  for (guint i = 0; i < fv_gallery_snapshot_get_n_identities (snap.get ());
      i++)
    labels.insert (fv_gallery_snapshot_get_label (snap.get (), i));
  EXPECT_EQ (labels, (std::set<std::string> { "person1", "person4",
          "person5" }));
  std::string all;
  guint n = fv_gallery_snapshot_get_n_skipped (snap.get ());
  for (guint i = 0; i < n; i++)
    all += std::string (fv_gallery_snapshot_get_skipped (snap.get (), i))
        + "\n";
  for (const char *want : { "sample 1 ", "sample 2 ", "sample 3 ",
          "sample 99:", "Unknown" })
    EXPECT_NE (all.find (want), std::string::npos) << want << " in\n" << all;
  EXPECT_EQ (n, 6u) << all;     // 3 samples, 1 orphan, 2 identities
  // A probe equal to the absurd row is not matched to person0.
  std::vector<float> probe (kDim, 1.0f / std::sqrt ((float) kDim));
  FvGalleryMatch m;
  fv_gallery_snapshot_match (snap.get (), probe.data (), 1, 0.5f, 0.0f, &m);
  EXPECT_FALSE (m.known && m.label && std::string (m.label) == "person0");
  // gallery check names them too.
  GPtrArray *problems = fv_gallery_check_file (path.c_str (), &error);
  ASSERT_TRUE (problems) << error->message;
  EXPECT_GE (problems->len, 6u);
  g_ptr_array_unref (problems);
}

TEST (GalleryUntrusted, LabelRuleAndAbsurdEmbeddings)
{
  std::string dir = Fresh ("untrusted-labels");
  GalleryPtr g = Create (Path (dir, "g.db"));
  std::mt19937 rng (34);
  std::vector<float> v = RandomUnit (rng);
  FvGallerySample s = { v.data (), 1.0f, nullptr };
  const char *refused[] = { "", "   ", "\t\n", "unknown", "UNKNOWN",
    " Unknown ", "ad\u202Emin", "ad\u200Bmin", "\u2066admin", "admin\u200F",
    "a\u2028b", ("\xef\xbb\xbf" "admin"), "bad\xff"
  };
  for (const char *label : refused) {
    SCOPED_TRACE (label);
    GError *error = nullptr;
    EXPECT_FALSE (fv_gallery_enroll (g.get (), label, nullptr, &s, 1,
            FV_GALLERY_ENROLL_APPEND, nullptr, &error));
    EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
    g_clear_error (&error);
  }
  for (const char *label : { "José", "李小龍", "unknown2", "Anne-Marie" }) {
    GError *error = nullptr;
    EXPECT_TRUE (fv_gallery_enroll (g.get (), label, nullptr, &s, 1,
            FV_GALLERY_ENROLL_APPEND, nullptr, &error)) << label << ": "
        << (error ? error->message : "");
    g_clear_error (&error);
  }
  GError *error = nullptr;
  EXPECT_FALSE (fv_gallery_rename (g.get (), "José", "unknown", &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
  g_clear_error (&error);
  // Absurd magnitudes are refused, not normalised into a valid vector.
  std::vector<float> huge (kDim, 3e38f);
  FvGallerySample h = { huge.data (), 1.0f, nullptr };
  EXPECT_FALSE (fv_gallery_enroll (g.get (), "huge", nullptr, &h, 1,
          FV_GALLERY_ENROLL_APPEND, nullptr, &error));
  EXPECT_GALLERY_ERROR (error, FV_GALLERY_ERROR_INVALID);
  g_clear_error (&error);
}

// ------------------------------------------------------------------------
// Large snapshots: half floats and an exact residual instead of floats
// ------------------------------------------------------------------------

guint32
Bits (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  return u;
}

float
FromBits (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

// Every float exponent with random mantissas and the edges of each binade
// (the power of two, the values that round up to the next one, the ties of
// half's rounding), both signs, +-0, subnormals, infinities and NaNs: the
// half + residual form gives each back bit for bit or says it needs an
// exception, and every value of half's normal range fits without one.
TEST (GalleryRows, ResidualGivesTheFloatBackExactly)
{
  std::mt19937 rng (41);
  const guint32 edges[] = { 0, 1, 2, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000,
    0x3000, 0x400000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7ff001, 0x7ffffe,
    0x7fffff
  };
  const guint n_random = 2048 / fvtest::SampleEvery () + 16;
  guint n = 0, bad = 0, unfit_in_range = 0, n_exceptions = 0, max_k = 0;
  std::string first;
  auto check = [&] (guint32 bits) {
    const float f = FromBits (bits);
    guint16 h;
    gint16 k;
    const gboolean fits = fv_gallery_residual_encode (f, &h, &k);
    const float a = std::fabs (f);
    n++;
    if (h != fv_f32_to_f16 (f) || (fits && (k == G_MININT16
                || Bits (fv_gallery_residual_decode (h, k)) != bits))
        || (!fits && k != G_MININT16)) {
      if (bad++ == 0)
        first = std::to_string (bits);
    }
    // half's normal range, and the values that round into it
    if ((a >= 0x1p-14f && a < 65520.0f) || a == 0.0f) {
      unfit_in_range += !fits;
      max_k = std::max (max_k, (guint) std::abs ((int) k));
    }
    n_exceptions += !fits;
  };
  for (guint32 sign : { 0u, 0x80000000u }) {
    for (guint32 e = 0; e <= 255; e++) {
      for (guint32 m : edges)
        check (sign | (e << 23) | m);
      for (guint i = 0; i < n_random; i++)
        check (sign | (e << 23) | (rng () & 0x7fffff));
    }
    // the largest half (65504), the last float that rounds to it, the
    // first that rounds to infinity
    for (float f : { 65504.0f, 65519.996f, 65520.0f, 0x1p-14f,
            std::nextafter (0x1p-14f, 0.0f), 0x1p-24f, 0x1p-25f, 1e-30f,
            1.0f, std::nextafter (1.0f, 0.0f), std::nextafter (1.0f, 2.0f)})
      check (sign | Bits (f));
    check (sign | 0x7fc00000u);  // NaNs
    check (sign | 0x7f800001u);
  }
  EXPECT_EQ (bad, 0u) << "of " << n << ", first bits " << first;
  EXPECT_EQ (unfit_in_range, 0u);
  EXPECT_LE (max_k, 4096u);   // the bound of the proof
  EXPECT_GT (n_exceptions, 0u); // tiny, subnormal, huge, inf, NaN
  // +-0 keep their sign without an exception
  for (float z : { 0.0f, -0.0f }) {
    guint16 h;
    gint16 k;
    ASSERT_TRUE (fv_gallery_residual_encode (z, &h, &k));
    EXPECT_EQ (Bits (fv_gallery_residual_decode (h, k)), Bits (z));
  }
}

// Unit rows with tiny, subnormal and signed-zero components: the large
// snapshot holds them in 4 bytes per element plus a few exceptions and
// gives every row back bit for bit.
std::vector<float>
RowWithOddValues (std::mt19937 &rng, guint dim, guint i)
{
  std::vector<float> v = RandomUnit (rng, dim);
  if (i % 7 == 0) {
    v[i % dim] = 1e-30f;
    v[(i + 1) % dim] = -1e-41f;  // subnormal
    v[(i + 2) % dim] = -0.0f;
    v[(i + 3) % dim] = 0.0f;
    v[(i + 4) % dim] = 0x1p-15f;
    fv_l2_normalize (v.data (), dim);   // a unit vector again
  }
  return v;
}

// A snapshot of @n rows RowWithOddValues() labelled id0, id1, ...; the
// rows as given go to @flat.
static SnapPtr
OddSnapshot (std::mt19937 &rng, guint dim, guint n, std::vector<float> *flat)
{
  std::vector<std::string> labels;
  std::vector<const char *> ptrs;
  for (guint i = 0; i < n; i++) {
    std::vector<float> v = RowWithOddValues (rng, dim, i);
    flat->insert (flat->end (), v.begin (), v.end ());
    labels.push_back ("id" + std::to_string (i));
  }
  for (auto &l : labels)
    ptrs.push_back (l.c_str ());
  return SnapPtr (fv_gallery_snapshot_new (dim, n, ptrs.data (),
          flat->data (), nullptr));
}

TEST (GalleryRows, LargeSnapshotGivesEveryRowBack)
{
  std::mt19937 rng (42);
  const guint dim = 128, n_rows = 4200;  // 2.1 MB of floats: large
  std::vector<float> flat;
  SnapPtr snap = OddSnapshot (rng, dim, n_rows, &flat);
  ASSERT_TRUE (fv_gallery_snapshot_has_half (snap.get ()));
  EXPECT_EQ (snap->matrix, nullptr);  // no float copy kept
  gsize float_bytes = 0;
  const gsize bytes = fv_gallery_snapshot_get_matrix_bytes (snap.get (),
      &float_bytes);
  EXPECT_EQ (float_bytes, (gsize) n_rows * snap->stride * 4);
  EXPECT_EQ (bytes, float_bytes + snap->exceptions->len
      * sizeof (FvGalleryException));
  EXPECT_GT (snap->exceptions->len, 0u);
  EXPECT_LT (snap->exceptions->len, n_rows * dim / 100);

  std::vector<float> scratch (snap->stride), want (dim);
  guint differ = 0;
  for (guint r = 0; r < n_rows; r++) {
    memcpy (want.data (), &flat[(gsize) r * dim], dim * sizeof (float));
    fv_l2_normalize (want.data (), dim);
    const float *got = fv_gallery_snapshot_get_row (snap.get (), r,
        scratch.data ());
    differ += memcmp (got, want.data (), dim * sizeof (float)) != 0;
    for (guint k = dim; k < snap->stride; k++)
      differ += Bits (got[k]) != 0;
  }
  EXPECT_EQ (differ, 0u);
  // the float copy (the tests' reference) has the same rows
  SnapPtr copy (fv_gallery_snapshot_copy_float (snap.get ()));
  ASSERT_NE (copy->matrix, nullptr);
  std::vector<float> all ((gsize) n_rows * snap->stride);
  fv_gallery_snapshot_get_rows (snap.get (), 0, n_rows, all.data ());
  EXPECT_EQ (memcmp (all.data (), copy->matrix, all.size () * 4), 0);
}

// Merging a change into a large snapshot (a PostgreSQL gallery's reload)
// copies the half form as it is, converts float rows, and rebuilds floats
// when the result is small; packing drops rows and keeps the exceptions
// of the others.
TEST (GalleryRows, MergeAndPackKeepEveryRow)
{
  std::mt19937 rng (43);
  const guint dim = 128, n_old = 4200;
  std::vector<float> flat;
  SnapPtr old = OddSnapshot (rng, dim, n_old, &flat);
  ASSERT_TRUE (fv_gallery_snapshot_has_half (old.get ()));
  std::vector<float> dflat;
  for (guint i = 0; i < 3; i++) {
    std::vector<float> v = RowWithOddValues (rng, dim, 0);
    dflat.insert (dflat.end (), v.begin (), v.end ());
  }
  const char *dlabels[] = { "new2", "new2500", "new9000" };
  SnapPtr delta (fv_gallery_snapshot_new (dim, 3, dlabels, dflat.data (),
          nullptr));
  ASSERT_FALSE (fv_gallery_snapshot_has_half (delta.get ()));
  delta->identity_ids[0] = 2;
  delta->identity_ids[1] = 2500;
  delta->identity_ids[2] = 9000;
  std::vector<float> scratch (old->stride), scratch2 (old->stride);

  // Expected rows of a merge, in id order: the old ones not changed, then
  // the delta's.
  auto check = [&] (FvGallerySnapshot *m, const std::vector<gint64> &changed) {
    std::map<gint64, std::pair<FvGallerySnapshot *, guint>> want;
    for (guint i = 0; i < n_old; i++)
      if (!std::binary_search (changed.begin (), changed.end (),
              old->identity_ids[i]))
        want[old->identity_ids[i]] = { old.get (), i };
    for (guint i = 0; i < 3; i++)
      want[delta->identity_ids[i]] = { delta.get (), i };
    ASSERT_EQ (m->n_samples, want.size ());
    guint r = 0, differ = 0;
    for (auto &w : want) {
      EXPECT_EQ (m->identity_ids[r], w.first);
      const float *a = fv_gallery_snapshot_get_row (m, r, scratch.data ());
      const float *b = fv_gallery_snapshot_get_row (w.second.first,
          w.second.second, scratch2.data ());
      differ += memcmp (a, b, old->stride * sizeof (float)) != 0;
      r++;
    }
    EXPECT_EQ (differ, 0u);
  };
  {
    std::vector<gint64> changed = { 2, 10, 2500, 9000 };
    SnapPtr m (fv_gallery_snapshot_merge (old.get (), changed.data (),
            (guint) changed.size (), delta.get ()));
    ASSERT_TRUE (fv_gallery_snapshot_has_half (m.get ()));
    check (m.get (), changed);
  }
  {
    // most identities removed: the result is small, in floats
    std::vector<gint64> changed;
    for (gint64 id = 1; id <= 4000; id++)
      changed.push_back (id);
    changed.push_back (9000);
    SnapPtr m (fv_gallery_snapshot_merge (old.get (), changed.data (),
            (guint) changed.size (), delta.get ()));
    ASSERT_FALSE (fv_gallery_snapshot_has_half (m.get ()));
    check (m.get (), changed);
  }

  // Packing (what a load does with damaged rows): every third row goes;
  // rows written in reverse order, as loads write them in any order.
  FvGallerySnapshot *p = fv_gallery_snapshot_alloc (dim, n_old, n_old);
  for (guint r = n_old; r-- > 0;)
    fv_gallery_snapshot_set_row (p, r,
        fv_gallery_snapshot_get_row (old.get (), r, scratch.data ()));
  std::vector<guint> new_row (n_old);
  guint kept = 0;
  for (guint r = 0; r < n_old; r++)
    new_row[r] = r % 3 == 1 ? G_MAXUINT : kept++;
  fv_gallery_snapshot_pack_rows (p, new_row.data ());
  p->n_samples = kept;
  fv_gallery_snapshot_seal (p);
  guint differ = 0;
  for (guint r = 0; r < n_old; r++) {
    if (new_row[r] == G_MAXUINT)
      continue;
    const float *a = fv_gallery_snapshot_get_row (p, new_row[r],
        scratch.data ());
    const float *b = fv_gallery_snapshot_get_row (old.get (), r,
        scratch2.data ());
    differ += memcmp (a, b, old->stride * sizeof (float)) != 0;
  }
  EXPECT_EQ (differ, 0u);
  fv_gallery_snapshot_unref (p);
}

// A large gallery file whose rows have tiny and subnormal components
// loads them exactly; its damaged rows are left out as in a small one.
TEST (GalleryRows, LargeGalleryLoadsOddRowsExactly)
{
  std::string dir = Fresh ("rows-large");
  std::string path = Path (dir, "g.db");
  const guint n = 1500;         // 3000 samples of 192 floats: 2.2 MB
  MakeGallery (path, n);
  std::mt19937 rng (44);
  std::map<gint64, std::vector<float>> odd;
  for (gint64 id : { 3, 4, 700, 2999 }) {
    odd[id] = RowWithOddValues (rng, kDim, 0);
    Sql (path, "UPDATE samples SET embedding = " + BlobLiteral (odd[id])
        + " WHERE id = " + std::to_string (id));
  }
  Sql (path, "UPDATE samples SET embedding = " + Repeat (NAN)
      + " WHERE id = 5");
  Sql (path, "UPDATE samples SET embedding = " + Repeat (3e38f)
      + " WHERE id = 1001");
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_ONLY, kFp, kDim, &error);
  ASSERT_TRUE (g) << error->message;
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
  SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
  ASSERT_TRUE (fv_gallery_snapshot_has_half (snap.get ()));
  EXPECT_EQ (fv_gallery_snapshot_get_n_samples (snap.get ()), 2 * n - 2);
  EXPECT_EQ (fv_gallery_snapshot_get_n_skipped (snap.get ()), 2u);
  // Each odd row, normalised as a load does, is in the snapshot exactly.
  std::vector<float> scratch (snap->stride);
  for (auto &o : odd) {
    std::vector<float> want = o.second;
    fv_l2_normalize (want.data (), kDim);
    guint found = 0;
    for (guint r = 0; r < snap->n_samples; r++)
      found += memcmp (fv_gallery_snapshot_get_row (snap.get (), r,
              scratch.data ()), want.data (), kDim * sizeof (float)) == 0;
    EXPECT_EQ (found, 1u) << "sample " << o.first;
  }
  // and matches as the float copy of the same rows does
  SnapPtr ref (fv_gallery_snapshot_copy_float (snap.get ()));
  for (auto &o : odd) {
    FvGalleryMatch a, b;
    fv_gallery_snapshot_match (snap.get (), o.second.data (), 1, 0.5f, 0.0f,
        &a);
    fv_gallery_snapshot_match (ref.get (), o.second.data (), 1, 0.5f, 0.0f,
        &b);
    EXPECT_EQ (a.index, b.index);
    EXPECT_EQ (a.similarity, b.similarity);
    EXPECT_EQ (a.margin, b.margin);
    EXPECT_TRUE (a.known);
  }
  RemoveTree (dir);
}

// Threads matching on one large snapshot at once, each with its own
// rebuilt rows: the results of each thread are those of a single thread.
TEST (GalleryRows, ThreadsRebuildRowsOfTheirOwn)
{
  std::mt19937 rng (45);
  const guint dim = 128, n_rows = 4200, n_q = 24;
  std::vector<std::string> labels;
  std::vector<const char *> ptrs;
  std::vector<float> flat, queries;
  for (guint i = 0; i < n_rows; i++) {
    std::vector<float> v = RowWithOddValues (rng, dim, i);
    flat.insert (flat.end (), v.begin (), v.end ());
    labels.push_back ("id" + std::to_string (i));
  }
  for (auto &l : labels)
    ptrs.push_back (l.c_str ());
  for (guint i = 0; i < n_q; i++) {
    std::vector<float> q = RandomUnit (rng, dim);
    const float *a = &flat[(gsize) (rng () % n_rows) * dim];
    for (guint d = 0; d < dim; d++)
      q[d] = a[d] + 0.3f * q[d];
    queries.insert (queries.end (), q.begin (), q.end ());
  }
  SnapPtr snap (fv_gallery_snapshot_new (dim, n_rows, ptrs.data (),
          flat.data (), nullptr));
  ASSERT_TRUE (fv_gallery_snapshot_has_half (snap.get ()));
  auto run = [&] (FvGalleryScan scan, std::vector<FvGalleryMatch> &out) {
    out.resize (n_q);
    for (guint i = 0; i < n_q; i++)
      fv_gallery_snapshot_match_with (snap.get (), scan, &queries[i * dim],
          1, 0.5f, 0.0f, &out[i]);
  };
  std::vector<FvGalleryMatch> want_h, want_f;
  run (FV_GALLERY_SCAN_HALF, want_h);
  run (FV_GALLERY_SCAN_FLOAT, want_f);
  std::vector<std::vector<FvGalleryMatch>> got (4);
  std::vector<std::thread> threads;
  for (guint t = 0; t < got.size (); t++)
    threads.emplace_back ([&, t] {
          for (int rep = 0; rep < 2; rep++)
            run (t % 2 ? FV_GALLERY_SCAN_FLOAT : FV_GALLERY_SCAN_HALF,
                got[t]);
        });
  for (auto &th : threads)
    th.join ();
  for (guint t = 0; t < got.size (); t++) {
    const std::vector<FvGalleryMatch> &want = t % 2 ? want_f : want_h;
    for (guint i = 0; i < n_q; i++) {
      EXPECT_EQ (got[t][i].index, want[i].index) << t << " " << i;
      EXPECT_EQ (got[t][i].similarity, want[i].similarity) << t << " " << i;
      EXPECT_EQ (got[t][i].margin, want[i].margin) << t << " " << i;
    }
  }
  for (guint i = 0; i < n_q; i++)
    EXPECT_EQ (want_h[i].similarity, want_f[i].similarity);
}

// A large gallery with odd rows exports the same JSON (every float as
// stored) before and after it is loaded in the half form.
TEST (GalleryRows, LargeGalleryExportsTheSameAfterLoading)
{
  std::string dir = Fresh ("rows-json");
  std::string path = Path (dir, "g.db");
  MakeGallery (path, 1500);     // 3000 samples of 192 floats: large
  std::mt19937 rng (46);
  for (gint64 id : { 1, 2000 })
    Sql (path, "UPDATE samples SET embedding = "
        + BlobLiteral (RowWithOddValues (rng, kDim, 0)) + " WHERE id = "
        + std::to_string (id));
  GError *error = nullptr;
  GalleryPtr g = Open (path, FV_GALLERY_OPEN_READ_WRITE, kFp, kDim, &error);
  ASSERT_TRUE (g) << error->message;
  g_autofree char *before = fv_gallery_export_json (g.get (), nullptr,
      &error);
  ASSERT_TRUE (before) << error->message;
  ASSERT_TRUE (fv_gallery_reload (g.get (), &error)) << error->message;
  SnapPtr snap (fv_gallery_get_snapshot (g.get ()));
  ASSERT_TRUE (fv_gallery_snapshot_has_half (snap.get ()));
  g_autofree char *after = fv_gallery_export_json (g.get (), nullptr,
      &error);
  ASSERT_TRUE (after) << error->message;
  EXPECT_STREQ (before, after);

  RemoveTree (dir);
}

}  // namespace

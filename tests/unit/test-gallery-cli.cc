// gst-faceverify: the gallery commands of the `faceverify` tool (enroll,
// identify, verify, gallery, eval), run as a separate process ($FV_FACEVERIFY)
// on the shared face data; `eval --aligned` must reproduce the reference
// figures (AUC 1.000, best accuracy 1.000) on every source.
#include <gtest/gtest.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fv-test-util.h"

namespace {

struct RunResult
{
  int status = -1;
  std::string out;
  std::string err;
};

RunResult
RunTool (const std::vector<std::string> &args)
{
  RunResult result;
  const char *tool = g_getenv ("FV_FACEVERIFY");
  EXPECT_TRUE (tool && *tool) << "FV_FACEVERIFY is not set (run with meson "
      "test)";
  if (!tool || !*tool)
    return result;
  std::vector<char *> argv;
  argv.push_back (const_cast<char *>(tool));
  for (const auto &a : args)
    argv.push_back (const_cast<char *>(a.c_str ()));
  argv.push_back (nullptr);
  char *out = nullptr, *err = nullptr;
  int wait_status = 0;
  GError *error = nullptr;
  gboolean ok = g_spawn_sync (nullptr, argv.data (), nullptr,
      G_SPAWN_DEFAULT, nullptr, nullptr, &out, &err, &wait_status, &error);
  EXPECT_TRUE (ok) << (error ? error->message : "");
  g_clear_error (&error);
  result.out = out ? out : "";
  result.err = err ? err : "";
  g_free (out);
  g_free (err);
  if (ok && WIFEXITED (wait_status))
    result.status = WEXITSTATUS (wait_status);
  else if (ok)
    ADD_FAILURE () << "faceverify killed by a signal\n" << result.err;
  return result;
}

std::vector<std::string>
Lines (const std::string &text)
{
  std::vector<std::string> lines;
  std::istringstream in (text);
  std::string l;
  while (std::getline (in, l))
    lines.push_back (l);
  return lines;
}

std::vector<std::string>
Split (const std::string &line, char sep = ',')
{
  std::vector<std::string> f;
  std::string cur;
  for (char c : line) {
    if (c == sep) {
      f.push_back (cur);
      cur.clear ();
    } else {
      cur += c;
    }
  }
  f.push_back (cur);
  return f;
}

// key=value pairs of the machine-readable last line "<what>: k=v k=v".
std::map<std::string, std::string>
LastLine (const std::string &out, const std::string &what)
{
  std::map<std::string, std::string> kv;
  auto lines = Lines (out);
  EXPECT_FALSE (lines.empty ());
  if (lines.empty ())
    return kv;
  const std::string &last = lines.back ();
  EXPECT_EQ (last.rfind (what + ": ", 0), 0u) << last;
  for (const auto &tok : Split (last.substr (what.size () + 2), ' ')) {
    size_t eq = tok.find ('=');
    if (eq != std::string::npos)
      kv[tok.substr (0, eq)] = tok.substr (eq + 1);
  }
  return kv;
}

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
  static std::string dir = fvtest::ScratchDir ("gallery-cli-"
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
Join (const std::string &a, const std::string &b)
{
  g_autofree char *p = g_build_filename (a.c_str (), b.c_str (), NULL);
  return p;
}

size_t
CountDataLines (const std::string &path)
{
  std::ifstream in (path);
  std::string l;
  size_t n = 0;
  bool header = true;
  while (std::getline (in, l)) {
    if (l.empty ())
      continue;
    if (header)
      header = false;
    else
      n++;
  }
  return n;
}

const char *const kSources[] = { "deepface", "face_recognition",
  "faceapi_bbt", "openface"
};

#define SKIP_WITHOUT_DATA()                                                  \
  FV_SKIP_WITHOUT_MODEL (model, "MobileFaceNet.tflite");                     \
  FV_SKIP_WITHOUT_SHARED ("data/faces/deepface/pairs.csv")

TEST (GalleryCli, EvalAlignedReproducesTheReference)
{
  SKIP_WITHOUT_DATA ();
  for (const char *source : kSources) {
    SCOPED_TRACE (source);
    std::string root = fvtest::SharedPath (std::string ("data/faces/") +
        source);
    std::string pairs = Join (root, "pairs.csv");
    RunResult r = RunTool ({"eval", "--pairs", pairs, "--root", root,
        "--aligned"});
    ASSERT_EQ (r.status, 0) << r.err;
    auto kv = LastLine (r.out, "eval");
    EXPECT_EQ (kv["pairs"], std::to_string (CountDataLines (pairs)));
    EXPECT_EQ (kv["auc"], "1.0000") << r.out;
    EXPECT_EQ (kv["acc"], "1.0000") << r.out;
    EXPECT_EQ (kv["failed"], "0");
    double thr = g_ascii_strtod (kv["thr"].c_str (), nullptr);
    EXPECT_GT (thr, 0.2);
    EXPECT_LT (thr, 0.8);
    EXPECT_EQ (kv.count ("tar_far1e-2"), 1u);
    EXPECT_EQ (kv.count ("tar_far1e-3"), 1u);
    // Perfect separation: TAR 1 at any FAR with an impostor to spare.
    EXPECT_EQ (kv["tar_far1e-3"], "1.0000");
  }
}

TEST (GalleryCli, EvalPlotScoresAndRawNames)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("eval");
  std::string root = fvtest::SharedPath ("data/faces/openface");
  std::string png = Join (dir, "roc.png"), scores = Join (dir, "s.csv");
  RunResult r = RunTool ({"eval", "--pairs", Join (root, "pairs.csv"),
      "--root", root, "--aligned", "--plot", png, "--scores", scores});
  ASSERT_EQ (r.status, 0) << r.err;
  auto bytes = fvtest::ReadFile (png);
  ASSERT_GT (bytes.size (), 1000u);
  EXPECT_EQ (memcmp (bytes.data (), "\x89PNG", 4), 0);
  EXPECT_EQ (CountDataLines (scores), CountDataLines (Join (root,
              "pairs.csv")));
  {
    std::ifstream sc (scores);
    std::string head, row;
    std::getline (sc, head);
    std::getline (sc, row);
    EXPECT_EQ (head, "a,b,same,similarity,quality_a,quality_b");
    auto f = Split (row);
    ASSERT_EQ (f.size (), 6u) << row;
    // aligned crops of the shared data: usable faces
    EXPECT_GT (g_ascii_strtod (f[4].c_str (), nullptr), 0.3) << row;
    EXPECT_LE (g_ascii_strtod (f[5].c_str (), nullptr), 1.0) << row;
  }

  // Pairs that name the raw photos map to the crops with faces.csv.
  std::ifstream faces (Join (root, "faces.csv"));
  std::string line;
  std::getline (faces, line);
  std::map<std::string, std::string> to_raw;
  while (std::getline (faces, line)) {
    auto f = Split (line);
    to_raw[f[2]] = f[1];
  }
  std::ifstream in (Join (root, "pairs.csv"));
  std::string raw_pairs = Join (dir, "raw-pairs.csv");
  std::ofstream out (raw_pairs);
  std::getline (in, line);
  out << line << "\n";
  while (std::getline (in, line)) {
    auto f = Split (line);
    ASSERT_EQ (to_raw.count (f[0]), 1u) << f[0];
    out << to_raw[f[0]] << "," << to_raw[f[1]] << "," << f[2] << ","
        << f[3] << "," << f[4] << "\n";
  }
  out.close ();
  RunResult raw = RunTool ({"eval", "--pairs", raw_pairs, "--root", root,
      "--aligned"});
  ASSERT_EQ (raw.status, 0) << raw.err;
  EXPECT_EQ (Lines (raw.out).back (), Lines (r.out).back ());
}

TEST (GalleryCli, EvalRefusesBadInput)
{
  std::string dir = Fresh ("eval-bad");
  RunResult r = RunTool ({"eval"});
  EXPECT_EQ (r.status, 2);
  r = RunTool ({"eval", "--pairs", Join (dir, "missing.csv")});
  EXPECT_EQ (r.status, 1);
  std::string bad = Join (dir, "bad.csv");
  g_file_set_contents (bad.c_str (), "x,y\n1,2\n", -1, nullptr);
  r = RunTool ({"eval", "--pairs", bad, "--aligned"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("a, b and same"), std::string::npos) << r.err;
  g_file_set_contents (bad.c_str (), "a,b,same\nx.png,y.png,maybe\n", -1,
      nullptr);
  r = RunTool ({"eval", "--pairs", bad, "--aligned"});
  EXPECT_EQ (r.status, 1);
}

TEST (GalleryCli, EnrollIdentifyVerifyAndManage)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("enroll");
  std::string db = Join (dir, "team.db");
  std::string aligned = fvtest::SharedPath ("data/faces/deepface/aligned");

  RunResult r = RunTool ({"enroll", "--gallery", db, "--aligned", "--dir",
      aligned});
  ASSERT_EQ (r.status, 0) << r.err;
  auto kv = LastLine (r.out, "enroll");
  EXPECT_EQ (kv["identities"], "13");
  EXPECT_EQ (kv["samples"], "61");
  EXPECT_EQ (kv["skipped"], "0");

  // Again: every image is already there; nothing enrolled is a failure.
  r = RunTool ({"enroll", "--gallery", db, "--aligned", "--dir", aligned});
  EXPECT_EQ (r.status, 1);
  kv = LastLine (r.out, "enroll");
  EXPECT_EQ (kv["samples"], "0");
  EXPECT_EQ (kv["skipped"], "61");
  EXPECT_NE (r.out.find ("already enrolled: 61"), std::string::npos) << r.out;

  r = RunTool ({"gallery", "list", "--gallery", db, "--csv"});
  ASSERT_EQ (r.status, 0) << r.err;
  auto lines = Lines (r.out);
  ASSERT_EQ (lines.size (), 14u);
  EXPECT_EQ (lines[0], "label,display_name,samples,created,updated,id");
  int total = 0;
  for (size_t i = 1; i < lines.size (); i++)
    total += std::stoi (Split (lines[i])[2]);
  EXPECT_EQ (total, 61);
  r = RunTool ({"gallery", "list", "--gallery", db});
  ASSERT_EQ (r.status, 0);
  EXPECT_NE (r.out.find ("13 identities, 61 samples"), std::string::npos);

  // Identify crops of enrolled people.
  std::string p1 = Join (aligned, "person01/img1.png");
  std::string p2 = Join (aligned, "person02/img3.png");
  r = RunTool ({"identify", "--gallery", db, "--aligned", p1, p2});
  ASSERT_EQ (r.status, 0) << r.err;
  lines = Lines (r.out);
  ASSERT_EQ (lines.size (), 3u);
  EXPECT_EQ (lines[0],
      "path,face,x1,y1,x2,y2,label,similarity,margin,known,quality");
  auto f = Split (lines[1]);
  ASSERT_EQ (f.size (), 11u);
  EXPECT_EQ (f[0], p1);
  EXPECT_EQ (f[1], "0");
  EXPECT_EQ (f[6], "person01");
  EXPECT_GT (g_ascii_strtod (f[7].c_str (), nullptr), 0.999);
  EXPECT_GT (g_ascii_strtod (f[8].c_str (), nullptr), 0.05);
  EXPECT_EQ (f[9], "1");
  EXPECT_EQ (Split (lines[2])[6], "person02");
  // A margin no answer reaches: unknown, unless --nearest asks for the
  // name.
  r = RunTool ({"identify", "--gallery", db, "--aligned", "--margin",
      "1.5", p1});
  EXPECT_EQ (Split (Lines (r.out)[1])[6], "unknown");
  EXPECT_EQ (Split (Lines (r.out)[1])[9], "0");
  r = RunTool ({"identify", "--gallery", db, "--aligned", "--margin",
      "1.5", "--nearest", p1});
  EXPECT_EQ (Split (Lines (r.out)[1])[6], "person01");

  // verify
  r = RunTool ({"verify", "--aligned", p1, Join (aligned,
          "person01/img2.png")});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("result=same"), std::string::npos) << r.out;
  r = RunTool ({"verify", "--aligned", p1, p2});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("result=different"), std::string::npos) << r.out;
  r = RunTool ({"verify", "--aligned", p1});
  EXPECT_EQ (r.status, 2);

  // rename, remove
  r = RunTool ({"gallery", "rename", "--gallery", db, "person01", "alice",
      "--name", "Alice A."});
  ASSERT_EQ (r.status, 0) << r.err;
  r = RunTool ({"identify", "--gallery", db, "--aligned", p1});
  EXPECT_EQ (Split (Lines (r.out)[1])[6], "alice");
  r = RunTool ({"gallery", "rename", "--gallery", db, "alice", "person02"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("already"), std::string::npos) << r.err;
  r = RunTool ({"gallery", "remove", "--gallery", db, "alice", "nobody"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("nobody"), std::string::npos);
  r = RunTool ({"gallery", "list", "--gallery", db, "--csv"});
  EXPECT_EQ (Lines (r.out).size (), 13u);

  // export, import
  std::string json = Join (dir, "team.json"), copy = Join (dir, "copy.db");
  r = RunTool ({"gallery", "export", "--gallery", db, "-o", json});
  ASSERT_EQ (r.status, 0) << r.err;
  r = RunTool ({"gallery", "import", "--gallery", copy, json});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("imported 12 identities with 53 samples"),
      std::string::npos) << r.out;
  RunResult a = RunTool ({"gallery", "list", "--gallery", db, "--csv"});
  RunResult b = RunTool ({"gallery", "list", "--gallery", copy, "--csv"});
  auto la = Lines (a.out), lb = Lines (b.out);
  ASSERT_EQ (la.size (), lb.size ());
  for (size_t i = 0; i < la.size (); i++) {   // all but the ids
    auto x = Split (la[i]), y = Split (lb[i]);
    x.pop_back ();
    y.pop_back ();
    EXPECT_EQ (x, y);
  }
  r = RunTool ({"gallery", "import", "--gallery", copy, json});
  EXPECT_EQ (r.status, 1);
  r = RunTool ({"gallery", "import", "--gallery", copy, "--merge", json});
  EXPECT_EQ (r.status, 0) << r.err;

  // A gallery of another model is refused by enroll and identify.
  std::string other_json = Join (dir, "other.json");
  std::string text;
  {
    std::ifstream in (json);
    std::stringstream ss;
    ss << in.rdbuf ();
    text = ss.str ();
  }
  size_t at = text.find ("\"model_sha256\": \"");
  ASSERT_NE (at, std::string::npos);
  text.replace (at + 17, 64, std::string (64, 'f'));
  g_file_set_contents (other_json.c_str (), text.c_str (), -1, nullptr);
  std::string other = Join (dir, "other.db");
  r = RunTool ({"gallery", "import", "--gallery", other, other_json});
  ASSERT_EQ (r.status, 0) << r.err;
  r = RunTool ({"enroll", "--gallery", other, "--aligned", "--label", "x",
      p1});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("another model"), std::string::npos) << r.err;
  r = RunTool ({"identify", "--gallery", other, "--aligned", p1});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("another model"), std::string::npos) << r.err;
}

TEST (GalleryCli, EnrollReportsSkippedImagesAndBadGalleries)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("enroll-bad");
  std::string db = Join (dir, "g.db");
  std::string not_image = Join (dir, "notes.png");
  g_file_set_contents (not_image.c_str (), "not an image", -1, nullptr);
  std::string small = Join (dir, "small.ppm");
  std::string ppm = "P6\n100 100\n255\n" + std::string (100 * 100 * 3, 'x');
  g_file_set_contents (small.c_str (), ppm.data (), (gssize) ppm.size (),
      nullptr);

  RunResult r = RunTool ({"enroll", "--gallery", db, "--aligned", "--label",
      "x", not_image, small, Join (dir, "missing.png")});
  EXPECT_EQ (r.status, 1);
  auto kv = LastLine (r.out, "enroll");
  EXPECT_EQ (kv["samples"], "0");
  EXPECT_EQ (kv["skipped"], "3");
  EXPECT_NE (r.err.find ("skipped " + small), std::string::npos) << r.err;
  EXPECT_NE (r.err.find ("112x112"), std::string::npos) << r.err;
  EXPECT_NE (r.err.find ("nothing was enrolled"), std::string::npos);

  // Usage errors.
  EXPECT_EQ (RunTool ({"enroll", "--aligned", "--label", "x", small}).status,
      2);
  EXPECT_EQ (RunTool ({"enroll", "--gallery", db, "--aligned"}).status, 2);
  EXPECT_EQ (RunTool ({"gallery", "--gallery", db}).status, 2);
  EXPECT_EQ (RunTool ({"gallery", "frobnicate", "--gallery", db}).status, 2);

  // A gallery file of random bytes is refused and left alone.
  std::string junk = Join (dir, "junk.db");
  std::string bytes (4096, '\0');
  for (size_t i = 0; i < bytes.size (); i++)
    bytes[i] = (char) (i * 2654435761u >> 13);
  g_file_set_contents (junk.c_str (), bytes.data (), (gssize) bytes.size (),
      nullptr);
  std::string img = fvtest::SharedPath
      ("data/faces/deepface/aligned/person01/img1.png");
  r = RunTool ({"enroll", "--gallery", junk, "--aligned", "--label", "x",
      img});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("not an SQLite database"), std::string::npos)
      << r.err;
  r = RunTool ({"gallery", "list", "--gallery", junk});
  EXPECT_EQ (r.status, 1);
  EXPECT_TRUE (fvtest::ReadFile (junk) == std::vector<unsigned char> (
          bytes.begin (), bytes.end ()));
}

// Runs SQL on a file directly (outside the library); the first column of
// the rows, one per line.
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

// A gallery of two people enrolled by the tool (--aligned crops).
std::string
EnrolledGallery (const std::string &dir, const char *name = "team.db")
{
  std::string db = Join (dir, name);
  std::string aligned = fvtest::SharedPath ("data/faces/deepface/aligned");
  RunResult r = RunTool ({"enroll", "--gallery", db, "--aligned", "--label",
      "alice", Join (aligned, "person01/img1.png")});
  EXPECT_EQ (r.status, 0) << r.err;
  r = RunTool ({"enroll", "--gallery", db, "--aligned", "--label", "bob",
      Join (aligned, "person02/img3.png")});
  EXPECT_EQ (r.status, 0) << r.err;
  return db;
}

TEST (GalleryCliUntrusted, EnrollRefusesAGalleryWithATrigger)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("untrusted-enroll");
  std::string db = EnrolledGallery (dir);
  std::string aligned = fvtest::SharedPath ("data/faces/deepface/aligned");
  // Deletes every identity on the next enrolment.
  Sql (db, "CREATE TRIGGER wipe AFTER INSERT ON samples BEGIN "
      "DELETE FROM identities; END");
  std::vector<unsigned char> before = fvtest::ReadFile (db);
  RunResult r = RunTool ({"enroll", "--gallery", db, "--aligned", "--label",
      "carol", Join (aligned, "person03/img1.png")});
  EXPECT_EQ (r.status, 1) << r.out;
  EXPECT_NE (r.err.find ("trigger \"wipe\" on samples"), std::string::npos)
      << r.err;
  EXPECT_TRUE (fvtest::ReadFile (db) == before) << "the gallery was changed";
  EXPECT_EQ (Sql (db, "SELECT group_concat(label) FROM (SELECT label FROM "
          "identities ORDER BY label)"), "alice,bob");
  // Readers refuse it as well.
  r = RunTool ({"gallery", "list", "--gallery", db});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("wipe"), std::string::npos) << r.err;
}

TEST (GalleryCliUntrusted, EnrollRefusesATriggerThatPlantsAnEmbedding)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("untrusted-plant");
  std::string db = EnrolledGallery (dir);
  std::string aligned = fvtest::SharedPath ("data/faces/deepface/aligned");
  // Every new identity also gets the stranger's (bob's) embedding.
  Sql (db, "CREATE TRIGGER plant AFTER INSERT ON identities BEGIN "
      "INSERT INTO samples (identity_id, embedding, created) SELECT NEW.id, "
      "embedding, 0 FROM samples WHERE identity_id = (SELECT id FROM "
      "identities WHERE label = 'bob'); END");
  RunResult r = RunTool ({"enroll", "--gallery", db, "--aligned", "--label",
      "admin", Join (aligned, "person03/img1.png")});
  EXPECT_EQ (r.status, 1) << r.out;
  EXPECT_NE (r.err.find ("trigger \"plant\" on identities"),
      std::string::npos) << r.err;
  EXPECT_EQ (Sql (db, "SELECT count(*) FROM identities WHERE label = "
          "'admin'"), "0");
  // The stranger is not identified as admin.
  r = RunTool ({"identify", "--gallery", db, "--aligned",
      Join (aligned, "person02/img3.png")});
  EXPECT_EQ (r.status, 1);
  EXPECT_EQ (r.out.find ("admin"), std::string::npos) << r.out;
}

TEST (GalleryCliUntrusted, CheckReportsAndRepairWritesACleanGallery)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("untrusted-repair");
  std::string db = EnrolledGallery (dir);
  RunResult r = RunTool ({"gallery", "check", "--gallery", db});
  EXPECT_EQ (r.status, 0) << r.out << r.err;
  EXPECT_EQ (LastLine (r.out, "check")["problems"], "0");

  Sql (db, "CREATE TRIGGER wipe AFTER INSERT ON samples BEGIN "
      "DELETE FROM identities; END");
  Sql (db, "CREATE TABLE notes (x TEXT)");
  std::vector<unsigned char> before = fvtest::ReadFile (db);
  r = RunTool ({"gallery", "check", "--gallery", db});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.out.find ("trigger \"wipe\" on samples"), std::string::npos)
      << r.out;
  EXPECT_NE (r.out.find ("table \"notes\""), std::string::npos) << r.out;
  EXPECT_EQ (LastLine (r.out, "check")["problems"], "2");

  std::string fresh = Join (dir, "fresh.db");
  r = RunTool ({"gallery", "repair", "--gallery", db, "--to", fresh});
  ASSERT_EQ (r.status, 0) << r.err;
  auto kv = LastLine (r.out, "repair");
  EXPECT_EQ (kv["identities"], "2");
  EXPECT_EQ (kv["samples"], "2");
  EXPECT_TRUE (fvtest::ReadFile (db) == before) << "the source was changed";
  r = RunTool ({"gallery", "check", "--gallery", fresh});
  EXPECT_EQ (r.status, 0) << r.out;
  r = RunTool ({"gallery", "list", "--gallery", fresh, "--csv"});
  EXPECT_EQ (r.status, 0) << r.err;
  EXPECT_EQ (Lines (r.out).size (), 3u) << r.out;
  // No leftovers beside it.
  GDir *d = g_dir_open (dir.c_str (), 0, nullptr);
  std::vector<std::string> names;
  const char *n;
  while (d && (n = g_dir_read_name (d)))
    if (n[0] == '.')
      names.push_back (n);
  g_dir_close (d);
  EXPECT_EQ (names.size (), 0u) << "temporary files left in " << dir;

  // An existing target is refused unless --force, the source always.
  std::vector<unsigned char> fresh_bytes = fvtest::ReadFile (fresh);
  r = RunTool ({"gallery", "repair", "--gallery", db, "--to", fresh});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("--force"), std::string::npos) << r.err;
  EXPECT_TRUE (fvtest::ReadFile (fresh) == fresh_bytes);
  r = RunTool ({"gallery", "repair", "--gallery", db, "--to", db,
      "--force"});
  EXPECT_EQ (r.status, 1);
  EXPECT_TRUE (fvtest::ReadFile (db) == before);
  r = RunTool ({"gallery", "repair", "--gallery", db, "--to", fresh,
      "--force"});
  EXPECT_EQ (r.status, 0) << r.err;
}

// Every command that writes a file: a new file, atomically; an existing
// one only with --force; never a symlink, a device or the gallery read.
TEST (GalleryCliOutputs, ExportNeverClobbers)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("outputs-export");
  std::string db = EnrolledGallery (dir);
  std::vector<unsigned char> gallery = fvtest::ReadFile (db);

  // Onto the gallery itself: refused, even with --force.
  RunResult r = RunTool ({"gallery", "export", "--gallery", db, "-o", db});
  EXPECT_EQ (r.status, 1);
  r = RunTool ({"gallery", "export", "--gallery", db, "-o", db, "--force"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("reads"), std::string::npos) << r.err;
  EXPECT_TRUE (fvtest::ReadFile (db) == gallery);

  // An existing file: refused, kept; replaced with --force.
  std::string out = Join (dir, "out.json");
  g_file_set_contents (out.c_str (), "keep me", -1, nullptr);
  r = RunTool ({"gallery", "export", "--gallery", db, "-o", out});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("--force"), std::string::npos) << r.err;
  g_autofree char *text = nullptr;
  g_file_get_contents (out.c_str (), &text, nullptr, nullptr);
  EXPECT_STREQ (text, "keep me");
  r = RunTool ({"gallery", "export", "--gallery", db, "-o", out, "--force"});
  EXPECT_EQ (r.status, 0) << r.err;
  g_clear_pointer (&text, g_free);
  g_file_get_contents (out.c_str (), &text, nullptr, nullptr);
  EXPECT_EQ (text[0], '{');

  // A symlink (to a file of the victim's): refused, the target untouched.
  std::string victim = Join (dir, "victim.txt");
  g_file_set_contents (victim.c_str (), "precious", -1, nullptr);
  std::string link = Join (dir, "link.json");
  ASSERT_EQ (symlink (victim.c_str (), link.c_str ()), 0);
  r = RunTool ({"gallery", "export", "--gallery", db, "-o", link, "--force"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("symbolic link"), std::string::npos) << r.err;
  g_clear_pointer (&text, g_free);
  g_file_get_contents (victim.c_str (), &text, nullptr, nullptr);
  EXPECT_STREQ (text, "precious");
  // A symlink to the gallery.
  std::string glink = Join (dir, "glink.db");
  ASSERT_EQ (symlink (db.c_str (), glink.c_str ()), 0);
  r = RunTool ({"gallery", "export", "--gallery", glink, "-o", db,
      "--force"});
  EXPECT_EQ (r.status, 1);
  EXPECT_TRUE (fvtest::ReadFile (db) == gallery);

  // A device: refused.
  r = RunTool ({"gallery", "export", "--gallery", db, "-o", "/dev/null",
      "--force"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("not a regular file"), std::string::npos) << r.err;
}

TEST (GalleryCliOutputs, EvalScoresAndPlotNeverClobber)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("outputs-eval");
  std::string root = fvtest::SharedPath ("data/faces/openface");
  std::string scores = Join (dir, "s.csv"), png = Join (dir, "roc.png");
  g_file_set_contents (scores.c_str (), "keep me", -1, nullptr);
  std::vector<std::string> args = { "eval", "--pairs",
    Join (root, "pairs.csv"), "--root", root, "--aligned", "--scores", scores
  };
  RunResult r = RunTool (args);
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("--force"), std::string::npos) << r.err;
  g_autofree char *text = nullptr;
  g_file_get_contents (scores.c_str (), &text, nullptr, nullptr);
  EXPECT_STREQ (text, "keep me");
  args.push_back ("--force");
  r = RunTool (args);
  EXPECT_EQ (r.status, 0) << r.err;
  EXPECT_EQ (CountDataLines (scores), CountDataLines (Join (root,
              "pairs.csv")));

  // Symlinks are never written through, --force or not.
  std::string victim = Join (dir, "victim.txt");
  g_file_set_contents (victim.c_str (), "precious", -1, nullptr);
  ASSERT_EQ (symlink (victim.c_str (), png.c_str ()), 0);
  r = RunTool ({"eval", "--pairs", Join (root, "pairs.csv"), "--root", root,
      "--aligned", "--plot", png, "--force"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("symbolic link"), std::string::npos) << r.err;
  g_clear_pointer (&text, g_free);
  g_file_get_contents (victim.c_str (), &text, nullptr, nullptr);
  EXPECT_STREQ (text, "precious");
}

}  // namespace

// --- calibrate (issue 13) -------------------------------------------------

static std::string
CalibrationGallery (const std::string &dir)
{
  std::string db = Join (dir, "g.db");
  std::string crop = fvtest::SharedPath
      ("data/faces/deepface/aligned/person01/img1.png");
  RunResult r = RunTool ({"enroll", "--gallery", db, "--aligned", "--label",
      "person01", crop});
  EXPECT_EQ (r.status, 0) << r.err;
  return db;
}

static std::string
MetaValue (const std::string &db, const std::string &key)
{
  sqlite3 *h = nullptr;
  std::string v;
  EXPECT_EQ (sqlite3_open_v2 (db.c_str (), &h, SQLITE_OPEN_READONLY,
          nullptr), SQLITE_OK);
  sqlite3_stmt *st = nullptr;
  sqlite3_prepare_v2 (h, "SELECT value FROM meta WHERE key = ?1", -1, &st,
      nullptr);
  sqlite3_bind_text (st, 1, key.c_str (), -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    v = (const char *) sqlite3_column_text (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (h);
  return v;
}

// The measured false-accept rate at the printed threshold, computed here
// from eval's scores, is within 3 binomial sigma of the asked one; the
// threshold is stored in the gallery (and the generation bumped).
TEST (GalleryCli, CalibrateReachesTheAskedFalseAcceptRate)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("calibrate");
  std::string db = CalibrationGallery (dir);
  for (const char *source : kSources) {
    SCOPED_TRACE (source);
    std::string root = fvtest::SharedPath (std::string ("data/faces/") +
        source);
    std::string pairs = Join (root, "pairs.csv");

    // the impostor scores, independently of calibrate
    std::string scores = Join (dir, std::string (source) + ".csv");
    RunResult e = RunTool ({"eval", "--pairs", pairs, "--root", root,
        "--aligned", "--scores", scores});
    ASSERT_EQ (e.status, 0) << e.err;
    std::vector<double> impostor;
    std::ifstream in (scores);
    std::string row;
    std::getline (in, row);
    while (std::getline (in, row)) {
      auto f = Split (row);
      if (f.size () >= 4 && f[2] == "0")
        impostor.push_back (g_ascii_strtod (f[3].c_str (), nullptr));
    }
    size_t n = impostor.size ();
    ASSERT_GT (n, 0u);
    // a rate whose expected count of accepted impostors is meaningful
    const double far = n >= 20 ? 0.1 : 0.5;
    char far_s[32];
    g_ascii_formatd (far_s, sizeof far_s, "%g", far);

    std::string gen0 = MetaValue (db, "generation");
    RunResult r = RunTool ({"calibrate", "--gallery", db, "--impostors",
        pairs, "--aligned", "--far", far_s});
    ASSERT_EQ (r.status, 0) << r.err;
    auto lines = Lines (r.out);
    ASSERT_GE (lines.size (), 2u);
    EXPECT_EQ (lines.back ().rfind ("wrote match_threshold", 0), 0u);
    lines.pop_back ();
    std::string summary;
    for (const auto &l : lines)
      summary += l + "\n";
    auto kv = LastLine (summary, "calibrate");
    double thr = g_ascii_strtod (kv["thr"].c_str (), nullptr);
    EXPECT_EQ (kv["impostors"], std::to_string (n));
    EXPECT_EQ (MetaValue (db, "match_threshold"), kv["thr"]);
    EXPECT_EQ (std::stoll (MetaValue (db, "generation")),
        std::stoll (gen0) + 1);

    size_t accepted = 0;
    for (double v : impostor)
      if (v >= thr)
        accepted++;
    double measured = (double) accepted / n;
    double sigma = sqrt (far * (1 - far) / n);
    EXPECT_LE (fabs (measured - far), 3 * sigma) << measured << " of " << n;
    EXPECT_LE (measured, far);
  }
  // `gallery copy` takes the calibrated threshold along
  std::string copy = Join (dir, "copy.db");
  RunResult c = RunTool ({"gallery", "copy", db, copy});
  ASSERT_EQ (c.status, 0) << c.err;
  EXPECT_EQ (MetaValue (copy, "match_threshold"),
      MetaValue (db, "match_threshold"));
  EXPECT_NE (MetaValue (copy, "match_threshold"), "");
}

TEST (GalleryCli, CalibrateOnAFolderOfStrangers)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("calibrate-folder");
  std::string db = CalibrationGallery (dir);
  std::string strangers = Join (dir, "strangers");
  g_mkdir_with_parents (strangers.c_str (), 0755);
  int n = 0;
  for (const char *p : { "person02", "person03" }) {
    std::string pd = fvtest::SharedPath (std::string
        ("data/faces/deepface/aligned/") + p);
    GDir *d = g_dir_open (pd.c_str (), 0, nullptr);
    ASSERT_NE (d, nullptr);
    const char *f;
    while ((f = g_dir_read_name (d)) != nullptr && n < 8) {
      auto bytes = fvtest::ReadFile (Join (pd, f));
      std::string to = Join (strangers, std::string (p) + "-" + f);
      g_file_set_contents (to.c_str (), (const char *) bytes.data (),
          bytes.size (), nullptr);
      n++;
    }
    g_dir_close (d);
  }
  RunResult r = RunTool ({"calibrate", "--gallery", db, "--impostors",
      strangers, "--aligned", "--far", "0.25", "--dry-run"});
  ASSERT_EQ (r.status, 0) << r.err;
  auto kv = LastLine (r.out, "calibrate");
  EXPECT_EQ (kv["impostors"], std::to_string (n));
  EXPECT_EQ (kv["achieved"], "0.25") << r.out;
  EXPECT_EQ (MetaValue (db, "match_threshold"), "");   // --dry-run
  // too few strangers for the asked rate: said, still an answer
  r = RunTool ({"calibrate", "--gallery", db, "--impostors", strangers,
      "--aligned", "--far", "1e-3", "--dry-run"});
  EXPECT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.err.find ("too few"), std::string::npos) << r.err;
  EXPECT_EQ (LastLine (r.out, "calibrate")["achieved"], "0");
}

TEST (GalleryCli, CalibrateRefusesBadInput)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("calibrate-bad");
  std::string db = CalibrationGallery (dir);
  std::string pairs = fvtest::SharedPath ("data/faces/deepface/pairs.csv");
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = { "calibrate" };
    a.insert (a.end (), extra.begin (), extra.end ());
    return RunTool (a);
  };
  EXPECT_EQ (run ({"--impostors", pairs}).status, 2);
  EXPECT_EQ (run ({"--gallery", db}).status, 2);
  for (const char *far : { "0", "1", "-0.1", "1.5", "nan" }) {
    RunResult r = run ({"--gallery", db, "--impostors", pairs, "--aligned",
        "--far", far});
    EXPECT_EQ (r.status, 2) << far;
    EXPECT_NE (r.err.find ("far"), std::string::npos) << r.err;
  }
  RunResult r = run ({"--gallery", Join (dir, "missing.db"), "--impostors",
      pairs, "--aligned", "--far", "0.1"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("missing.db"), std::string::npos) << r.err;
  EXPECT_FALSE (g_file_test (Join (dir, "missing.db").c_str (),
          G_FILE_TEST_EXISTS));
  std::string empty = Join (dir, "empty");
  g_mkdir_with_parents (empty.c_str (), 0755);
  r = run ({"--gallery", db, "--impostors", empty, "--aligned"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("no impostor"), std::string::npos) << r.err;
  std::string genuine = Join (dir, "genuine.csv");
  g_file_set_contents (genuine.c_str (), "a,b,same\n"
      "aligned/person01/img1.png,aligned/person01/img2.png,1\n", -1, nullptr);
  r = run ({"--gallery", db, "--impostors", genuine, "--root",
      fvtest::SharedPath ("data/faces/deepface"), "--aligned"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("no impostor"), std::string::npos) << r.err;
  EXPECT_EQ (MetaValue (db, "match_threshold"), "");
}

// identify and verify take the gallery's calibrated threshold when no
// --threshold is given, by the faceverify element's rule, and say which
// threshold they used and where it came from.
TEST (GalleryCli, IdentifyAndVerifyUseTheCalibratedThreshold)
{
  SKIP_WITHOUT_DATA ();
  std::string dir = Fresh ("calibrated-identify");
  std::string db = CalibrationGallery (dir);
  std::string probe = fvtest::SharedPath
      ("data/faces/deepface/aligned/person01/img2.png");
  std::string crop = fvtest::SharedPath
      ("data/faces/deepface/aligned/person01/img1.png");
  auto identify = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = { "identify", "--gallery", db, "--aligned" };
    a.insert (a.end (), extra.begin (), extra.end ());
    a.push_back (probe);
    return RunTool (a);
  };

  // not calibrated: the default
  RunResult r = identify ({});
  ASSERT_EQ (r.status, 0) << r.err;
  auto f = Split (Lines (r.out).at (1));
  double similarity = g_ascii_strtod (f.at (7).c_str (), nullptr);
  ASSERT_GT (similarity, 0.5) << "the same person must be known at 0.5";
  ASSERT_LT (similarity, 0.999);
  EXPECT_EQ (f[9], "1");
  EXPECT_NE (r.err.find ("threshold 0.5000 (the default"), std::string::npos)
      << r.err;

  // calibrated above this similarity: the same face is now unknown
  {
    GError *error = nullptr;
    FvGallery *g = fv_gallery_open (db.c_str (), FV_GALLERY_OPEN_READ_WRITE,
        nullptr, 0, &error);
    ASSERT_NE (g, nullptr) << error->message;
    ASSERT_TRUE (fv_gallery_set_default_threshold (g, 0.9995, &error))
        << error->message;
    fv_gallery_free (g);
  }
  r = identify ({});
  ASSERT_EQ (r.status, 0) << r.err;
  f = Split (Lines (r.out).at (1));
  EXPECT_EQ (f.at (6), "unknown");
  EXPECT_EQ (f.at (9), "0");
  EXPECT_NE (r.err.find ("threshold 0.9995 (calibrated for the gallery)"),
      std::string::npos) << r.err;

  // --threshold wins over the calibration
  r = identify ({"--threshold", "0.3"});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_EQ (Split (Lines (r.out).at (1)).at (9), "1");
  EXPECT_NE (r.err.find ("threshold 0.3000 (--threshold)"),
      std::string::npos) << r.err;
  for (const char *bad : { "nan", "1.5", "-2", "x", "0.5x", "" }) {
    r = identify ({"--threshold", bad});
    EXPECT_EQ (r.status, 2) << bad;
    EXPECT_NE (r.err.find ("--threshold"), std::string::npos) << r.err;
  }

  // verify: the calibrated threshold of --gallery, else the default
  r = RunTool ({"verify", "--aligned", "--gallery", db, crop, probe});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("threshold=0.9995 source=calibrated "
          "result=different"), std::string::npos) << r.out;
  r = RunTool ({"verify", "--aligned", crop, probe});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("threshold=0.5000 source=default result=same"),
      std::string::npos) << r.out;
  r = RunTool ({"verify", "--aligned", "--gallery", db, "--threshold", "0.3",
      crop, probe});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("threshold=0.3000 source=given result=same"),
      std::string::npos) << r.out;
  r = RunTool ({"verify", "--aligned", "--gallery", Join (dir, "none.db"),
      crop, probe});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find ("none.db"), std::string::npos) << r.err;
}

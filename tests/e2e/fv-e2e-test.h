// Helpers of the end-to-end tests: running the project's scripts and
// programs as a user would, and reading what they wrote.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include "fv-test-util.h"

namespace fve2e {

struct Result
{
  int status = -1;              // exit status, -1 when it did not run
  std::string out, err;
};

// Runs @argv (argv[0] looked up in PATH) in @cwd with extra @env
// ("NAME=value") on top of the test's environment.
inline Result
Spawn (const std::vector<std::string> &argv,
    const std::vector<std::string> &env = {}, const std::string &cwd = "")
{
  Result r;
  std::vector<char *> a;
  for (const auto &s : argv)
    a.push_back ((char *) s.c_str ());
  a.push_back (NULL);
  gchar **envp = g_get_environ ();
  for (const auto &e : env) {
    size_t eq = e.find ('=');
    envp = g_environ_setenv (envp, e.substr (0, eq).c_str (),
        e.substr (eq + 1).c_str (), TRUE);
  }
  gchar *out = NULL, *err = NULL;
  gint wait = 0;
  GError *error = NULL;
  if (g_spawn_sync (cwd.empty () ? NULL : cwd.c_str (), a.data (), envp,
          G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &wait, &error)) {
    r.status = WIFEXITED (wait) ? WEXITSTATUS (wait) : 128 + WTERMSIG (wait);
    r.out = out ? out : "";
    r.err = err ? err : "";
  } else {
    r.err = error->message;
    g_error_free (error);
  }
  g_free (out);
  g_free (err);
  g_strfreev (envp);
  return r;
}

inline std::string
SourceDir ()
{
  return FV_SOURCE_ROOT;
}

inline std::string
BuildDir ()
{
  return FV_BUILD_ROOT;
}

inline std::string
Path (const std::string &a, const std::string &b)
{
  g_autofree char *p = g_build_filename (a.c_str (), b.c_str (), NULL);
  return p;
}

inline bool
Exists (const std::string &p)
{
  return g_file_test (p.c_str (), G_FILE_TEST_EXISTS);
}

inline std::vector<std::string>
Lines (const std::string &text)
{
  std::vector<std::string> v;
  std::stringstream ss (text);
  std::string l;
  while (std::getline (ss, l))
    v.push_back (l);
  return v;
}

inline std::string
ReadText (const std::string &path)
{
  auto bytes = fvtest::ReadFile (path);
  return std::string (bytes.begin (), bytes.end ());
}

// "key value" lines.
inline std::map<std::string, double>
ReadKeyValues (const std::string &path)
{
  std::map<std::string, double> m;
  for (const auto &l : Lines (ReadText (path))) {
    std::stringstream ss (l);
    std::string k;
    double v;
    if (ss >> k >> v)
      m[k] = v;
  }
  return m;
}

inline void
RemoveGallery (const std::string &path)
{
  for (const char *s : { "", "-wal", "-shm", "-journal" })
    g_unlink ((path + s).c_str ());
}

// A gallery of deepface people enrolled with the CLI from photos that the
// shared clip does not show (it shows each identity's last two photos).
inline bool
MakeClipGallery (const std::string &path, std::string *why,
    const std::map<std::string, std::vector<std::string>> &people = {
      { "person01", { "img1.jpg", "img2.jpg" } },
      { "person04", { "img13.jpg", "img14.jpg" } } })
{
  RemoveGallery (path);
  const char *cli = g_getenv ("FV_FACEVERIFY");
  for (const auto &kv : people) {
    std::vector<std::string> argv = { cli ? cli : "faceverify", "enroll",
      "--gallery", path, "--label", kv.first };
    for (const auto &img : kv.second)
      argv.push_back (fvtest::SharedPath ("data/faces/deepface/raw/" +
              kv.first + "/" + img));
    Result r = Spawn (argv);
    if (r.status != 0) {
      *why = r.out + r.err;
      return false;
    }
  }
  return true;
}

}  // namespace fve2e

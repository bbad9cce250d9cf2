// Helpers shared by the GoogleTest suites.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <glib.h>
#include <gtest/gtest.h>

#include "fv-config.h"
#include "fv.h"

namespace fvtest {

// The folder with the shared test data (../shared beside the checkout).
// One setting: FV_SHARED_DIR; the default is compiled in.
inline std::string
SharedDir ()
{
  const char *env = g_getenv ("FV_SHARED_DIR");
  return env && *env ? env : FV_DEFAULT_SHARED_DIR;
}

inline bool
HaveShared (const std::string &rel)
{
  g_autofree char *p = g_build_filename (SharedDir ().c_str (), rel.c_str (),
      NULL);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

inline std::string
SharedPath (const std::string &rel)
{
  g_autofree char *p = g_build_filename (SharedDir ().c_str (), rel.c_str (),
      NULL);
  return p;
}

inline std::string
TestDataPath (const std::string &rel)
{
  const char *dir = g_getenv ("FV_TEST_DATA_DIR");
  g_autofree char *p = g_build_filename (dir ? dir : "tests/data",
      rel.c_str (), NULL);
  return p;
}

// Heavy sweeps over the shared data (every real face, every golden case)
// take one item in FV_TEST_SAMPLE_EVERY (default 1: all of them). The
// sanitizer tree runs a sample this way; the optimised tree runs them whole.
inline size_t
SampleEvery ()
{
  const char *env = g_getenv ("FV_TEST_SAMPLE_EVERY");
  long n = env ? strtol (env, NULL, 10) : 1;
  return n > 1 ? (size_t) n : 1;
}

// Path of a fetched model, or "" (the caller skips).
inline std::string
ModelPath (const char *name)
{
  g_autofree char *p = fv_find_model (name);
  return p ? p : "";
}

// A scratch folder inside the build tree, never in the sources or shared/.
inline std::string
ScratchDir (const std::string &name)
{
  const char *b = g_getenv ("FV_BUILD_DIR");
  g_autofree char *p = g_build_filename (b ? b : ".", "test-scratch",
      name.c_str (), NULL);
  g_mkdir_with_parents (p, 0755);
  return p;
}

inline std::vector<unsigned char>
ReadFile (const std::string &path)
{
  gchar *data = NULL;
  gsize len = 0;
  std::vector<unsigned char> v;
  if (g_file_get_contents (path.c_str (), &data, &len, NULL))
    v.assign (data, data + len);
  g_free (data);
  return v;
}

// One CSV line split at commas (the shared CSV files have no quoting).
inline std::vector<std::string>
SplitCsv (std::string line)
{
  std::vector<std::string> out;
  if (!line.empty () && line.back () == '\r')
    line.pop_back ();           // the CSV files have CRLF line ends
  std::stringstream ss (line);
  std::string cell;
  while (std::getline (ss, cell, ','))
    out.push_back (cell);
  return out;
}

// Rows of a CSV file with a header, as column name -> value maps.
inline std::vector<std::map<std::string, std::string>>
ReadCsv (const std::string &path)
{
  std::vector<std::map<std::string, std::string>> rows;
  std::ifstream f (path);
  std::string line;
  if (!std::getline (f, line))
    return rows;
  std::vector<std::string> head = SplitCsv (line);
  while (std::getline (f, line)) {
    std::vector<std::string> cells = SplitCsv (line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < head.size () && i < cells.size (); i++)
      row[head[i]] = cells[i];
    rows.push_back (row);
  }
  return rows;
}

}  // namespace fvtest

#define FV_SKIP_WITHOUT_MODEL(var, name)                                     \
  std::string var = fvtest::ModelPath (name);                                \
  if (var.empty ())                                                          \
    GTEST_SKIP () << name << " not found: run models/fetch.sh (or set "      \
                  "FV_MODEL_DIR)"

#define FV_SKIP_WITHOUT_SHARED(rel)                                          \
  if (!fvtest::HaveShared (rel))                                             \
    GTEST_SKIP () << "shared test data not found at "                        \
                  << fvtest::SharedPath (rel)                                \
                  << ": set FV_SHARED_DIR to the shared/ folder"

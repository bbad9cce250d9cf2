// Helpers shared by the GoogleTest suites.
#pragma once

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

// Helpers shared by the GoogleTest suites.
#pragma once

#include <algorithm>
#include <cmath>
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

// A Gaussian blur of standard deviation @sigma pixels of packed RGB
// (@w x @h, rows of 3 * @w bytes), separable, clamped at the borders: the
// blurred photos of the face quality tests.
inline std::vector<guint8>
GaussianBlurRgb (const std::vector<guint8> &in, int w, int h, double sigma)
{
  const int r = (int) std::ceil (3 * sigma);
  std::vector<double> k (2 * r + 1);
  double ksum = 0;
  for (int i = -r; i <= r; i++)
    ksum += k[i + r] = std::exp (-0.5 * i * i / (sigma * sigma));
  for (double &v : k)
    v /= ksum;
  std::vector<guint8> tmp (in.size ()), out (in.size ());
  for (int pass = 0; pass < 2; pass++) {
    const std::vector<guint8> &src = pass == 0 ? in : tmp;
    std::vector<guint8> &dst = pass == 0 ? tmp : out;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++) {
          double acc = 0;
          for (int i = -r; i <= r; i++) {
            int xx = pass == 0 ? std::clamp (x + i, 0, w - 1) : x;
            int yy = pass == 1 ? std::clamp (y + i, 0, h - 1) : y;
            acc += k[i + r] * src[((size_t) yy * w + xx) * 3 + c];
          }
          dst[((size_t) y * w + x) * 3 + c] = (guint8) std::lround (acc);
        }
  }
  return out;
}

// The independent reference's embeddings of the shared aligned crops
// (golden/dev_faces_reference_embeddings.csv), by "source/aligned/...";
// empty when the file is missing.
inline std::map<std::string, std::vector<float>>
ReferenceEmbeddings ()
{
  std::map<std::string, std::vector<float>> ref;
  std::ifstream f (SharedPath ("golden/dev_faces_reference_embeddings.csv"));
  std::string line;
  std::getline (f, line);
  while (std::getline (f, line)) {
    std::vector<std::string> c = SplitCsv (line);
    std::vector<float> e;
    for (size_t i = 2; i < c.size (); i++)
      e.push_back ((float) g_ascii_strtod (c[i].c_str (), NULL));
    if (c.size () > 2)
      ref[c[0] + "/" + c[1]] = e;
  }
  return ref;
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

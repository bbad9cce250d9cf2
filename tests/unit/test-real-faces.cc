// Real faces: every aligned crop of ../shared/data/faces, fed as its PNG,
// embeds to cosine >= 0.9999 against the reference embedding in
// ../shared/golden/dev_faces_reference_embeddings.csv.
#include <cmath>
#include <fstream>
#include <sstream>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "fv-test-util.h"

namespace {

struct Row {
  std::string source, aligned;
  std::vector<float> emb;
};

std::vector<Row>
ReadReference (const std::string &path)
{
  std::vector<Row> rows;
  std::ifstream f (path);
  std::string line;
  std::getline (f, line);       // header
  while (std::getline (f, line)) {
    std::stringstream ss (line);
    std::string cell;
    Row r;
    std::getline (ss, r.source, ',');
    std::getline (ss, r.aligned, ',');
    while (std::getline (ss, cell, ','))
      r.emb.push_back (std::stof (cell));
    rows.push_back (r);
  }
  return rows;
}

TEST (RealFaces, AlignedCropsMatchTheReference)
{
  FV_SKIP_WITHOUT_MODEL (model, "MobileFaceNet.tflite");
  FV_SKIP_WITHOUT_SHARED ("golden/dev_faces_reference_embeddings.csv");
  FV_SKIP_WITHOUT_SHARED ("data/faces");

  auto rows = ReadReference (
      fvtest::SharedPath ("golden/dev_faces_reference_embeddings.csv"));
  ASSERT_GT (rows.size (), 100u);

  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) e = fv_embedder_new (model.c_str (), &error);
  ASSERT_NE (nullptr, e) << error->message;
  const guint dim = fv_embedder_get_dim (e);

  double worst = 2.0;
  std::string worst_name;
  const size_t every = fvtest::SampleEvery ();
  size_t checked = 0;
  for (size_t i = 0; i < rows.size (); i += every) {
    const Row &r = rows[i];
    checked++;
    ASSERT_EQ (dim, r.emb.size ()) << r.aligned;
    std::string png = fvtest::SharedPath ("data/faces/" + r.source + "/"
        + r.aligned);
    g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (png.c_str (),
        &error);
    ASSERT_NE (nullptr, pb) << png << ": " << error->message;
    ASSERT_EQ (112, gdk_pixbuf_get_width (pb));
    ASSERT_EQ (112, gdk_pixbuf_get_height (pb));
    // Drop alpha if present; the crops are RGB.
    const int nch = gdk_pixbuf_get_n_channels (pb);
    const int stride = gdk_pixbuf_get_rowstride (pb);
    const guint8 *px = gdk_pixbuf_read_pixels (pb);
    std::vector<guint8> rgb (112 * 112 * 3);
    for (int y = 0; y < 112; y++)
      for (int x = 0; x < 112; x++)
        for (int c = 0; c < 3; c++)
          rgb[(y * 112 + x) * 3 + c] = px[y * stride + x * nch + c];

    std::vector<float> emb (dim);
    fv_embedder_embed (e, rgb.data (), 112 * 3, emb.data ());
    double cos = fv_cosine (emb.data (), r.emb.data (), dim);
    EXPECT_GE (cos, 0.9999) << r.source << "/" << r.aligned;
    if (cos < worst) {
      worst = cos;
      worst_name = r.source + "/" + r.aligned;
    }
  }
  printf ("real faces: %zu of %zu crops (one in %zu), lowest cosine %.7f "
      "(%s)\n", checked, rows.size (), every, worst, worst_name.c_str ());
}

}  // namespace

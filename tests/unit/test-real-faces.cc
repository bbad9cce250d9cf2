// Real faces: every aligned crop of ../shared/data/faces, fed as its PNG,
// embeds to cosine >= 0.9999 against the reference embedding in
// ../shared/golden/dev_faces_reference_embeddings.csv; and the flip
// test-time augmentation on a few of them.
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

// fv_embedder_set_flip(): the embedding is the normalised sum of the
// crop's and its mirror image's unit embeddings, so a crop and its mirror
// get the same one; every entry point (one face, a batch, a tensor) does it.
TEST (RealFaces, FlipAveragesTheCropAndItsMirror)
{
  FV_SKIP_WITHOUT_MODEL (model, "MobileFaceNet.tflite");
  FV_SKIP_WITHOUT_SHARED ("golden/dev_faces_reference_embeddings.csv");
  FV_SKIP_WITHOUT_SHARED ("data/faces");

  auto rows = ReadReference (
      fvtest::SharedPath ("golden/dev_faces_reference_embeddings.csv"));
  ASSERT_GE (rows.size (), 2u);
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) m = fv_model_new_from_file (model.c_str (), &error);
  ASSERT_NE (nullptr, m) << error->message;
  g_autoptr (FvEmbedder) e = fv_embedder_new_for_model (m, 2, &error);
  ASSERT_NE (nullptr, e) << error->message;
  const guint dim = fv_embedder_get_dim (e);
  EXPECT_FALSE (fv_embedder_get_flip (e));

  std::vector<guint8> rgb[2], mirror[2];
  for (int k = 0; k < 2; k++) {
    std::string png = fvtest::SharedPath ("data/faces/" + rows[k].source
        + "/" + rows[k].aligned);
    g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (png.c_str (),
        &error);
    ASSERT_NE (nullptr, pb) << png << ": " << error->message;
    const int nch = gdk_pixbuf_get_n_channels (pb);
    const int stride = gdk_pixbuf_get_rowstride (pb);
    const guint8 *px = gdk_pixbuf_read_pixels (pb);
    rgb[k].resize (112 * 112 * 3);
    mirror[k].resize (112 * 112 * 3);
    for (int y = 0; y < 112; y++)
      for (int x = 0; x < 112; x++)
        for (int c = 0; c < 3; c++) {
          rgb[k][(y * 112 + x) * 3 + c] = px[y * stride + x * nch + c];
          mirror[k][(y * 112 + 111 - x) * 3 + c] =
              px[y * stride + x * nch + c];
        }
  }

  // without flip: the two plain embeddings, then their normalised sum
  std::vector<float> plain (dim), mirrored (dim), want (dim);
  fv_embedder_embed (e, rgb[0].data (), 112 * 3, plain.data ());
  fv_embedder_embed (e, mirror[0].data (), 112 * 3, mirrored.data ());
  for (guint i = 0; i < dim; i++)
    want[i] = plain[i] + mirrored[i];
  fv_l2_normalize (want.data (), dim);
  double plain_mirror = fv_cosine (plain.data (), mirrored.data (), dim);
  EXPECT_LT (plain_mirror, 0.9999);     // the mirror image is another view

  fv_embedder_set_flip (e, TRUE);
  EXPECT_TRUE (fv_embedder_get_flip (e));
  std::vector<float> got (dim), got_mirror (dim), batch (2 * dim),
      tensor_out (2 * dim);
  fv_embedder_embed (e, rgb[0].data (), 112 * 3, got.data ());
  fv_embedder_embed (e, mirror[0].data (), 112 * 3, got_mirror.data ());
  EXPECT_GE (fv_cosine (got.data (), want.data (), dim), 0.99999);
  EXPECT_GE (fv_cosine (got.data (), got_mirror.data (), dim), 0.99999);
  double norm = 0;
  for (guint i = 0; i < dim; i++)
    norm += (double) got[i] * got[i];
  EXPECT_NEAR (norm, 1.0, 1e-5);

  // a batch of two, and the same faces as a preprocessed tensor
  const guint8 *faces[2] = { rgb[0].data (), rgb[1].data () };
  const gsize strides[2] = { 112 * 3, 112 * 3 };
  fv_embedder_embed_batch (e, 2, faces, strides, batch.data ());
  std::vector<float> tensor (2 * 112 * 112 * 3);
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < rgb[k].size (); i++)
      tensor[k * rgb[k].size () + i] = (rgb[k][i] - 127.5f) / 128.0f;
  fv_embedder_embed_tensor (e, 2, tensor.data (), tensor_out.data ());
  std::vector<float> second (dim);
  fv_embedder_embed (e, rgb[1].data (), 112 * 3, second.data ());
  EXPECT_GE (fv_cosine (batch.data (), got.data (), dim), 0.99999);
  EXPECT_GE (fv_cosine (batch.data () + dim, second.data (), dim), 0.99999);
  EXPECT_GE (fv_cosine (tensor_out.data (), got.data (), dim), 0.99999);
  EXPECT_GE (fv_cosine (tensor_out.data () + dim, second.data (), dim),
      0.99999);
  printf ("flip: cosine of a crop's and its mirror's embeddings %.4f\n",
      plain_mirror);
}

}  // namespace

/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-embed.c: `faceverify embed`, the embeddings of face images as CSV.
 */
#include "fv-tool.h"
#include "fv-image-load.h"
#include "fv-tool-faces.h"

#include <fv.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COMMAND "embed"

/* Loads @path, checks that it is an aligned crop and appends its CSV line
 * to @out. Prints the error and returns FALSE on failure. */
static gboolean
embed_one (FvEmbedder * embedder, const char *path, float *embedding,
    guint dim, GString * out)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *rgb = NULL;
  int width = 0, height = 0;
  gsize stride = 0;
  guint i;

  rgb = fv_image_load_rgb (path, &width, &height, &stride, &error);
  if (rgb == NULL) {
    fv_tool_error (path, "%s", error->message);
    return FALSE;
  }
  if (width != FV_EMBED_SIZE || height != FV_EMBED_SIZE) {
    fv_tool_error (path, "image is %dx%d; --aligned needs %dx%d face crops",
        width, height, FV_EMBED_SIZE, FV_EMBED_SIZE);
    return FALSE;
  }

  fv_embedder_embed (embedder, rgb, stride, embedding);
  if (!fv_tool_embedding_is_finite (path, embedding, dim))
    return FALSE;

  fv_tool_append_csv_field (out, path);
  for (i = 0; i < dim; i++) {
    g_string_append_c (out, ',');
    fv_tool_append_float (out, embedding[i]);
  }
  /* a crop alone tells no size, pose nor frame edge */
  g_string_append_c (out, ',');
  fv_tool_append_float (out, fv_face_quality (rgb, stride, 0.0f, 0.0f,
          FV_EMBED_SIZE, FV_EMBED_SIZE, NULL, FV_EMBED_SIZE, FV_EMBED_SIZE,
          NULL));
  g_string_append_c (out, '\n');
  return TRUE;
}

gboolean
fv_tool_embedding_is_finite (const char *path, const float *embedding,
    guint dim)
{
  guint i;

  for (i = 0; i < dim; i++) {
    if (!isfinite (embedding[i])) {
      fv_tool_error (path, "the model gave a non-finite embedding (element "
          "%u); is the model file damaged?", i);
      return FALSE;
    }
  }
  return TRUE;
}

int
fv_cmd_embed (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_auto (GStrv) images = NULL;
  gboolean aligned = FALSE;
  GOptionEntry entries[] = {
    FV_TOOL_MODEL_ENTRY (&model_path),
    {"aligned", 'a', 0, G_OPTION_ARG_NONE, &aligned,
        "The images are aligned 112x112 face crops", NULL},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &images, NULL,
        NULL},
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) embedder = NULL;
  g_autoptr (GString) out = NULL;
  g_autofree float *embedding = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  gboolean failed = FALSE;
  guint dim, i;

  g_return_val_if_fail (argc >= 1, FV_TOOL_EXIT_USAGE);

  context = g_option_context_new ("[--aligned] IMAGE…");
  g_option_context_set_summary (context,
      "Prints the L2-normalised MobileFaceNet embedding of each image as CSV:\n"
      "a header \"path,e0,…,e191,quality\", then one line per image (quality:\n"
      "that of the face crop, 0-1).");
  g_option_context_set_description (context,
      "The images are JPEG, PNG, PNM, BMP, GIF, colour or grayscale. Photos:\n"
      "the largest face is found, aligned and embedded; a photo without a\n"
      "face gives a warning on stderr and no line. With --aligned they must\n"
      "be 112x112 face crops aligned to the ArcFace 5-point template.\n"
      "A file that cannot be used is reported on stderr, the others are\n"
      "still embedded, and the exit status is 1.\n\n"
      "Example:\n"
      "  faceverify embed alice.jpg bob.jpg > embeddings.csv\n"
      "  faceverify embed --aligned alice.png bob.png > embeddings.csv\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, COMMAND, &args))
    return FV_TOOL_EXIT_USAGE;

  if (images == NULL || images[0] == NULL) {
    fv_tool_error (COMMAND, "no image given");
    fprintf (stderr, "Usage: faceverify embed [--model FILE] [--aligned] "
        "IMAGE…\nTry 'faceverify embed --help' for more information.\n");
    return FV_TOOL_EXIT_USAGE;
  }
  /* Photos: detect, align and embed the largest face (fv-cmd-detect.c). */
  if (!aligned)
    return fv_cmd_embed_photos (model_path, images);

  if (model_path == NULL) {
    model_path = fv_find_model (FV_TOOL_DEFAULT_MODEL);
    if (model_path == NULL) {
      fv_tool_error (NULL, "model " FV_TOOL_DEFAULT_MODEL " not found: run "
          "models/fetch.sh in the source tree (and install), or give "
          "--model FILE");
      return FV_TOOL_EXIT_FAILURE;
    }
  }

  embedder = fv_embedder_new (model_path, &error);
  if (embedder == NULL) {
    /* Most model errors already name the file. */
    fv_tool_error (strstr (error->message, model_path) ? NULL : model_path,
        "cannot load the model: %s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  dim = fv_embedder_get_dim (embedder);
  embedding = g_new0 (float, dim);

  out = g_string_new ("path");
  for (i = 0; i < dim; i++)
    g_string_append_printf (out, ",e%u", i);
  g_string_append (out, ",quality\n");

  for (i = 0; images[i] != NULL; i++) {
    if (!embed_one (embedder, images[i], embedding, dim, out))
      failed = TRUE;
    if (!fv_tool_write_stdout (out))
      return FV_TOOL_EXIT_FAILURE;
    g_string_truncate (out, 0);
  }

  return failed ? FV_TOOL_EXIT_FAILURE : FV_TOOL_EXIT_OK;
}

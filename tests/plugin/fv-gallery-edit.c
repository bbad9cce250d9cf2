/* The "other process" of the live-gallery tests: edits a gallery file.
 *
 *   fv-gallery-edit enroll GALLERY LABEL EMBEDDING.f32 MODEL
 *   fv-gallery-edit remove GALLERY LABEL MODEL
 *   fv-gallery-edit corrupt GALLERY
 *
 * EMBEDDING.f32 holds float32 values in host order. MODEL is the model
 * file whose fingerprint the gallery records. Exit status 0 on success. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "fv.h"

static int
fail (GError * err)
{
  fprintf (stderr, "fv-gallery-edit: %s\n", err ? err->message : "bad usage");
  g_clear_error (&err);
  return 1;
}

static FvGallery *
open_gallery (const char *path, const char *model_path, GError ** err)
{
  FvEmbedder *e = fv_embedder_new (model_path, err);
  FvGallery *g;

  if (!e)
    return NULL;
  g = fv_gallery_open (path, FV_GALLERY_OPEN_READ_WRITE |
      FV_GALLERY_OPEN_CREATE, fv_embedder_get_fingerprint (e),
      fv_embedder_get_dim (e), err);
  fv_embedder_free (e);
  return g;
}

int
main (int argc, char **argv)
{
  GError *err = NULL;

  if (argc == 6 && strcmp (argv[1], "enroll") == 0) {
    gchar *data = NULL;
    gsize len = 0;
    FvGallery *g;
    FvGallerySample s;
    gboolean ok;

    if (!g_file_get_contents (argv[4], &data, &len, &err))
      return fail (err);
    g = open_gallery (argv[2], argv[5], &err);
    if (!g || len != fv_gallery_get_dim (g) * sizeof (float)) {
      g_free (data);
      if (g)
        fv_gallery_free (g);
      return fail (err);
    }
    s.embedding = (const float *) data;
    s.quality = -1.0f;
    s.source = "fv-gallery-edit";
    ok = fv_gallery_enroll (g, argv[3], NULL, &s, 1,
        FV_GALLERY_ENROLL_APPEND, NULL, &err);
    fv_gallery_free (g);
    g_free (data);
    return ok ? 0 : fail (err);
  }
  if (argc == 5 && strcmp (argv[1], "remove") == 0) {
    FvGallery *g = open_gallery (argv[2], argv[4], &err);
    gboolean ok;

    if (!g)
      return fail (err);
    ok = fv_gallery_remove (g, argv[3], &err);
    fv_gallery_free (g);
    return ok ? 0 : fail (err);
  }
  if (argc == 3 && strcmp (argv[1], "corrupt") == 0) {
    /* replace the file at once, as a careless copy would */
    gchar *tmp = g_strconcat (argv[2], ".corrupt", NULL);
    gchar junk[8192];
    gboolean ok;

    memset (junk, 'x', sizeof (junk));
    ok = g_file_set_contents (tmp, junk, sizeof (junk), &err)
        && g_rename (tmp, argv[2]) == 0;
    g_free (tmp);
    return ok ? 0 : fail (err);
  }
  return fail (NULL);
}

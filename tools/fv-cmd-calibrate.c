/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-calibrate.c: `faceverify calibrate`, the match threshold that
 * gives a false-accept rate on a set of impostors, written into the
 * gallery as its default.
 */
#include "fv-tool.h"
#include "fv-tool-faces.h"
#include "fv-tool-pairs.h"

#include <fv.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMAND "calibrate"

static int
compare_desc (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x > y ? -1 : x < y;
}

/* The cosine similarity of each different-person pair (same = 0) of
 * @pairs_path; the pairs with an image without a face are left out and
 * counted in *@skipped. NULL (message printed) if the file cannot be
 * used. */
static GArray *
pair_scores (FvToolFaces * faces, const char *pairs_path, const char *root,
    const char *faces_path, gboolean aligned, guint * skipped)
{
  g_autoptr (GArray) pairs = fv_tool_read_pairs (pairs_path);
  g_autoptr (GHashTable) to_aligned = NULL, to_raw = NULL, index = NULL;
  g_autoptr (GArray) vectors = NULL, quality = NULL;
  FvToolEmbedCache cache = { 0, };
  GArray *scores;
  guint i;

  if (pairs == NULL)
    return NULL;
  to_aligned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  to_raw = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!fv_tool_read_faces_maps (root, faces_path, to_aligned, to_raw))
    return NULL;
  index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  vectors = g_array_new (FALSE, FALSE, sizeof (float));
  quality = g_array_new (FALSE, FALSE, sizeof (float));
  cache.faces = faces;
  cache.root = root;
  cache.map = aligned ? to_aligned : to_raw;
  cache.index = index;
  cache.vectors = vectors;
  cache.quality = quality;
  cache.dim = fv_tool_faces_get_dim (faces);

  scores = g_array_new (FALSE, FALSE, sizeof (double));
  for (i = 0; i < pairs->len; i++) {
    const FvToolPair *p = &g_array_index (pairs, FvToolPair, i);
    guint ra, rb;
    double s;

    if (p->same)
      continue;
    ra = fv_tool_embed_once (&cache, p->a);
    rb = fv_tool_embed_once (&cache, p->b);
    if (ra == 0 || rb == 0) {
      (*skipped)++;
      continue;
    }
    s = fv_cosine (&g_array_index (vectors, float,
            (gsize) (ra - 1) * cache.dim), &g_array_index (vectors, float,
            (gsize) (rb - 1) * cache.dim), cache.dim);
    g_array_append_val (scores, s);
  }
  return scores;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The best similarity to @snap of the main face of each photo in @dir
 * (sorted by name); photos without a face are counted in *@skipped. */
static GArray *
folder_scores (FvToolFaces * faces, FvGallerySnapshot * snap,
    const char *dir, guint * skipped)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GArray *scores;
  const char *name;
  guint i;

  if (d == NULL) {
    fv_tool_error (dir, "%s", error->message);
    return NULL;
  }
  while ((name = g_dir_read_name (d)) != NULL)
    if (fv_tool_is_image_name (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  scores = g_array_new (FALSE, FALSE, sizeof (double));
  for (i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
    g_autoptr (GError) img_error = NULL;
    const FvToolFace *f;
    FvGalleryMatch m;
    guint n = 0;
    double s;

    f = fv_tool_faces_process (faces, path, &n, &img_error);
    if (f == NULL || n == 0) {
      fv_tool_error (path, "%s", f == NULL ? img_error->message :
          "no face found");
      (*skipped)++;
      continue;
    }
    /* f[0] is the main face: the most prominent (fv_tool_faces_process) */
    fv_gallery_snapshot_match (snap, f[0].embedding, 1, 1.0f, 0.0f, &m);
    s = m.similarity;
    g_array_append_val (scores, s);
  }
  return scores;
}

/* The smallest threshold t (to 6 decimals, as stored and printed) with
 * #(score >= t) <= far * n; @scores sorted in descending order. t stays
 * 1e-6 clear of the first score to reject, so that the score printed to 6
 * decimals (eval --scores) is below it too. */
static double
threshold_for_far (const double *scores, guint n, double far)
{
  guint allowed = (guint) floor (far * n);
  double t;

  /* strictly above the first score that must be rejected */
  t = floor (scores[allowed] * 1e6) / 1e6 + 2e-6;
  return MIN (t, 1.0);
}

static guint
count_at_or_above (const double *scores, guint n, double t)
{
  guint i, k = 0;

  for (i = 0; i < n; i++)
    if ((float) scores[i] >= (float) t)
      k++;
  return k;
}

static GOptionContext *
calibrate_context (void)
{
  GOptionContext *context;

  context = g_option_context_new ("--gallery G --impostors DIR|pairs.csv "
      "[--far X]");
  g_option_context_set_summary (context,
      "Finds the match threshold whose false-accept rate on impostors is "
      "--far and\nwrites it into the gallery as its default (used by the "
      "faceverify element\nwhen match-threshold is not set).\n\n"
      "The impostors are either a pairs.csv (its different-person pairs, "
      "same = 0:\none score per pair) or a folder of photos of people NOT "
      "in the gallery (the\nbest similarity of each photo's main face to "
      "the gallery). The threshold is\nthe smallest t with "
      "#(score >= t) / N <= far. The last line is\n"
      "  calibrate: impostors=<N> far=<x> thr=<t> achieved=<x>");
  g_option_context_set_description (context,
      "With N * far < 1 no impostor may pass: the threshold is then only "
      "bounded by\nthe largest impostor score (a warning says so).\n\n"
      "Example:\n"
      "  faceverify calibrate --gallery staff.db --impostors visitors/ "
      "--far 1e-3\n");
  return context;
}

/* Prints the result; FALSE on a write error. */
static gboolean
report (const char *source, guint n, guint skipped, double far, double t,
    guint accepted)
{
  g_autoptr (GString) out = g_string_new (NULL);

  if (n * far < 1.0)
    fv_tool_error (COMMAND, "warning: %u impostor scores are too few for "
        "a false-accept rate of %g (expected %.2g accepted): the threshold "
        "is only bounded by the largest impostor score", n, far, n * far);
  g_string_append_printf (out, "%s: %u impostor scores (%u left out "
      "without a face)\n", source, n, skipped);
  g_string_append_printf (out, "threshold %.6f: %u of %u impostors at or "
      "above it, false-accept rate %.6g (asked %g, sampling error ~%.2g)\n",
      t, accepted, n, (double) accepted / n, far, sqrt (far / n));
  g_string_append_printf (out, "calibrate: impostors=%u far=%g thr=%.6f "
      "achieved=%.6g\n", n, far, t, (double) accepted / n);
  return fv_tool_write_stdout (out);
}

static gboolean
open_gallery (const char *path, FvToolFaces * faces, gboolean dry_run,
    FvGallery ** gallery, FvGallerySnapshot ** snap)
{
  g_autoptr (GError) error = NULL;

  *gallery = fv_gallery_open (path, dry_run ? FV_GALLERY_OPEN_READ_ONLY :
      FV_GALLERY_OPEN_READ_WRITE, fv_tool_faces_get_fingerprint (faces),
      fv_tool_faces_get_dim (faces), &error);
  if (*gallery == NULL || !fv_gallery_reload (*gallery, &error)) {
    fv_tool_error (COMMAND, "%s", error->message);
    return FALSE;
  }
  *snap = fv_gallery_get_snapshot (*gallery);
  return TRUE;
}

int
fv_cmd_calibrate (int argc, char **argv)
{
  g_autofree char *gallery_path = NULL, *impostors = NULL, *root = NULL;
  g_autofree char *faces_path = NULL, *model_path = NULL;
  gboolean aligned = FALSE, dry_run = FALSE;
  double far = 1e-3;
  GOptionEntry entries[] = {
    {"gallery", 'g', 0, G_OPTION_ARG_FILENAME, &gallery_path,
        "The gallery (file or PostgreSQL URI) to calibrate", "G"},
    {"impostors", 'i', 0, G_OPTION_ARG_FILENAME, &impostors,
        "A pairs.csv (its same = 0 pairs) or a folder of photos of people "
          "not in the gallery", "DIR|FILE"},
    {"far", 0, 0, G_OPTION_ARG_DOUBLE, &far,
        "The false-accept rate, in (0, 1) (default 1e-3)", "X"},
    {"root", 'r', 0, G_OPTION_ARG_FILENAME, &root,
        "Folder the paths of a pairs.csv are relative to (default: its "
          "folder)", "DIR"},
    {"aligned", 'a', 0, G_OPTION_ARG_NONE, &aligned,
        "The images are aligned 112x112 crops (pairs: mapped with "
          "faces.csv, as eval does)", NULL},
    {"faces", 'f', 0, G_OPTION_ARG_FILENAME, &faces_path,
        "CSV with 'raw' and 'aligned' columns (default: ROOT/faces.csv if "
          "it exists)", "FILE"},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
        "Print the threshold, do not write it", NULL},
    FV_TOOL_MODEL_ENTRY (&model_path),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = calibrate_context ();
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (FvToolFaces) faces = NULL;
  g_autoptr (FvGallery) gallery = NULL;
  g_autoptr (FvGallerySnapshot) snap = NULL;
  g_autoptr (GArray) scores = NULL;
  g_autoptr (GError) error = NULL;
  gboolean is_dir;
  guint skipped = 0, accepted;
  double t;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, COMMAND, &args))
    return FV_TOOL_EXIT_USAGE;
  if (gallery_path == NULL || impostors == NULL) {
    fv_tool_error (COMMAND, "need --gallery G and --impostors DIR|FILE");
    return FV_TOOL_EXIT_USAGE;
  }
  if (!(far > 0.0 && far < 1.0)) {
    fv_tool_error (COMMAND, "--far must be in (0, 1), not %g", far);
    return FV_TOOL_EXIT_USAGE;
  }
  if (args[1] != NULL) {
    fv_tool_error (COMMAND, "unexpected argument '%s'", args[1]);
    return FV_TOOL_EXIT_USAGE;
  }
  is_dir = g_file_test (impostors, G_FILE_TEST_IS_DIR);
  if (!is_dir && !g_file_test (impostors, G_FILE_TEST_IS_REGULAR)) {
    fv_tool_error (impostors, "no such file or folder");
    return FV_TOOL_EXIT_FAILURE;
  }
  if (root == NULL && !is_dir)
    root = g_path_get_dirname (impostors);

  faces = fv_tool_faces_new (COMMAND, model_path, aligned);
  if (faces == NULL || !open_gallery (gallery_path, faces, dry_run,
          &gallery, &snap))
    return FV_TOOL_EXIT_FAILURE;
  if (is_dir && fv_gallery_snapshot_get_n_identities (snap) == 0) {
    fv_tool_error (gallery_path, "the gallery is empty: nothing to match "
        "the impostors against");
    return FV_TOOL_EXIT_FAILURE;
  }
  scores = is_dir ? folder_scores (faces, snap, impostors, &skipped)
      : pair_scores (faces, impostors, root, faces_path, aligned, &skipped);
  if (scores == NULL)
    return FV_TOOL_EXIT_FAILURE;
  if (scores->len == 0) {
    fv_tool_error (impostors, "no impostor scores (%s)", is_dir ?
        "no photo with a face" : "no different-person pair with faces, "
        "same = 0");
    return FV_TOOL_EXIT_FAILURE;
  }

  qsort (scores->data, scores->len, sizeof (double), compare_desc);
  t = threshold_for_far ((double *) scores->data, scores->len, far);
  accepted = count_at_or_above ((double *) scores->data, scores->len, t);
  if (!report (impostors, scores->len, skipped, far, t, accepted))
    return FV_TOOL_EXIT_FAILURE;
  if (dry_run)
    return FV_TOOL_EXIT_OK;
  if (!fv_gallery_set_default_threshold (gallery, t, &error)) {
    fv_tool_error (COMMAND, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  printf ("wrote match_threshold %.6f into %s\n", t, gallery_path);
  return FV_TOOL_EXIT_OK;
}

/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-gallery.c: `faceverify enroll`, `identify`, `verify` and
 * `gallery list|remove|rename|export|import`.
 */
#include "fv-tool.h"
#include "fv-tool-faces.h"
#include "fv-tool-output.h"

#include <fv.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                           */
/* ------------------------------------------------------------------------ */

static gboolean
need_gallery (const char *command, const char *gallery_path)
{
  if (gallery_path == NULL) {
    fv_tool_error (command, "no gallery given (--gallery FILE)");
    fprintf (stderr, "Try 'faceverify %s --help' for more information.\n",
        command);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_threshold (const char *command, const char *name, double value,
    double lo, double hi)
{
  if (!(value >= lo && value <= hi)) {
    fv_tool_error (command, "--%s must be between %g and %g", name, lo, hi);
    return FALSE;
  }
  return TRUE;
}

/* --threshold, taken as text so that "not given" is told apart from any
 * number: NAN then (fv_gallery_snapshot_choose_threshold() decides),
 * else a number in [-1, 1]. */
static gboolean
parse_threshold_option (const char *command, const char *text, double *value)
{
  char *end = NULL;
  double v;

  *value = NAN;
  if (text == NULL)
    return TRUE;
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v)) {
    fv_tool_error (command, "--threshold must be a number between -1 and 1");
    return FALSE;
  }
  if (!check_threshold (command, "threshold", v, -1.0, 1.0))
    return FALSE;
  *value = v;
  return TRUE;
}

/* How a threshold's source reads in the tool's messages. */
static const char *
describe_threshold_source (FvGalleryThresholdSource source)
{
  switch (source) {
    case FV_GALLERY_THRESHOLD_GIVEN:
      return "--threshold";
    case FV_GALLERY_THRESHOLD_CALIBRATED:
      return "calibrated for the gallery";
    case FV_GALLERY_THRESHOLD_DEFAULT:
      break;
  }
  return "the default: no calibrated one";
}

/* The threshold by the rule of the faceverify element (the library's),
 * said on stderr: stdout holds the results. */
static float
say_threshold (const char *command, FvGallerySnapshot * snap, double given)
{
  FvGalleryThresholdSource source;
  float t = fv_gallery_snapshot_choose_threshold (snap, given, &source);

  fprintf (stderr, "faceverify: %s: threshold %.4f (%s)\n", command, t,
      describe_threshold_source (source));
  return t;
}

/* The snapshot of a gallery opened read-only, or NULL (said on stderr). */
static FvGallerySnapshot *
load_snapshot (const char *command, const char *path, const char *fingerprint,
    guint dim)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvGallery) gallery = fv_gallery_open (path,
      FV_GALLERY_OPEN_READ_ONLY, fingerprint, dim, &error);

  if (gallery == NULL || !fv_gallery_reload (gallery, &error)) {
    fv_tool_error (command, "%s", error->message);
    return NULL;
  }
  return fv_gallery_get_snapshot (gallery);
}

static void
append_int (GString * out, double v)
{
  g_string_append_printf (out, "%d", (int) (v < 0 ? v - 0.5 : v + 0.5));
}

/* A simple progress bar on stderr when it is a terminal. */
typedef struct
{
  gboolean active;
  guint total;
} Progress;

static void
progress_init (Progress * p, guint total)
{
  p->active = isatty (fileno (stderr)) && total > 1;
  p->total = total;
}

static void
progress_show (Progress * p, guint done, const char *what)
{
  const int width = 30;
  int filled, i;
  char bar[64];
  g_autofree char *name = NULL;

  if (!p->active)
    return;
  filled = p->total ? (int) ((guint64) (done) * width / p->total) : width;
  for (i = 0; i < width; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  name = g_utf8_substring (what, 0, MIN (g_utf8_strlen (what, -1), 30));
  fprintf (stderr, "\r[%s] %u/%u %-30s", bar, done, p->total, name);
  fflush (stderr);
}

static void
progress_done (Progress * p)
{
  if (p->active)
    fprintf (stderr, "\r%*s\r", 80, "");
}

/* ------------------------------------------------------------------------ */
/* enroll                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct
{
  char *label;
  GPtrArray *images;            /* paths */
} EnrollIdentity;

static void
enroll_identity_free (EnrollIdentity * e)
{
  g_free (e->label);
  g_ptr_array_unref (e->images);
  g_free (e);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* One EnrollIdentity per sub-folder of @dir, its images sorted. */
static GPtrArray *
scan_enroll_dir (const char *command, const char *dir, guint * n_images)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *result;
  const char *name;
  guint i;

  *n_images = 0;
  if (d == NULL) {
    fv_tool_error (command, "%s", error->message);
    return NULL;
  }
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);

  result = g_ptr_array_new_with_free_func ((GDestroyNotify)
      enroll_identity_free);
  for (i = 0; i < names->len; i++) {
    g_autofree char *sub = g_build_filename (dir, names->pdata[i], NULL);
    g_autoptr (GDir) sd = NULL;
    EnrollIdentity *e;
    const char *file;

    if (!g_file_test (sub, G_FILE_TEST_IS_DIR))
      continue;
    sd = g_dir_open (sub, 0, NULL);
    if (sd == NULL)
      continue;
    e = g_new0 (EnrollIdentity, 1);
    e->label = g_filename_display_name (names->pdata[i]);
    e->images = g_ptr_array_new_with_free_func (g_free);
    while ((file = g_dir_read_name (sd)) != NULL) {
      g_autofree char *path = g_build_filename (sub, file, NULL);

      if (fv_tool_is_image_name (file)
          && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (e->images, g_steal_pointer (&path));
    }
    g_ptr_array_sort (e->images, compare_strings);
    *n_images += e->images->len;
    g_ptr_array_add (result, e);
  }
  return result;
}

typedef struct
{
  guint identities;
  guint samples;
  guint skipped;
  guint failed_identities;
  GHashTable *reasons;          /* reason -> count (GUINT_TO_POINTER) */
  GString *details;             /* one line per skipped image */
  GString *choices;             /* one line per photo with several faces */
  gint face_index;              /* --face N, or -1 */
  const char *pick_name;        /* --pick NAME, or NULL */
  FvToolPick pick;
} EnrollStats;

static void
skip_image (EnrollStats * st, const char *path, const char *reason,
    const char *detail)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (st->reasons, reason));

  g_hash_table_insert (st->reasons, g_strdup (reason),
      GUINT_TO_POINTER (n + 1));
  st->skipped++;
  g_string_append_printf (st->details, "  skipped %s: %s%s%s\n", path, reason,
      detail ? ": " : "", detail ? detail : "");
}

/* Refuses a face whose quality is below @min_quality, naming the reason
 * (the lowest sub-score of fv_face_quality()) in the summary. */
static gboolean
enroll_quality_ok (EnrollStats * st, const char *source,
    const FvFaceQuality * q, double min_quality)
{
  g_autofree char *reason = NULL, *detail = NULL;

  if (q->score >= min_quality)
    return TRUE;
  reason = g_strdup_printf ("low quality (%s)",
      fv_face_quality_reason_to_string (q->reason));
  detail = g_strdup_printf ("quality %.2f < --min-quality %.2f", q->score,
      min_quality);
  skip_image (st, source, reason, detail);
  return FALSE;
}

/* --face N and --pick: at most one of them, and valid; stored in @st. */
static gboolean
check_face_choice (const char *command, gint face_index, const char *pick,
    EnrollStats * st)
{
  st->face_index = face_index;
  st->pick_name = pick;
  if ((pick && !fv_tool_pick_from_string (pick, &st->pick))
      || (pick && face_index >= 0) || face_index < -1) {
    fv_tool_error (command, "--face takes a face number (0 or more) and "
        "--pick one of best, largest, central; not both");
    return FALSE;
  }
  return TRUE;
}

/* The face of a photo to enroll (@n >= 1 faces, most prominent first):
 * face st->face_index if given, else the one st->pick chooses. Without
 * --face or --pick, a photo with several comparable faces is refused.
 * Returns the index, or -1 after skipping the image. */
static gint
enroll_choose_face (EnrollStats * st, const char *source,
    const FvToolFace * found, guint n)
{
  g_autofree char *detail = NULL;
  gint runner_up = -1;
  guint k;

  if (st->face_index >= 0) {
    if ((guint) st->face_index >= n) {
      detail = g_strdup_printf ("--face %d, but the photo has %u face%s "
          "(0 to %u, in the order of faceverify detect)", st->face_index, n,
          n == 1 ? "" : "s", n - 1);
      skip_image (st, source, "no such face", detail);
      return -1;
    }
    k = (guint) st->face_index;
  } else {
    k = fv_tool_faces_pick (found, n, st->pick, &runner_up);
    if (runner_up >= 0 && st->pick_name == NULL) {
      detail = g_strdup_printf ("faces %u and %d have prominence %.2f and "
          "%.2f; give --face N or --pick best|largest|central", k, runner_up,
          found[k].prominence, found[runner_up].prominence);
      skip_image (st, source, "several comparable faces", detail);
      return -1;
    }
  }
  if (n > 1)
    g_string_append_printf (st->choices, "  %s: took face %u of %u "
        "(prominence %.2f; %s%s)\n", source, k, n, found[k].prominence,
        st->face_index >= 0 ? "--face" : st->pick_name ? "--pick " :
        "the clear subject", st->face_index >= 0 ? "" : st->pick_name ?
        st->pick_name : "");
  return (gint) k;
}

/* Embeds the images of one identity and enrolls them in one transaction. */
static void
enroll_identity (FvGallery * gallery, FvToolFaces * faces,
    const char *label, const char *display_name, GPtrArray * images,
    gboolean replace, double min_quality, Progress * progress, guint * done,
    EnrollStats * st)
{
  const guint dim = fv_tool_faces_get_dim (faces);
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE,
      sizeof (FvGallerySample));
  g_autoptr (GArray) vectors = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GHashTable) known_sources = g_hash_table_new_full (g_str_hash,
      g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) sources = g_ptr_array_new_with_free_func (g_free);
  guint i;

  if (!replace) {
    /* Images enrolled before (same path) are not added twice, so that
     * running the same command again changes nothing. */
    g_autoptr (GPtrArray) old = fv_gallery_get_samples (gallery, label, NULL);

    for (i = 0; old && i < old->len; i++) {
      FvGallerySampleInfo *s = old->pdata[i];

      if (s->source)
        g_hash_table_add (known_sources, g_strdup (s->source));
    }
  }

  for (i = 0; i < images->len; i++) {
    const char *path = images->pdata[i];
    g_autofree char *source = g_filename_display_name (path);
    g_autoptr (GError) img_error = NULL;
    const FvToolFace *found;
    guint n_found = 0;
    FvGallerySample s;
    gint k;

    progress_show (progress, (*done)++, label);
    if (g_hash_table_contains (known_sources, source)) {
      skip_image (st, source, "already enrolled", NULL);
      continue;
    }
    found = fv_tool_faces_process (faces, path, &n_found, &img_error);
    if (found == NULL) {
      skip_image (st, source, "cannot use the image", img_error->message);
      continue;
    }
    if (n_found == 0) {
      skip_image (st, source, "no face found", NULL);
      continue;
    }
    k = enroll_choose_face (st, source, found, n_found);
    if (k < 0)
      continue;
    if (!enroll_quality_ok (st, source, &found[k].quality, min_quality))
      continue;
    g_array_append_vals (vectors, found[k].embedding, dim);
    s.embedding = NULL;
    s.quality = found[k].quality.score;
    s.source = NULL;
    g_array_append_val (samples, s);
    g_ptr_array_add (sources, g_steal_pointer (&source));
  }
  if (samples->len == 0)
    return;

  for (i = 0; i < samples->len; i++) {
    FvGallerySample *s = &g_array_index (samples, FvGallerySample, i);

    s->embedding = &g_array_index (vectors, float, (gsize) (i) * dim);
    s->source = sources->pdata[i];
  }
  if (!fv_gallery_enroll (gallery, label, display_name,
          (const FvGallerySample *) samples->data, samples->len,
          replace ? FV_GALLERY_ENROLL_REPLACE : FV_GALLERY_ENROLL_APPEND,
          NULL, &error)) {
    st->failed_identities++;
    st->skipped += samples->len;
    g_string_append_printf (st->details, "  not enrolled %s (%u images): "
        "%s\n", label, samples->len, error->message);
    g_hash_table_insert (st->reasons, g_strdup ("gallery error"),
        GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (st->reasons,
                    "gallery error")) + samples->len));
    return;
  }
  st->identities++;
  st->samples += samples->len;
}

static gboolean
check_enroll_args (const char *command, const char *dir, const char *label,
    const char *display_name, char **images)
{
  if ((dir == NULL) == (label == NULL)) {
    fv_tool_error (command, "give either --label NAME with images, or --dir "
        "DIR");
    return FALSE;
  }
  if (dir && images && images[0]) {
    fv_tool_error (command, "--dir takes no image arguments");
    return FALSE;
  }
  if (label && (images == NULL || images[0] == NULL)) {
    fv_tool_error (command, "no image given for \"%s\"", label);
    return FALSE;
  }
  if (display_name && dir) {
    fv_tool_error (command, "--name goes with --label");
    return FALSE;
  }
  return TRUE;
}

/* The identities to enroll: the sub-folders of @dir, or @label with
 * @images. Prints the error and returns NULL on failure. */
static GPtrArray *
enroll_todo (const char *command, const char *dir, const char *label,
    char **images, guint * n_images)
{
  GPtrArray *todo;
  EnrollIdentity *e;
  guint i;

  if (dir) {
    todo = scan_enroll_dir (command, dir, n_images);
    if (todo && todo->len == 0) {
      fv_tool_error (command, "%s has no sub-folders (one per identity)", dir);
      g_ptr_array_unref (todo);
      return NULL;
    }
    return todo;
  }
  e = g_new0 (EnrollIdentity, 1);
  todo = g_ptr_array_new_with_free_func ((GDestroyNotify)
      enroll_identity_free);
  e->label = g_strdup (label);
  e->images = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; images[i]; i++)
    g_ptr_array_add (e->images, g_strdup (images[i]));
  *n_images = e->images->len;
  g_ptr_array_add (todo, e);
  return todo;
}

/* The skipped images on stderr, the summary on stdout. */
static void
enroll_report (const EnrollStats * st, const char *gallery_path)
{
  GHashTableIter iter;
  gpointer key, value;
  g_autofree char *shown = fv_gallery_location_redact (gallery_path);
  GString *out;
  guint i;

  fputs (st->details->str, stderr);
  out = g_string_new (st->choices->str);
  g_string_append_printf (out, "enrolled %u sample%s of %u identit%s into "
      "%s; skipped %u image%s", st->samples, st->samples == 1 ? "" : "s",
      st->identities, st->identities == 1 ? "y" : "ies", shown,
      st->skipped, st->skipped == 1 ? "" : "s");
  g_hash_table_iter_init (&iter, st->reasons);
  i = 0;
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (out, "%s%s: %u", i++ ? ", " : " (",
        (const char *) key, GPOINTER_TO_UINT (value));
  if (i)
    g_string_append_c (out, ')');
  g_string_append_printf (out, "\nenroll: identities=%u samples=%u "
      "skipped=%u failed_identities=%u\n", st->identities, st->samples,
      st->skipped, st->failed_identities);
  fv_tool_write_stdout (out);
  g_string_free (out, TRUE);
}

int
fv_cmd_enroll (int argc, char **argv)
{
  const char *command = "enroll";
  g_autofree char *gallery_path = NULL, *model_path = NULL, *dir = NULL;
  g_autofree char *label = NULL, *display_name = NULL, *pick = NULL;
  g_auto (GStrv) images = NULL;
  gboolean aligned = FALSE, replace = FALSE, flip = FALSE;
  double min_quality = 0.0;
  gint face_index = -1;
  GOptionEntry entries[] = {
    {"gallery", 'g', 0, G_OPTION_ARG_FILENAME, &gallery_path,
        "The gallery file or postgresql:// URI (created if it does not "
          "exist)", "FILE|URI"},
    {"label", 'l', 0, G_OPTION_ARG_STRING, &label,
        "Enroll the IMAGEs as this identity", "NAME"},
    {"name", 'n', 0, G_OPTION_ARG_STRING, &display_name,
        "Display name of the identity (with --label)", "TEXT"},
    {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
        "Enroll every sub-folder of DIR: the folder name is the label", "DIR"},
    {"replace", 'r', 0, G_OPTION_ARG_NONE, &replace,
        "Replace the samples of identities already in the gallery (default: "
          "add new images to them)", NULL},
    FV_TOOL_FLIP_ENTRY (&flip),
    {"min-quality", 'q', 0, G_OPTION_ARG_DOUBLE, &min_quality,
        "Refuse faces whose quality (0-1: sharpness, size, pose, "
          "brightness, contrast, cut by the image edge) is below Q "
          "(default 0: take every face)", "Q"},
    {"face", 0, 0, G_OPTION_ARG_INT, &face_index,
        "Enroll face N of each photo (0 is the first that faceverify detect "
          "lists)", "N"},
    {"pick", 0, 0, G_OPTION_ARG_STRING, &pick,
        "Of several comparable faces, take the best (most prominent), the "
          "largest or the most central", "best|largest|central"},
    FV_TOOL_FACES_ENTRIES (&aligned, &model_path, &images),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (FvToolFaces) faces = NULL;
  g_autoptr (FvGallery) gallery = NULL;
  g_autoptr (GPtrArray) todo = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  EnrollStats st = { 0 };
  Progress progress;
  guint n_images = 0, done = 0, i;

  context = g_option_context_new ("--gallery FILE (--label NAME IMAGE… | "
      "--dir DIR)");
  g_option_context_set_summary (context,
      "Enrolls people into a gallery: the main face of each photo becomes "
      "a sample of\nthe identity, the most prominent one (detection "
      "confidence x sqrt(size) x\ncentrality, see README). A photo with "
      "several comparable faces is refused\nunless --face or --pick says "
      "which. Each identity is enrolled in one\ntransaction.");
  g_option_context_set_description (context,
      "Images already enrolled for an identity (same path) are skipped, so "
      "running a\ncommand again adds only new images. With --min-quality, "
      "faces of a lower\nquality are refused. The summary names every "
      "skipped image and why. The exit status is 1 when nothing was "
      "enrolled.\n\n"
      "Examples:\n"
      "  faceverify enroll --gallery team.db --label alice alice1.jpg "
      "alice2.jpg\n"
      "  faceverify enroll --gallery team.db --dir photos/   "
      "# photos/alice/*.jpg, photos/bob/*.jpg\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, command, &args))
    return FV_TOOL_EXIT_USAGE;
  if (!need_gallery (command, gallery_path))
    return FV_TOOL_EXIT_USAGE;
  if (!check_enroll_args (command, dir, label, display_name, images)
      || !check_threshold (command, "min-quality", min_quality, 0.0, 1.0)
      || !check_face_choice (command, face_index, pick, &st))
    return FV_TOOL_EXIT_USAGE;

  todo = enroll_todo (command, dir, label, images, &n_images);
  if (todo == NULL)
    return FV_TOOL_EXIT_FAILURE;

  faces = fv_tool_faces_new (command, model_path, aligned);
  if (faces == NULL)
    return FV_TOOL_EXIT_FAILURE;
  fv_tool_faces_set_flip (faces, flip);
  gallery = fv_gallery_open (gallery_path, FV_GALLERY_OPEN_CREATE,
      fv_tool_faces_get_fingerprint (faces), fv_tool_faces_get_dim (faces),
      &error);
  if (gallery == NULL) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }

  st.reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  st.details = g_string_new (NULL);
  st.choices = g_string_new (NULL);
  progress_init (&progress, n_images);
  for (i = 0; i < todo->len; i++) {
    EnrollIdentity *e = todo->pdata[i];

    if (e->images->len == 0) {
      g_string_append_printf (st.details, "  not enrolled %s: no images in "
          "its folder\n", e->label);
      st.failed_identities++;
      continue;
    }
    enroll_identity (gallery, faces, e->label, display_name, e->images,
        replace, min_quality, &progress, &done, &st);
  }
  progress_show (&progress, done, "");
  progress_done (&progress);

  enroll_report (&st, gallery_path);
  g_hash_table_unref (st.reasons);
  g_string_free (st.details, TRUE);
  g_string_free (st.choices, TRUE);

  if (st.samples == 0) {
    fv_tool_error (command, "nothing was enrolled");
    return FV_TOOL_EXIT_FAILURE;
  }
  return st.failed_identities ? FV_TOOL_EXIT_FAILURE : FV_TOOL_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* identify                                                                 */
/* ------------------------------------------------------------------------ */

/* One CSV line of `identify`: path,face,x1,y1,x2,y2,label,similarity,
 * margin,known,quality. */
static void
append_match_row (GString * out, const char *display, guint k,
    const FvToolFace * f, const FvGalleryMatch * m, gboolean nearest)
{
  fv_tool_append_csv_field (out, display);
  g_string_append_printf (out, ",%u,", k);
  append_int (out, f->x1);
  g_string_append_c (out, ',');
  append_int (out, f->y1);
  g_string_append_c (out, ',');
  append_int (out, f->x2);
  g_string_append_c (out, ',');
  append_int (out, f->y2);
  g_string_append_c (out, ',');
  fv_tool_append_csv_field (out, (m->known || nearest) && m->label
      ? m->label : "unknown");
  g_string_append_printf (out, ",%.4f,%.4f,%d,%.4f\n", m->similarity,
      m->margin, m->known ? 1 : 0, f->quality.score);
}

/* The snapshot's damaged rows (left out: one warning each) and an empty
 * gallery, with the location's password hidden. */
static void
warn_about_snapshot (const char *command, const char *gallery_path,
    FvGallerySnapshot * snap)
{
  g_autofree char *shown = fv_gallery_location_redact (gallery_path);
  guint k;

  for (k = 0; k < fv_gallery_snapshot_get_n_skipped (snap); k++)
    fv_tool_error (command, "%s: warning: left out a damaged row: %s",
        shown, fv_gallery_snapshot_get_skipped (snap, k));
  if (fv_gallery_snapshot_get_n_identities (snap) == 0)
    fv_tool_error (command, "%s: the gallery is empty: every face is "
        "unknown", shown);
}

int
fv_cmd_identify (int argc, char **argv)
{
  const char *command = "identify";
  g_autofree char *gallery_path = NULL, *model_path = NULL;
  g_autofree char *threshold_text = NULL;
  g_auto (GStrv) images = NULL;
  gboolean aligned = FALSE, nearest = FALSE, flip = FALSE;
  double threshold;
  float used;
  double margin = FV_GALLERY_DEFAULT_MATCH_MARGIN;
  GOptionEntry entries[] = {
    {"gallery", 'g', 0, G_OPTION_ARG_FILENAME, &gallery_path,
        "The gallery file or postgresql:// URI", "FILE|URI"},
    {"threshold", 't', 0, G_OPTION_ARG_STRING, &threshold_text,
        "Match threshold: lowest cosine similarity of a known face "
          "(default: the gallery's calibrated one, else "
          G_STRINGIFY (FV_GALLERY_DEFAULT_MATCH_THRESHOLD) ")", "X"},
    {"margin", 0, 0, G_OPTION_ARG_DOUBLE, &margin,
          "Match margin: how much the best identity must beat the second "
          "(default " G_STRINGIFY (FV_GALLERY_DEFAULT_MATCH_MARGIN) ")",
        "X"},
    {"nearest", 0, 0, G_OPTION_ARG_NONE, &nearest,
        "Print the nearest identity's label even for unknown faces", NULL},
    FV_TOOL_FLIP_ENTRY (&flip),
    FV_TOOL_FACES_ENTRIES (&aligned, &model_path, &images),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (FvToolFaces) faces = NULL;
  g_autoptr (FvGallery) gallery = NULL;
  g_autoptr (FvGallerySnapshot) snap = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autofree float *queries = NULL;
  g_autofree FvGalleryMatch *matches = NULL;
  gboolean failed = FALSE;
  GString *out;
  guint dim, i, k;

  context = g_option_context_new ("--gallery FILE IMAGE…");
  g_option_context_set_summary (context,
      "Identifies every face of the images against a gallery. Prints a CSV "
      "header,\nthen one line per face:\n"
      "  path,face,x1,y1,x2,y2,label,similarity,margin,known,quality\n"
      "face counts from 0 (most prominent first); the box is in image pixels; "
      "label is\n\"unknown\" unless known is 1 (see --nearest); margin is "
      "the lead over the\nsecond-best identity; quality is that of the face crop (0-1).");
  g_option_context_set_description (context,
      "A face is known when similarity >= --threshold and margin >= "
      "--margin. Without\n--threshold the gallery's calibrated threshold "
      "(faceverify calibrate) applies,\nelse the default, as in the "
      "faceverify element; stderr says which.\nImages without a face are "
      "reported on stderr. The exit status is 1 if an\nimage could not be "
      "read.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, command, &args))
    return FV_TOOL_EXIT_USAGE;
  if (!need_gallery (command, gallery_path))
    return FV_TOOL_EXIT_USAGE;
  if (images == NULL || images[0] == NULL) {
    fv_tool_error (command, "no image given");
    return FV_TOOL_EXIT_USAGE;
  }
  if (!parse_threshold_option (command, threshold_text, &threshold)
      || !check_threshold (command, "margin", margin, 0.0, 2.0))
    return FV_TOOL_EXIT_USAGE;

  faces = fv_tool_faces_new (command, model_path, aligned);
  if (faces == NULL)
    return FV_TOOL_EXIT_FAILURE;
  fv_tool_faces_set_flip (faces, flip);
  dim = fv_tool_faces_get_dim (faces);
  gallery = fv_gallery_open (gallery_path, FV_GALLERY_OPEN_READ_ONLY,
      fv_tool_faces_get_fingerprint (faces), dim, &error);
  if (gallery == NULL || !fv_gallery_reload (gallery, &error)) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  snap = fv_gallery_get_snapshot (gallery);
  warn_about_snapshot (command, gallery_path, snap);
  used = say_threshold (command, snap, threshold);

  out = g_string_new ("path,face,x1,y1,x2,y2,label,similarity,margin,"
      "known,quality\n");
  for (i = 0; images[i]; i++) {
    g_autoptr (GError) img_error = NULL;
    g_autofree char *display = g_filename_display_name (images[i]);
    const FvToolFace *found;
    guint n = 0;

    found = fv_tool_faces_process (faces, images[i], &n, &img_error);
    if (found == NULL) {
      fv_tool_error (display, "%s", img_error->message);
      failed = TRUE;
      continue;
    }
    if (n == 0) {
      fv_tool_error (display, "no face found");
      continue;
    }
    /* All faces of the image in one batch: one pass over the gallery for
     * up to four faces. */
    queries = g_renew (float, queries, (gsize) (n) * dim);
    matches = g_renew (FvGalleryMatch, matches, n);
    for (k = 0; k < n; k++)
      memcpy (queries + (gsize) (k) * dim, found[k].embedding,
          dim * sizeof (float));
    fv_gallery_snapshot_match (snap, queries, n, used, (float) margin, matches);
    for (k = 0; k < n; k++)
      append_match_row (out, display, k, &found[k], &matches[k], nearest);
    if (!fv_tool_write_stdout (out)) {
      g_string_free (out, TRUE);
      return FV_TOOL_EXIT_FAILURE;
    }
    g_string_truncate (out, 0);
  }
  fv_tool_write_stdout (out);
  g_string_free (out, TRUE);
  return failed ? FV_TOOL_EXIT_FAILURE : FV_TOOL_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* verify                                                                   */
/* ------------------------------------------------------------------------ */

int
fv_cmd_verify (int argc, char **argv)
{
  const char *command = "verify";
  g_autofree char *model_path = NULL, *gallery_path = NULL;
  g_autofree char *threshold_text = NULL;
  g_auto (GStrv) images = NULL;
  gboolean aligned = FALSE, flip = FALSE;
  double threshold;
  float used;
  FvGalleryThresholdSource source;
  GOptionEntry entries[] = {
    {"threshold", 't', 0, G_OPTION_ARG_STRING, &threshold_text,
        "Lowest cosine similarity of the same person (default: the "
          "calibrated one of --gallery, else "
          G_STRINGIFY (FV_GALLERY_DEFAULT_MATCH_THRESHOLD) ")", "X"},
    {"gallery", 'g', 0, G_OPTION_ARG_FILENAME, &gallery_path,
        "Take the threshold calibrated for this gallery (file or "
          "postgresql:// URI)", "FILE|URI"},
    FV_TOOL_FLIP_ENTRY (&flip),
    FV_TOOL_FACES_ENTRIES (&aligned, &model_path, &images),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (FvToolFaces) faces = NULL;
  g_autoptr (FvGallerySnapshot) snap = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autofree float *a = NULL;
  float similarity;
  guint dim, i;
  GString *out;

  context = g_option_context_new ("IMAGE_A IMAGE_B");
  g_option_context_set_summary (context,
      "Compares the main (most prominent) face of two images. Prints\n"
      "  verify: similarity=<cosine> threshold=<x> "
      "source=given|calibrated|default\n"
      "          result=same|different\n"
      "on one line. Without --threshold the threshold calibrated for "
      "--gallery\n(faceverify calibrate) applies, else the default, as in "
      "the faceverify element.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, command, &args))
    return FV_TOOL_EXIT_USAGE;
  if (images == NULL || g_strv_length (images) != 2) {
    fv_tool_error (command, "give exactly two images");
    return FV_TOOL_EXIT_USAGE;
  }
  if (!parse_threshold_option (command, threshold_text, &threshold))
    return FV_TOOL_EXIT_USAGE;

  faces = fv_tool_faces_new (command, model_path, aligned);
  if (faces == NULL)
    return FV_TOOL_EXIT_FAILURE;
  fv_tool_faces_set_flip (faces, flip);
  dim = fv_tool_faces_get_dim (faces);
  if (gallery_path) {
    snap = load_snapshot (command, gallery_path,
        fv_tool_faces_get_fingerprint (faces), dim);
    if (snap == NULL)
      return FV_TOOL_EXIT_FAILURE;
  }
  used = fv_gallery_snapshot_choose_threshold (snap, threshold, &source);
  a = g_new (float, dim);
  for (i = 0; i < 2; i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *display = g_filename_display_name (images[i]);
    const FvToolFace *found;
    guint n = 0;

    found = fv_tool_faces_process (faces, images[i], &n, &error);
    if (found == NULL) {
      fv_tool_error (display, "%s", error->message);
      return FV_TOOL_EXIT_FAILURE;
    }
    if (n == 0) {
      fv_tool_error (display, "no face found");
      return FV_TOOL_EXIT_FAILURE;
    }
    if (i == 0) {
      memcpy (a, found[0].embedding, dim * sizeof (float));
    } else {
      similarity = fv_cosine (a, found[0].embedding, dim);
    }
  }
  out = g_string_new ("verify: similarity=");
  g_string_append_printf (out, "%.4f threshold=%.4f source=%s result=%s\n",
      similarity, used, fv_gallery_threshold_source_to_string (source),
      similarity >= used ? "same" : "different");
  if (!fv_tool_write_stdout (out)) {
    g_string_free (out, TRUE);
    return FV_TOOL_EXIT_FAILURE;
  }
  g_string_free (out, TRUE);
  return FV_TOOL_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* gallery list|remove|rename|export|import                                 */
/* ------------------------------------------------------------------------ */

static char *
format_time (gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);

  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ")
      : g_strdup ("?");
}

static FvGallery *
open_for_tool (const char *command, const char *path, FvGalleryOpenFlags flags)
{
  g_autoptr (GError) error = NULL;
  FvGallery *g = fv_gallery_open (path, flags, NULL, 0, &error);

  if (g == NULL)
    fv_tool_error (command, "%s", error->message);
  return g;
}

static int
gallery_list (const char *gallery_path, gboolean csv)
{
  const char *command = "gallery list";
  g_autoptr (FvGallery) g = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *shown = fv_gallery_location_redact (gallery_path);
  GString *out;
  guint i, total = 0;
  int width = 5;

  g = open_for_tool (command, gallery_path, FV_GALLERY_OPEN_READ_ONLY);
  if (g == NULL)
    return FV_TOOL_EXIT_FAILURE;
  list = fv_gallery_list (g, &error);
  if (list == NULL) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }

  out = g_string_new (NULL);
  for (i = 0; i < list->len; i++) {
    FvGalleryIdentity *id = list->pdata[i];

    total += id->n_samples;
    width = MAX (width, (int) g_utf8_strlen (id->label, -1));
  }
  if (csv) {
    g_string_append (out, "label,display_name,samples,created,updated,id\n");
  } else {
    g_string_append_printf (out, "# %s: %u identit%s, %u sample%s; model "
        "sha256 %s, dim %u, metric %s, schema %u\n", shown, list->len,
        list->len == 1 ? "y" : "ies", total, total == 1 ? "" : "s",
        fv_gallery_get_model_fingerprint (g), fv_gallery_get_dim (g),
        fv_gallery_get_metric (g), fv_gallery_get_schema_version (g));
    g_string_append_printf (out, "%-*s  %7s  %-20s  %-20s  %s\n", width,
        "label", "samples", "created", "updated", "display name");
  }
  for (i = 0; i < list->len; i++) {
    FvGalleryIdentity *id = list->pdata[i];
    g_autofree char *created = format_time (id->created);
    g_autofree char *updated = format_time (id->updated);

    if (csv) {
      fv_tool_append_csv_field (out, id->label);
      g_string_append_c (out, ',');
      fv_tool_append_csv_field (out, id->display_name ? id->display_name : "");
      g_string_append_printf (out, ",%u,%s,%s,%" G_GINT64_FORMAT "\n",
          id->n_samples, created, updated, id->id);
    } else {
      int pad = width - (int) g_utf8_strlen (id->label, -1);

      g_string_append_printf (out, "%s%*s  %7u  %-20s  %-20s  %s\n",
          id->label, pad, "", id->n_samples, created, updated,
          id->display_name ? id->display_name : "");
    }
  }
  if (!fv_tool_write_stdout (out)) {
    g_string_free (out, TRUE);
    return FV_TOOL_EXIT_FAILURE;
  }
  g_string_free (out, TRUE);
  return FV_TOOL_EXIT_OK;
}

static int
gallery_remove (const char *gallery_path, GStrv labels)
{
  const char *command = "gallery remove";
  g_autoptr (FvGallery) g = NULL;
  gboolean failed = FALSE;
  guint i;

  if (labels == NULL || labels[0] == NULL) {
    fv_tool_error (command, "no label given");
    return FV_TOOL_EXIT_USAGE;
  }
  g = open_for_tool (command, gallery_path, FV_GALLERY_OPEN_READ_WRITE);
  if (g == NULL)
    return FV_TOOL_EXIT_FAILURE;
  for (i = 0; labels[i]; i++) {
    g_autoptr (GError) error = NULL;

    if (!fv_gallery_remove (g, labels[i], &error)) {
      fv_tool_error (command, "%s", error->message);
      failed = TRUE;
    } else {
      printf ("removed %s\n", labels[i]);
    }
  }
  return failed ? FV_TOOL_EXIT_FAILURE : FV_TOOL_EXIT_OK;
}

static int
gallery_rename (const char *gallery_path, GStrv labels,
    const char *display_name)
{
  const char *command = "gallery rename";
  g_autoptr (FvGallery) g = NULL;
  g_autoptr (GError) error = NULL;
  guint n = labels ? g_strv_length (labels) : 0;

  if (n != 2 && !(n == 1 && display_name)) {
    fv_tool_error (command, "give the label and the new label (or --name "
        "TEXT)");
    return FV_TOOL_EXIT_USAGE;
  }
  g = open_for_tool (command, gallery_path, FV_GALLERY_OPEN_READ_WRITE);
  if (g == NULL)
    return FV_TOOL_EXIT_FAILURE;
  if (n == 2 && !fv_gallery_rename (g, labels[0], labels[1], &error)) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  if (display_name && !fv_gallery_set_display_name (g, labels[n - 1],
          *display_name ? display_name : NULL, &error)) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  if (n == 2)
    printf ("renamed %s to %s\n", labels[0], labels[1]);
  if (display_name)
    printf ("display name of %s: %s\n", labels[n - 1], display_name);
  return FV_TOOL_EXIT_OK;
}

static int
gallery_export (const char *gallery_path, const char *output, gboolean force)
{
  const char *command = "gallery export";
  g_autoptr (FvGallery) g = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  gsize length = 0;

  g = open_for_tool (command, gallery_path, FV_GALLERY_OPEN_READ_ONLY);
  if (g == NULL)
    return FV_TOOL_EXIT_FAILURE;
  json = fv_gallery_export_json (g, &length, &error);
  if (json == NULL) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  if (output && strcmp (output, "-") != 0) {
    const char *protect[] = { gallery_path, NULL };

    if (!fv_tool_write_file (command, output, json, length, force, protect))
      return FV_TOOL_EXIT_FAILURE;
  } else if (fwrite (json, 1, length, stdout) != length) {
    fv_tool_error (command, "error writing to standard output: %s",
        g_strerror (errno));
    return FV_TOOL_EXIT_FAILURE;
  }
  return FV_TOOL_EXIT_OK;
}

static int
gallery_import (const char *gallery_path, GStrv files, gboolean replace,
    gboolean merge)
{
  const char *command = "gallery import";
  g_autoptr (FvGallery) g = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *shown = NULL;
  gsize length = 0;
  guint dim = 0, n_ids = 0, n_samples = 0;

  if (files == NULL || g_strv_length (files) != 1) {
    fv_tool_error (command, "give one JSON file (or - for standard input)");
    return FV_TOOL_EXIT_USAGE;
  }
  if (replace && merge) {
    fv_tool_error (command, "--replace and --merge exclude each other");
    return FV_TOOL_EXIT_USAGE;
  }
  if (strcmp (files[0], "-") == 0) {
    GString *in = g_string_new (NULL);
    char buf[65536];
    size_t n;

    while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
      g_string_append_len (in, buf, (gssize) n);
    length = in->len;
    json = g_string_free (in, FALSE);
  } else if (!g_file_get_contents (files[0], &json, &length, &error)) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  /* A new gallery takes the model and dimension of the export. */
  if (!fv_gallery_json_get_model (json, (gssize) length, &fingerprint, &dim,
          &error)) {
    fv_tool_error (command, "%s: %s", files[0], error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  g = fv_gallery_open (gallery_path, FV_GALLERY_OPEN_CREATE, fingerprint,
      dim, &error);
  if (g == NULL) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  if (!fv_gallery_import_json (g, json, (gssize) length, replace ?
          FV_GALLERY_ENROLL_REPLACE : merge ? FV_GALLERY_ENROLL_APPEND :
          FV_GALLERY_ENROLL_NEW_ONLY, &n_ids, &n_samples, &error)) {
    fv_tool_error (command, "%s: %s", files[0], error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  shown = fv_gallery_location_redact (gallery_path);
  printf ("imported %u identit%s with %u sample%s into %s\n", n_ids,
      n_ids == 1 ? "y" : "ies", n_samples, n_samples == 1 ? "" : "s", shown);
  return FV_TOOL_EXIT_OK;
}

static int
gallery_check (const char *gallery_path)
{
  const char *command = "gallery check";
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) problems = fv_gallery_check_file (gallery_path, &error);
  GString *out;
  guint i;

  if (problems == NULL) {
    fv_tool_error (command, "%s", error->message);
    return FV_TOOL_EXIT_FAILURE;
  }
  out = g_string_new (NULL);
  for (i = 0; i < problems->len; i++)
    g_string_append_printf (out, "%s: %s\n", gallery_path,
        (const char *) problems->pdata[i]);
  g_string_append_printf (out, "check: problems=%u%s\n", problems->len,
      problems->len ? " (faceverify gallery repair --to NEW.db copies what "
      "is sound into a clean gallery)" : "");
  if (!fv_tool_write_stdout (out)) {
    g_string_free (out, TRUE);
    return FV_TOOL_EXIT_FAILURE;
  }
  g_string_free (out, TRUE);
  return problems->len ? FV_TOOL_EXIT_FAILURE : FV_TOOL_EXIT_OK;
}

static int
gallery_repair (const char *gallery_path, const char *to, gboolean force)
{
  const char *command = "gallery repair";
  const char *protect[] = { gallery_path, NULL };
  g_autoptr (FvToolOutput) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *wal = NULL, *shm = NULL, *temp_wal = NULL;
  g_autofree char *temp_shm = NULL;
  GStatBuf st;
  guint n_ids = 0, n_samples = 0, n_skipped = 0;
  gboolean ok;

  if (to == NULL) {
    fv_tool_error (command, "give the new gallery (--to NEW.db)");
    return FV_TOOL_EXIT_USAGE;
  }
  /* A -wal file beside the target belongs to the gallery there: with
   * frames in it, that gallery has changes not yet in its main file (or is
   * in use); an empty one (and the -shm) are stale once the target is
   * replaced, and are removed then. */
  wal = g_strconcat (to, "-wal", NULL);
  shm = g_strconcat (to, "-shm", NULL);
  if (g_stat (wal, &st) == 0 && st.st_size > 0) {
    fv_tool_error (command, "%s: the gallery there is in use or was not "
        "closed cleanly (%s holds changes); refusing to replace it", to, wal);
    return FV_TOOL_EXIT_FAILURE;
  }
  out = fv_tool_output_new (command, to, force, protect, TRUE);
  if (out == NULL)
    return FV_TOOL_EXIT_FAILURE;
  ok = fv_gallery_repair (gallery_path, fv_tool_output_get_temp_path (out),
      &n_ids, &n_samples, &n_skipped, &error);
  temp_wal = g_strconcat (fv_tool_output_get_temp_path (out), "-wal", NULL);
  temp_shm = g_strconcat (fv_tool_output_get_temp_path (out), "-shm", NULL);
  if (ok) {
    ok = fv_tool_output_commit (out);
    if (ok) {
      g_unlink (wal);
      g_unlink (shm);
    }
  } else {
    fv_tool_error (command, "%s", error->message);
  }
  g_unlink (temp_wal);
  g_unlink (temp_shm);
  if (!ok)
    return FV_TOOL_EXIT_FAILURE;
  printf ("repaired %s into %s: %u identit%s, %u sample%s copied; %u "
      "damaged row%s left behind\nrepair: identities=%u samples=%u "
      "skipped=%u\n", gallery_path, to, n_ids, n_ids == 1 ? "y" : "ies",
      n_samples, n_samples == 1 ? "" : "s", n_skipped,
      n_skipped == 1 ? "" : "s", n_ids, n_samples, n_skipped);
  return FV_TOOL_EXIT_OK;
}

/* Removes the identities of @g that @src does not hold. */
static gboolean
remove_others (FvGallery * g, FvGallery * src, GError ** error)
{
  g_autoptr (GPtrArray) have = fv_gallery_list (g, error);
  g_autoptr (GPtrArray) keep = have ? fv_gallery_list (src, error) : NULL;
  g_autoptr (GHashTable) labels = g_hash_table_new (g_str_hash, g_str_equal);
  guint i;

  if (keep == NULL)
    return FALSE;
  for (i = 0; i < keep->len; i++)
    g_hash_table_add (labels, ((FvGalleryIdentity *) keep->pdata[i])->label);
  for (i = 0; i < have->len; i++) {
    const char *label = ((FvGalleryIdentity *) have->pdata[i])->label;

    if (!g_hash_table_contains (labels, label)
        && !fv_gallery_remove (g, label, error))
      return FALSE;
  }
  return TRUE;
}

/* Copies every identity of one gallery into another, of any backend: the
 * JSON export of SRC imported into DST in one transaction. */
static int
gallery_copy (GStrv locations, gboolean force)
{
  const char *command = "gallery copy";
  g_autoptr (FvGallery) src = NULL;
  g_autoptr (FvGallery) dst = NULL;
  g_autoptr (GPtrArray) existing = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL, *fingerprint = NULL;
  g_autofree char *src_shown = NULL, *dst_shown = NULL;
  gsize length = 0;
  guint dim = 0, n_ids = 0, n_samples = 0;
  double threshold;

  if (locations == NULL || g_strv_length (locations) != 2) {
    fv_tool_error (command, "give a source and a target gallery (a file or "
        "a postgresql:// URI)");
    return FV_TOOL_EXIT_USAGE;
  }
  src_shown = fv_gallery_location_redact (locations[0]);
  dst_shown = fv_gallery_location_redact (locations[1]);
  src = open_for_tool (command, locations[0], FV_GALLERY_OPEN_READ_ONLY);
  if (src == NULL)
    return FV_TOOL_EXIT_FAILURE;
  json = fv_gallery_export_json (src, &length, &error);
  if (json == NULL || !fv_gallery_json_get_model (json, (gssize) length,
          &fingerprint, &dim, &error))
    goto fail;
  dst = fv_gallery_open (locations[1], FV_GALLERY_OPEN_CREATE, fingerprint,
      dim, &error);
  if (dst == NULL || (existing = fv_gallery_list (dst, &error)) == NULL)
    goto fail;
  if (existing->len > 0 && !force) {
    fv_tool_error (command, "%s already holds %u identit%s: refusing to "
        "copy over it (--force makes it a copy of %s)", dst_shown,
        existing->len, existing->len == 1 ? "y" : "ies", src_shown);
    return FV_TOOL_EXIT_FAILURE;
  }
  if (!fv_gallery_import_json (dst, json, (gssize) length,
          FV_GALLERY_ENROLL_REPLACE, &n_ids, &n_samples, &error)
      || (existing->len > 0 && !remove_others (dst, src, &error)))
    goto fail;
  /* the calibrated threshold (faceverify calibrate) goes with the data */
  if (!fv_gallery_reload (src, &error))
    goto fail;
  if (fv_gallery_get_default_threshold (src, &threshold)
      && !fv_gallery_set_default_threshold (dst, threshold, &error))
    goto fail;
  printf ("copied %u identit%s with %u sample%s from %s to %s\n", n_ids,
      n_ids == 1 ? "y" : "ies", n_samples, n_samples == 1 ? "" : "s",
      src_shown, dst_shown);
  return FV_TOOL_EXIT_OK;

fail:
  fv_tool_error (command, "%s", error->message);
  return FV_TOOL_EXIT_FAILURE;
}

int
fv_cmd_gallery (int argc, char **argv)
{
  const char *command = "gallery";
  static const char *const actions[] = {
    "list", "remove", "rename", "export", "import", "check", "repair",
    "copy"
  };
  g_autofree char *gallery_path = NULL, *output = NULL, *display_name = NULL;
  g_autofree char *to = NULL;
  g_auto (GStrv) rest = NULL;
  gboolean csv = FALSE, replace = FALSE, merge = FALSE, force = FALSE;
  GOptionEntry entries[] = {
    {"gallery", 'g', 0, G_OPTION_ARG_FILENAME, &gallery_path,
        "The gallery: a file, or a PostgreSQL database "
          "(postgresql://user@host:port/dbname)", "FILE|URI"},
    {"csv", 0, 0, G_OPTION_ARG_NONE, &csv,
          "list: print CSV (label,display_name,samples,created,updated,id)",
        NULL},
    {"name", 'n', 0, G_OPTION_ARG_STRING, &display_name,
        "rename: set the display name (\"\" removes it)", "TEXT"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
        "export: write to FILE instead of standard output (a new file; see "
          "--force)", "FILE"},
    {"to", 0, 0, G_OPTION_ARG_FILENAME, &to,
        "repair: the new gallery to write", "NEW.db"},
    {"force", 'f', 0, G_OPTION_ARG_NONE, &force,
        "export, repair: replace an existing regular file (never a symlink, "
          "a device or the gallery itself); copy: make a target that holds "
          "identities a copy of the source", NULL},
    {"replace", 0, 0, G_OPTION_ARG_NONE, &replace,
        "import: replace identities that are already in the gallery", NULL},
    {"merge", 0, 0, G_OPTION_ARG_NONE, &merge,
        "import: add samples to identities already in the gallery", NULL},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, NULL},
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  const char *action;
  guint i;

  context = g_option_context_new ("list|remove|rename|export|import|check|"
      "repair --gallery FILE|URI [ARGUMENT…] | copy SRC DST");
  g_option_context_set_summary (context,
      "Manages a gallery file:\n"
      "  list                   the identities, their samples and times\n"
      "  remove LABEL…          removes identities with all their samples\n"
      "  rename LABEL NEW       changes a label ([--name TEXT] sets the "
      "display name)\n"
      "  export [-o FILE]       writes the gallery as JSON\n"
      "  import FILE|-          adds the identities of a JSON export (one "
      "transaction;\n"
      "                         fails if a label exists, unless --replace "
      "or --merge)\n"
      "  check                  the full integrity check, the schema "
      "allow-list and\n"
      "                         every row; exit status 1 when a problem is "
      "found\n"
      "  repair --to NEW.db     copies the identities and samples that are "
      "sound into\n"
      "                         a new, clean gallery (the source is not "
      "changed)\n"
      "  copy SRC DST           copies a gallery (file or postgresql:// URI)"
      " into\n"
      "                         another; refuses a target that holds "
      "identities\n" "                         unless --force");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, command, &args))
    return FV_TOOL_EXIT_USAGE;
  if (rest == NULL || rest[0] == NULL) {
    fv_tool_error (command, "no action given (list, remove, rename, export, "
        "import, check, repair, copy)");
    return FV_TOOL_EXIT_USAGE;
  }
  action = rest[0];
  for (i = 0; i < G_N_ELEMENTS (actions); i++)
    if (strcmp (action, actions[i]) == 0)
      break;
  if (i == G_N_ELEMENTS (actions)) {
    fv_tool_error (command, "unknown action '%s' (list, remove, rename, "
        "export, import, check, repair, copy)", action);
    return FV_TOOL_EXIT_USAGE;
  }
  if (strcmp (action, "copy") == 0)
    return gallery_copy (rest + 1, force);
  if (!need_gallery (command, gallery_path))
    return FV_TOOL_EXIT_USAGE;

  if (strcmp (action, "list") == 0)
    return gallery_list (gallery_path, csv);
  if (strcmp (action, "remove") == 0)
    return gallery_remove (gallery_path, rest + 1);
  if (strcmp (action, "rename") == 0)
    return gallery_rename (gallery_path, rest + 1, display_name);
  if (strcmp (action, "export") == 0)
    return gallery_export (gallery_path, output, force);
  if (strcmp (action, "check") == 0)
    return gallery_check (gallery_path);
  if (strcmp (action, "repair") == 0)
    return gallery_repair (gallery_path, to, force);
  return gallery_import (gallery_path, rest + 1, replace, merge);
}

/* gst-faceverify: face verification on the CPU
 *
 * fv-cmd-eval.c: `faceverify eval`, verification accuracy on a list of
 * image pairs: ROC AUC, best accuracy and its threshold, TAR at fixed FAR,
 * and optionally the ROC curve as a PNG.
 */
#include "fv-tool.h"
#include "fv-tool-faces.h"
#include "fv-tool-pairs.h"
#include "fv-tool-output.h"

#include <fv.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMAND "eval"

/* The scores of a pair with an image without a face: outside the cosine
 * range, so that it is wrong on either side of any threshold. */
#define FAILED_GENUINE (-2.0)
#define FAILED_IMPOSTOR 2.0


/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  double score;
  gboolean same;
} Scored;

static int
compare_scored (const void *a, const void *b)
{
  const Scored *x = a, *y = b;

  return x->score < y->score ? -1 : x->score > y->score;
}

static int
compare_double_desc (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x > y ? -1 : x < y;
}

typedef struct
{
  guint n_genuine;
  guint n_impostor;
  double auc;
  double accuracy;
  double threshold;
  double range_lo;              /* accuracy holds for thresholds in */
  double range_hi;              /* (range_lo, range_hi] */
  double tar[2];
  double tar_threshold[2];
} Metrics;

static const double far_targets[2] = { 1e-2, 1e-3 };

/* @s sorted by score, ascending. */
static void
compute_metrics (Scored * s, guint n, Metrics * m)
{
  g_autofree double *impostors = NULL;
  double rank_sum = 0.0;
  guint i, j, ni = 0, below_g = 0, below_i = 0;
  double best = -1.0, best_gap = -1.0;

  memset (m, 0, sizeof *m);
  for (i = 0; i < n; i++) {
    if (s[i].same)
      m->n_genuine++;
    else
      m->n_impostor++;
  }
  if (m->n_genuine == 0 || m->n_impostor == 0)
    return;

  /* AUC by the rank-sum (Mann-Whitney) statistic, ties counted half. */
  for (i = 0; i < n; i = j) {
    double avg_rank;
    guint g = 0;

    for (j = i; j < n && s[j].score == s[i].score; j++)
      if (s[j].same)
        g++;
    avg_rank = (i + 1 + j) / 2.0;       /* ranks i+1 .. j */
    rank_sum += avg_rank * g;
  }
  m->auc = (rank_sum - m->n_genuine * (m->n_genuine + 1.0) / 2.0)
      / ((double) m->n_genuine * m->n_impostor);

  /* Best accuracy: try a cut below each distinct score and above the last;
   * "same" when score >= threshold. Among equal accuracies the widest gap
   * between scores wins, and the threshold is its middle. */
  for (i = 0; i <= n; i = j) {
    double lo = i > 0 ? s[i - 1].score : -1.0;
    double hi = i < n ? s[i].score : 1.0;
    double acc = (double) ((m->n_genuine - below_g) + below_i) / n;
    double gap = hi - lo;

    if (acc > best + 1e-12 || (fabs (acc - best) <= 1e-12 && gap > best_gap)) {
      best = acc;
      best_gap = gap;
      m->range_lo = lo;
      m->range_hi = hi;
      m->threshold = i == 0 ? hi - 1e-4 : i == n ? lo + 1e-4 : (lo + hi) / 2;
    }
    if (i == n)
      break;
    for (j = i; j < n && s[j].score == s[i].score; j++) {
      if (s[j].same)
        below_g++;
      else
        below_i++;
    }
  }
  m->accuracy = best;

  /* TAR at FAR: the lowest threshold that accepts at most FAR * impostors:
   * just above the (k+1)-th highest impostor score. */
  impostors = g_new (double, m->n_impostor);
  for (i = 0; i < n; i++)
    if (!s[i].same)
      impostors[ni++] = s[i].score;
  qsort (impostors, ni, sizeof (double), compare_double_desc);
  for (j = 0; j < G_N_ELEMENTS (far_targets); j++) {
    guint k = (guint) floor (far_targets[j] * ni + 1e-9);
    double t = k < ni ? impostors[k] : -1.0;
    guint accepted = 0;

    for (i = 0; i < n; i++)
      if (s[i].same && (k >= ni ? TRUE : s[i].score > t))
        accepted++;
    m->tar[j] = (double) accepted / m->n_genuine;
    m->tar_threshold[j] = t;
  }
}

/* ------------------------------------------------------------------------ */
/* ROC plot                                                                 */
/* ------------------------------------------------------------------------ */

static cairo_status_t
append_png (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static gboolean
plot_roc (const char *path, gboolean force, Scored * s, guint n,
    const Metrics * m, const char *title, GError ** error)
{
  const int w = 640, h = 560, left = 70, right = 30, top = 50, bottom = 60;
  const double pw = w - left - right, ph = h - top - bottom;
  cairo_surface_t *surface;
  cairo_t *cr;
  cairo_status_t status;
  g_autoptr (GByteArray) png = NULL;
  char text[256];
  guint i, tp = 0, fp = 0;
  int k;

  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);

  /* Grid and axes. */
  cairo_set_line_width (cr, 1.0);
  for (k = 0; k <= 10; k++) {
    double x = left + pw * k / 10.0, y = top + ph * k / 10.0;

    cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
    cairo_move_to (cr, x, top);
    cairo_line_to (cr, x, top + ph);
    cairo_move_to (cr, left, y);
    cairo_line_to (cr, left + pw, y);
    cairo_stroke (cr);
  }
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_rectangle (cr, left, top, pw, ph);
  cairo_stroke (cr);

  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
      CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 12);
  for (k = 0; k <= 10; k += 2) {
    g_snprintf (text, sizeof text, "%.1f", k / 10.0);
    cairo_move_to (cr, left + pw * k / 10.0 - 8, top + ph + 18);
    cairo_show_text (cr, text);
    cairo_move_to (cr, left - 30, top + ph - ph * k / 10.0 + 4);
    cairo_show_text (cr, text);
  }
  cairo_move_to (cr, left + pw / 2 - 90, h - 18);
  cairo_show_text (cr, "false accept rate (impostor pairs)");
  cairo_save (cr);
  cairo_move_to (cr, 22, top + ph / 2 + 90);
  cairo_rotate (cr, -G_PI / 2);
  cairo_show_text (cr, "true accept rate (genuine pairs)");
  cairo_restore (cr);
  cairo_set_font_size (cr, 14);
  g_snprintf (text, sizeof text, "ROC of %s: AUC %.4f, %u genuine / %u "
      "impostor", title, m->auc, m->n_genuine, m->n_impostor);
  cairo_move_to (cr, left, 30);
  cairo_show_text (cr, text);

  /* Chance line. */
  cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
  {
    const double dash[] = { 4.0, 4.0 };

    cairo_set_dash (cr, dash, 2, 0);
  }
  cairo_move_to (cr, left, top + ph);
  cairo_line_to (cr, left + pw, top);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);

  /* The curve: lower the threshold from above the highest score. */
  cairo_set_source_rgb (cr, 0.1, 0.3, 0.8);
  cairo_set_line_width (cr, 2.0);
  cairo_move_to (cr, left, top + ph);
  for (i = n; i > 0;) {
    guint j = i;

    while (j > 0 && s[j - 1].score == s[i - 1].score) {
      if (s[j - 1].same)
        tp++;
      else
        fp++;
      j--;
    }
    cairo_line_to (cr, left + pw * fp / MAX (m->n_impostor, 1),
        top + ph - ph * tp / MAX (m->n_genuine, 1));
    i = j;
  }
  cairo_line_to (cr, left + pw, top);
  cairo_stroke (cr);

  cairo_destroy (cr);
  png = g_byte_array_new ();
  status = cairo_surface_write_to_png_stream (surface, append_png, png);
  cairo_surface_destroy (surface);
  /* Drop cairo's and fontconfig's caches, so that leak checkers see a
   * clean exit (the plot is the last thing drawn). */
  cairo_debug_reset_static_data ();
  FcFini ();
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
        "cannot write the plot: %s", cairo_status_to_string (status));
    return FALSE;
  }
  /* The helper prints its own message. */
  if (!fv_tool_write_file (COMMAND, path, png->data, png->len, force, NULL)) {
    g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
        "the plot was not written");
    return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The command                                                              */
/* ------------------------------------------------------------------------ */


/* One line of --scores: a,b,same,similarity,quality_a,quality_b; @rows:
 * 1 + the rows of a and b in @cache. */
static void
append_score_row (GString * out, const FvToolPair * p, double score,
    const FvToolEmbedCache * cache, const guint * rows)
{
  guint k;

  fv_tool_append_csv_field (out, p->a);
  g_string_append_c (out, ',');
  fv_tool_append_csv_field (out, p->b);
  g_string_append_printf (out, ",%d,", p->same ? 1 : 0);
  /* a pair with a photo without a face has no similarity */
  if (rows[0] && rows[1])
    g_string_append_printf (out, "%.6f", score);
  for (k = 0; k < 2; k++) {
    g_string_append_c (out, ',');
    if (rows[k])
      g_string_append_printf (out, "%.4f",
          g_array_index (cache->quality, float, rows[k] - 1));
  }
  g_string_append_c (out, '\n');
}


/* Sorts @scored, prints the metrics and draws the plot. */
static int
eval_report (const char *pairs_path, const char *root, const char *plot_path,
    gboolean force, GArray * scored, gboolean aligned, guint n_images,
    guint failed, guint failed_pairs)
{
  g_autoptr (GError) error = NULL;
  Metrics m;
  GString *out;
  guint i;

  qsort (scored->data, scored->len, sizeof (Scored), compare_scored);
  compute_metrics ((Scored *) scored->data, scored->len, &m);

  out = g_string_new (NULL);
  g_string_append_printf (out, "%s: %u pairs (%u genuine, %u impostor) of "
      "%u images%s; %u image%s without a face, so %u pair%s counted as "
      "errors at every threshold\n", pairs_path, scored->len, m.n_genuine,
      m.n_impostor, n_images, aligned ? " (aligned crops)" : "", failed,
      failed == 1 ? "" : "s", failed_pairs, failed_pairs == 1 ? "" : "s");
  if (m.n_genuine == 0 || m.n_impostor == 0) {
    fv_tool_write_stdout (out);
    g_string_free (out, TRUE);
    fv_tool_error (COMMAND, "need both genuine and impostor pairs with "
        "faces");
    return FV_TOOL_EXIT_FAILURE;
  }
  g_string_append_printf (out, "ROC AUC:          %.4f\n", m.auc);
  g_string_append_printf (out, "best accuracy:    %.4f at threshold %.4f "
      "(the same for any threshold in (%.4f, %.4f])\n", m.accuracy,
      m.threshold, m.range_lo, m.range_hi);
  for (i = 0; i < G_N_ELEMENTS (far_targets); i++)
    g_string_append_printf (out, "TAR at FAR %.0e:  %.4f (similarity > "
        "%.4f)\n", far_targets[i], m.tar[i], m.tar_threshold[i]);
  g_string_append_printf (out, "eval: pairs=%u auc=%.4f acc=%.4f thr=%.4f "
      "tar_far1e-2=%.4f tar_far1e-3=%.4f failed=%u failed_pairs=%u\n",
      scored->len, m.auc, m.accuracy, m.threshold, m.tar[0], m.tar[1],
      failed, failed_pairs);

  if (plot_path) {
    g_autofree char *title = g_path_get_basename (root);

    if (!plot_roc (plot_path, force, (Scored *) scored->data, scored->len, &m,
            title, &error)) {
      fv_tool_write_stdout (out);
      g_string_free (out, TRUE);
      fv_tool_error (plot_path, "%s", error->message);
      return FV_TOOL_EXIT_FAILURE;
    }
  }
  if (!fv_tool_write_stdout (out)) {
    g_string_free (out, TRUE);
    return FV_TOOL_EXIT_FAILURE;
  }
  g_string_free (out, TRUE);
  return FV_TOOL_EXIT_OK;
}

static GOptionContext *
eval_context (void)
{
  GOptionContext *context;

  context = g_option_context_new ("--pairs FILE [--root DIR] [--aligned]");
  g_option_context_set_summary (context,
      "Measures verification on labelled pairs of images: the cosine "
      "similarity of\nthe main (most prominent) face of each image. Prints the number of "
      "pairs, the ROC AUC, the\nbest accuracy and its threshold (same "
      "when similarity >= threshold), and the\ntrue accept rate at false "
      "accept rates 1e-2 and 1e-3. The last line is\n"
      "  eval: pairs=<n> auc=<x> acc=<x> thr=<x> tar_far1e-2=<x> "
      "tar_far1e-3=<x> failed=<n> failed_pairs=<n>\n"
      "(failed: images without a usable face; their pairs are never left "
      "out but\ncounted as errors at every threshold: a genuine pair "
      "rejected, an impostor\npair accepted).");
  g_option_context_set_description (context,
      "Without --aligned the photos go through the detector; pairs that "
      "name aligned\ncrops are then mapped back to their photos with "
      "faces.csv.\n\n"
      "Example:\n"
      "  faceverify eval --pairs shared/data/faces/deepface/pairs.csv "
      "--aligned --plot roc.png\n");
  return context;
}

int
fv_cmd_eval (int argc, char **argv)
{
  g_autofree char *pairs_path = NULL, *root = NULL, *faces_path = NULL;
  g_autofree char *model_path = NULL, *plot_path = NULL;
  g_autofree char *scores_path = NULL;
  gboolean aligned = FALSE, force = FALSE, flip = FALSE;
  GOptionEntry entries[] = {
    {"pairs", 'p', 0, G_OPTION_ARG_FILENAME, &pairs_path,
        "CSV of pairs with columns a, b, same (1/0)", "FILE"},
    {"root", 'r', 0, G_OPTION_ARG_FILENAME, &root,
        "Folder the paths in the pairs are relative to (default: the "
          "folder of --pairs)", "DIR"},
    {"aligned", 'a', 0, G_OPTION_ARG_NONE, &aligned,
        "Use the aligned 112x112 crops (no detection): raw photos are "
          "mapped to their crops with faces.csv", NULL},
    {"faces", 'f', 0, G_OPTION_ARG_FILENAME, &faces_path,
        "CSV with 'raw' and 'aligned' columns mapping photos to crops "
          "(default: ROOT/faces.csv if it exists)", "FILE"},
    {"plot", 0, 0, G_OPTION_ARG_FILENAME, &plot_path,
        "Draw the ROC curve into this PNG file", "FILE"},
    {"scores", 0, 0, G_OPTION_ARG_FILENAME, &scores_path,
        "Write each pair's similarity and the two faces' quality to this "
          "CSV file (a new file; see --force)", "FILE"},
    {"force", 0, 0, G_OPTION_ARG_NONE, &force,
        "Replace existing --plot and --scores files (never a symlink or a "
          "device)", NULL},
    FV_TOOL_FLIP_ENTRY (&flip),
    FV_TOOL_MODEL_ENTRY (&model_path),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GArray) pairs = NULL;
  g_autoptr (GHashTable) to_aligned = NULL;
  g_autoptr (GHashTable) to_raw = NULL;
  g_autoptr (GHashTable) index = NULL;
  g_autoptr (GArray) vectors = NULL;
  g_autoptr (GArray) quality = NULL;
  g_autoptr (GArray) scored = NULL;
  g_autoptr (FvToolFaces) faces = NULL;
  g_autoptr (GString) scores_out = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  FvToolEmbedCache ctx = { 0, };
  guint i, dim, failed_pairs = 0;

  context = eval_context ();
  g_option_context_add_main_entries (context, entries, NULL);
  if (!fv_tool_parse_options (context, COMMAND, &args))
    return FV_TOOL_EXIT_USAGE;
  if (pairs_path == NULL) {
    fv_tool_error (COMMAND, "no pairs given (--pairs FILE)");
    return FV_TOOL_EXIT_USAGE;
  }
  if (root == NULL)
    root = g_path_get_dirname (pairs_path);

  pairs = fv_tool_read_pairs (pairs_path);
  if (pairs == NULL)
    return FV_TOOL_EXIT_FAILURE;

  to_aligned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  to_raw = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!fv_tool_read_faces_maps (root, faces_path, to_aligned, to_raw))
    return FV_TOOL_EXIT_FAILURE;

  faces = fv_tool_faces_new (COMMAND, model_path, aligned);
  if (faces == NULL)
    return FV_TOOL_EXIT_FAILURE;
  fv_tool_faces_set_flip (faces, flip);
  dim = fv_tool_faces_get_dim (faces);

  /* Each image once: index maps the resolved path to 1 + its row in
   * vectors, or to 0 when it has no usable face. */
  index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  vectors = g_array_new (FALSE, FALSE, sizeof (float));
  quality = g_array_new (FALSE, FALSE, sizeof (float));
  ctx.faces = faces;
  ctx.root = root;
  ctx.map = aligned ? to_aligned : to_raw;
  ctx.index = index;
  ctx.vectors = vectors;
  ctx.quality = quality;
  ctx.dim = dim;
  scored = g_array_new (FALSE, FALSE, sizeof (Scored));
  if (scores_path)
    scores_out = g_string_new ("a,b,same,similarity,quality_a,quality_b\n");
  for (i = 0; i < pairs->len; i++) {
    FvToolPair *p = &g_array_index (pairs, FvToolPair, i);
    const char *names[2] = { p->a, p->b };
    guint rowsel[2] = { 0, 0 };
    guint k;
    Scored s;

    for (k = 0; k < 2; k++)
      rowsel[k] = fv_tool_embed_once (&ctx, names[k]);
    s.same = p->same;
    if (rowsel[0] == 0 || rowsel[1] == 0) {
      /* Never dropped: a pair without both faces is an error at every
       * threshold (a genuine pair rejected, an impostor accepted). */
      failed_pairs++;
      s.score = p->same ? FAILED_GENUINE : FAILED_IMPOSTOR;
    } else {
      s.score = fv_cosine (&g_array_index (vectors, float,
              (gsize) (rowsel[0] - 1) * dim), &g_array_index (vectors, float,
              (gsize) (rowsel[1] - 1) * dim), dim);
    }
    g_array_append_val (scored, s);
    if (scores_out)
      append_score_row (scores_out, p, s.score, &ctx, rowsel);
  }

  if (scores_out && !fv_tool_write_file (COMMAND, scores_path,
          scores_out->str, scores_out->len, force, NULL))
    return FV_TOOL_EXIT_FAILURE;

  return eval_report (pairs_path, root, plot_path, force, scored, aligned,
      ctx.n_images, ctx.failed, failed_pairs);
}

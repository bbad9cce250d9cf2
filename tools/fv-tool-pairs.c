/* gst-faceverify: face verification on the CPU
 *
 * fv-tool-pairs.c: reading pairs.csv and faces.csv, and embedding each
 * image of the pairs once (fv-tool-pairs.h).
 */
#include "fv-tool.h"
#include "fv-tool-pairs.h"

#include <string.h>

static void
pair_clear (gpointer data)
{
  FvToolPair *p = data;

  g_free (p->a);
  g_free (p->b);
}

/* Splits one CSV line (RFC 4180 quoting, no line breaks inside fields). */
static GPtrArray *
csv_split (const char *line)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);
  GString *field = g_string_new (NULL);
  const char *p = line;
  gboolean quoted = FALSE;

  for (;; p++) {
    if (quoted) {
      if (*p == '\0') {
        break;
      } else if (*p == '"' && p[1] == '"') {
        g_string_append_c (field, '"');
        p++;
      } else if (*p == '"') {
        quoted = FALSE;
      } else {
        g_string_append_c (field, *p);
      }
    } else if (*p == '"' && field->len == 0) {
      quoted = TRUE;
    } else if (*p == ',' || *p == '\0' || *p == '\r' || *p == '\n') {
      g_ptr_array_add (fields, g_strdup (field->str));
      g_string_truncate (field, 0);
      if (*p != ',')
        break;
    } else {
      g_string_append_c (field, *p);
    }
  }
  g_string_free (field, TRUE);
  return fields;
}

static int
column_index (GPtrArray * header, const char *name)
{
  guint i;

  for (i = 0; i < header->len; i++)
    if (strcmp (g_strstrip ((char *) header->pdata[i]), name) == 0)
      return (int) i;
  return -1;
}

/* Reads the lines of a CSV file with a header into @rows (GPtrArray of
 * fields each); returns the header. */
static GPtrArray *
read_csv (const char *path, GPtrArray ** rows, GError ** error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *header = NULL;
  guint i;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  *rows = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_ptr_array_unref);
  for (i = 0; lines[i]; i++) {
    g_strchomp (lines[i]);
    if (lines[i][0] == '\0')
      continue;
    if (header == NULL)
      header = csv_split (lines[i]);
    else
      g_ptr_array_add (*rows, csv_split (lines[i]));
  }
  if (header == NULL) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "empty file");
    g_clear_pointer (rows, g_ptr_array_unref);
  }
  return header;
}

/* raw -> aligned and aligned -> raw from a faces.csv. */
static gboolean
read_faces_map (const char *path, GHashTable * to_aligned,
    GHashTable * to_raw, GError ** error)
{
  g_autoptr (GPtrArray) header = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  int raw_col, aligned_col;
  guint i;

  header = read_csv (path, &rows, error);
  if (header == NULL)
    return FALSE;
  raw_col = column_index (header, "raw");
  aligned_col = column_index (header, "aligned");
  if (raw_col < 0 || aligned_col < 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "no 'raw' and 'aligned' columns");
    return FALSE;
  }
  for (i = 0; i < rows->len; i++) {
    GPtrArray *r = rows->pdata[i];

    if ((guint) MAX (raw_col, aligned_col) >= r->len)
      continue;
    g_hash_table_insert (to_aligned, g_strdup (r->pdata[raw_col]),
        g_strdup (r->pdata[aligned_col]));
    g_hash_table_insert (to_raw, g_strdup (r->pdata[aligned_col]),
        g_strdup (r->pdata[raw_col]));
  }
  return TRUE;
}

static gboolean
parse_same (const char *s, gboolean * same)
{
  if (strcmp (s, "1") == 0 || g_ascii_strcasecmp (s, "true") == 0) {
    *same = TRUE;
    return TRUE;
  }
  if (strcmp (s, "0") == 0 || g_ascii_strcasecmp (s, "false") == 0) {
    *same = FALSE;
    return TRUE;
  }
  return FALSE;
}

/* The pairs of @pairs_path (columns a, b and same); prints the error and
 * returns NULL if the file cannot be used. */
GArray *
fv_tool_read_pairs (const char *pairs_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) header = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GArray) pairs = NULL;
  int col_a, col_b, col_same;
  guint i;

  header = read_csv (pairs_path, &rows, &error);
  if (header == NULL) {
    fv_tool_error (pairs_path, "%s", error->message);
    return NULL;
  }
  col_a = column_index (header, "a");
  col_b = column_index (header, "b");
  col_same = column_index (header, "same");
  if (col_a < 0 || col_b < 0 || col_same < 0) {
    fv_tool_error (pairs_path, "the header must name the columns a, b and "
        "same");
    return NULL;
  }
  pairs = g_array_new (FALSE, FALSE, sizeof (FvToolPair));
  g_array_set_clear_func (pairs, pair_clear);
  for (i = 0; i < rows->len; i++) {
    GPtrArray *r = rows->pdata[i];
    FvToolPair p;

    if ((guint) MAX (MAX (col_a, col_b), col_same) >= r->len
        || !parse_same (g_strstrip ((char *) r->pdata[col_same]), &p.same)) {
      fv_tool_error (pairs_path, "line %u: expected a, b and same (0 or 1)",
          i + 2);
      return NULL;
    }
    p.a = g_strdup (r->pdata[col_a]);
    p.b = g_strdup (r->pdata[col_b]);
    g_array_append_val (pairs, p);
  }
  if (pairs->len == 0) {
    fv_tool_error (pairs_path, "no pairs");
    return NULL;
  }
  return g_steal_pointer (&pairs);
}


/* 1 + the row of @name's embedding in cache->vectors, or 0 when the image
 * has no usable face. */
guint
fv_tool_embed_once (FvToolEmbedCache * cache, const char *name)
{
  const char *rel = name;
  const char *mapped = g_hash_table_lookup (cache->map, rel);
  g_autofree char *path = NULL;
  gpointer found;

  if (mapped)
    rel = mapped;
  path = g_build_filename (cache->root, rel, NULL);
  if (!g_hash_table_lookup_extended (cache->index, path, NULL, &found)) {
    g_autoptr (GError) img_error = NULL;
    const FvToolFace *f;
    guint n = 0;

    cache->n_images++;
    f = fv_tool_faces_process (cache->faces, path, &n, &img_error);
    if (f == NULL || n == 0) {
      fv_tool_error (path, "%s", f == NULL ? img_error->message :
          "no face found");
      cache->failed++;
      found = GUINT_TO_POINTER (0);
    } else {
      g_array_append_vals (cache->vectors, f[0].embedding, cache->dim);
      g_array_append_val (cache->quality, f[0].quality.score);
      found = GUINT_TO_POINTER (cache->vectors->len / cache->dim);
    }
    g_hash_table_insert (cache->index, g_strdup (path), found);
  }
  return GPOINTER_TO_UINT (found);
}

/* Reads @faces_path, or ROOT/faces.csv if there is one, into the maps
 * from photos to crops and back. Prints the error and returns FALSE if the
 * file cannot be used. */
gboolean
fv_tool_read_faces_maps (const char *root, const char *faces_path,
    GHashTable * to_aligned, GHashTable * to_raw)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *guess = NULL;

  if (faces_path == NULL) {
    guess = g_build_filename (root, "faces.csv", NULL);
    if (g_file_test (guess, G_FILE_TEST_IS_REGULAR))
      faces_path = guess;
  }
  if (faces_path && !read_faces_map (faces_path, to_aligned, to_raw, &error)) {
    fv_tool_error (faces_path, "%s", error->message);
    return FALSE;
  }
  return TRUE;
}

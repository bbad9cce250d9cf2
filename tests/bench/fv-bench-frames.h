/* gst-faceverify: the synthetic frames of the pipeline benchmarks
 * (tests/bench/bench-pipeline.c, tests/plugin/bench-elements.c): faces of
 * the shared photos (data/faces/deepface/raw, the face cut around its
 * reference box) pasted on a plain grey or a textured background, on a
 * 4 x 2 grid, photo i in cell i. tests/plugin/bench-track.c reads its
 * photos (the golden MTCNN reference boxes) and pastes them with the same
 * helpers. Needs only GLib and GdkPixbuf, so that compare-builds.sh can
 * build it against an older tree.
 */
#ifndef FV_BENCH_FRAMES_H
#define FV_BENCH_FRAMES_H

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <string.h>

G_BEGIN_DECLS

#define FV_BENCH_MAX_FACES 8
#define FV_BENCH_GRID_COLS 4
#define FV_BENCH_GRID_ROWS 2

/* The face counts and the frame sizes with the face box side pasted at
 * each (a typical face at that resolution). */
static const guint fv_bench_face_counts[] = { 0, 1, 4, 8 };

static const struct
{
  guint w, h, face;
} fv_bench_sizes[] = {
  {640, 480, 72},
  {1280, 720, 108},
};

typedef struct
{
  GdkPixbuf *crop;              /* square, the face box in its middle 2/3 */
} FvBenchPhoto;

/* The reference lists of the shared data: data/faces/deepface/faces.csv
 * (identity, raw, ..., n_faces, ..., bbox_x, bbox_y, bbox_w, bbox_h, ...)
 * and golden/dev_faces_mtcnn_reference.csv (source, raw, width, height,
 * x1, y1, x2, y2, ...: a row per face the reference MTCNN found). */
typedef enum
{
  FV_BENCH_CSV_FACES,
  FV_BENCH_CSV_GOLDEN,
} FvBenchCsv;

/* A photo with exactly one reference face, and that face's box. */
typedef struct
{
  GdkPixbuf *image;             /* the whole photo */
  char person[64];
  double x, y, w, h;
} FvBenchFace;

/* Whether row @i of @lines (split at ',' into @f) is the only reference
 * face of its photo; sets @person and the box. */
static inline gboolean
fv_bench_csv_face (FvBenchCsv kind, char **lines, guint i, char **f,
    FvBenchFace * face)
{
  if (kind == FV_BENCH_CSV_FACES) {
    if (g_strv_length (f) < 13 || strcmp (f[6], "1") != 0)
      return FALSE;
    g_strlcpy (face->person, f[0], sizeof face->person);
    face->x = g_ascii_strtod (f[9], NULL);
    face->y = g_ascii_strtod (f[10], NULL);
    face->w = g_ascii_strtod (f[11], NULL);
    face->h = g_ascii_strtod (f[12], NULL);
  } else {
    g_autofree char *dir = NULL;
    g_autofree char *key = NULL;
    const char *next = lines[i + 1] ? strchr (lines[i + 1], ',') : NULL;
    double x2, y2;

    if (g_strv_length (f) < 8 || strcmp (f[0], "deepface") != 0)
      return FALSE;
    /* the rows of one photo follow each other */
    key = g_strconcat (f[1], ",", NULL);
    if ((i > 1 && g_str_has_prefix (lines[i - 1], "deepface,")
            && g_str_has_prefix (lines[i - 1] + strlen ("deepface,"), key))
        || (next && g_str_has_prefix (next + 1, key)))
      return FALSE;
    dir = g_path_get_dirname (f[1]);
    g_strlcpy (face->person, dir, sizeof face->person);
    face->x = g_ascii_strtod (f[4], NULL);
    face->y = g_ascii_strtod (f[5], NULL);
    x2 = g_ascii_strtod (f[6], NULL);
    y2 = g_ascii_strtod (f[7], NULL);
    face->w = x2 - face->x;
    face->h = y2 - face->y;
  }
  return TRUE;
}

/* Reads the first @n photos of @csv_path (a @kind list) that have exactly
 * one reference face, one per person, from @photo_dir (their `raw` paths
 * are relative to it). */
static inline gboolean
fv_bench_read_faces (const char *csv_path, FvBenchCsv kind,
    const char *photo_dir, FvBenchFace * faces, guint n, GError ** error)
{
  g_autofree char *csv = NULL;
  g_auto (GStrv) lines = NULL;
  guint got = 0, i, k;

  if (!g_file_get_contents (csv_path, &csv, NULL, error))
    return FALSE;
  lines = g_strsplit (csv, "\n", -1);
  for (i = 1; lines[i] && got < n; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    g_autofree char *path = NULL;
    FvBenchFace *face = &faces[got];
    gboolean seen = FALSE;

    if (!fv_bench_csv_face (kind, lines, i, f, face))
      continue;
    for (k = 0; k < got; k++)
      seen = seen || strcmp (faces[k].person, face->person) == 0;
    if (seen)
      continue;
    path = g_build_filename (photo_dir, f[1], NULL);
    face->image = gdk_pixbuf_new_from_file (path, error);
    if (!face->image)
      goto fail;
    got++;
  }
  if (got == n)
    return TRUE;
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
      "%s: fewer than %u single-face photos", csv_path, n);
fail:
  for (k = 0; k < got; k++)
    g_clear_object (&faces[k].image);
  return FALSE;
}

/* Reads the first FV_BENCH_MAX_FACES single-face photos of faces.csv (one
 * per person) in @dir and cuts a square of 1.5 times the reference box
 * around each face. */
static inline gboolean
fv_bench_load_photos (const char *dir, FvBenchPhoto * photos, GError ** error)
{
  g_autofree char *csv_path = g_build_filename (dir, "faces.csv", NULL);
  FvBenchFace faces[FV_BENCH_MAX_FACES];
  guint n;

  if (!fv_bench_read_faces (csv_path, FV_BENCH_CSV_FACES, dir, faces,
          FV_BENCH_MAX_FACES, error))
    return FALSE;
  for (n = 0; n < FV_BENCH_MAX_FACES; n++) {
    GdkPixbuf *img = faces[n].image;
    g_autoptr (GdkPixbuf) sub = NULL;
    double side = 1.5 * MAX (faces[n].w, faces[n].h);
    gint x0, y0, s;

    s = (gint) MIN (side, MIN (gdk_pixbuf_get_width (img),
            gdk_pixbuf_get_height (img)));
    x0 = CLAMP ((gint) (faces[n].x + faces[n].w / 2 - s / 2.0), 0,
        gdk_pixbuf_get_width (img) - s);
    y0 = CLAMP ((gint) (faces[n].y + faces[n].h / 2 - s / 2.0), 0,
        gdk_pixbuf_get_height (img) - s);
    sub = gdk_pixbuf_new_subpixbuf (img, x0, y0, s, s);
    photos[n].crop = gdk_pixbuf_copy (sub);
    g_object_unref (img);
  }
  return TRUE;
}

static inline void
fv_bench_free_photos (FvBenchPhoto * photos)
{
  guint i;

  for (i = 0; i < FV_BENCH_MAX_FACES; i++)
    g_clear_object (&photos[i].crop);
}

static inline guint32
fv_bench_rnd (guint32 * s)
{
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* Plain: flat grey. Textured: smooth blotches (a 32-pixel lattice of
 * random greys, bilinear) with fine grain, like a wall or a shelf. @rgb is
 * packed RGB, @w x @h. */
static inline void
fv_bench_fill_background (guint8 * rgb, guint w, guint h, gboolean textured)
{
  const guint cell = 32, gw = w / cell + 2, gh = h / cell + 2;
  g_autofree guint8 *grid = g_new (guint8, (gsize) gw * gh * 3);
  guint32 seed = 12345;
  guint x, y, c;

  if (!textured) {
    memset (rgb, 128, (gsize) w * h * 3);
    return;
  }
  for (x = 0; x < (guint) gw * gh * 3; x++)
    grid[x] = 40 + fv_bench_rnd (&seed) % 176;
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++) {
      guint gx = x / cell, gy = y / cell;
      float fx = (float) (x % cell) / cell, fy = (float) (y % cell) / cell;
      for (c = 0; c < 3; c++) {
        const guint8 *g = grid + ((gsize) gy * gw + gx) * 3 + c;
        float v = (1 - fy) * ((1 - fx) * g[0] + fx * g[3])
            + fy * ((1 - fx) * g[gw * 3] + fx * g[gw * 3 + 3]);
        v += (float) (fv_bench_rnd (&seed) % 17) - 8.0f;
        rgb[((gsize) y * w + x) * 3 + c] = (guint8) CLAMP (v, 0.0f, 255.0f);
      }
    }
}

/* The centre of grid cell @i in a @w x @h frame. */
static inline void
fv_bench_cell_center (guint i, guint w, guint h, guint * cx, guint * cy)
{
  *cx = (2 * (i % FV_BENCH_GRID_COLS) + 1) * w / (2 * FV_BENCH_GRID_COLS);
  *cy = (2 * (i / FV_BENCH_GRID_COLS) + 1) * h / (2 * FV_BENCH_GRID_ROWS);
}

/* The grid cell that holds the point (@x, @y). */
static inline guint
fv_bench_cell_at (guint x, guint y, guint w, guint h)
{
  guint col = MIN (x * FV_BENCH_GRID_COLS / w, FV_BENCH_GRID_COLS - 1);
  guint row = MIN (y * FV_BENCH_GRID_ROWS / h, FV_BENCH_GRID_ROWS - 1);

  return row * FV_BENCH_GRID_COLS + col;
}

/* Pastes @p into the packed RGB @rgb (@w x @h) with its top left at
 * (@x0, @y0), cut by the frame's edges. */
static inline void
fv_bench_paste (guint8 * rgb, guint w, guint h, GdkPixbuf * p, gint x0,
    gint y0)
{
  gint pw = gdk_pixbuf_get_width (p), ph = gdk_pixbuf_get_height (p);
  gint nch = gdk_pixbuf_get_n_channels (p), rs = gdk_pixbuf_get_rowstride (p);
  const guint8 *px = gdk_pixbuf_read_pixels (p);
  gint x, y;

  for (y = MAX (0, -y0); y < ph && y0 + y < (gint) h; y++)
    for (x = MAX (0, -x0); x < pw && x0 + x < (gint) w; x++)
      memcpy (rgb + ((gsize) (y0 + y) * w + x0 + x) * 3,
          px + (gsize) y * rs + x * nch, 3);
}

/* Pastes @n faces (crop side 1.5 x @face) on the grid, photo i in cell i,
 * each moved by (@dx, @dy) pixels from its cell's centre (kept inside the
 * frame). */
static inline void
fv_bench_paste_faces (guint8 * rgb, guint w, guint h, guint face,
    const FvBenchPhoto * ph, guint n, gint dx, gint dy)
{
  const guint side = face * 3 / 2;
  guint i;

  for (i = 0; i < n; i++) {
    g_autoptr (GdkPixbuf) s = gdk_pixbuf_scale_simple (ph[i].crop, side, side,
        GDK_INTERP_BILINEAR);
    guint cx, cy;

    fv_bench_cell_center (i, w, h, &cx, &cy);
    fv_bench_paste (rgb, w, h, s, CLAMP ((gint) cx - (gint) side / 2 + dx, 0,
            (gint) (w - side)), CLAMP ((gint) cy - (gint) side / 2 + dy, 0,
            (gint) (h - side)));
  }
}

G_END_DECLS

#endif /* FV_BENCH_FRAMES_H */

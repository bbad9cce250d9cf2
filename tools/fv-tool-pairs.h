/* gst-faceverify: face verification on the CPU
 *
 * fv-tool-pairs.h: labelled pairs of images (pairs.csv with columns a, b
 * and same, faces.csv mapping photos to aligned crops) and their
 * embeddings, each image embedded once: shared by `faceverify eval` and
 * `faceverify calibrate`.
 */
#ifndef FV_TOOL_PAIRS_H
#define FV_TOOL_PAIRS_H

#include "fv-tool-faces.h"

G_BEGIN_DECLS

typedef struct
{
  char *a;
  char *b;
  gboolean same;
} FvToolPair;

/* The pairs of @pairs_path (columns a, b and same), a GArray of
 * FvToolPair; prints the error and returns NULL if the file cannot be
 * used. */
GArray *fv_tool_read_pairs (const char *pairs_path);

/* Reads @faces_path, or ROOT/faces.csv if there is one, into the maps
 * from photos to crops and back. Prints the error and returns FALSE if the
 * file cannot be used. */
gboolean fv_tool_read_faces_maps (const char *root, const char *faces_path,
    GHashTable * to_aligned, GHashTable * to_raw);

/* The images of the pairs, each embedded once. */
typedef struct
{
  FvToolFaces *faces;
  const char *root;
  GHashTable *map;              /* pair name -> file to read, or none */
  GHashTable *index;            /* path -> 1 + row in vectors, 0: no face */
  GArray *vectors;
  GArray *quality;              /* float per row of vectors */
  guint dim, n_images, failed;
} FvToolEmbedCache;

/* 1 + the row of @name's embedding in cache->vectors, or 0 when the image
 * has no usable face (the message is printed). */
guint fv_tool_embed_once (FvToolEmbedCache * cache, const char *name);

G_END_DECLS

#endif /* FV_TOOL_PAIRS_H */

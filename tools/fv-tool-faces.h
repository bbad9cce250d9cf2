/* gst-faceverify: face verification on the CPU
 *
 * fv-tool-faces.h: faces of image files for the gallery commands (enroll,
 * identify, verify, eval): either aligned 112x112 crops (--aligned) or
 * photos that go through the detector, alignment and the embedder.
 */
#ifndef FV_TOOL_FACES_H
#define FV_TOOL_FACES_H

#include <fv.h>

G_BEGIN_DECLS

#define FV_TOOL_DEFAULT_MODEL "MobileFaceNet.tflite"

/* The --model option of every command that runs the embedding network,
 * one entry of a GOptionEntry array. */
#define FV_TOOL_MODEL_ENTRY(model_path) \
  {"model", 'm', 0, G_OPTION_ARG_FILENAME, (model_path), \
      "MobileFaceNet model file (default: the installed or fetched " \
        FV_TOOL_DEFAULT_MODEL ")", "FILE"}

/* The options that every command on faces takes last: --aligned, --model
 * and the image arguments, in a GOptionEntry array. */
#define FV_TOOL_FACES_ENTRIES(aligned, model_path, images) \
  {"aligned", 'a', 0, G_OPTION_ARG_NONE, (aligned), \
      "The images are aligned 112x112 face crops (no detection)", NULL}, \
  FV_TOOL_MODEL_ENTRY (model_path), \
  {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, (images), NULL, \
      NULL}

/* One face of an image: its box in image pixels, the detector's score (-1
 * for an aligned crop), its embedding (the embedder's dimension, owned
 * by the FvToolFaces, valid until the next fv_tool_faces_process()) and
 * the quality of its crop (for an aligned crop: without size, pose and
 * edge, which the crop alone does not tell). */
typedef struct
{
  float x1, y1, x2, y2;
  float score;
  const float *embedding;
  FvFaceQuality quality;
} FvToolFace;

typedef struct _FvToolFaces FvToolFaces;

/* Loads the embedder (@model_path, or the default model found by
 * fv_find_model()) and, unless @aligned, the detector. Prints the error
 * and returns NULL on failure. */
FvToolFaces *fv_tool_faces_new (const char *command, const char *model_path,
    gboolean aligned);
void fv_tool_faces_free (FvToolFaces * faces);
guint fv_tool_faces_get_dim (FvToolFaces * faces);
const char *fv_tool_faces_get_fingerprint (FvToolFaces * faces);

/* Finds and embeds the faces of the image at @path (largest first).
 * Returns the faces (n_faces may be 0), or NULL with @error set when the
 * image cannot be used (unreadable, not a 112x112 crop with --aligned).
 * The message does not repeat the path. */
const FvToolFace *fv_tool_faces_process (FvToolFaces * faces,
    const char *path, guint * n_faces, GError ** error);

/* Whether @path is a file the gallery commands would try to read as an
 * image (by its name: not hidden, a known image suffix). */
gboolean fv_tool_is_image_name (const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvToolFaces, fv_tool_faces_free)

G_END_DECLS

#endif /* FV_TOOL_FACES_H */

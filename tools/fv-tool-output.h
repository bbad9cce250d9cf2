/* gst-faceverify: face verification on the CPU
 *
 * fv-tool-output.h: the one way the `faceverify` commands write a file.
 * Outputs never clobber: a new regular file is written beside the target
 * under a temporary name and renamed over it only when complete; an
 * existing target is refused unless --force, and never replaced when it is
 * a symlink, not a regular file, or one of the files the command reads
 * (the gallery and its -wal/-shm files).
 */
#ifndef FV_TOOL_OUTPUT_H
#define FV_TOOL_OUTPUT_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FvToolOutput FvToolOutput;

/* Checks @path as a target (see above; @protect: NULL-terminated paths the
 * command reads, may be NULL) and, unless @reserve_only, opens a new
 * temporary file beside it. With @reserve_only no file is created and
 * fv_tool_output_get_temp_path() names a path that does not exist, for a
 * writer that creates the file itself (exclusively). Prints the error with
 * @command and returns NULL on failure. */
FvToolOutput *fv_tool_output_new (const char *command, const char *path,
    gboolean force, const char *const *protect, gboolean reserve_only);
const char *fv_tool_output_get_temp_path (FvToolOutput * out);
/* Appends to the temporary file. */
gboolean fv_tool_output_write (FvToolOutput * out, const void *data,
    gsize length);
/* Flushes, syncs and renames the temporary file to the target (again
 * refusing a target that appeared meanwhile, unless --force). */
gboolean fv_tool_output_commit (FvToolOutput * out);
/* Removes the temporary file (if not committed) and frees. */
void fv_tool_output_free (FvToolOutput * out);

/* Writes @length bytes to @path in one go with the rules above. */
gboolean fv_tool_write_file (const char *command, const char *path,
    const void *data, gsize length, gboolean force,
    const char *const *protect);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvToolOutput, fv_tool_output_free)

G_END_DECLS

#endif /* FV_TOOL_OUTPUT_H */

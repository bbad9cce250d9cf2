/* gst-faceverify: face verification on the CPU
 *
 * fv-tool.h: declarations shared by the subcommands of the `faceverify`
 * command line tool.
 */
#ifndef FV_TOOL_H
#define FV_TOOL_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * FvToolExit:
 * @FV_TOOL_EXIT_OK: success
 * @FV_TOOL_EXIT_FAILURE: a run-time failure (bad input file, model that does
 *   not load, write error); the message is on stderr
 * @FV_TOOL_EXIT_USAGE: the command line is wrong (unknown subcommand or
 *   option, missing argument)
 *
 * Exit statuses of `faceverify` and of every subcommand.
 */
typedef enum
{
  FV_TOOL_EXIT_OK = 0,
  FV_TOOL_EXIT_FAILURE = 1,
  FV_TOOL_EXIT_USAGE = 2,
} FvToolExit;

/**
 * FvToolCommandFunc:
 * @argc: number of arguments in @argv
 * @argv: (array length=argc): the arguments; `argv[0]` is the subcommand
 *   name, the options of the subcommand follow. The array is owned by the
 *   caller: a subcommand that needs to modify it works on a copy.
 *
 * Runs one subcommand. Messages go to stderr, results to stdout.
 *
 * Returns: an #FvToolExit status
 */
typedef int (*FvToolCommandFunc) (int argc, char **argv);

/**
 * FvToolCommand:
 * @name: the subcommand, as typed after `faceverify`
 * @summary: one line for `faceverify --help`
 * @func: the implementation
 *
 * One entry of the subcommand table in faceverify.c.
 */
typedef struct
{
  const char *name;
  const char *summary;
  FvToolCommandFunc func;
} FvToolCommand;

/* Subcommands: one function per command, fv-cmd-<name>.c. */
int fv_cmd_embed (int argc, char **argv);
int fv_cmd_bench (int argc, char **argv);
int fv_cmd_enroll (int argc, char **argv);
int fv_cmd_identify (int argc, char **argv);
int fv_cmd_verify (int argc, char **argv);
int fv_cmd_gallery (int argc, char **argv);
int fv_cmd_eval (int argc, char **argv);
int fv_cmd_detect (int argc, char **argv);
int fv_cmd_calibrate (int argc, char **argv);

/* `faceverify bench --gallery-size N` (fv-bench-gallery.c). */
int fv_bench_gallery (guint gallery_size, guint threads);

/* The photo mode of `faceverify embed` (without --aligned) and `faceverify
 * bench --detector` (fv-cmd-detect.c). */
int fv_cmd_embed_photos (const char *model_path, char **images,
    gboolean flip);
int fv_bench_detector (guint runs, guint warmup, const char *image_path);

/* Helpers, implemented in faceverify.c. */

/* Prints "faceverify: <subject>: <message>\n" to stderr, or
 * "faceverify: <message>\n" when @subject is NULL. */
void fv_tool_error (const char *subject, const char *format, ...)
    G_GNUC_PRINTF (2, 3);

/* Parses a subcommand's command line with @context (built by the caller,
 * which keeps ownership). @args is a copy of argv that the parser modifies.
 * On a usage error, prints the message and a hint to use --help, and
 * returns FALSE: the caller exits with FV_TOOL_EXIT_USAGE. --help prints the
 * help text and exits the process with status 0 (GOption's behaviour). */
gboolean fv_tool_parse_options (GOptionContext * context, const char *command,
    GStrv * args);

/* Appends @value to @out, formatted with "%.7g" in the C locale (always a
 * '.' decimal point, whatever LC_NUMERIC says). */
void fv_tool_append_float (GString * out, double value);

/* Appends @field to @out as one CSV field: as is when it contains no comma,
 * double quote, CR or LF; otherwise quoted, with double quotes doubled
 * (RFC 4180). */
void fv_tool_append_csv_field (GString * out, const char *field);

/* FALSE, with a message naming @path, when @embedding holds a NaN or an
 * infinity (a damaged model): such a vector is never printed
 * (fv-cmd-embed.c). */
gboolean fv_tool_embedding_is_finite (const char *path,
    const float *embedding, guint dim);

/* Writes @out to stdout. On a write error prints a message and returns
 * FALSE. */
gboolean fv_tool_write_stdout (const GString * out);

G_END_DECLS

#endif /* FV_TOOL_H */

/* gst-faceverify: face verification on the CPU
 *
 * faceverify.c: the `faceverify` command line tool. main() only dispatches
 * to a subcommand; each subcommand (fv-cmd-<name>.c) parses its own options.
 */
#include "fv-tool.h"

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef FV_TOOL_VERSION
#define FV_TOOL_VERSION "unknown"
#endif

/* Adding a subcommand: write fv-cmd-<name>.c, declare it in fv-tool.h and
 * add one line here. The order is the order of `faceverify --help`. */
static const FvToolCommand commands[] = {
  {"embed", "Print the embeddings of faces (photos or aligned crops) as CSV",
      fv_cmd_embed},
  {"detect", "Print the faces and landmarks found in images as CSV",
      fv_cmd_detect},
  {"enroll", "Enroll people from their photos into a gallery", fv_cmd_enroll},
  {"identify", "Identify the faces of images against a gallery (CSV)",
      fv_cmd_identify},
  {"verify", "Tell whether two images show the same person", fv_cmd_verify},
  {"gallery", "List, remove, rename, export, import or copy identities",
      fv_cmd_gallery},
  {"eval", "Verification accuracy (ROC AUC, TAR@FAR) on image pairs",
      fv_cmd_eval},
  {"calibrate", "The match threshold for a false-accept rate on impostors",
      fv_cmd_calibrate},
  {"bench", "Time the embedding network, the detector or the gallery",
      fv_cmd_bench},
};

void
fv_tool_error (const char *subject, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fflush (stdout);
  if (subject != NULL)
    fprintf (stderr, "faceverify: %s: %s\n", subject, message);
  else
    fprintf (stderr, "faceverify: %s\n", message);
}

gboolean
fv_tool_parse_options (GOptionContext * context, const char *command,
    GStrv * args)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse_strv (context, args, &error)) {
    fv_tool_error (command, "%s", error->message);
    fprintf (stderr, "Try 'faceverify %s --help' for more information.\n",
        command);
    return FALSE;
  }
  return TRUE;
}

void
fv_tool_append_float (GString * out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.7g", value));
}

void
fv_tool_append_csv_field (GString * out, const char *field)
{
  const char *p;

  if (strpbrk (field, ",\"\r\n") == NULL) {
    g_string_append (out, field);
    return;
  }

  g_string_append_c (out, '"');
  for (p = field; *p != '\0'; p++) {
    if (*p == '"')
      g_string_append_c (out, '"');
    g_string_append_c (out, *p);
  }
  g_string_append_c (out, '"');
}

gboolean
fv_tool_write_stdout (const GString * out)
{
  if (out->len > 0 && fwrite (out->str, 1, out->len, stdout) != out->len) {
    fv_tool_error (NULL, "error writing to standard output: %s",
        g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

static void
print_usage (FILE * out)
{
  gsize i;
  int width = 0;

  fprintf (out, "Usage: faceverify <command> [OPTION…] [ARGUMENT…]\n\n");
  fprintf (out, "Face verification with MobileFaceNet on the CPU.\n\n");
  fprintf (out, "Commands:\n");
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    width = MAX (width, (int) strlen (commands[i].name));
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-*s  %s\n", width, commands[i].name, commands[i].summary);
  fprintf (out, "\nOptions:\n");
  fprintf (out, "  -h, --help     Show this help and exit\n");
  fprintf (out, "  -V, --version  Show the version and exit\n");
  fprintf (out, "\nRun 'faceverify <command> --help' for the options of a "
      "command.\n");
}

static const FvToolCommand *
find_command (const char *name)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];
  }
  return NULL;
}

static int
run_command (const FvToolCommand * command, int argc, char **argv)
{
  g_autofree char *prgname = g_strdup_printf ("faceverify %s",
      command->name);

  /* GOption's "Usage:" line starts with the program name. g_set_prgname()
   * may only be called once, so it is set here, when the command is known. */
  g_set_prgname (prgname);
  return command->func (argc, argv);
}

static int
finish (int status)
{
  /* Catch errors writing the buffered rest of stdout (e.g. a full disk). */
  if (fflush (stdout) != 0 || ferror (stdout)) {
    fprintf (stderr, "faceverify: error writing to standard output: %s\n",
        g_strerror (errno));
    return FV_TOOL_EXIT_FAILURE;
  }
  return status;
}

int
main (int argc, char **argv)
{
  const char *name;
  const FvToolCommand *command;

  /* Messages in the user's language and charset; numbers for machines
   * (CSV) are formatted with g_ascii_formatd(), so LC_NUMERIC is kept "C"
   * anyway in case some code uses printf ("%g"). */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  if (argc < 2) {
    print_usage (stderr);
    return FV_TOOL_EXIT_USAGE;
  }

  name = argv[1];
  if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0
      || strcmp (name, "help") == 0) {
    /* `faceverify help <command>` is `faceverify <command> --help`. */
    if (strcmp (name, "help") == 0 && argc > 2) {
      char *help_argv[] = { argv[2], (char *) "--help", NULL };

      command = find_command (argv[2]);
      if (command == NULL) {
        fv_tool_error (NULL, "unknown command '%s' (see 'faceverify --help')",
            argv[2]);
        return FV_TOOL_EXIT_USAGE;
      }
      return finish (run_command (command, 2, help_argv));
    }
    print_usage (stdout);
    return finish (FV_TOOL_EXIT_OK);
  }
  if (strcmp (name, "--version") == 0 || strcmp (name, "-V") == 0) {
    printf ("faceverify %s\n", FV_TOOL_VERSION);
    return finish (FV_TOOL_EXIT_OK);
  }
  if (name[0] == '-') {
    fv_tool_error (NULL, "unknown option '%s' (see 'faceverify --help')", name);
    return FV_TOOL_EXIT_USAGE;
  }

  command = find_command (name);
  if (command == NULL) {
    fv_tool_error (NULL, "unknown command '%s' (see 'faceverify --help')",
        name);
    return FV_TOOL_EXIT_USAGE;
  }

  return finish (run_command (command, argc - 1, argv + 1));
}

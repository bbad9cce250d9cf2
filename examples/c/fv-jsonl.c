/* fv-jsonl: write the face identities of a pipeline as JSON lines, one
 * record per face per frame, read from FvFaceIdMeta.
 *
 *   fv-jsonl [-o faces.jsonl] 'filesrc location=clip.avi ! decodebin ! \
 *       videoconvert ! mtcnnfacedetect ! faceverify gallery-file=team.db'
 *
 * The pipeline description gets "! fakesink" appended. Each line is an
 * object:
 *
 *   {"frame": 12, "pts": 1200000000, "roi_id": 3, "track_id": 1,
 *    "label": "alice", "label_id": 2, "known": true, "similarity": 0.9134,
 *    "margin": 0.3021, "frames_ago": 0, "aligned": true,
 *    "box": [120, 80, 64, 64], "landmarks": [[140.5, 101.2], ...]}
 *
 * "pts" is the buffer timestamp in nanoseconds (null when the buffer has
 * none); "landmarks" is empty when the face came without them. Frames
 * without faces write nothing.
 *
 * Build it against the installed plugin's meta library:
 *
 *   cc -o fv-jsonl fv-jsonl.c \
 *       $(pkg-config --cflags --libs gstreamer-1.0 gstfaceverifymeta-1.0)
 */
#include <gst/gst.h>
#include <gstfaceverifymeta.h>

#include "fv-example-run.h"

#include <stdio.h>

typedef struct
{
  FILE *out;
  guint64 frame;
  GString *line;                /* reused for every record */
} Writer;

/* Appends @s as a JSON string. Labels come from the gallery and may hold
 * any UTF-8; control characters and quotes must be escaped. */
static void
append_json_string (GString * line, const gchar * s)
{
  const guchar *p;

  g_string_append_c (line, '"');
  for (p = (const guchar *) (s ? s : ""); *p; p++) {
    switch (*p) {
      case '"':
        g_string_append (line, "\\\"");
        break;
      case '\\':
        g_string_append (line, "\\\\");
        break;
      case '\n':
        g_string_append (line, "\\n");
        break;
      case '\t':
        g_string_append (line, "\\t");
        break;
      default:
        if (*p < 0x20)
          g_string_append_printf (line, "\\u%04x", *p);
        else
          g_string_append_c (line, *p);
    }
  }
  g_string_append_c (line, '"');
}

static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  Writer *w = user_data;
  gpointer state = NULL;
  FvFaceIdMeta *m;
  guint k;

  while ((m = fv_buffer_iterate_face_id_meta (buffer, &state))) {
    GString *l = w->line;

    g_string_truncate (l, 0);
    g_string_append_printf (l, "{\"frame\": %" G_GUINT64_FORMAT ", \"pts\": ",
        w->frame);
    if (GST_BUFFER_PTS_IS_VALID (buffer))
      g_string_append_printf (l, "%" G_GUINT64_FORMAT, GST_BUFFER_PTS (buffer));
    else
      g_string_append (l, "null");
    g_string_append_printf (l, ", \"roi_id\": %d, \"track_id\": %u, "
        "\"label\": ", m->roi_id, m->track_id);
    append_json_string (l, m->label);
    g_string_append_printf (l, ", \"label_id\": %d, \"known\": %s, "
        "\"similarity\": %.4f, \"margin\": %.4f, \"frames_ago\": %u, "
        "\"aligned\": %s, \"box\": [%u, %u, %u, %u], \"landmarks\": [",
        m->label_id, m->known ? "true" : "false", m->similarity, m->margin,
        m->frames_ago, m->aligned ? "true" : "false", m->x, m->y, m->w, m->h);
    for (k = 0; k < m->n_landmarks && k < FV_FACE_ID_N_LANDMARKS; k++)
      g_string_append_printf (l, "%s[%.1f, %.1f]", k ? ", " : "",
          m->landmarks[2 * k], m->landmarks[2 * k + 1]);
    g_string_append (l, "]}\n");
    fwrite (l->str, 1, l->len, w->out);
  }
  w->frame++;
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  gchar *output = NULL;
  GOptionEntry entries[] = {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
        "Write to FILE instead of standard output", "FILE"},
    {NULL}
  };
  GOptionContext *ctx;
  GError *error = NULL;
  Writer w = { stdout, 0, NULL };
  int ret;

  ctx = g_option_context_new ("'PIPELINE ! ... ! faceverify ...'");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2) {
    g_printerr ("%s\n", error ? error->message :
        "give one pipeline description (see --help)");
    g_clear_error (&error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);

  if (output && !(w.out = fopen (output, "w"))) {
    g_printerr ("cannot write %s\n", output);
    return 1;
  }
  w.line = g_string_sized_new (512);

  ret = fv_example_run (argv[1], on_buffer, &w);

  if (w.out != stdout && fclose (w.out) != 0) {
    g_printerr ("cannot write %s\n", output);
    ret = 1;
  }
  g_string_free (w.line, TRUE);
  g_free (output);
  gst_deinit ();
  return ret;
}

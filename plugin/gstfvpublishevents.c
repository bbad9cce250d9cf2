/* gst-faceverify: faceverifypublish's tracks and JSON events
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfvpublishevents.h"

#include <json-glib/json-glib.h>
#include <time.h>

static const gchar *
label_of (const FvFaceIdMeta * m)
{
  return m->label ? m->label : FV_FACE_ID_UNKNOWN_LABEL;
}

static void
track_take (GstFvTrack * t, const FvFaceIdMeta * m, const GstFvEventFrame * f)
{
  t->similarity = m->similarity;
  t->margin = m->margin;
  t->quality = m->quality;
  t->reason = m->reason;
  t->quality_reason = m->reason ? m->quality_reason : NULL;
  t->x = m->x;
  t->y = m->y;
  t->w = m->w;
  t->h = m->h;
  t->last_frame = f->frame;
  t->last_pts = f->pts;
  t->last_rt = f->running_time;
  t->last_utc = f->utc_us;
  t->n_frames++;
  if (t->best_label == NULL || m->similarity > t->best_similarity) {
    t->best_similarity = m->similarity;
    g_free (t->best_label);
    t->best_label = g_strdup (label_of (m));
  }
}

GstFvTrack *
gst_fv_track_new (const FvFaceIdMeta * m, const GstFvEventFrame * f)
{
  GstFvTrack *t = g_new0 (GstFvTrack, 1);

  t->track_id = m->track_id;
  t->label = g_strdup (label_of (m));
  t->label_id = m->label_id;
  t->known = m->known;
  t->first_frame = f->frame;
  t->first_pts = f->pts;
  t->first_rt = f->running_time;
  t->first_utc = f->utc_us;
  track_take (t, m, f);
  return t;
}

void
gst_fv_track_free (GstFvTrack * t)
{
  g_free (t->label);
  g_free (t->best_label);
  g_free (t);
}

/* Updates the track from this frame's meta; TRUE when its decision (label,
 * label id or known) differs from the one last reported, or none was. */
gboolean
gst_fv_track_update (GstFvTrack * t, const FvFaceIdMeta * m,
    const GstFvEventFrame * f)
{
  gboolean changed = !t->decided || t->known != m->known
      || t->label_id != m->label_id || g_strcmp0 (t->label, label_of (m));

  track_take (t, m, f);
  if (changed) {
    g_free (t->label);
    t->label = g_strdup (label_of (m));
    t->label_id = m->label_id;
    t->known = m->known;
  }
  return changed;
}

/* ISO 8601 UTC with milliseconds: 2024-05-01T12:34:56.789Z */
static void
add_utc (JsonBuilder * b, const gchar * name, gint64 us)
{
  time_t secs = (time_t) (us / G_USEC_PER_SEC);
  struct tm tm;
  gchar s[40];

  gmtime_r (&secs, &tm);
  g_snprintf (s, sizeof (s), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
      tm.tm_sec, (int) ((us % G_USEC_PER_SEC) / 1000));
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, s);
}

/* Nanoseconds as a number, or null when not valid. */
static void
add_time (JsonBuilder * b, const gchar * name, GstClockTime t)
{
  json_builder_set_member_name (b, name);
  if (GST_CLOCK_TIME_IS_VALID (t))
    json_builder_add_int_value (b, (gint64) t);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder * b, const gchar * name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

static void
add_double (JsonBuilder * b, const gchar * name, gdouble v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, v);
}

static void
add_string (JsonBuilder * b, const gchar * name, const gchar * v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, v);
}

static void
add_bool (JsonBuilder * b, const gchar * name, gboolean v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, v);
}

/* `quality` (null when not measured) and, when there is one, `reason`;
 * `quality_reason` is a field of its own, next to it, so that consumers
 * that compare `reason` with "low-quality" keep working. */
static void
add_quality (JsonBuilder * b, gdouble quality, const gchar * reason,
    const gchar * quality_reason)
{
  json_builder_set_member_name (b, "quality");
  if (quality >= 0.0)
    json_builder_add_double_value (b, quality);
  else
    json_builder_add_null_value (b);
  if (reason)
    add_string (b, "reason", reason);
  if (reason && quality_reason)
    add_string (b, "quality_reason", quality_reason);
}

/* "box": frame pixels and the same box normalised to the frame (0-1). */
static void
add_box (JsonBuilder * b, const GstFvEventFrame * f, guint x, guint y,
    guint w, guint h)
{
  gdouble fw = f->width ? f->width : 1, fh = f->height ? f->height : 1;

  json_builder_set_member_name (b, "box");
  json_builder_begin_object (b);
  add_int (b, "x", x);
  add_int (b, "y", y);
  add_int (b, "w", w);
  add_int (b, "h", h);
  add_double (b, "x_min", x / fw);
  add_double (b, "y_min", y / fh);
  add_double (b, "x_max", (x + w) / fw);
  add_double (b, "y_max", (y + h) / fh);
  json_builder_end_object (b);
}

static void
begin_event (JsonBuilder * b, const gchar * event, guint64 seq,
    const GstFvEventFrame * f)
{
  json_builder_begin_object (b);
  add_string (b, "schema", GST_FV_PUBLISH_SCHEMA);
  add_string (b, "event", event);
  add_int (b, "seq", (gint64) seq);
  add_string (b, "camera", f->camera);
  add_int (b, "frame", (gint64) f->frame);
  add_time (b, "pts", f->pts);
  add_time (b, "running_time", f->running_time);
  add_utc (b, "utc", f->utc_us);
  add_int (b, "width", f->width);
  add_int (b, "height", f->height);
}

static gchar *
finish (JsonBuilder * b)
{
  JsonNode *root;
  JsonGenerator *gen;
  gchar *s;

  json_builder_end_object (b);
  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  s = json_generator_to_data (gen, NULL);
  g_object_unref (gen);
  json_node_unref (root);
  g_object_unref (b);
  return s;
}

/* `appeared`, `identified` or `left`, as one line of JSON. */
gchar *
gst_fv_event_track (const gchar * event, guint64 seq,
    const GstFvEventFrame * f, const GstFvTrack * t, const gchar * crop)
{
  JsonBuilder *b = json_builder_new ();

  begin_event (b, event, seq, f);
  add_int (b, "track_id", t->track_id);
  add_string (b, "label", t->label);
  add_int (b, "label_id", t->label_id);
  add_bool (b, "known", t->known);
  add_double (b, "similarity", t->similarity);
  add_double (b, "margin", t->margin);
  add_quality (b, t->quality, t->reason, t->quality_reason);
  add_box (b, f, t->x, t->y, t->w, t->h);
  if (g_str_equal (event, "left")) {
    GstClockTime dwell = GST_CLOCK_TIME_NONE;

    if (GST_CLOCK_TIME_IS_VALID (t->first_rt)
        && GST_CLOCK_TIME_IS_VALID (t->last_rt))
      dwell = t->last_rt - t->first_rt;
    json_builder_set_member_name (b, "dwell_s");
    json_builder_add_double_value (b, GST_CLOCK_TIME_IS_VALID (dwell) ?
        (gdouble) dwell / GST_SECOND :
        (gdouble) (t->last_utc - t->first_utc) / G_USEC_PER_SEC);
    add_utc (b, "first_seen_utc", t->first_utc);
    add_utc (b, "last_seen_utc", t->last_utc);
    add_time (b, "first_seen_pts", t->first_pts);
    add_time (b, "last_seen_pts", t->last_pts);
    add_int (b, "frames", (gint64) t->n_frames);
    add_double (b, "best_similarity", t->best_similarity);
    add_string (b, "best_label", t->best_label);
  }
  if (crop) {
    add_string (b, "crop_format", "image/jpeg");
    add_string (b, "crop", crop);
  }
  return finish (b);
}

/* `frame`: every face on the buffer. */
gchar *
gst_fv_event_frame (guint64 seq, const GstFvEventFrame * f, GstBuffer * buf)
{
  JsonBuilder *b = json_builder_new ();
  gpointer state = NULL;
  FvFaceIdMeta *m;

  begin_event (b, "frame", seq, f);
  json_builder_set_member_name (b, "faces");
  json_builder_begin_array (b);
  while ((m = fv_buffer_iterate_face_id_meta (buf, &state))) {
    json_builder_begin_object (b);
    add_int (b, "track_id", m->track_id);
    add_string (b, "label", label_of (m));
    add_int (b, "label_id", m->label_id);
    add_bool (b, "known", m->known);
    add_double (b, "similarity", m->similarity);
    add_double (b, "margin", m->margin);
    add_quality (b, m->quality, m->reason, m->quality_reason);
    add_box (b, f, m->x, m->y, m->w, m->h);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  return finish (b);
}

static gint
by_track_id (gconstpointer a, gconstpointer b)
{
  const GstFvTrack *x = a, *y = b;

  return x->track_id < y->track_id ? -1 : x->track_id > y->track_id;
}

/* `presence`: who is in view now (retained on the broker). */
gchar *
gst_fv_event_presence (const GstFvEventFrame * f, GHashTable * tracks)
{
  JsonBuilder *b = json_builder_new ();
  GList *l, *list = g_list_sort (g_hash_table_get_values (tracks),
      by_track_id);

  json_builder_begin_object (b);
  add_string (b, "schema", GST_FV_PUBLISH_SCHEMA);
  add_string (b, "event", "presence");
  add_string (b, "camera", f->camera);
  add_utc (b, "utc", f->utc_us);
  json_builder_set_member_name (b, "faces");
  json_builder_begin_array (b);
  for (l = list; l; l = l->next) {
    const GstFvTrack *t = l->data;

    json_builder_begin_object (b);
    add_int (b, "track_id", t->track_id);
    add_string (b, "label", t->label);
    add_bool (b, "known", t->known);
    add_utc (b, "since_utc", t->first_utc);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  g_list_free (list);
  return finish (b);
}

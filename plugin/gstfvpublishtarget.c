/* gst-faceverify: faceverifypublish's `location` URIs
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfvpublisher.h"

#include <string.h>

/* Returns @location without its password, for logs and messages. An
 * unparsable location loses everything between "://" and the last '@'
 * before the path, so a password never leaks through a typo either. */
gchar *
gst_fv_publish_redact (const gchar * location)
{
  GUri *uri;
  const gchar *auth, *at, *end;

  if (location == NULL)
    return g_strdup ("(none)");
  uri = g_uri_parse (location, G_URI_FLAGS_HAS_PASSWORD |
      G_URI_FLAGS_PARSE_RELAXED | G_URI_FLAGS_ENCODED, NULL);
  if (uri) {
    gchar *s = g_uri_to_string_partial (uri, G_URI_HIDE_PASSWORD);
    g_uri_unref (uri);
    return s;
  }
  auth = strstr (location, "://");
  if (auth == NULL)
    return g_strdup (location);
  auth += 3;
  end = strchr (auth, '/');
  if (end == NULL)
    end = auth + strlen (auth);
  at = NULL;
  for (const gchar * c = auth; c < end; c++)
    if (*c == '@')
      at = c;
  if (at == NULL)
    return g_strdup (location);
  return g_strdup_printf ("%.*s***%s", (int) (auth - location), location, at);
}

static gboolean
parse_mqtt (const gchar * location, GstFvPublishTarget * t, GError ** error)
{
  g_autoptr (GError) err = NULL;
  GUri *uri = g_uri_parse (location, G_URI_FLAGS_HAS_PASSWORD |
      G_URI_FLAGS_PARSE_RELAXED, &err);
  const gchar *path;

  if (uri == NULL) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Cannot parse the location %s: %s", t->printable, err->message);
    return FALSE;
  }
  t->tls = g_str_equal (g_uri_get_scheme (uri), "mqtts");
  t->host = g_strdup (g_uri_get_host (uri));
  t->port = g_uri_get_port (uri);
  if (t->port <= 0)
    t->port = t->tls ? 8883 : 1883;
  t->user = g_strdup (g_uri_get_user (uri));
  t->password = g_strdup (g_uri_get_password (uri));
  path = g_uri_get_path (uri);
  while (path && *path == '/')
    path++;
  t->topic = g_strdup (path && *path ? path : GST_FV_PUBLISH_DEFAULT_TOPIC);
  g_uri_unref (uri);
  if (t->host == NULL || *t->host == '\0') {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "The location %s names no broker host", t->printable);
    return FALSE;
  }
  if (t->port > 65535) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "The location %s has an invalid port", t->printable);
    return FALSE;
  }
  if (strchr (t->topic, '+') || strchr (t->topic, '#')) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "The topic of %s may not hold the MQTT wildcards '+' or '#'",
        t->printable);
    return FALSE;
  }
  return TRUE;
}

/* Parses `location`: "stdout", "file:///path", "mqtt://[user[:password]@]
 * host[:port]/topic-template" or "mqtts://...". Errors are
 * GST_RESOURCE_ERROR_SETTINGS and name the redacted location. */
gboolean
gst_fv_publish_target_parse (const gchar * location,
    GstFvPublishTarget * t, GError ** error)
{
  g_autofree gchar *scheme = NULL;

  memset (t, 0, sizeof (*t));
  t->printable = gst_fv_publish_redact (location);
  if (location == NULL || *location == '\0') {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "No location set");
    return FALSE;
  }
  if (g_str_equal (location, "stdout")) {
    t->kind = GST_FV_DEST_STDOUT;
    return TRUE;
  }
  scheme = g_uri_parse_scheme (location);
  if (scheme == NULL) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Cannot parse the location %s: expected stdout, file:///path, "
        "mqtt://host[:port]/topic or mqtts://host[:port]/topic", t->printable);
    return FALSE;
  }
  if (g_str_equal (scheme, "file")) {
    g_autoptr (GError) err = NULL;
    t->kind = GST_FV_DEST_FILE;
    t->path = g_filename_from_uri (location, NULL, &err);
    if (t->path == NULL) {
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
          "Cannot parse the location %s: %s", t->printable, err->message);
      return FALSE;
    }
    return TRUE;
  }
  if (g_str_equal (scheme, "mqtt") || g_str_equal (scheme, "mqtts")) {
    t->kind = GST_FV_DEST_MQTT;
    return parse_mqtt (location, t, error);
  }
  g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "Unknown scheme '%s' in the location %s: expected stdout, file://, "
      "mqtt:// or mqtts://", scheme, t->printable);
  return FALSE;
}

void
gst_fv_publish_target_clear (GstFvPublishTarget * t)
{
  g_free (t->path);
  g_free (t->host);
  g_free (t->user);
  if (t->password)
    memset (t->password, 0, strlen (t->password));
  g_free (t->password);
  g_free (t->topic);
  g_free (t->printable);
  memset (t, 0, sizeof (*t));
}

/* MQTT topic levels may not hold wildcards, and a label should not add
 * levels: those characters become '_'. */
static void
append_topic_field (GString * s, const gchar * v)
{
  for (; v && *v; v++)
    g_string_append_c (s, (*v == '/' || *v == '+' || *v == '#') ? '_' : *v);
}

/* Expands {camera}, {event} and {label}; other text is copied. */
gchar *
gst_fv_publish_expand_topic (const gchar * tmpl, const gchar * camera,
    const gchar * event, const gchar * label)
{
  GString *s = g_string_sized_new (64);

  while (*tmpl) {
    if (g_str_has_prefix (tmpl, "{camera}")) {
      append_topic_field (s, camera);
      tmpl += strlen ("{camera}");
    } else if (g_str_has_prefix (tmpl, "{event}")) {
      append_topic_field (s, event);
      tmpl += strlen ("{event}");
    } else if (g_str_has_prefix (tmpl, "{label}")) {
      append_topic_field (s, label ? label : "none");
      tmpl += strlen ("{label}");
    } else {
      g_string_append_c (s, *tmpl++);
    }
  }
  return g_string_free (s, FALSE);
}

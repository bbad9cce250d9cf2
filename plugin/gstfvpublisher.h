/* gst-faceverify: where faceverifypublish sends its events
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_PUBLISHER_H
#define GST_FV_PUBLISHER_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* Topic template of an mqtt:// location without a path. */
#define GST_FV_PUBLISH_DEFAULT_TOPIC "faceverify/{camera}/{event}"

typedef enum
{
  GST_FV_DEST_STDOUT,
  GST_FV_DEST_FILE,
  GST_FV_DEST_MQTT,
} GstFvDestKind;

/* A parsed `location`. @printable is the location with any password
 * removed: the only form of it that may appear in a log or a message. */
typedef struct
{
  GstFvDestKind kind;
  gchar *path;                  /* file:// */
  gboolean tls;                 /* mqtts:// */
  gchar *host;
  gint port;
  gchar *user;
  gchar *password;
  gchar *topic;                 /* template: {camera}, {event}, {label} */
  gchar *printable;
} GstFvPublishTarget;

gboolean gst_fv_publish_target_parse (const gchar * location,
    GstFvPublishTarget * target, GError ** error);
void gst_fv_publish_target_clear (GstFvPublishTarget * target);
gchar *gst_fv_publish_redact (const gchar * location);
gchar *gst_fv_publish_expand_topic (const gchar * tmpl, const gchar * camera,
    const gchar * event, const gchar * label);

/* Settings read at start. */
typedef struct
{
  guint qos;
  const gchar *client_id;       /* NULL: libmosquitto makes one up */
  guint keepalive;              /* seconds */
  const gchar *ca_file;
  const gchar *cert_file;
  const gchar *key_file;
  guint max_queue;              /* events waiting for the destination */
  guint flush_timeout_ms;       /* time given to the queue at stop */
} GstFvPublisherSettings;

/* A destination with its own thread behind a bounded queue. The streaming
 * thread only appends to the queue; when it is full the oldest event is
 * dropped (counted, and one WARNING until the queue has room again). */
typedef struct _GstFvPublisher GstFvPublisher;

GstFvPublisher *gst_fv_publisher_new (GstElement * owner,
    const GstFvPublishTarget * target,
    const GstFvPublisherSettings * settings, GError ** error);
void gst_fv_publisher_push (GstFvPublisher * pub, gchar * topic,
    gchar * payload);
void gst_fv_publisher_set_presence (GstFvPublisher * pub, gchar * topic,
    gchar * payload);
GstStructure *gst_fv_publisher_get_stats (GstFvPublisher * pub);
void gst_fv_publisher_free (GstFvPublisher * pub);

G_END_DECLS

#endif /* GST_FV_PUBLISHER_H */

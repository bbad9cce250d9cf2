/* gst-faceverify: faceverifypublish's queue, thread and destinations
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

#include <errno.h>
#include <glib-unix.h>
#include <mosquitto.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_EXTERN (gst_face_verify_publish_debug);
#define GST_CAT_DEFAULT gst_face_verify_publish_debug

/* Events handed to libmosquitto and not yet acknowledged (QoS >= 1); the
 * rest wait in our own bounded queue, so that they are counted. */
#define MAX_IN_FLIGHT 100
#define BACKOFF_FIRST_US (100 * G_TIME_SPAN_MILLISECOND)
#define BACKOFF_MAX_US (5 * G_TIME_SPAN_SECOND)
/* A connection that has not been accepted after this long is retried. */
#define CONNECT_TIMEOUT_US (10 * G_TIME_SPAN_SECOND)

typedef struct
{
  gchar *topic;
  gchar *payload;
} Msg;

struct _GstFvPublisher
{
  GstElement *owner;            /* not a reference: it owns us */
  GstFvPublishTarget target;    /* a copy (with the password) */
  guint qos;
  guint keepalive;
  guint max_queue;
  gint64 flush_us;

  GThread *thread;
  GMutex lock;
  GCond cond;
  GQueue queue;                 /* of Msg; at most max_queue */
  Msg presence;                 /* the latest, if not yet sent */
  gboolean stopping;
  gint64 stop_deadline;
  gint wake[2];                 /* pipe: new events for the MQTT thread */

  /* counters, under lock */
  guint64 n_pushed, n_sent, n_dropped, n_errors;
  guint n_outages, n_connects;
  gboolean connected;
  gboolean drop_warned;

  /* file and stdout */
  FILE *file;

  /* MQTT: only the thread touches these */
  struct mosquitto *mosq;
  guint in_flight;
  gboolean in_outage;
  gboolean attempted;
  gint64 next_try, attempt_start, backoff;
  GHashTable *presence_mids;    /* ids of presence messages in flight */
  gboolean publishing_presence;
};

static void
msg_clear (Msg * m)
{
  g_clear_pointer (&m->topic, g_free);
  g_clear_pointer (&m->payload, g_free);
}

static void
msg_free (Msg * m)
{
  msg_clear (m);
  g_free (m);
}

static void
wake_thread (GstFvPublisher * pub)
{
  if (pub->wake[1] >= 0) {
    G_GNUC_UNUSED ssize_t r = write (pub->wake[1], "x", 1);
  }
}

/* Takes ownership of @topic and @payload. Never blocks on the destination:
 * a full queue loses its oldest event. */
void
gst_fv_publisher_push (GstFvPublisher * pub, gchar * topic, gchar * payload)
{
  Msg *m = g_new (Msg, 1);
  gboolean warn = FALSE, was_empty;
  guint64 dropped;

  m->topic = topic;
  m->payload = payload;
  g_mutex_lock (&pub->lock);
  pub->n_pushed++;
  if (pub->queue.length >= pub->max_queue) {
    msg_free (g_queue_pop_head (&pub->queue));
    pub->n_dropped++;
    warn = !pub->drop_warned;
    pub->drop_warned = TRUE;
  }
  dropped = pub->n_dropped;
  was_empty = pub->queue.length == 0;
  g_queue_push_tail (&pub->queue, m);
  g_cond_signal (&pub->cond);
  g_mutex_unlock (&pub->lock);
  if (was_empty)
    wake_thread (pub);
  if (warn)
    GST_ELEMENT_WARNING (pub->owner, RESOURCE, WRITE,
        ("The event queue of %u is full: dropping the oldest events",
            pub->max_queue),
        ("destination %s; %" G_GUINT64_FORMAT " dropped so far; see the "
            "stats property for the count", pub->target.printable, dropped));
}

/* The retained presence message: only the latest one is kept. */
void
gst_fv_publisher_set_presence (GstFvPublisher * pub, gchar * topic,
    gchar * payload)
{
  g_mutex_lock (&pub->lock);
  msg_clear (&pub->presence);
  pub->presence.topic = topic;
  pub->presence.payload = payload;
  g_mutex_unlock (&pub->lock);
  wake_thread (pub);
}

GstStructure *
gst_fv_publisher_get_stats (GstFvPublisher * pub)
{
  GstStructure *s;

  g_mutex_lock (&pub->lock);
  s = gst_structure_new ("faceverifypublish-stats",
      "events", G_TYPE_UINT64, pub->n_pushed,
      "sent", G_TYPE_UINT64, pub->n_sent,
      "dropped", G_TYPE_UINT64, pub->n_dropped,
      "queued", G_TYPE_UINT, pub->queue.length,
      "write-errors", G_TYPE_UINT64, pub->n_errors,
      "connected", G_TYPE_BOOLEAN, pub->connected,
      "connects", G_TYPE_UINT, pub->n_connects,
      "outages", G_TYPE_UINT, pub->n_outages, NULL);
  g_mutex_unlock (&pub->lock);
  return s;
}

/* --- file and stdout ------------------------------------------------------ */

static gboolean
file_write (GstFvPublisher * pub, Msg * m)
{
  if (fputs (m->payload, pub->file) < 0 || fputc ('\n', pub->file) < 0)
    return FALSE;
  return TRUE;
}

static gpointer
file_thread (gpointer data)
{
  GstFvPublisher *pub = data;
  gboolean warned = FALSE;

  g_mutex_lock (&pub->lock);
  for (;;) {
    Msg *m = g_queue_pop_head (&pub->queue);
    gboolean ok;

    if (m == NULL) {
      if (pub->stopping)
        break;
      g_cond_wait (&pub->cond, &pub->lock);
      continue;
    }
    g_mutex_unlock (&pub->lock);
    ok = file_write (pub, m);
    if (pub->queue.length == 0 && fflush (pub->file) != 0)
      ok = FALSE;
    msg_free (m);
    if (!ok && !warned) {
      GST_ELEMENT_WARNING (pub->owner, RESOURCE, WRITE,
          ("Cannot write events to %s", pub->target.printable),
          ("%s", g_strerror (errno)));
      warned = TRUE;
    }
    g_mutex_lock (&pub->lock);
    if (ok)
      pub->n_sent++;
    else
      pub->n_errors++;
  }
  g_mutex_unlock (&pub->lock);
  fflush (pub->file);
  return NULL;
}

/* --- MQTT ----------------------------------------------------------------- */

/* TRUE when this failure starts an outage (counted once): the caller then
 * posts the outage's one WARNING */
static gboolean
outage_begins (GstFvPublisher * pub)
{
  if (pub->in_outage)
    return FALSE;
  pub->in_outage = TRUE;
  g_mutex_lock (&pub->lock);
  pub->n_outages++;
  g_mutex_unlock (&pub->lock);
  return TRUE;
}

static void
on_connect (struct mosquitto *mosq, void *data, int rc)
{
  GstFvPublisher *pub = data;

  if (rc != 0) {
    GST_DEBUG_OBJECT (pub->owner, "broker refused: %s",
        mosquitto_connack_string (rc));
    if (outage_begins (pub))
      GST_ELEMENT_WARNING (pub->owner, RESOURCE, OPEN_WRITE,
          ("The MQTT broker at %s refused the connection: %s",
              pub->target.printable, mosquitto_connack_string (rc)),
          ("events are queued and the connection is retried"));
    return;
  }
  GST_INFO_OBJECT (pub->owner, "connected to %s", pub->target.printable);
  pub->in_outage = FALSE;
  pub->backoff = BACKOFF_FIRST_US;
  g_mutex_lock (&pub->lock);
  pub->connected = TRUE;
  pub->n_connects++;
  pub->drop_warned = FALSE;
  g_mutex_unlock (&pub->lock);
}

static void
on_publish (struct mosquitto *mosq, void *data, int mid)
{
  GstFvPublisher *pub = data;

  /* presence is retained state, not an event: not counted (QoS 0 reports
   * it from within mosquitto_publish, before its id is known) */
  if (pub->publishing_presence
      || g_hash_table_remove (pub->presence_mids, GINT_TO_POINTER (mid)))
    return;
  if (pub->qos > 0 && pub->in_flight > 0)
    pub->in_flight--;
  g_mutex_lock (&pub->lock);
  pub->n_sent++;
  g_mutex_unlock (&pub->lock);
}

/* The connection failed or was lost: one WARNING per outage, then retry
 * with a doubling delay. Unacknowledged events stay in libmosquitto and
 * are sent again, in order, after reconnection. */
static void
mqtt_lost (GstFvPublisher * pub, int rc)
{
  gint64 now = g_get_monotonic_time ();
  const gchar *why = rc == MOSQ_ERR_ERRNO ? g_strerror (errno) :
      mosquitto_strerror (rc);

  GST_DEBUG_OBJECT (pub->owner, "connection to %s: %s", pub->target.printable,
      why);
  g_mutex_lock (&pub->lock);
  pub->connected = FALSE;
  g_mutex_unlock (&pub->lock);
  if (outage_begins (pub))
    GST_ELEMENT_WARNING (pub->owner, RESOURCE, OPEN_WRITE,
        ("Cannot reach the MQTT broker at %s; events are queued (up to %u) "
            "and sent when it is back", pub->target.printable,
            pub->max_queue), ("%s", why));
  pub->next_try = now + pub->backoff;
  pub->backoff = MIN (pub->backoff * 2, BACKOFF_MAX_US);
  pub->attempt_start = 0;
}

static void
mqtt_try_connect (GstFvPublisher * pub)
{
  int rc;

  pub->attempt_start = g_get_monotonic_time ();
  if (!pub->attempted) {
    pub->attempted = TRUE;
    rc = mosquitto_connect_async (pub->mosq, pub->target.host,
        pub->target.port, pub->keepalive);
  } else {
    rc = mosquitto_reconnect_async (pub->mosq);
  }
  if (rc != MOSQ_ERR_SUCCESS)
    mqtt_lost (pub, rc);
}

/* Hands queued events to libmosquitto while connected. */
static void
mqtt_send_queued (GstFvPublisher * pub)
{
  Msg pres = { NULL, NULL };

  g_mutex_lock (&pub->lock);
  if (!pub->connected) {
    g_mutex_unlock (&pub->lock);
    return;
  }
  if (pub->presence.topic) {
    pres = pub->presence;
    pub->presence.topic = pub->presence.payload = NULL;
  }
  g_mutex_unlock (&pub->lock);
  if (pres.topic) {
    int mid = 0;

    pub->publishing_presence = TRUE;
    if (mosquitto_publish (pub->mosq, &mid, pres.topic, strlen (pres.payload),
            pres.payload, pub->qos, true) == MOSQ_ERR_SUCCESS && pub->qos > 0)
      g_hash_table_add (pub->presence_mids, GINT_TO_POINTER (mid));
    pub->publishing_presence = FALSE;
    msg_clear (&pres);
  }

  while (pub->qos == 0 || pub->in_flight < MAX_IN_FLIGHT) {
    Msg *m;
    int rc;

    g_mutex_lock (&pub->lock);
    m = g_queue_pop_head (&pub->queue);
    g_mutex_unlock (&pub->lock);
    if (m == NULL)
      break;
    rc = mosquitto_publish (pub->mosq, NULL, m->topic, strlen (m->payload),
        m->payload, pub->qos, false);
    if (rc == MOSQ_ERR_SUCCESS && pub->qos > 0)
      pub->in_flight++;
    else if (rc != MOSQ_ERR_SUCCESS) {
      g_mutex_lock (&pub->lock);
      pub->n_errors++;
      g_mutex_unlock (&pub->lock);
    }
    msg_free (m);
  }
}

/* At stop: done when everything was acknowledged and written, or when
 * flush-timeout has passed. */
static gboolean
mqtt_done (GstFvPublisher * pub)
{
  gboolean done;

  g_mutex_lock (&pub->lock);
  done = pub->stopping && (g_get_monotonic_time () >= pub->stop_deadline
      || (pub->queue.length == 0 && pub->presence.topic == NULL
          && pub->in_flight == 0 && (!pub->connected
              || !mosquitto_want_write (pub->mosq))));
  g_mutex_unlock (&pub->lock);
  return done;
}

/* One round: connect if due, send, wait for the socket or new events. */
static void
mqtt_step (GstFvPublisher * pub)
{
  GPollFD fds[2];
  gint n = 1, sock, timeout_ms = 1000;
  gint64 now = g_get_monotonic_time ();
  gchar drain[64];
  int rc = MOSQ_ERR_SUCCESS;

  if (pub->attempt_start == 0 && now >= pub->next_try)
    mqtt_try_connect (pub);
  else if (pub->attempt_start && !pub->connected
      && now - pub->attempt_start > CONNECT_TIMEOUT_US) {
    mosquitto_disconnect (pub->mosq);
    mqtt_lost (pub, MOSQ_ERR_TIMEOUT);
  }
  mqtt_send_queued (pub);

  fds[0].fd = pub->wake[0];
  fds[0].events = G_IO_IN;
  sock = pub->attempt_start ? mosquitto_socket (pub->mosq) : -1;
  if (sock >= 0) {
    fds[1].fd = sock;
    fds[1].events = G_IO_IN | (mosquitto_want_write (pub->mosq) ? G_IO_OUT : 0);
    n = 2;
  }
  if (pub->attempt_start == 0)
    timeout_ms = CLAMP ((pub->next_try - now) / 1000, 1, 1000);
  if (pub->stopping)
    timeout_ms = MIN (timeout_ms, 50);
  fds[0].revents = fds[1].revents = 0;
  g_poll (fds, n, timeout_ms);
  if (fds[0].revents & G_IO_IN) {
    G_GNUC_UNUSED ssize_t r = read (pub->wake[0], drain, sizeof (drain));
  }
  if (sock < 0)
    return;
  if (fds[1].revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    rc = mosquitto_loop_read (pub->mosq, 1);
  if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write (pub->mosq))
    rc = mosquitto_loop_write (pub->mosq, 1);
  if (rc == MOSQ_ERR_SUCCESS)
    rc = mosquitto_loop_misc (pub->mosq);
  if (rc != MOSQ_ERR_SUCCESS && pub->attempt_start)
    mqtt_lost (pub, rc);
}

static gpointer
mqtt_thread (gpointer data)
{
  GstFvPublisher *pub = data;

  while (!mqtt_done (pub))
    mqtt_step (pub);
  if (pub->connected) {
    mosquitto_disconnect (pub->mosq);
    mosquitto_loop_write (pub->mosq, 1);
  }
  return NULL;
}

static gboolean
mqtt_setup (GstFvPublisher * pub, const GstFvPublisherSettings * s,
    GError ** error)
{
  struct addrinfo hints = { 0 }, *res = NULL;
  int rc;

  /* a host name that does not resolve is an error now, not an outage */
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo (pub->target.host, NULL, &hints, &res);
  if (rc != 0) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "Cannot resolve the broker host of %s: %s", pub->target.printable,
        gai_strerror (rc));
    return FALSE;
  }
  freeaddrinfo (res);

  pub->mosq = mosquitto_new (s->client_id, TRUE, pub);
  if (pub->mosq == NULL) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Cannot create an MQTT client for %s: %s", pub->target.printable,
        g_strerror (errno));
    return FALSE;
  }
  mosquitto_connect_callback_set (pub->mosq, on_connect);
  mosquitto_publish_callback_set (pub->mosq, on_publish);
  if (pub->target.user
      && mosquitto_username_pw_set (pub->mosq, pub->target.user,
          pub->target.password) != MOSQ_ERR_SUCCESS) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Invalid user name or password in %s", pub->target.printable);
    return FALSE;
  }
  if (pub->target.tls) {
    rc = mosquitto_tls_set (pub->mosq, s->ca_file, s->ca_file ? NULL :
        "/etc/ssl/certs", s->cert_file, s->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
          "Cannot use the TLS files for %s (ca-file, cert-file, key-file): "
          "%s", pub->target.printable, mosquitto_strerror (rc));
      return FALSE;
    }
  }
  if (!g_unix_open_pipe (pub->wake, FD_CLOEXEC, error))
    return FALSE;
  g_unix_set_fd_nonblocking (pub->wake[0], TRUE, NULL);
  g_unix_set_fd_nonblocking (pub->wake[1], TRUE, NULL);
  pub->backoff = BACKOFF_FIRST_US;
  pub->presence_mids = g_hash_table_new (NULL, NULL);
  return TRUE;
}

/* --- life ----------------------------------------------------------------- */

GstFvPublisher *
gst_fv_publisher_new (GstElement * owner, const GstFvPublishTarget * target,
    const GstFvPublisherSettings * s, GError ** error)
{
  GstFvPublisher *pub = g_new0 (GstFvPublisher, 1);
  GThreadFunc func = file_thread;

  pub->owner = owner;
  pub->target = *target;
  pub->target.path = g_strdup (target->path);
  pub->target.host = g_strdup (target->host);
  pub->target.user = g_strdup (target->user);
  pub->target.password = g_strdup (target->password);
  pub->target.topic = g_strdup (target->topic);
  pub->target.printable = g_strdup (target->printable);
  pub->qos = s->qos;
  pub->keepalive = MAX (s->keepalive, 5);
  pub->max_queue = MAX (s->max_queue, 1);
  pub->flush_us = (gint64) s->flush_timeout_ms * G_TIME_SPAN_MILLISECOND;
  pub->wake[0] = pub->wake[1] = -1;
  g_mutex_init (&pub->lock);
  g_cond_init (&pub->cond);
  g_queue_init (&pub->queue);

  switch (target->kind) {
    case GST_FV_DEST_STDOUT:
      pub->file = stdout;
      break;
    case GST_FV_DEST_FILE:
      pub->file = fopen (target->path, "a");
      if (pub->file == NULL) {
        g_set_error (error, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_OPEN_WRITE, "Cannot open %s for appending: %s",
            target->printable, g_strerror (errno));
        gst_fv_publisher_free (pub);
        return NULL;
      }
      break;
    case GST_FV_DEST_MQTT:
      func = mqtt_thread;
      if (!mqtt_setup (pub, s, error)) {
        gst_fv_publisher_free (pub);
        return NULL;
      }
      break;
  }
  pub->thread = g_thread_new ("fvpublish", func, pub);
  return pub;
}

/* Gives the queue up to flush-timeout to reach the destination, then
 * stops the thread and frees everything. */
void
gst_fv_publisher_free (GstFvPublisher * pub)
{
  if (pub == NULL)
    return;
  g_mutex_lock (&pub->lock);
  pub->stopping = TRUE;
  pub->stop_deadline = g_get_monotonic_time () + pub->flush_us;
  g_cond_signal (&pub->cond);
  g_mutex_unlock (&pub->lock);
  wake_thread (pub);
  if (pub->thread)
    g_thread_join (pub->thread);
  if (pub->queue.length)
    GST_INFO_OBJECT (pub->owner, "%u events not delivered at stop",
        pub->queue.length);
  g_queue_clear_full (&pub->queue, (GDestroyNotify) msg_free);
  msg_clear (&pub->presence);
  if (pub->file && pub->file != stdout)
    fclose (pub->file);
  if (pub->mosq)
    mosquitto_destroy (pub->mosq);
  g_clear_pointer (&pub->presence_mids, g_hash_table_unref);
  if (pub->wake[0] >= 0)
    close (pub->wake[0]);
  if (pub->wake[1] >= 0)
    close (pub->wake[1]);
  gst_fv_publish_target_clear (&pub->target);
  g_mutex_clear (&pub->lock);
  g_cond_clear (&pub->cond);
  g_free (pub);
}

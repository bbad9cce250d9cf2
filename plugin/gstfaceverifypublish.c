/* gst-faceverify: the faceverifypublish element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-faceverifypublish
 * @title: faceverifypublish
 *
 * Turns the face identities of `faceverify` into JSON events per face
 * track and sends them to a file, stdout or an MQTT broker, without ever
 * holding up the video.
 *
 * The element is a pass-through: buffers leave it unchanged. It reads the
 * #FvFaceIdMeta of every buffer (so it may follow `videoscale`) and
 * follows each `track_id`:
 *
 * - `appeared`: a new track;
 * - `identified`: the track's decision (label, label id, known) is reached
 *   or changes; with #GstFaceVerifyPublish:attach-crop the 112x112 face as
 *   a base64 JPEG;
 * - `left`: the track was not seen for #GstFaceVerifyPublish:left-after
 *   frames, or the stream ended (dwell time, first and last seen, best
 *   similarity, final label);
 * - `frame`: every #GstFaceVerifyPublish:frame-interval frames, all faces.
 *
 * A face is described by `track_id`, `label`, `label_id`, `known`,
 * `similarity`, `margin`, `quality` and `box`; a face that `faceverify`
 * left unknown because of its crop (below its `min-quality`) also has
 * `reason` "low-quality" and, next to it, `quality_reason`: what is wrong
 * with the crop ("blurred", "too small", "turned", "dark", "bright", "low
 * contrast", "cut by the frame edge"; the #FvFaceIdMeta's
 * `quality_reason`).
 *
 * Each event is one JSON object whose `schema` field is
 * "gst-faceverify/event/1". Events go to #GstFaceVerifyPublish:location:
 * `stdout`, `file:///path/events.jsonl` (appended, one object per line) or
 * `mqtt://[user[:password]@]host[:port]/topic-template` (`mqtts://` for
 * TLS); the topic template may hold `{camera}`, `{event}` and `{label}`.
 * On MQTT a retained `presence` message per camera (topic with `{event}`
 * = "presence") says who is in view now.
 *
 * A thread of its own sends the events from a bounded queue: when the
 * destination is slow or down, frames keep flowing; when the queue is
 * full the oldest event is dropped and counted (#GstFaceVerifyPublish:stats)
 * with one WARNING. A lost broker gives one WARNING per outage and is
 * reconnected with a doubling delay (0.1 s to 5 s); with
 * #GstFaceVerifyPublish:mqtt-qos 1 or 2 the events queued meanwhile are
 * delivered, in order, when it is back. Passwords never appear in logs or
 * messages.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! mtcnnfacedetect ! \
 *     faceverify gallery-file=team.db ! \
 *     faceverifypublish camera=door location=mqtt://127.0.0.1/cameras/{camera}/{event} ! \
 *     fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstfaceverifypublish.h"
#include "gstfaceverifyelements.h"
#include "gstfaceverifymeta.h"
#include "gstfvcommon.h"
#include "gstfvpublishcrop.h"
#include "gstfvpublishevents.h"
#include "gstfvpublisher.h"

#include <gst/video/video.h>
#include <mosquitto.h>

GST_DEBUG_CATEGORY (gst_face_verify_publish_debug);
#define GST_CAT_DEFAULT gst_face_verify_publish_debug

#define DEFAULT_LOCATION "stdout"
#define DEFAULT_FRAME_INTERVAL 0
#define DEFAULT_ATTACH_CROP FALSE
#define DEFAULT_LEFT_AFTER 10
#define DEFAULT_MQTT_QOS 1
#define DEFAULT_KEEPALIVE 30
#define DEFAULT_MAX_QUEUE 1000
#define DEFAULT_FLUSH_TIMEOUT 2000

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_CAMERA,
  PROP_FRAME_INTERVAL,
  PROP_ATTACH_CROP,
  PROP_LEFT_AFTER,
  PROP_MQTT_QOS,
  PROP_CLIENT_ID,
  PROP_KEEPALIVE,
  PROP_CA_FILE,
  PROP_CERT_FILE,
  PROP_KEY_FILE,
  PROP_MAX_QUEUE,
  PROP_FLUSH_TIMEOUT,
  PROP_STATS,
};

struct _GstFaceVerifyPublish
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *location;
  gchar *camera;
  guint frame_interval;
  gboolean attach_crop;
  guint left_after;
  guint mqtt_qos;
  gchar *client_id;
  guint keepalive;
  gchar *ca_file;
  gchar *cert_file;
  gchar *key_file;
  guint max_queue;
  guint flush_timeout;

  /* between start and stop */
  GstFvPublisher *pub;
  gchar *topic;                 /* template; NULL unless MQTT */
  gchar *camera_name;
  GHashTable *tracks;           /* track id -> GstFvTrack */
  guint64 seq;
  guint64 frame;
  GstFvEventFrame last;         /* context of the last frame */
  FvAligner *aligner;

  /* caps */
  GstVideoInfo info;
  GstFvPixelPath path;
  gboolean have_path;
  gboolean crop_warned;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw"));

G_DEFINE_TYPE (GstFaceVerifyPublish, gst_face_verify_publish,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (faceverifypublish, "faceverifypublish",
    GST_RANK_NONE, GST_TYPE_FACE_VERIFY_PUBLISH);

/* --- events --------------------------------------------------------------- */

static void
emit (GstFaceVerifyPublish * self, const gchar * event, gchar * payload,
    const gchar * label)
{
  gchar *topic = NULL;

  if (self->topic)
    topic = gst_fv_publish_expand_topic (self->topic, self->camera_name,
        event, label);
  gst_fv_publisher_push (self->pub, topic, payload);
}

static void
emit_track (GstFaceVerifyPublish * self, const gchar * event,
    const GstFvEventFrame * f, const GstFvTrack * t, const gchar * crop)
{
  emit (self, event, gst_fv_event_track (event, ++self->seq, f, t, crop),
      t->label);
}

static void
publish_presence (GstFaceVerifyPublish * self, const GstFvEventFrame * f)
{
  if (self->topic == NULL)
    return;
  gst_fv_publisher_set_presence (self->pub,
      gst_fv_publish_expand_topic (self->topic, self->camera_name,
          "presence", NULL), gst_fv_event_presence (f, self->tracks));
}

/* Every track still open leaves (end of stream, stop). */
static void
leave_all (GstFaceVerifyPublish * self)
{
  GHashTableIter it;
  gpointer value;

  if (self->tracks == NULL || g_hash_table_size (self->tracks) == 0)
    return;
  self->last.utc_us = g_get_real_time ();
  g_hash_table_iter_init (&it, self->tracks);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    emit_track (self, "left", &self->last, value, NULL);
    g_hash_table_iter_remove (&it);
  }
  publish_presence (self, &self->last);
}

static gchar *
crop_for (GstFaceVerifyPublish * self, GstBuffer * buf, const FvFaceIdMeta * m)
{
  gchar *crop = NULL;

  if (self->have_path)
    crop = gst_fv_publish_crop_jpeg (self->aligner, &self->path, &self->info,
        buf, m);
  if (crop == NULL && !self->crop_warned) {
    self->crop_warned = TRUE;
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Cannot cut face crops from %s frames; events go without them",
            gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&self->info))),
        (NULL));
  }
  return crop;
}

static void
frame_context (GstFaceVerifyPublish * self, GstBuffer * buf,
    GstFvEventFrame * f)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);

  f->camera = self->camera_name;
  f->frame = self->frame;
  f->pts = GST_BUFFER_PTS (buf);
  f->running_time = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID (f->pts)
      && trans->segment.format == GST_FORMAT_TIME)
    f->running_time = gst_segment_to_running_time (&trans->segment,
        GST_FORMAT_TIME, f->pts);
  f->utc_us = g_get_real_time ();
  f->width = GST_VIDEO_INFO_WIDTH (&self->info);
  f->height = GST_VIDEO_INFO_HEIGHT (&self->info);
}

/* Tracks not seen for more than left-after frames leave. */
static gboolean
expire_tracks (GstFaceVerifyPublish * self, const GstFvEventFrame * f,
    guint left_after)
{
  GHashTableIter it;
  gpointer value;
  gboolean changed = FALSE;

  g_hash_table_iter_init (&it, self->tracks);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    GstFvTrack *t = value;

    if (f->frame - t->last_frame > left_after) {
      emit_track (self, "left", f, t, NULL);
      g_hash_table_iter_remove (&it);
      changed = TRUE;
    }
  }
  return changed;
}

static GstFlowReturn
gst_face_verify_publish_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (trans);
  GstFvEventFrame f;
  gpointer state = NULL;
  FvFaceIdMeta *m;
  gboolean changed = FALSE, attach_crop;
  guint left_after, frame_interval;

  GST_OBJECT_LOCK (self);
  attach_crop = self->attach_crop;
  left_after = self->left_after;
  frame_interval = self->frame_interval;
  GST_OBJECT_UNLOCK (self);

  frame_context (self, buf, &f);
  while ((m = fv_buffer_iterate_face_id_meta (buf, &state))) {
    GstFvTrack *t;

    if (m->track_id == 0)
      continue;
    t = g_hash_table_lookup (self->tracks, GUINT_TO_POINTER (m->track_id));
    if (t == NULL) {
      t = gst_fv_track_new (m, &f);
      g_hash_table_insert (self->tracks, GUINT_TO_POINTER (m->track_id), t);
      gst_fv_track_update (t, m, &f);
      emit_track (self, "appeared", &f, t, NULL);
      t->decided = FALSE;
    }
    if (gst_fv_track_update (t, m, &f)) {
      g_autofree gchar *crop = attach_crop ? crop_for (self, buf, m) : NULL;

      t->decided = TRUE;
      emit_track (self, "identified", &f, t, crop);
      changed = TRUE;
    }
  }
  changed |= expire_tracks (self, &f, left_after);
  if (frame_interval > 0 && f.frame % frame_interval == 0)
    emit (self, "frame", gst_fv_event_frame (++self->seq, &f, buf), NULL);
  if (changed)
    publish_presence (self, &f);
  self->last = f;
  self->frame++;
  return GST_FLOW_OK;
}

static gboolean
gst_face_verify_publish_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->pub)
    leave_all (self);
  return GST_BASE_TRANSFORM_CLASS (gst_face_verify_publish_parent_class)
      ->sink_event (trans, event);
}

static gboolean
gst_face_verify_publish_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (trans);

  if (!gst_video_info_from_caps (&self->info, incaps))
    return FALSE;
  self->have_path = gst_fv_pixel_path_init (&self->path, &self->info);
  return TRUE;
}

/* --- start and stop ------------------------------------------------------- */

static void
post_error (GstFaceVerifyPublish * self, GError * err)
{
  switch (err->code) {
    case GST_RESOURCE_ERROR_NOT_FOUND:
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", err->message),
          (NULL));
      break;
    case GST_RESOURCE_ERROR_OPEN_WRITE:
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("%s", err->message),
          (NULL));
      break;
    default:
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", err->message),
          (NULL));
      break;
  }
}

static gboolean
gst_face_verify_publish_start (GstBaseTransform * trans)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (trans);
  GstFvPublishTarget target;
  GstFvPublisherSettings s;
  g_autoptr (GError) err = NULL;
  g_autofree gchar *location = NULL, *client_id = NULL, *ca_file = NULL;
  g_autofree gchar *cert_file = NULL, *key_file = NULL;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  s.qos = self->mqtt_qos;
  s.client_id = client_id = g_strdup (self->client_id);
  s.keepalive = self->keepalive;
  s.ca_file = ca_file = g_strdup (self->ca_file);
  s.cert_file = cert_file = g_strdup (self->cert_file);
  s.key_file = key_file = g_strdup (self->key_file);
  s.max_queue = self->max_queue;
  s.flush_timeout_ms = self->flush_timeout;
  self->camera_name = g_strdup (self->camera ? self->camera :
      GST_OBJECT_NAME (self));
  GST_OBJECT_UNLOCK (self);

  if (!gst_fv_publish_target_parse (location, &target, &err)
      || !(self->pub = gst_fv_publisher_new (GST_ELEMENT (self), &target, &s,
              &err))) {
    post_error (self, err);
    gst_fv_publish_target_clear (&target);
    g_clear_pointer (&self->camera_name, g_free);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "publishing to %s", target.printable);
  if (target.kind == GST_FV_DEST_MQTT)
    self->topic = g_strdup (target.topic);
  gst_fv_publish_target_clear (&target);
  self->tracks = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) gst_fv_track_free);
  self->aligner = fv_aligner_new ();
  self->seq = 0;
  self->frame = 0;
  self->crop_warned = FALSE;
  memset (&self->last, 0, sizeof (self->last));
  self->last.camera = self->camera_name;
  self->last.pts = self->last.running_time = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static gboolean
gst_face_verify_publish_stop (GstBaseTransform * trans)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (trans);
  GstFvPublisher *pub;

  leave_all (self);
  GST_OBJECT_LOCK (self);
  pub = self->pub;
  self->pub = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_fv_publisher_free (pub);
  g_clear_pointer (&self->tracks, g_hash_table_unref);
  g_clear_pointer (&self->aligner, fv_aligner_free);
  g_clear_pointer (&self->topic, g_free);
  g_clear_pointer (&self->camera_name, g_free);
  return TRUE;
}

/* --- properties ----------------------------------------------------------- */

static void
set_string (GstFaceVerifyPublish * self, gchar ** field, const GValue * value)
{
  GST_OBJECT_LOCK (self);
  g_free (*field);
  *field = g_value_dup_string (value);
  GST_OBJECT_UNLOCK (self);
}

static void
gst_face_verify_publish_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (object);

  switch (prop_id) {
    case PROP_LOCATION:
      set_string (self, &self->location, value);
      return;
    case PROP_CAMERA:
      set_string (self, &self->camera, value);
      return;
    case PROP_CLIENT_ID:
      set_string (self, &self->client_id, value);
      return;
    case PROP_CA_FILE:
      set_string (self, &self->ca_file, value);
      return;
    case PROP_CERT_FILE:
      set_string (self, &self->cert_file, value);
      return;
    case PROP_KEY_FILE:
      set_string (self, &self->key_file, value);
      return;
    default:
      break;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_FRAME_INTERVAL:
      self->frame_interval = g_value_get_uint (value);
      break;
    case PROP_ATTACH_CROP:
      self->attach_crop = g_value_get_boolean (value);
      break;
    case PROP_LEFT_AFTER:
      self->left_after = g_value_get_uint (value);
      break;
    case PROP_MQTT_QOS:
      self->mqtt_qos = g_value_get_uint (value);
      break;
    case PROP_KEEPALIVE:
      self->keepalive = g_value_get_uint (value);
      break;
    case PROP_MAX_QUEUE:
      self->max_queue = g_value_get_uint (value);
      break;
    case PROP_FLUSH_TIMEOUT:
      self->flush_timeout = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStructure *
get_stats (GstFaceVerifyPublish * self)
{
  GstStructure *s;

  if (self->pub)
    return gst_fv_publisher_get_stats (self->pub);
  s = gst_structure_new ("faceverifypublish-stats",
      "events", G_TYPE_UINT64, (guint64) 0, "sent", G_TYPE_UINT64,
      (guint64) 0, "dropped", G_TYPE_UINT64, (guint64) 0,
      "queued", G_TYPE_UINT, 0, "write-errors", G_TYPE_UINT64, (guint64) 0,
      "connected", G_TYPE_BOOLEAN, FALSE, "connects", G_TYPE_UINT, 0,
      "outages", G_TYPE_UINT, 0, NULL);
  return s;
}

static void
gst_face_verify_publish_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_CAMERA:
      g_value_set_string (value, self->camera);
      break;
    case PROP_FRAME_INTERVAL:
      g_value_set_uint (value, self->frame_interval);
      break;
    case PROP_ATTACH_CROP:
      g_value_set_boolean (value, self->attach_crop);
      break;
    case PROP_LEFT_AFTER:
      g_value_set_uint (value, self->left_after);
      break;
    case PROP_MQTT_QOS:
      g_value_set_uint (value, self->mqtt_qos);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;
    case PROP_KEEPALIVE:
      g_value_set_uint (value, self->keepalive);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_CERT_FILE:
      g_value_set_string (value, self->cert_file);
      break;
    case PROP_KEY_FILE:
      g_value_set_string (value, self->key_file);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, self->max_queue);
      break;
    case PROP_FLUSH_TIMEOUT:
      g_value_set_uint (value, self->flush_timeout);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, get_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_face_verify_publish_finalize (GObject * object)
{
  GstFaceVerifyPublish *self = GST_FACE_VERIFY_PUBLISH (object);

  g_free (self->location);
  g_free (self->camera);
  g_free (self->client_id);
  g_free (self->ca_file);
  g_free (self->cert_file);
  g_free (self->key_file);
  G_OBJECT_CLASS (gst_face_verify_publish_parent_class)->finalize (object);
}

static void
gst_face_verify_publish_init (GstFaceVerifyPublish * self)
{
  self->location = g_strdup (DEFAULT_LOCATION);
  self->frame_interval = DEFAULT_FRAME_INTERVAL;
  self->attach_crop = DEFAULT_ATTACH_CROP;
  self->left_after = DEFAULT_LEFT_AFTER;
  self->mqtt_qos = DEFAULT_MQTT_QOS;
  self->keepalive = DEFAULT_KEEPALIVE;
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->flush_timeout = DEFAULT_FLUSH_TIMEOUT;
  gst_video_info_init (&self->info);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

#define RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)
#define RW_READY (RW | GST_PARAM_MUTABLE_READY)
#define RW_PLAYING (RW | GST_PARAM_MUTABLE_PLAYING)

static void
install_destination_properties (GObjectClass * gobject_class)
{
  /**
   * GstFaceVerifyPublish:location:
   *
   * Where the events go: `stdout`, `file:///path/events.jsonl` (appended,
   * one JSON object per line), `mqtt://[user[:password]@]host[:port]/topic`
   * or `mqtts://...` (TLS, port 8883 by default; see
   * #GstFaceVerifyPublish:ca-file). The MQTT topic is a template with
   * `{camera}`, `{event}` and `{label}`; without a path it is
   * "faceverify/{camera}/{event}". Read at start; a location that cannot
   * be parsed or whose host name does not resolve is an error then. The
   * password is never printed.
   */
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Destination URI: stdout, file:///path, mqtt://[user[:password]@]"
          "host[:port]/topic-template or mqtts://... (read at start)",
          DEFAULT_LOCATION, RW_READY));
  /**
   * GstFaceVerifyPublish:mqtt-qos:
   *
   * The MQTT quality of service of the events (0, 1 or 2). With 1 or 2
   * the events queued while the broker is away are delivered, in order,
   * once it is back. Read at start.
   */
  g_object_class_install_property (gobject_class, PROP_MQTT_QOS,
      g_param_spec_uint ("mqtt-qos", "MQTT QoS",
          "MQTT quality of service of the events: 0, 1 or 2 (read at start)",
          0, 2, DEFAULT_MQTT_QOS, RW_READY));
  /**
   * GstFaceVerifyPublish:client-id:
   *
   * The MQTT client id; unset: libmosquitto makes a random one. Read at
   * start.
   */
  g_object_class_install_property (gobject_class, PROP_CLIENT_ID,
      g_param_spec_string ("client-id", "Client id",
          "MQTT client id (unset: a random one; read at start)", NULL,
          RW_READY));
  /**
   * GstFaceVerifyPublish:keepalive:
   *
   * Seconds between MQTT keep-alive pings (5 or more). Read at start.
   */
  g_object_class_install_property (gobject_class, PROP_KEEPALIVE,
      g_param_spec_uint ("keepalive", "Keep-alive",
          "Seconds between MQTT keep-alive pings (read at start)", 5, 65535,
          DEFAULT_KEEPALIVE, RW_READY));
  /**
   * GstFaceVerifyPublish:ca-file:
   *
   * For `mqtts://`: the PEM file of the certificate authorities that the
   * broker's certificate must chain to; unset: the system's
   * (/etc/ssl/certs). Read at start.
   */
  g_object_class_install_property (gobject_class, PROP_CA_FILE,
      g_param_spec_string ("ca-file", "CA file",
          "mqtts: PEM file of the CAs to trust (unset: /etc/ssl/certs)",
          NULL, RW_READY));
  /**
   * GstFaceVerifyPublish:cert-file:
   *
   * For `mqtts://`: a PEM client certificate, with
   * #GstFaceVerifyPublish:key-file, for brokers that require one.
   */
  g_object_class_install_property (gobject_class, PROP_CERT_FILE,
      g_param_spec_string ("cert-file", "Client certificate",
          "mqtts: PEM client certificate (optional)", NULL, RW_READY));
  /**
   * GstFaceVerifyPublish:key-file:
   *
   * For `mqtts://`: the PEM private key of #GstFaceVerifyPublish:cert-file.
   */
  g_object_class_install_property (gobject_class, PROP_KEY_FILE,
      g_param_spec_string ("key-file", "Client key",
          "mqtts: PEM private key of cert-file (optional)", NULL, RW_READY));
  /**
   * GstFaceVerifyPublish:max-queue:
   *
   * How many events may wait for the destination. When the queue is full
   * the oldest event is dropped (counted in #GstFaceVerifyPublish:stats,
   * one WARNING until the broker is back). Read at start.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Maximum queue",
          "Events that may wait for the destination; beyond, the oldest is "
          "dropped (read at start)", 1, 10000000, DEFAULT_MAX_QUEUE, RW_READY));
  /**
   * GstFaceVerifyPublish:flush-timeout:
   *
   * At stop, how long (ms) the queued events get to reach the destination
   * before the rest is given up.
   */
  g_object_class_install_property (gobject_class, PROP_FLUSH_TIMEOUT,
      g_param_spec_uint ("flush-timeout", "Flush timeout",
          "At stop, milliseconds the queued events get to reach the "
          "destination", 0, 600000, DEFAULT_FLUSH_TIMEOUT, RW_PLAYING));
}

static void
install_event_properties (GObjectClass * gobject_class)
{
  /**
   * GstFaceVerifyPublish:camera:
   *
   * The `camera` field of the events and the `{camera}` of the topic;
   * unset: the element's name. Read at start.
   */
  g_object_class_install_property (gobject_class, PROP_CAMERA,
      g_param_spec_string ("camera", "Camera",
          "Camera name in the events and topics (unset: the element name)",
          NULL, RW_READY));
  /**
   * GstFaceVerifyPublish:frame-interval:
   *
   * Send a `frame` event with all faces every this many frames (0: never).
   */
  g_object_class_install_property (gobject_class, PROP_FRAME_INTERVAL,
      g_param_spec_uint ("frame-interval", "Frame interval",
          "Send a frame event with all faces every n-th frame (0: off)", 0,
          G_MAXUINT, DEFAULT_FRAME_INTERVAL, RW_PLAYING));
  /**
   * GstFaceVerifyPublish:attach-crop:
   *
   * Add the 112x112 face (aligned from its landmarks, else a square crop
   * of its box) as a base64 JPEG (`crop`) to `identified` events.
   */
  g_object_class_install_property (gobject_class, PROP_ATTACH_CROP,
      g_param_spec_boolean ("attach-crop", "Attach crop",
          "Add the 112x112 face as base64 JPEG to identified events",
          DEFAULT_ATTACH_CROP, RW_PLAYING));
  /**
   * GstFaceVerifyPublish:left-after:
   *
   * A track that was not seen for more than this many frames has left
   * (the default matches faceverify's tracker, which ends a track unseen
   * for 10 frames).
   */
  g_object_class_install_property (gobject_class, PROP_LEFT_AFTER,
      g_param_spec_uint ("left-after", "Left after",
          "Frames a track may be missing before it has left", 0, G_MAXUINT,
          DEFAULT_LEFT_AFTER, RW_PLAYING));
  /**
   * GstFaceVerifyPublish:stats:
   *
   * Counters: `events` (made), `sent` (written, or acknowledged by the
   * broker), `dropped` (queue full), `queued` (waiting now),
   * `write-errors`, `connected`, `connects` and `outages`.
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters: events, sent, dropped, queued, write-errors, connected, "
          "connects, outages", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
gst_face_verify_publish_class_init (GstFaceVerifyPublishClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_face_verify_publish_debug, "faceverifypublish",
      0, "face identity events to files and MQTT");
  mosquitto_lib_init ();

  gobject_class->set_property = gst_face_verify_publish_set_property;
  gobject_class->get_property = gst_face_verify_publish_get_property;
  gobject_class->finalize = gst_face_verify_publish_finalize;
  install_destination_properties (gobject_class);
  install_event_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Face identity event publisher", "Filter/Video",
      "Sends JSON events of face tracks (appeared, identified, left, frame) "
      "from FvFaceIdMeta to a file, stdout or an MQTT broker, from its own "
      "thread so that the video never waits.", "gst-faceverify project");

  trans_class->transform_ip = gst_face_verify_publish_transform_ip;
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->set_caps = gst_face_verify_publish_set_caps;
  trans_class->sink_event = gst_face_verify_publish_sink_event;
  trans_class->start = gst_face_verify_publish_start;
  trans_class->stop = gst_face_verify_publish_stop;
}

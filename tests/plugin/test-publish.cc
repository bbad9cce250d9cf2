// faceverifypublish on ../shared/data/video/clip_mjpeg.avi with a real
// mosquitto broker: events per track whose labels follow the clip's
// segments, each delivered once; a broker killed mid-stream and one that
// is not there at start; the file destination against the documented
// schema; bad locations; TLS. Outcomes are asserted with generous
// time-outs, never speed (tests/plugin/bench-publish.c measures that).
#include <gtest/gtest.h>

#include <json-glib/json-glib.h>

#include "fv-mqtt-test.h"
#include "fv-plugin-test.h"

using namespace fvplug;
using fvmqtt::Broker;
using fvmqtt::Subscriber;

namespace {

constexpr const char *kSecret = "s3cretPW";

// --- the schema ---------------------------------------------------------

struct Event
{
  std::string event, label, camera;
  gint64 seq = 0, track = 0, frame = 0;
  bool known = false;
  std::string crop, reason, quality_reason;
};

bool
HasMember (JsonObject *o, const char *name, GType type)
{
  if (!json_object_has_member (o, name))
    return false;
  JsonNode *n = json_object_get_member (o, name);
  if (type == G_TYPE_NONE)
    return JSON_NODE_HOLDS_NULL (n) || json_node_get_value_type (n)
        == G_TYPE_INT64;
  if (type == G_TYPE_DOUBLE)
    return JSON_NODE_HOLDS_VALUE (n) && (json_node_get_value_type (n)
        == G_TYPE_DOUBLE || json_node_get_value_type (n) == G_TYPE_INT64);
  if (type == JSON_TYPE_OBJECT)
    return JSON_NODE_HOLDS_OBJECT (n);
  if (type == JSON_TYPE_ARRAY)
    return JSON_NODE_HOLDS_ARRAY (n);
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == type;
}

// A face as the README documents it: track_id, label, label_id, known,
// similarity, margin, quality (faceverify measured it: 0-1), reason only
// "low-quality" and only on an unknown face, with it (and only with it)
// quality_reason, what is wrong with the crop, and a box in pixels and
// normalised.
void
ExpectFace (JsonObject *o, const std::string &what)
{
  EXPECT_TRUE (HasMember (o, "track_id", G_TYPE_INT64)) << what;
  EXPECT_TRUE (HasMember (o, "label", G_TYPE_STRING)) << what;
  EXPECT_TRUE (HasMember (o, "label_id", G_TYPE_INT64)) << what;
  EXPECT_TRUE (HasMember (o, "known", G_TYPE_BOOLEAN)) << what;
  EXPECT_TRUE (HasMember (o, "similarity", G_TYPE_DOUBLE)) << what;
  EXPECT_TRUE (HasMember (o, "margin", G_TYPE_DOUBLE)) << what;
  EXPECT_TRUE (HasMember (o, "quality", G_TYPE_DOUBLE)) << what;
  if (HasMember (o, "quality", G_TYPE_DOUBLE)) {
    double q = json_object_get_double_member (o, "quality");
    EXPECT_TRUE (q >= 0.0 && q <= 1.0) << what << " quality=" << q;
  }
  if (json_object_has_member (o, "reason")) {
    EXPECT_STREQ (json_object_get_string_member (o, "reason"), "low-quality")
        << what;
    EXPECT_FALSE (json_object_get_boolean_member (o, "known")) << what;
    ASSERT_TRUE (HasMember (o, "quality_reason", G_TYPE_STRING)) << what;
    const std::string why = json_object_get_string_member (o,
        "quality_reason");
    EXPECT_TRUE (why == "blurred" || why == "too small" || why == "turned"
        || why == "dark" || why == "bright" || why == "low contrast"
        || why == "cut by the frame edge") << what;
  } else {
    EXPECT_FALSE (json_object_has_member (o, "quality_reason")) << what;
  }
  ASSERT_TRUE (HasMember (o, "box", JSON_TYPE_OBJECT)) << what;
  JsonObject *b = json_object_get_object_member (o, "box");
  for (const char *k : { "x", "y", "w", "h" })
    EXPECT_TRUE (HasMember (b, k, G_TYPE_INT64)) << what << " box." << k;
  for (const char *k : { "x_min", "y_min", "x_max", "y_max" }) {
    ASSERT_TRUE (HasMember (b, k, G_TYPE_DOUBLE)) << what << " box." << k;
    double v = json_object_get_double_member (b, k);
    EXPECT_TRUE (v >= -0.01 && v <= 1.01) << what << " box." << k << "=" << v;
  }
}

// ISO 8601 UTC with milliseconds.
bool
IsUtc (JsonObject *o, const char *name)
{
  if (!HasMember (o, name, G_TYPE_STRING))
    return false;
  return g_regex_match_simple ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d"
      "\\.\\d{3}Z$", json_object_get_string_member (o, name),
      (GRegexCompileFlags) 0, (GRegexMatchFlags) 0);
}

// Parses one event and checks it against the documented schema.
Event
ParseEvent (const std::string &line)
{
  Event e;
  JsonParser *p = json_parser_new ();
  GError *err = NULL;
  if (!json_parser_load_from_data (p, line.c_str (), line.size (), &err)) {
    ADD_FAILURE () << "not JSON: " << err->message << ": " << line;
    g_error_free (err);
    g_object_unref (p);
    return e;
  }
  JsonNode *root = json_parser_get_root (p);
  EXPECT_TRUE (JSON_NODE_HOLDS_OBJECT (root)) << line;
  JsonObject *o = json_node_get_object (root);
  EXPECT_STREQ (json_object_get_string_member_with_default (o, "schema",
          ""), "gst-faceverify/event/1");
  e.event = json_object_get_string_member_with_default (o, "event", "");
  e.camera = json_object_get_string_member_with_default (o, "camera", "");
  std::string what = e.event + ": " + line.substr (0, 200);
  EXPECT_TRUE (IsUtc (o, "utc")) << what;
  if (e.event == "presence") {
    EXPECT_TRUE (HasMember (o, "faces", JSON_TYPE_ARRAY)) << what;
    g_object_unref (p);
    return e;
  }
  for (const char *k : { "seq", "frame", "width", "height" })
    EXPECT_TRUE (HasMember (o, k, G_TYPE_INT64)) << what << " " << k;
  EXPECT_TRUE (HasMember (o, "pts", G_TYPE_NONE)) << what;
  EXPECT_TRUE (HasMember (o, "running_time", G_TYPE_NONE)) << what;
  e.seq = json_object_get_int_member_with_default (o, "seq", 0);
  e.frame = json_object_get_int_member_with_default (o, "frame", 0);
  if (e.event == "frame") {
    EXPECT_TRUE (HasMember (o, "faces", JSON_TYPE_ARRAY)) << what;
    JsonArray *a = json_object_get_array_member (o, "faces");
    for (guint i = 0; a && i < json_array_get_length (a); i++)
      ExpectFace (json_array_get_object_element (a, i), what);
  } else if (e.event == "appeared" || e.event == "identified"
      || e.event == "left") {
    ExpectFace (o, what);
    e.track = json_object_get_int_member_with_default (o, "track_id", 0);
    e.label = json_object_get_string_member_with_default (o, "label", "");
    e.known = json_object_get_boolean_member_with_default (o, "known", FALSE);
    if (e.event == "left") {
      EXPECT_TRUE (HasMember (o, "dwell_s", G_TYPE_DOUBLE)) << what;
      EXPECT_TRUE (IsUtc (o, "first_seen_utc")) << what;
      EXPECT_TRUE (IsUtc (o, "last_seen_utc")) << what;
      EXPECT_TRUE (HasMember (o, "first_seen_pts", G_TYPE_NONE)) << what;
      EXPECT_TRUE (HasMember (o, "last_seen_pts", G_TYPE_NONE)) << what;
      EXPECT_TRUE (HasMember (o, "frames", G_TYPE_INT64)) << what;
      EXPECT_TRUE (HasMember (o, "best_similarity", G_TYPE_DOUBLE)) << what;
      EXPECT_TRUE (HasMember (o, "best_label", G_TYPE_STRING)) << what;
      EXPECT_GE (json_object_get_double_member (o, "dwell_s"), 0.0);
    }
    e.crop = json_object_get_string_member_with_default (o, "crop", "");
    e.reason = json_object_get_string_member_with_default (o, "reason", "");
    e.quality_reason = json_object_get_string_member_with_default (o,
        "quality_reason", "");
  } else {
    ADD_FAILURE () << "unknown event: " << what;
  }
  g_object_unref (p);
  return e;
}

std::vector<Event>
ParseEvents (const std::vector<std::string> &lines)
{
  std::vector<Event> v;
  for (const std::string &l : lines) {
    Event e = ParseEvent (l);
    if (e.event != "presence")
      v.push_back (e);
  }
  return v;
}

// The events of the clip follow its segments: the known identities, in
// the order they were decided, are the clip's people; a known decision
// only falls inside a segment of that person; every track appears once,
// is identified, and leaves once, after it appeared.
void
ExpectClipEvents (const std::vector<Event> &ev,
    const std::vector<Segment> &segments)
{
  std::vector<std::string> want, got;
  for (const Segment &s : segments)
    if (s.identity != "none" && (want.empty () || want.back () != s.identity))
      want.push_back (s.identity);
  std::map<gint64, int> appeared, left, identified;
  for (size_t i = 0; i < ev.size (); i++) {
    const Event &e = ev[i];
    EXPECT_EQ (e.seq, (gint64) i + 1) << "seq in order, none missing";
    if (e.event == "appeared") {
      appeared[e.track]++;
      EXPECT_EQ (left.count (e.track), 0u);
    } else if (e.event == "left") {
      left[e.track]++;
      EXPECT_EQ (appeared.count (e.track), 1u);
    } else if (e.event == "identified") {
      identified[e.track]++;
      if (!e.known)
        continue;
      if (got.empty () || got.back () != e.label)
        got.push_back (e.label);
      bool inside = false;
      for (const Segment &s : segments)
        if (e.frame >= s.first && e.frame <= s.last && s.identity == e.label)
          inside = true;
      EXPECT_TRUE (inside) << e.label << " decided on frame " << e.frame;
    }
  }
  EXPECT_EQ (got, want);
  EXPECT_FALSE (appeared.empty ());
  EXPECT_EQ (appeared.size (), left.size ());
  for (const auto &kv : appeared) {
    EXPECT_EQ (kv.second, 1) << "track " << kv.first;
    EXPECT_EQ (left[kv.first], 1) << "track " << kv.first;
    EXPECT_GE (identified[kv.first], 1) << "track " << kv.first;
  }
  printf ("events: %zu (%zu tracks); known identities in order:",
      ev.size (), appeared.size ());
  for (const std::string &s : got)
    printf (" %s", s.c_str ());
  printf ("\n");
  fflush (stdout);
}

// --- running the clip ---------------------------------------------------

struct ClipRun
{
  int frames = 0;
  std::vector<gint64> out_us;   // when each buffer reached the sink
  std::vector<std::string> warnings;    // message + debug
  int errors = 0;
  std::string error;
  guint64 events = 0, dropped = 0, sent = 0;
  guint outages = 0, connects = 0;
};

GstPadProbeReturn
CountProbe (GstPad *, GstPadProbeInfo *, gpointer data)
{
  auto *r = static_cast<ClipRun *> (data);
  r->frames++;
  r->out_us.push_back (g_get_monotonic_time ());
  return GST_PAD_PROBE_OK;
}

std::string
MessageText (GstMessage *m)
{
  GError *e = NULL;
  gchar *dbg = NULL;
  if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
    gst_message_parse_error (m, &e, &dbg);
  else
    gst_message_parse_warning (m, &e, &dbg);
  std::string s = std::string (e->message) + " | " + (dbg ? dbg : "");
  g_error_free (e);
  g_free (dbg);
  return s;
}

void
ReadStats (GstElement *pub, ClipRun &r)
{
  GstStructure *s = NULL;
  g_object_get (pub, "stats", &s, NULL);
  ASSERT_NE (s, nullptr);
  gst_structure_get_uint64 (s, "events", &r.events);
  gst_structure_get_uint64 (s, "dropped", &r.dropped);
  gst_structure_get_uint64 (s, "sent", &r.sent);
  gst_structure_get_uint (s, "outages", &r.outages);
  gst_structure_get_uint (s, "connects", &r.connects);
  gst_structure_free (s);
}

// Plays the clip through detection, verification and
// "faceverifypublish name=pub @publish" to a fakesink (sync: in real time)
// to the end; @tick is called about every 50 ms with the time since the
// first buffer reached the sink (-1 before). @before: elements before the
// detector ("videoscale ! caps ! "); @verify: more faceverify properties.
ClipRun
RunClip (const std::string &gallery, const std::string &publish, bool sync,
    std::function<void (gint64)> tick = nullptr,
    const std::string &before = "", const std::string &verify = "")
{
  ClipRun r;
  std::string desc = "filesrc location=\"" + fvtest::SharedPath (kClip)
      + "\" ! avidemux ! jpegdec ! videoconvert ! " + before
      + "mtcnnfacedetect ! faceverify gallery-file=\"" + gallery + "\" " + verify
      + " ! faceverifypublish "
      "name=pub " + publish + " ! fakesink name=sink sync="
      + (sync ? "true" : "false");
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc.c_str (), &err);
  if (!p) {
    ADD_FAILURE () << err->message;
    g_error_free (err);
    return r;
  }
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstElement *pub = gst_bin_get_by_name (GST_BIN (p), "pub");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, CountProbe, &r, NULL);
  gst_object_unref (pad);
  GstBus *bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  for (;;) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, 50 * GST_MSECOND,
        (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR |
            GST_MESSAGE_WARNING));
    if (tick) {
      gint64 first = r.out_us.empty () ? 0 : r.out_us[0];
      tick (first ? g_get_monotonic_time () - first : -1);
    }
    if (!m) {
      if (g_get_monotonic_time () > deadline) {
        r.errors++;
        r.error = "timeout";
        break;
      }
      continue;
    }
    GstMessageType t = GST_MESSAGE_TYPE (m);
    if (t == GST_MESSAGE_WARNING)
      r.warnings.push_back (MessageText (m));
    if (t == GST_MESSAGE_ERROR) {
      r.errors++;
      r.error = MessageText (m);
    }
    gst_message_unref (m);
    if (t != GST_MESSAGE_WARNING)
      break;
  }
  ReadStats (pub, r);
  gst_element_set_state (p, GST_STATE_NULL);
  // warnings posted while stopping (the flush)
  while (GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING)) {
    r.warnings.push_back (MessageText (m));
    gst_message_unref (m);
  }
  gst_object_unref (bus);
  gst_object_unref (pub);
  gst_object_unref (sink);
  gst_object_unref (p);
  return r;
}

std::vector<std::string>
ReadLines (const std::string &path)
{
  std::vector<std::string> v;
  std::ifstream in (path);
  std::string l;
  while (std::getline (in, l))
    v.push_back (l);
  return v;
}

std::vector<std::string>
Payloads (const std::vector<fvmqtt::Received> &msgs)
{
  std::vector<std::string> v;
  for (const auto &m : msgs)
    v.push_back (m.payload);
  return v;
}

int
CountWith (const std::vector<std::string> &v, const std::string &needle)
{
  int n = 0;
  for (const std::string &s : v)
    n += s.find (needle) != std::string::npos;
  return n;
}

// The distinct seq of the events received, in order of first arrival.
std::vector<gint64>
FirstArrivals (const std::vector<fvmqtt::Received> &msgs)
{
  std::vector<gint64> order;
  std::set<gint64> seen;
  for (const auto &m : msgs) {
    if (m.topic.find ("/presence") != std::string::npos)
      continue;
    size_t at = m.payload.find ("\"seq\":");
    if (at == std::string::npos)
      continue;
    gint64 s = g_ascii_strtoll (m.payload.c_str () + at + 6, NULL, 10);
    if (seen.insert (s).second)
      order.push_back (s);
  }
  return order;
}

class PublishTest : public ::testing::Test
{
protected:
  static std::string gallery;
  static std::vector<Segment> segments;

  static void SetUpTestSuite ()
  {
    std::string model = fvtest::ModelPath ("MobileFaceNet.tflite");
    if (model.empty () || !fvtest::HaveShared (kClip)
        || !fvtest::HaveShared ("data/faces/deepface/faces.csv"))
      return;
    segments = LoadSegments ();
    std::map<std::string, std::vector<std::vector<float>>> ids;
    ASSERT_TRUE (ClipGalleryEmbeddings (model, segments, ids));
    std::string path = PluginScratch () + "/deepface.db";
    ASSERT_TRUE (MakeGallery (path, model, ids));
    gallery = path;
  }

  void SetUp () override
  {
    if (gallery.empty ())
      GTEST_SKIP () << "models or shared data missing";
  }
};

std::string PublishTest::gallery;
std::vector<Segment> PublishTest::segments;

}  // namespace

// --- file destination -----------------------------------------------------

TEST_F (PublishTest, FileEventsFollowTheSegmentsAndTheSchema)
{
  std::string path = PluginScratch () + "/events.jsonl";
  g_unlink (path.c_str ());
  ClipRun r = RunClip (gallery, "camera=door frame-interval=10 attach-crop=true "
      "location=\"file://" + path + "\"", false);
  ASSERT_EQ (r.errors, 0) << r.error;
  EXPECT_EQ (r.frames, 90);
  EXPECT_TRUE (r.warnings.empty ()) << r.warnings[0];
  std::vector<std::string> lines = ReadLines (path);
  std::vector<Event> ev = ParseEvents (lines);
  ASSERT_FALSE (ev.empty ());
  EXPECT_EQ (lines.size (), r.events);

  std::vector<Event> tracks, frames;
  for (const Event &e : ev) {
    EXPECT_EQ (e.camera, "door");
    (e.event == "frame" ? frames : tracks).push_back (e);
  }
  EXPECT_EQ (frames.size (), 9u) << "frames 0, 10, ..., 80";
  // seq counts every event; the track checks see them without the frames
  for (size_t i = 0; i < tracks.size (); i++)
    tracks[i].seq = i + 1;
  ExpectClipEvents (tracks, segments);

  // attach-crop: each identified event holds a 112x112 JPEG
  int crops = 0;
  for (const Event &e : tracks) {
    if (e.event != "identified")
      continue;
    ASSERT_FALSE (e.crop.empty ());
    gsize len = 0;
    guchar *jpeg = g_base64_decode (e.crop.c_str (), &len);
    GdkPixbufLoader *l = gdk_pixbuf_loader_new_with_type ("jpeg", NULL);
    ASSERT_TRUE (gdk_pixbuf_loader_write (l, jpeg, len, NULL));
    ASSERT_TRUE (gdk_pixbuf_loader_close (l, NULL));
    GdkPixbuf *pb = gdk_pixbuf_loader_get_pixbuf (l);
    EXPECT_EQ (gdk_pixbuf_get_width (pb), 112);
    EXPECT_EQ (gdk_pixbuf_get_height (pb), 112);
    g_object_unref (l);
    g_free (jpeg);
    crops++;
  }
  EXPECT_GT (crops, 0);

  // append: a second run adds its lines after the first run's
  ClipRun again = RunClip (gallery, "frame-interval=0 location=\"file://" + path
      + "\"", false);
  ASSERT_EQ (again.errors, 0) << again.error;
  EXPECT_EQ (ReadLines (path).size (), lines.size () + again.events);
}

// The clip shrunk to 120x90 has boxes of 30 to 45 px, all scored below 1
// for their size, and with min-quality 1 none is good enough: every
// face is unknown, with reason "low-quality" and quality_reason "too
// small" (ExpectFace checks the field on every face of every event).
TEST_F (PublishTest, PoorFacesSayWhyTheyAreUnknown)
{
  std::string path = PluginScratch () + "/events-poor.jsonl";
  g_unlink (path.c_str ());
  ClipRun r = RunClip (gallery, "frame-interval=30 location=\"file://" + path
      + "\"", false, nullptr, "videoscale ! video/x-raw,width=120,height=90 ! ",
      "min-quality=1.0");
  ASSERT_EQ (r.errors, 0) << r.error;
  std::vector<Event> ev = ParseEvents (ReadLines (path));
  int identified = 0;
  for (const Event &e : ev) {
    if (e.event != "identified")
      continue;
    identified++;
    EXPECT_FALSE (e.known);
    EXPECT_EQ (e.reason, "low-quality");
    EXPECT_EQ (e.quality_reason, "too small") << "track " << e.track;
  }
  EXPECT_GT (identified, 0);
}

// --- MQTT ------------------------------------------------------------------

TEST_F (PublishTest, MqttQos1DeliversEveryEventOnce)
{
  Broker broker;
  ASSERT_TRUE (broker.Start (PluginScratch ("broker-once")));
  Subscriber sub;
  ASSERT_TRUE (sub.Start (broker.port, "fvtest/#"));
  std::string loc = "mqtt://127.0.0.1:" + std::to_string (broker.port)
      + "/fvtest/{camera}/{event}/{label}";
  ClipRun r = RunClip (gallery, "camera=hall mqtt-qos=1 location=\"" + loc
      + "\"", false);
  ASSERT_EQ (r.errors, 0) << r.error;
  EXPECT_EQ (r.frames, 90);
  EXPECT_TRUE (r.warnings.empty ()) << r.warnings[0];
  ASSERT_GT (r.events, 0u);
  EXPECT_EQ (r.dropped, 0u);

  auto events_only = [](const std::vector<fvmqtt::Received> &v) {
    std::vector<fvmqtt::Received> out;
    for (const auto &m : v)
      if (m.topic.find ("/presence") == std::string::npos)
        out.push_back (m);
    return out;
  };
  EXPECT_TRUE (sub.WaitFor ([&](const std::vector<fvmqtt::Received> &v) {
            return events_only (v).size () >= r.events;
          }));
  g_usleep (500000);            // a duplicate would arrive by now
  auto msgs = events_only (sub.Snapshot ());
  ASSERT_EQ (msgs.size (), r.events) << "each event exactly once";
  std::vector<Event> ev = ParseEvents (Payloads (msgs));
  ExpectClipEvents (ev, segments);
  for (size_t i = 0; i < msgs.size (); i++) {
    std::string want = "fvtest/hall/" + ev[i].event + "/" + ev[i].label;
    EXPECT_EQ (msgs[i].topic, want);
  }

  // a dashboard that connects later gets the retained presence: nobody is
  // in view at the end of the clip
  Subscriber late;
  ASSERT_TRUE (late.Start (broker.port, "fvtest/hall/presence/#"));
  ASSERT_TRUE (late.WaitFor ([](const std::vector<fvmqtt::Received> &v) {
            return !v.empty ();
          }));
  auto p = late.Snapshot ();
  EXPECT_TRUE (p[0].retained);
  EXPECT_NE (p[0].payload.find ("\"faces\":[]"), std::string::npos)
      << p[0].payload;
  ParseEvent (p[0].payload);
}

// Plays the clip in real time with an event per frame; 2 s after the
// first frame the broker is stopped, 3 s later it starts again.
struct Outage
{
  ClipRun run;
  gint64 down_us = 0, up_us = 0;        // monotonic
  std::vector<fvmqtt::Received> msgs;
};

Outage
RunWithOutage (const std::string &gallery, const std::string &tag,
    guint max_queue)
{
  Outage o;
  Broker broker;
  EXPECT_TRUE (broker.Start (PluginScratch ("broker-" + tag)));
  Subscriber sub;
  std::string id = "fvtest-sub-" + tag;
  EXPECT_TRUE (sub.Start (broker.port, "fvout/#", id.c_str ()));
  std::string loc = "mqtt://127.0.0.1:" + std::to_string (broker.port)
      + "/fvout/{camera}/{event}";
  int port = broker.port;
  std::string dir = broker.dir;
  o.run = RunClip (gallery, "frame-interval=1 mqtt-qos=1 flush-timeout=30000 "
      "max-queue=" + std::to_string (max_queue) + " location=\"" + loc + "\"",
      true, [&](gint64 since_first) {
        if (since_first > 2 * G_USEC_PER_SEC && !o.down_us) {
          broker.Stop ();
          o.down_us = g_get_monotonic_time ();
        } else if (o.down_us && !o.up_us
            && g_get_monotonic_time () - o.down_us > 3 * G_USEC_PER_SEC) {
          EXPECT_TRUE (broker.Start (dir, port));
          o.up_us = g_get_monotonic_time ();
        }
      });
  EXPECT_TRUE (o.down_us && o.up_us) << "the clip ended before the outage";
  guint64 want = o.run.events - o.run.dropped;
  sub.WaitFor ([&](const std::vector<fvmqtt::Received> &v) {
        return FirstArrivals (v).size () >= want;
      });
  o.msgs = sub.Snapshot ();
  return o;
}

TEST_F (PublishTest, BrokerKilledMidStreamLosesNothingWithQos1)
{
  Outage o = RunWithOutage (gallery, "outage", 1000);
  const ClipRun &r = o.run;
  ASSERT_EQ (r.errors, 0) << r.error;
  // the video never waited: every frame came out, also while it was down
  EXPECT_EQ (r.frames, 90);
  int during = 0;
  for (gint64 t : r.out_us)
    during += t > o.down_us && t < o.up_us;
  EXPECT_GT (during, 0);
  gint64 gap = 0;
  for (size_t i = 1; i < r.out_us.size (); i++)
    gap = std::max (gap, r.out_us[i] - r.out_us[i - 1]);
  printf ("outage: %d frames out while the broker was down; longest gap "
      "between output buffers %.1f ms (information, not asserted)\n",
      during, gap / 1000.0);

  // one WARNING for the outage, none for drops
  EXPECT_EQ (CountWith (r.warnings, "Cannot reach the MQTT broker"), 1);
  EXPECT_EQ (r.warnings.size (), 1u);
  EXPECT_EQ (r.outages, 1u);
  EXPECT_GE (r.connects, 2u);
  EXPECT_EQ (r.dropped, 0u);

  // every event arrived, in order of production (QoS 1 may repeat one
  // that was in flight when the broker went down: at least once)
  std::vector<gint64> order = FirstArrivals (o.msgs);
  ASSERT_EQ (order.size (), r.events);
  for (size_t i = 0; i < order.size (); i++)
    ASSERT_EQ (order[i], (gint64) i + 1) << "in order";
  printf ("outage: %" G_GUINT64_FORMAT " events, %zu messages received\n",
      r.events, o.msgs.size ());
}

TEST_F (PublishTest, SmallQueueDropsAreCountedAndReportedOnce)
{
  Outage o = RunWithOutage (gallery, "drops", 5);
  const ClipRun &r = o.run;
  ASSERT_EQ (r.errors, 0) << r.error;
  EXPECT_EQ (r.frames, 90);
  EXPECT_GT (r.dropped, 0u);
  EXPECT_EQ (CountWith (r.warnings, "dropping the oldest"), 1);
  EXPECT_EQ (CountWith (r.warnings, "Cannot reach the MQTT broker"), 1);
  // what was not dropped arrived, in order
  std::vector<gint64> order = FirstArrivals (o.msgs);
  EXPECT_EQ (order.size (), r.events - r.dropped);
  for (size_t i = 1; i < order.size (); i++)
    EXPECT_LT (order[i - 1], order[i]);
  printf ("small queue: %" G_GUINT64_FORMAT " events, %" G_GUINT64_FORMAT
      " dropped, %zu arrived\n", r.events, r.dropped, order.size ());
}

// Every log line of the element, to look for the password.
std::mutex log_mu;
std::string log_text;

void
CollectLog (GstDebugCategory *cat, GstDebugLevel, const gchar *, const gchar *,
    gint, GObject *, GstDebugMessage *msg, gpointer)
{
  if (g_str_has_prefix (gst_debug_category_get_name (cat), "faceverify")) {
    std::lock_guard<std::mutex> l (log_mu);
    log_text += gst_debug_message_get (msg);
    log_text += "\n";
  }
}

TEST_F (PublishTest, BrokerAbsentAtStartWarnsOnceThenConnects)
{
  int port = fvmqtt::FreePort ();
  std::string loc = std::string ("mqtt://cam:") + kSecret + "@127.0.0.1:"
      + std::to_string (port) + "/late/{camera}/{event}";
  gst_debug_set_active (TRUE);
  gst_debug_set_threshold_for_name ("faceverifypublish", GST_LEVEL_LOG);
  gst_debug_add_log_function (CollectLog, NULL, NULL);

  Broker broker;
  std::unique_ptr<Subscriber> sub;
  ClipRun r = RunClip (gallery, "frame-interval=1 location=\"" + loc + "\"",
      true, [&](gint64 since_first) {
        if (since_first > 2 * G_USEC_PER_SEC && !broker.Running ()) {
          EXPECT_TRUE (broker.Start (PluginScratch ("broker-late"), port));
          sub.reset (new Subscriber ());
          EXPECT_TRUE (sub->Start (port, "late/#"));
        }
      });
  gst_debug_remove_log_function (CollectLog);
  gst_debug_set_threshold_for_name ("faceverifypublish", GST_LEVEL_NONE);
  ASSERT_EQ (r.errors, 0) << r.error;
  EXPECT_EQ (r.frames, 90);
  EXPECT_EQ (r.warnings.size (), 1u);
  EXPECT_EQ (CountWith (r.warnings, "Cannot reach the MQTT broker"), 1);
  EXPECT_GE (r.connects, 1u);
  ASSERT_TRUE (sub);
  EXPECT_TRUE (sub->WaitFor ([](const std::vector<fvmqtt::Received> &v) {
            return !v.empty ();
          }));
  // the password never shows, the rest of the location does
  for (const std::string &w : r.warnings) {
    EXPECT_EQ (w.find (kSecret), std::string::npos) << w;
    EXPECT_NE (w.find ("127.0.0.1"), std::string::npos) << w;
  }
  std::lock_guard<std::mutex> l (log_mu);
  EXPECT_FALSE (log_text.empty ());
  EXPECT_EQ (log_text.find (kSecret), std::string::npos);
}

// --- bad locations ---------------------------------------------------------

TEST (PublishLocation, BadLocationsAreErrorsAtStart)
{
  struct Case
  {
    std::string location;
    int code;
  } cases[] = {
    { "ftp://example.org/events", GST_RESOURCE_ERROR_SETTINGS },
    { "events.jsonl", GST_RESOURCE_ERROR_SETTINGS },
    { "mqtt://", GST_RESOURCE_ERROR_SETTINGS },
    { "mqtt://u:" + std::string (kSecret) + "@[::1/t", GST_RESOURCE_ERROR_SETTINGS },
    { "mqtt://127.0.0.1/a/+/b", GST_RESOURCE_ERROR_SETTINGS },
    { "mqtt://u:" + std::string (kSecret) + "@no-such-host.invalid/t",
        GST_RESOURCE_ERROR_NOT_FOUND },
    { "file:///nonexistent-folder-fv/events.jsonl",
        GST_RESOURCE_ERROR_OPEN_WRITE },
  };
  for (const Case &c : cases) {
    GstElement *e = gst_element_factory_make ("faceverifypublish", NULL);
    ASSERT_NE (e, nullptr);
    g_object_set (e, "location", c.location.c_str (), NULL);
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (e, bus);
    EXPECT_EQ (gst_element_set_state (e, GST_STATE_PAUSED),
        GST_STATE_CHANGE_FAILURE) << c.location;
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    ASSERT_NE (m, nullptr) << c.location;
    GError *err = NULL;
    gst_message_parse_error (m, &err, NULL);
    EXPECT_EQ (err->domain, GST_RESOURCE_ERROR) << c.location;
    EXPECT_EQ (err->code, c.code) << c.location << ": " << err->message;
    std::string text = MessageText (m);
    EXPECT_EQ (text.find (kSecret), std::string::npos) << text;
    printf ("%s -> %s\n", c.location.c_str (), err->message);
    g_error_free (err);
    gst_message_unref (m);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_element_set_bus (e, NULL);
    gst_object_unref (bus);
    gst_object_unref (e);
  }
}

// --- TLS -------------------------------------------------------------------

bool
Sh (const std::string &cmd)
{
  gint st = -1;
  const char *argv[] = { "/bin/sh", "-c", cmd.c_str (), NULL };
  return g_spawn_sync (NULL, (char **) argv, NULL,
      (GSpawnFlags) (G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL),
      NULL, NULL, NULL, NULL, &st, NULL) && g_spawn_check_wait_status (st,
      NULL);
}

TEST_F (PublishTest, MqttsWithAThrowAwayCa)
{
  std::string d = PluginScratch ("tls");
  // a CA and a server certificate for 127.0.0.1, made now with openssl
  ASSERT_TRUE (Sh ("cd '" + d + "' && openssl req -x509 -newkey rsa:2048 "
          "-nodes -days 1 -subj /CN=fv-test-ca -keyout ca.key -out ca.pem "
          "&& openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
          "-keyout server.key -out server.csr && printf "
          "'subjectAltName=IP:127.0.0.1\\n' > san.ext && openssl x509 -req "
          "-in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
          "-extfile san.ext -out server.pem")) << "openssl failed";
  Broker broker;
  broker.tls_conf = "cafile " + d + "/ca.pem\ncertfile " + d
      + "/server.pem\nkeyfile " + d + "/server.key\n";
  ASSERT_TRUE (broker.Start (d));
  std::string ca = d + "/ca.pem";
  Subscriber sub;
  ASSERT_TRUE (sub.Start (broker.port, "tls/#", NULL, ca.c_str ()));
  ClipRun r = RunClip (gallery, "location=\"mqtts://127.0.0.1:"
      + std::to_string (broker.port) + "/tls/{event}\" ca-file=\"" + ca
      + "\"", false);
  ASSERT_EQ (r.errors, 0) << r.error;
  EXPECT_TRUE (r.warnings.empty ()) << r.warnings[0];
  EXPECT_TRUE (sub.WaitFor ([&](const std::vector<fvmqtt::Received> &v) {
            return FirstArrivals (v).size () >= r.events;
          }));
  EXPECT_EQ (FirstArrivals (sub.Snapshot ()).size (), r.events);

  // a broker whose certificate the element does not trust: a warning, and
  // the video still plays
  ClipRun bad = RunClip (gallery, "location=\"mqtts://127.0.0.1:"
      + std::to_string (broker.port) + "/tls/{event}\" ca-file=\"/etc/ssl/"
      "certs/ca-certificates.crt\" flush-timeout=0", false);
  ASSERT_EQ (bad.errors, 0) << bad.error;
  EXPECT_EQ (bad.frames, 90);
  EXPECT_EQ (CountWith (bad.warnings, "MQTT broker"), 1);
}

// --- the subscriber example ------------------------------------------------

// The checkout's root, from this file's path (relative to the build tree).
std::string
SourceRoot ()
{
  std::string f = __FILE__;
  if (!g_path_is_absolute (f.c_str ()))
    f = std::string (g_getenv ("FV_BUILD_DIR") ? g_getenv ("FV_BUILD_DIR")
        : ".") + "/" + f;
  gchar *d = g_path_get_dirname (f.c_str ());
  std::string root = std::string (d) + "/../..";
  g_free (d);
  return root;
}

TEST_F (PublishTest, PythonSubscriberExampleFollowsTheEvents)
{
  std::string script = SourceRoot () + "/examples/subscribers/fv-subscribe.py";
  ASSERT_TRUE (g_file_test (script.c_str (), G_FILE_TEST_EXISTS)) << script;
  Broker broker;
  ASSERT_TRUE (broker.Start (PluginScratch ("broker-example")));
  std::string loc = "location=\"mqtt://127.0.0.1:"
      + std::to_string (broker.port) + "/ex/{camera}/{event}\" camera=gate";
  // a first run leaves the retained presence that tells us, below, that
  // the subscriber is connected
  ClipRun first = RunClip (gallery, loc, false);
  ASSERT_EQ (first.errors, 0) << first.error;

  std::string out = PluginScratch () + "/subscriber.txt";
  std::string cmd = "exec /usr/bin/python3 '" + script + "' --port "
      + std::to_string (broker.port) + " --topic 'ex/#' --count 6 "
      "--timeout 60 > '" + out + "'";
  const char *argv[] = { "/bin/sh", "-c", cmd.c_str (), NULL };
  GPid pid;
  ASSERT_TRUE (g_spawn_async (NULL, (char **) argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL));
  std::string text;
  for (int i = 0; i < 1500 && text.find ("now in view") == std::string::npos;
      i++) {
    g_usleep (20000);
    auto data = fvtest::ReadFile (out);
    text.assign (data.begin (), data.end ());
  }
  EXPECT_NE (text.find ("gate: now in view: nobody"), std::string::npos)
      << text;
  ClipRun second = RunClip (gallery, loc, false);
  ASSERT_EQ (second.errors, 0) << second.error;
  int status = -1;
  for (int i = 0; i < 1500; i++) {
    if (waitpid (pid, &status, WNOHANG) == pid)
      break;
    g_usleep (20000);
  }
  if (status == -1) {
    kill (pid, SIGTERM);
    waitpid (pid, &status, 0);
  }
  EXPECT_TRUE (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  auto data = fvtest::ReadFile (out);
  text.assign (data.begin (), data.end ());
  printf ("%s", text.c_str ());
  EXPECT_NE (text.find ("track 1 appeared"), std::string::npos) << text;
  EXPECT_NE (text.find ("identified: person01 (known"), std::string::npos)
      << text;
}

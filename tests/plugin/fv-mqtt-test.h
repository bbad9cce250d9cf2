// A real MQTT broker (Debian's mosquitto) and a subscriber for the
// faceverifypublish tests and benchmark: the broker runs on a free port of
// 127.0.0.1 with its configuration and data in the build tree, and is
// stopped by the pid that was started.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosquitto.h>

namespace fvmqtt {

// A port of 127.0.0.1 that nobody listens on now.
inline int
FreePort ()
{
  int s = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  socklen_t len = sizeof (a);
  int port = 0;
  if (bind (s, (struct sockaddr *) &a, sizeof (a)) == 0
      && getsockname (s, (struct sockaddr *) &a, &len) == 0)
    port = ntohs (a.sin_port);
  close (s);
  return port;
}

inline bool
PortOpen (int port)
{
  int s = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  a.sin_port = htons (port);
  bool ok = connect (s, (struct sockaddr *) &a, sizeof (a)) == 0;
  close (s);
  return ok;
}

// mosquitto with a private folder @dir; TLS when @tls_conf holds the
// listener's cafile/certfile/keyfile lines.
class Broker
{
public:
  std::string dir;
  int port = 0;
  std::string tls_conf;

  bool Start (const std::string &folder, int use_port = 0)
  {
    dir = folder;
    port = use_port ? use_port : FreePort ();
    std::string conf = dir + "/mosquitto.conf";
    std::string text = "listener " + std::to_string (port) + " 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        "persistence_location " + dir + "/\n"
        "log_dest file " + dir + "/mosquitto.log\n" + tls_conf;
    if (getuid () == 0)
      text += "user root\n";    // else it drops to a user who cannot write here
    if (!g_file_set_contents (conf.c_str (), text.c_str (), -1, NULL))
      return false;
    const char *argv[] = { "mosquitto", "-c", conf.c_str (), NULL };
    GError *err = NULL;
    if (!g_spawn_async (NULL, (char **) argv, NULL,
            (GSpawnFlags) (G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL),
            NULL, NULL, &pid, &err)) {
      g_printerr ("cannot start mosquitto: %s\n", err->message);
      g_error_free (err);
      return false;
    }
    for (int i = 0; i < 3000; i++) {       // up to 30 s on a busy machine
      if (PortOpen (port))
        return true;
      int st;
      if (waitpid (pid, &st, WNOHANG) == pid) {
        pid = 0;
        return false;
      }
      g_usleep (10000);
    }
    return false;
  }

  // SIGTERM (the broker saves its sessions), then waits for it.
  void Stop ()
  {
    if (pid <= 0)
      return;
    kill (pid, SIGTERM);
    for (int i = 0; i < 3000; i++) {
      int st;
      if (waitpid (pid, &st, WNOHANG) == pid) {
        pid = 0;
        return;
      }
      g_usleep (10000);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
    pid = 0;
  }

  bool Running () const { return pid > 0; }
  ~Broker () { Stop (); }

private:
  GPid pid = 0;
};

struct Received
{
  std::string topic, payload;
  bool retained;
};

// A libmosquitto subscriber on its own thread that reconnects by itself;
// with @session (a client id) its session and QoS 1 subscription survive
// a broker restart, so it misses nothing published meanwhile.
class Subscriber
{
public:
  bool Start (int port, const std::string &topic, const char *session = NULL,
      const char *ca_file = NULL)
  {
    filter = topic;
    m = mosquitto_new (session, session == NULL, this);
    if (!m)
      return false;
    mosquitto_connect_callback_set (m, OnConnect);
    mosquitto_message_callback_set (m, OnMessage);
    mosquitto_subscribe_callback_set (m, OnSubscribe);
    mosquitto_reconnect_delay_set (m, 1, 1, false);
    if (ca_file && mosquitto_tls_set (m, ca_file, NULL, NULL, NULL,
            NULL) != MOSQ_ERR_SUCCESS)
      return false;
    if (mosquitto_connect (m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS)
      return false;
    if (mosquitto_loop_start (m) != MOSQ_ERR_SUCCESS)
      return false;
    return WaitFor ([this](const std::vector<Received> &) {
          return subscribed.load ();
        });
  }

  std::vector<Received> Snapshot ()
  {
    std::lock_guard<std::mutex> l (mu);
    return msgs;
  }

  // Polls @pred on the messages so far, for up to 30 s.
  bool WaitFor (std::function<bool (const std::vector<Received> &)> pred,
      int seconds = 30)
  {
    for (int i = 0; i < seconds * 50; i++) {
      if (pred (Snapshot ()))
        return true;
      g_usleep (20000);
    }
    return pred (Snapshot ());
  }

  ~Subscriber ()
  {
    if (m) {
      mosquitto_disconnect (m);
      mosquitto_loop_stop (m, false);
      mosquitto_destroy (m);
    }
  }

private:
  struct mosquitto *m = NULL;
  std::string filter;
  std::mutex mu;
  std::vector<Received> msgs;
  std::atomic<bool> subscribed { false };

  static void OnConnect (struct mosquitto *m, void *data, int rc)
  {
    auto *self = static_cast<Subscriber *> (data);
    if (rc == 0)
      mosquitto_subscribe (m, NULL, self->filter.c_str (), 1);
  }

  static void OnSubscribe (struct mosquitto *, void *data, int, int,
      const int *)
  {
    static_cast<Subscriber *> (data)->subscribed = true;
  }

  static void OnMessage (struct mosquitto *, void *data,
      const struct mosquitto_message *msg)
  {
    auto *self = static_cast<Subscriber *> (data);
    std::lock_guard<std::mutex> l (self->mu);
    self->msgs.push_back ({ msg->topic, std::string ((const char *)
                msg->payload, msg->payloadlen), msg->retain });
  }
};

}  // namespace fvmqtt

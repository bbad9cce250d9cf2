// gst-faceverify: a real PostgreSQL 15 server for the tests. initdb makes a
// cluster in the build tree (as the unprivileged `postgres` user when run
// as root: initdb refuses root), the server runs as the test's child on a
// free port on 127.0.0.1 only, with its unix socket in the cluster's
// folder; Stop() (or the destructor) shuts it down, and it dies with the
// test (parent-death signal) if the test crashes first. Password authentication over TCP
// (scram-sha-256), trust over the socket for the fixture's own psql.
#ifndef FV_PG_FIXTURE_H
#define FV_PG_FIXTURE_H

#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define FV_PG_BINDIR "/usr/lib/postgresql/15/bin"
#define FV_PG_PASSWORD "s3cret-Pw_42"

class FvPgServer
{
public:
  ~FvPgServer ()
  {
    Stop ();
    if (!dir_.empty () && !keep_) {
      std::string rm = "rm -rf '" + dir_ + "'";
      if (system (rm.c_str ()) != 0)
        fprintf (stderr, "could not remove %s\n", dir_.c_str ());
    }
  }

  // Keeps the cluster's folder (with server.log) after the test.
  void Keep () { keep_ = true; }

  // Whether the server binaries are installed (tests skip otherwise).
  static bool Available ()
  {
    return g_file_test (FV_PG_BINDIR "/initdb", G_FILE_TEST_IS_EXECUTABLE)
        && g_file_test (FV_PG_BINDIR "/pg_ctl", G_FILE_TEST_IS_EXECUTABLE);
  }

  // Creates the cluster and starts it; false with @why on failure.
  bool Init (std::string *why)
  {
    const char *build = g_getenv ("FV_BUILD_DIR");
    char tmpl[64];

    g_snprintf (tmpl, sizeof tmpl, "pg-%d-XXXXXX", (int) getpid ());
    dir_ = std::string (build && *build ? build : g_get_tmp_dir ())
        + "/tests/" + tmpl;
    g_mkdir_with_parents ((std::string (build && *build ? build :
                g_get_tmp_dir ()) + "/tests").c_str (), 0755);
    if (!g_mkdtemp (&dir_[0]))
      return Fail (why, "cannot create " + dir_);
    chmod (dir_.c_str (), 0700);
    struct passwd *pw = geteuid () == 0 ? getpwnam ("postgres") : nullptr;
    if (geteuid () == 0 && !pw)
      return Fail (why, "running as root and there is no postgres user");
    if (pw && chown (dir_.c_str (), pw->pw_uid, pw->pw_gid) != 0)
      return Fail (why, "cannot give " + dir_ + " to postgres");
    as_postgres_ = pw != nullptr;
    std::string pwfile = dir_ + "/pwfile";
    if (!g_file_set_contents (pwfile.c_str (), FV_PG_PASSWORD "\n", -1,
            nullptr))
      return Fail (why, "cannot write " + pwfile);
    if (pw && chown (pwfile.c_str (), pw->pw_uid, pw->pw_gid) != 0)
      return Fail (why, "cannot give the password file to postgres");
    if (!Run ({FV_PG_BINDIR "/initdb", "-D", dir_ + "/data", "-U",
                "postgres", "--pwfile=" + pwfile, "--auth-local=trust",
                "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8",
                "--locale=C"}, why))
      return false;
    return Start (why) && Psql ("CREATE DATABASE fvtest", why);
  }

  // Runs the server as our child, which dies with us (parent-death
  // signal) even when the test crashes before Stop().
  bool Start (std::string *why)
  {
    if (port_ == 0)
      port_ = FreePort ();
    std::vector<std::string> args;
    if (as_postgres_)
      args = {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres",
        "--init-groups", "--pdeathsig=TERM", "--"};
    for (const char *a : {FV_PG_BINDIR "/postgres", "-D"})
      args.push_back (a);
    args.push_back (dir_ + "/data");
    args.push_back ("-p");
    args.push_back (std::to_string (port_));
    for (const char *a : {"-c", "listen_addresses=127.0.0.1", "-c",
            "fsync=off", "-c", "max_connections=60", "-c"})
      args.push_back (a);
    args.push_back ("unix_socket_directories=" + dir_);
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back (&a[0]);
    argv.push_back (nullptr);
    int log = open ((dir_ + "/server.log").c_str (),
        O_WRONLY | O_CREAT | O_APPEND, 0644);
    GError *error = nullptr;
    GPid pid = 0;
    gboolean ok = g_spawn_async_with_fds ("/", argv.data (), nullptr,
        G_SPAWN_DO_NOT_REAP_CHILD, SetDeathSignal, nullptr, &pid, -1, log,
        log, &error);
    if (log >= 0)
      close (log);
    if (!ok) {
      std::string msg = error->message;
      g_error_free (error);
      return Fail (why, "cannot start postgres: " + msg);
    }
    pid_ = pid;
    running_ = true;
    // Ready when psql gets in (60 s at most), unless it exited.
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    std::string db = db_;
    db_ = "postgres";
    while (g_get_monotonic_time () < deadline) {
      int status = 0;
      if (waitpid (pid_, &status, WNOHANG) == pid_) {
        running_ = false;
        db_ = db;
        return Fail (why, "postgres exited; see " + dir_ + "/server.log");
      }
      if (Psql ("SELECT 1")) {
        db_ = db;
        return true;
      }
      g_usleep (100 * 1000);
    }
    db_ = db;
    Stop ();
    return Fail (why, "postgres did not accept connections within 60 s");
  }

  // Fast shutdown (SIGINT), then waits for the server to exit.
  void Stop ()
  {
    if (!running_)
      return;
    running_ = false;
    kill (pid_, SIGINT);
    gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    int status = 0;
    while (waitpid (pid_, &status, WNOHANG) == 0) {
      if (g_get_monotonic_time () > deadline) {
        kill (pid_, SIGKILL);
        waitpid (pid_, &status, 0);
        break;
      }
      g_usleep (20 * 1000);
    }
    g_spawn_close_pid (pid_);
  }

  // Runs SQL as the superuser over the unix socket.
  bool Psql (const std::string &sql, std::string *why = nullptr)
  {
    return Run ({FV_PG_BINDIR "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "-h", dir_, "-p", std::to_string (port_), "-U", "postgres",
            "-d", db_, "-c", sql}, why);
  }

  void UseDatabase (const std::string &db) { db_ = db; }

  // A libpq URI for @user (password in the URI) on 127.0.0.1.
  std::string Uri (const std::string &user = "postgres",
      const std::string &password = FV_PG_PASSWORD,
      const std::string &db = "fvtest") const
  {
    return "postgresql://" + user + ":" + password + "@127.0.0.1:" +
        std::to_string (port_) + "/" + db + "?sslmode=disable";
  }

  int Port () const { return port_; }
  const std::string &Dir () const { return dir_; }

private:
  std::string dir_;
  std::string db_ = "postgres";
  int port_ = 0;
  pid_t pid_ = 0;
  bool running_ = false;
  bool as_postgres_ = false;
  bool keep_ = false;

  static bool Fail (std::string *why, const std::string &msg)
  {
    if (why)
      *why = msg;
    return false;
  }

  static void SetDeathSignal (gpointer)
  {
    prctl (PR_SET_PDEATHSIG, SIGTERM);
  }

  static int FreePort ()
  {
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { };
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    a.sin_port = 0;
    int port = 0;
    if (fd >= 0 && bind (fd, (struct sockaddr *) &a, sizeof a) == 0
        && getsockname (fd, (struct sockaddr *) &a, &len) == 0)
      port = ntohs (a.sin_port);
    if (fd >= 0)
      close (fd);
    return port;
  }

  bool Run (std::vector<std::string> args, std::string *why)
  {
    if (as_postgres_)
      args.insert (args.begin (), {"/usr/sbin/runuser", "-u", "postgres",
              "--"});
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back (&a[0]);
    argv.push_back (nullptr);
    char *out = nullptr, *err = nullptr;
    int status = 0;
    GError *error = nullptr;
    // The server (started by pg_ctl) must not inherit our pipes.
    gboolean ok = g_spawn_sync ("/", argv.data (), nullptr,
        G_SPAWN_DEFAULT, nullptr, nullptr, &out, &err, &status, &error);
    bool good = ok && g_spawn_check_wait_status (status, nullptr);
    if (!good && why)
      *why = args[as_postgres_ ? 4 : 0] + " failed: " +
          (error ? error->message : "") + (err ? err : "") + (out ? out : "");
    g_clear_error (&error);
    g_free (out);
    g_free (err);
    return good;
  }
};

#endif // FV_PG_FIXTURE_H

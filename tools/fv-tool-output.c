/* gst-faceverify: face verification on the CPU
 *
 * fv-tool-output.c: atomic, non-clobbering output files for every command
 * (see fv-tool-output.h).
 */
#include "fv-tool-output.h"
#include "fv-tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

struct _FvToolOutput
{
  char *command;
  char *path;
  char *temp;
  gboolean force;
  int fd;
  gboolean failed;
};

/* Whether @a and @b are the same file (both exist). */
static gboolean
same_file (const struct stat *a, const char *b)
{
  struct stat sb;

  return stat (b, &sb) == 0 && a->st_dev == sb.st_dev && a->st_ino == sb.st_ino;
}

/* Refuses a target that is (or is a link to) a file the command reads. */
static gboolean
check_protected (const char *command, const char *path,
    const char *const *protect)
{
  struct stat st;
  guint i;

  for (i = 0; protect && protect[i]; i++) {
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    guint k;

    for (k = 0; k < G_N_ELEMENTS (suffixes); k++) {
      g_autofree char *p = g_strconcat (protect[i], suffixes[k], NULL);

      if (strcmp (p, path) == 0 || (stat (p, &st) == 0
              && same_file (&st, path))) {
        fv_tool_error (command, "%s: refusing to write over %s, which this "
            "command reads", path, p);
        return FALSE;
      }
    }
  }
  return TRUE;
}

static gboolean
check_target (const char *command, const char *path, gboolean force,
    const char *const *protect)
{
  struct stat st;

  if (!check_protected (command, path, protect))
    return FALSE;
  if (lstat (path, &st) != 0) {
    if (errno == ENOENT)
      return TRUE;
    fv_tool_error (command, "%s: %s", path, g_strerror (errno));
    return FALSE;
  }
  if (S_ISLNK (st.st_mode)) {
    fv_tool_error (command, "%s: refusing to write through a symbolic link",
        path);
    return FALSE;
  }
  if (!S_ISREG (st.st_mode)) {
    fv_tool_error (command, "%s: refusing to write over something that is "
        "not a regular file", path);
    return FALSE;
  }
  if (!force) {
    fv_tool_error (command, "%s: the file exists; refusing to overwrite it "
        "(--force replaces it)", path);
    return FALSE;
  }
  return TRUE;
}

FvToolOutput *
fv_tool_output_new (const char *command, const char *path, gboolean force,
    const char *const *protect, gboolean reserve_only)
{
  g_autoptr (FvToolOutput) out = NULL;
  g_autofree char *dir = NULL, *base = NULL, *tmpl = NULL;

  if (!check_target (command, path, force, protect))
    return NULL;
  out = g_new0 (FvToolOutput, 1);
  out->command = g_strdup (command);
  out->path = g_strdup (path);
  out->force = force;
  out->fd = -1;
  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  tmpl = g_strdup_printf ("%s%s.%s.XXXXXX", dir, G_DIR_SEPARATOR_S, base);
  /* mkstemp creates the file exclusively (O_EXCL: never through a link). */
  out->fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0644);
  if (out->fd < 0) {
    fv_tool_error (command, "%s: cannot create a file in %s: %s", path, dir,
        g_strerror (errno));
    return NULL;
  }
  out->temp = g_steal_pointer (&tmpl);
  if (reserve_only) {
    close (out->fd);
    out->fd = -1;
    g_unlink (out->temp);
  } else {
    mode_t mask = umask (0);

    umask (mask);
    fchmod (out->fd, 0666 & ~mask);
  }
  return g_steal_pointer (&out);
}

const char *
fv_tool_output_get_temp_path (FvToolOutput * out)
{
  return out->temp;
}

gboolean
fv_tool_output_write (FvToolOutput * out, const void *data, gsize length)
{
  const char *p = data;

  while (!out->failed && length > 0) {
    gssize n = write (out->fd, p, length);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      fv_tool_error (out->command, "%s: cannot write: %s", out->path,
          g_strerror (errno));
      out->failed = TRUE;
      break;
    }
    p += n;
    length -= (gsize) n;
  }
  return !out->failed;
}

gboolean
fv_tool_output_commit (FvToolOutput * out)
{
  int rc;

  if (out->failed)
    return FALSE;
  if (out->fd >= 0) {
    if (fsync (out->fd) != 0 || close (out->fd) != 0) {
      out->fd = -1;
      fv_tool_error (out->command, "%s: cannot write: %s", out->path,
          g_strerror (errno));
      return FALSE;
    }
    out->fd = -1;
  }
  /* Checked again: something may have appeared at the target meanwhile. */
  if (!check_target (out->command, out->path, out->force, NULL))
    return FALSE;
  if (out->force) {
    rc = rename (out->temp, out->path);
  } else {
    rc = renameat2 (AT_FDCWD, out->temp, AT_FDCWD, out->path, RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      /* No RENAME_NOREPLACE here: link() fails as well when the target
       * exists. */
      rc = link (out->temp, out->path);
      if (rc == 0)
        g_unlink (out->temp);
    }
  }
  if (rc != 0) {
    fv_tool_error (out->command, "%s: cannot write: %s", out->path,
        errno == EEXIST ? "the file appeared meanwhile; refusing to "
        "overwrite it" : g_strerror (errno));
    return FALSE;
  }
  g_clear_pointer (&out->temp, g_free);
  return TRUE;
}

void
fv_tool_output_free (FvToolOutput * out)
{
  if (out == NULL)
    return;
  if (out->fd >= 0)
    close (out->fd);
  if (out->temp)
    g_unlink (out->temp);
  g_free (out->temp);
  g_free (out->path);
  g_free (out->command);
  g_free (out);
}

gboolean
fv_tool_write_file (const char *command, const char *path, const void *data,
    gsize length, gboolean force, const char *const *protect)
{
  g_autoptr (FvToolOutput) out = fv_tool_output_new (command, path, force,
      protect, FALSE);

  return out && fv_tool_output_write (out, data, length)
      && fv_tool_output_commit (out);
}

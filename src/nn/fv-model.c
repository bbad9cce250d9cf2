/* FvModel: a TFLite file turned into fused layers with packed weights. */
#include "fv-config.h"
#include "fv-nn.h"
#include "core/fv-core.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>
#include <glib/gstdio.h>

static const char *const layer_kind_names[FV_LAYER_KIND_COUNT] = {
  "gemm", "fc", "conv", "dwconv3x3", "dwconv", "maxpool", "elementwise",
  "reduce", "prelu", "softmax", "reshape"
};

const char *
fv_layer_kind_name (FvLayerKind kind)
{
  return kind < FV_LAYER_KIND_COUNT ? layer_kind_names[kind] : "?";
}

static void
layer_clear (FvLayer * l)
{
  fv_free_floats (l->w);
  fv_free_floats (l->bias);
  fv_free_floats (l->alpha);
}

static float *
pad_copy (const float *src, gsize n, gsize n_pad)
{
  float *dst = fv_alloc_floats (n_pad);
  if (src)
    memcpy (dst, src, n * sizeof (float));
  return dst;
}

static void
compile_node (FvModel * m, const FvGNode * n, FvLayer * l)
{
  FvGraph *g = m->graph;
  const FvKernelTable *kt = m->kt;
  const FvGTensor *w = n->weights >= 0 ? FV_GTENSOR (g, n->weights) : NULL;
  const float *bias = n->bias >= 0 ? FV_GTENSOR (g, n->bias)->data : NULL;
  const float *alpha = (n->act == FV_ACT_PRELU) ?
      FV_GTENSOR (g, n->alpha)->data : NULL;
  /* The kernels' epilogue is PReLU: a ReLU is PReLU with slopes 0. */
  const gboolean slopes = alpha || n->act == FV_ACT_RELU;

  l->op = n->type;
  l->name = FV_GTENSOR (g, n->out)->name;
  l->x = n->x;
  l->y = n->y;
  l->out = n->out;
  l->act = n->act;
  l->kh = n->kh;
  l->kw = n->kw;
  l->stride_h = n->stride_h;
  l->stride_w = n->stride_w;
  l->padding = n->padding;

  switch (n->type) {
    case FV_NODE_CONV:
      l->out_c = w->shape.dims[0];
      l->in_c = w->shape.dims[3];
      if (n->kh == 1 && n->kw == 1 && n->stride_h == 1 && n->stride_w == 1) {
        l->kind = FV_LAYER_GEMM;
      } else {
        l->kind = FV_LAYER_CONV;
        break;
      }
      /* fall through: a 1x1 convolution is a GEMM over the pixels */
    case FV_NODE_FC:
      if (n->type == FV_NODE_FC) {
        l->kind = FV_LAYER_FC;
        l->out_c = w->shape.dims[0];
        l->in_c = w->shape.dims[1];
      }
      l->c_pad = fv_round_up (l->out_c, kt->gemm_nr);
      l->w = fv_alloc_floats (fv_f32_gemm_packed_size (l->in_c, l->out_c,
              kt->gemm_nr));
      fv_f32_gemm_pack (l->in_c, l->out_c, kt->gemm_nr, w->data, bias, l->w);
      if (slopes)
        l->alpha = pad_copy (alpha, l->out_c, l->c_pad);
      return;
    case FV_NODE_DWCONV:
      l->kind = (n->kh == 3 && n->kw == 3) ? FV_LAYER_DWCONV3X3
          : FV_LAYER_DWCONV;
      l->in_c = l->out_c = w->shape.dims[3];
      l->c_pad = fv_round_up (l->out_c, kt->c_align);
      l->w = fv_alloc_floats (n->kh * n->kw * l->c_pad);
      l->bias = fv_alloc_floats (l->c_pad);
      fv_f32_dwconv_pack (n->kh, n->kw, l->out_c, l->c_pad, w->data, bias,
          l->w, l->bias);
      if (slopes)
        l->alpha = pad_copy (alpha, l->out_c, l->c_pad);
      return;
    case FV_NODE_MAXPOOL:
      l->kind = FV_LAYER_MAXPOOL;
      return;
    case FV_NODE_SUM:
    case FV_NODE_REDUCE_MAX:
      l->kind = FV_LAYER_REDUCE;
      return;
    case FV_NODE_PRELU:
      l->kind = FV_LAYER_PRELU;
      l->c_pad = FV_GTENSOR (g, n->alpha)->n_elems;
      l->alpha = pad_copy (FV_GTENSOR (g, n->alpha)->data, l->c_pad, l->c_pad);
      return;
    case FV_NODE_SOFTMAX:
      l->kind = FV_LAYER_SOFTMAX;
      return;
    case FV_NODE_RESHAPE:
      l->kind = FV_LAYER_RESHAPE;
      return;
    default:
      l->kind = FV_LAYER_ELEMENTWISE;
      return;
  }

  /* Direct convolution. */
  l->c_pad = fv_round_up (l->out_c, kt->c_align);
  l->w = fv_alloc_floats (n->kh * n->kw * l->in_c * l->c_pad);
  l->bias = fv_alloc_floats (l->c_pad);
  fv_f32_conv_pack (l->out_c, n->kh, n->kw, l->in_c, l->c_pad, w->data, bias,
      l->w, l->bias);
  if (slopes)
    l->alpha = pad_copy (alpha, l->out_c, l->c_pad);
}

/* Weights live on in packed form; release the graph's copies unless an
 * op reads the same constant as an operand. */
static void
release_packed_constants (FvModel * m)
{
  FvGraph *g = m->graph;
  g_autofree gboolean *operand = g_new0 (gboolean, g->tensors->len);
  guint i;

  for (i = 0; i < g->nodes->len; i++) {
    const FvGNode *n = FV_GNODE (g, i);
    if (n->dead)
      continue;
    operand[n->x] = TRUE;
    if (n->y >= 0)
      operand[n->y] = TRUE;
  }
  for (i = 0; i < g->nodes->len; i++) {
    const FvGNode *n = FV_GNODE (g, i);
    if (n->dead)
      continue;
    if (n->weights >= 0 && !operand[n->weights])
      g_clear_pointer (&FV_GTENSOR (g, n->weights)->data, g_free);
    if (n->bias >= 0 && !operand[n->bias])
      g_clear_pointer (&FV_GTENSOR (g, n->bias)->data, g_free);
  }
}

static char *
describe_kernels (FvModel * m)
{
  GString *s = g_string_new (NULL);
  gboolean used[FV_LAYER_KIND_COUNT] = { FALSE, };
  guint i;

  for (i = 0; i < m->n_layers; i++)
    used[m->layers[i].kind] = TRUE;
  g_string_append_printf (s, "isa=%s", fv_isa_name (m->isa));
  if (used[FV_LAYER_GEMM] || used[FV_LAYER_FC])
    g_string_append_printf (s, " gemm=%s", m->kt->gemm_name);
  if (used[FV_LAYER_CONV])
    g_string_append_printf (s, " conv=%s", m->kt->conv_name);
  if (used[FV_LAYER_DWCONV3X3])
    g_string_append_printf (s, " dwconv3x3=%s", m->kt->dwconv3x3_name);
  if (used[FV_LAYER_DWCONV])
    g_string_append_printf (s, " dwconv=%s", m->kt->dwconv_name);
  if (used[FV_LAYER_MAXPOOL])
    g_string_append_printf (s, " maxpool=%s", m->kt->maxpool_name);
  return g_string_free (s, FALSE);
}

static FvModel *
model_new (const guint8 * data, gsize size, FvIsa isa, GError ** error)
{
  g_autoptr (FvTflModel) tfl = NULL;
  g_autoptr (FvModel) m = NULL;
  guint i, n_live = 0;

  tfl = fv_tfl_model_parse (data, size, error);
  if (!tfl)
    return NULL;

  m = g_new0 (FvModel, 1);
  m->ref_count = 1;
  m->isa = isa;
  m->kt = fv_kernel_table_get (isa);
  if (!m->kt || !fv_isa_supported (isa)) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "kernels for %s are not available on this machine", fv_isa_name (isa));
    return NULL;
  }
  m->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, size);
  m->graph = fv_graph_new_from_tflite (tfl, error);
  if (!m->graph)
    return NULL;
  fv_graph_run_passes (m->graph);

  for (i = 0; i < m->graph->nodes->len; i++)
    if (!FV_GNODE (m->graph, i)->dead)
      n_live++;
  m->layers = g_new0 (FvLayer, MAX (n_live, 1));
  for (i = 0; i < m->graph->nodes->len; i++) {
    const FvGNode *n = FV_GNODE (m->graph, i);
    if (!n->dead)
      compile_node (m, n, &m->layers[m->n_layers++]);
  }
  release_packed_constants (m);
  m->kernels_desc = describe_kernels (m);
  return g_steal_pointer (&m);
}

/* Opens a model file: a regular file (a device, FIFO or socket would be
 * read forever or block) of at most FV_MODEL_MAX_FILE_SIZE bytes, checked
 * on the open descriptor before anything is read. Returns the descriptor,
 * or -1 with @error set. */
static int
open_model_file (const char *path, struct stat *st, GError ** error)
{
  int fd;

  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, FV_MODEL_ERROR,
        e == ENOENT ? FV_MODEL_ERROR_NOT_FOUND : FV_MODEL_ERROR_IO,
        e == EISDIR ? "%s: the model path is a directory, not a file" :
        "%s: cannot open the model: %s", path, g_strerror (e));
    return -1;
  }
  if (fstat (fd, st) != 0) {
    int e = errno;
    close (fd);
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_IO,
        "%s: cannot open the model: %s", path, g_strerror (e));
    return -1;
  }
  if (S_ISDIR (st->st_mode)) {
    close (fd);
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_IO,
        "%s: the model path is a directory, not a file", path);
    return -1;
  }
  if (!S_ISREG (st->st_mode)) {
    close (fd);
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_IO,
        "%s: the model is not a regular file (a device, pipe or socket)", path);
    return -1;
  }
  if ((guint64) st->st_size > FV_MODEL_MAX_FILE_SIZE) {
    close (fd);
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_IO,
        "%s: the model file is larger than %u MiB (%" G_GUINT64_FORMAT
        " bytes)", path, (guint) (FV_MODEL_MAX_FILE_SIZE >> 20),
        (guint64) st->st_size);
    return -1;
  }
  return fd;
}

/* Reads the file opened by open_model_file() and closes @fd. */
static GBytes *
read_model_fd (int fd, const struct stat *st, const char *path, GError ** error)
{
  g_autofree guint8 *contents = NULL;
  gsize len = 0;

  /* One byte more than the size says: a file that grows is noticed. */
  contents = g_malloc ((gsize) st->st_size + 1);
  while (len <= (gsize) st->st_size) {
    gssize n = read (fd, contents + len, (gsize) st->st_size + 1 - len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close (fd);
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_IO,
          "%s: cannot read the model: %s", path, g_strerror (e));
      return NULL;
    }
    if (n == 0)
      break;
    len += (gsize) n;
  }
  close (fd);
  if (len != (gsize) st->st_size) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_IO,
        "%s: the model file changed while it was read", path);
    return NULL;
  }
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

/* Reads and compiles the file opened as @fd (closed on return). */
static FvModel *
model_new_from_fd (int fd, const struct stat *st, const char *path,
    FvIsa isa, GError ** error)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) local = NULL;
  FvModel *m;
  gsize size;
  const guint8 *data;

  bytes = read_model_fd (fd, st, path, error);
  if (!bytes)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  m = model_new (data, size, isa, &local);
  if (!m) {
    g_set_error (error, local->domain, local->code, "%s: %s", path,
        local->message);
    return NULL;
  }
  return m;
}

static FvModel *
model_new_from_file (const char *path, FvIsa isa, GError ** error)
{
  struct stat st;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = open_model_file (path, &st, error);
  if (fd < 0)
    return NULL;
  return model_new_from_fd (fd, &st, path, isa, error);
}

/**
 * fv_model_new_from_file:
 * @path: (type filename): a TFLite file
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Loads, validates and compiles a model for the best kernels of this CPU
 * (see #FvIsa for `FV_CPU_MASK`). Every error message starts with @path.
 *
 * Returns: (transfer full) (nullable): a new model, or %NULL with @error set
 */
FvModel *
fv_model_new_from_file (const char *path, GError ** error)
{
  return model_new_from_file (path, fv_isa_select (), error);
}

/**
 * fv_model_new_from_file_with_isa:
 * @path: (type filename): a TFLite file
 * @isa: the kernel level to use
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Like fv_model_new_from_file() with the kernel level chosen by the
 * caller, for A/B tests. Fails if @isa is not supported here.
 *
 * Returns: (transfer full) (nullable): a new model
 */
FvModel *
fv_model_new_from_file_with_isa (const char *path, FvIsa isa, GError ** error)
{
  return model_new_from_file (path, isa, error);
}

/**
 * fv_model_new_from_data:
 * @data: (array length=size): the contents of a TFLite file
 * @size: its size in bytes
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Loads a model from memory. @data is only read during the call.
 *
 * Returns: (transfer full) (nullable): a new model
 */
FvModel *
fv_model_new_from_data (const guint8 * data, gsize size, GError ** error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  if (size == 0) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_FORMAT,
        "the model file is empty");
    return NULL;
  }
  return model_new (data, size, fv_isa_select (), error);
}

/**
 * fv_model_ref:
 * @model: a model
 *
 * Returns: (transfer full): @model
 */
FvModel *
fv_model_ref (FvModel * model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_int_inc (&model->ref_count);
  return model;
}

/* The process-wide cache of fv_model_get_shared(): models by the identity
 * of their file. A model leaves it when its last reference is dropped;
 * that last drop happens under the lock, so a lookup never revives a model
 * being freed. */
struct _FvModelKey
{
  guint64 dev, ino, size;
  gint64 mtime_sec, mtime_nsec;
  FvIsa isa;
};

static GMutex cache_lock;
static GHashTable *cache;       /* FvModelKey * -> FvModel * (not owned) */

static guint
model_key_hash (gconstpointer p)
{
  const struct _FvModelKey *k = p;

  return (guint) (k->ino * 2654435761u) ^ (guint) k->dev ^ (guint) k->size
      ^ (guint) k->mtime_nsec ^ (guint) k->isa;
}

static gboolean
model_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (struct _FvModelKey)) == 0;
}

static void
model_free (FvModel * model)
{
  guint i;

  for (i = 0; i < model->n_layers; i++)
    layer_clear (&model->layers[i]);
  g_free (model->layers);
  fv_graph_free (model->graph);
  g_free (model->sha256);
  g_free (model->kernels_desc);
  g_free (model->cache_key);
  g_free (model);
}

/**
 * fv_model_get_shared:
 * @path: (type filename): a TFLite file
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Like fv_model_new_from_file(), but loads a file only once per process:
 * while some caller holds a model loaded from the same file (same device,
 * inode, size and modification time, and the same kernel level), every
 * other caller gets a reference to it, so that the weights are in memory
 * once however many element instances use them. A file that was replaced
 * or changed since is loaded anew. Thread-safe; the model is freed when
 * its last reference is dropped.
 *
 * Returns: (transfer full) (nullable): a reference to the model, or %NULL
 *   with @error set
 */
FvModel *
fv_model_get_shared (const char *path, GError ** error)
{
  struct _FvModelKey key;
  struct stat st;
  FvModel *m, *have;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = open_model_file (path, &st, error);
  if (fd < 0)
    return NULL;
  /* zeroed with its padding: keys are compared with memcmp() */
  memset (&key, 0, sizeof key);
  key.dev = st.st_dev;
  key.ino = st.st_ino;
  key.size = st.st_size;
  key.mtime_sec = st.st_mtim.tv_sec;
  key.mtime_nsec = st.st_mtim.tv_nsec;
  key.isa = fv_isa_select ();

  g_mutex_lock (&cache_lock);
  m = cache ? g_hash_table_lookup (cache, &key) : NULL;
  if (m)
    fv_model_ref (m);
  g_mutex_unlock (&cache_lock);
  if (m) {
    close (fd);
    return m;
  }

  /* Load without the lock: two first users of one file may both load it,
   * and the second keeps the first one's model. */
  m = model_new_from_fd (fd, &st, path, key.isa, error);
  if (!m)
    return NULL;
  g_mutex_lock (&cache_lock);
  if (!cache)
    cache = g_hash_table_new (model_key_hash, model_key_equal);
  have = g_hash_table_lookup (cache, &key);
  if (have) {
    fv_model_ref (have);
  } else {
    m->cache_key = g_memdup2 (&key, sizeof key);
    g_hash_table_insert (cache, m->cache_key, m);
  }
  g_mutex_unlock (&cache_lock);
  if (have) {
    model_free (m);
    return have;
  }
  return m;
}

/**
 * fv_model_get_n_shared:
 *
 * Returns: how many models fv_model_get_shared() holds loaded in this
 *   process at the moment (each is in memory once, however many users
 *   it has)
 */
guint
fv_model_get_n_shared (void)
{
  guint n;

  g_mutex_lock (&cache_lock);
  n = cache ? g_hash_table_size (cache) : 0;
  g_mutex_unlock (&cache_lock);
  return n;
}

/**
 * fv_model_unref:
 * @model: (transfer full): a model
 */
void
fv_model_unref (FvModel * model)
{
  gboolean last;

  if (!model)
    return;
  if (!model->cache_key) {
    if (g_atomic_int_dec_and_test (&model->ref_count))
      model_free (model);
    return;
  }
  g_mutex_lock (&cache_lock);
  last = g_atomic_int_dec_and_test (&model->ref_count);
  if (last)
    g_hash_table_remove (cache, model->cache_key);
  g_mutex_unlock (&cache_lock);
  if (last)
    model_free (model);
}

/**
 * fv_model_get_sha256:
 * @model: a model
 *
 * Returns: (transfer none): the SHA-256 of the model file, lower-case hex;
 *   galleries record it to refuse vectors from another model
 */
const char *
fv_model_get_sha256 (FvModel * model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->sha256;
}

/**
 * fv_model_get_isa:
 * @model: a model
 *
 * Returns: the kernel level that @model runs with
 */
FvIsa
fv_model_get_isa (FvModel * model)
{
  g_return_val_if_fail (model != NULL, FV_ISA_SCALAR);
  return model->isa;
}

/**
 * fv_model_describe_kernels:
 * @model: a model
 *
 * Returns: (transfer none): a one-line description of the kernel chosen
 *   for each family used by @model
 */
const char *
fv_model_describe_kernels (FvModel * model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->kernels_desc;
}

guint
fv_model_get_n_inputs (FvModel * model)
{
  g_return_val_if_fail (model != NULL, 0);
  return 1;
}

guint
fv_model_get_n_outputs (FvModel * model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->graph->n_outputs;
}

/**
 * fv_model_get_n_nodes:
 * @model: a model
 *
 * Returns: the number of layers left after fusion
 */
guint
fv_model_get_n_nodes (FvModel * model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_layers;
}

/**
 * fv_model_get_input_shape:
 * @model: a model
 * @index: input index (0)
 * @shape: (out caller-allocates): the shape declared in the file
 */
void
fv_model_get_input_shape (FvModel * model, guint index, FvShape * shape)
{
  g_return_if_fail (model != NULL && index == 0 && shape != NULL);
  *shape = FV_GTENSOR (model->graph, model->graph->input)->shape;
}

/**
 * fv_model_get_output_shape:
 * @model: a model
 * @index: output index
 * @shape: (out caller-allocates): the shape declared in the file
 */
void
fv_model_get_output_shape (FvModel * model, guint index, FvShape * shape)
{
  g_return_if_fail (model != NULL && index < model->graph->n_outputs);
  *shape = FV_GTENSOR (model->graph, model->graph->outputs[index])->shape;
}

/**
 * fv_model_get_output_name:
 * @model: a model
 * @index: output index
 *
 * Returns: (transfer none): the tensor name of output @index
 */
const char *
fv_model_get_output_name (FvModel * model, guint index)
{
  g_return_val_if_fail (model != NULL && index < model->graph->n_outputs, NULL);
  return FV_GTENSOR (model->graph, model->graph->outputs[index])->name;
}

/**
 * fv_model_find_output:
 * @model: a model
 * @name: a tensor name
 *
 * Returns: the index of the output called @name, or -1
 */
int
fv_model_find_output (FvModel * model, const char *name)
{
  guint i;

  g_return_val_if_fail (model != NULL && name != NULL, -1);
  for (i = 0; i < model->graph->n_outputs; i++)
    if (g_strcmp0 (FV_GTENSOR (model->graph, model->graph->outputs[i])->name,
            name) == 0)
      return i;
  return -1;
}

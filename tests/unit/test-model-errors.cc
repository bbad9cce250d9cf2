// Malformed models: every kind of bad input to fv_model_new_from_data(),
// fv_model_new_from_file() and fv_session_new() must give a NULL result
// with an FV_MODEL_ERROR that names the problem, never a crash, an
// out-of-bounds read (ASan in build-san) or a leak.
//
// The malformed variants are made in memory from the real models (they
// skip when the models are not fetched): a small FlatBuffer walker below
// finds the exact positions of the root offset, vtables, vectors, tensors,
// operators and buffers, patches them or appends new tables and points a
// reference at them. Field ids are the slots of fv-tflite-schema.h, the
// list that src/nn/tflite/fv-tflite.c reads with.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fv-test-util.h"
#include "tflite/fv-tflite-schema.h"

// Truncation sweeps poison the tail of one buffer instead of copying every
// prefix, so that ASan reports any read past the length given.
#if defined(__SANITIZE_ADDRESS__)
#define FV_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FV_TEST_ASAN 1
#endif
#endif
#ifdef FV_TEST_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION (p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION (p, n)
#else
#define POISON(p, n) ((void) (p), (void) (n))
#define UNPOISON(p, n) ((void) (p), (void) (n))
#endif

namespace fvtest {

class Tfl
{
 public:
  explicit Tfl (std::vector<unsigned char> bytes) : d (std::move (bytes)) {}

  std::vector<unsigned char> d;

  uint32_t U32 (size_t p) const {
    uint32_t v;
    memcpy (&v, &d[p], 4);
    return v;
  }
  uint16_t U16 (size_t p) const {
    uint16_t v;
    memcpy (&v, &d[p], 2);
    return v;
  }
  void SetU32 (size_t p, uint32_t v) { memcpy (&d[p], &v, 4); }
  void SetU16 (size_t p, uint16_t v) { memcpy (&d[p], &v, 2); }

  // --- generic FlatBuffer access ---------------------------------------
  size_t VTable (size_t t) const { return t - (int32_t) U32 (t); }
  // Position of the vtable slot (uint16) of field @id, or 0.
  size_t VTableSlot (size_t t, int id) const {
    size_t vt = VTable (t);
    return 4 + 2 * (size_t) id < U16 (vt) ? vt + 4 + 2 * id : 0;
  }
  // Position of field @id of table @t, or 0 if absent.
  size_t Field (size_t t, int id) const {
    size_t slot = VTableSlot (t, id);
    return slot && U16 (slot) ? t + U16 (slot) : 0;
  }
  // Target of the reference in field @id, or 0.
  size_t Ref (size_t t, int id) const {
    size_t f = Field (t, id);
    return f ? f + U32 (f) : 0;
  }
  // Position of the length word of the vector in field @id, or 0.
  size_t Vec (size_t t, int id) const { return Ref (t, id); }
  uint32_t Len (size_t vec) const { return U32 (vec); }
  size_t ElemPos (size_t vec, uint32_t i) const { return vec + 4 + 4 * i; }
  size_t ElemTable (size_t vec, uint32_t i) const {
    size_t p = ElemPos (vec, i);
    return p + U32 (p);
  }

  // --- the model -------------------------------------------------------
  size_t Root () const { return U32 (0); }
  size_t Subgraph () const {
    return ElemTable (Vec (Root (), FV_TFLITE_MODEL_SUBGRAPHS), 0);
  }
  size_t TensorsVec () const {
    return Vec (Subgraph (), FV_TFLITE_SUBGRAPH_TENSORS);
  }
  size_t OpsVec () const {
    return Vec (Subgraph (), FV_TFLITE_SUBGRAPH_OPERATORS);
  }
  size_t OpCodesVec () const {
    return Vec (Root (), FV_TFLITE_MODEL_OPERATOR_CODES);
  }
  size_t BuffersVec () const { return Vec (Root (), FV_TFLITE_MODEL_BUFFERS); }
  uint32_t NumTensors () const { return Len (TensorsVec ()); }
  uint32_t NumOps () const { return Len (OpsVec ()); }
  size_t Tensor (uint32_t i) const { return ElemTable (TensorsVec (), i); }
  size_t Op (uint32_t i) const { return ElemTable (OpsVec (), i); }
  size_t OpCode (uint32_t i) const { return ElemTable (OpCodesVec (), i); }
  size_t Buffer (uint32_t i) const { return ElemTable (BuffersVec (), i); }

  std::string String (size_t s) const {
    return s ? std::string ((const char *) &d[s + 4], U32 (s)) : "";
  }
  std::string TensorName (uint32_t i) const {
    return String (Ref (Tensor (i), FV_TFLITE_TENSOR_NAME));
  }
  std::vector<int32_t> IntVector (size_t v) const {
    std::vector<int32_t> out;
    for (uint32_t k = 0; v && k < Len (v); k++)
      out.push_back ((int32_t) U32 (v + 4 + 4 * k));
    return out;
  }
  std::vector<int32_t> TensorShape (uint32_t i) const {
    return IntVector (Vec (Tensor (i), FV_TFLITE_TENSOR_SHAPE));
  }
  int TensorType (uint32_t i) const {
    size_t f = Field (Tensor (i), FV_TFLITE_TENSOR_TYPE);
    return f ? (int8_t) d[f] : 0;
  }
  uint32_t TensorBuffer (uint32_t i) const {
    size_t f = Field (Tensor (i), FV_TFLITE_TENSOR_BUFFER);
    return f ? U32 (f) : 0;
  }
  int OpBuiltin (uint32_t op) const {
    size_t f = Field (Op (op), FV_TFLITE_OPERATOR_OPCODE_INDEX);
    size_t oc = OpCode (f ? U32 (f) : 0);
    size_t dep = Field (oc, FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE);
    size_t code = Field (oc, FV_TFLITE_OPERATOR_CODE_BUILTIN_CODE);
    int a = dep ? (int8_t) d[dep] : 0, b = code ? (int32_t) U32 (code) : 0;
    return a > b ? a : b;
  }
  std::vector<int32_t> OpInputs (uint32_t op) const {
    return IntVector (Vec (Op (op), FV_TFLITE_OPERATOR_INPUTS));
  }
  std::vector<int32_t> OpOutputs (uint32_t op) const {
    return IntVector (Vec (Op (op), FV_TFLITE_OPERATOR_OUTPUTS));
  }
  // Index of the @nth operator with builtin code @builtin, or -1.
  int FindOp (int builtin, int nth = 0) const {
    for (uint32_t i = 0; i < NumOps (); i++)
      if (OpBuiltin (i) == builtin && nth-- == 0)
        return (int) i;
    return -1;
  }
  // Index of the operator code entry with @builtin, or -1.
  int FindOpCode (int builtin) const {
    for (uint32_t i = 0; i < Len (OpCodesVec ()); i++) {
      size_t dep = Field (OpCode (i),
          FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE);
      if (dep && (int8_t) d[dep] == builtin)
        return (int) i;
    }
    return -1;
  }
  int FindTensor (const std::string &name) const {
    for (uint32_t i = 0; i < NumTensors (); i++)
      if (TensorName (i) == name)
        return (int) i;
    return -1;
  }

  // --- appending new objects --------------------------------------------
  // One field of a table to append: a scalar of 1, 2, 4 or 8 bytes, or a
  // reference to an object (vector or string: length word + payload).
  struct NewField {
    int id;
    uint64_t scalar;
    unsigned size;                  // bytes of the scalar, 0 for a ref
    std::vector<unsigned char> obj; // for a ref
  };
  static NewField Scalar (int id, uint64_t v, unsigned size) {
    return NewField{ id, v, size, {} };
  }
  static NewField IntVec (int id, const std::vector<int32_t> &v) {
    NewField f{ id, 0, 0, {} };
    uint32_t n = (uint32_t) v.size ();
    f.obj.resize (4 + 4 * v.size ());
    memcpy (f.obj.data (), &n, 4);
    if (n)
      memcpy (f.obj.data () + 4, v.data (), 4 * v.size ());
    return f;
  }
  static NewField Bytes (int id, const std::vector<unsigned char> &b) {
    NewField f{ id, 0, 0, {} };
    uint32_t n = (uint32_t) b.size ();
    f.obj.resize (4 + b.size ());
    memcpy (f.obj.data (), &n, 4);
    if (n)
      memcpy (f.obj.data () + 4, b.data (), b.size ());
    return f;
  }
  static NewField Str (int id, const std::string &s) {
    NewField f{ id, 0, 0, {} };
    uint32_t n = (uint32_t) s.size ();
    f.obj.resize (4 + s.size () + 1);
    memcpy (f.obj.data (), &n, 4);
    memcpy (f.obj.data () + 4, s.data (), s.size ());
    return f;
  }

  // Appends a table with @fields (each in its own 8-byte slot, so that
  // every scalar is naturally aligned) and the objects it refers to;
  // returns the table position.
  size_t AppendTable (const std::vector<NewField> &fields) {
    int max_id = -1;
    for (const auto &f : fields)
      max_id = f.id > max_id ? f.id : max_id;
    uint16_t vt_size = (uint16_t) (4 + 2 * (max_id + 1));
    uint16_t table_size = (uint16_t) (8 + 8 * fields.size ());
    Align (8);
    size_t vt = d.size ();
    d.resize (vt + ((vt_size + 7) & ~7u), 0);
    size_t t = d.size ();
    d.resize (t + table_size, 0);
    SetU16 (vt, vt_size);
    SetU16 (vt + 2, table_size);
    SetU32 (t, (uint32_t) (t - vt));
    std::vector<size_t> ref_pos;
    for (size_t k = 0; k < fields.size (); k++) {
      size_t slot = 8 + 8 * k;
      SetU16 (vt + 4 + 2 * fields[k].id, (uint16_t) slot);
      if (fields[k].size)
        memcpy (&d[t + slot], &fields[k].scalar, fields[k].size);
      ref_pos.push_back (t + slot);
    }
    for (size_t k = 0; k < fields.size (); k++) {
      if (fields[k].size)
        continue;
      Align (4);
      size_t o = d.size ();
      d.insert (d.end (), fields[k].obj.begin (), fields[k].obj.end ());
      SetU32 (ref_pos[k], (uint32_t) (o - ref_pos[k]));
    }
    Align (4);
    return t;
  }

  // Appends a vector of @n uint32 (uoffsets to fill with Repoint(), or
  // values); returns the position of its length word.
  size_t AppendVector (uint32_t n) {
    Align (4);
    size_t v = d.size ();
    d.resize (v + 4 + 4 * (size_t) n, 0);
    SetU32 (v, n);
    return v;
  }

  // Points the uoffset at @pos (a vector element or a reference field,
  // before the end of the file) at @target.
  void Repoint (size_t pos, size_t target) {
    SetU32 (pos, (uint32_t) (target - pos));
  }

  // Replaces operator @i by a new table: the same operator code, other
  // inputs and outputs (NULL: the field is left out) and, if given, a new
  // options table (else none).
  void ReplaceOp (uint32_t i, const std::vector<int32_t> *inputs,
      const std::vector<int32_t> *outputs,
      const std::vector<NewField> *options = nullptr) {
    size_t op = Op (i), slot = ElemPos (OpsVec (), i);
    size_t oci = Field (op, FV_TFLITE_OPERATOR_OPCODE_INDEX);
    size_t ot = Field (op, FV_TFLITE_OPERATOR_BUILTIN_OPTIONS_TYPE);
    std::vector<NewField> f = { Scalar (FV_TFLITE_OPERATOR_OPCODE_INDEX,
          oci ? U32 (oci) : 0, 4) };
    if (inputs)
      f.push_back (IntVec (FV_TFLITE_OPERATOR_INPUTS, *inputs));
    if (outputs)
      f.push_back (IntVec (FV_TFLITE_OPERATOR_OUTPUTS, *outputs));
    if (ot && options)
      f.push_back (Scalar (FV_TFLITE_OPERATOR_BUILTIN_OPTIONS_TYPE, d[ot], 1));
    if (options)
      f.push_back (Scalar (FV_TFLITE_OPERATOR_BUILTIN_OPTIONS, 0, 4));
    size_t t = AppendTable (f);
    if (options)
      Repoint (Field (t, FV_TFLITE_OPERATOR_BUILTIN_OPTIONS),
          AppendTable (*options));
    Repoint (slot, t);
  }

  // Replaces tensor @i by a new table with these properties.
  void ReplaceTensor (uint32_t i, const std::vector<int32_t> &shape,
      int type, uint32_t buffer, const std::string &name) {
    size_t slot = ElemPos (TensorsVec (), i);
    size_t t = AppendTable ({ IntVec (FV_TFLITE_TENSOR_SHAPE, shape),
        Scalar (FV_TFLITE_TENSOR_TYPE, (uint64_t) (uint8_t) type, 1),
        Scalar (FV_TFLITE_TENSOR_BUFFER, buffer, 4),
        Str (FV_TFLITE_TENSOR_NAME, name) });
    Repoint (slot, t);
  }

 private:
  void Align (size_t a) {
    while (d.size () % a)
      d.push_back (0);
  }
};

}  // namespace fvtest

namespace {

using fvtest::Tfl;

// The result of one load.
struct Outcome
{
  bool loaded = false;
  GQuark domain = 0;
  int code = -1;
  std::string message;
};

// Loads @size bytes at @data exactly as given (the caller makes sure that
// nothing past them is readable).
Outcome
LoadRaw (const guint8 *data, size_t size, FvModel **keep = nullptr)
{
  Outcome o;
  GError *error = NULL;
  FvModel *m = fv_model_new_from_data (data, size, &error);
  if (m) {
    o.loaded = true;
    if (keep)
      *keep = m;
    else
      fv_model_unref (m);
  } else if (error) {
    o.domain = error->domain;
    o.code = error->code;
    o.message = error->message;
    g_error_free (error);
  }
  return o;
}

// Loads a copy of @d in a heap block of exactly its size, so that ASan
// sees any read past the end.
Outcome
Load (const std::vector<unsigned char> &d, FvModel **keep = nullptr)
{
  guint8 *copy = (guint8 *) g_memdup2 (d.data (), d.size ());
  Outcome o = LoadRaw (copy, d.size (), keep);
  g_free (copy);
  return o;
}

const char *
CodeName (int code)
{
  static const char *const names[] = { "NOT_FOUND", "IO", "FORMAT",
    "VERSION", "UNSUPPORTED_OP", "UNSUPPORTED_TYPE", "SHAPE", "INVALID" };
  return code >= 0 && code < (int) G_N_ELEMENTS (names) ? names[code] : "?";
}

std::string
Describe (const Outcome &o)
{
  if (o.loaded)
    return "it loaded";
  return std::string ("error ") + (o.domain == FV_MODEL_ERROR ?
      "FV_MODEL_ERROR" : g_quark_to_string (o.domain)) + "/" +
      CodeName (o.code) + ": \"" + o.message + "\"";
}

// The load failed with FV_MODEL_ERROR @code and a message that contains
// every one of @needles.
::testing::AssertionResult
IsError (const Outcome &o, FvModelError code,
    std::initializer_list<const char *> needles)
{
  if (o.loaded || o.domain != FV_MODEL_ERROR || o.code != code)
    return ::testing::AssertionFailure () << "expected FV_MODEL_ERROR/"
        << CodeName (code) << ", got " << Describe (o);
  for (const char *n : needles)
    if (o.message.find (n) == std::string::npos)
      return ::testing::AssertionFailure () << "message \"" << o.message
          << "\" does not mention \"" << n << "\"";
  return ::testing::AssertionSuccess ();
}

::testing::AssertionResult
FailsWith (const std::vector<unsigned char> &d, FvModelError code,
    std::initializer_list<const char *> needles)
{
  return IsError (Load (d), code, needles);
}

// Any clean model error (for sweeps where several codes are right).
::testing::AssertionResult
IsCleanError (const Outcome &o)
{
  if (o.loaded)
    return ::testing::AssertionFailure () << "it loaded";
  if (o.domain != FV_MODEL_ERROR || o.code < FV_MODEL_ERROR_NOT_FOUND
      || o.code > FV_MODEL_ERROR_INVALID || o.message.empty ())
    return ::testing::AssertionFailure () << "not a clean model error: "
        << Describe (o);
  return ::testing::AssertionSuccess ();
}

// Plans @m (at @h x @w, 0 = the file's size) for one image, runs it on a
// constant image and checks that every output is readable. Returns FALSE
// if planning failed (with a model error, checked here).
bool
PlanAndRun (FvModel *m, guint h, guint w, std::string *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = fv_session_new (m, 1, h, w, &error);
  if (!s) {
    EXPECT_TRUE (error && error->domain == FV_MODEL_ERROR) << "session "
        "creation failed without a model error";
    if (why && error)
      *why = error->message;
    return false;
  }
  FvShape in;
  fv_model_get_input_shape (m, 0, &in);
  gsize n = (gsize) (h ? h : in.dims[1]) * (w ? w : in.dims[2]) * in.dims[3];
  float *x = fv_session_get_input (s, 0);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) (i % 255) / 128.0f - 1.0f;
  fv_session_run (s, 1);
  for (guint i = 0; i < fv_model_get_n_outputs (m); i++) {
    FvShape os;
    const float *y = fv_session_get_output (s, i, &os);
    volatile float sum = 0;
    for (gsize k = 0; k < (gsize) os.dims[os.rank - 1]; k++)
      sum += y[k];
    (void) sum;
  }
  return true;
}

// The model files, read once.
const std::vector<unsigned char> &
ModelBytes (const char *name)
{
  static std::map<std::string, std::vector<unsigned char>> cache;
  auto it = cache.find (name);
  if (it == cache.end ()) {
    std::string path = fvtest::ModelPath (name);
    it = cache.emplace (name, path.empty () ? std::vector<unsigned char> ()
        : fvtest::ReadFile (path)).first;
  }
  return it->second;
}

#define FV_MODEL_BYTES(var, name)                                           \
  FV_SKIP_WITHOUT_MODEL (var##_path, name);                                 \
  const std::vector<unsigned char> &var = ModelBytes (name);                \
  ASSERT_GT (var.size (), 1024u) << var##_path

// --------------------------------------------------------------------------
// The walker itself, on the real files
// --------------------------------------------------------------------------

TEST (ModelWalker, FindsWhatTheReaderFinds)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl t (pnet);
  int conv = t.FindOp (3);
  ASSERT_GE (conv, 0);
  std::vector<int32_t> in = t.OpInputs (conv);
  ASSERT_EQ (3u, in.size ());
  EXPECT_EQ (4u, t.TensorShape (in[1]).size ());
  EXPECT_GT (t.TensorBuffer (in[1]), 0u);
  EXPECT_EQ (3u, t.U32 (t.Field (t.Root (), FV_TFLITE_MODEL_VERSION)));
  // An untouched copy and a copy with a re-pointed (identical) tensor
  // still load: the appending code makes valid FlatBuffers.
  EXPECT_TRUE (Load (t.d).loaded);
  t.ReplaceTensor (in[1], t.TensorShape (in[1]), 0, t.TensorBuffer (in[1]),
      t.TensorName (in[1]));
  Outcome o = Load (t.d);
  EXPECT_TRUE (o.loaded) << Describe (o);
}

// --------------------------------------------------------------------------
// Empty, short and truncated data
// --------------------------------------------------------------------------

TEST (ModelData, EmptyIsAFormatError)
{
  EXPECT_TRUE (IsError (LoadRaw (NULL, 0), FV_MODEL_ERROR_FORMAT,
          { "empty" }));
  guint8 one = 0;
  EXPECT_TRUE (IsError (LoadRaw (&one, 0), FV_MODEL_ERROR_FORMAT,
          { "empty" }));
}

TEST (ModelData, ShorterThanTheHeader)
{
  const guint8 header[8] = { 0x18, 0, 0, 0, 'T', 'F', 'L', '3' };
  for (size_t n = 1; n < 8; n++) {
    guint8 *copy = (guint8 *) g_memdup2 (header, n);
    EXPECT_TRUE (IsError (LoadRaw (copy, n), FV_MODEL_ERROR_FORMAT,
            { "too short" })) << n << " bytes";
    g_free (copy);
  }
  // The header alone: the root table is outside the file.
  EXPECT_TRUE (FailsWith (std::vector<unsigned char> (header, header + 8),
          FV_MODEL_ERROR_FORMAT, { "outside" }));
}

// Loads every prefix length in @lengths (ascending) of @model. All must
// fail cleanly (FORMAT, or SHAPE where a constant's data is cut), except
// that the last few bytes may hold padding or a table that the engine
// never reads: from the first prefix that loads on, every longer one must
// load too, and that prefix must be within 64 bytes of the end.
void
SweepTruncations (const std::vector<unsigned char> &model,
    const std::vector<size_t> &lengths)
{
  guint8 *buf = (guint8 *) g_memdup2 (model.data (), model.size ());
  size_t first_loaded = 0;
  int bad = 0;
  for (size_t len : lengths) {
    ASSERT_LT (len, model.size ());
    POISON (buf + len, model.size () - len);
    Outcome o = LoadRaw (len ? buf : NULL, len);
    UNPOISON (buf + len, model.size () - len);
    bool ok;
    if (o.loaded) {
      if (!first_loaded)
        first_loaded = len;
      ok = len + 64 >= model.size ();
    } else {
      ok = !first_loaded && o.domain == FV_MODEL_ERROR
          && (o.code == FV_MODEL_ERROR_FORMAT
          || o.code == FV_MODEL_ERROR_SHAPE) && !o.message.empty ();
    }
    if (!ok && bad++ < 10)
      ADD_FAILURE () << "truncated to " << len << " of " << model.size ()
          << " bytes: " << Describe (o);
  }
  g_free (buf);
  EXPECT_EQ (0, bad) << "of " << lengths.size () << " truncations";
}

// All lengths below 256, a geometric sweep over the whole file, and every
// length in @tail_every-strided steps over the last @tail bytes (where the
// converters put the tables).
std::vector<size_t>
TruncationLengths (size_t size, size_t tail, size_t tail_every)
{
  std::vector<size_t> v;
  for (size_t n = 0; n < std::min<size_t> (256, size); n++)
    v.push_back (n);
  for (double n = 256; n < size; n *= 1.01)
    v.push_back ((size_t) n);
  for (size_t n = size > tail ? size - tail : 0; n < size; n += tail_every)
    v.push_back (n);
  v.push_back (size - 1);
  std::sort (v.begin (), v.end ());
  v.erase (std::unique (v.begin (), v.end ()), v.end ());
  return v;
}

TEST (ModelData, TruncatedPnetAtEveryLength)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  std::vector<size_t> all;
  for (size_t n = 0; n < pnet.size (); n++)
    all.push_back (n);
  SweepTruncations (pnet, all);
}

TEST (ModelData, TruncatedRnet)
{
  FV_MODEL_BYTES (rnet, "rnet.tflite");
  SweepTruncations (rnet, TruncationLengths (rnet.size (), 8192, 1));
}

TEST (ModelData, TruncatedMobileFaceNet)
{
  FV_MODEL_BYTES (mfn, "MobileFaceNet.tflite");
  SweepTruncations (mfn, TruncationLengths (mfn.size (), 65536, 3));
}

// --------------------------------------------------------------------------
// Header, root, vtables, vectors and references
// --------------------------------------------------------------------------

TEST (ModelData, WrongIdentifier)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  std::vector<unsigned char> d = pnet;
  memcpy (&d[4], "TFL2", 4);
  EXPECT_TRUE (FailsWith (d, FV_MODEL_ERROR_FORMAT,
          { "identifier", "TFL2" }));
  memcpy (&d[4], "\0\xff\0\x01", 4);
  EXPECT_TRUE (FailsWith (d, FV_MODEL_ERROR_FORMAT, { "identifier" }));
  // Not a FlatBuffer at all.
  std::string text = "this is not a model, it is text\n";
  EXPECT_TRUE (FailsWith (std::vector<unsigned char> (text.begin (),
              text.end ()), FV_MODEL_ERROR_FORMAT, { "identifier" }));
}

TEST (ModelData, WrongSchemaVersion)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  for (uint32_t v : { 0u, 2u, 4u, 0xffffffffu }) {
    Tfl t (pnet);
    size_t f = t.Field (t.Root (), FV_TFLITE_MODEL_VERSION);
    ASSERT_NE (0u, f);
    t.SetU32 (f, v);
    std::string needle = "version " + std::to_string (v);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_VERSION,
            { needle.c_str () }));
  }
}

TEST (ModelData, RootOffsetOutsideTheFile)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  for (uint32_t root : { (uint32_t) pnet.size (), (uint32_t) pnet.size () - 2,
          (uint32_t) pnet.size () + 1000, 0xfffffff0u, 0x80000000u }) {
    Tfl t (pnet);
    t.SetU32 (0, root);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "root table", "outside" })) << root;
  }
  Tfl t (pnet);
  t.SetU32 (0, t.Root () + 1);
  EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "misaligned" }));
  // The root pointing at the header itself: its "vtable" is garbage.
  t.SetU32 (0, 0);
  EXPECT_TRUE (IsCleanError (Load (t.d)));
}

TEST (ModelData, VTableOutsideTheFile)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  size_t root = base.Root ();
  // vtable after the end, then before the start of the file.
  for (int64_t vt : { (int64_t) pnet.size () + 64, (int64_t) pnet.size () - 2,
          (int64_t) -64, (int64_t) -0x40000000 }) {
    Tfl t (pnet);
    t.SetU32 (root, (uint32_t) (int32_t) ((int64_t) root - vt));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "vtable", "outside" })) << "vtable at " << vt;
  }
  // The vtable of a tensor (a different table) pointing outside.
  {
    Tfl t (pnet);
    size_t tensor = t.Tensor (3);
    t.SetU32 (tensor, (uint32_t) (int32_t) ((int64_t) tensor
            - (int64_t) pnet.size () - 8));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "vtable", "outside" }));
  }
}

TEST (ModelData, BadVTableSizes)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  size_t vt = base.VTable (base.Root ());
  // vtable size: odd, too small, running past the end of the file.
  for (uint16_t size : { (uint16_t) 3, (uint16_t) 2, (uint16_t) 0,
          (uint16_t) 0xfffe }) {
    Tfl t (pnet);
    t.SetU16 (vt, size);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "vtable" }))
        << "vtable size " << size;
  }
  // Table size: smaller than the soffset, and past the end of the file.
  for (uint16_t size : { (uint16_t) 0, (uint16_t) 2, (uint16_t) 0xfffc }) {
    Tfl t (pnet);
    t.SetU16 (vt + 2, size);
    Outcome o = Load (t.d);
    EXPECT_TRUE (IsCleanError (o)) << "table size " << size;
    EXPECT_EQ (FV_MODEL_ERROR_FORMAT, o.code) << Describe (o);
  }
  // A field slot pointing past the end of its table.
  Tfl t (pnet);
  size_t slot = t.VTableSlot (t.Root (), FV_TFLITE_MODEL_BUFFERS);
  ASSERT_NE (0u, slot);
  t.SetU16 (slot, 0x7ff0);
  EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
          { "lies outside the table" }));
  t.SetU16 (slot, 2);           // inside the soffset
  EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
          { "lies outside the table" }));
}

TEST (ModelData, ReferencesOutsideTheFile)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  struct Case
  {
    const char *what;
    size_t pos;                 // a uoffset in the file
  } cases[] = {
    { "subgraphs", base.Field (base.Root (), FV_TFLITE_MODEL_SUBGRAPHS) },
    { "operator codes",
      base.Field (base.Root (), FV_TFLITE_MODEL_OPERATOR_CODES) },
    { "buffers", base.Field (base.Root (), FV_TFLITE_MODEL_BUFFERS) },
    { "tensors", base.Field (base.Subgraph (), FV_TFLITE_SUBGRAPH_TENSORS) },
    { "tensor", base.ElemPos (base.TensorsVec (), 5) },
    { "operator", base.ElemPos (base.OpsVec (), 2) },
    { "operator code", base.ElemPos (base.OpCodesVec (), 1) },
    { "tensor shape", base.Field (base.Tensor (7), FV_TFLITE_TENSOR_SHAPE) },
    { "tensor name", base.Field (base.Tensor (7), FV_TFLITE_TENSOR_NAME) },
    { "operator inputs", base.Field (base.Op (1), FV_TFLITE_OPERATOR_INPUTS) },
    { "operator options", base.Field (base.Op (0),
        FV_TFLITE_OPERATOR_BUILTIN_OPTIONS) },
  };
  for (const Case &c : cases) {
    ASSERT_NE (0u, c.pos) << c.what;
    for (uint32_t off : { (uint32_t) (pnet.size () - c.pos),
            (uint32_t) (pnet.size () - c.pos + 4096), 0xfffffffcu }) {
      Tfl t (pnet);
      t.SetU32 (c.pos, off);
      EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
              { c.what, "outside" })) << c.what << " offset " << off;
    }
  }
}

TEST (ModelData, VectorsRunningPastTheEnd)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  uint32_t w = base.OpInputs (base.FindOp (3))[1];
  struct Case
  {
    const char *what;
    size_t vec;
  } cases[] = {
    { "operator codes", base.OpCodesVec () },
    { "subgraphs", base.Vec (base.Root (), FV_TFLITE_MODEL_SUBGRAPHS) },
    { "buffers", base.BuffersVec () },
    { "tensors", base.TensorsVec () },
    { "operators", base.OpsVec () },
    { "tensor shape", base.Vec (base.Tensor (w), FV_TFLITE_TENSOR_SHAPE) },
    { "tensor name", base.Vec (base.Tensor (w), FV_TFLITE_TENSOR_NAME) },
    { "operator inputs", base.Vec (base.Op (0), FV_TFLITE_OPERATOR_INPUTS) },
    { "subgraph inputs", base.Vec (base.Subgraph (),
        FV_TFLITE_SUBGRAPH_INPUTS) },
    { "buffer data", base.Vec (base.Buffer (base.TensorBuffer (w)),
              FV_TFLITE_BUFFER_DATA) },
  };
  for (const Case &c : cases) {
    ASSERT_NE (0u, c.vec) << c.what;
    for (uint32_t len : { (uint32_t) (pnet.size () - c.vec),
            0x40000000u, 0xffffffffu }) {
      Tfl t (pnet);
      t.SetU32 (c.vec, len);
      EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
              { c.what, "past the end" })) << c.what << " of " << len;
    }
  }
}

TEST (ModelData, IndicesOutOfRange)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  uint32_t nt = base.NumTensors ();
  int conv = base.FindOp (3);
  uint32_t w = base.OpInputs (conv)[1];
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Op (conv), FV_TFLITE_OPERATOR_INPUTS) + 4, nt);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "operator input", "refers to tensor" }));
    t.SetU32 (t.Vec (t.Op (conv), FV_TFLITE_OPERATOR_INPUTS) + 4,
        (uint32_t) -7);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "refers to tensor -7" }));
  }
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Op (conv), FV_TFLITE_OPERATOR_OUTPUTS) + 4,
        (uint32_t) -1);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "operator output", "refers to tensor" }));
  }
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Subgraph (), FV_TFLITE_SUBGRAPH_INPUTS) + 4, nt + 5);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "graph input" }));
  }
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Subgraph (), FV_TFLITE_SUBGRAPH_OUTPUTS) + 4, 1u << 30);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "graph output" }));
  }
  {
    Tfl t (pnet);
    size_t f = t.Field (t.Op (1), FV_TFLITE_OPERATOR_OPCODE_INDEX);
    ASSERT_NE (0u, f);
    t.SetU32 (f, 200);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "operator code 200" }));
  }
  {
    Tfl t (pnet);
    t.SetU32 (t.Field (t.Tensor (w), FV_TFLITE_TENSOR_BUFFER), 100000);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "buffer 100000" }));
  }
}

TEST (ModelData, EmptyOrMissingParts)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Root (), FV_TFLITE_MODEL_SUBGRAPHS), 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "no subgraph" }));
  }
  {
    // Subgraphs field absent from the root's vtable.
    Tfl t (pnet);
    t.SetU16 (t.VTableSlot (t.Root (), FV_TFLITE_MODEL_SUBGRAPHS), 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "no subgraph" }));
  }
  {
    Tfl t (pnet);
    t.SetU16 (t.VTableSlot (t.Root (), FV_TFLITE_MODEL_BUFFERS), 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "no buffers" }));
  }
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Subgraph (), FV_TFLITE_SUBGRAPH_INPUTS), 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_INVALID, { "0 inputs" }));
  }
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Subgraph (), FV_TFLITE_SUBGRAPH_OUTPUTS), 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_INVALID, { "no outputs" }));
  }
  {
    // An output that no operator computes (a constant).
    Tfl t (pnet);
    uint32_t w = t.OpInputs (t.FindOp (3))[1];
    t.SetU32 (t.Vec (t.Subgraph (), FV_TFLITE_SUBGRAPH_OUTPUTS) + 4, w);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_INVALID,
            { "not computed" }));
  }
}

// --------------------------------------------------------------------------
// Operators
// --------------------------------------------------------------------------

TEST (ModelData, UnsupportedOperator)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  int oc = base.FindOpCode (17);        // MAX_POOL_2D
  ASSERT_GE (oc, 0);
  size_t dep = base.Field (base.OpCode (oc),
      FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE);
  ASSERT_NE (0u, dep);
  struct
  {
    int code;
    const char *name;
  } cases[] = { { 25, "SOFTMAX" }, { 1, "AVERAGE_POOL_2D" },
    { 126, "BATCH_MATMUL" }, { 97, "RESIZE_NEAREST_NEIGHBOR" } };
  for (auto c : cases) {
    Tfl t (pnet);
    t.d[dep] = (unsigned char) c.code;
    std::string code = "builtin code " + std::to_string (c.code);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_OP,
            { c.name, code.c_str () }));
  }
  // Codes beyond 127 live in the int32 field builtin_code (3); one that
  // no schema version names yet, and a custom operator.
  {
    Tfl t (pnet);
    t.Repoint (t.ElemPos (t.OpCodesVec (), oc), t.AppendTable ({
            Tfl::Scalar (FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE, 127,
                1),
            Tfl::Scalar (FV_TFLITE_OPERATOR_CODE_BUILTIN_CODE, 4000, 4),
            Tfl::Scalar (FV_TFLITE_OPERATOR_CODE_VERSION, 1, 4) }));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_OP,
            { "UNKNOWN", "builtin code 4000" }));
  }
  {
    Tfl t (pnet);
    t.Repoint (t.ElemPos (t.OpCodesVec (), oc), t.AppendTable ({
            Tfl::Scalar (FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE, 32,
                1),
            Tfl::Str (FV_TFLITE_OPERATOR_CODE_CUSTOM_CODE, "FaceMagic") }));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_OP,
            { "CUSTOM:FaceMagic" }));
  }
}

TEST (ModelData, UnsupportedOperatorOptions)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  FV_MODEL_BYTES (mfn, "MobileFaceNet.tflite");
  Tfl pbase (pnet);
  int conv = pbase.FindOp (3);
  auto conv_options = [&](int pad, int stride, int act, int dil) {
    Tfl t (pnet);
    t.Repoint (t.Field (t.Op (conv), FV_TFLITE_OPERATOR_BUILTIN_OPTIONS),
        t.AppendTable ({
            Tfl::Scalar (FV_TFLITE_CONV_2D_PADDING, pad, 1),
            Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_W, stride, 4),
            Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_H, stride, 4),
            Tfl::Scalar (FV_TFLITE_CONV_2D_FUSED_ACTIVATION, act, 1),
            Tfl::Scalar (FV_TFLITE_CONV_2D_DILATION_W, dil, 4),
            Tfl::Scalar (FV_TFLITE_CONV_2D_DILATION_H, dil, 4) }));
    return t.d;
  };
  EXPECT_TRUE (Load (conv_options (1, 1, 0, 1)).loaded)
      << "the re-written options of the first convolution are the file's";
  EXPECT_TRUE (FailsWith (conv_options (1, 1, 3, 1),
          FV_MODEL_ERROR_UNSUPPORTED_OP, { "CONV_2D", "activation 3" }));
  EXPECT_TRUE (FailsWith (conv_options (1, 1, 1, 2),
          FV_MODEL_ERROR_UNSUPPORTED_OP, { "dilation 2x2" }));
  EXPECT_TRUE (FailsWith (conv_options (1, 0, 0, 1),
          FV_MODEL_ERROR_FORMAT, { "bad stride 0x0" }));
  EXPECT_TRUE (FailsWith (conv_options (1, -3, 0, 1),
          FV_MODEL_ERROR_FORMAT, { "bad stride" }));
  EXPECT_TRUE (FailsWith (conv_options (7, 1, 0, 1),
          FV_MODEL_ERROR_FORMAT, { "bad padding 7" }));
  // A stride that the file's shapes do not agree with.
  EXPECT_TRUE (FailsWith (conv_options (1, 2, 0, 1),
          FV_MODEL_ERROR_SHAPE, { "declared" }));
  {
    // Options absent: stride 0 (the schema default) is refused.
    Tfl t (pnet);
    std::vector<int32_t> in = t.OpInputs (conv), out = t.OpOutputs (conv);
    t.ReplaceOp (conv, &in, &out);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "stride" }));
  }
  {
    // Max pool with a zero filter.
    Tfl t (pnet);
    int pool = t.FindOp (17);
    t.Repoint (t.Field (t.Op (pool), FV_TFLITE_OPERATOR_BUILTIN_OPTIONS),
        t.AppendTable ({
            Tfl::Scalar (FV_TFLITE_POOL_2D_STRIDE_W, 2, 4),
            Tfl::Scalar (FV_TFLITE_POOL_2D_STRIDE_H, 2, 4),
            Tfl::Scalar (FV_TFLITE_POOL_2D_FILTER_W, 0, 4),
            Tfl::Scalar (FV_TFLITE_POOL_2D_FILTER_H, 2, 4) }));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "MAX_POOL_2D", "pool parameters" }));
  }
  {
    // DepthwiseConv2DOptions: depth multiplier 2.
    Tfl t (mfn);
    int dw = t.FindOp (4);
    ASSERT_GE (dw, 0);
    size_t opt = t.Ref (t.Op (dw), FV_TFLITE_OPERATOR_BUILTIN_OPTIONS);
    size_t f = t.Field (opt, FV_TFLITE_DEPTHWISE_DEPTH_MULTIPLIER);
    ASSERT_NE (0u, f);
    t.SetU32 (f, 2);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_OP,
            { "DEPTHWISE_CONV_2D", "depth multiplier 2" }));
  }
  {
    // RESHAPE without its shape input and without options.
    Tfl t (mfn);
    int rs = t.FindOp (22);
    ASSERT_GE (rs, 0);
    std::vector<int32_t> in = { t.OpInputs (rs)[0] }, out = t.OpOutputs (rs);
    std::vector<int32_t> none;
    t.ReplaceOp (rs, &in, &out);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_OP,
            { "RESHAPE", "new shape" }));
    // No inputs at all: an empty vector, or none.
    t = Tfl (mfn);
    t.ReplaceOp (rs, &none, &out);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "RESHAPE", "has 0 inputs" }));
    t = Tfl (mfn);
    t.ReplaceOp (rs, nullptr, &out);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "RESHAPE", "has 0 inputs" }));
    t = Tfl (mfn);
    t.ReplaceOp (rs, &in, nullptr);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "RESHAPE", "0 outputs" }));
  }
}

TEST (ModelData, BrokenGraphs)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  int conv = base.FindOp (3);
  {
    Tfl t (pnet);
    // (once accepted, and then the weights were read from past the end of
    // the one-element input list)
    t.SetU32 (t.Vec (t.Op (conv), FV_TFLITE_OPERATOR_INPUTS), 1);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "CONV_2D", "has 1 inputs" }));
    t.SetU32 (t.Vec (t.Op (conv), FV_TFLITE_OPERATOR_INPUTS), 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "CONV_2D", "has 0 inputs" }));
  }
  {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Op (conv), FV_TFLITE_OPERATOR_OUTPUTS), 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "0 outputs" }));
  }
  {
    // Operator 1 writes the tensor that operator 0 wrote.
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Op (1), FV_TFLITE_OPERATOR_OUTPUTS) + 4,
        t.OpOutputs (0)[0]);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "written twice" }));
  }
  {
    // Operator 0 writes the graph input, or a constant.
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Op (0), FV_TFLITE_OPERATOR_OUTPUTS) + 4,
        t.OpInputs (0)[0]);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "written twice" }));
    t = Tfl (pnet);
    t.SetU32 (t.Vec (t.Op (0), FV_TFLITE_OPERATOR_OUTPUTS) + 4,
        t.OpInputs (0)[1]);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT, { "constant" }));
  }
  {
    // Operator 0 reads what the last operator computes.
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Op (0), FV_TFLITE_OPERATOR_INPUTS) + 4,
        t.OpOutputs (t.NumOps () - 1)[0]);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "used before it is computed" }));
  }
  {
    // Weights that are an activation, not a constant.
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Op (conv), FV_TFLITE_OPERATOR_INPUTS) + 8,
        t.OpInputs (0)[0]);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_OP,
            { "weights must be a float32 constant" }));
  }
  {
    // Two graph inputs: a new vector (hung off a throw-away table, so
    // that the appending code places it) replaces the inputs vector.
    Tfl u (pnet);
    size_t v = u.Vec (u.Subgraph (), FV_TFLITE_SUBGRAPH_INPUTS);
    size_t tbl = u.AppendTable ({ Tfl::IntVec (0, { (int32_t) u.U32 (v + 4),
                3 }) });
    u.Repoint (u.Field (u.Subgraph (), FV_TFLITE_SUBGRAPH_INPUTS),
        u.Ref (tbl, 0));
    EXPECT_TRUE (FailsWith (u.d, FV_MODEL_ERROR_INVALID, { "2 inputs" }));
  }
}

// --------------------------------------------------------------------------
// Types
// --------------------------------------------------------------------------

TEST (ModelData, UnsupportedTypes)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  int axis = -1;
  for (uint32_t i = 0; i < base.NumTensors (); i++)
    if (base.TensorType (i) == 2 && base.TensorBuffer (i))
      axis = (int) i;
  ASSERT_GE (axis, 0) << "pnet has int32 axis constants";
  for (int type : { 1 /* FLOAT16 */ , 9 /* INT8 */ , 3 /* UINT8 */ ,
          4 /* INT64 */ }) {
    Tfl t (pnet);
    size_t f = t.Field (t.Tensor (axis), FV_TFLITE_TENSOR_TYPE);
    ASSERT_NE (0u, f);
    t.d[f] = (unsigned char) type;
    std::string needle = "type " + std::to_string (type);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
            { "constant tensor", needle.c_str () }));
  }
  {
    Tfl t (pnet);
    t.d[t.Field (t.Tensor (axis), FV_TFLITE_TENSOR_TYPE)] = 99;
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
            { "unknown type 99" }));
  }
  uint32_t w = base.OpInputs (base.FindOp (3))[1];
  for (int type : { 1, 9, 10 /* FLOAT64 */ }) {
    // Float weights declared as another type (their vtable has no type
    // field, so the tensor is re-written).
    Tfl t (pnet);
    t.ReplaceTensor (w, t.TensorShape (w), type, t.TensorBuffer (w),
        t.TensorName (w));
    std::string needle = "type " + std::to_string (type);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
            { t.TensorName (w).c_str (), needle.c_str () }));
  }
  {
    // An int8 activation.
    Tfl t (pnet);
    uint32_t a = t.OpOutputs (0)[0];
    t.ReplaceTensor (a, t.TensorShape (a), 9, 0, t.TensorName (a));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
            { "only float32 activations" }));
  }
  {
    // Sparse weights (field 6 present).
    Tfl t (pnet);
    size_t slot = t.ElemPos (t.TensorsVec (), w);
    size_t tt = t.AppendTable ({ Tfl::IntVec (FV_TFLITE_TENSOR_SHAPE,
                t.TensorShape (w)), Tfl::Scalar (FV_TFLITE_TENSOR_BUFFER,
                t.TensorBuffer (w), 4), Tfl::Str (FV_TFLITE_TENSOR_NAME, "w"),
          Tfl::Scalar (FV_TFLITE_TENSOR_SPARSITY, 8, 4) });
    t.Repoint (slot, tt);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
            { "sparse" }));
  }
  {
    // Int32 operands of an elementwise op.
    Tfl t (pnet);
    int mul = t.FindOp (18);
    t.SetU32 (t.Vec (t.Op (mul), FV_TFLITE_OPERATOR_INPUTS) + 4, axis);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
            { "int32 input", t.TensorName (axis).c_str () }));
    t = Tfl (pnet);
    t.SetU32 (t.Vec (t.Op (mul), FV_TFLITE_OPERATOR_INPUTS) + 8, axis);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
            { "int32 operands" }));
  }
}

// --------------------------------------------------------------------------
// Shapes and constant data
// --------------------------------------------------------------------------

TEST (ModelData, WrongShapes)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  int conv = base.FindOp (3);
  uint32_t w = base.OpInputs (conv)[1], b = base.OpInputs (conv)[2];
  uint32_t out = base.OpOutputs (conv)[0], in = base.OpInputs (conv)[0];
  auto set_dim = [&](uint32_t tensor, int k, int32_t v) {
    Tfl t (pnet);
    t.SetU32 (t.Vec (t.Tensor (tensor), FV_TFLITE_TENSOR_SHAPE) + 4 + 4 * k,
        (uint32_t) v);
    return t.d;
  };
  // Weights whose declared size no longer matches their data.
  EXPECT_TRUE (FailsWith (set_dim (w, 0, base.TensorShape (w)[0] + 1),
          FV_MODEL_ERROR_SHAPE, { "holds", "bytes but its shape needs" }));
  EXPECT_TRUE (FailsWith (set_dim (w, 3, 1), FV_MODEL_ERROR_SHAPE,
          { "holds" }));
  // Weights reshaped with the same byte count: [O,3,3,3] -> [O,1,1,27].
  {
    Tfl t (pnet);
    std::vector<int32_t> s = t.TensorShape (w);
    t.ReplaceTensor (w, { s[0], 1, 1, s[1] * s[2] * s[3] }, 0,
        t.TensorBuffer (w), t.TensorName (w));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_SHAPE, { "cannot take" }));
  }
  // A declared activation shape that the operator does not produce.
  EXPECT_TRUE (FailsWith (set_dim (out, 3, base.TensorShape (out)[3] + 1),
          FV_MODEL_ERROR_SHAPE, { "declared", "CONV_2D" }));
  EXPECT_TRUE (FailsWith (set_dim (out, 1, 7), FV_MODEL_ERROR_SHAPE,
          { "declared" }));
  // The input with 4 channels: the first convolution cannot take it.
  EXPECT_TRUE (FailsWith (set_dim (in, 3, 4), FV_MODEL_ERROR_SHAPE,
          { "cannot take" }));
  EXPECT_TRUE (FailsWith (set_dim (in, 1, 0), FV_MODEL_ERROR_SHAPE,
          { "NHWC" }));
  // Negative and enormous dimensions.
  EXPECT_TRUE (FailsWith (set_dim (out, 2, -1), FV_MODEL_ERROR_SHAPE,
          { "negative dimension" }));
  {
    Tfl t (pnet);
    t.ReplaceTensor (w, { 0x7fffffff, 0x7fffffff, 0x7fffffff, 3 }, 0,
        t.TensorBuffer (w), t.TensorName (w));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_SHAPE, { "too large" }));
  }
  // Bias of the wrong shape (same number of values).
  {
    Tfl t (pnet);
    int32_t n = t.TensorShape (b)[0];
    t.ReplaceTensor (b, { 1, n }, 0, t.TensorBuffer (b), t.TensorName (b));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_SHAPE, { "bias" }));
  }
  // Ranks that the engine (4) or the reader (6) do not take.
  {
    Tfl t (pnet);
    std::vector<int32_t> s = t.TensorShape (w);
    t.ReplaceTensor (w, { 1, s[0], s[1], s[2], s[3] }, 0,
        t.TensorBuffer (w), t.TensorName (w));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_SHAPE, { "rank 5" }));
    t = Tfl (pnet);
    t.ReplaceTensor (w, { 1, 1, 1, s[0], s[1], s[2], s[3] }, 0,
        t.TensorBuffer (w), t.TensorName (w));
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_SHAPE, { "7 entries" }));
  }
}

TEST (ModelData, BadConstantData)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  uint32_t w = base.OpInputs (base.FindOp (3))[1];
  size_t data = base.Vec (base.Buffer (base.TensorBuffer (w)),
      FV_TFLITE_BUFFER_DATA);
  uint32_t len = base.Len (data);
  // The data cut short or made longer (still inside the file): the byte
  // count no longer matches the shape.
  for (uint32_t n : { len - 4, len - 1, len + 4, 4u, 1u }) {
    Tfl t (pnet);
    t.SetU32 (data, n);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_SHAPE,
            { "holds", t.TensorName (w).c_str () })) << n << " bytes";
  }
  {
    // No data at all: the weights are not a constant any more.
    Tfl t (pnet);
    t.SetU32 (data, 0);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_UNSUPPORTED_OP,
            { "weights must be a float32 constant" }));
  }
  for (float bad : { NAN, INFINITY, -INFINITY }) {
    Tfl t (pnet);
    memcpy (&t.d[data + 4 + 4 * 7], &bad, 4);
    EXPECT_TRUE (FailsWith (t.d, FV_MODEL_ERROR_FORMAT,
            { "non-finite" }));
  }
}

TEST (ModelData, ExternalBuffers)
{
  // Buffer data may live after the FlatBuffer (offset, size: uint64).
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  Tfl base (pnet);
  uint32_t w = base.OpInputs (base.FindOp (3))[1];
  uint32_t bi = base.TensorBuffer (w);
  size_t data = base.Vec (base.Buffer (bi), FV_TFLITE_BUFFER_DATA);
  uint64_t len = base.Len (data);
  auto external = [&](uint64_t off, uint64_t size) {
    Tfl t (pnet);
    t.Repoint (t.ElemPos (t.BuffersVec (), bi), t.AppendTable ({
            Tfl::Scalar (FV_TFLITE_BUFFER_OFFSET, off, 8),
            Tfl::Scalar (FV_TFLITE_BUFFER_SIZE, size, 8) }));
    return t.d;
  };
  // The same bytes, found through offset/size: loads.
  Outcome o = Load (external (data + 4, len));
  EXPECT_TRUE (o.loaded) << Describe (o);
  EXPECT_TRUE (FailsWith (external (data + 5, len), FV_MODEL_ERROR_FORMAT,
          { "misaligned" }));
  EXPECT_TRUE (FailsWith (external (pnet.size () + 4096, len),
          FV_MODEL_ERROR_FORMAT, { "external buffer", "outside" }));
  EXPECT_TRUE (FailsWith (external (data + 4, 1ull << 40),
          FV_MODEL_ERROR_FORMAT, { "external buffer", "outside" }));
  EXPECT_TRUE (FailsWith (external (~0ull - 8, 64),
          FV_MODEL_ERROR_FORMAT, { "outside" }));
  EXPECT_TRUE (FailsWith (external (8, ~0ull), FV_MODEL_ERROR_FORMAT,
          { "outside" }));
  EXPECT_TRUE (FailsWith (external (data + 4, len - 4), FV_MODEL_ERROR_SHAPE,
          { "holds" }));
}

// --------------------------------------------------------------------------
// Random corruption
// --------------------------------------------------------------------------

struct FlipStats
{
  int loaded = 0, ran = 0, errors = 0;
  int by_code[8] = { 0 };
};

// Applies @n random corruptions (1 to 8 bytes each, random values or bit
// flips) within [lo, hi) of @model. Each must fail cleanly or load into a
// model that plans and runs at @h x @w.
FlipStats
FlipBytes (const std::vector<unsigned char> &model, int n, size_t lo,
    size_t hi, guint h, guint w, int max_runs, uint32_t seed)
{
  FlipStats st;
  std::mt19937 rng (seed);
  guint8 *buf = (guint8 *) g_memdup2 (model.data (), model.size ());
  for (int i = 0; i < n && !::testing::Test::HasFatalFailure (); i++) {
    size_t pos[8];
    int k = (rng () % 4 == 0) ? 2 + rng () % 7 : 1;
    for (int j = 0; j < k; j++) {
      pos[j] = lo + rng () % (hi - lo);
      if (rng () % 2)
        buf[pos[j]] ^= (guint8) (1u << (rng () % 8));
      else
        buf[pos[j]] = (guint8) rng ();
    }
    FvModel *m = NULL;
    Outcome o = LoadRaw (buf, model.size (), &m);
    if (o.loaded) {
      st.loaded++;
      std::string why;
      if (st.ran < max_runs) {
        if (PlanAndRun (m, h, w, &why))
          st.ran++;
      }
      fv_model_unref (m);
    } else {
      EXPECT_TRUE (IsCleanError (o)) << "corruption " << i;
      st.errors++;
      if (o.code >= 0 && o.code < 8)
        st.by_code[o.code]++;
    }
    for (int j = k - 1; j >= 0; j--)
      buf[pos[j]] = model[pos[j]];
  }
  g_free (buf);
  return st;
}

void
PrintStats (const char *what, int n, const FlipStats &st)
{
  printf ("%s: %d corruptions: %d loaded (%d planned and run), %d errors "
      "(format %d, version %d, op %d, type %d, shape %d, invalid %d)\n",
      what, n, st.loaded, st.ran, st.errors,
      st.by_code[FV_MODEL_ERROR_FORMAT], st.by_code[FV_MODEL_ERROR_VERSION],
      st.by_code[FV_MODEL_ERROR_UNSUPPORTED_OP],
      st.by_code[FV_MODEL_ERROR_UNSUPPORTED_TYPE],
      st.by_code[FV_MODEL_ERROR_SHAPE], st.by_code[FV_MODEL_ERROR_INVALID]);
}

TEST (ModelData, RandomCorruptionOfPnet)
{
  FV_MODEL_BYTES (pnet, "pnet.tflite");
  FlipStats st = FlipBytes (pnet, 3000, 0, pnet.size (), 16, 16, 3000, 1);
  PrintStats ("pnet", 3000, st);
  EXPECT_GT (st.errors, 0);
  EXPECT_GT (st.ran, 0) << "weight-only corruptions load and run";
}

TEST (ModelData, RandomCorruptionOfRnet)
{
  FV_MODEL_BYTES (rnet, "rnet.tflite");
  Tfl t (rnet);
  // Half in the tables at the end, half anywhere.
  size_t tables = t.TensorsVec () - 8;
  FlipStats a = FlipBytes (rnet, 1000, tables, rnet.size (), 0, 0, 1000, 2);
  FlipStats b = FlipBytes (rnet, 1000, 0, rnet.size (), 0, 0, 1000, 3);
  PrintStats ("rnet tables", 1000, a);
  PrintStats ("rnet anywhere", 1000, b);
  EXPECT_GT (a.errors, 0);
  EXPECT_GT (b.ran, 0);
}

TEST (ModelData, RandomCorruptionOfMobileFaceNetTables)
{
  FV_MODEL_BYTES (mfn, "MobileFaceNet.tflite");
  Tfl t (mfn);
  size_t tables = t.TensorsVec () - 8;
  // Loads that succeed are planned; only a few are run (a run of
  // MobileFaceNet takes seconds under the sanitizers).
  FlipStats st = FlipBytes (mfn, 300, tables, mfn.size (), 0, 0, 2, 4);
  PrintStats ("MobileFaceNet tables", 300, st);
  EXPECT_GT (st.errors, 0);
}

// --------------------------------------------------------------------------
// Small models made from scratch: graphs that the converters never write
// but a file can hold. Each reproduced an engine bug (see the comments);
// under ASan they crashed or read out of bounds before the fix.
// --------------------------------------------------------------------------

struct MiniTensor
{
  std::string name;
  std::vector<int32_t> shape;
  std::vector<unsigned char> data;      // empty: an activation
  int type = 0;
};

struct MiniOp
{
  int builtin;
  std::vector<int32_t> in, out;
  std::vector<Tfl::NewField> options;
};

std::vector<unsigned char>
Floats (const std::vector<float> &v)
{
  std::vector<unsigned char> b (4 * v.size ());
  memcpy (b.data (), v.data (), b.size ());
  return b;
}

std::vector<unsigned char>
Ints (const std::vector<int32_t> &v)
{
  std::vector<unsigned char> b (4 * v.size ());
  memcpy (b.data (), v.data (), b.size ());
  return b;
}

std::vector<unsigned char>
BuildModel (const std::vector<MiniTensor> &tensors,
    const std::vector<MiniOp> &ops, const std::vector<int32_t> &inputs,
    const std::vector<int32_t> &outputs)
{
  using namespace fvtest;
  Tfl m (std::vector<unsigned char> (8, 0));
  memcpy (&m.d[4], "TFL3", 4);
  size_t root = m.AppendTable ({ Tfl::Scalar (FV_TFLITE_MODEL_VERSION, 3, 4),
        Tfl::Scalar (FV_TFLITE_MODEL_OPERATOR_CODES, 0, 4),
        Tfl::Scalar (FV_TFLITE_MODEL_SUBGRAPHS, 0, 4),
        Tfl::Scalar (FV_TFLITE_MODEL_BUFFERS, 0, 4) });
  m.SetU32 (0, (uint32_t) root);

  std::vector<int> codes;
  for (const auto &op : ops)
    if (std::find (codes.begin (), codes.end (), op.builtin) == codes.end ())
      codes.push_back (op.builtin);
  size_t ocv = m.AppendVector ((uint32_t) codes.size ());
  m.Repoint (m.Field (root, FV_TFLITE_MODEL_OPERATOR_CODES), ocv);
  for (size_t k = 0; k < codes.size (); k++)
    m.Repoint (ocv + 4 + 4 * k, m.AppendTable ({
            Tfl::Scalar (FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE,
                codes[k], 1),
            Tfl::Scalar (FV_TFLITE_OPERATOR_CODE_BUILTIN_CODE, codes[k], 4),
            Tfl::Scalar (FV_TFLITE_OPERATOR_CODE_VERSION, 1, 4) }));

  size_t sgv = m.AppendVector (1);
  m.Repoint (m.Field (root, FV_TFLITE_MODEL_SUBGRAPHS), sgv);
  size_t sg = m.AppendTable ({ Tfl::Scalar (FV_TFLITE_SUBGRAPH_TENSORS, 0, 4),
        Tfl::IntVec (FV_TFLITE_SUBGRAPH_INPUTS, inputs),
        Tfl::IntVec (FV_TFLITE_SUBGRAPH_OUTPUTS, outputs),
        Tfl::Scalar (FV_TFLITE_SUBGRAPH_OPERATORS, 0, 4) });
  m.Repoint (sgv + 4, sg);

  std::vector<const std::vector<unsigned char> *> buffers = { nullptr };
  size_t tv = m.AppendVector ((uint32_t) tensors.size ());
  m.Repoint (m.Field (sg, FV_TFLITE_SUBGRAPH_TENSORS), tv);
  for (size_t i = 0; i < tensors.size (); i++) {
    uint32_t buf = 0;
    if (!tensors[i].data.empty ()) {
      buf = (uint32_t) buffers.size ();
      buffers.push_back (&tensors[i].data);
    }
    m.Repoint (tv + 4 + 4 * i, m.AppendTable ({
            Tfl::IntVec (FV_TFLITE_TENSOR_SHAPE, tensors[i].shape),
            Tfl::Scalar (FV_TFLITE_TENSOR_TYPE, (uint8_t) tensors[i].type, 1),
            Tfl::Scalar (FV_TFLITE_TENSOR_BUFFER, buf, 4),
            Tfl::Str (FV_TFLITE_TENSOR_NAME, tensors[i].name) }));
  }

  size_t opv = m.AppendVector ((uint32_t) ops.size ());
  m.Repoint (m.Field (sg, FV_TFLITE_SUBGRAPH_OPERATORS), opv);
  for (size_t k = 0; k < ops.size (); k++) {
    uint32_t oc = (uint32_t) (std::find (codes.begin (), codes.end (),
            ops[k].builtin) - codes.begin ());
    std::vector<Tfl::NewField> f = { Tfl::Scalar (FV_TFLITE_OPERATOR_OPCODE_INDEX, oc, 4),
      Tfl::IntVec (FV_TFLITE_OPERATOR_INPUTS, ops[k].in),
          Tfl::IntVec (FV_TFLITE_OPERATOR_OUTPUTS,
          ops[k].out) };
    if (!ops[k].options.empty ())
      f.push_back (Tfl::Scalar (FV_TFLITE_OPERATOR_BUILTIN_OPTIONS, 0, 4));
    size_t t = m.AppendTable (f);
    if (!ops[k].options.empty ())
      m.Repoint (m.Field (t, FV_TFLITE_OPERATOR_BUILTIN_OPTIONS),
          m.AppendTable (ops[k].options));
    m.Repoint (opv + 4 + 4 * k, t);
  }

  size_t bv = m.AppendVector ((uint32_t) buffers.size ());
  m.Repoint (m.Field (root, FV_TFLITE_MODEL_BUFFERS), bv);
  for (size_t b = 0; b < buffers.size (); b++)
    m.Repoint (bv + 4 + 4 * b, buffers[b] ? m.AppendTable ({
              Tfl::Bytes (FV_TFLITE_BUFFER_DATA,
                  *buffers[b]) }) : m.AppendTable ({}));
  return m.d;
}

// Loads @d and plans it at @h x @w; returns the session (the model is
// kept alive by it) or NULL with @error set.
FvSession *
LoadAndPlan (const std::vector<unsigned char> &d, guint h, guint w,
    GError **error)
{
  FvModel *m = NULL;
  Outcome o = Load (d, &m);
  if (!o.loaded) {
    ADD_FAILURE () << "the model does not load: " << Describe (o);
    return NULL;
  }
  FvSession *s = fv_session_new (m, 1, h, w, error);
  fv_model_unref (m);
  return s;
}

enum { ADD = 0, CONV = 3, MAX_POOL = 17, MUL = 18, RELU = 19, RESHAPE = 22,
  NEG = 59, SUM = 74 };

TEST (MiniModel, ABuiltModelRuns)
{
  // input [1,2,2,1] -> RELU -> output
  auto d = BuildModel ({ { "in", { 1, 2, 2, 1 }, {} },
        { "out", { 1, 2, 2, 1 }, {} } }, { { RELU, { 0 }, { 1 }, {} } },
      { 0 }, { 1 });
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = LoadAndPlan (d, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  float *x = fv_session_get_input (s, 0);
  x[0] = -1;
  x[1] = 2;
  x[2] = -3;
  x[3] = 4;
  fv_session_run (s, 1);
  const float *y = fv_session_get_output (s, 0, NULL);
  EXPECT_EQ (0.0f, y[0]);
  EXPECT_EQ (2.0f, y[1]);
  EXPECT_EQ (0.0f, y[2]);
  EXPECT_EQ (4.0f, y[3]);
}

TEST (MiniModel, ReductionOfAConstant)
{
  // SUM over a constant. The plan took the input's shape from the
  // activation shapes, where a constant has rank 0, and read dims[-1].
  auto d = BuildModel ({ { "in", { 1, 1, 1, 1 }, {} },
        { "c", { 1, 4 }, Floats ({ 1, 2, 3, 4.5f }) },
        { "axis", {}, Ints ({ -1 }), 2 },
        { "out", { 1, 1 }, {} } },
      { { SUM, { 1, 2 }, { 3 },
          { Tfl::Scalar (FV_TFLITE_REDUCER_KEEP_DIMS, 1, 1) } } }, { 0 },
              { 3 });
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = LoadAndPlan (d, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  fv_session_run (s, 1);
  EXPECT_EQ (10.5f, fv_session_get_output (s, 0, NULL)[0]);
}

TEST (MiniModel, AnOutputThatNothingReads)
{
  // A 64-channel convolution whose output nobody reads (and that is no
  // graph output). The plan gave it no room: it was written over the
  // rest of the arena and past its end.
  std::vector<float> w (64), b (64, 0.5f);
  for (int i = 0; i < 64; i++)
    w[i] = (float) i;
  auto d = BuildModel ({ { "in", { 1, 8, 8, 1 }, {} },
        { "w", { 64, 1, 1, 1 }, Floats (w) },
        { "b", { 64 }, Floats (b) },
        { "unused", { 1, 8, 8, 64 }, {} },
        { "out", { 1, 8, 8, 1 }, {} } },
      { { CONV, { 0, 1, 2 }, { 3 }, {
              Tfl::Scalar (FV_TFLITE_CONV_2D_PADDING, 1, 1),
              Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_W, 1, 4),
              Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_H, 1, 4) } },
        { RELU, { 0 }, { 4 }, {} } }, { 0 }, { 4 });
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = LoadAndPlan (d, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  EXPECT_GE (fv_session_get_arena_size (s), (gsize) 64 * 64 * 4);
  float *x = fv_session_get_input (s, 0);
  for (int i = 0; i < 64; i++)
    x[i] = (float) (i - 32);
  fv_session_run (s, 1);
  const float *y = fv_session_get_output (s, 0, NULL);
  for (int i = 0; i < 64; i++)
    ASSERT_EQ (std::max (0.0f, (float) (i - 32)), y[i]) << i;
}

TEST (MiniModel, PReluSlopesMustMatchTheChannelsAtEverySize)
{
  // RESHAPE [1,-1] then PReLU (MTCNN's spelling) with 4 slopes: right at
  // 2x2, but at 4x4 the row has 16 values. That session read 12 slopes
  // past the end; now it is refused.
  auto d = BuildModel ({ { "in", { 1, 2, 2, 1 }, {} },     // 0
        { "r", { 1, 4 }, {} },                          // 1
        { "n1", { 1, 4 }, {} },                         // 2
        { "r2", { 1, 4 }, {} },                         // 3
        { "n2", { 1, 4 }, {} },                         // 4
        { "c", { 4 }, Floats ({ 0.5f, 0.25f, 2, 1 }) }, // 5
        { "m", { 1, 4 }, {} },                          // 6
        { "p", { 1, 4 }, {} },                          // 7
        { "y", { 1, 4 }, {} } },                        // 8
      { { RESHAPE, { 0 }, { 1 }, { Tfl::IntVec (FV_TFLITE_RESHAPE_NEW_SHAPE,
                { 1, -1 }) } },
        { NEG, { 1 }, { 2 }, {} },
        { RELU, { 2 }, { 3 }, {} },
        { NEG, { 3 }, { 4 }, {} },
        { MUL, { 5, 4 }, { 6 }, {} },
        { RELU, { 1 }, { 7 }, {} },
        { ADD, { 7, 6 }, { 8 }, {} } }, { 0 }, { 8 });
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = LoadAndPlan (d, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  float *x = fv_session_get_input (s, 0);
  x[0] = -2;
  x[1] = -4;
  x[2] = -1;
  x[3] = 3;
  fv_session_run (s, 1);
  const float *y = fv_session_get_output (s, 0, NULL);
  EXPECT_FLOAT_EQ (-1.0f, y[0]);
  EXPECT_FLOAT_EQ (-1.0f, y[1]);
  EXPECT_FLOAT_EQ (-2.0f, y[2]);
  EXPECT_FLOAT_EQ (3.0f, y[3]);
  EXPECT_EQ (nullptr, LoadAndPlan (d, 4, 4, &error));
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE))
      << (error ? error->message : "");
}

TEST (MiniModel, ResidualMustMatchTheConvolutionAtEverySize)
{
  // ADD (conv1x1 (pool 2x2/2 SAME), pool 3x3/1 VALID) is fused into the
  // convolution (same shapes at 4x4). At 8x8 the two pools differ
  // ([4,4] and [6,6]): the fused GEMM read the residual with the wrong
  // layout; now that session is refused.
  auto pool = [](int k, int stride, int pad) {
    return std::vector<Tfl::NewField> {
      Tfl::Scalar (FV_TFLITE_POOL_2D_PADDING, pad, 1),
      Tfl::Scalar (FV_TFLITE_POOL_2D_STRIDE_W, stride, 4),
      Tfl::Scalar (FV_TFLITE_POOL_2D_STRIDE_H, stride, 4),
      Tfl::Scalar (FV_TFLITE_POOL_2D_FILTER_W, k, 4),
      Tfl::Scalar (FV_TFLITE_POOL_2D_FILTER_H, k, 4) };
  };
  auto d = BuildModel ({ { "in", { 1, 4, 4, 1 }, {} },     // 0
        { "a", { 1, 2, 2, 1 }, {} },                    // 1
        { "b", { 1, 2, 2, 1 }, {} },                    // 2
        { "w", { 1, 1, 1, 1 }, Floats ({ 2 }) },        // 3
        { "c", { 1, 2, 2, 1 }, {} },                    // 4
        { "y", { 1, 2, 2, 1 }, {} } },                  // 5
      { { MAX_POOL, { 0 }, { 1 }, pool (2, 2, 0) },
        { MAX_POOL, { 0 }, { 2 }, pool (3, 1, 1) },
        { CONV, { 1, 3 }, { 4 }, {
              Tfl::Scalar (FV_TFLITE_CONV_2D_PADDING, 0, 1),
              Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_W, 1, 4),
              Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_H, 1, 4) } },
        { ADD, { 4, 2 }, { 5 }, {} } }, { 0 }, { 5 });
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = LoadAndPlan (d, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  float *x = fv_session_get_input (s, 0);
  for (int i = 0; i < 16; i++)
    x[i] = (float) i;
  fv_session_run (s, 1);
  const float *y = fv_session_get_output (s, 0, NULL);
  // pool 2x2/2: 5 7 13 15; pool 3x3/1 VALID: 10 11 14 15.
  EXPECT_FLOAT_EQ (2 * 5 + 10, y[0]);
  EXPECT_FLOAT_EQ (2 * 15 + 15, y[3]);
  EXPECT_EQ (nullptr, LoadAndPlan (d, 8, 8, &error));
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE))
      << (error ? error->message : "");
}

// in [1,2,2,3] -> 1x1 conv to 4 (-> RELU if @relu) -> 1x1 conv to 2; the
// session and the expected output for x[i] = i - 5.
static void
CheckPointwisePair (bool relu, guint want_steps)
{
  const std::vector<float> w1 = { 1, -2, 0.5f, 3, 0.25f, -1, -0.5f, 2, 1.5f,
    0.75f, -3, 1 }, b1 = { 0.5f, -1, 2, -0.25f };
  const std::vector<float> w2 = { 1, 2, -1, 0.5f, -2, 0.25f, 1, 3 },
      b2 = { -0.5f, 1 };
  auto conv = [](int x, int w, int b, int out) {
    return MiniOp { CONV, { x, w, b }, { out }, {
          Tfl::Scalar (FV_TFLITE_CONV_2D_PADDING, 1, 1),
          Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_W, 1, 4),
          Tfl::Scalar (FV_TFLITE_CONV_2D_STRIDE_H, 1, 4) } };
  };
  std::vector<MiniOp> ops = { conv (0, 1, 2, 3), conv (relu ? 7 : 3, 4, 5,
          6) };
  if (relu)
    ops.insert (ops.begin () + 1, MiniOp { RELU, { 3 }, { 7 }, {} });
  auto d = BuildModel ({ { "in", { 1, 2, 2, 3 }, {} },     // 0
        { "w1", { 4, 1, 1, 3 }, Floats (w1) },          // 1
        { "b1", { 4 }, Floats (b1) },                   // 2
        { "mid", { 1, 2, 2, 4 }, {} },                  // 3
        { "w2", { 2, 1, 1, 4 }, Floats (w2) },          // 4
        { "b2", { 2 }, Floats (b2) },                   // 5
        { "out", { 1, 2, 2, 2 }, {} },                  // 6
        { "r", { 1, 2, 2, 4 }, {} } },                  // 7
      ops, { 0 }, { 6 });
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = LoadAndPlan (d, 0, 0, &error);
  ASSERT_NE (nullptr, s) << error->message;
  EXPECT_EQ (want_steps, fv_session_get_n_steps (s));
  float *x = fv_session_get_input (s, 0);
  for (int i = 0; i < 12; i++)
    x[i] = (float) (i - 5);
  fv_session_run (s, 1);
  const float *y = fv_session_get_output (s, 0, NULL);
  for (int px = 0; px < 4; px++) {
    double mid[4];
    for (int j = 0; j < 4; j++) {
      mid[j] = b1[j];
      for (int k = 0; k < 3; k++)
        mid[j] += (double) w1[j * 3 + k] * (px * 3 + k - 5);
      if (relu)
        mid[j] = std::max (0.0, mid[j]);
    }
    for (int i = 0; i < 2; i++) {
      double want = b2[i];
      for (int j = 0; j < 4; j++)
        want += (double) w2[i * 4 + j] * mid[j];
      EXPECT_NEAR (want, y[px * 2 + i], 1e-5) << px << " " << i;
    }
  }
}

TEST (MiniModel, TwoLinearPointwiseConvolutionsBecomeOne)
{
  // 3 -> 4 -> 2 channels as one 3 -> 2 convolution: 6 multiply-adds per
  // pixel instead of 20 (MobileFaceNet: 64 -> 64 -> 128 and the head's
  // 512 -> 512 -> 192).
  CheckPointwisePair (false, 1);
}

TEST (MiniModel, AReluAfterAConvolutionIsApplied)
{
  // The RELU is fused into the first convolution's epilogue, which
  // applied PReLU slopes only: a fused ReLU was dropped. (Not folded.)
  CheckPointwisePair (true, 2);
}

TEST (MiniModel, HugeInputChannels)
{
  // An input of 2^30 channels is fine in the file (it is never
  // allocated at load time); planning it must fail, not wrap around or
  // abort in the allocator.
  auto d = BuildModel ({ { "in", { 1, 1, 1, (1 << 30) + 64 }, {} },
        { "out", { 1, 1, 1, (1 << 30) + 64 }, {} } },
      { { RELU, { 0 }, { 1 }, {} } }, { 0 }, { 1 });
  g_autoptr (GError) error = NULL;
  EXPECT_EQ (nullptr, LoadAndPlan (d, 0, 0, &error));
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE))
      << (error ? error->message : "");
  g_clear_error (&error);
  EXPECT_EQ (nullptr, LoadAndPlan (d, 16384, 16384, &error));
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE))
      << (error ? error->message : "");
}

// --------------------------------------------------------------------------
// Files
// --------------------------------------------------------------------------

class ModelFile : public ::testing::Test
{
 protected:
  void SetUp () override { dir_ = fvtest::ScratchDir ("model-errors"); }

  std::string Write (const char *name, const std::vector<unsigned char> &d) {
    g_autofree char *p = g_build_filename (dir_.c_str (), name, NULL);
    g_autoptr (GError) error = NULL;
    EXPECT_TRUE (g_file_set_contents (p, (const char *) d.data (),
            (gssize) d.size (), &error)) << (error ? error->message : "");
    return p;
  }

  static Outcome LoadFile (const std::string &path) {
    Outcome o;
    g_autoptr (GError) error = NULL;
    g_autoptr (FvModel) m = fv_model_new_from_file (path.c_str (), &error);
    o.loaded = m != NULL;
    if (error) {
      o.domain = error->domain;
      o.code = error->code;
      o.message = error->message;
    }
    return o;
  }

  std::string dir_;
};

TEST_F (ModelFile, MissingFile)
{
  std::string p = dir_ + "/no-such-model.tflite";
  EXPECT_TRUE (IsError (LoadFile (p), FV_MODEL_ERROR_NOT_FOUND,
          { p.c_str () }));
  std::string q = dir_ + "/no-such-dir/model.tflite";
  EXPECT_TRUE (IsError (LoadFile (q), FV_MODEL_ERROR_NOT_FOUND,
          { q.c_str () }));
  g_autoptr (GError) error = NULL;
  g_autoptr (FvEmbedder) e = fv_embedder_new (p.c_str (), &error);
  EXPECT_EQ (nullptr, e);
  ASSERT_NE (nullptr, error);
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR,
          FV_MODEL_ERROR_NOT_FOUND)) << error->message;
}

TEST_F (ModelFile, DirectoryIsAnIOError)
{
  EXPECT_TRUE (IsError (LoadFile (dir_), FV_MODEL_ERROR_IO,
          { dir_.c_str (), "directory" }));
}

// Model files are bounded: regular files below FV_MODEL_MAX_FILE_SIZE.
// /dev/zero used to be read to the end (2 GB and counting).
TEST_F (ModelFile, DevicesFifosAndHugeFilesFailFast)
{
  gint64 t0 = g_get_monotonic_time ();
  EXPECT_TRUE (IsError (LoadFile ("/dev/zero"), FV_MODEL_ERROR_IO,
          { "/dev/zero", "regular file" }));
  EXPECT_TRUE (IsError (LoadFile ("/dev/null"), FV_MODEL_ERROR_IO,
          { "/dev/null", "regular file" }));
  std::string fifo = dir_ + "/fifo.tflite";
  g_unlink (fifo.c_str ());
  ASSERT_EQ (0, mkfifo (fifo.c_str (), 0644));
  EXPECT_TRUE (IsError (LoadFile (fifo), FV_MODEL_ERROR_IO,
          { fifo.c_str (), "regular file" }));
  g_unlink (fifo.c_str ());
  // A sparse file above the cap: refused before it is read.
  std::string big = dir_ + "/big.tflite";
  FILE *f = fopen (big.c_str (), "wb");
  ASSERT_NE (nullptr, f);
  ASSERT_EQ (0, ftruncate (fileno (f), (off_t) FV_MODEL_MAX_FILE_SIZE + 1));
  fclose (f);
  EXPECT_TRUE (IsError (LoadFile (big), FV_MODEL_ERROR_IO,
          { big.c_str (), "larger" }));
  g_unlink (big.c_str ());
  EXPECT_LT (g_get_monotonic_time () - t0, 5 * G_USEC_PER_SEC);
}

TEST_F (ModelFile, UnreadableFileIsAnIOError)
{
  if (geteuid () == 0)
    GTEST_SKIP () << "running as root: permissions do not stop root";
  std::string p = Write ("unreadable.tflite", { 1, 2, 3, 4, 5, 6, 7, 8, 9 });
  ASSERT_EQ (0, g_chmod (p.c_str (), 0));
  Outcome o = LoadFile (p);
  g_chmod (p.c_str (), 0644);
  EXPECT_TRUE (IsError (o, FV_MODEL_ERROR_IO, { p.c_str () }));
}

TEST_F (ModelFile, EmptyAndTruncatedFiles)
{
  std::string p = Write ("empty.tflite", {});
  EXPECT_TRUE (IsError (LoadFile (p), FV_MODEL_ERROR_FORMAT,
          { p.c_str () }));
  p = Write ("text.tflite", std::vector<unsigned char> (300, 'x'));
  EXPECT_TRUE (IsError (LoadFile (p), FV_MODEL_ERROR_FORMAT,
          { p.c_str (), "identifier" }));
  std::string model = fvtest::ModelPath ("pnet.tflite");
  if (model.empty ())
    return;
  std::vector<unsigned char> d = ModelBytes ("pnet.tflite");
  d.resize (d.size () / 2);
  p = Write ("half-pnet.tflite", d);
  EXPECT_TRUE (IsError (LoadFile (p), FV_MODEL_ERROR_FORMAT,
          { p.c_str (), "outside" }));
  d = ModelBytes ("pnet.tflite");
  memcpy (&d[4], "TFL2", 4);
  p = Write ("tfl2-pnet.tflite", d);
  EXPECT_TRUE (IsError (LoadFile (p), FV_MODEL_ERROR_FORMAT,
          { p.c_str (), "identifier" }));
}

// --------------------------------------------------------------------------
// Sessions at sizes the model cannot take
// --------------------------------------------------------------------------

::testing::AssertionResult
SessionFails (FvModel *m, guint batch, guint h, guint w, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FvSession) s = fv_session_new (m, batch, h, w, &error);
  if (s)
    return ::testing::AssertionFailure () << "a session of " << batch << "x"
        << h << "x" << w << " was made (arena " <<
        fv_session_get_arena_size (s) << " bytes)";
  if (!g_error_matches (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE))
    return ::testing::AssertionFailure () << "not a SHAPE error: " <<
        (error ? error->message : "(none)");
  if (needle && !strstr (error->message, needle))
    return ::testing::AssertionFailure () << "\"" << error->message
        << "\" does not mention \"" << needle << "\"";
  return ::testing::AssertionSuccess () << error->message;
}

TEST (Session, AbsurdSizesOfPnet)
{
  FV_SKIP_WITHOUT_MODEL (path, "pnet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) m = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, m) << error->message;
  EXPECT_TRUE (SessionFails (m, 0, 12, 12, "batch 0"));
  EXPECT_TRUE (SessionFails (m, 4097, 12, 12, "batch 4097"));
  EXPECT_TRUE (SessionFails (m, G_MAXUINT, 12, 12, "batch"));
  EXPECT_TRUE (SessionFails (m, 1, 16385, 12, "too large"));
  EXPECT_TRUE (SessionFails (m, 1, 12, G_MAXUINT, "too large"));
  // Each dimension allowed, all together far beyond any memory.
  EXPECT_TRUE (SessionFails (m, 4096, 16384, 16384, NULL));
  EXPECT_TRUE (SessionFails (m, 64, 16384, 16384, NULL));
  // Too small for the 3x3 VALID convolutions.
  EXPECT_TRUE (SessionFails (m, 1, 2, 2, "cannot take"));
  EXPECT_TRUE (SessionFails (m, 1, 1, 100, "cannot take"));
  // And sizes it takes.
  std::string why;
  EXPECT_TRUE (PlanAndRun (m, 12, 12, &why)) << why;
  EXPECT_TRUE (PlanAndRun (m, 13, 29, &why)) << why;
}

TEST (Session, RnetTakesOnly24x24)
{
  FV_SKIP_WITHOUT_MODEL (path, "rnet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) m = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, m) << error->message;
  // (22 to 26 give the same 3x3 map before the fully connected layer)
  for (guint side : { 48u, 30u, 100u, 16u, 20u })
    EXPECT_TRUE (SessionFails (m, 1, side, side, "cannot take")) << side;
  EXPECT_TRUE (SessionFails (m, 4, 24, 48, "cannot take"));
  EXPECT_TRUE (SessionFails (m, 1, 3, 3, "cannot take"));
  std::string why;
  EXPECT_TRUE (PlanAndRun (m, 24, 24, &why)) << why;
  g_autoptr (FvEmbedder) e = fv_embedder_new_for_model (m, 1, &error);
  EXPECT_EQ (nullptr, e);
  EXPECT_TRUE (g_error_matches (error, FV_MODEL_ERROR,
          FV_MODEL_ERROR_INVALID)) << (error ? error->message : "");
}

TEST (Session, MobileFaceNetTakesOnly112x112)
{
  FV_SKIP_WITHOUT_MODEL (path, "MobileFaceNet.tflite");
  g_autoptr (GError) error = NULL;
  g_autoptr (FvModel) m = fv_model_new_from_file (path.c_str (), &error);
  ASSERT_NE (nullptr, m) << error->message;
  for (guint side : { 120u, 113u, 224u, 64u, 16u })
    EXPECT_TRUE (SessionFails (m, 1, side, side, NULL)) << side;
  EXPECT_TRUE (SessionFails (m, 2, 112, 160, NULL));
  EXPECT_TRUE (SessionFails (m, 4096, 16384, 16384, NULL));
  g_autoptr (FvSession) s = fv_session_new (m, 3, 112, 112, &error);
  EXPECT_NE (nullptr, s) << error->message;
}

}  // namespace

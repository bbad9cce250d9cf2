// Kernel tests: every SIMD variant that this CPU supports computes what the
// scalar kernel (the reference) computes, within a relative tolerance, over
// shape sweeps chosen around vector widths and register tiles: channel
// counts 1..70 and 127/128/129..., odd spatial sizes, both strides, SAME
// and VALID padding, unaligned buffers, row sub-ranges (as threads call
// them), with and without PReLU and residual. Every output buffer has
// guard zones around it that must stay untouched.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/fv-kernels.h"

namespace {

constexpr float kGuard = 12345.0f;
constexpr size_t kGuardLen = 64;

std::mt19937 &
Rng ()
{
  static std::mt19937 rng (20240611);
  return rng;
}

void
Fill (float *p, size_t n, float lo = -1.0f, float hi = 1.0f)
{
  std::uniform_real_distribution<float> d (lo, hi);
  for (size_t i = 0; i < n; i++)
    p[i] = d (Rng ());
}

// A float buffer with guard zones before and after and an optional
// misalignment of the data by `offset` floats.
class Buffer {
 public:
  Buffer (size_t n, size_t offset) : n_ (n), offset_ (offset),
      v_ (n + 2 * kGuardLen + 16, kGuard) {}
  float *data () { return v_.data () + kGuardLen + offset_; }
  const float *data () const { return v_.data () + kGuardLen + offset_; }
  size_t size () const { return n_; }
  bool GuardsIntact () const {
    for (size_t i = 0; i < kGuardLen + offset_; i++)
      if (v_[i] != kGuard)
        return false;
    for (size_t i = kGuardLen + offset_ + n_; i < v_.size (); i++)
      if (v_[i] != kGuard)
        return false;
    return true;
  }
 private:
  size_t n_, offset_;
  std::vector<float> v_;
};

size_t
RoundUp (size_t x, size_t m)
{
  return (x + m - 1) / m * m;
}

// |got - want| <= tol * magnitude, where magnitude is the same computation
// over absolute values (the size of the terms that were summed).
::testing::AssertionResult
Close (const float *got, const float *want, const float *mag, size_t n,
    double tol, const std::string &what)
{
  for (size_t i = 0; i < n; i++) {
    double bound = tol * (1e-3 + std::fabs (mag[i]));
    if (!(std::fabs ((double) got[i] - want[i]) <= bound))
      return ::testing::AssertionFailure () << what << ": element " << i
          << " is " << got[i] << ", scalar gives " << want[i]
          << " (bound " << bound << ")";
  }
  return ::testing::AssertionSuccess ();
}

constexpr double kTol = 1e-5;

class Kernels : public ::testing::TestWithParam<FvIsa> {
 protected:
  void SetUp () override {
    FvIsa isa = GetParam ();
    scalar_ = fv_kernel_table_get (FV_ISA_SCALAR);
    ASSERT_NE (nullptr, scalar_);
    simd_ = fv_kernel_table_get (isa);
    if (!simd_ || !fv_isa_supported (isa))
      GTEST_SKIP () << fv_isa_name (isa) << " is not built or not supported";
    ASSERT_EQ (isa, simd_->isa);
    ASSERT_GE (simd_->gemm_mr, 1u);
    ASSERT_GE (simd_->gemm_nr, 1u);
    ASSERT_GE (simd_->c_align, 1u);
  }
  const FvKernelTable *scalar_ = nullptr;
  const FvKernelTable *simd_ = nullptr;
};

// ------------------------------------------------------------------ GEMM

struct GemmCase {
  size_t m, k, n;
  bool prelu, res;
  size_t a_pad, c_pad;          // extra floats per row
  size_t offset;                // misalignment of a, c, res, alpha
};

// Runs table kt on the case; abs_mode runs on |inputs| for the tolerance.
std::vector<float>
RunGemm (const FvKernelTable *kt, const GemmCase &c,
    const std::vector<float> &a, const std::vector<float> &w,
    const std::vector<float> &bias, const std::vector<float> &alpha,
    const std::vector<float> &res, bool split, bool *guards_ok)
{
  const size_t nr = kt->gemm_nr;
  const size_t a_stride = c.k + c.a_pad, c_stride = c.n + c.c_pad;
  std::vector<float> packed (fv_f32_gemm_packed_size (c.k, c.n, nr));
  Buffer abuf (c.m * a_stride, c.offset);
  Buffer rbuf (c.m * c_stride, c.offset);
  Buffer cbuf (c.m * c_stride, c.offset);
  Buffer albuf (RoundUp (c.n, nr), c.offset);
  FvGemmParams p;

  fv_f32_gemm_pack (c.k, c.n, nr, w.data (), bias.data (), packed.data ());
  for (size_t i = 0; i < c.m; i++)
    memcpy (abuf.data () + i * a_stride, a.data () + i * c.k,
        c.k * sizeof (float));
  for (size_t i = 0; i < c.m; i++)
    memcpy (rbuf.data () + i * c_stride, res.data () + i * c.n,
        c.n * sizeof (float));
  for (size_t j = 0; j < albuf.size (); j++)
    albuf.data ()[j] = j < c.n ? alpha[j] : 0.0f;
  // Row padding of the output must be left alone too.
  for (size_t i = 0; i < c.m * c_stride; i++)
    cbuf.data ()[i] = kGuard;

  memset (&p, 0, sizeof p);
  p.k = c.k;
  p.n = c.n;
  p.a = abuf.data ();
  p.a_stride = a_stride;
  p.w = packed.data ();
  p.alpha = c.prelu ? albuf.data () : nullptr;
  p.res = c.res ? rbuf.data () : nullptr;
  p.res_stride = c_stride;
  p.c = cbuf.data ();
  p.c_stride = c_stride;
  if (split && c.m > 2) {
    // Threads cut rows anywhere, not only at tile boundaries.
    size_t s1 = c.m / 3, s2 = c.m - c.m / 4;
    kt->gemm (&p, s1, s2);
    kt->gemm (&p, 0, s1);
    kt->gemm (&p, s2, c.m);
  } else {
    kt->gemm (&p, 0, c.m);
  }

  *guards_ok = cbuf.GuardsIntact () && abuf.GuardsIntact ();
  std::vector<float> out (c.m * c.n);
  for (size_t i = 0; i < c.m; i++) {
    memcpy (out.data () + i * c.n, cbuf.data () + i * c_stride,
        c.n * sizeof (float));
    for (size_t j = c.n; j < c_stride; j++)
      if (cbuf.data ()[i * c_stride + j] != kGuard)
        *guards_ok = false;
  }
  return out;
}

std::vector<float>
Abs (std::vector<float> v)
{
  for (auto &x : v)
    x = std::fabs (x);
  return v;
}

void
CheckGemm (const FvKernelTable *scalar, const FvKernelTable *simd,
    const GemmCase &c)
{
  std::vector<float> a (c.m * c.k), w (c.n * c.k), bias (c.n), alpha (c.n),
      res (c.m * c.n);
  Fill (a.data (), a.size ());
  Fill (w.data (), w.size ());
  Fill (bias.data (), bias.size ());
  Fill (alpha.data (), alpha.size (), -0.5f, 0.5f);
  Fill (res.data (), res.size ());

  std::string what = std::string (simd->gemm_name) + " m=" +
      std::to_string (c.m) + " k=" + std::to_string (c.k) + " n=" +
      std::to_string (c.n) + (c.prelu ? " prelu" : "") + (c.res ? " res" : "")
      + " a_pad=" + std::to_string (c.a_pad) + " c_pad=" +
      std::to_string (c.c_pad) + " offset=" + std::to_string (c.offset);
  bool ok_ref, ok_simd, ok_mag;
  GemmCase plain = c;
  plain.offset = 0;
  plain.a_pad = plain.c_pad = 0;
  auto want = RunGemm (scalar, plain, a, w, bias, alpha, res, false, &ok_ref);
  auto got = RunGemm (simd, c, a, w, bias, alpha, res, true, &ok_simd);
  auto mag = RunGemm (scalar, plain, Abs (a), Abs (w), Abs (bias),
      Abs (alpha), Abs (res), false, &ok_mag);
  EXPECT_TRUE (ok_ref && ok_mag) << what;
  ASSERT_TRUE (ok_simd) << what << ": wrote outside its output";
  ASSERT_TRUE (Close (got.data (), want.data (), mag.data (), got.size (),
          kTol, what));
}

TEST_P (Kernels, GemmChannelSweep)
{
  std::vector<size_t> ns;
  for (size_t n = 1; n <= 70; n++)
    ns.push_back (n);
  for (size_t n : {95, 96, 97, 127, 128, 129, 192, 256, 512})
    ns.push_back (n);
  for (size_t n : ns)
    for (size_t k : {1, 3, 16, 33, 64})
      for (size_t m : {1, 5, 7, 8, 15})
        CheckGemm (scalar_, simd_, {m, k, n, (n + k) % 2 == 0, m % 2 == 1,
                0, 0, 0});
}

TEST_P (Kernels, GemmDepthAndRowSweep)
{
  for (size_t k : {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 63, 64, 65, 127, 128,
          129, 256, 512})
    for (size_t m = 1; m <= 30; m++)
      CheckGemm (scalar_, simd_, {m, k, 32, m % 3 == 0, m % 2 == 0, 0, 0, 0});
  // MobileFaceNet's shapes, 7x7 to 28x28.
  CheckGemm (scalar_, simd_, {49, 512, 128, false, false, 0, 0, 0});
  CheckGemm (scalar_, simd_, {196, 128, 256, true, false, 0, 0, 0});
  CheckGemm (scalar_, simd_, {196, 256, 128, false, true, 0, 0, 0});
  CheckGemm (scalar_, simd_, {784, 64, 128, true, false, 0, 0, 0});
  CheckGemm (scalar_, simd_, {1, 512, 192, false, false, 0, 0, 0});
}

TEST_P (Kernels, GemmUnalignedAndStrided)
{
  for (size_t offset : {1, 3})
    for (size_t n : {1, 7, 8, 9, 16, 17, 31, 32, 33, 48, 64, 65})
      for (size_t m : {1, 6, 7, 13})
        for (int flags = 0; flags < 4; flags++)
          CheckGemm (scalar_, simd_, {m, 19, n, (flags & 1) != 0,
                  (flags & 2) != 0, 3, 5, offset});
}

// --------------------------------------------------------------- dwconv

struct DwCase {
  size_t batch, in_h, in_w, c, kh, kw, stride;
  bool same, prelu;
  size_t offset;
};

size_t
OutSize (size_t in, size_t k, size_t stride, bool same)
{
  return same ? (in + stride - 1) / stride : (in - k) / stride + 1;
}

size_t
PadBefore (size_t in, size_t out, size_t k, size_t stride, bool same)
{
  long total = (long) ((out - 1) * stride + k) - (long) in;
  return same && total > 0 ? (size_t) total / 2 : 0;
}

std::vector<float>
RunDw (FvDwconvFn fn, size_t c_align, const DwCase &c,
    const std::vector<float> &in, const std::vector<float> &w,
    const std::vector<float> &bias, const std::vector<float> &alpha,
    bool split, bool *guards_ok)
{
  const size_t out_h = OutSize (c.in_h, c.kh, c.stride, c.same);
  const size_t out_w = OutSize (c.in_w, c.kw, c.stride, c.same);
  const size_t c_pad = RoundUp (c.c, c_align);
  std::vector<float> pw (c.kh * c.kw * c_pad), pb (c_pad), pa (c_pad, 0.0f);
  Buffer ibuf (in.size (), c.offset);
  Buffer obuf (c.batch * out_h * out_w * c.c, c.offset);
  FvDwconvParams p;

  fv_f32_dwconv_pack (c.kh, c.kw, c.c, c_pad, w.data (), bias.data (),
      pw.data (), pb.data ());
  memcpy (pa.data (), alpha.data (), c.c * sizeof (float));
  memcpy (ibuf.data (), in.data (), in.size () * sizeof (float));

  memset (&p, 0, sizeof p);
  p.in_h = c.in_h;
  p.in_w = c.in_w;
  p.c = c.c;
  p.out_h = out_h;
  p.out_w = out_w;
  p.kh = c.kh;
  p.kw = c.kw;
  p.stride_h = p.stride_w = c.stride;
  p.pad_top = PadBefore (c.in_h, out_h, c.kh, c.stride, c.same);
  p.pad_left = PadBefore (c.in_w, out_w, c.kw, c.stride, c.same);
  p.in = ibuf.data ();
  p.out = obuf.data ();
  p.w = pw.data ();
  p.bias = pb.data ();
  p.alpha = c.prelu ? pa.data () : nullptr;
  p.c_pad = c_pad;
  const size_t rows = c.batch * out_h;
  if (split && rows > 1) {
    fn (&p, rows / 2, rows);
    fn (&p, 0, rows / 2);
  } else {
    fn (&p, 0, rows);
  }
  *guards_ok = obuf.GuardsIntact () && ibuf.GuardsIntact ();
  return std::vector<float> (obuf.data (), obuf.data () + obuf.size ());
}

void
CheckDw (const FvKernelTable *scalar, const FvKernelTable *simd,
    bool three, const DwCase &c)
{
  std::vector<float> in (c.batch * c.in_h * c.in_w * c.c),
      w (c.kh * c.kw * c.c), bias (c.c), alpha (c.c);
  Fill (in.data (), in.size ());
  Fill (w.data (), w.size ());
  Fill (bias.data (), bias.size ());
  Fill (alpha.data (), alpha.size (), -0.5f, 0.5f);
  FvDwconvFn fn = three ? simd->dwconv3x3 : simd->dwconv;
  std::string what = std::string (three ? simd->dwconv3x3_name :
      simd->dwconv_name) + " batch=" + std::to_string (c.batch) + " in=" +
      std::to_string (c.in_h) + "x" + std::to_string (c.in_w) + "x" +
      std::to_string (c.c) + " k=" + std::to_string (c.kh) + "x" +
      std::to_string (c.kw) + " s=" + std::to_string (c.stride) +
      (c.same ? " SAME" : " VALID") + (c.prelu ? " prelu" : "") +
      " offset=" + std::to_string (c.offset);
  bool ok_ref, ok_simd, ok_mag;
  DwCase plain = c;
  plain.offset = 0;
  auto want = RunDw (scalar->dwconv, scalar->c_align, plain, in, w, bias,
      alpha, false, &ok_ref);
  auto got = RunDw (fn, simd->c_align, c, in, w, bias, alpha, true,
      &ok_simd);
  auto mag = RunDw (scalar->dwconv, scalar->c_align, plain, Abs (in), Abs (w),
      Abs (bias), Abs (alpha), false, &ok_mag);
  EXPECT_TRUE (ok_ref && ok_mag) << what;
  ASSERT_TRUE (ok_simd) << what << ": wrote outside its output";
  ASSERT_TRUE (Close (got.data (), want.data (), mag.data (), got.size (),
          kTol, what));
}

TEST_P (Kernels, Dwconv3x3ChannelSweep)
{
  std::vector<size_t> cs;
  for (size_t c = 1; c <= 70; c++)
    cs.push_back (c);
  for (size_t c : {127, 128, 129, 256, 512})
    cs.push_back (c);
  for (size_t c : cs)
    for (size_t stride : {1, 2})
      CheckDw (scalar_, simd_, true, {1, 7, 6, c, 3, 3, stride, true,
              c % 2 == 0, 0});
}

TEST_P (Kernels, Dwconv3x3SpatialSweep)
{
  for (size_t h : {1, 2, 3, 4, 5, 8, 9, 14})
    for (size_t w : {1, 2, 3, 5, 6, 7, 11, 16})
      for (size_t stride : {1, 2})
        for (bool same : {true, false}) {
          if (!same && (h < 3 || w < 3))
            continue;
          CheckDw (scalar_, simd_, true, {2, h, w, 24, 3, 3, stride, same,
                  (h + w) % 2 == 0, (h + stride) % 2});
        }
  // MobileFaceNet's depthwise layers.
  CheckDw (scalar_, simd_, true, {1, 56, 56, 64, 3, 3, 1, true, true, 0});
  CheckDw (scalar_, simd_, true, {1, 56, 56, 128, 3, 3, 2, true, true, 1});
  CheckDw (scalar_, simd_, true, {2, 14, 14, 512, 3, 3, 2, true, true, 0});
  CheckDw (scalar_, simd_, true, {1, 7, 7, 256, 3, 3, 1, true, true, 1});
}

TEST_P (Kernels, DwconvAnySize)
{
  // The 7x7 global depthwise convolution, then other sizes.
  CheckDw (scalar_, simd_, false, {2, 7, 7, 512, 7, 7, 1, false, false, 0});
  for (size_t c : {1, 5, 15, 16, 17, 33, 64, 100})
    for (size_t k : {1, 2, 3, 5, 7})
      for (size_t stride : {1, 2})
        for (bool same : {true, false})
          CheckDw (scalar_, simd_, false, {1, 9, 8, c, k, k, stride, same,
                  c % 2 == 1, c % 2});
}

// ------------------------------------------------------- direct conv

struct ConvCase {
  size_t batch, in_h, in_w, in_c, out_c, k, stride;
  bool same, prelu;
  size_t offset;
};

std::vector<float>
RunConv (const FvKernelTable *kt, const ConvCase &c,
    const std::vector<float> &in, const std::vector<float> &w,
    const std::vector<float> &bias, const std::vector<float> &alpha,
    bool split, bool *guards_ok)
{
  const size_t out_h = OutSize (c.in_h, c.k, c.stride, c.same);
  const size_t out_w = OutSize (c.in_w, c.k, c.stride, c.same);
  const size_t oc_pad = RoundUp (c.out_c, kt->c_align);
  std::vector<float> pw (c.k * c.k * c.in_c * oc_pad), pb (oc_pad),
      pa (oc_pad, 0.0f);
  Buffer ibuf (in.size (), c.offset);
  Buffer obuf (c.batch * out_h * out_w * c.out_c, c.offset);
  FvConvParams p;

  fv_f32_conv_pack (c.out_c, c.k, c.k, c.in_c, oc_pad, w.data (),
      bias.data (), pw.data (), pb.data ());
  memcpy (pa.data (), alpha.data (), c.out_c * sizeof (float));
  memcpy (ibuf.data (), in.data (), in.size () * sizeof (float));

  memset (&p, 0, sizeof p);
  p.in_h = c.in_h;
  p.in_w = c.in_w;
  p.in_c = c.in_c;
  p.out_h = out_h;
  p.out_w = out_w;
  p.out_c = c.out_c;
  p.kh = p.kw = c.k;
  p.stride_h = p.stride_w = c.stride;
  p.pad_top = PadBefore (c.in_h, out_h, c.k, c.stride, c.same);
  p.pad_left = PadBefore (c.in_w, out_w, c.k, c.stride, c.same);
  p.in = ibuf.data ();
  p.out = obuf.data ();
  p.w = pw.data ();
  p.bias = pb.data ();
  p.alpha = c.prelu ? pa.data () : nullptr;
  p.oc_pad = oc_pad;
  const size_t rows = c.batch * out_h;
  if (split && rows > 1) {
    kt->conv (&p, rows / 2, rows);
    kt->conv (&p, 0, rows / 2);
  } else {
    kt->conv (&p, 0, rows);
  }
  *guards_ok = obuf.GuardsIntact () && ibuf.GuardsIntact ();
  return std::vector<float> (obuf.data (), obuf.data () + obuf.size ());
}

void
CheckConv (const FvKernelTable *scalar, const FvKernelTable *simd,
    const ConvCase &c)
{
  std::vector<float> in (c.batch * c.in_h * c.in_w * c.in_c),
      w (c.out_c * c.k * c.k * c.in_c), bias (c.out_c), alpha (c.out_c);
  Fill (in.data (), in.size ());
  Fill (w.data (), w.size ());
  Fill (bias.data (), bias.size ());
  Fill (alpha.data (), alpha.size (), -0.5f, 0.5f);
  std::string what = std::string (simd->conv_name) + " batch=" +
      std::to_string (c.batch) + " in=" + std::to_string (c.in_h) + "x" +
      std::to_string (c.in_w) + "x" + std::to_string (c.in_c) + " out_c=" +
      std::to_string (c.out_c) + " k=" + std::to_string (c.k) + " s=" +
      std::to_string (c.stride) + (c.same ? " SAME" : " VALID") +
      (c.prelu ? " prelu" : "") + " offset=" + std::to_string (c.offset);
  bool ok_ref, ok_simd, ok_mag;
  ConvCase plain = c;
  plain.offset = 0;
  auto want = RunConv (scalar, plain, in, w, bias, alpha, false, &ok_ref);
  auto got = RunConv (simd, c, in, w, bias, alpha, true, &ok_simd);
  auto mag = RunConv (scalar, plain, Abs (in), Abs (w), Abs (bias),
      Abs (alpha), false, &ok_mag);
  EXPECT_TRUE (ok_ref && ok_mag) << what;
  ASSERT_TRUE (ok_simd) << what << ": wrote outside its output";
  ASSERT_TRUE (Close (got.data (), want.data (), mag.data (), got.size (),
          kTol, what));
}

TEST_P (Kernels, ConvStem)
{
  // MobileFaceNet's first layer: 112x112x3, 3x3 stride 2 SAME, 64 outputs.
  CheckConv (scalar_, simd_, {1, 112, 112, 3, 64, 3, 2, true, true, 0});
  CheckConv (scalar_, simd_, {2, 112, 112, 3, 64, 3, 2, true, true, 1});
}

TEST_P (Kernels, ConvChannelSweep)
{
  std::vector<size_t> ocs;
  for (size_t oc = 1; oc <= 70; oc++)
    ocs.push_back (oc);
  for (size_t oc : {127, 128, 129})
    ocs.push_back (oc);
  for (size_t oc : ocs)
    for (size_t ic : {1, 3, 10})
      CheckConv (scalar_, simd_, {1, 7, 9, ic, oc, 3, 1 + oc % 2, true,
              oc % 3 == 0, oc % 2});
}

TEST_P (Kernels, ConvSpatialSweep)
{
  // MTCNN uses 3x3 and 2x2 VALID convolutions with 3 to 64 inputs.
  for (size_t h : {1, 2, 3, 5, 8, 13})
    for (size_t w : {1, 2, 4, 7, 9, 12})
      for (size_t k : {1, 2, 3})
        for (size_t stride : {1, 2})
          for (bool same : {true, false}) {
            if (!same && (h < k || w < k))
              continue;
            CheckConv (scalar_, simd_, {2, h, w, 4, 28, k, stride, same,
                    (h + w) % 2 == 1, (w + k) % 2});
          }
  CheckConv (scalar_, simd_, {1, 12, 12, 10, 16, 3, 1, false, true, 0});
  CheckConv (scalar_, simd_, {3, 11, 11, 48, 64, 2, 1, false, true, 1});
}

std::string
IsaName (const ::testing::TestParamInfo<FvIsa> &info)
{
  return fv_isa_name (info.param);
}

INSTANTIATE_TEST_SUITE_P (Simd, Kernels,
    ::testing::Values (FV_ISA_AVX2, FV_ISA_AVX512, FV_ISA_NEON), IsaName);

}  // namespace

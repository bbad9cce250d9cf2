/* gst-faceverify: face verification on the CPU
 *
 * test-cli.cc: the `faceverify` command line tool, run as a separate
 * process (path in $FV_FACEVERIFY). The images are generated here, in a
 * temporary folder inside the build folder ($FV_BUILD_DIR).
 */
#include <gtest/gtest.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fv-config.h"

namespace {

constexpr int kSize = 112;
constexpr int kDim = 192;

struct RunResult
{
  int status = -1;              /* exit status, -1 if killed by a signal */
  std::string out;
  std::string err;
};

std::string
Env (const char *name)
{
  const char *value = g_getenv (name);
  return value ? value : "";
}

/* Runs the tool with @args; @env_overrides are NAME=VALUE pairs. */
RunResult
RunTool (const std::vector<std::string> &args,
    const std::vector<std::pair<std::string, std::string>> &env_overrides =
    {})
{
  RunResult result;
  std::string tool = Env ("FV_FACEVERIFY");
  EXPECT_FALSE (tool.empty ()) << "FV_FACEVERIFY is not set (run with "
      "meson test)";
  if (tool.empty ())
    return result;

  std::vector<char *> argv;
  argv.push_back (const_cast<char *>(tool.c_str ()));
  for (const auto &a : args)
    argv.push_back (const_cast<char *>(a.c_str ()));
  argv.push_back (nullptr);

  char **envp = g_get_environ ();
  for (const auto &kv : env_overrides)
    envp = g_environ_setenv (envp, kv.first.c_str (), kv.second.c_str (),
        TRUE);

  char *out = nullptr, *err = nullptr;
  int wait_status = 0;
  GError *error = nullptr;
  gboolean ok = g_spawn_sync (nullptr, argv.data (), envp, G_SPAWN_DEFAULT,
      nullptr, nullptr, &out, &err, &wait_status, &error);
  g_strfreev (envp);
  EXPECT_TRUE (ok) << "cannot run " << tool << ": "
      << (error ? error->message : "?");
  if (!ok) {
    g_clear_error (&error);
    return result;
  }
  result.out = out ? out : "";
  result.err = err ? err : "";
  g_free (out);
  g_free (err);
  if (WIFEXITED (wait_status))
    result.status = WEXITSTATUS (wait_status);
  else
    ADD_FAILURE () << "faceverify killed by signal "
        << WTERMSIG (wait_status) << "\nstderr:\n" << result.err;
  return result;
}

std::vector<std::string>
SplitLines (const std::string &text)
{
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size ()) {
    size_t end = text.find ('\n', start);
    if (end == std::string::npos) {
      ADD_FAILURE () << "output does not end with a newline";
      end = text.size ();
    }
    lines.push_back (text.substr (start, end - start));
    start = end + 1;
  }
  return lines;
}

/* One CSV record (RFC 4180 quoting, no embedded newlines). */
std::vector<std::string>
SplitCsv (const std::string &line)
{
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size (); i++) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size () && line[i + 1] == '"') {
        field += '"';
        i++;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back (field);
      field.clear ();
    } else {
      field += c;
    }
  }
  fields.push_back (field);
  return fields;
}

struct Embedding
{
  std::vector<std::string> text;        /* the values as printed */
  std::vector<double> values;
};

/* Parses the CSV output of `faceverify embed`: checks the header and every
 * line (path, e0..e191, quality), returns path -> embedding. */
std::map<std::string, Embedding>
ParseEmbedOutput (const std::string &out)
{
  std::map<std::string, Embedding> result;
  std::vector<std::string> lines = SplitLines (out);
  if (lines.empty ()) {
    ADD_FAILURE () << "no output";
    return result;
  }

  std::vector<std::string> header = SplitCsv (lines[0]);
  EXPECT_EQ (header.size (), (size_t) kDim + 2) << lines[0];
  if (!header.empty ()) {
    EXPECT_EQ (header[0], "path");
    EXPECT_EQ (header.back (), "quality");
  }
  for (size_t i = 1; i < header.size () && i <= (size_t) kDim; i++)
    EXPECT_EQ (header[i], "e" + std::to_string (i - 1));

  for (size_t l = 1; l < lines.size (); l++) {
    std::vector<std::string> fields = SplitCsv (lines[l]);
    EXPECT_EQ (fields.size (), (size_t) kDim + 2) << lines[l];
    if (fields.size () != (size_t) kDim + 2)
      continue;
    double quality = g_ascii_strtod (fields.back ().c_str (), nullptr);
    EXPECT_TRUE (quality >= 0.0 && quality <= 1.0) << fields[0];
    Embedding e;
    double sum = 0;
    for (size_t i = 1; i <= (size_t) kDim; i++) {
      const char *s = fields[i].c_str ();
      char *end = nullptr;
      double v = g_ascii_strtod (s, &end);
      EXPECT_TRUE (end != s && *end == '\0') << "not a number: '" << s
          << "' in " << fields[0];
      EXPECT_TRUE (std::isfinite (v)) << fields[0] << " e" << i - 1;
      e.text.push_back (fields[i]);
      e.values.push_back (v);
      sum += v * v;
    }
    EXPECT_NEAR (std::sqrt (sum), 1.0, 1e-4) << "L2 norm of " << fields[0];
    EXPECT_EQ (result.count (fields[0]), 0u) << "duplicate " << fields[0];
    result[fields[0]] = e;
  }
  return result;
}

double
Cosine (const Embedding &a, const Embedding &b)
{
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.values.size () && i < b.values.size (); i++) {
    ab += a.values[i] * b.values[i];
    aa += a.values[i] * a.values[i];
    bb += b.values[i] * b.values[i];
  }
  return ab / std::sqrt (aa * bb);
}

/* ------------------------------------------------------------------------ */
/* Test images                                                              */
/* ------------------------------------------------------------------------ */

struct Image
{
  int width, height;
  std::vector<uint8_t> rgb;     /* packed */
};

/* Smooth, true-colour content: lossless formats must give exactly the same
 * pixels, JPEG q100 nearly. */
Image
MakeColourImage (int width, int height)
{
  Image img{width, height, std::vector<uint8_t> ((size_t) width * height * 3)};
  for (int y = 0; y < height; y++) {
    for (int x = 0; x < width; x++) {
      uint8_t *p = &img.rgb[((size_t) y * width + x) * 3];
      double dx = x - width / 2.0, dy = y - height / 2.0;
      p[0] = (uint8_t) (x * 255 / (width - 1));
      p[1] = (uint8_t) (y * 255 / (height - 1));
      p[2] = (uint8_t) std::lround (127.5 + 127.5 *
          std::cos (std::sqrt (dx * dx + dy * dy) / 9.0));
    }
  }
  return img;
}

/* 256 colours at most, for GIF: palette index = 16 * (x level) + y level. */
Image
MakePaletteImage (std::vector<uint8_t> *palette, std::vector<uint8_t> *indices)
{
  Image img{kSize, kSize, std::vector<uint8_t> ((size_t) kSize * kSize * 3)};
  palette->assign (256 * 3, 0);
  for (int i = 0; i < 256; i++) {
    int lx = i / 16, ly = i % 16;
    (*palette)[i * 3 + 0] = (uint8_t) (lx * 17);
    (*palette)[i * 3 + 1] = (uint8_t) (ly * 17);
    (*palette)[i * 3 + 2] = (uint8_t) (255 - (lx + ly) * 17 / 2);
  }
  indices->assign ((size_t) kSize * kSize, 0);
  for (int y = 0; y < kSize; y++) {
    for (int x = 0; x < kSize; x++) {
      int index = (x * 16 / kSize) * 16 + (y * 16 / kSize);
      (*indices)[(size_t) y * kSize + x] = (uint8_t) index;
      memcpy (&img.rgb[((size_t) y * kSize + x) * 3], &(*palette)[index * 3],
          3);
    }
  }
  return img;
}

Image
MakeGrayImage ()
{
  Image img{kSize, kSize, std::vector<uint8_t> ((size_t) kSize * kSize * 3)};
  for (int y = 0; y < kSize; y++) {
    for (int x = 0; x < kSize; x++) {
      double dx = x - 40, dy = y - 60;
      uint8_t v = (uint8_t) std::lround (127.5 + 60 * std::sin (x / 7.0) +
          60 * std::cos (std::sqrt (dx * dx + dy * dy) / 11.0));
      memset (&img.rgb[((size_t) y * kSize + x) * 3], v, 3);
    }
  }
  return img;
}

void
WriteFile (const std::string &path, const std::string &data)
{
  GError *error = nullptr;
  ASSERT_TRUE (g_file_set_contents (path.c_str (), data.data (),
          (gssize) data.size (), &error)) << path << ": "
      << (error ? error->message : "?");
}

std::string
ReadFile (const std::string &path)
{
  char *data = nullptr;
  gsize size = 0;
  GError *error = nullptr;
  if (!g_file_get_contents (path.c_str (), &data, &size, &error)) {
    ADD_FAILURE () << path << ": " << error->message;
    g_error_free (error);
    return "";
  }
  std::string s (data, size);
  g_free (data);
  return s;
}

/* Saves with GdkPixbuf (png, jpeg, bmp); @alpha adds an alpha channel with
 * varying values, which the tool must drop. */
void
SavePixbuf (const Image &img, const std::string &path, const char *type,
    bool alpha = false, const char *quality = nullptr)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8,
      img.width, img.height);
  ASSERT_NE (pixbuf, nullptr);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  for (int y = 0; y < img.height; y++) {
    for (int x = 0; x < img.width; x++) {
      guint8 *d = pixels + (size_t) y * stride + (size_t) x * n_channels;
      memcpy (d, &img.rgb[((size_t) y * img.width + x) * 3], 3);
      if (alpha)
        d[3] = (guint8) ((x * 7 + y * 3) & 0xff);
    }
  }
  GError *error = nullptr;
  gboolean ok = quality
      ? gdk_pixbuf_save (pixbuf, path.c_str (), type, &error, "quality",
      quality, NULL)
      : gdk_pixbuf_save (pixbuf, path.c_str (), type, &error, NULL);
  g_object_unref (pixbuf);
  ASSERT_TRUE (ok) << path << ": " << (error ? error->message : "?");
}

/* Binary PPM (P6) or, with @gray, PGM (P5) from the red channel. */
void
SavePnm (const Image &img, const std::string &path, bool gray)
{
  std::string data = std::string (gray ? "P5" : "P6") + "\n" +
      std::to_string (img.width) + " " + std::to_string (img.height) +
      "\n255\n";
  if (gray) {
    for (size_t i = 0; i < img.rgb.size (); i += 3)
      data += (char) img.rgb[i];
  } else {
    data.append ((const char *) img.rgb.data (), img.rgb.size ());
  }
  WriteFile (path, data);
}

/* A GIF89a with a 256-colour global palette. The LZW stream uses only
 * literal codes: with 8-bit pixels the codes are 9 bits wide, and a clear
 * code every 250 pixels keeps the decoder's table (258 + 249 entries) below
 * 512, so the code width never changes. */
void
SaveGif (int width, int height, const std::vector<uint8_t> &palette,
    const std::vector<uint8_t> &indices, const std::string &path)
{
  std::string data = "GIF89a";
  auto put16 = [&data] (int v) {
    data += (char) (v & 0xff);
    data += (char) ((v >> 8) & 0xff);
  };
  put16 (width);
  put16 (height);
  data += (char) 0xf7;          /* global colour table, 8 bits, 256 entries */
  data += (char) 0;             /* background */
  data += (char) 0;             /* aspect */
  data.append ((const char *) palette.data (), 256 * 3);
  data += (char) 0x2c;          /* image descriptor */
  put16 (0);
  put16 (0);
  put16 (width);
  put16 (height);
  data += (char) 0;             /* no local table, not interlaced */
  data += (char) 8;             /* LZW minimum code size */

  const uint32_t kClear = 256, kEnd = 257;
  std::string lzw;
  uint32_t acc = 0;
  int n_bits = 0;
  auto put_code = [&] (uint32_t code) {
    acc |= code << n_bits;
    n_bits += 9;
    while (n_bits >= 8) {
      lzw += (char) (acc & 0xff);
      acc >>= 8;
      n_bits -= 8;
    }
  };
  put_code (kClear);
  int since_clear = 0;
  for (uint8_t index : indices) {
    if (since_clear == 250) {
      put_code (kClear);
      since_clear = 0;
    }
    put_code (index);
    since_clear++;
  }
  put_code (kEnd);
  if (n_bits > 0)
    lzw += (char) (acc & 0xff);

  for (size_t i = 0; i < lzw.size (); i += 255) {
    size_t n = std::min ((size_t) 255, lzw.size () - i);
    data += (char) n;
    data.append (lzw, i, n);
  }
  data += (char) 0;             /* block terminator */
  data += (char) 0x3b;          /* trailer */
  WriteFile (path, data);
}

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */
/* ------------------------------------------------------------------------ */

class CliEmbedTest : public ::testing::Test
{
protected:
  static std::string dir_;

  static std::string Path (const std::string &name)
  {
    return dir_ + G_DIR_SEPARATOR_S + name;
  }

  static void SetUpTestSuite ()
  {
    std::string build = Env ("FV_BUILD_DIR");
    if (build.empty ())
      build = g_get_tmp_dir ();
    std::string tmpl = build + G_DIR_SEPARATOR_S "test-cli-XXXXXX";
    std::vector<char> buf (tmpl.begin (), tmpl.end ());
    buf.push_back ('\0');
    ASSERT_NE (g_mkdtemp (buf.data ()), nullptr) << tmpl << ": "
        << g_strerror (errno);
    dir_ = buf.data ();

    Image colour = MakeColourImage (kSize, kSize);
    SavePixbuf (colour, Path ("colour.png"), "png");
    SavePixbuf (colour, Path ("colour-alpha.png"), "png", true);
    SavePixbuf (colour, Path ("colour.jpg"), "jpeg", false, "100");
    SavePixbuf (colour, Path ("colour.bmp"), "bmp");
    SavePnm (colour, Path ("colour.ppm"), false);

    Image gray = MakeGrayImage ();
    SavePnm (gray, Path ("gray.pgm"), true);
    SavePixbuf (gray, Path ("gray.png"), "png");

    std::vector<uint8_t> palette, indices;
    Image paletted = MakePaletteImage (&palette, &indices);
    SaveGif (kSize, kSize, palette, indices, Path ("palette.gif"));
    SavePixbuf (paletted, Path ("palette.png"), "png");

    SavePixbuf (MakeColourImage (100, 80), Path ("small.png"), "png");

    std::mt19937 rng (42);
    std::string noise;
    for (int i = 0; i < 4096; i++)
      noise += (char) (rng () & 0xff);
    WriteFile (Path ("random.png"), noise);
    WriteFile (Path ("corrupt.png"), "\x89PNG\r\n\x1a\n" + noise);
    std::string png = ReadFile (Path ("colour.png"));
    WriteFile (Path ("truncated.png"), png.substr (0, png.size () / 2));
    std::string bmp = ReadFile (Path ("colour.bmp"));
    WriteFile (Path ("truncated.bmp"), bmp.substr (0, bmp.size () - 100));
    std::string ppm = ReadFile (Path ("colour.ppm"));
    WriteFile (Path ("truncated.ppm"), ppm.substr (0, ppm.size () - 1));
    WriteFile (Path ("empty.png"), "");

    /* Headers of 20000x20000 images (400 Mpixels, over the limit), with a
     * little pixel data: refused before their pixels are allocated. */
    WriteFile (Path ("huge.ppm"), "P6\n20000 20000\n255\n" +
        std::string (100000, '\x80'));
    std::vector<uint8_t> one_colour (256 * 3, 0), no_pixels;
    SaveGif (20000, 20000, one_colour, no_pixels, Path ("huge.gif"));
    SavePixbuf (colour, Path ("comma,\"quote\".png"), "png");
  }

  static void TearDownTestSuite ()
  {
    if (dir_.empty () || !Env ("FV_KEEP_TEST_FILES").empty ())
      return;
    GDir *dir = g_dir_open (dir_.c_str (), 0, nullptr);
    if (dir) {
      const char *name;
      while ((name = g_dir_read_name (dir)) != nullptr)
        g_unlink (Path (name).c_str ());
      g_dir_close (dir);
    }
    g_rmdir (dir_.c_str ());
    dir_.clear ();
  }

  void SetUp () override
  {
    model_ = Env ("FV_MODEL_DIR") + G_DIR_SEPARATOR_S "MobileFaceNet.tflite";
    if (!g_file_test (model_.c_str (), G_FILE_TEST_IS_REGULAR))
      GTEST_SKIP () << model_ << " is missing: run models/fetch.sh (or set "
          "FV_MODEL_DIR) to test `faceverify embed`";
  }

  /* Runs `faceverify embed --model <model> --aligned <names...>` in the
   * test folder. */
  RunResult Embed (const std::vector<std::string> &names)
  {
    std::vector<std::string> args = { "embed", "--model", model_,
      "--aligned"
    };
    for (const auto &n : names)
      args.push_back (Path (n));
    return RunTool (args);
  }

  std::string model_;
};

std::string CliEmbedTest::dir_;

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

TEST (Cli, HelpListsCommands)
{
  RunResult r = RunTool ({"--help"});
  EXPECT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("embed"), std::string::npos) << r.out;
  EXPECT_NE (r.out.find ("Usage"), std::string::npos) << r.out;
}

TEST (Cli, Version)
{
  RunResult r = RunTool ({"--version"});
  EXPECT_EQ (r.status, 0) << r.err;
  EXPECT_EQ (r.out, std::string ("faceverify ") + FV_VERSION + "\n");
}

TEST (Cli, NoArgumentsIsUsageError)
{
  RunResult r = RunTool ({});
  EXPECT_EQ (r.status, 2);
  EXPECT_NE (r.err.find ("Usage"), std::string::npos) << r.err;
}

TEST (Cli, UnknownCommand)
{
  RunResult r = RunTool ({"frobnicate"});
  EXPECT_EQ (r.status, 2);
  EXPECT_TRUE (r.out.empty ()) << r.out;
  EXPECT_NE (r.err.find ("frobnicate"), std::string::npos) << r.err;
}

TEST (Cli, UnknownTopLevelOption)
{
  RunResult r = RunTool ({"--frobnicate"});
  EXPECT_EQ (r.status, 2);
  EXPECT_NE (r.err.find ("--frobnicate"), std::string::npos) << r.err;
}

TEST (Cli, EmbedHelp)
{
  RunResult r = RunTool ({"embed", "--help"});
  EXPECT_EQ (r.status, 0) << r.err;
  EXPECT_NE (r.out.find ("--aligned"), std::string::npos) << r.out;
  EXPECT_NE (r.out.find ("--model"), std::string::npos) << r.out;
  EXPECT_NE (r.out.find ("faceverify embed"), std::string::npos) << r.out;

  RunResult r2 = RunTool ({"help", "embed"});
  EXPECT_EQ (r2.status, 0) << r2.err;
  EXPECT_EQ (r2.out, r.out);
}

TEST (Cli, EmbedUsageErrors)
{
  RunResult r = RunTool ({"embed", "--aligned"});
  EXPECT_EQ (r.status, 2);
  EXPECT_TRUE (r.out.empty ()) << r.out;
  EXPECT_NE (r.err.find ("no image"), std::string::npos) << r.err;

  r = RunTool ({"embed", "--no-such-option", "--aligned", "x.png"});
  EXPECT_EQ (r.status, 2);
  EXPECT_NE (r.err.find ("--no-such-option"), std::string::npos) << r.err;

  /* Without --aligned the photo goes through the detector: a missing file
   * is an error that names it, and no CSV line is printed for it. */
  r = RunTool ({"embed", "x.png"});
  EXPECT_EQ (r.status, 1);
  EXPECT_EQ (r.out.find ("x.png"), std::string::npos) << r.out;
  EXPECT_NE (r.err.find ("x.png"), std::string::npos) << r.err;
}

TEST_F (CliEmbedTest, LosslessFormatsGiveIdenticalEmbeddings)
{
  RunResult r = Embed ({"colour.png", "colour.bmp", "colour.ppm",
          "colour-alpha.png"});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_TRUE (r.err.empty ()) << r.err;
  auto e = ParseEmbedOutput (r.out);
  ASSERT_EQ (e.size (), 4u) << r.out;

  const Embedding &png = e[Path ("colour.png")];
  ASSERT_EQ (png.values.size (), (size_t) kDim);
  for (const char *other : {"colour.bmp", "colour.ppm", "colour-alpha.png"}) {
    ASSERT_EQ (e.count (Path (other)), 1u) << other;
    EXPECT_EQ (e[Path (other)].text, png.text) << other << " differs from "
        "colour.png";
  }
}

TEST_F (CliEmbedTest, JpegQuality100IsClose)
{
  RunResult r = Embed ({"colour.png", "colour.jpg"});
  ASSERT_EQ (r.status, 0) << r.err;
  auto e = ParseEmbedOutput (r.out);
  ASSERT_EQ (e.size (), 2u) << r.out;
  double cosine = Cosine (e[Path ("colour.png")], e[Path ("colour.jpg")]);
  EXPECT_GT (cosine, 0.99);
  EXPECT_LE (cosine, 1.0 + 1e-6);
}

TEST_F (CliEmbedTest, GrayscaleAndGif)
{
  RunResult r = Embed ({"gray.pgm", "gray.png", "palette.gif",
          "palette.png"});
  ASSERT_EQ (r.status, 0) << r.err;
  auto e = ParseEmbedOutput (r.out);
  ASSERT_EQ (e.size (), 4u) << r.out;
  EXPECT_EQ (e[Path ("gray.pgm")].text, e[Path ("gray.png")].text)
      << "grayscale PGM must be expanded to R = G = B";
  EXPECT_EQ (e[Path ("palette.gif")].text, e[Path ("palette.png")].text)
      << "GIF must decode to the same pixels as the PNG";
  /* Different pictures give different embeddings. */
  EXPECT_LT (Cosine (e[Path ("gray.png")], e[Path ("palette.png")]), 0.999);
}

TEST_F (CliEmbedTest, DefaultModel)
{
  RunResult explicit_model = Embed ({"colour.png"});
  ASSERT_EQ (explicit_model.status, 0) << explicit_model.err;
  RunResult r = RunTool ({"embed", "--aligned", Path ("colour.png")});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_EQ (r.out, explicit_model.out);
}

TEST_F (CliEmbedTest, WrongSize)
{
  RunResult r = Embed ({"small.png"});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find (Path ("small.png")), std::string::npos) << r.err;
  EXPECT_NE (r.err.find ("100x80"), std::string::npos) << r.err;
  EXPECT_NE (r.err.find ("112x112"), std::string::npos) << r.err;
  /* Only the header. */
  EXPECT_EQ (SplitLines (r.out).size (), 1u) << r.out;
}

TEST_F (CliEmbedTest, BadFilesAreReportedAndSkipped)
{
  const std::vector<std::string> bad = { "random.png", "corrupt.png",
    "truncated.png", "truncated.bmp", "truncated.ppm", "empty.png",
    "missing.png"
  };
  for (const auto &name : bad) {
    RunResult r = Embed ({name});
    EXPECT_EQ (r.status, 1) << name << "\n" << r.err;
    EXPECT_NE (r.err.find ("faceverify: " + Path (name) + ": "),
        std::string::npos) << name << ": " << r.err;
    EXPECT_EQ (SplitLines (r.out).size (), 1u) << name << ": " << r.out;
  }

  /* A directory is not an image either. */
  RunResult r = RunTool ({"embed", "--model", model_, "--aligned", dir_});
  EXPECT_EQ (r.status, 1);
  EXPECT_NE (r.err.find (dir_ + ": "), std::string::npos) << r.err;

  /* The good images around the bad ones are still embedded. */
  r = Embed ({"colour.png", "missing.png", "small.png", "gray.png"});
  EXPECT_EQ (r.status, 1);
  auto e = ParseEmbedOutput (r.out);
  EXPECT_EQ (e.size (), 2u) << r.out;
  EXPECT_EQ (e.count (Path ("colour.png")), 1u);
  EXPECT_EQ (e.count (Path ("gray.png")), 1u);
  EXPECT_NE (r.err.find (Path ("missing.png")), std::string::npos) << r.err;
  EXPECT_NE (r.err.find (Path ("small.png")), std::string::npos) << r.err;
}

TEST_F (CliEmbedTest, HugeImagesAreRefused)
{
  for (const char *name : {"huge.ppm", "huge.gif"}) {
    RunResult r = Embed ({name});
    EXPECT_EQ (r.status, 1) << name;
    EXPECT_NE (r.err.find (Path (name) + ": image too large (20000x20000"),
        std::string::npos) << r.err;
    EXPECT_EQ (r.err.find ("WARNING"), std::string::npos) << r.err;
  }
}

TEST_F (CliEmbedTest, MissingModel)
{
  RunResult r = RunTool ({"embed", "--model", "/nonexistent",
          "--aligned", Path ("colour.png")});
  EXPECT_NE (r.status, 0);
  EXPECT_TRUE (r.out.empty ()) << r.out;
  EXPECT_NE (r.err.find ("/nonexistent"), std::string::npos) << r.err;
  EXPECT_NE (r.err.find ("model"), std::string::npos) << r.err;
}

TEST_F (CliEmbedTest, PathIsQuotedInCsv)
{
  std::string name = "comma,\"quote\".png";
  RunResult r = Embed ({name, "colour.png"});
  ASSERT_EQ (r.status, 0) << r.err;
  auto e = ParseEmbedOutput (r.out);
  ASSERT_EQ (e.count (Path (name)), 1u) << r.out;
  EXPECT_EQ (e[Path (name)].text, e[Path ("colour.png")].text);
}

TEST_F (CliEmbedTest, DecimalPointIgnoresLocale)
{
  /* Any installed locale whose decimal separator is a comma. */
  std::string comma_locale;
  std::string saved = setlocale (LC_NUMERIC, nullptr);
  for (const char *name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
          "fr_FR.utf8", "nl_NL.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8",
          "it_IT.UTF-8", "pt_BR.UTF-8"}) {
    if (setlocale (LC_NUMERIC, name) != nullptr
        && strcmp (localeconv ()->decimal_point, ",") == 0) {
      comma_locale = name;
      break;
    }
  }
  setlocale (LC_NUMERIC, saved.c_str ());
  if (comma_locale.empty ())
    GTEST_SKIP () << "no locale with a decimal comma is installed";

  RunResult c = Embed ({"colour.png"});
  ASSERT_EQ (c.status, 0) << c.err;
  RunResult r = RunTool ({"embed", "--model", model_, "--aligned",
          Path ("colour.png")}, {{"LC_ALL", comma_locale}});
  ASSERT_EQ (r.status, 0) << r.err;
  EXPECT_EQ (r.out, c.out);
}

/* End to end against the independent reference in ../shared/golden: real
 * aligned face crops (PNG) must give the reference embeddings. */
TEST_F (CliEmbedTest, MatchesReferenceEmbeddings)
{
  std::string shared = Env ("FV_SHARED_DIR");
  if (shared.empty ())
    shared = FV_DEFAULT_SHARED_DIR;
  std::string csv = shared + "/golden/dev_faces_reference_embeddings.csv";
  if (!g_file_test (csv.c_str (), G_FILE_TEST_IS_REGULAR))
    GTEST_SKIP () << csv << " is missing (set FV_SHARED_DIR)";

  /* One crop of each source. */
  std::vector<std::string> lines = SplitLines (ReadFile (csv));
  std::map<std::string, std::vector<double>> reference;
  std::map<std::string, bool> seen_source;
  std::vector<std::string> args = { "embed", "--model", model_, "--aligned" };
  for (size_t l = 1; l < lines.size (); l++) {
    std::vector<std::string> f = SplitCsv (lines[l]);
    ASSERT_EQ (f.size (), (size_t) kDim + 2) << lines[l];
    if (seen_source[f[0]])
      continue;
    std::string image = shared + "/data/faces/" + f[0] + "/" + f[1];
    if (!g_file_test (image.c_str (), G_FILE_TEST_IS_REGULAR))
      continue;
    seen_source[f[0]] = true;
    std::vector<double> v;
    for (size_t i = 2; i < f.size (); i++)
      v.push_back (g_ascii_strtod (f[i].c_str (), nullptr));
    reference[image] = v;
    args.push_back (image);
  }
  if (reference.empty ())
    GTEST_SKIP () << "no crops found under " << shared << "/data/faces";

  RunResult r = RunTool (args);
  ASSERT_EQ (r.status, 0) << r.err;
  auto e = ParseEmbedOutput (r.out);
  ASSERT_EQ (e.size (), reference.size ());
  for (const auto &[image, v] : reference) {
    ASSERT_EQ (e.count (image), 1u) << image;
    Embedding ref;
    ref.values = v;
    EXPECT_GE (Cosine (e[image], ref), 0.9999) << image;
  }
}

/* A model whose weights overflow (3e38, finite, so it loads) gives NaN and
 * inf: embed used to print them with exit status 0. Now the image is
 * reported and no line is printed. */
TEST_F (CliEmbedTest, NonFiniteEmbeddingsAreErrors)
{
  std::vector<unsigned char> bytes;
  {
    gchar *data = nullptr;
    gsize len = 0;
    ASSERT_TRUE (g_file_get_contents (model_.c_str (), &data, &len, nullptr));
    bytes.assign (data, data + len);
    g_free (data);
  }
  size_t off = bytes.size () / 2 / 4 * 4;
  const float big = 3e38f;
  for (size_t i = 0; i < 4096; i += 4)
    memcpy (&bytes[off + i], &big, 4);
  std::string bad = Path ("overflow.tflite");
  ASSERT_TRUE (g_file_set_contents (bad.c_str (), (const char *) bytes.data (),
          (gssize) bytes.size (), nullptr));
  RunResult r = RunTool ({"embed", "--model", bad, "--aligned",
      Path ("colour.png")});
  EXPECT_EQ (r.status, 1) << r.out;
  EXPECT_EQ (r.out.find ("nan"), std::string::npos) << r.out;
  EXPECT_EQ (r.out.find ("inf"), std::string::npos) << r.out;
  EXPECT_NE (r.err.find ("non-finite"), std::string::npos) << r.err;
  g_unlink (bad.c_str ());
}

}                               /* namespace */

// exr_ref.cpp: EXR fixtures written by the official OpenEXR C++ library (the
// Debian/Ubuntu libopenexr-dev 3.1), for roto's EXR tests. Built and run by
// gen_io_fixtures.sh; not part of roto.
//
//   exr_ref synth OUT W H
//       a W x H test pattern, uncompressed, with every kind of channel DWA
//       treats differently (see synth() below)
//   exr_ref convert IN OUT COMPRESSION [tiled TW TH] [level L]
//       read every channel of IN (scanline or tiled, level 0) with the library
//       and write them to OUT (scanline, or one-level tiles) with COMPRESSION
//       (none rle zips zip piz pxr24 b44 b44a dwaa dwab) and, for DWA, the
//       dwaCompressionLevel L (default 45). Converting a DWA file to zip gives
//       the library's decode of it, stored losslessly.
#include <ImfChannelList.h>
#include <ImfCompression.h>
#include <ImfFrameBuffer.h>
#include <ImfHeader.h>
#include <ImfInputFile.h>
#include <ImfOutputFile.h>
#include <ImfTileDescription.h>
#include <ImfTiledOutputFile.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace OPENEXR_IMF_NAMESPACE;

namespace {

struct Plane {
    std::string name;
    PixelType type;
    bool p_linear;
    std::vector<uint8_t> data;  // width * height values of 2 or 4 bytes
};

size_t type_bytes(PixelType t) { return t == HALF ? 2 : 4; }

// Slices that read or write `planes` over the data window dw.
FrameBuffer frame_buffer(std::vector<Plane> &planes, const IMATH_NAMESPACE::Box2i &dw) {
    FrameBuffer fb;
    size_t w = (size_t)(dw.max.x - dw.min.x + 1);
    for (Plane &p : planes) {
        size_t b = type_bytes(p.type);
        char *base = (char *)p.data.data() - ((ptrdiff_t)dw.min.x + (ptrdiff_t)dw.min.y * (ptrdiff_t)w) * (ptrdiff_t)b;
        fb.insert(p.name.c_str(), Slice(p.type, base, b, b * w));
    }
    return fb;
}

void write(const char *path, std::vector<Plane> &planes, const IMATH_NAMESPACE::Box2i &dw, Compression comp,
           int tile_w, int tile_h, float level) {
    Header h(dw, dw);
    h.compression() = comp;
    h.dwaCompressionLevel() = level;
    for (const Plane &p : planes) h.channels().insert(p.name.c_str(), Channel(p.type, 1, 1, p.p_linear));
    FrameBuffer fb = frame_buffer(planes, dw);
    if (tile_w > 0) {
        h.setTileDescription(TileDescription(tile_w, tile_h, ONE_LEVEL));
        TiledOutputFile out(path, h);
        out.setFrameBuffer(fb);
        out.writeTiles(0, out.numXTiles() - 1, 0, out.numYTiles() - 1);
    } else {
        OutputFile out(path, h);
        out.setFrameBuffer(fb);
        out.writePixels(dw.max.y - dw.min.y + 1);
    }
}

// A small deterministic noise in [0, 1).
float noise(uint32_t x, uint32_t y, uint32_t c) {
    uint32_t h = x * 73856093u ^ y * 19349663u ^ c * 83492791u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return (float)(h & 0xffffff) / 16777216.0f;
}

// Channels (sorted as EXR stores them) and what DWA does with them:
//   A (half), mask.A (float)          RLE (2- and 4-byte values)
//   B, G, R (half)                    lossy, one Y'CbCr set
//   spec.B, spec.G, spec.R (float)    lossy set of float channels (stored at half precision)
//   lum.Y (half)                      lossy, single channel, perceptual curve
//   lin.Y (half, pLinear)             lossy, single channel, no curve
//   depth.Z (float), id (uint)        UNKNOWN: deflated, lossless
// The colour has smooth ramps, noise, values above 1 and below 0, and a flat
// 16x8 corner (all-DC blocks).
void synth(const char *path, int w, int h) {
    std::vector<Plane> planes = {
        {"A", HALF, false, {}},        {"B", HALF, false, {}},       {"G", HALF, false, {}},
        {"R", HALF, false, {}},        {"depth.Z", FLOAT, false, {}}, {"id", UINT, false, {}},
        {"lin.Y", HALF, true, {}},     {"lum.Y", HALF, false, {}},   {"mask.A", FLOAT, false, {}},
        {"spec.B", FLOAT, false, {}},  {"spec.G", FLOAT, false, {}}, {"spec.R", FLOAT, false, {}},
    };
    for (Plane &p : planes) p.data.resize((size_t)w * h * type_bytes(p.type));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float u = (float)x / (float)(w - 1), v = (float)y / (float)(h - 1);
            int flat = x < 16 && y < 8;
            float r = flat ? 0.18f : 0.6f * u + 0.3f * std::sin(0.7f * x) * v + 0.03f * noise(x, y, 0) + (x > w / 2 ? 1.5f : 0.0f);
            float g = flat ? 0.18f : v * v;
            float b = flat ? 0.18f : 0.25f + 0.5f * u * v - 0.3f * (1.0f - u) * (1.0f - v);
            float dx = x - 0.5f * w, dy = y - 0.5f * h, rr = std::sqrt(dx * dx + dy * dy) / (0.35f * (w < h ? w : h));
            float a = rr < 0.8f ? 1.0f : rr > 1.2f ? 0.0f : std::floor((1.2f - rr) / 0.4f * 1024.0f) / 1024.0f;
            float vals[12] = {a,
                              b,
                              g,
                              r,
                              1.0f + std::floor(6400.0f * u * v) / 64.0f,  // exact in float: small files
                              0.0f,
                              u - v,
                              0.5f + 0.5f * std::sin(0.3f * x) * std::cos(0.2f * y),
                              a * a,
                              -2.0f + 40.0f * u * u + (x % 6 < 3 ? 3.0f : 0.0f),
                              8.0f * v + 0.5f * std::cos(0.5f * (float)x * v),
                              0.001f + 0.01f * v};
            for (size_t c = 0; c < planes.size(); c++) {
                Plane &p = planes[c];
                uint8_t *dst = p.data.data() + i * type_bytes(p.type);
                if (p.type == HALF) {
                    uint16_t bits = half(vals[c]).bits();
                    std::memcpy(dst, &bits, 2);
                } else if (p.type == FLOAT) {
                    std::memcpy(dst, &vals[c], 4);
                } else {
                    // ids in bytes 0 and 2, below 2^24 so a float reader keeps them exact
                    uint32_t id = (uint32_t)(x / 5 + 7 * (y / 6)) << 16 | (uint32_t)(x % 3);
                    std::memcpy(dst, &id, 4);
                }
            }
        }
    write(path, planes, IMATH_NAMESPACE::Box2i(IMATH_NAMESPACE::V2i(0, 0), IMATH_NAMESPACE::V2i(w - 1, h - 1)),
          NO_COMPRESSION, 0, 0, 45.0f);
}

void convert(const char *in_path, const char *out_path, Compression comp, int tile_w, int tile_h, float level) {
    InputFile in(in_path);
    const Header &ih = in.header();
    IMATH_NAMESPACE::Box2i dw = ih.dataWindow();
    size_t w = (size_t)(dw.max.x - dw.min.x + 1), hgt = (size_t)(dw.max.y - dw.min.y + 1);
    std::vector<Plane> planes;
    for (ChannelList::ConstIterator c = ih.channels().begin(); c != ih.channels().end(); ++c) {
        Plane p{c.name(), c.channel().type, c.channel().pLinear, {}};
        p.data.resize(w * hgt * type_bytes(p.type));
        planes.push_back(p);
    }
    in.setFrameBuffer(frame_buffer(planes, dw));
    in.readPixels(dw.min.y, dw.max.y);
    write(out_path, planes, dw, comp, tile_w, tile_h, level);
}

bool parse_compression(const char *s, Compression *c) {
    static const char *names[] = {"none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab"};
    for (int i = 0; i < 10; i++)
        if (!std::strcmp(s, names[i])) {
            *c = (Compression)i;  // the file format's numbering
            return true;
        }
    return false;
}

int usage() {
    std::fprintf(stderr,
                 "usage: exr_ref synth OUT W H\n"
                 "       exr_ref convert IN OUT COMPRESSION [tiled TW TH] [level L]\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        if (argc == 5 && !std::strcmp(argv[1], "synth")) {
            synth(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
            return 0;
        }
        if (argc >= 5 && !std::strcmp(argv[1], "convert")) {
            Compression comp;
            if (!parse_compression(argv[4], &comp)) return usage();
            int tw = 0, th = 0;
            float level = 45.0f;
            for (int i = 5; i < argc; i++) {
                if (!std::strcmp(argv[i], "tiled") && i + 2 < argc) {
                    tw = std::atoi(argv[++i]);
                    th = std::atoi(argv[++i]);
                } else if (!std::strcmp(argv[i], "level") && i + 1 < argc) {
                    level = (float)std::atof(argv[++i]);
                } else {
                    return usage();
                }
            }
            convert(argv[2], argv[3], comp, tw, th, level);
            return 0;
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "exr_ref: %s\n", e.what());
        return 1;
    }
    return usage();
}

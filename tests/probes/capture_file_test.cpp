#include "probes/capture_file.hpp"
#include "test_util.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <vector>

namespace fs = std::filesystem;
using podtrace::core::Direction;
using podtrace::core::Frame;
using podtrace::probes::CaptureFile;
using podtrace::probes::FileFormat;
using podtrace::probes::InterfaceInfo;
using Read = CaptureFile::Read;
using Bytes = std::vector<std::uint8_t>;

// Counts every allocation in the binary so a test can assert that next() makes none. Not under
// ASan, which owns operator new itself.
namespace {

using podtrace::test::have;
using podtrace::test::run;
using podtrace::test::shell_quote;
std::atomic<std::size_t> g_allocations{0};
}  // namespace
#ifdef __SANITIZE_ADDRESS__
constexpr bool counting_allocations = false;
#else
constexpr bool counting_allocations = true;
// g++ takes the malloc inside operator new for a mismatch with operator delete's free.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop
#endif

namespace {

static_assert(!std::is_copy_constructible_v<CaptureFile>);
static_assert(!std::is_copy_assignable_v<CaptureFile>);
static_assert(std::is_nothrow_move_constructible_v<CaptureFile>);
static_assert(std::is_nothrow_move_assignable_v<CaptureFile>);

// Writes integers in the chosen byte order.
class Builder {
public:
    explicit Builder(bool big = false) : big_(big) {}
    Builder& u8(std::uint8_t v) { return put(v, 1); }
    Builder& u16(std::uint16_t v) { return put(v, 2); }
    Builder& u32(std::uint32_t v) { return put(v, 4); }
    Builder& u64(std::uint64_t v) { return put(v, 8); }
    Builder& bytes(const Bytes& v) {
        data_.insert(data_.end(), v.begin(), v.end());
        return *this;
    }
    Builder& str(std::string_view s) { return bytes(Bytes(s.begin(), s.end())); }
    Builder& pad4() {
        while (data_.size() % 4 != 0) data_.push_back(0);
        return *this;
    }
    Builder& append(const Builder& b) { return bytes(b.data_); }
    bool big() const { return big_; }
    std::size_t size() const { return data_.size(); }
    const Bytes& data() const { return data_; }

private:
    Builder& put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) {
            const int shift = 8 * (big_ ? n - 1 - i : i);
            data_.push_back(static_cast<std::uint8_t>(v >> shift));
        }
        return *this;
    }
    bool big_;
    Bytes data_;
};

// --- classic pcap -------------------------------------------------------------------------

Builder pcap_header(bool big, bool nano, std::uint32_t linktype, std::uint32_t snaplen) {
    Builder b(big);
    b.u32(nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(linktype);
    return b;
}

void pcap_record(Builder& b, std::uint32_t sec, std::uint32_t frac, const Bytes& data,
                 std::uint32_t origlen) {
    b.u32(sec).u32(frac).u32(static_cast<std::uint32_t>(data.size())).u32(origlen).bytes(data);
}

// --- pcapng ------------------------------------------------------------------------------

Builder block(bool big, std::uint32_t type, Builder body) {
    body.pad4();
    const auto len = static_cast<std::uint32_t>(body.size() + 12);
    Builder b(big);
    b.u32(type).u32(len).append(body).u32(len);
    return b;
}

Builder shb(bool big, std::uint16_t major = 1) {
    Builder body(big);
    body.u32(0x1a2b3c4d).u16(major).u16(0).u64(~std::uint64_t{0});
    return block(big, 0x0a0d0d0a, body);
}

// Options, then opt_endofopt; empty when there are none.
class Options {
public:
    explicit Options(bool big) : b_(big) {}
    Options& add(std::uint16_t code, const Builder& value) {
        b_.u16(code).u16(static_cast<std::uint16_t>(value.size())).append(value).pad4();
        return *this;
    }
    Options& str(std::uint16_t code, std::string_view s) {
        return add(code, Builder(b_.big()).str(s));
    }
    Options& u8(std::uint16_t code, std::uint8_t v) { return add(code, Builder(b_.big()).u8(v)); }
    Options& u32(std::uint16_t code, std::uint32_t v) {
        return add(code, Builder(b_.big()).u32(v));
    }
    Options& u64(std::uint16_t code, std::uint64_t v) {
        return add(code, Builder(b_.big()).u64(v));
    }
    // A time as an EPB holds it: high 32 bits, then low.
    Options& ts(std::uint16_t code, std::uint64_t v) {
        return add(code, Builder(b_.big())
                             .u32(static_cast<std::uint32_t>(v >> 32))
                             .u32(static_cast<std::uint32_t>(v)));
    }
    Builder done() const {
        Builder out = b_;
        if (out.size() != 0) out.u32(0);
        return out;
    }

private:
    Builder b_;
};

Builder shb(bool big, const Options& opts) {
    Builder body(big);
    body.u32(0x1a2b3c4d).u16(1).u16(0).u64(~std::uint64_t{0}).append(opts.done());
    return block(big, 0x0a0d0d0a, body);
}

Builder idb(bool big, std::uint16_t linktype, std::uint32_t snaplen, const Options& opts) {
    Builder body(big);
    body.u16(linktype).u16(0).u32(snaplen).append(opts.done());
    return block(big, 1, body);
}
Builder idb(bool big, std::uint16_t linktype, std::uint32_t snaplen = 0) {
    return idb(big, linktype, snaplen, Options(big));
}

Builder epb(bool big, std::uint32_t if_id, std::uint64_t ts, const Bytes& data,
            std::uint32_t origlen, const Options& opts) {
    Builder body(big);
    body.u32(if_id).u32(static_cast<std::uint32_t>(ts >> 32)).u32(static_cast<std::uint32_t>(ts));
    body.u32(static_cast<std::uint32_t>(data.size())).u32(origlen).bytes(data).pad4();
    body.append(opts.done());
    return block(big, 6, body);
}
Builder epb(bool big, std::uint32_t if_id, std::uint64_t ts, const Bytes& data) {
    return epb(big, if_id, ts, data, static_cast<std::uint32_t>(data.size()), Options(big));
}

Builder isb(bool big, std::uint32_t if_id, std::uint64_t ts, const Options& opts) {
    Builder body(big);
    body.u32(if_id).u32(static_cast<std::uint32_t>(ts >> 32)).u32(static_cast<std::uint32_t>(ts));
    return block(big, 5, body.append(opts.done()));
}

Builder spb(bool big, std::uint32_t origlen, const Bytes& data) {
    Builder body(big);
    body.u32(origlen).bytes(data);
    return block(big, 3, body);
}

Builder obsolete_pb(bool big, std::uint16_t if_id, std::uint16_t drops, std::uint64_t ts,
                    const Bytes& data, std::uint32_t origlen, const Options& opts) {
    Builder body(big);
    body.u16(if_id).u16(drops);
    body.u32(static_cast<std::uint32_t>(ts >> 32)).u32(static_cast<std::uint32_t>(ts));
    body.u32(static_cast<std::uint32_t>(data.size())).u32(origlen).bytes(data).pad4();
    body.append(opts.done());
    return block(big, 2, body);
}

Builder opaque_block(bool big, std::uint32_t type, std::size_t body_len) {
    Builder body(big);
    for (std::size_t i = 0; i < body_len; ++i) body.u8(0x5a);
    return block(big, type, body);
}

Builder concat(std::initializer_list<Builder> parts) {
    Builder out;
    for (const auto& p : parts) out.append(p);
    return out;
}

// --- files -------------------------------------------------------------------------------

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "podtrace-probes-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string write(const std::string& name, const Bytes& data) const {
        const std::string p = (path_ / name).string();
        std::ofstream out(p, std::ios::binary);
        out.write(reinterpret_cast<const char*>(data.data()),
                  static_cast<std::streamsize>(data.size()));
        REQUIRE(out.good());
        return p;
    }
    std::string write(const std::string& name, const Builder& b) const {
        return write(name, b.data());
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

CaptureFile open_ok(const std::string& path) {
    auto f = CaptureFile::open(path);
    if (!f) FAIL(f.error().message);
    return std::move(*f);
}

std::string open_error(const std::string& path) {
    auto f = CaptureFile::open(path);
    REQUIRE_FALSE(f.has_value());
    return f.error().message;
}

// Reads to the end or the first error; `last` says which.
struct ReadAll {
    std::vector<Frame> frames;
    Read last = Read::end;
};
ReadAll read_all(CaptureFile& f) {
    ReadAll r;
    Frame fr;
    while ((r.last = f.next(fr)) == Read::frame) r.frames.push_back(fr);
    return r;
}

Bytes bytes_of(const Frame& f) {
    return {f.bytes.begin(), f.bytes.end()};
}

constexpr std::int64_t giga = 1'000'000'000;

}  // namespace

TEST_CASE("pcap: us and ns files in both byte orders", "[capture_file][pcap]") {
    const bool big = GENERATE(false, true);
    const bool nano = GENERATE(false, true);
    CAPTURE(big, nano);
    TempDir dir;
    Builder b = pcap_header(big, nano, 113, 262144);
    pcap_record(b, 1700000000, 123456, {1, 2, 3, 4, 5}, 60);
    pcap_record(b, 1700000001, 999999, {9}, 9);
    const auto path = dir.write("a.pcap", b);

    auto f = open_ok(path);
    CHECK(f.path() == path);
    CHECK(f.format() == FileFormat::pcap);
    REQUIRE(f.interfaces().size() == 1);
    const InterfaceInfo& ifc = f.interfaces()[0];
    CHECK(ifc.name.empty());
    CHECK(ifc.description.empty());
    CHECK(ifc.linktype == 113);
    CHECK(ifc.snaplen == 262144);
    CHECK(ifc.ts_digits == (nano ? 9 : 6));

    const auto r = read_all(f);
    CHECK(r.last == Read::end);
    REQUIRE(r.frames.size() == 2);
    const std::int64_t scale = nano ? 1 : 1000;
    CHECK(r.frames[0].ts_ns == 1700000000 * giga + 123456 * scale);
    CHECK(r.frames[0].wirelen == 60);
    CHECK(bytes_of(r.frames[0]) == Bytes{1, 2, 3, 4, 5});
    CHECK(r.frames[0].linktype == 113);
    CHECK(r.frames[0].interface == 0);
    CHECK(r.frames[0].ts_digits == (nano ? 9 : 6));
    CHECK(r.frames[0].direction == Direction::unknown);
    CHECK(r.frames[1].ts_ns == 1700000001 * giga + 999999 * scale);
    CHECK(r.frames[1].wirelen == 9);
    CHECK(bytes_of(r.frames[1]) == Bytes{9});
    CHECK(f.frames_read() == 2);
    Frame fr;
    CHECK(f.next(fr) == Read::end);
}

TEST_CASE("pcap: FCS bits above the link type are masked off", "[capture_file][pcap]") {
    TempDir dir;
    Builder b = pcap_header(false, false, 0x14000001, 65535);  // FCS length 1, "present" bit
    pcap_record(b, 1, 0, {0xaa}, 1);
    auto f = open_ok(dir.write("fcs.pcap", b));
    CHECK(f.interfaces()[0].linktype == 1);
    Frame fr;
    REQUIRE(f.next(fr) == Read::frame);
    CHECK(fr.linktype == 1);
}

TEST_CASE("pcap: a truncated last record is an error after the good ones", "[capture_file][pcap]") {
    TempDir dir;
    Builder b = pcap_header(false, false, 1, 65535);
    pcap_record(b, 10, 20, {0xde, 0xad, 0xbe, 0xef}, 4);
    b.u32(11).u32(0).u32(100).u32(100).bytes(Bytes(10, 0x77));
    const auto path = dir.write("trunc.pcap", b);
    auto f = open_ok(path);
    Frame first;
    REQUIRE(f.next(first) == Read::frame);
    Frame fr;
    REQUIRE(f.next(fr) == Read::error);
    CHECK(f.error().message ==
          path + ": truncated record at offset 44 (frame 2): header says 100 bytes, 10 remain");
    CHECK(f.next(fr) == Read::error);  // sticky
    CHECK(f.frames_read() == 1);
    CHECK(bytes_of(first) == Bytes{0xde, 0xad, 0xbe, 0xef});
}

TEST_CASE("pcap: record header errors", "[capture_file][pcap]") {
    TempDir dir;
    Builder b = pcap_header(true, false, 1, 65535);
    pcap_record(b, 10, 20, {1, 2, 3, 4}, 4);
    std::string expected;
    SECTION("a few stray bytes after the last record") {
        b.bytes({1, 2, 3, 4, 5});
        expected = ": truncated record header at offset 44 (frame 2): 5 of 16 bytes";
    }
    SECTION("a captured length no snaplen allows") {
        b.u32(11).u32(0).u32(0x10000001).u32(0x10000001).bytes(Bytes(64, 0));
        expected = ": record at offset 44 (frame 2): captured length 268435457 exceeds 256 MiB";
    }
    const auto path = dir.write("bad.pcap", b);
    auto f = open_ok(path);
    const auto r = read_all(f);
    CHECK(r.frames.size() == 1);
    REQUIRE(r.last == Read::error);
    CHECK(f.error().message == path + expected);
}

TEST_CASE("open: files that are not captures", "[capture_file]") {
    TempDir dir;
    std::string path;
    std::string expected;
    SECTION("missing") {
        path = (dir.path() / "missing.pcap").string();
        expected = ": cannot open: No such file or directory";
    }
    SECTION("empty") {
        path = dir.write("empty.pcap", Bytes{});
        expected = ": empty file (0 bytes)";
    }
    SECTION("a directory") {
        path = dir.path().string();
        expected = ": is a directory";
    }
    SECTION("shorter than any magic") {
        path = dir.write("short.pcap", Bytes{0xd4, 0xc3, 0xb2});
        expected = ": not a pcap or pcapng file (3 bytes)";
    }
    SECTION("an ELF binary") {
        path = dir.write("x.pcap", Bytes{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0});
        expected = ": not a pcap or pcapng file (magic 0x7f454c46)";
    }
    SECTION("a pcap magic and no room for the header") {
        path = dir.write("hdr.pcap", Bytes{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0});
        expected = ": truncated pcap file header (10 of 24 bytes)";
    }
    SECTION("a pcapng section header with a bad byte-order magic") {
        Builder b;
        b.u32(0x0a0d0d0a).u32(28).u32(0x04030201).u16(1).u16(0).u64(0).u32(28);
        path = dir.write("bom.pcapng", b);
        expected = ": bad byte-order magic 0x01020304 in section header at offset 0";
    }
    SECTION("a pcapng major version we do not know") {
        path = dir.write("v2.pcapng", shb(false, 2));
        expected = ": unsupported pcapng version 2.0 at offset 0";
    }
    CHECK(open_error(path) == path + expected);
}

TEST_CASE("pcapng: two sections, both byte orders, mixed link types", "[capture_file][pcapng]") {
    const bool first_big = GENERATE(false, true);
    const bool second_big = !first_big;
    CAPTURE(first_big);
    TempDir dir;
    const bool a = first_big;
    const bool c = second_big;
    const Builder file = concat({
        shb(a),
        idb(a, 1, 65535, Options(a).str(2, "eth0")),
        idb(a, 113, 262144, Options(a).str(2, "any").str(3, "cooked").u8(9, 9)),
        opaque_block(a, 4, 16),  // NRB
        epb(a, 1, 1'700'000'000'123'456'789, {0xaa, 0xbb, 0xcc}, 100, Options(a).u32(2, 1)),
        epb(a, 0, 1'700'000'000'000'001, {1, 2, 3, 4}),
        opaque_block(a, 5, 20),           // ISB
        opaque_block(a, 0x40000bad, 12),  // custom block that may not be copied
        shb(c),
        idb(c, 101, 0, Options(c).str(2, "tun0").u8(9, 0x8a).u64(14, 100)),
        idb(c, 229),
        opaque_block(c, 0x0000000a, 8),  // DSB
        epb(c, 0, 5 * 1024 + 512, {5}, 5, Options(c).u32(2, 2)),
        epb(c, 1, 7, {6, 7}),
    });
    const auto path = dir.write("two.pcapng", file);
    auto f = open_ok(path);
    CHECK(f.format() == FileFormat::pcapng);
    CHECK(f.interfaces().empty());  // none declared before the first next()

    const auto r = read_all(f);
    CHECK(r.last == Read::end);
    REQUIRE(f.interfaces().size() == 4);
    const auto& ifs = f.interfaces();
    CHECK(ifs[0].name == "eth0");
    CHECK(ifs[0].linktype == 1);
    CHECK(ifs[0].snaplen == 65535);
    CHECK(ifs[0].ts_digits == 6);
    CHECK(ifs[1].name == "any");
    CHECK(ifs[1].description == "cooked");
    CHECK(ifs[1].linktype == 113);
    CHECK(ifs[1].snaplen == 262144);
    CHECK(ifs[1].ts_digits == 9);
    CHECK(ifs[2].name == "tun0");
    CHECK(ifs[2].linktype == 101);
    CHECK(ifs[2].snaplen == 0);
    CHECK(ifs[2].ts_digits == 6);  // 2^-10 s is coarser than a µs
    CHECK(ifs[3].name.empty());
    CHECK(ifs[3].linktype == 229);

    REQUIRE(r.frames.size() == 4);
    CHECK(f.frames_read() == 4);
    const Frame& f0 = r.frames[0];
    CHECK(f0.interface == 1);
    CHECK(f0.linktype == 113);
    CHECK(f0.ts_ns == 1'700'000'000'123'456'789);
    CHECK(f0.ts_digits == 9);
    CHECK(f0.wirelen == 100);
    CHECK(bytes_of(f0) == Bytes{0xaa, 0xbb, 0xcc});
    CHECK(f0.direction == Direction::inbound);
    const Frame& f1 = r.frames[1];
    CHECK(f1.interface == 0);
    CHECK(f1.linktype == 1);
    CHECK(f1.ts_ns == 1'700'000'000'000'001'000);
    CHECK(f1.ts_digits == 6);
    CHECK(f1.wirelen == 4);
    CHECK(bytes_of(f1) == Bytes{1, 2, 3, 4});
    CHECK(f1.direction == Direction::unknown);
    const Frame& f2 = r.frames[2];
    CHECK(f2.interface == 2);
    CHECK(f2.linktype == 101);
    CHECK(f2.ts_ns == 105 * giga + 500'000'000);  // 5.5 s of 1/1024 units, plus 100 s offset
    CHECK(f2.ts_digits == 6);
    CHECK(f2.wirelen == 5);
    CHECK(bytes_of(f2) == Bytes{5});
    CHECK(f2.direction == Direction::outbound);
    const Frame& f3 = r.frames[3];
    CHECK(f3.interface == 3);
    CHECK(f3.linktype == 229);
    CHECK(f3.ts_ns == 7000);
    CHECK(bytes_of(f3) == Bytes{6, 7});
}

TEST_CASE("pcapng: timestamp resolutions and offsets", "[capture_file][pcapng]") {
    TempDir dir;
    struct Case {
        std::uint8_t tsresol;
        std::int64_t offset_s;
        std::uint64_t ts;
        std::int64_t ns;
        std::uint8_t digits;
    };
    const auto [tsresol, offset_s, ts, ns, digits] = GENERATE(
        Case{6, 0, 1'500'000, 1'500'000'000, 6},
        Case{9, 0, 1'700'000'000'123'456'789, 1'700'000'000'123'456'789, 9},
        Case{3, 0, 1'234, 1'234'000'000, 6}, Case{0x8a, 0, 3 * 1024 + 256, 3'250'000'000, 6},
        Case{0x94, 0, std::uint64_t{1} << 20, 1'000'000'000, 9},  // 2^-20 s is finer than a µs
        Case{0x80 | 63, 0, std::uint64_t{3} << 61, 750'000'000, 9},
        Case{19, 0, std::numeric_limits<std::int64_t>::max(), 922'337'203, 9},
        Case{6, -10, 5'000'000, -5'000'000'000, 6},
        // A set top bit is a writer's negative time, not one 585,000 years ahead.
        Case{6, 0, std::numeric_limits<std::uint64_t>::max() - 999'999, -1'000'000'000, 6},
        Case{0, 0, std::uint64_t{1} << 62, std::numeric_limits<std::int64_t>::max(), 6},
        Case{0, 0, std::uint64_t{1} << 63, std::numeric_limits<std::int64_t>::min(), 6});
    CAPTURE(static_cast<int>(tsresol), offset_s, ts);
    Options opts(false);
    opts.u8(9, tsresol);
    if (offset_s != 0) opts.u64(14, static_cast<std::uint64_t>(offset_s));
    auto f = open_ok(dir.write(
        "ts.pcapng", concat({shb(false), idb(false, 1, 0, opts), epb(false, 0, ts, {1})})));
    Frame fr;
    REQUIRE(f.next(fr) == Read::frame);
    CHECK(fr.ts_ns == ns);
    CHECK(fr.ts_digits == digits);
    CHECK(f.interfaces()[0].ts_digits == digits);
}

TEST_CASE("pcapng: if_tsresol beyond 64 bits is an error", "[capture_file][pcapng]") {
    TempDir dir;
    const auto path = dir.write(
        "resol.pcapng",
        concat({shb(false), idb(false, 1, 0, Options(false).u8(9, 20)), epb(false, 0, 1, {1})}));
    auto f = open_ok(path);
    Frame fr;
    REQUIRE(f.next(fr) == Read::error);
    CHECK(f.error().message == path + ": IDB at offset 28: unsupported if_tsresol 20");
}

TEST_CASE("pcapng: interface statistics give each interface's capture span and counters",
          "[capture_file][pcapng]") {
    const bool big = GENERATE(false, true);
    CAPTURE(big);
    const bool b = big;
    TempDir dir;
    const auto path = dir.write(
        "isb.pcapng",
        concat({
            shb(b), idb(b, 1),                                 // µs
            idb(b, 101, 0, Options(b).u8(9, 9).u64(14, 100)),  // ns, 100 s offset
            idb(b, 1),                                         // no statistics
            epb(b, 0, 1'700'000'001'000'000, {1}), epb(b, 1, 1'700'000'000'500'000'000, {2}),
            isb(b, 0, 1'700'000'003'000'000,
                Options(b)
                    .str(1, "Counters provided by someone")
                    .ts(2, 1'700'000'000'250'000)
                    .ts(3, 1'700'000'003'000'000)
                    .u64(4, 10)
                    .u64(5, 2)
                    .u64(7, 1)),
            // Several for one interface: the widest span, the latest counters.
            isb(b, 1, 0, Options(b).ts(2, 1'700'000'000'000'000'000).u64(4, 5)),
            isb(b, 1, 0,
                Options(b).ts(2, 1'700'000'000'100'000'000).ts(3, 1'700'000'009'000'000'000)),
            isb(b, 1, 0, Options(b).ts(3, 1'700'000'004'000'000'000).u64(4, 6).u64(5, 0)),
            isb(b, 7, 0, Options(b).ts(2, 1).ts(3, 2)),  // undeclared: ignored
        }));
    auto f = open_ok(path);
    const auto r = read_all(f);
    CHECK(r.last == Read::end);
    CHECK(r.frames.size() == 2);
    const auto& ifs = f.interfaces();
    REQUIRE(ifs.size() == 3);
    CHECK(ifs[0].capture_start_ns == 1'700'000'000'250'000'000);
    CHECK(ifs[0].capture_end_ns == 1'700'000'003'000'000'000);
    CHECK(ifs[0].ifrecv == 10u);
    CHECK(ifs[0].ifdrop == 2u);
    CHECK(ifs[0].osdrop == 1u);
    CHECK(ifs[1].capture_start_ns == 1'700'000'100'000'000'000);
    CHECK(ifs[1].capture_end_ns == 1'700'000'109'000'000'000);
    CHECK(ifs[1].ifrecv == 6u);
    CHECK(ifs[1].ifdrop == 0u);
    CHECK_FALSE(ifs[1].osdrop);
    CHECK_FALSE(ifs[2].capture_start_ns);
    CHECK_FALSE(ifs[2].capture_end_ns);
    CHECK_FALSE(ifs[2].ifrecv);
}

TEST_CASE("pcapng: frames stamped past what int64 ns holds are clamped and counted",
          "[capture_file][pcapng]") {
    const bool b = GENERATE(false, true);
    CAPTURE(b);
    TempDir dir;
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
    const auto path = dir.write(
        "far.pcapng",
        concat({shb(b), idb(b, 1),                                 // µs, no offset
                idb(b, 1, 0, Options(b).u64(14, 10'000'000'000)),  // +10^10 s: 2286
                idb(b, 1, 0, Options(b).u64(14, static_cast<std::uint64_t>(-10'000'000'000))),
                epb(b, 0, 1'700'000'000'000'000, {1}), epb(b, 1, 1'700'000'000'000'000, {2}),
                epb(b, 0, 1'700'000'000'000'001, {3}), epb(b, 2, 0, {4}),
                // Before 1970 but within reach: not out of range (PcapPlusPlus writes such).
                epb(b, 0, static_cast<std::uint64_t>(-1'000'000), {5})}));
    auto f = open_ok(path);
    const auto r = read_all(f);
    CHECK(r.last == Read::end);
    REQUIRE(r.frames.size() == 5);
    CHECK(r.frames[0].ts_ns == 1'700'000'000'000'000'000);
    CHECK(r.frames[1].ts_ns == max);
    CHECK(r.frames[3].ts_ns == min);
    CHECK(r.frames[4].ts_ns == -1'000'000'000);
    CHECK(f.ts_out_of_range() == 2);
    CHECK(f.first_ts_out_of_range() == 2);
}

TEST_CASE("pcapng: dumpcap's statistics times are in µs whatever if_tsresol says",
          "[capture_file][pcapng]") {
    TempDir dir;
    const auto appl = GENERATE(std::string("Dumpcap (Wireshark) 4.0.17 (Git v4.0.17)"),
                               std::string("podtrace 0.1.0"));
    CAPTURE(appl);
    auto f = open_ok(dir.write(
        "dumpcap.pcapng",
        concat({shb(false, Options(false).str(4, appl)), idb(false, 1, 0, Options(false).u8(9, 9)),
                isb(false, 0, 0,
                    Options(false).ts(2, 1'795'794'896'154'214).ts(3, 1'795'794'897'155'505))})));
    Frame fr;
    REQUIRE(f.next(fr) == Read::end);
    const std::int64_t scale = appl.starts_with("Dumpcap") ? 1000 : 1;
    CHECK(f.interfaces()[0].capture_start_ns == 1'795'794'896'154'214 * scale);
    CHECK(f.interfaces()[0].capture_end_ns == 1'795'794'897'155'505 * scale);
}

TEST_CASE("pcapng: a malformed statistics block loses only what it would have said",
          "[capture_file][pcapng]") {
    TempDir dir;
    const bool b = false;
    const Builder head = concat({shb(b), idb(b, 1, 0, Options(b).u8(9, 9))});
    const Builder frame = epb(b, 0, 5, {1, 2});
    Builder bad;
    std::optional<std::int64_t> start, end;
    SECTION("values of the wrong size") {
        bad = isb(b, 0, 0, Options(b).u32(2, 7).add(3, Builder(b).u64(9).u8(1)).ts(3, 9));
        end = 9;
    }
    SECTION("an option running past the block: those before it count") {
        Builder body(b);
        body.u32(0).u32(0).u32(0);
        body.u16(2).u16(8).u32(0).u32(4);         // isb_starttime 4
        body.u16(3).u16(200).u32(0).u32(10'000);  // isb_endtime claiming 200 bytes
        bad = block(b, 5, body);
        start = 4;
    }
    SECTION("an oversized option length with nothing after it") {
        Builder body(b);
        body.u32(0).u32(0).u32(0).u16(2).u16(0xffff);
        bad = block(b, 5, body);
    }
    SECTION("too short for its fields") {
        bad = block(b, 5, Builder(b).u32(0).u32(0));
    }
    SECTION("empty") {
        bad = block(b, 5, Builder(b));
    }
    SECTION("before any interface") {
        bad =
            concat({shb(b), isb(b, 0, 0, Options(b).ts(2, 1)), idb(b, 1, 0, Options(b).u8(9, 9))});
    }
    const auto path = dir.write("bad-isb.pcapng", concat({head, bad, frame}));
    auto f = open_ok(path);
    const auto r = read_all(f);
    CHECK(r.last == Read::end);
    CHECK(f.error().message.empty());
    REQUIRE(r.frames.size() == 1);
    CHECK(bytes_of(r.frames[0]) == Bytes{1, 2});
    const InterfaceInfo& info = f.interfaces().back();
    CHECK(info.capture_start_ns == start);
    CHECK(info.capture_end_ns == end);
    CHECK_FALSE(info.ifrecv);
}

TEST_CASE("pcapng: simple packet blocks", "[capture_file][pcapng]") {
    TempDir dir;
    const Bytes ten{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const auto path = dir.write(
        "spb.pcapng", concat({shb(false), idb(false, 1, 4), idb(false, 113, 0),
                              spb(false, 10, ten),  // snapped to the first IDB's snaplen
                              shb(true), idb(true, 101, 0, Options(true).u64(14, 50)),
                              spb(true, 10, ten),                          // body padded to 12
                              spb(true, 20, {1, 2, 3, 4, 5, 6, 7, 8})}));  // captured < wire
    auto f = open_ok(path);
    const auto r = read_all(f);
    CHECK(r.last == Read::end);
    REQUIRE(r.frames.size() == 3);
    CHECK(r.frames[0].interface == 0);
    CHECK(r.frames[0].linktype == 1);
    CHECK(r.frames[0].wirelen == 10);
    CHECK(bytes_of(r.frames[0]) == Bytes{0, 1, 2, 3});
    CHECK(r.frames[0].ts_ns == 0);
    CHECK(r.frames[1].interface == 2);
    CHECK(r.frames[1].linktype == 101);
    CHECK(bytes_of(r.frames[1]) == ten);
    CHECK(r.frames[1].ts_ns == 0);  // no timestamp, and if_tsoffset does not make one
    CHECK(r.frames[2].interface == 2);
    CHECK(r.frames[2].wirelen == 20);
    CHECK(bytes_of(r.frames[2]) == Bytes{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("pcapng: obsolete packet block", "[capture_file][pcapng]") {
    const bool big = GENERATE(false, true);
    TempDir dir;
    const auto path =
        dir.write("pb.pcapng", concat({shb(big), idb(big, 1), idb(big, 0, 0, Options(big).u8(9, 9)),
                                       obsolete_pb(big, 1, 3, 42'000'000'007, {0x02, 0, 0, 0, 0x45},
                                                   1500, Options(big).u32(2, 2))}));
    auto f = open_ok(path);
    Frame fr;
    REQUIRE(f.next(fr) == Read::frame);
    CHECK(fr.interface == 1);
    CHECK(fr.linktype == 0);
    CHECK(fr.ts_ns == 42'000'000'007);
    CHECK(fr.ts_digits == 9);
    CHECK(fr.wirelen == 1500);
    CHECK(bytes_of(fr) == Bytes{0x02, 0, 0, 0, 0x45});
    CHECK(fr.direction == Direction::outbound);
    CHECK(f.next(fr) == Read::end);
}

TEST_CASE("pcapng: EPB flags give the direction", "[capture_file][pcapng]") {
    TempDir dir;
    Builder file = concat({shb(false), idb(false, 1)});
    const std::vector<std::pair<std::uint32_t, Direction>> cases{
        {1, Direction::inbound}, {2, Direction::outbound},         {0, Direction::unknown},
        {3, Direction::unknown}, {0x00010001, Direction::inbound}, {0x1c, Direction::unknown},
    };
    for (const auto& c : cases)
        file.append(epb(false, 0, 1, {1}, 1, Options(false).u32(2, c.first)));
    file.append(epb(false, 0, 1, {1}));  // no flags option at all
    auto f = open_ok(dir.write("flags.pcapng", file));
    const auto r = read_all(f);
    REQUIRE(r.frames.size() == cases.size() + 1);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(cases[i].first);
        CHECK(r.frames[i].direction == cases[i].second);
    }
    CHECK(r.frames.back().direction == Direction::unknown);
}

TEST_CASE("pcapng: a truncated last block is an error after the good ones",
          "[capture_file][pcapng]") {
    const bool big = GENERATE(false, true);
    TempDir dir;
    Bytes file =
        concat({shb(big), idb(big, 1), epb(big, 0, 1, {1, 2, 3, 4}), epb(big, 0, 2, {5, 6, 7, 8})})
            .data();
    file.resize(file.size() - 6);
    const auto path = dir.write("trunc.pcapng", file);
    auto f = open_ok(path);
    Frame first;
    REQUIRE(f.next(first) == Read::frame);
    Frame fr;
    REQUIRE(f.next(fr) == Read::error);
    CHECK(f.error().message ==
          path + ": truncated block at offset 84 (frame 2): header says 36 bytes, 30 remain");
    CHECK(f.next(fr) == Read::error);
    CHECK(bytes_of(first) == Bytes{1, 2, 3, 4});
}

TEST_CASE("pcapng: malformed blocks", "[capture_file][pcapng]") {
    TempDir dir;
    Builder file = concat({shb(false), idb(false, 1)});  // 48 bytes
    Bytes tail = epb(false, 0, 1, {1, 2, 3, 4}).data();  // 36 bytes at offset 48
    std::string expected;
    auto set32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) tail[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    SECTION("length not a multiple of 4") {
        set32(4, 34);
        expected =
            ": bad block length 34 at offset 48 (block type 0x00000006): not a multiple of 4";
    }
    SECTION("length below the 12-byte minimum") {
        set32(4, 8);
        expected = ": bad block length 8 at offset 48 (block type 0x00000006): below 12";
    }
    SECTION("trailing length differs") {
        set32(32, 40);
        expected =
            ": bad block length 36 at offset 48 (block type 0x00000006): trailing length is 40";
    }
    SECTION("captured length beyond the block") {
        set32(20, 100);
        expected =
            ": EPB at offset 48 (frame 1): captured length 100 exceeds the block's 4 data bytes";
    }
    SECTION("an EPB too short for its fields") {
        tail = block(false, 6, Builder().u32(0).u32(0)).data();
        expected = ": EPB at offset 48 (frame 1) too short (20 bytes)";
    }
    SECTION("stray bytes after the last block") {
        tail = Bytes{1, 2, 3, 4, 5, 6};
        expected = ": truncated block header at offset 48 (frame 1): 6 bytes remain";
    }
    SECTION("an option running past its block") {
        file =
            concat({shb(false), block(false, 1, Builder().u16(1).u16(0).u32(0).u16(2).u16(100))});
        tail.clear();
        expected = ": IDB at offset 28: an option overruns the block";
    }
    file.bytes(tail);
    const auto path = dir.write("bad.pcapng", file);
    auto f = open_ok(path);
    const auto r = read_all(f);
    CHECK(r.frames.empty());
    REQUIRE(r.last == Read::error);
    CHECK(f.error().message == path + expected);
}

TEST_CASE("pcapng: packets on undeclared interfaces", "[capture_file][pcapng]") {
    TempDir dir;
    Builder file;
    std::string expected;
    SECTION("interface ids restart with each section") {
        // Three interfaces in the file, but the second section declares only one.
        file = concat({shb(false), idb(false, 1), idb(false, 1), shb(false), idb(false, 1),
                       epb(false, 1, 1, {1})});
        expected =
            ": EPB at offset 116 (frame 1) references interface 1, but its section "
            "declares 1 interface";
    }
    SECTION("an EPB before any IDB") {
        file = concat({shb(false), epb(false, 0, 1, {1})});
        expected =
            ": EPB at offset 28 (frame 1) references interface 0, but its section "
            "declares 0 interfaces";
    }
    SECTION("an SPB before any IDB") {
        file = concat({shb(false), spb(false, 1, {1})});
        expected = ": SPB at offset 28 (frame 1): its section declares no interface";
    }
    const auto path = dir.write("undeclared.pcapng", file);
    auto f = open_ok(path);
    Frame fr;
    REQUIRE(f.next(fr) == Read::error);
    CHECK(f.error().message == path + expected);
}

TEST_CASE("pcapng: a section header alone has no frames", "[capture_file][pcapng]") {
    TempDir dir;
    auto f = open_ok(dir.write("shb.pcapng", shb(true)));
    Frame fr;
    CHECK(f.next(fr) == Read::end);
    CHECK(f.interfaces().empty());
    CHECK(f.frames_read() == 0);
}

TEST_CASE("CaptureFile moves keep the mapping alive", "[capture_file]") {
    TempDir dir;
    Builder b = pcap_header(false, false, 1, 65535);
    pcap_record(b, 1, 0, {1, 2}, 2);
    pcap_record(b, 2, 0, {3, 4}, 2);
    auto f = open_ok(dir.write("m.pcap", b));
    Frame first;
    REQUIRE(f.next(first) == Read::frame);

    CaptureFile g = std::move(f);
    Frame second;
    REQUIRE(g.next(second) == Read::frame);
    CHECK(bytes_of(first) == Bytes{1, 2});
    CHECK(bytes_of(second) == Bytes{3, 4});
    CHECK(g.frames_read() == 2);

    auto h = open_ok(dir.write("n.pcap", b));
    h = std::move(g);  // unmaps n.pcap, takes over m.pcap
    CHECK(h.frames_read() == 2);
    CHECK(bytes_of(first) == Bytes{1, 2});
    Frame fr;
    CHECK(h.next(fr) == Read::end);
}

TEST_CASE("park: a file gives up its descriptor and reads on where it stopped", "[capture_file]") {
    TempDir dir;
    // 60 records of 1,000 bytes: the read buffer (4 KiB, then 64 KiB) is refilled across them.
    Builder b = pcap_header(false, false, 1, 65535);
    for (std::uint32_t i = 0; i < 60; ++i) pcap_record(b, i, 0, Bytes(1000, std::uint8_t(i)), 1000);
    const std::string path = dir.write("p.pcap", b);
    auto f = open_ok(path);
    CHECK(f.parkable());
    Frame fr;
    std::vector<Bytes> got;
    int reopened = 0;
    for (;;) {
        // Parked after every frame: each read that needs bytes opens the file again.
        reopened += f.park();
        CHECK_FALSE(f.park());  // already closed
        const Read r = f.next(fr);
        if (r != Read::frame) {
            CHECK(r == Read::end);
            break;
        }
        got.push_back(bytes_of(fr));
    }
    REQUIRE(got.size() == 60);
    for (std::uint32_t i = 0; i < 60; ++i) CHECK(got[i] == Bytes(1000, std::uint8_t(i)));
    CHECK(reopened >= 2);  // the header's read, then at least one refill past 4 KiB

    SECTION("a file replaced while parked is named, with the offset") {
        auto g = open_ok(path);
        REQUIRE(g.next(fr) == Read::frame);
        REQUIRE(g.park());
        const std::string other = dir.write("q.pcap", b);
        fs::rename(other, path);
        std::size_t n = 1;
        Read r;
        while ((r = g.next(fr)) == Read::frame) ++n;
        CHECK(r == Read::error);
        CHECK(n < 60);  // what was buffered before the park is still read
        CHECK_THAT(g.error().message,
                   Catch::StartsWith(path + ": cannot open again at offset ") &&
                       Catch::EndsWith(": the file was replaced while being read"));
    }
    SECTION("a file removed while parked is named") {
        auto g = open_ok(path);
        REQUIRE(g.next(fr) == Read::frame);
        REQUIRE(g.park());
        fs::remove(path);
        while (g.next(fr) == Read::frame) {
        }
        CHECK_THAT(g.error().message, Catch::EndsWith(": No such file or directory"));
    }
}

TEST_CASE("next() does not allocate", "[capture_file]") {
    if (!counting_allocations) {
        WARN("skipped: allocations are not counted under AddressSanitizer");
        return;
    }
    TempDir dir;
    Builder ng = concat({shb(false), idb(false, 1, 0, Options(false).str(2, "eth0").u8(9, 9))});
    Builder pcap = pcap_header(false, true, 1, 65535);
    for (std::uint32_t i = 0; i < 100; ++i) {
        ng.append(epb(false, 0, i, Bytes(60 + i % 7, 0xee), 60, Options(false).u32(2, 1)));
        ng.append(isb(false, 0, i, Options(false).ts(2, 0).ts(3, i).u64(4, i).u64(5, 0)));
        pcap_record(pcap, i, i, Bytes(60 + i % 7, 0xee), 60);
    }
    for (const auto& path : {dir.write("a.pcapng", ng), dir.write("a.pcap", pcap)}) {
        auto f = open_ok(path);
        Frame fr;
        REQUIRE(f.next(fr) == Read::frame);  // the IDB may allocate; frames may not
        const std::size_t before = g_allocations.load();
        std::size_t n = 1;
        while (f.next(fr) == Read::frame) ++n;
        const std::size_t allocations = g_allocations.load() - before;
        CHECK(n == 100);
        // None per frame: only the read buffer's doublings (4 KiB to 64 KiB at most) as the
        // file shows it has more.
        CHECK(allocations <= 4);
    }
}

// --- the public captures, against Wireshark's capinfos and tshark ---------------------

namespace {

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    return std::string(s.substr(b, s.find_last_not_of(" \t\r") - b + 1));
}

struct CapinfosInterface {
    std::string name;
    std::string description;
    std::string encap;  // Wireshark's short name, e.g. "linux-sll"
    std::uint32_t snaplen = 0;
    int digits = 0;
    std::uint64_t packets = 0;
};

struct Capinfos {
    std::uint64_t packets = 0;
    int sections = 1;
    std::vector<CapinfosInterface> interfaces;
};

// capinfos prints every interface of the file under each section; the first list is enough.
Capinfos capinfos(const std::string& path, bool& ok) {
    Capinfos info;
    std::istringstream in(run("capinfos -M " + shell_quote(path) + " 2>/dev/null", ok));
    bool first_list = true;
    int section_headers = 0;
    for (std::string line; std::getline(in, line);) {
        const std::string t = trim(line);
        auto value = [&](std::string_view key) { return trim(t.substr(key.size())); };
        if (t.starts_with("Number of packets:")) {
            info.packets = std::stoull(value("Number of packets:"));
        } else if (t.starts_with("Section ") && t.ends_with(":")) {
            first_list = ++section_headers <= 1;
        } else if (t.starts_with("Interface #")) {
            if (first_list) info.interfaces.emplace_back();
        } else if (!first_list || info.interfaces.empty()) {
            continue;
        } else if (t.starts_with("Name = ")) {
            info.interfaces.back().name = value("Name = ");
        } else if (t.starts_with("Description = ")) {
            info.interfaces.back().description = value("Description = ");
        } else if (t.starts_with("Encapsulation = ")) {
            const auto dash = t.rfind(" - ");
            info.interfaces.back().encap = t.substr(dash + 3, t.size() - dash - 4);
        } else if (t.starts_with("Capture length = ")) {
            info.interfaces.back().snaplen = std::stoul(value("Capture length = "));
        } else if (t.starts_with("Time precision = ")) {
            info.interfaces.back().digits = std::stoi(t.substr(t.rfind('(') + 1));
        } else if (t.starts_with("Number of packets = ")) {
            info.interfaces.back().packets = std::stoull(value("Number of packets = "));
        }
    }
    info.sections = std::max(section_headers, 1);
    return info;
}

// Wireshark names encapsulations, not LINKTYPE values; "rawip" covers 12, 14 and 101.
std::vector<std::uint32_t> linktypes_for(const std::string& encap) {
    static const std::map<std::string, std::vector<std::uint32_t>> table{
        {"ether", {1}},        {"null", {0}},     {"linux-sll", {113}},
        {"linux-sll2", {276}}, {"nflog", {239}},  {"rawip", {12, 14, 101}},
        {"rawip4", {228}},     {"rawip6", {229}}, {"ether-mpacket", {274}},
    };
    const auto it = table.find(encap);
    return it == table.end() ? std::vector<std::uint32_t>{} : it->second;
}

__extension__ typedef __int128 int128;

// tshark's frame.time_epoch in ns. Wireshark reads a pcapng timestamp as unsigned, the reader as
// signed, so they differ by 2^64 units where its top bit is set (the public files use 10^-6 and
// 10^-9 s units only).
std::int64_t tshark_ns(const std::string& epoch, std::uint8_t ts_digits) {
    if (epoch.empty()) return 0;  // an SPB has no timestamp
    const auto dot = epoch.find('.');
    std::string frac = dot == std::string::npos ? "" : epoch.substr(dot + 1);
    frac.resize(9, '0');
    int128 ns = int128{std::stoull(epoch.substr(0, dot))} * giga + std::stoll(frac);
    if (ns > std::numeric_limits<std::int64_t>::max()) {
        ns -= (int128{1} << 64) * (ts_digits == 9 ? 1 : 1000);
    }
    return static_cast<std::int64_t>(ns);
}

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
        out.push_back(line.substr(start, tab - start));
    }
    out.push_back(line.substr(start));
    return out;
}

fs::path shared_captures() {
    if (const char* env = std::getenv("PODTRACE_SHARED_CAPTURES"); env != nullptr && *env != 0) {
        return env;
    }
    return PODTRACE_SHARED_CAPTURES_DEFAULT;
}

std::vector<std::string> public_captures(std::string& why_not) {
    const fs::path dir = shared_captures();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        why_not = dir.string() + " is absent (set PODTRACE_SHARED_CAPTURES to point elsewhere)";
        return {};
    }
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) {
            files.push_back(e.path().string());
        }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) why_not = dir.string() + " holds no .pcap or .pcapng file";
    return files;
}

}  // namespace

TEST_CASE("public captures match capinfos", "[capture_file][public]") {
    std::string why_not;
    const auto files = public_captures(why_not);
    if (files.empty()) {
        WARN("skipped: " << why_not);
        return;
    }
    if (!have("capinfos")) {
        WARN("skipped: capinfos (wireshark-common / tshark) is not installed");
        return;
    }
    for (const auto& path : files) {
        CAPTURE(path);
        bool ok = false;
        const Capinfos expected = capinfos(path, ok);
        REQUIRE(ok);

        auto f = CaptureFile::open(path);
        if (!f) FAIL(f.error().message);
        std::map<std::uint32_t, std::uint64_t> per_interface;
        Frame fr;
        Read n;
        while ((n = f->next(fr)) == Read::frame) ++per_interface[fr.interface];
        if (n == Read::error) FAIL_CHECK(f->error().message);
        CHECK(f->frames_read() == expected.packets);

        const auto& ifs = f->interfaces();
        REQUIRE(ifs.size() == expected.interfaces.size());
        for (std::size_t i = 0; i < ifs.size(); ++i) {
            CAPTURE(i);
            const CapinfosInterface& want = expected.interfaces[i];
            CHECK(ifs[i].name == want.name);
            CHECK(ifs[i].description == want.description);
            CHECK(ifs[i].snaplen == want.snaplen);
            CHECK(ifs[i].ts_digits == (want.digits > 6 ? 9 : 6));
            const auto linktypes = linktypes_for(want.encap);
            CAPTURE(want.encap, ifs[i].linktype);
            CHECK(std::find(linktypes.begin(), linktypes.end(), ifs[i].linktype) !=
                  linktypes.end());
            // Wireshark 4.0 files a later section's packets under the first section's
            // interface with the same local id, so its per-interface counts are wrong there.
            if (expected.sections == 1) CHECK(per_interface[i] == want.packets);
        }
    }
}

TEST_CASE("public pcapng captures match tshark frame by frame", "[capture_file][public]") {
    std::string why_not;
    const auto files = public_captures(why_not);
    if (files.empty()) {
        WARN("skipped: " << why_not);
        return;
    }
    if (!have("tshark") || !have("capinfos")) {
        WARN("skipped: tshark is not installed");
        return;
    }
    int checked = 0;
    for (const auto& path : files) {
        CAPTURE(path);
        auto f = CaptureFile::open(path);
        if (!f) FAIL(f.error().message);
        if (f->format() != FileFormat::pcapng) continue;  // by content: one .pcap is pcapng
        bool ok = false;
        const int sections = capinfos(path, ok).sections;
        REQUIRE(ok);
        std::istringstream rows(run("tshark -r " + shell_quote(path) +
                                        " -T fields -e frame.encap_type -e frame.time_epoch"
                                        " -e frame.len -e frame.cap_len -e frame.interface_name"
                                        " -e frame.packet_flags_direction 2>/dev/null",
                                    ok));
        REQUIRE(ok);
        std::uint64_t frame_no = 0;
        for (std::string line; std::getline(rows, line);) {
            const auto col = split_tabs(line);
            REQUIRE(col.size() == 6);
            if (col[0].empty()) continue;  // a non-packet record (custom block) tshark lists
            ++frame_no;
            CAPTURE(frame_no);
            Frame fr;
            REQUIRE(f->next(fr) == Read::frame);
            CHECK(fr.ts_ns == tshark_ns(col[1], fr.ts_digits));
            CHECK(col[2] == std::to_string(fr.wirelen));
            CHECK(col[3] == std::to_string(fr.bytes.size()));
            const Direction dir = col[5] == "0x00000001"   ? Direction::inbound
                                  : col[5] == "0x00000002" ? Direction::outbound
                                                           : Direction::unknown;
            CHECK(fr.direction == dir);
            // tshark says "unknown" for an interface without if_name. Same Wireshark 4.0
            // limitation as above: its names are right in one-section files only.
            const std::string name = col[4] == "unknown" ? "" : col[4];
            if (sections == 1) CHECK(name == f->interfaces()[fr.interface].name);
        }
        Frame fr;
        CHECK(f->next(fr) == Read::end);
        ++checked;
    }
    CHECK(checked > 0);
}

TEST_CASE("reading from a pipe: frames arrive as the writer sends them") {
    // The same bytes through a pipe as a file: what `kubectl exec … -w - | podtrace` gives.
    const std::string pcap =
        std::string(PODTRACE_SOURCE_DIR) + "/examples/crafted/ipip/k8s-w1_ens5.pcap";
    auto from_file = podtrace::probes::CaptureFile::open(pcap);
    REQUIRE(from_file);
    std::vector<std::int64_t> expected;
    podtrace::core::Frame f;
    while (from_file->next(f) == podtrace::probes::CaptureFile::Read::frame)
        expected.push_back(f.ts_ns);
    REQUIRE(expected.size() == 12);

    FILE* pipe = ::popen(("exec <" + pcap + " cat").c_str(), "r");
    REQUIRE(pipe != nullptr);
    const int saved = ::dup(0);
    ::dup2(::fileno(pipe), 0);
    auto from_pipe = podtrace::probes::CaptureFile::open("-");
    ::dup2(saved, 0);
    ::close(saved);
    REQUIRE(from_pipe);
    std::vector<std::int64_t> got;
    while (from_pipe->next(f) == podtrace::probes::CaptureFile::Read::frame) got.push_back(f.ts_ns);
    ::pclose(pipe);
    CHECK(got == expected);
}

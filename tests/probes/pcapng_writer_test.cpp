#include "probes/pcapng_writer.hpp"
#include "test_util.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "probes/capture_file.hpp"

namespace fs = std::filesystem;
using podtrace::core::Direction;
using podtrace::core::Frame;
using podtrace::probes::CaptureFile;
using podtrace::probes::InterfaceEnd;
using podtrace::probes::PcapngWriter;
using podtrace::probes::SectionInfo;
namespace linktype = podtrace::core::linktype;
using Bytes = std::vector<std::uint8_t>;

namespace {

using podtrace::test::have;
using podtrace::test::run;
using podtrace::test::shell_quote;

static_assert(!std::is_copy_constructible_v<PcapngWriter>);
static_assert(std::is_nothrow_move_constructible_v<PcapngWriter>);
static_assert(std::is_nothrow_move_assignable_v<PcapngWriter>);

// A file in the temporary directory, removed at scope end.
struct TempFile {
    explicit TempFile(const std::string& stem)
        : path((fs::temp_directory_path() /
                ("podtrace-writer-" + std::to_string(::getpid()) + "-" + stem + ".pcapng"))
                   .string()) {}
    ~TempFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
    std::string path;
};

struct Expected {
    std::uint32_t if_id;
    std::int64_t ts_ns;
    std::uint32_t wirelen;
    Direction direction;
    Bytes bytes;
};

Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
    return b;
}

Frame frame_of(const Expected& e) {
    Frame f;
    f.ts_ns = e.ts_ns;
    f.wirelen = e.wirelen;
    f.direction = e.direction;
    f.bytes = e.bytes;
    return f;
}

std::vector<Expected> sample_frames() {
    return {
        {0, 1'764'216'400'001'000'123, 60, Direction::inbound, pattern(60, 1)},
        {1, 1'764'216'400'001'000'124, 84, Direction::outbound, pattern(84, 2)},
        {0, 1'764'216'400'000'999'999, 1514, Direction::unknown, pattern(97, 3)},  // cut
        {1, 1'764'216'400'002'000'000, 1, Direction::inbound, pattern(1, 4)},
        {0, 1'764'216'400'003'000'001, 2, Direction::unknown, pattern(2, 5)},
        {1, 1'764'216'400'004'000'000, 0, Direction::outbound, {}},
        {0, 1'764'216'400'005'000'007, 3, Direction::outbound, pattern(3, 6)},
    };
}

// Reads every frame, checking them against `want` with interface ids offset by `first_if`.
void check_frames(CaptureFile& file, const std::vector<Expected>& want,
                  const std::vector<std::uint32_t>& linktypes, std::uint32_t first_if = 0) {
    Frame f;
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("frame " << i + 1);
        REQUIRE(file.next(f) == CaptureFile::Read::frame);
        const Expected& e = want[i];
        CHECK(f.interface == e.if_id + first_if);
        CHECK(f.linktype == linktypes[e.if_id]);
        CHECK(f.ts_ns == e.ts_ns);
        CHECK(f.ts_digits == 9);
        CHECK(f.wirelen == std::max<std::uint32_t>(e.wirelen, e.bytes.size()));
        CHECK(f.direction == e.direction);
        CHECK(Bytes(f.bytes.begin(), f.bytes.end()) == e.bytes);
    }
}

Bytes read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const Bytes& b) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A podtrace file: interfaces cali1 (Ethernet) and tunl0 (raw IP) on node k8s-w1, closed with
// `ends` as their statistics.
void write_sample(const std::string& path, const std::vector<Expected>& frames,
                  const std::string& facts = R"({"node":"k8s-w1","mtu":1480})",
                  const std::vector<InterfaceEnd>& ends = {}) {
    auto w = PcapngWriter::open(path, {"podtrace 0.1.0", "k8s-w1", facts, ""});
    REQUIRE(w);
    REQUIRE(w->add_interface("calice0906292e2", linktype::ethernet, 262144) == 0);
    REQUIRE(w->add_interface("tunl0", linktype::raw, 65535) == 1);
    for (const auto& e : frames) REQUIRE(w->write(e.if_id, frame_of(e)));
    REQUIRE(w->frames_written() == frames.size());
    REQUIRE(w->close(ends));
}

// The capture began before the first sample frame and went on 1.5 s past the last one, which
// is what the report needs to see a drop at the end; tunl0 lost some frames.
std::vector<InterfaceEnd> sample_ends() {
    return {
        {1'764'216'399'990'000'000, 1'764'216'401'505'000'007, 4, 0, 0},
        {1'764'216'399'990'000'000, 1'764'216'401'505'000'007, 7, 2, 1},
    };
}

void check_ends(const CaptureFile& file, const std::vector<InterfaceEnd>& want) {
    const auto& ifs = file.interfaces();
    REQUIRE(ifs.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("interface " << i);
        CHECK(ifs[i].capture_start_ns == want[i].start_ns);
        CHECK(ifs[i].capture_end_ns == want[i].end_ns);
        CHECK(ifs[i].ifrecv == want[i].received);
        CHECK(ifs[i].ifdrop == want[i].kernel_drops);
        CHECK(ifs[i].osdrop == want[i].queue_drops);
    }
}

// Block types in file order (little-endian files, as this host writes them).
std::vector<std::uint32_t> block_types(const Bytes& file) {
    std::vector<std::uint32_t> types;
    for (std::size_t off = 0; off + 8 <= file.size();) {
        std::uint32_t type = 0, len = 0;
        std::memcpy(&type, file.data() + off, 4);
        std::memcpy(&len, file.data() + off + 4, 4);
        types.push_back(type);
        if (len < 12) break;
        off += len;
    }
    return types;
}

}  // namespace

TEST_CASE("writer: round trip through CaptureFile, mixed link types", "[pcapng_writer]") {
    TempFile tmp("roundtrip");
    const auto frames = sample_frames();
    write_sample(tmp.path, frames);

    auto file = CaptureFile::open(tmp.path);
    REQUIRE(file);
    CHECK(file->format() == podtrace::probes::FileFormat::pcapng);
    CHECK(file->node() == "k8s-w1");
    CHECK(file->node_facts() == R"({"node":"k8s-w1","mtu":1480})");
    check_frames(*file, frames, {linktype::ethernet, linktype::raw});
    Frame f;
    CHECK(file->next(f) == CaptureFile::Read::end);
    const auto& ifs = file->interfaces();
    REQUIRE(ifs.size() == 2);
    CHECK(ifs[0].name == "calice0906292e2");
    CHECK(ifs[0].node == "k8s-w1");
    CHECK(ifs[0].linktype == linktype::ethernet);
    CHECK(ifs[0].snaplen == 262144);
    CHECK(ifs[0].ts_digits == 9);
    CHECK(ifs[1].name == "tunl0");
    CHECK(ifs[1].node == "k8s-w1");
    CHECK(ifs[1].linktype == linktype::raw);
    CHECK(ifs[1].snaplen == 65535);
    CHECK(file->frames_read() == frames.size());
    // Every block is 32-bit aligned, so the file is too.
    CHECK(fs::file_size(tmp.path) % 4 == 0);
}

TEST_CASE("writer: interface statistics at close come back from CaptureFile", "[pcapng_writer]") {
    TempFile tmp("stats");
    const auto frames = sample_frames();
    const auto ends = sample_ends();
    write_sample(tmp.path, frames, "", ends);
    // One ISB per interface, after the last frame.
    CHECK(block_types(read_all(tmp.path)) ==
          std::vector<std::uint32_t>{0x0a0d0d0a, 1, 1, 6, 6, 6, 6, 6, 6, 6, 5, 5});

    auto file = CaptureFile::open(tmp.path);
    REQUIRE(file);
    check_frames(*file, frames, {linktype::ethernet, linktype::raw});
    Frame f;
    CHECK(file->next(f) == CaptureFile::Read::end);
    check_ends(*file, ends);
    CHECK(file->frames_read() == frames.size());
}

TEST_CASE("writer: only what is known goes into the statistics", "[pcapng_writer]") {
    TempFile tmp("partial");
    SECTION("without statistics, close() writes no ISB") {
        write_sample(tmp.path, sample_frames());
        CHECK(std::ranges::count(block_types(read_all(tmp.path)), 5u) == 0);
        auto file = CaptureFile::open(tmp.path);
        REQUIRE(file);
        Frame f;
        while (file->next(f) == CaptureFile::Read::frame) {
        }
        check_ends(*file, {{}, {}});
    }
    SECTION("an interface with nothing known, or beyond `ends`, gets no ISB") {
        std::vector<InterfaceEnd> ends(1);
        SECTION("empty entry") {
            ends.push_back({});
        }
        SECTION("short list") {}
        ends[0].start_ns = -5;  // before 1970: written as two's complement, read back signed
        ends[0].received = 0;
        write_sample(tmp.path, {}, "", ends);
        CHECK(block_types(read_all(tmp.path)) == std::vector<std::uint32_t>{0x0a0d0d0a, 1, 1, 5});
        auto file = CaptureFile::open(tmp.path);
        REQUIRE(file);
        Frame f;
        CHECK(file->next(f) == CaptureFile::Read::end);
        ends.resize(2);
        check_ends(*file, ends);
    }
    SECTION("entries past the file's interfaces are ignored") {
        auto ends = sample_ends();
        ends.push_back({1, 2, 3, 4, 5});
        write_sample(tmp.path, {}, "", ends);
        CHECK(std::ranges::count(block_types(read_all(tmp.path)), 5u) == 2);
        auto file = CaptureFile::open(tmp.path);
        REQUIRE(file);
        Frame f;
        CHECK(file->next(f) == CaptureFile::Read::end);
        ends.pop_back();
        check_ends(*file, ends);
    }
}

TEST_CASE("writer: interfaces added mid-capture, frames larger than the buffer",
          "[pcapng_writer]") {
    TempFile tmp("midcapture");
    std::vector<Expected> want{
        {0, 1'000'000'000'000'000'001, 100, Direction::inbound, pattern(100, 9)},
        {1, 1'000'000'000'000'000'002, 3u << 20, Direction::outbound, pattern(3u << 20, 10)},
        {0, 1'000'000'000'000'000'003, 5, Direction::unknown, pattern(5, 11)},
    };
    {
        auto w = PcapngWriter::open(tmp.path, {"podtrace test", "n1", "", ""});
        REQUIRE(w);
        w->add_interface("eth0", linktype::ethernet, 0);
        REQUIRE(w->write(0, frame_of(want[0])));
        CHECK(w->add_interface("cali99", linktype::ethernet, 4u << 20) == 1);
        REQUIRE(w->write(1, frame_of(want[1])));
        REQUIRE(w->write(0, frame_of(want[2])));
        CHECK(w->bytes_written() > (3u << 20));
        REQUIRE(w->close());
    }
    auto file = CaptureFile::open(tmp.path);
    REQUIRE(file);
    CHECK(file->node() == "n1");
    CHECK(file->node_facts().empty());
    check_frames(*file, want, {linktype::ethernet, linktype::ethernet});
    REQUIRE(file->interfaces().size() == 2);
    CHECK(file->interfaces()[1].name == "cali99");
    CHECK(file->interfaces()[1].snaplen == 4u << 20);
}

TEST_CASE("writer: facts longer than one option are split and joined again", "[pcapng_writer]") {
    TempFile tmp("facts");
    // 200 KB of JSON with multi-byte UTF-8 so a split could land inside a character.
    std::string facts = "{\"routes\":\"";
    while (facts.size() < 200'000) facts += "172.16.184.0/24 via 192.168.10.102 dev tunl0 — ";
    facts += "\"}";
    write_sample(tmp.path, {}, facts);
    auto file = CaptureFile::open(tmp.path);
    REQUIRE(file);
    Frame f;
    CHECK(file->next(f) == CaptureFile::Read::end);
    CHECK(file->node() == "k8s-w1");
    CHECK(file->node_facts() == facts);
}

TEST_CASE("writer: frames are in the file once flush() returned", "[pcapng_writer]") {
    TempFile tmp("flush");
    const auto frames = sample_frames();
    auto w = PcapngWriter::open(tmp.path, {"podtrace test", "k8s-w1", "", ""});
    REQUIRE(w);
    w->add_interface("calice0906292e2", linktype::ethernet, 262144);
    w->add_interface("tunl0", linktype::raw, 65535);
    for (const auto& e : frames) REQUIRE(w->write(e.if_id, frame_of(e)));
    REQUIRE(w->flush());
    auto file = CaptureFile::open(tmp.path);
    REQUIRE(file);
    check_frames(*file, frames, {linktype::ethernet, linktype::raw});
    Frame f;
    CHECK(file->next(f) == CaptureFile::Read::end);
}

TEST_CASE("writer: write errors are reported with the file's name", "[pcapng_writer]") {
    SECTION("disk full: /dev/full") {
        auto w = PcapngWriter::open("/dev/full", {"podtrace test", "n1", "", ""});
        REQUIRE(w);
        w->add_interface("eth0", linktype::ethernet, 0);
        const Bytes data = pattern(100, 1);
        Frame f;
        f.wirelen = 100;
        f.bytes = data;
        REQUIRE(w->write(0, f));  // buffered
        auto flushed = w->flush();
        REQUIRE_FALSE(flushed);
        CHECK(flushed.error().message.find("/dev/full") != std::string::npos);
        CHECK(flushed.error().message.find("No space left") != std::string::npos);
        // Sticky: later calls say the same.
        CHECK_FALSE(w->write(0, f));
        auto closed = w->close();
        REQUIRE_FALSE(closed);
        CHECK(closed.error().message == flushed.error().message);
    }
    SECTION("enough frames to fill the buffer fail in write()") {
        auto w = PcapngWriter::open("/dev/full", {"podtrace test", "n1", "", ""});
        REQUIRE(w);
        w->add_interface("eth0", linktype::ethernet, 0);
        const Bytes data = pattern(1500, 1);
        Frame f;
        f.wirelen = 1500;
        f.bytes = data;
        bool failed = false;
        for (int i = 0; i < 2000 && !failed; ++i) failed = !w->write(0, f);
        CHECK(failed);
        CHECK_FALSE(w->close());
    }
    SECTION("reader gone: EPIPE") {
        struct sigaction ignore {
        }, old{};
        ignore.sa_handler = SIG_IGN;
        ::sigaction(SIGPIPE, &ignore, &old);
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        ::close(fds[0]);
        auto w = PcapngWriter::from_fd(fds[1], "pipe:test", {"podtrace test", "n1", "", ""});
        REQUIRE(w);
        auto closed = w->close();
        ::sigaction(SIGPIPE, &old, nullptr);
        REQUIRE_FALSE(closed);
        CHECK(closed.error().message.find("pipe:test") != std::string::npos);
        CHECK(closed.error().message.find("Broken pipe") != std::string::npos);
    }
    SECTION("cannot open") {
        auto w = PcapngWriter::open("/nonexistent-dir/x.pcapng", {"podtrace test", "n1", "", ""});
        REQUIRE_FALSE(w);
        CHECK(w.error().message.find("/nonexistent-dir/x.pcapng") != std::string::npos);
    }
    SECTION("a frame for an undeclared interface") {
        TempFile tmp("undeclared");
        auto w = PcapngWriter::open(tmp.path, {"podtrace test", "n1", "", ""});
        REQUIRE(w);
        Frame f;
        CHECK_FALSE(w->write(0, f));
        CHECK(w->close());  // refused, not a write error
    }
}

TEST_CASE("writer: the destructor closes quietly and keeps what was written", "[pcapng_writer]") {
    TempFile tmp("dtor");
    const auto frames = sample_frames();
    {
        auto w = PcapngWriter::open(tmp.path, {"podtrace test", "k8s-w1", "", ""});
        REQUIRE(w);
        w->add_interface("calice0906292e2", linktype::ethernet, 262144);
        w->add_interface("tunl0", linktype::raw, 65535);
        for (const auto& e : frames) REQUIRE(w->write(e.if_id, frame_of(e)));
        PcapngWriter moved = std::move(*w);  // the moved-from writer owns nothing
    }
    auto file = CaptureFile::open(tmp.path);
    REQUIRE(file);
    check_frames(*file, frames, {linktype::ethernet, linktype::raw});
}

// --- the reader's side of the annotation --------------------------------------------------

namespace {

// Little-endian pcapng pieces for files podtrace did not write.
struct Raw {
    Bytes b;
    Raw& u16(std::uint16_t v) {
        for (int i = 0; i < 2; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    Raw& u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    Raw& opt(std::uint16_t code, const std::string& v) {
        u16(code).u16(static_cast<std::uint16_t>(v.size()));
        b.insert(b.end(), v.begin(), v.end());
        while (b.size() % 4) b.push_back(0);
        return *this;
    }
};

Bytes block(std::uint32_t type, const Raw& body) {
    Raw r;
    const auto len = static_cast<std::uint32_t>(body.b.size() + 12);
    r.u32(type).u32(len);
    r.b.insert(r.b.end(), body.b.begin(), body.b.end());
    r.u32(len);
    return r.b;
}

Bytes plain_shb(const std::string& comment) {
    Raw body;
    body.u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff);
    if (!comment.empty()) body.opt(1, comment).u32(0);
    return block(0x0a0d0d0a, body);
}

Bytes plain_idb(const std::string& name) {
    Raw body;
    body.u16(1).u16(0).u32(0).opt(2, name).u32(0);
    return block(1, body);
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace

TEST_CASE("reader: a slash in someone else's interface name is left alone", "[pcapng_writer]") {
    TempFile tmp("plain");
    write_bytes(tmp.path, cat({plain_shb("captured by hand"), plain_idb("br/0")}));
    auto file = CaptureFile::open(tmp.path);
    REQUIRE(file);
    Frame f;
    CHECK(file->next(f) == CaptureFile::Read::end);
    CHECK(file->node().empty());
    CHECK(file->node_facts().empty());
    REQUIRE(file->interfaces().size() == 1);
    CHECK(file->interfaces()[0].name == "br/0");
    CHECK(file->interfaces()[0].node.empty());
}

TEST_CASE("reader: a later section's header overrides the annotation", "[pcapng_writer]") {
    TempFile first("sec1"), joined("joined");
    const auto frames = sample_frames();
    write_sample(first.path, frames);
    // podtrace's section, then a plain one, then an annotated one without facts.
    write_bytes(joined.path, cat({read_all(first.path), plain_shb(""), plain_idb("x/y"),
                                  plain_shb("podtrace node=k8s-w2"), plain_idb("k8s-w2/ens5")}));
    auto file = CaptureFile::open(joined.path);
    REQUIRE(file);
    CHECK(file->node() == "k8s-w1");
    check_frames(*file, frames, {linktype::ethernet, linktype::raw});
    Frame f;
    CHECK(file->next(f) == CaptureFile::Read::end);
    CHECK(file->node() == "k8s-w2");
    CHECK(file->node_facts().empty());
    const auto& ifs = file->interfaces();
    REQUIRE(ifs.size() == 4);
    CHECK(ifs[0].node == "k8s-w1");
    CHECK(ifs[2].name == "x/y");
    CHECK(ifs[2].node.empty());
    CHECK(ifs[3].name == "ens5");
    CHECK(ifs[3].node == "k8s-w2");
}

TEST_CASE("writer: tshark and capinfos read the file", "[pcapng_writer][tshark]") {
    if (!have("tshark") || !have("capinfos")) {
        WARN("skipped: tshark/capinfos (tshark package) is not installed");
        return;
    }
    TempFile tmp("tshark");
    const auto frames = sample_frames();
    write_sample(tmp.path, frames, R"({"node":"k8s-w1","mtu":1480})", sample_ends());
    bool ok = false;
    const std::string out = run("tshark -n -r " + shell_quote(tmp.path) +
                                    " -T fields -e frame.interface_name -e frame.len"
                                    " -e frame.cap_len -e frame.time_epoch 2>/dev/null",
                                ok);
    INFO(out);
    REQUIRE(ok);
    std::istringstream rows(out);
    std::string line;
    std::size_t i = 0;
    const char* names[] = {"k8s-w1/calice0906292e2", "k8s-w1/tunl0"};
    while (std::getline(rows, line)) {
        REQUIRE(i < frames.size());
        std::istringstream cols(line);
        std::string name, len, caplen, epoch;
        std::getline(cols, name, '\t');
        std::getline(cols, len, '\t');
        std::getline(cols, caplen, '\t');
        std::getline(cols, epoch, '\t');
        INFO("frame " << i + 1 << ": " << line);
        const Expected& e = frames[i];
        CHECK(name == names[e.if_id]);
        CHECK(std::stoul(len) == std::max<std::size_t>(e.wirelen, e.bytes.size()));
        CHECK(std::stoul(caplen) == e.bytes.size());
        // "1764216400.001000123": nanoseconds survive.
        const auto dot = epoch.find('.');
        REQUIRE(dot != std::string::npos);
        CHECK(std::stoll(epoch.substr(0, dot)) * 1'000'000'000 +
                  std::stoll(epoch.substr(dot + 1, 9)) ==
              e.ts_ns);
        ++i;
    }
    CHECK(i == frames.size());

    const std::string info = run("capinfos " + shell_quote(tmp.path) + " 2>&1", ok);
    INFO(info);
    REQUIRE(ok);
    CHECK(info.find("Number of packets:   " + std::to_string(frames.size())) != std::string::npos);
    CHECK(info.find("Number of interfaces in file: 2") != std::string::npos);
    CHECK(info.find("podtrace node=k8s-w1") != std::string::npos);
    CHECK(info.find("podtrace facts={\"node\":\"k8s-w1\",\"mtu\":1480}") != std::string::npos);
    CHECK(info.find("podtrace 0.1.0") != std::string::npos);
    CHECK(info.find("Name = k8s-w1/tunl0") != std::string::npos);
    CHECK(info.find("Number of stat entries = 1\n                     Number of packets = 4") !=
          std::string::npos);
    CHECK(info.find("Number of stat entries = 1\n                     Number of packets = 3") !=
          std::string::npos);

    // tshark's own pcapng dissector (the file as one "frame") reads the ISBs as written: the
    // counters, and the block time (the end) at the interface's nanosecond resolution.
    const std::string blocks =
        run("tshark -r " + shell_quote(tmp.path) +
                " -X 'read_format:MIME Files Format' -T fields -e pcapng.block.type"
                " -e pcapng.options.option.data.interface.received"
                " -e pcapng.options.option.data.interface.dropped"
                " -e pcapng.options.option.data.interface.dropped_by_os -e pcapng.timestamp"
                " 2>/dev/null",
            ok);
    INFO(blocks);
    REQUIRE(ok);
    CHECK(blocks.find(",0x00000006,0x00000005,0x00000005\t4,7\t0,2\t0,1\t") != std::string::npos);
    CHECK(
        blocks.ends_with("Nov 27, 2025 04:06:41.505000007 UTC,"
                         "Nov 27, 2025 04:06:41.505000007 UTC\n"));
}

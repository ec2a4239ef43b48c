// Capture files as one source: each file reordered within --reorder, files merged in time order,
// node facts read, the clock pass aligning nodes whose clocks differ, and every fault named.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "frames.hpp"
#include "ingest/files.hpp"
#include "trace/sighting.hpp"

using namespace podtrace;
using test::ip4;

namespace {

const std::string kCrafted = std::string(PODTRACE_SOURCE_DIR) + "/examples/crafted/";

constexpr std::int64_t kMs = 1'000'000;

// A FileSet over `opt`, opened.
struct Opened {
    trace::Names names;
    trace::Topology topo{names};
    ingest::FileSet fs;
    explicit Opened(const ingest::InputOptions& opt) : fs(opt, names, topo) { REQUIRE(fs.open()); }
};

struct Read {
    std::vector<std::int64_t> ts;
    std::vector<std::string> points;
    std::vector<ingest::FileSummary> files;
};

Read read_all(ingest::FileSet& fs, trace::Names& names) {
    Read r;
    REQUIRE(fs.align_clocks());
    while (const trace::Sighting* s = fs.next()) {
        r.ts.push_back(s->ts_ns);
        r.points.push_back(names.name(s->at.node) + '/' + names.name(s->at.interface));
    }
    r.files = fs.finish();
    return r;
}

test::Packet udp(const std::string& iface, std::int64_t ms, std::uint32_t seq) {
    return {iface, ms * kMs, test::udp_frame(ip4(172, 16, 158, 1), ip4(172, 16, 184, 4), seq)};
}

}  // namespace

TEST_CASE("files: each file reordered within --reorder, files merged in time order") {
    test::TempDir dir;
    // dumpcap with several -i writes each interface's frames as its thread gets them.
    test::write_capture(dir / "w1.pcapng", "k8s-w1",
                        {udp("cali1", 10, 1), udp("ens5", 30, 3), udp("cali1", 20, 2)});
    test::write_capture(dir / "w2.pcapng", "k8s-w2", {udp("ens5", 15, 4), udp("ens5", 25, 5)});
    ingest::InputOptions opt;
    opt.files = {dir / "w1.pcapng", dir / "w2.pcapng"};
    opt.clock = false;
    Opened o(opt);
    auto& [names, topo, fs] = o;
    CHECK(fs.file_count() == 2);
    CHECK(fs.node_count() == 2);
    CHECK_FALSE(fs.two_pass());
    CHECK(fs.clocks().note == "not estimated (--no-clock)");
    const Read r = read_all(fs, names);
    CHECK(r.ts == std::vector<std::int64_t>{10 * kMs, 15 * kMs, 20 * kMs, 25 * kMs, 30 * kMs});
    CHECK(r.points == std::vector<std::string>{"k8s-w1/cali1", "k8s-w2/ens5", "k8s-w1/cali1",
                                               "k8s-w2/ens5", "k8s-w1/ens5"});
    REQUIRE(r.files.size() == 2);
    CHECK(r.files[0].frames == 3);
    REQUIRE(r.files[0].interfaces.size() == 2);
    CHECK(r.files[0].interfaces[0].name == "cali1");
    CHECK(r.files[0].interfaces[0].frames == 2);
    CHECK(r.files[0].interfaces[1].frames == 1);
    CHECK(r.files[0].error.empty());
    // What each point covered: its file's span.
    const trace::PointId cali1 = trace::make_point(names, "k8s-w1", "cali1");
    CHECK(topo.captured(cali1, 30 * kMs));
    CHECK_FALSE(topo.captured(cali1, 31 * kMs));
    CHECK(fs.step().stats().frames == 5);
}

TEST_CASE("files: a frame later than --reorder comes after what was already handed out") {
    test::TempDir dir;
    test::write_capture(
        dir / "w1.pcapng", "k8s-w1",
        {udp("cali1", 0, 1), udp("cali1", 2000, 2), udp("cali1", 3500, 3), udp("cali1", 500, 4)});
    ingest::InputOptions opt;
    opt.files = {dir / "w1.pcapng"};
    opt.reorder_s = 1;
    Opened o(opt);
    auto& [names, topo, fs] = o;
    // A sighting is held until the file's newest is a window past it: the one at 2 s goes once
    // 3.5 s is read, before the frame at 0.5 s arrives; that one still goes before 3.5 s.
    CHECK(read_all(fs, names).ts ==
          std::vector<std::int64_t>{0, 2000 * kMs, 500 * kMs, 3500 * kMs});
}

TEST_CASE("files: the clock pass aligns nodes whose clocks differ") {
    // The crafted IPIP set: k8s-w2's clock is 2 s ahead of k8s-w1's.
    ingest::InputOptions opt;
    for (const char* f : {"k8s-w1_calice0906292e2.pcap", "k8s-w1_tunl0.pcap", "k8s-w1_ens5.pcap",
                          "k8s-w2_ens5.pcap", "k8s-w2_tunl0.pcap", "k8s-w2_cali49778cadcf1.pcap"})
        opt.files.push_back(kCrafted + "ipip/" + f);
    Opened o(opt);
    auto& [names, topo, fs] = o;
    CHECK(fs.two_pass());
    const Read r = read_all(fs, names);
    const auto& clocks = fs.clocks().clocks;
    REQUIRE(clocks.size() == 2);
    CHECK(names.name(clocks[0].node) == "k8s-w1");
    CHECK(clocks[0].reference);
    CHECK(clocks[1].estimated);
    CHECK(std::abs(clocks[1].offset_ns - 2'000'000'000) <= clocks[1].uncertainty_ns);
    CHECK(fs.step().offset(clocks[1].node) == clocks[1].offset_ns);
    CHECK(fs.clock_bytes() == fs.bytes_total());  // these files end before the offsets settle
    CHECK(std::is_sorted(r.ts.begin(), r.ts.end()));
    std::uint64_t frames = 0;
    for (const auto& f : r.files) frames += f.frames;
    CHECK(frames == fs.step().stats().frames);  // the second pass's count only
}

TEST_CASE("files: node facts tell directions, unreadable ones are said") {
    test::TempDir dir;
    const std::string facts =
        R"({"nic":{"name":"ens5","mtu":9001,"addresses":["192.168.10.101/24"]},"pods":[],)"
        R"("tunnels":[],"blocks":[],"remote_routes":[],"nat_outgoing":null})";
    // From the node's own address: it left, though the file says nothing of direction.
    test::write_capture(
        dir / "w1.pcapng", "k8s-w1",
        {{"ens5", 0, test::udp_frame(ip4(192, 168, 10, 101), ip4(192, 168, 10, 102), 1, false)}},
        facts);
    test::write_capture(dir / "w2.pcapng", "k8s-w2", {udp("ens5", 5, 2)}, "{not json");
    ingest::InputOptions opt;
    opt.files = {dir / "w1.pcapng", dir / "w2.pcapng"};
    opt.clock = false;
    Opened o(opt);
    auto& [names, topo, fs] = o;
    REQUIRE(fs.align_clocks());
    const trace::Sighting* s = fs.next();
    REQUIRE(s);
    CHECK(s->direction == core::Direction::outbound);
    CHECK(topo.facts(*names.find("k8s-w1")) != nullptr);
    while (fs.next()) {
    }
    const auto files = fs.finish();
    CHECK(files[0].facts_error.empty());
    CHECK(files[1].facts_error.starts_with("not JSON: "));
}

TEST_CASE("files: a missing file and a truncated one are named") {
    test::TempDir dir;
    ingest::InputOptions opt;
    opt.files = {dir / "none.pcap"};
    trace::Names names;
    trace::Topology topo(names);
    {
        ingest::FileSet fs(opt, names, topo);
        const auto r = fs.open();
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(dir / "none.pcap") != std::string::npos);
    }
    test::write_capture(dir / "w1.pcapng", "k8s-w1", {udp("cali1", 0, 1), udp("cali1", 1, 2)});
    const auto size = std::filesystem::file_size(dir / "w1.pcapng");
    std::filesystem::resize_file(dir / "w1.pcapng", size - 10);
    opt.files = {dir / "w1.pcapng"};
    Opened o(opt);
    const Read r = read_all(o.fs, o.names);
    CHECK(r.ts.size() == 1);  // the frames before the fault still count
    REQUIRE(r.files.size() == 1);
    CHECK(r.files[0].error.find(dir / "w1.pcapng") != std::string::npos);
}

namespace {
// Descriptors this process holds open on files under `dir`.
std::size_t open_under(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const auto target = std::filesystem::read_symlink(e.path(), ec);
        if (!ec && target.string().starts_with(dir.string())) ++n;
    }
    return n;
}
}  // namespace

TEST_CASE("files: past max_open_files, files give up descriptors and read on as before") {
    test::TempDir dir;
    // Six files of two nodes, 2,000 frames each (about 190 KiB, several read buffers): one
    // packet per millisecond seen at three points of each node, k8s-w2's clock 5 ms ahead.
    ingest::InputOptions opt;
    const char* ifaces[] = {"cali1", "tunl0", "ens5"};
    for (int node = 0; node < 2; ++node)
        for (int p = 0; p < 3; ++p) {
            std::vector<test::Packet> packets;
            for (std::uint32_t k = 0; k < 2000; ++k) {
                const std::int64_t hop = node == 0 ? p : 5 - p;
                packets.push_back({ifaces[p], k * kMs + hop * 10'000 + node * 5 * kMs,
                                   test::udp_frame(ip4(172, 16, 158, 1), ip4(172, 16, 184, 4), k)});
            }
            const std::string path =
                dir / ("w" + std::to_string(node + 1) + "_" + ifaces[p] + ".pcapng");
            test::write_capture(path, "k8s-w" + std::to_string(node + 1), packets);
            opt.files.push_back(path);
        }
    Opened all(opt);
    const Read want = read_all(all.fs, all.names);
    REQUIRE(want.ts.size() == 12000);
    const auto want_clocks = all.fs.clocks().clocks;
    REQUIRE(want_clocks.size() == 2);  // read by the clock pass, though one way says no offset

    opt.max_open_files = 2;
    Opened few(opt);
    CHECK(open_under(dir.path) <= 2);
    REQUIRE(few.fs.align_clocks());
    Read got;
    std::size_t most = 0;
    while (const trace::Sighting* s = few.fs.next()) {
        got.ts.push_back(s->ts_ns);
        got.points.push_back(few.names.name(s->at.node) + '/' + few.names.name(s->at.interface));
        if (got.ts.size() % 100 == 0) most = std::max(most, open_under(dir.path));
    }
    got.files = few.fs.finish();
    CHECK(most <= 2);
    CHECK(got.ts == want.ts);
    CHECK(got.points == want.points);
    REQUIRE(few.fs.clocks().clocks.size() == 2);
    CHECK(few.fs.clocks().clocks[1].offset_ns == want_clocks[1].offset_ns);
    for (std::size_t i = 0; i < got.files.size(); ++i) {
        CHECK(got.files[i].frames == 2000);
        CHECK(got.files[i].error.empty());
    }
    CHECK(open_under(dir.path) == 0);  // each file read to its end gave its descriptor up
}

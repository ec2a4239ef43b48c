// The TUI's engine over the bundled examples: the same facts as `podtrace report`, each flow's
// packets hop by hop with their frames, saving, the packet store's bound, pacing, stopping, and
// how long a snapshot takes while a big capture is ingested.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../temp_dir.hpp"
#include "app/app.hpp"
#include "probes/capture_file.hpp"
#include "probes/pcapng_writer.hpp"
#include "tui/engine.hpp"

namespace podtrace::app {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kIpip = std::string(PODTRACE_SOURCE_DIR) + "/examples/ipip/";

tui::EngineOptions ipip_options() {
    tui::EngineOptions o;
    o.input.files = {kIpip + "k8s-w0.pcapng", kIpip + "k8s-w1.pcapng", kIpip + "k8s-w2.pcapng"};
    o.input.pods_json = {kIpip + "pods.json"};
    o.input.services_json = {kIpip + "services.json"};
    o.input.nodes_json = {kIpip + "nodes.json"};
    return o;
}

bool wait_done(const tui::Engine& e, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (!e.done() && Clock::now() < until) std::this_thread::sleep_for(5ms);
    return e.done();
}

std::unique_ptr<tui::Engine> replayed(const tui::EngineOptions& o) {
    auto opened = tui::Engine::open(o);
    INFO((opened ? "" : opened.error().message));
    REQUIRE(opened);
    auto e = std::move(*opened);
    e->start();
    REQUIRE(wait_done(*e, 30s));
    return e;
}

tui::Snapshot snap(tui::Engine& e, tui::Query q = {}) {
    tui::Snapshot s;
    e.snapshot(q, s);
    return s;
}

const tui::FlowRow* flow(const tui::Snapshot& s, const std::string& src, const std::string& dst,
                         const std::string& proto) {
    for (const tui::FlowRow& r : s.flows)
        if (r.src == src && r.dst == dst && r.proto == proto) return &r;
    return nullptr;
}

using test::TempDir;

std::string run_output(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
    return out;
}

std::size_t lines(const std::string& s) {
    return static_cast<std::size_t>(std::ranges::count(s, '\n'));
}

// Ethernet, IPv4, UDP and a 16-byte payload; `seq` makes each packet's fingerprint its own.
std::vector<std::uint8_t> udp_frame(bool from_pod, std::uint32_t src, std::uint32_t dst,
                                    std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                                    std::uint8_t ttl) {
    std::vector<std::uint8_t> b;
    const auto u8 = [&](unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); };
    const auto u16 = [&](unsigned v) { u8(v >> 8), u8(v & 0xff); };
    const auto u32 = [&](std::uint32_t v) { u16(v >> 16), u16(v & 0xffff); };
    for (int i = 0; i < 6; ++i) u8(from_pod ? 0xee : 0x02);  // to Calico's MAC: from the pod
    for (int i = 0; i < 6; ++i) u8(from_pod ? 0x5a : 0x04);
    u16(0x0800);
    u8(0x45), u8(0), u16(20 + 8 + 16), u16(seq & 0xffff), u16(0x4000), u8(ttl), u8(17), u16(0);
    u32(src), u32(dst);
    u16(sport), u16(dport), u16(8 + 16), u16(0);
    u32(seq), u32(~seq), u32(seq * 2654435761u), u32(0x706f6474);
    return b;
}

// `flows` UDP flows from pods on k8s-w1 leaving its NIC unencapsulated, `per_flow` packets
// each, round robin, every packet seen on the pod's veth and on ens5 2 µs apart.
void write_many_flows(const std::string& path, std::uint32_t flows, std::uint32_t per_flow) {
    auto w = probes::PcapngWriter::open(path, {"engine test", "k8s-w1", "", "test"});
    REQUIRE(w);
    const std::uint32_t veth = w->add_interface("calia1b2c3d4e5f", core::linktype::ethernet, 0);
    const std::uint32_t nic = w->add_interface("ens5", core::linktype::ethernet, 0);
    std::int64_t ts = 1'700'000'000'000'000'000;
    std::uint32_t seq = 0;
    bool written = true;
    for (std::uint32_t n = 0; n < per_flow; ++n) {
        for (std::uint32_t i = 0; i < flows; ++i, ++seq, ts += 3000) {
            const std::uint32_t src = 0xac109e00 | (i % 200 + 1), dst = 0xac10b804;
            const auto sport = static_cast<std::uint16_t>(10000 + i / 200);
            for (const bool at_pod : {true, false}) {
                const auto bytes = udp_frame(at_pod, src, dst, sport, 53, seq, at_pod ? 64 : 63);
                core::Frame f;
                f.ts_ns = at_pod ? ts : ts + 2000;
                f.wirelen = static_cast<std::uint32_t>(bytes.size());
                f.ts_digits = 9;
                f.direction = at_pod ? core::Direction::inbound : core::Direction::outbound;
                f.bytes = bytes;
                written &= w->write(at_pod ? veth : nic, f).has_value();
            }
        }
    }
    REQUIRE(written);
    REQUIRE(w->close());
}

// Snapshots as the UI takes them (the table, a flow's detail, a packet), every 20 ms until the
// input ends; their durations in ms, sorted.
std::vector<double> snapshot_times(tui::Engine& e, tui::Snapshot& s) {
    std::vector<double> ms;
    std::uint64_t frame = 0;
    while (!e.done()) {
        const auto a = Clock::now();
        e.snapshot({.flow = 1, .frame = frame}, s);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
        if (s.detail && !s.detail->packets.empty()) frame = s.detail->packets.back().hops[0].frame;
        std::this_thread::sleep_for(20ms);
    }
    e.snapshot({.flow = 1, .frame = frame}, s);
    std::ranges::sort(ms);
    return ms;
}

}  // namespace

TEST_CASE("the ipip example replayed holds report's facts") {
    auto e = replayed(ipip_options());
    const tui::Snapshot s = snap(*e);
    CHECK(s.source == "3 files, 3 nodes");
    CHECK(s.state == "end of files");
    CHECK(s.frames == 355);
    CHECK(s.packets == 102);
    REQUIRE(s.flows.size() == 11);

    const tui::FlowRow* icmp = flow(s, "default/pod1", "default/pod3", "ICMP");
    REQUIRE(icmp);
    CHECK(icmp->id == 3);
    CHECK(icmp->kind == "cross-node");
    CHECK(icmp->encap == "IPIP");
    CHECK(icmp->packets_fwd == 3);
    CHECK(icmp->packets_rev == 3);
    CHECK(icmp->bytes_fwd == 252);
    CHECK(icmp->src_addr == "172.16.158.1");
    CHECK(icmp->sport == 0);
    CHECK(icmp->latency_p50_ns > 0);
    CHECK(icmp->latency_p99_ns >= icmp->latency_p50_ns);
    CHECK(icmp->drops == 0);
    CHECK(icmp->search.find("default/pod3") != std::string::npos);
    CHECK(icmp->search.find("ipip") != std::string::npos);

    const auto egress = std::ranges::find_if(
        s.flows, [](const tui::FlowRow& r) { return r.kind == "egress" && r.proto == "TCP"; });
    REQUIRE(egress != s.flows.end());
    CHECK(egress->nat.starts_with("SNAT "));
    CHECK(egress->nat.find("172.16.158.1") != std::string::npos);

    const auto dropped =
        std::ranges::find_if(s.flows, [](const tui::FlowRow& r) { return r.dport == 9999; });
    REQUIRE(dropped != s.flows.end());
    CHECK(dropped->id == 10);
    CHECK(dropped->drops == 2);
    CHECK(dropped->findings == 2);
    REQUIRE(s.findings.size() == 5);
    CHECK(s.findings[0].starts_with("dropped (flow 10): default/pod1"));

    // The honesty panel: every capture point, with report's frame counts.
    const auto ens5 = std::ranges::find_if(s.interfaces, [](const tui::InterfaceRow& r) {
        return r.node == "k8s-w1" && r.interface == "ens5";
    });
    REQUIRE(ens5 != s.interfaces.end());
    CHECK(ens5->packets == 64);
    CHECK(ens5->point == "nic");
    CHECK(ens5->state == "file");
    CHECK(s.interfaces.size() == 11);
    const auto veth = std::ranges::find_if(
        s.interfaces, [](const tui::InterfaceRow& r) { return r.interface == "calice0906292e2"; });
    REQUIRE(veth != s.interfaces.end());
    CHECK(veth->pod == "default/pod1");
    CHECK(std::ranges::count_if(
              s.notes, [](const std::string& n) { return n.starts_with("clock k8s-w"); }) == 3);
}

TEST_CASE("a cross-node flow's packets hop by hop with their frames") {
    auto e = replayed(ipip_options());
    const tui::Snapshot s = snap(*e, {.flow = 3});
    REQUIRE(s.detail);
    const tui::FlowDetail& d = *s.detail;
    CHECK(d.row.id == 3);
    CHECK(d.kind == "cross-node IPIP");
    CHECK(d.verdict == "ok, both ways");
    CHECK(d.findings.empty());
    CHECK(d.packets_seen == 6);
    CHECK(d.frames_kept == 36);
    REQUIRE(d.hops.size() == 10);
    CHECK(d.hops[0].from == "k8s-w1/calice0906292e2");
    CHECK(d.hops[0].to == "k8s-w1/tunl0");
    CHECK(d.hops[0].count == 3);
    CHECK(d.hops[0].p50.ends_with(" us"));
    CHECK(d.hops[2].p99.find("+/-") != std::string::npos);  // between two nodes' clocks

    REQUIRE(d.packets.size() == 6);
    const tui::PacketPath& p = d.packets.front();
    CHECK(p.number == 1);
    CHECK_FALSE(p.reverse);
    CHECK(p.verdict.starts_with("cross-node IPIP k8s-w1 -> k8s-w2 6 hops: 172.16.158.1 > "));
    CHECK(p.stopped.empty());
    REQUIRE(p.hops.size() == 6);
    CHECK(p.hops.front().node == "k8s-w1");
    CHECK(p.hops.front().interface == "calice0906292e2");
    CHECK(p.hops.front().direction == "in");
    CHECK(p.hops.front().point == "veth");
    CHECK(p.hops.front().pod == "default/pod1");
    CHECK(p.hops.front().latency.empty());
    CHECK(p.hops.front().headers.starts_with("172.16.158.1 > 172.16.184.4 ICMP echo request"));
    CHECK(p.hops[2].headers.starts_with("IPIP 192.168.10.101 > 192.168.10.102 | "));
    CHECK(p.hops[2].point == "nic");
    CHECK(p.hops[1].point == "tunnel");
    CHECK(p.hops[1].latency.starts_with("+"));
    CHECK(p.hops[1].latency.ends_with(" us"));
    CHECK(p.hops.back().node == "k8s-w2");
    CHECK(p.hops.back().interface == "cali49778cadcf1");
    CHECK(p.hops.back().direction == "out");
    for (const tui::HopRow& h : p.hops) CHECK(h.frame != 0);
    CHECK(d.packets[1].reverse);
    CHECK(d.packets.back().number == 6);

    // The dropped flow: its packets stopped where the finding says.
    const tui::Snapshot s10 = snap(*e, {.flow = 10});
    REQUIRE(s10.detail);
    REQUIRE(s10.detail->packets.size() == 2);
    CHECK(s10.detail->verdict.starts_with("dropped on k8s-w2 after tunl0"));
    CHECK(s10.detail->packets[0].stopped.starts_with(
        "dropped on k8s-w2 after tunl0, before cali49778cadcf1: "));
    CHECK(s10.detail->findings.size() == 2);

    // A SNATed flow marks the hop where the rewrite shows.
    const tui::Snapshot all = snap(*e);
    const auto egress = std::ranges::find_if(
        all.flows, [](const tui::FlowRow& r) { return r.kind == "egress" && r.proto == "TCP"; });
    REQUIRE(egress != all.flows.end());
    const tui::Snapshot se = snap(*e, {.flow = egress->id});
    REQUIRE(se.detail);
    REQUIRE_FALSE(se.detail->packets.empty());
    const auto& hops = se.detail->packets.front().hops;
    const auto rewritten =
        std::ranges::find_if(hops, [](const tui::HopRow& h) { return !h.rewrite.empty(); });
    REQUIRE(rewritten != hops.end());
    CHECK(rewritten->rewrite.starts_with("src "));
    CHECK(rewritten->interface == "ens5");
    CHECK(rewritten->headers.find("[src") == std::string::npos);

    CHECK_FALSE(snap(*e, {.flow = 99}).detail);
}

TEST_CASE("a packet's dissection holds the frame as it was captured") {
    auto e = replayed(ipip_options());
    const tui::Snapshot s = snap(*e, {.flow = 3});
    REQUIRE(s.detail);
    const tui::PacketPath& p = s.detail->packets.front();
    const tui::HopRow& hop = p.hops.front();
    const tui::Snapshot ps = snap(*e, {.flow = 3, .frame = hop.frame});
    REQUIRE(ps.packet);
    const tui::PacketDetail& pd = *ps.packet;
    CHECK(pd.kept);
    CHECK(pd.frame == hop.frame);
    CHECK(pd.title.starts_with("k8s-w1/calice0906292e2 in   "));
    CHECK(pd.title.ends_with(" bytes (98 captured)"));
    CHECK_FALSE(pd.tree.empty());
    // k8s-w1 is the clock reference: the sighting's time is the frame's in the file.
    auto file = probes::CaptureFile::open(kIpip + "k8s-w1.pcapng");
    REQUIRE(file);
    core::Frame f;
    std::vector<std::uint8_t> captured;
    while (file->next(f) == probes::CaptureFile::Read::frame)
        if (f.ts_ns == p.ts_ns && file->interfaces()[f.interface].name == "calice0906292e2")
            captured.assign(f.bytes.begin(), f.bytes.end());
    REQUIRE_FALSE(captured.empty());
    CHECK(pd.bytes == captured);

    const tui::Snapshot none = snap(*e, {.frame = 1'000'000});
    REQUIRE(none.packet);
    CHECK_FALSE(none.packet->kept);
    CHECK(none.packet->bytes.empty());
}

TEST_CASE("save writes a pcapng Wireshark reads and never overwrites") {
    auto e = replayed(ipip_options());
    TempDir dir;
    auto saved = e->save(3, dir.path.string());
    REQUIRE(saved);
    const std::string file = dir / "podtrace-flow3.pcapng";
    CHECK(*saved == "saved 36 frames of flow 3 to " + file);
    // Wireshark sees every frame at its capture point.
    const std::string fields = run_output("tshark -r '" + file +
                                          "' -T fields -e frame.number -e frame.interface_name "
                                          "2>/dev/null");
    CHECK(lines(fields) == 36);
    CHECK(
        fields.starts_with("1\tk8s-w1/calice0906292e2\n2\tk8s-w1/tunl0\n3\tk8s-w1/ens5\n"
                           "4\tk8s-w2/ens5\n"));
    CHECK(fields.find("\tk8s-w2/cali49778cadcf1\n") != std::string::npos);

    // In time order; frames of several nodes name theirs in each interface's name.
    const auto read_back = [](const std::string& path) {
        auto back = probes::CaptureFile::open(path);
        REQUIRE(back);
        core::Frame f;
        std::int64_t last = INT64_MIN;
        std::vector<std::string> points;
        while (back->next(f) == probes::CaptureFile::Read::frame) {
            CHECK(f.ts_ns >= last);
            last = f.ts_ns;
            const auto& i = back->interfaces()[f.interface];
            points.push_back(i.node + '|' + i.name);
        }
        return points;
    };
    const auto points = read_back(file);
    CHECK(points.size() == 36);
    CHECK(points.front() == "|k8s-w1/calice0906292e2");
    CHECK(std::ranges::count(points, "|k8s-w2/cali49778cadcf1") == 6);

    // One node's flow round-trips: the section names the node, as `podtrace capture` writes.
    auto same = e->save(1, dir.path.string());
    REQUIRE(same);
    CHECK(*same == "saved 12 frames of flow 1 to " + (dir / "podtrace-flow1.pcapng"));
    const auto same_points = read_back(dir / "podtrace-flow1.pcapng");
    CHECK(same_points.size() == 12);  // 6 packets, each at two veths
    CHECK(std::ranges::all_of(same_points,
                              [](const std::string& p) { return p.starts_with("k8s-w1|cali"); }));

    auto again = e->save(3, dir.path.string());
    REQUIRE(again);
    CHECK(*again == "saved 36 frames of flow 3 to " + (dir / "podtrace-flow3-2.pcapng"));
    CHECK(std::filesystem::file_size(file) ==
          std::filesystem::file_size(dir / "podtrace-flow3-2.pcapng"));
    // Only the three files: no temporary left behind.
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                        std::filesystem::directory_iterator{}) == 3);

    auto missing_dir = e->save(3, dir / "no/such/dir");
    REQUIRE_FALSE(missing_dir);
    CHECK(missing_dir.error().message.find(dir / "no/such/dir/podtrace-flow3.pcapng") !=
          std::string::npos);
    CHECK_FALSE(e->save(99, dir.path.string()));
}

TEST_CASE("a tiny packet store lets the oldest frames go and says so") {
    tui::EngineOptions o = ipip_options();
    o.keep_bytes = 4096;
    auto e = replayed(o);
    const tui::Snapshot s = snap(*e, {.flow = 3});
    REQUIRE(s.detail);
    CHECK(s.detail->packets.size() == 6);  // the paths are kept; their frames are not
    CHECK(s.detail->frames_kept == 0);
    for (const tui::HopRow& h : s.detail->packets.front().hops) CHECK(h.frame == 0);

    TempDir dir;
    auto none = e->save(3, dir.path.string());
    REQUIRE_FALSE(none);
    CHECK(none.error().message ==
          "flow 3: none of its frames is kept any more (36 let go; --keep keeps more)");

    // The newest frames are kept: the last flow with small frames keeps some of them.
    const tui::Snapshot all = snap(*e);
    std::uint64_t kept_somewhere = 0;
    for (const tui::FlowRow& r : all.flows) {
        const tui::Snapshot d = snap(*e, {.flow = r.id});
        kept_somewhere += d.detail->frames_kept;
        if (d.detail->frames_kept == 0) continue;
        auto saved = e->save(r.id, dir.path.string());
        REQUIRE(saved);
        CHECK(saved->starts_with("saved " + std::to_string(d.detail->frames_kept) + " frames"));
        std::uint64_t frames = 0;
        for (const tui::PacketPath& p : d.detail->packets) frames += p.hops.size();
        if (frames > d.detail->frames_kept)
            CHECK(saved->ends_with(" (" + std::to_string(frames - d.detail->frames_kept) +
                                   " no longer kept)"));
    }
    CHECK(kept_somewhere > 0);
    CHECK(kept_somewhere < 100);

    // A frame let go: the Packet screen still says what it was.
    const tui::Snapshot full = snap(*replayed(ipip_options()), {.flow = 3});
    const std::uint64_t old = full.detail->packets.front().hops.front().frame;
    const tui::Snapshot gone = snap(*e, {.frame = old});
    REQUIRE(gone.packet);
    CHECK_FALSE(gone.packet->kept);
    CHECK(gone.packet->bytes.empty());
    CHECK(gone.packet->tree.empty());
}

TEST_CASE("replay speed paces as recorded and 0 reads as fast as it can") {
    // The capture points of one node: its packets span about 3.5 s.
    tui::EngineOptions o;
    o.input.files = {kIpip + "k8s-w1.pcapng"};
    auto t0 = Clock::now();
    auto fast = replayed(o);
    const double fast_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const tui::Snapshot s = snap(*fast);
    std::int64_t first = INT64_MAX;
    for (const tui::FlowRow& r : s.flows) first = std::min(first, r.first_ns);
    const double span_s = (s.now_ns - first) / 1e9;
    REQUIRE(span_s > 1.0);
    CHECK(fast_s < span_s / 4);

    o.speed = 4;
    auto opened = tui::Engine::open(o);
    REQUIRE(opened);
    auto paced = std::move(*opened);
    t0 = Clock::now();
    paced->start();
    std::this_thread::sleep_for(100ms);
    const tui::Snapshot mid = snap(*paced);
    CHECK(mid.state.starts_with("replaying 4x "));
    REQUIRE(wait_done(*paced, 30s));
    const double paced_s = std::chrono::duration<double>(Clock::now() - t0).count();
    WARN("speed 0: " << fast_s << " s; speed 4: " << paced_s << " s for " << span_s
                     << " s of capture");
    CHECK(paced_s > span_s / 4 * 0.8);
    CHECK(paced_s < span_s / 4 * 2 + 0.5);
    CHECK(snap(*paced).packets == s.packets);
}

TEST_CASE("stop() ends a replay promptly") {
    tui::EngineOptions o = ipip_options();
    o.speed = 0.25;  // 14 s of replay
    auto opened = tui::Engine::open(o);
    REQUIRE(opened);
    auto e = std::move(*opened);
    e->start();
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(e->done());
    const auto t0 = Clock::now();
    e->stop();
    CHECK(Clock::now() - t0 < 1s);  // returns at once, not after the 14 s replay
    REQUIRE(wait_done(*e, 2s));
    const auto took = Clock::now() - t0;
    WARN("stopped after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms");
    CHECK(took < 3s);  // far from the 14 s the replay would take; loose for a loaded machine
    CHECK(snap(*e).state == "stopped");
}

TEST_CASE("snapshots stay quick while 200k packets are ingested") {
    if (std::string(PODTRACE_GEN).empty()) {
        WARN("skipped: built without bench/ (PODTRACE_BUILD_BENCH=OFF), no podtrace_gen");
        return;
    }
    TempDir dir;
    const std::string file = dir / "gen.pcap";
    REQUIRE(std::system((std::string(PODTRACE_GEN) + " '" + file + "' --packets 200000 >/dev/null")
                            .c_str()) == 0);
    tui::EngineOptions o;
    o.input.files = {file};
    auto opened = tui::Engine::open(o);
    REQUIRE(opened);
    auto e = std::move(*opened);
    const auto t0 = Clock::now();
    e->start();
    tui::Snapshot s;
    const auto ms = snapshot_times(*e, s);
    const double ingest_s = std::chrono::duration<double>(Clock::now() - t0).count();
    REQUIRE(!ms.empty());
    WARN("ingest " << ingest_s << " s, " << s.frames << " frames, " << s.flows.size() << " flows; "
                   << ms.size() << " snapshots while ingesting: median " << ms[ms.size() / 2]
                   << " ms, worst " << ms.back() << " ms");
    CHECK(s.frames == 200000);
    CHECK(s.state == "end of files");
    CHECK(ms.back() < 500);  // the target is < 50 ms; this only catches a snapshot that blocks
}

TEST_CASE("snapshots stay quick with thousands of flows") {
    TempDir dir;
    const std::string file = dir / "flows.pcapng";
    write_many_flows(file, 5000, 40);
    tui::EngineOptions o;
    o.input.files = {file};
    auto opened = tui::Engine::open(o);
    REQUIRE(opened);
    auto e = std::move(*opened);
    const auto t0 = Clock::now();
    e->start();
    tui::Snapshot s;
    const auto ms = snapshot_times(*e, s);
    const double ingest_s = std::chrono::duration<double>(Clock::now() - t0).count();
    REQUIRE(!ms.empty());
    // Once ended: every row, a flow's detail and a packet, as a key press on the Path screen.
    const auto a = Clock::now();
    e->snapshot({.flow = 4321, .frame = s.detail->packets.back().hops[0].frame}, s);
    const double after = std::chrono::duration<double, std::milli>(Clock::now() - a).count();
    WARN("ingest " << ingest_s << " s, " << s.frames << " frames, " << s.flows.size() << " flows; "
                   << ms.size() << " snapshots while ingesting: median " << ms[ms.size() / 2]
                   << " ms, worst " << ms.back() << " ms; after: " << after << " ms");
    CHECK(s.frames == 400000);
    REQUIRE(s.flows.size() == 5000);
    CHECK(s.flows[4320].packets_fwd == 40);
    CHECK(s.flows[4320].kind == "cross-node");
    REQUIRE(s.detail);
    // The newest 65536 paths of all flows are kept: this flow's last 13 of 40.
    CHECK(s.detail->packets_seen == 40);
    CHECK(s.detail->packets.size() == 13);
    CHECK(s.detail->packets.back().number == 40);
    CHECK(s.detail->frames_kept == 26);
    REQUIRE(s.packet);
    CHECK(s.packet->kept);
    CHECK(ms.back() < 500);
    CHECK(after < 500);
}

TEST_CASE("live on lo finishes quiet flows as the clock moves on") {
    tui::EngineOptions o;
    o.live.interfaces = {"lo"};
    o.live.node = "test-node";
    o.live.filter = "udp port 47999";
    o.input.window_s = 0.2;
    auto opened = tui::Engine::open(o);
    if (!opened) {  // capturing needs CAP_NET_RAW
        WARN("live capture not tested: " << opened.error().message);
        return;
    }
    auto e = std::move(*opened);
    e->start();
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(47999);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 20; ++i) {
        const std::string msg = "podtrace engine test " + std::to_string(i);
        ::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    ::close(fd);
    // Nothing more arrives: the packets finish once their 0.2 s window has passed.
    tui::Snapshot s;
    const auto until = Clock::now() + 3s;
    while (Clock::now() < until && (e->snapshot({}, s), s.packets < 20))
        std::this_thread::sleep_for(20ms);
    CHECK(s.source == "live on test-node, 1 interface");
    CHECK(s.state == "capturing");
    CHECK(s.frames == 20);
    CHECK(s.packets == 20);
    REQUIRE(s.interfaces.size() == 1);
    CHECK(s.interfaces[0].interface == "lo");
    CHECK(s.interfaces[0].state == "capturing");
    CHECK(s.interfaces[0].packets == 20);
    REQUIRE(s.flows.size() == 1);
    CHECK(s.flows[0].dport == 47999);
    CHECK(s.flows[0].packets_fwd == 20);
    const auto d = snap(*e, {.flow = s.flows[0].id});
    REQUIRE(d.detail);
    CHECK(d.detail->frames_kept == 20);
    const auto t0 = Clock::now();
    e->stop();
    REQUIRE(wait_done(*e, 2s));
    CHECK(Clock::now() - t0 < 500ms);
    CHECK(snap(*e).state == "stopped");
}

TEST_CASE("tui command: bad usage and bad input exit 2 before any terminal") {
    const auto run = [](std::vector<std::string> args) {
        args.insert(args.begin(), {"podtrace", "tui"});
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        return podtrace::app::run(static_cast<int>(argv.size()), argv.data());
    };
    const std::string w1 = kIpip + "k8s-w1.pcapng";
    CHECK(run({"-r", kIpip + "no-such.pcapng", "--snapshot", "80x24"}) == 2);
    CHECK(run({"-r", w1, "--pods", kIpip + "k8s-w1.pcapng", "--snapshot", "80x24"}) == 2);
    CHECK(run({"-r", w1, "-i", "eth0"}) == 2);
    CHECK(run({"--speed", "1"}) == 2);
    CHECK(run({"--snapshot", "80x24"}) == 2);
    CHECK(run({"-r", w1, "--snapshot", "80by24"}) == 2);
    CHECK(run({"-r", w1, "--keys", "<Nope>", "--snapshot", "80x24"}) == 2);
    CHECK(run({"-r", w1, "--save-dir", "/no/such/dir", "--snapshot", "80x24"}) == 2);
    CHECK(run({"-r", w1, "--save-dir", w1, "--snapshot", "80x24"}) == 2);
}

}  // namespace podtrace::app

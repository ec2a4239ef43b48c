// `podtrace tui --follow`: live pcapng streams from several nodes, fed through FIFOs by writer
// threads from the ipip example's per-node captures: merged as they arrive, a quiet stream does
// not stall the others, the end equals a replay of the same files, a broken stream is named,
// and stop() is prompt while the writers are quiet.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "app/app.hpp"
#include "probes/capture_file.hpp"
#include "tui/engine.hpp"

namespace podtrace::app {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

const std::string kDir = std::string(PODTRACE_SOURCE_DIR) + "/examples/ipip/";

struct FifoDir {
    std::string path;
    FifoDir() {
        ::signal(SIGPIPE, SIG_IGN);  // a writer outliving its reader gets EPIPE, not killed
        std::string t = (std::filesystem::temp_directory_path() / "follow-test-XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()));
        path = t;
    }
    ~FifoDir() { std::filesystem::remove_all(path); }
    std::string fifo(const std::string& name) const {
        const std::string p = path + '/' + name;
        REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
        return p;
    }
};

Bytes slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Where each frame's block ends in the file: writing the bytes before ends[k] delivers k + 1
// frames.
std::vector<std::size_t> frame_ends(const std::string& path) {
    auto f = probes::CaptureFile::open(path);
    REQUIRE(f);
    std::vector<std::size_t> ends;
    core::Frame fr;
    while (f->next(fr) == probes::CaptureFile::Read::frame) ends.push_back(f->bytes_read());
    return ends;
}

// The write end of a FIFO, once the engine has opened its read end (it does in open()).
int open_writer(const std::string& path) {
    const auto until = Clock::now() + 5s;
    while (Clock::now() < until) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            return fd;
        }
        if (errno != ENXIO) return -1;
        std::this_thread::sleep_for(5ms);
    }
    return -1;
}

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

tui::EngineOptions inventory(tui::EngineOptions o) {
    o.input.pods_json = {kDir + "pods.json"};
    o.input.services_json = {kDir + "services.json"};
    o.input.nodes_json = {kDir + "nodes.json"};
    return o;
}

std::unique_ptr<tui::Engine> opened(const tui::EngineOptions& o) {
    auto r = tui::Engine::open(o);
    INFO((r ? "" : r.error().message));
    REQUIRE(r);
    return std::move(*r);
}

bool wait_done(const tui::Engine& e, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (!e.done() && Clock::now() < until) std::this_thread::sleep_for(5ms);
    return e.done();
}

tui::Snapshot snap(tui::Engine& e, tui::Query q = {}) {
    tui::Snapshot s;
    e.snapshot(q, s);
    return s;
}

// Polls snapshots until `ok` holds or `limit` passes; the last snapshot.
template <class F>
tui::Snapshot wait_for(tui::Engine& e, std::chrono::milliseconds limit, F ok) {
    const auto until = Clock::now() + limit;
    tui::Snapshot s = snap(e);
    while (!ok(s) && Clock::now() < until) {
        std::this_thread::sleep_for(1ms);
        e.snapshot({}, s);
    }
    return s;
}

using FlowKey = std::tuple<std::string, std::string, std::string, int, int>;
FlowKey key(const tui::FlowRow& r) {
    return {r.src, r.dst, r.proto, r.sport, r.dport};
}

// The flows in words that do not depend on the order paths finished in (ids do).
std::vector<std::string> flow_facts(const tui::Snapshot& s) {
    std::vector<std::string> out;
    for (const tui::FlowRow& r : s.flows)
        out.push_back(r.src + ':' + std::to_string(r.sport) + " > " + r.dst + ':' +
                      std::to_string(r.dport) + ' ' + r.proto + ' ' + r.kind + ' ' + r.encap + ' ' +
                      r.nat + ' ' + std::to_string(r.packets_fwd) + '/' +
                      std::to_string(r.packets_rev) + ' ' + std::to_string(r.bytes_fwd) + '/' +
                      std::to_string(r.bytes_rev) + " drops " + std::to_string(r.drops));
    std::ranges::sort(out);
    return out;
}

// Each packet of a flow as node/interface/direction hops.
std::vector<std::string> hop_lists(tui::Engine& e, const tui::Snapshot& s, const FlowKey& k) {
    const auto f =
        std::ranges::find_if(s.flows, [&](const tui::FlowRow& r) { return key(r) == k; });
    REQUIRE(f != s.flows.end());
    const tui::Snapshot d = snap(e, {.flow = f->id});
    REQUIRE(d.detail);
    std::vector<std::string> out;
    for (const tui::PacketPath& p : d.detail->packets) {
        std::string line = p.reverse ? "<-" : "->";
        for (const tui::HopRow& h : p.hops)
            line += ' ' + h.node + '/' + h.interface + ' ' + h.direction;
        out.push_back(line);
    }
    return out;
}

bool has_note(const tui::Snapshot& s, const std::string& start, const std::string& part = "") {
    return std::ranges::any_of(s.notes, [&](const std::string& n) {
        return n.starts_with(start) && n.find(part) != std::string::npos;
    });
}

}  // namespace

TEST_CASE("follow: a quiet stream does not stall the other, and the end equals a replay") {
    FifoDir dir;
    const std::string w1 = dir.fifo("w1"), w2 = dir.fifo("w2");
    tui::EngineOptions o = inventory({});
    o.follow = true;
    o.input.files = {"k8s-w1=" + w1, w2};  // k8s-w2's node comes from its header
    // Paths stay open across the pause, so that they join as in the replay (the default 2 s
    // window would finish k8s-w2's half of them while k8s-w1 is quiet).
    o.input.window_s = 30;
    auto e = opened(o);
    e->start();

    const Bytes b1 = slurp(kDir + "k8s-w1.pcapng"), b2 = slurp(kDir + "k8s-w2.pcapng");
    const std::size_t half = b1.size() / 2;  // in the middle of a block
    const auto ends1 = frame_ends(kDir + "k8s-w1.pcapng");
    const auto ends2 = frame_ends(kDir + "k8s-w2.pcapng");
    const auto before_pause = static_cast<std::uint64_t>(
        std::ranges::count_if(ends1, [&](std::size_t end) { return end <= half; }));
    REQUIRE(before_pause > 50);
    REQUIRE(ends2.size() == 89);

    std::atomic<bool> paused{false}, ok1{false}, ok2{false};
    std::thread t1([&] {
        const int fd = open_writer(w1);
        if (fd < 0) return;
        ok1 = write_all(fd, b1.data(), half);
        paused = true;
        std::this_thread::sleep_for(3s);
        ok1 = ok1 && write_all(fd, b1.data() + half, b1.size() - half);
        ::close(fd);
    });
    std::thread t2([&] {
        const int fd = open_writer(w2);
        if (fd < 0) return;
        while (!paused) std::this_thread::sleep_for(1ms);
        ok2 = write_all(fd, b2.data(), b2.size());
        ::close(fd);
    });

    // k8s-w1 is quiet (half a block written): k8s-w2's frames show all the same.
    while (!paused) std::this_thread::sleep_for(1ms);
    const auto t0 = Clock::now();
    // k8s-w1's reader publishes its own count apart from the merge: wait for that note too (under
    // a loaded CI it came a moment after the merged frames).
    const std::string w1_note =
        "stream k8s-w1 (" + w1 + "): reading, " + std::to_string(before_pause) + " frames";
    const tui::Snapshot mid = wait_for(*e, 2500ms, [&](const tui::Snapshot& s) {
        return s.frames == before_pause + 89 && s.state == "following, k8s-w2 ended" &&
               has_note(s, w1_note);
    });
    const auto took = Clock::now() - t0;
    CHECK(mid.frames == before_pause + 89);
    CHECK(mid.source == "2 streams, 2 nodes");
    CHECK(mid.state == "following, k8s-w2 ended");
    CHECK(took < 2500ms);  // well before k8s-w1 goes on
    const auto w2_ens5 = std::ranges::find_if(mid.interfaces, [](const tui::InterfaceRow& r) {
        return r.node == "k8s-w2" && r.interface == "ens5";
    });
    REQUIRE(w2_ens5 != mid.interfaces.end());
    CHECK(w2_ens5->packets == 31);
    CHECK(w2_ens5->state == "ended");
    CHECK(has_note(mid, "clock offsets: not estimated live"));
    CHECK(has_note(mid, w1_note));
    const double took_ms = std::chrono::duration<double, std::milli>(took).count();
    WARN("k8s-w2's 89 frames shown " << took_ms << " ms after k8s-w1 went quiet");

    t1.join();
    t2.join();
    CHECK(ok1);
    CHECK(ok2);
    REQUIRE(wait_done(*e, 10s));
    const tui::Snapshot end = snap(*e);
    CHECK(end.state == "end of streams");
    CHECK(end.frames == 301);
    CHECK(has_note(end, "stream k8s-w1 (" + w1 + "): ended, 212 frames, " +
                            std::to_string(b1.size()) + " bytes"));
    CHECK(has_note(end, "stream k8s-w2 (" + w2 + "): ended, 89 frames"));
    CHECK(has_note(end, "merge: ", " sightings came after later ones"));  // k8s-w1's second half

    // The same files replayed (`tui -r`, the default window): the same flows, the same hops.
    tui::EngineOptions r = inventory({});
    r.input.files = {kDir + "k8s-w1.pcapng", kDir + "k8s-w2.pcapng"};
    auto replay = opened(r);
    replay->start();
    REQUIRE(wait_done(*replay, 30s));
    const tui::Snapshot want = snap(*replay);
    CHECK(end.packets == want.packets);
    CHECK(flow_facts(end) == flow_facts(want));
    CHECK(end.findings.size() == want.findings.size());
    const FlowKey icmp{"default/pod1", "default/pod3", "ICMP", 0, 0};
    const auto hops = hop_lists(*e, end, icmp);
    CHECK(hops == hop_lists(*replay, want, icmp));
    REQUIRE(hops.size() == 6);
    CHECK(hops[0] ==
          "-> k8s-w1/calice0906292e2 in k8s-w1/tunl0 out k8s-w1/ens5 out k8s-w2/ens5 in "
          "k8s-w2/tunl0 in k8s-w2/cali49778cadcf1 out");
    const FlowKey dropped{"default/pod1", "default/pod3", "TCP", 54350, 9999};
    CHECK(hop_lists(*e, end, dropped) == hop_lists(*replay, want, dropped));
}

TEST_CASE("follow: frames show as they arrive, packets once their window passed") {
    FifoDir dir;
    const std::string w1 = dir.fifo("w1"), w2 = dir.fifo("w2");
    tui::EngineOptions o = inventory({});
    o.follow = true;
    o.input.files = {w1, w2};
    o.input.window_s = 0.2;
    auto e = opened(o);
    e->start();
    const Bytes b1 = slurp(kDir + "k8s-w1.pcapng"), b2 = slurp(kDir + "k8s-w2.pcapng");
    const auto ends1 = frame_ends(kDir + "k8s-w1.pcapng");
    const auto ends2 = frame_ends(kDir + "k8s-w2.pcapng");
    const int fd1 = open_writer(w1), fd2 = open_writer(w2);
    REQUIRE(fd1 >= 0);
    REQUIRE(fd2 >= 0);
    // k8s-w2 sends its header (up to its first frame's block), then nothing: every k8s-w1
    // frame waits the lag.
    std::uint32_t first_len = 0;
    std::memcpy(&first_len, b2.data() + ends2[0] - 4, 4);  // a block ends with its length
    REQUIRE(write_all(fd2, b2.data(), ends2[0] - first_len));
    REQUIRE(write_all(fd1, b1.data(), ends1[9]));
    REQUIRE(wait_for(*e, 2s, [](const tui::Snapshot& s) { return s.frames == 10; }).frames == 10);
    const tui::Snapshot started =
        wait_for(*e, 2s, [](const tui::Snapshot& s) { return s.state == "following"; });
    CHECK(started.state == "following");
    CHECK(started.source == "2 streams, 2 nodes");
    CHECK(has_note(started, "stream k8s-w2 (" + w2 + "): reading, 0 frames"));  // its header's

    // One frame at a time: from write() to a snapshot counting it.
    std::vector<double> ms;
    for (std::size_t k = 10; k < 40; ++k) {
        const auto t0 = Clock::now();
        REQUIRE(write_all(fd1, b1.data() + ends1[k - 1], ends1[k] - ends1[k - 1]));
        const tui::Snapshot s =
            wait_for(*e, 2s, [&](const tui::Snapshot& x) { return x.frames == k + 1; });
        REQUIRE(s.frames == k + 1);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        std::this_thread::sleep_for(5ms);
    }
    std::ranges::sort(ms);
    CHECK(ms[ms.size() / 2] < 50);
    CHECK(ms.back() < 1000);  // a loaded machine; typically a millisecond

    // The rest of k8s-w1: its packets are traced the lag after they arrive, and finish once
    // their window has passed on the quiet clock.
    tui::EngineOptions r;
    r.input.files = {kDir + "k8s-w1.pcapng"};
    r.input.window_s = 0.2;
    auto replay = opened(r);
    replay->start();
    REQUIRE(wait_done(*replay, 30s));
    const std::uint64_t w1_packets = snap(*replay).packets;
    const auto t0 = Clock::now();
    REQUIRE(write_all(fd1, b1.data() + ends1[39], b1.size() - ends1[39]));
    const tui::Snapshot s =
        wait_for(*e, 5s, [&](const tui::Snapshot& x) { return x.packets >= w1_packets; });
    const double all_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    CHECK(s.packets == w1_packets);
    CHECK(s.state == "following");
    CHECK_FALSE(e->done());
    WARN("frame written -> counted in a snapshot: median "
         << ms[ms.size() / 2] << " ms, worst " << ms.back() << " ms; rest of k8s-w1 "
         << "-> every packet traced (lag 250 ms "
         << "+ window 200 ms): " << all_ms << " ms");
    CHECK(all_ms > 400);  // the hold-back and the window, not sooner
    CHECK(all_ms < 3000);
    ::close(fd1);
    ::close(fd2);
    REQUIRE(wait_done(*e, 5s));
    CHECK(snap(*e).state == "end of streams");
}

TEST_CASE("follow: a broken stream is named with its offset, the other goes on") {
    FifoDir dir;
    const std::string good = dir.fifo("good"), bad = dir.fifo("bad"), junk = dir.fifo("junk");
    tui::EngineOptions o = inventory({});
    o.follow = true;
    o.input.files = {good, "k8s-w2=" + bad, junk};
    auto e = opened(o);
    e->start();
    const Bytes b1 = slurp(kDir + "k8s-w1.pcapng"), b2 = slurp(kDir + "k8s-w2.pcapng");
    const auto ends2 = frame_ends(kDir + "k8s-w2.pcapng");
    std::thread t1([&] {
        const int fd = open_writer(good);
        if (fd < 0) return;
        write_all(fd, b1.data(), b1.size());
        ::close(fd);
    });
    std::thread t2([&] {
        const int fd = open_writer(bad);
        if (fd < 0) return;
        Bytes b(b2.begin(), b2.begin() + static_cast<std::ptrdiff_t>(ends2[9]));
        b.insert(b.end(), 4096, 0xab);  // a block type and length nobody wrote
        write_all(fd, b.data(), b.size());
        std::this_thread::sleep_for(300ms);
        ::close(fd);
    });
    std::thread t3([&] {
        const int fd = open_writer(junk);
        if (fd < 0) return;
        const std::string text = "this is not a capture\n";
        write_all(fd, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
        ::close(fd);
    });
    t1.join();
    t2.join();
    t3.join();
    REQUIRE(wait_done(*e, 10s));
    const tui::Snapshot s = snap(*e);
    CHECK(s.state == "end of streams, k8s-w2 failed, junk failed");  // named by its stem
    CHECK(s.frames == 212 + 10);
    CHECK(has_note(s, "stream k8s-w2 (" + bad + "): failed, 10 frames, ", ": " + bad + ": "));
    CHECK(has_note(s, "stream k8s-w2 (" + bad + "): failed",
                   " at offset " + std::to_string(ends2[9])));
    CHECK(has_note(s, "stream junk (" + junk + "): failed, 0 frames",
                   ": " + junk + ": not a pcap or pcapng file"));
    const auto veth = std::ranges::find_if(
        s.interfaces, [](const tui::InterfaceRow& r) { return r.interface == "cali49778cadcf1"; });
    REQUIRE(veth != s.interfaces.end());
    CHECK(veth->state == "failed");
    // k8s-w1's flows are all there.
    CHECK(std::ranges::any_of(s.flows, [](const tui::FlowRow& r) {
        return r.src == "default/pod1" && r.dst == "default/pod2" && r.proto == "ICMP" &&
               r.packets_fwd == 3 && r.packets_rev == 3;
    }));
}

TEST_CASE("follow: stop() is prompt while the writers hold their pipes open") {
    FifoDir dir;
    const std::string w1 = dir.fifo("w1"), w2 = dir.fifo("w2");
    tui::EngineOptions o;
    o.follow = true;
    o.input.files = {w1, w2};
    auto e = opened(o);
    e->start();
    const Bytes b1 = slurp(kDir + "k8s-w1.pcapng");
    const int fd1 = open_writer(w1), fd2 = open_writer(w2);
    REQUIRE(fd1 >= 0);
    REQUIRE(fd2 >= 0);
    // k8s-w1 stops in the middle of a block; w2 never sends its header.
    REQUIRE(write_all(fd1, b1.data(), 5000));
    const tui::Snapshot before =
        wait_for(*e, 2s, [](const tui::Snapshot& s) { return s.frames > 0; });
    CHECK(before.frames > 0);
    CHECK(before.state == "following, w2 waiting");
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(e->done());
    const auto t0 = Clock::now();
    e->stop();
    CHECK(Clock::now() - t0 < 100ms);
    REQUIRE(wait_done(*e, 2s));
    const auto took = Clock::now() - t0;
    const double took_ms = std::chrono::duration<double, std::milli>(took).count();
    WARN("stopped after " << took_ms << " ms");
    CHECK(took < 500ms);
    const tui::Snapshot s = snap(*e);
    CHECK(s.state == "stopped");
    CHECK(has_note(s, "stream k8s-w1 (" + w1 + "): stopped"));
    e.reset();  // the readers are gone: the writers see no reader
    CHECK(::write(fd1, b1.data(), 1) == -1);
    CHECK(errno == EPIPE);
    ::close(fd1);
    ::close(fd2);
}

TEST_CASE("follow: inherited pipes as /dev/fd/N, as the kubectl plugin passes them") {
    ::signal(SIGPIPE, SIG_IGN);
    int p1[2], p2[2];
    REQUIRE(::pipe(p1) == 0);
    REQUIRE(::pipe(p2) == 0);
    tui::EngineOptions o = inventory({});
    o.follow = true;
    o.input.files = {"k8s-w1=/dev/fd/" + std::to_string(p1[0]),
                     "k8s-w2=/dev/fd/" + std::to_string(p2[0])};
    o.input.window_s = 30;  // however late one writer thread starts
    auto e = opened(o);
    // The engine has its own descriptors: the plugin's may go.
    ::close(p1[0]);
    ::close(p2[0]);
    e->start();
    const Bytes b1 = slurp(kDir + "k8s-w1.pcapng"), b2 = slurp(kDir + "k8s-w2.pcapng");
    std::thread t1([&] { write_all(p1[1], b1.data(), b1.size()), ::close(p1[1]); });
    std::thread t2([&] { write_all(p2[1], b2.data(), b2.size()), ::close(p2[1]); });
    t1.join();
    t2.join();
    REQUIRE(wait_done(*e, 10s));
    const tui::Snapshot s = snap(*e);
    CHECK(s.source == "2 streams, 2 nodes");
    CHECK(s.state == "end of streams");
    CHECK(s.frames == 301);
    CHECK(s.packets == 96);  // as `report` on the two files
    CHECK(has_note(s, "stream k8s-w1 (/dev/fd/" + std::to_string(p1[0]) + "): ended, 212 frames"));
}

TEST_CASE("follow: regular files merge as a replay without clock offsets does") {
    tui::EngineOptions o = inventory({});
    o.input.files = {kDir + "k8s-w0.pcapng", kDir + "k8s-w1.pcapng", kDir + "k8s-w2.pcapng"};
    o.input.clock = false;
    auto replay = opened(o);
    replay->start();
    o.follow = true;
    auto follow = opened(o);
    follow->start();
    REQUIRE(wait_done(*replay, 30s));
    REQUIRE(wait_done(*follow, 30s));
    const tui::Snapshot a = snap(*replay), b = snap(*follow);
    CHECK(b.source == "3 streams, 3 nodes");
    CHECK(b.state == "end of streams");
    CHECK(b.frames == a.frames);
    CHECK(b.packets == a.packets);
    REQUIRE(b.flows.size() == a.flows.size());
    for (std::size_t i = 0; i < a.flows.size(); ++i) {
        CHECK(b.flows[i].id == a.flows[i].id);
        CHECK(key(b.flows[i]) == key(a.flows[i]));
        CHECK(b.flows[i].latency_p99_ns == a.flows[i].latency_p99_ns);
    }
    CHECK(b.findings == a.findings);
}

TEST_CASE("tui --follow: bad usage and bad input exit 2 before any terminal") {
    const auto run = [](std::vector<std::string> args) {
        args.insert(args.begin(), {"podtrace", "tui"});
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        return podtrace::app::run(static_cast<int>(argv.size()), argv.data());
    };
    const std::string w1 = kDir + "k8s-w1.pcapng";
    CHECK(run({"--follow", "--snapshot", "80x24"}) == 2);
    CHECK(run({"--follow"}) == 2);
    CHECK(run({"--follow", "--speed", "1", "-r", w1, "--snapshot", "80x24"}) == 2);
    CHECK(run({"--follow", "--speed", "0", "-r", w1, "--snapshot", "80x24"}) == 2);
    CHECK(run({"--follow", "-r", kDir + "no-such.pcapng", "--snapshot", "80x24"}) == 2);
    CHECK(run({"--follow", "-r", "k8s-w1=/no/such/fifo", "--snapshot", "80x24"}) == 2);
    CHECK(run({"--follow", "-r", kDir, "--snapshot", "80x24"}) == 2);
    CHECK(run({"--follow", "-r", w1, "-r", w1, "--snapshot", "80x24"}) == 2);
    CHECK(run({"--follow", "-r", "-"}) == 2);  // stdin would carry both the stream and the keys
    CHECK(run({"--follow", "-r", w1, "--pods", w1, "--snapshot", "80x24"}) == 2);
}

}  // namespace podtrace::app

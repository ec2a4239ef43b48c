// Live capture in network namespaces the tests make themselves (root only; skipped otherwise).
#include "probes/live_source.hpp"
#include "test_util.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

using namespace podtrace::core;
using namespace podtrace::probes;
using namespace std::chrono_literals;

namespace {

using podtrace::test::run;
using podtrace::test::sh;

std::string pid_s() {
    return std::to_string(::getpid());
}

// Three namespaces laid out as Calico does: pods A and B, each behind a cali veth into the
// "node" H, which routes between them.
struct Lab {
    std::string h = "pt" + pid_s() + "h", a = "pt" + pid_s() + "a", b = "pt" + pid_s() + "b";
    std::string cali_a = "cali" + pid_s() + "a", cali_b = "cali" + pid_s() + "b";
    bool ok = false;
    std::string why;

    Lab() {
        if (::geteuid() != 0) {
            why = "not root";
            return;
        }
        if (!sh("ip netns add " + h)) {
            why = "`ip netns add` failed";
            return;
        }
        sh("ip netns add " + a);
        sh("ip netns add " + b);
        ok = sh("ip -n " + h + " link add " + cali_a + " type veth peer name eth0 netns " + a) &&
             sh("ip -n " + h + " link add " + cali_b + " type veth peer name eth0 netns " + b) &&
             sh("ip -n " + h + " addr add 10.77.1.1/24 dev " + cali_a) &&
             sh("ip -n " + h + " addr add 10.77.2.1/24 dev " + cali_b) &&
             sh("ip -n " + h + " link set " + cali_a + " up") &&
             sh("ip -n " + h + " link set " + cali_b + " up") &&
             sh("ip -n " + a + " addr add 10.77.1.2/24 dev eth0") &&
             sh("ip -n " + a + " link set eth0 up") &&
             sh("ip -n " + a + " route add default via 10.77.1.1") &&
             sh("ip -n " + b + " addr add 10.77.2.2/24 dev eth0") &&
             sh("ip -n " + b + " link set eth0 up") &&
             sh("ip -n " + b + " route add default via 10.77.2.1") &&
             sh("ip netns exec " + h + " sysctl -qw net.ipv4.ip_forward=1");
        if (!ok) why = "could not build the veths";
        // Resolve the neighbours now so that no datagram waits on ARP later.
        if (ok) send_udp(1, 5556, 0);
    }
    ~Lab() {
        if (why == "not root" || why == "`ip netns add` failed") return;
        sh("ip netns del " + a);
        sh("ip netns del " + b);
        sh("ip netns del " + h);
    }
    // `count` datagrams from A to B, to `port`, `gap_ms` apart.
    bool send_udp(int count, int port, int gap_ms) const {
        return sh("ip netns exec " + a +
                  " /usr/bin/python3 -c 'import socket,time\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "for i in range(" +
                  std::to_string(count) + "):\n s.sendto(b\"x\"*64,(\"10.77.2.2\"," +
                  std::to_string(port) + "))\n time.sleep(" + std::to_string(gap_ms / 1000.0) +
                  ")'");
    }
};

// Enters a named network namespace for this thread; the capture thread LiveSource starts
// inherits it. The original one is restored on scope exit.
struct InNetns {
    int orig = -1;
    bool ok = false;
    explicit InNetns(const std::string& name) {
        orig = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int fd = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        ok = orig >= 0 && fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
        if (fd >= 0) ::close(fd);
    }
    ~InNetns() {
        if (orig >= 0) {
            ::setns(orig, CLONE_NEWNET);
            ::close(orig);
        }
    }
};

std::optional<LiveSource> open_in(const Lab& lab, const LiveOptions& o) {
    InNetns in(lab.h);
    REQUIRE(in.ok);
    auto src = LiveSource::open(o);
    if (!src) FAIL(src.error().message);
    return std::move(*src);
}

std::optional<InterfaceStats> find(const std::vector<InterfaceStats>& st, const std::string& n) {
    for (const auto& s : st)
        if (s.name == n) return s;
    return std::nullopt;
}

// Reads until stopped; counts frames per interface and checks the merged order.
struct Drain {
    std::map<std::uint32_t, std::uint64_t> per_iface;
    std::uint64_t out_of_order = 0, total = 0;
    std::int64_t last = 0;
    void run(LiveSource& src) {
        Frame f;
        for (;;) {
            auto r = src.next(f, 100ms);
            if (r == LiveSource::Wait::stopped) break;
            if (r != LiveSource::Wait::frame) continue;
            if (f.ts_ns < last) ++out_of_order;
            last = f.ts_ns;
            ++per_iface[f.interface];
            ++total;
            CHECK(f.ts_digits == 9);
            CHECK(f.linktype == linktype::ethernet);
            CHECK(f.bytes.size() == f.wirelen);
        }
    }
};

}  // namespace

TEST_CASE("live: two veths, counts and merged timestamp order", "[live]") {
    Lab lab;
    if (!lab.ok) {
        WARN("skipped: " << lab.why);
        return;
    }
    LiveOptions o;
    o.interfaces = {lab.cali_a, lab.cali_b};
    o.filter = "udp dst port 5555";
    auto src = open_in(lab, o);
    // Catch's assertions are for the test's own thread only.
    bool sent_ok = false;
    std::thread sender([&] {
        sent_ok = lab.send_udp(200, 5555, 1);
        std::this_thread::sleep_for(300ms);
        src->stop();
    });
    Drain d;
    d.run(*src);
    sender.join();
    CHECK(sent_ok);
    auto st = src->stats();
    REQUIRE(st.size() == 2);
    INFO(st[0].name << " " << st[0].frames << ", " << st[1].name << " " << st[1].frames);
    // Each datagram is seen leaving A on cali_a, then routed by H out of cali_b.
    CHECK(st[0].frames == 200);
    CHECK(st[1].frames == 200);
    CHECK(d.per_iface[0] == 200);
    CHECK(d.per_iface[1] == 200);
    CHECK(d.out_of_order == 0);
    for (const auto& s : st) {
        CHECK(s.attached);
        CHECK(s.kernel_drops == 0);
        CHECK(s.queue_drops == 0);
        CHECK(s.linktype == linktype::ethernet);
        CHECK(s.error.empty());
    }
}

TEST_CASE("live: pod churn, 100 cali veths come and go", "[live]") {
    Lab lab;
    if (!lab.ok) {
        WARN("skipped: " << lab.why);
        return;
    }
    LiveOptions o;
    o.interfaces = {"cali*"};
    o.filter = "udp dst port 5555";
    auto src = open_in(lab, o);
    constexpr int sent = 400;
    bool sent_ok = false;
    std::thread sender([&] { sent_ok = lab.send_udp(sent, 5555, 10); });
    std::vector<std::string> churned;
    std::uint64_t slow_attach = 0, ip_failures = 0;
    std::thread churn([&] {
        for (int batch = 0; batch < 20; ++batch) {
            std::string add, del;
            std::vector<std::string> names;
            for (int k = 0; k < 5; ++k) {
                std::string i = std::to_string(batch * 5 + k);
                std::string n = "cali" + pid_s() + "c" + i;
                names.push_back(n);
                add += "link add " + n + " type veth peer name pp" + pid_s() + "c" + i + "\n";
                add += "link set " + n + " up\n";
                del += "link del " + n + "\n";
            }
            ip_failures += !sh("printf '" + add + "' | ip -n " + lab.h + " -batch -");
            // Each must be attached within a second of coming up.
            auto deadline = std::chrono::steady_clock::now() + 1s;
            for (;;) {
                auto st = src->stats();
                std::size_t n = 0;
                for (const auto& name : names)
                    if (auto s = find(st, name); s && s->attached) ++n;
                if (n == names.size()) break;
                if (std::chrono::steady_clock::now() > deadline) {
                    ++slow_attach;
                    break;
                }
                std::this_thread::sleep_for(5ms);
            }
            ip_failures += !sh("printf '" + del + "' | ip -n " + lab.h + " -batch -");
            churned.insert(churned.end(), names.begin(), names.end());
        }
    });
    std::thread stopper([&] {
        sender.join();
        churn.join();
        std::this_thread::sleep_for(300ms);
        src->stop();
    });
    Drain d;
    d.run(*src);
    stopper.join();
    auto st = src->stats();
    CHECK(sent_ok);
    CHECK(ip_failures == 0);
    CHECK(slow_attach == 0);
    REQUIRE(churned.size() == 100);
    std::size_t seen = 0, still_attached = 0, errors = 0;
    for (const auto& n : churned)
        if (auto s = find(st, n)) {
            ++seen;
            still_attached += s->attached;
            errors += !s->error.empty();
        }
    CHECK(seen == 100);
    CHECK(still_attached == 0);
    CHECK(errors == 0);
    auto a = find(st, lab.cali_a);
    REQUIRE(a);
    CHECK(a->attached);
    CHECK(a->frames == sent);
    CHECK(a->queue_drops == 0);
    CHECK(a->kernel_drops == 0);
    CHECK(d.out_of_order == 0);
}

TEST_CASE("live: a name that matches nothing is an error, a glob is not", "[live]") {
    LiveOptions o;
    const std::string name = "ptnone" + pid_s();
    o.interfaces = {name};
    auto bad = LiveSource::open(o);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains(name));

    o.interfaces = {name + "*"};
    auto good = LiveSource::open(o);
    REQUIRE(good);
    CHECK(good->stats().empty());
    good->stop();
    Frame f;
    CHECK(good->next(f, 1s) == LiveSource::Wait::stopped);
}

TEST_CASE("live: queue drops are counted, never silent", "[live]") {
    Lab lab;
    if (!lab.ok) {
        WARN("skipped: " << lab.why);
        return;
    }
    LiveOptions o;
    o.interfaces = {lab.cali_a};
    o.filter = "udp dst port 5555";
    o.queue_frames = 16;
    auto src = open_in(lab, o);
    // Nobody reads while the datagrams flow.
    REQUIRE(lab.send_udp(50, 5555, 1));
    std::this_thread::sleep_for(300ms);
    src->stop();
    Drain d;
    d.run(*src);
    auto st = src->stats();
    REQUIRE(st.size() == 1);
    INFO("frames " << st[0].frames << " queue_drops " << st[0].queue_drops);
    CHECK(st[0].queue_drops > 0);
    CHECK(st[0].frames == 16);
    CHECK(st[0].frames + st[0].queue_drops == 50);
    CHECK(st[0].kernel_drops == 0);
    CHECK(d.total == st[0].frames);
}

TEST_CASE("live: after --user, a new interface is an error on it, not a crash", "[live]") {
    Lab lab;
    if (!lab.ok) {
        WARN("skipped: " << lab.why);
        return;
    }
    const std::string late = "cali" + pid_s() + "z";
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Only async-signal-safe habits matter little here: this child runs its own capture.
        InNetns in(lab.h);
        LiveOptions o;
        o.interfaces = {"cali*"};
        auto src = LiveSource::open(o);
        if (!in.ok || !src || !drop_privileges("nobody")) ::_exit(10);
        char c = 1;
        if (::write(ready[1], &c, 1) != 1) ::_exit(11);
        for (int i = 0; i < 300; ++i) {
            if (auto s = find(src->stats(), late); s && !s->attached)
                ::_exit(s->error.find("CAP_NET_RAW") != std::string::npos ? 0 : 12);
            std::this_thread::sleep_for(10ms);
        }
        ::_exit(13);
    }
    ::close(ready[1]);
    char c = 0;
    CHECK(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
    CHECK(sh("ip -n " + lab.h + " link add " + late + " type veth peer name pz" + pid_s()));
    CHECK(sh("ip -n " + lab.h + " link set " + late + " up"));
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("live: the default set is cali*, the Calico tunnels and the default-route NIC",
          "[live]") {
    Lab lab;
    if (!lab.ok) {
        WARN("skipped: " << lab.why);
        return;
    }
    const std::string nic = "ens" + pid_s();
    REQUIRE(sh("ip -n " + lab.h + " link add " + nic + " type veth peer name pn" + pid_s()));
    REQUIRE(sh("ip -n " + lab.h + " link set " + nic + " up"));
    REQUIRE(sh("ip -n " + lab.h + " link set pn" + pid_s() + " up"));
    REQUIRE(sh("ip -n " + lab.h + " addr add 10.79.0.1/24 dev " + nic));
    REQUIRE(sh("ip -n " + lab.h + " route add default via 10.79.0.254"));
    REQUIRE(sh("ip -n " + lab.h + " link add vxlan.calico type vxlan id 4096 dstport 4789"));
    REQUIRE(sh("ip -n " + lab.h + " link set vxlan.calico up"));
    REQUIRE(sh("ip -n " + lab.h + " link add other0 type veth peer name po" + pid_s()));
    REQUIRE(sh("ip -n " + lab.h + " link set other0 up"));
    // A tun device is raw IP, as wireguard.cali is.
    REQUIRE(sh("ip -n " + lab.h + " tuntap add dev wireguard.cali mode tun"));
    REQUIRE(sh("ip -n " + lab.h + " link set wireguard.cali up"));
    auto src = open_in(lab, LiveOptions{});
    std::set<std::string> names;
    for (const auto& s : src->stats()) names.insert(s.name);
    CHECK(names ==
          std::set<std::string>{lab.cali_a, lab.cali_b, "vxlan.calico", "wireguard.cali", nic});
    auto wg = find(src->stats(), "wireguard.cali");
    REQUIRE(wg);
    CHECK(wg->linktype == linktype::raw);
    CHECK(find(src->stats(), "vxlan.calico")->linktype == linktype::ethernet);
    // A tunnel that appears later is attached too.
    REQUIRE(sh("ip -n " + lab.h + " link add tunl0 type veth peer name pt" + pid_s()));
    REQUIRE(sh("ip -n " + lab.h + " link set tunl0 up"));
    bool attached = false;
    for (int i = 0; i < 100 && !attached; ++i) {
        std::this_thread::sleep_for(10ms);
        auto s = find(src->stats(), "tunl0");
        attached = s && s->attached;
    }
    CHECK(attached);
}

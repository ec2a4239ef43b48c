// The userspace tunl0 (lab/ipip.hpp) between two nodes made of network namespaces. The [live] cases
// need root and skip with a reason otherwise.
#include "lab/ipip.hpp"

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lab/netns.hpp"
#include "helpers.hpp"

using namespace podtrace::lab;
using podtrace::test::require;
using namespace std::chrono_literals;

namespace {

const std::string kNodeA = "ptlt-ipip-a";
const std::string kNodeB = "ptlt-ipip-b";

void delete_nodes() {
    for (const auto& ns : {kNodeA, kNodeB})
        if (netns_exists(ns)) run({"ip", "netns", "del", ns});
}

// Deletes the nodes, left over from an aborted run, before and again after a test.
struct NodesGuard {
    NodesGuard() { delete_nodes(); }
    ~NodesGuard() { delete_nodes(); }
    NodesGuard(const NodesGuard&) = delete;
    NodesGuard& operator=(const NodesGuard&) = delete;
};

void setup_node(const std::string& ns, const std::string& ip, const std::string& tunnel_ip,
                const std::string& peer_block, const std::string& peer_ip) {
    require(must({"ip", "link", "set", "lo", "up"}, ns));
    require(must({"ip", "addr", "add", ip + "/24", "dev", "ens5"}, ns));
    require(must({"ip", "link", "set", "ens5", "mtu", "9001", "up"}, ns));
    require(must({"ip", "tuntap", "add", "dev", "tunl0", "mode", "tun"}, ns));
    // Keeps IPv6 router solicitations off the TUN, so `dropped` counts only real faults.
    require(must({"sysctl", "-qw", "net.ipv6.conf.tunl0.disable_ipv6=1"}, ns));
    require(must({"ip", "link", "set", "tunl0", "mtu", "8981", "up"}, ns));
    require(must({"ip", "addr", "add", tunnel_ip + "/32", "dev", "tunl0"}, ns));
    require(must({"sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                  "net.ipv4.conf.tunl0.rp_filter=0"},
                 ns));
    require(must({"ip", "route", "add", peer_block, "via", peer_ip, "dev", "tunl0", "proto", "bird",
                  "onlink"},
                 ns));
}

// k8s-w1 and k8s-w2 of the seed study, joined by a veth `ens5`, each with a tunl0 TUN and Calico's
// route to the other's block.
void make_nodes() {
    require(must({"ip", "netns", "add", kNodeA}));
    require(must({"ip", "netns", "add", kNodeB}));
    require(must({"ip", "-n", kNodeA, "link", "add", "ens5", "type", "veth", "peer", "name", "ens5",
                  "netns", kNodeB}));
    setup_node(kNodeA, "192.168.77.1", "172.16.158.0", "172.16.184.0/24", "192.168.77.2");
    setup_node(kNodeB, "192.168.77.2", "172.16.184.0", "172.16.158.0/24", "192.168.77.1");
}

// run_ipip on a node's tunl0, in a thread of its own inside the node's namespace.
class TunnelThread {
public:
    explicit TunnelThread(const std::string& ns)
        : thread_([this, ns] {
              if (auto in = NetnsScope::enter(ns); !in)
                  error_ = in.error().message;
              else if (auto stats = run_ipip("tunl0", stop_); !stats)
                  error_ = stats.error().message;
              else
                  stats_ = *stats;
          }) {}
    ~TunnelThread() { stop(); }
    TunnelThread(const TunnelThread&) = delete;
    TunnelThread& operator=(const TunnelThread&) = delete;

    IpipStats stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        return stats_;
    }
    const std::string& error() const { return error_; }  // once stopped

private:
    std::atomic<bool> stop_{false};
    IpipStats stats_;
    std::string error_;
    std::thread thread_;
};

// A TUN has carrier while a process holds it open: then run_ipip serves it.
void require_attached(TunnelThread& tunnel, const std::string& ns) {
    for (auto end = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(20ms))
        if (auto r = run({"cat", "/sys/class/net/tunl0/carrier"}, ns); r && r->out == "1\n")
            return;
    tunnel.stop();
    FAIL("run_ipip did not attach to tunl0 in " << ns << ": " << tunnel.error());
}

struct PcapClose {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using Pcap = std::unique_ptr<pcap_t, PcapClose>;

// IPIP packets on a node's ens5; the capture socket stays in the node's namespace.
Pcap capture_ipip(const std::string& ns) {
    auto in = require(NetnsScope::enter(ns));
    char err[PCAP_ERRBUF_SIZE] = "";
    Pcap p(pcap_create("ens5", err));
    INFO(err);
    REQUIRE(p);
    pcap_set_snaplen(p.get(), 256);
    pcap_set_immediate_mode(p.get(), 1);
    INFO(pcap_geterr(p.get()));
    REQUIRE(pcap_activate(p.get()) >= 0);
    bpf_program prog;
    REQUIRE(pcap_compile(p.get(), &prog, "ip proto 4", 1, PCAP_NETMASK_UNKNOWN) == 0);
    int rc = pcap_setfilter(p.get(), &prog);
    pcap_freecode(&prog);
    REQUIRE(rc == 0);
    REQUIRE(pcap_setnonblock(p.get(), 1, err) == 0);
    return p;
}

struct Sighting {
    std::string src, dst;  // outer addresses
    int outer_ttl, inner_ttl;
    bool outer_df, inner_df;
    int icmp_type;
};

std::string ip_text(std::uint32_t a) {
    char s[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a, s, sizeof s);
}

// Ethernet + outer IPv4 (protocol 4) + inner IPv4 + ICMP, read until `want` or a timeout.
std::vector<Sighting> read_ipip_icmp(pcap_t* p, std::size_t want) {
    constexpr std::size_t kEth = 14;
    std::vector<Sighting> seen;
    auto end = std::chrono::steady_clock::now() + 3s;
    while (seen.size() < want && std::chrono::steady_clock::now() < end) {
        pcap_pkthdr* h = nullptr;
        const u_char* d = nullptr;
        int rc = pcap_next_ex(p, &h, &d);
        if (rc < 0) break;
        if (rc == 0) {
            std::this_thread::sleep_for(10ms);
            continue;
        }
        iphdr outer, inner;
        if (h->caplen < kEth + 2 * sizeof(iphdr) + 1 || d[12] != 0x08 || d[13] != 0x00) continue;
        std::memcpy(&outer, d + kEth, sizeof outer);
        std::size_t inner_at = kEth + outer.ihl * 4u;
        if (outer.protocol != IPPROTO_IPIP || h->caplen < inner_at + sizeof inner + 1) continue;
        std::memcpy(&inner, d + inner_at, sizeof inner);
        std::size_t l4_at = inner_at + inner.ihl * 4u;
        if (inner.protocol != IPPROTO_ICMP || h->caplen <= l4_at) continue;
        auto df = [](const iphdr& ip) { return (ip.frag_off & htons(IP_DF)) != 0; };
        seen.push_back({ip_text(outer.saddr), ip_text(outer.daddr), outer.ttl, inner.ttl, df(outer),
                        df(inner), d[l4_at]});
    }
    return seen;
}

}  // namespace

TEST_CASE("run_ipip names a TUN device that does not exist") {
    std::atomic<bool> stop{true};
    auto r = run_ipip("ptlt-nosuch0", stop);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("ip tuntap add dev ptlt-nosuch0 mode tun"));
}

TEST_CASE("run_ipip carries pings between two nodes as tunl0 does", "[live]") {
    if (geteuid() != 0) {
        WARN("skipped: needs root to make network namespaces and TUN devices");
        return;
    }
    NodesGuard guard;
    make_nodes();
    TunnelThread a(kNodeA), b(kNodeB);
    require_attached(a, kNodeA);
    require_attached(b, kNodeB);
    Pcap wire = capture_ipip(kNodeA);

    auto ping = require(
        run({"ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", "-I", "172.16.158.0", "172.16.184.0"},
            kNodeA));
    INFO(ping.out << ping.err);
    CHECK(ping.status == 0);
    CHECK(ping.out.find(" 3 received") != std::string::npos);
    // A packet as large as tunl0's MTU fits the NIC's once encapsulated, DF and all.
    auto jumbo = require(run({"ping", "-n", "-c", "1", "-W", "2", "-s", "8953", "-M", "do", "-I",
                              "172.16.158.0", "172.16.184.0"},
                             kNodeA));
    INFO(jumbo.out << jumbo.err);
    CHECK(jumbo.status == 0);

    // On the wire: node to node, protocol 4, TTL and DF as the inner packet's.
    auto seen = read_ipip_icmp(wire.get(), 8);
    int requests = 0, replies = 0;
    for (const auto& s : seen) {
        INFO(s.src << " > " << s.dst << " icmp type " << s.icmp_type);
        CHECK(s.outer_ttl == s.inner_ttl);
        CHECK(s.outer_df == s.inner_df);
        if (s.src == "192.168.77.1" && s.dst == "192.168.77.2" && s.icmp_type == 8) ++requests;
        if (s.src == "192.168.77.2" && s.dst == "192.168.77.1" && s.icmp_type == 0) ++replies;
    }
    CHECK(requests == 4);
    CHECK(replies == 4);

    IpipStats sa = a.stop(), sb = b.stop();
    CHECK(a.error() == "");
    CHECK(b.error() == "");
    CHECK(sa.encapsulated == 4);
    CHECK(sa.decapsulated == 4);
    CHECK(sb.encapsulated == 4);
    CHECK(sb.decapsulated == 4);
    CHECK(sa.no_route + sb.no_route + sa.dropped + sb.dropped == 0);
}

TEST_CASE("run_ipip counts a packet without a gateway on tunl0 as no_route", "[live]") {
    if (geteuid() != 0) {
        WARN("skipped: needs root to make network namespaces and TUN devices");
        return;
    }
    NodesGuard guard;
    make_nodes();
    // The kernel sends 10.99.0.0/24 to tunl0, but no route there names the node to send it to.
    require(must({"ip", "route", "add", "10.99.0.0/24", "dev", "tunl0"}, kNodeA));
    TunnelThread a(kNodeA);
    require_attached(a, kNodeA);

    auto ping = require(
        run({"ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", "-I", "172.16.158.0", "10.99.0.1"},
            kNodeA));
    INFO(ping.out << ping.err);
    CHECK(ping.status != 0);

    IpipStats sa = a.stop();
    CHECK(a.error() == "");
    CHECK(sa.no_route == 2);
    CHECK(sa.encapsulated == 0);
}

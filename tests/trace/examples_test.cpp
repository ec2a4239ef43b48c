// The bundled examples (examples/make_examples.cpp writes them): k8s-w1's pod1 veth, tunl0
// and ens5 merged, correlated and classified.
#include <catch2/catch.hpp>

#include "decode/format.hpp"
#include "helpers.hpp"

using namespace podtrace;
using namespace podtrace::trace;

namespace {

const std::string kDir = std::string(PODTRACE_SOURCE_DIR) + "/examples/";

struct Examples {
    Names names;
    CorrelatorStats stats;
    std::vector<Path> paths;
    Examples() {
        // tunl0 before ens5: at the reply's equal timestamps the merge hands tunl0 over first.
        auto in = test::read_sightings({kDir + "k8s-w1_calice0906292e2.pcap",
                                        kDir + "k8s-w1_tunl0.pcap", kDir + "k8s-w1_ens5.pcap"},
                                       names);
        Correlator c;
        paths = test::correlate_all(in, c);
        stats = c.stats();
        std::ranges::sort(paths, {}, [](const Path& p) { return p.sightings.front().ts_ns; });
    }
    std::string iface(const Sighting& s) const { return names.name(s.at.interface); }
    std::vector<std::string> ifaces(const Path& p) const {
        std::vector<std::string> v;
        for (const auto& s : p.sightings) v.push_back(iface(s));
        return v;
    }
    // Paths whose first sighting is this ICMP echo type.
    std::vector<const Path*> echoes(std::uint8_t type) const {
        std::vector<const Path*> v;
        for (const auto& p : paths)
            if (p.sightings.front().proto == 1 && p.sightings.front().icmp_type == type)
                v.push_back(&p);
        return v;
    }
};

std::string addr_port(const Endpoint& e) {
    std::string s;
    decode::format_addr(e.addr, e.version, s);
    return s + ':' + std::to_string(e.port);
}

}  // namespace

TEST_CASE("examples: every frame is a sighting, every sighting in one path") {
    Examples ex;
    CHECK(ex.stats.sightings == 25);
    CHECK(ex.stats.no_fingerprint == 0);
    CHECK(ex.stats.partial == 0);
    CHECK(ex.stats.ambiguous == 0);
    CHECK(ex.stats.repeats == 0);
    CHECK(ex.stats.out_of_order == 0);
    // 4 pings x 3 points, SYN and SYN-ACK x 2; 11 frames seen once.
    CHECK(ex.stats.matched == 4 * 2 + 2);
    CHECK(ex.paths.size() == 15);
    std::size_t total = 0;
    for (const auto& p : ex.paths) total += p.sightings.size();
    CHECK(total == 25);
}

TEST_CASE("examples: pod1 -> pod3 echo requests cross by IPIP, cali -> tunl0 -> ens5") {
    Examples ex;
    const auto req = ex.echoes(8);
    REQUIRE(req.size() == 2);
    for (const Path* p : req) {
        CHECK(ex.ifaces(*p) == std::vector<std::string>{"calice0906292e2", "tunl0", "ens5"});
        CHECK(hop_latency_ns(*p, 1) == 12'000);
        CHECK(hop_latency_ns(*p, 2) == 6'000);
        const auto c = classify(*p);
        CHECK(c.kind == PathKind::cross_node);
        CHECK(c.encap == Encap::ipip);
        CHECK_FALSE(c.src_nat);
        CHECK_FALSE(c.dst_nat);
        CHECK(p->sightings[0].ttl == 64);
        CHECK(p->sightings[1].ttl == 63);
        CHECK(p->sightings[0].direction == probes::Direction::inbound);
        CHECK(p->sightings[2].encap == Encap::ipip);
        CHECK_FALSE(p->ambiguous);
    }
    CHECK(req[0]->sightings[0].ip_id == 0x3e81);
    CHECK(req[1]->sightings[0].ip_id == 0x3e82);
    const auto lines = render_path(*req[0], classify(*req[0]), ex.names);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] ==
          "cross-node IPIP k8s-w1 -> 192.168.10.102 3 hops: 172.16.158.1 > 172.16.184.4 ICMP "
          "echo request");
    CHECK(lines[1] ==
          "  k8s-w1/calice0906292e2  in   172.16.158.1 > 172.16.184.4 ICMP echo request ttl 64 "
          "id 16001 len 84");
    CHECK(lines[2] ==
          "  k8s-w1/tunl0            -    172.16.158.1 > 172.16.184.4 ICMP echo request ttl 63 "
          "id 16001 len 84  +12 us");
    CHECK(lines[3] ==
          "  k8s-w1/ens5             -    IPIP 192.168.10.101 > 192.168.10.102 | 172.16.158.1 > "
          "172.16.184.4 ICMP echo request ttl 63 id 16001 len 84  +6 us");
}

TEST_CASE("examples: the replies arrive ens5 -> tunl0 -> cali, NIC first at equal time") {
    Examples ex;
    const auto rep = ex.echoes(0);
    REQUIRE(rep.size() == 2);
    for (const Path* p : rep) {
        CHECK(ex.ifaces(*p) == std::vector<std::string>{"ens5", "tunl0", "calice0906292e2"});
        CHECK(hop_latency_ns(*p, 1) == 0);
        CHECK(hop_latency_ns(*p, 2) == 9'000);
        const auto c = classify(*p);
        CHECK(c.kind == PathKind::cross_node);
        CHECK(c.encap == Encap::ipip);
        CHECK(p->sightings[2].direction == probes::Direction::outbound);
        CHECK(p->sightings[2].ttl == 62);
    }
    const auto lines = render_path(*rep[0], classify(*rep[0]), ex.names);
    CHECK(lines[0] ==
          "cross-node IPIP 192.168.10.102 -> k8s-w1 3 hops: 172.16.184.4 > 172.16.158.1 "
          "ICMP echo reply");
}

TEST_CASE("examples: egress SYN is SNATed on ens5, its SYN-ACK de-NATed to the pod") {
    Examples ex;
    const Path* syn = nullptr;
    const Path* synack = nullptr;
    for (const auto& p : ex.paths) {
        const auto& s = p.sightings.front();
        if (s.proto == 6 && s.tcp_flags == 0x02 && s.dport == 443) syn = &p;
        if (s.proto == 6 && s.tcp_flags == 0x12) synack = &p;
    }
    REQUIRE(syn);
    REQUIRE(synack);
    CHECK(ex.ifaces(*syn) == std::vector<std::string>{"calice0906292e2", "ens5"});
    CHECK(hop_latency_ns(*syn, 1) == 15'000);
    const auto c = classify(*syn);
    CHECK(c.kind == PathKind::egress);
    CHECK_FALSE(c.reply);
    REQUIRE(c.src_nat);
    CHECK_FALSE(c.dst_nat);
    CHECK(addr_port(c.src_nat->from) == "172.16.158.1:40500");
    CHECK(addr_port(c.src_nat->to) == "192.168.10.101:61000");
    CHECK(c.src_nat->hop == 1);

    CHECK(ex.ifaces(*synack) == std::vector<std::string>{"ens5", "calice0906292e2"});
    CHECK(hop_latency_ns(*synack, 1) == 14'000);
    const auto r = classify(*synack);
    CHECK(r.kind == PathKind::egress);
    CHECK(r.reply);
    REQUIRE(r.dst_nat);
    CHECK_FALSE(r.src_nat);
    CHECK(addr_port(r.dst_nat->from) == "192.168.10.101:61000");
    CHECK(addr_port(r.dst_nat->to) == "172.16.158.1:40500");

    const auto lines = render_path(*syn, c, ex.names);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] ==
          "egress with SNAT 172.16.158.1:40500 -> 192.168.10.101:61000 on k8s-w1 2 hops: "
          "172.16.158.1.40500 > 203.0.113.10.443 TCP [S]");
    CHECK(lines[2] ==
          "  k8s-w1/ens5             -    192.168.10.101.61000 > 203.0.113.10.443 TCP [S] ttl 63 "
          "id 21760 len 40  +15 us  [src 172.16.158.1:40500 -> 192.168.10.101:61000]");
}

TEST_CASE("examples: the 9000-byte packet and its frag-needed are seen once, on the veth") {
    Examples ex;
    const Path* big = nullptr;
    const Path* need = nullptr;
    for (const auto& p : ex.paths) {
        const auto& s = p.sightings.front();
        if (s.length == 9000) big = &p;
        if (s.proto == 1 && s.icmp_type == 3 && s.icmp_code == 4) need = &p;
    }
    REQUIRE(big);
    REQUIRE(need);
    CHECK(big->sightings.size() == 1);
    CHECK(need->sightings.size() == 1);
    CHECK(ex.iface(big->sightings[0]) == "calice0906292e2");
    CHECK(ex.iface(need->sightings[0]) == "calice0906292e2");
    CHECK(big->sightings[0].direction == probes::Direction::inbound);    // from pod1
    CHECK(need->sightings[0].direction == probes::Direction::outbound);  // to pod1
    CHECK(big->sightings[0].fingerprint != need->sightings[0].fingerprint);
    CHECK(classify(*big).kind == PathKind::unknown);
    CHECK(classify(*need).kind == PathKind::unknown);
    const auto lines = render_path(*need, classify(*need), ex.names);
    CHECK(lines[0] == "unknown k8s-w1 1 hop: 192.168.10.101 > 172.16.158.1 ICMP frag-needed");
}

TEST_CASE("examples: VXLAN and WireGuard on the NIC are cross-node by their headers") {
    Examples ex;
    int vxlan = 0, wireguard = 0;
    for (const auto& p : ex.paths) {
        const auto c = classify(p);
        if (c.encap == Encap::vxlan) {
            ++vxlan;
            CHECK(c.kind == PathKind::cross_node);
            CHECK(c.vni == 4096);
        }
        if (c.encap == Encap::wireguard) {
            ++wireguard;
            CHECK(c.kind == PathKind::cross_node);
        }
    }
    CHECK(vxlan == 1);
    CHECK(wireguard == 4);
}

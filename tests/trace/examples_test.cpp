// The bundled examples (examples/make_examples.cpp writes them), one node's capture points at a
// time (the nodes' clocks differ): merged, correlated and classified.
#include <catch2/catch.hpp>

#include "decode/format.hpp"
#include "helpers.hpp"
#include "trace/path_view.hpp"

using namespace podtrace;
using namespace podtrace::trace;

namespace {

const std::string kDir = std::string(PODTRACE_SOURCE_DIR) + "/examples/crafted/";

struct Examples {
    Names names;
    CorrelatorStats stats;
    std::vector<Path> paths;
    explicit Examples(const std::vector<std::string>& files) {
        std::vector<std::string> in;
        for (const auto& f : files) in.push_back(kDir + f);
        Correlator c;
        paths = test::correlate_all(test::read_sightings(in, names), c);
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
        return select([&](const Sighting& s) { return s.proto == 1 && s.icmp_type == type; });
    }
    template <typename Pred>
    std::vector<const Path*> select(Pred pred) const {
        std::vector<const Path*> v;
        for (const auto& p : paths)
            if (pred(p.sightings.front())) v.push_back(&p);
        return v;
    }
};

// k8s-w1 in the IPIP set; tunl0 before ens5: at the replies' equal timestamps the merge hands tunl0
// over first, so the correlator, not the merge, has to put the NIC first.
const std::vector<std::string> kW1 = {"ipip/k8s-w1_calice0906292e2.pcap", "ipip/k8s-w1_calibd2348b4f67.pcap",
                                      "ipip/k8s-w1_tunl0.pcap", "ipip/k8s-w1_ens5.pcap"};

std::string addr_port(const Endpoint& e) {
    std::string s;
    decode::format_addr(e.addr, e.version, s);
    return s + ':' + std::to_string(e.port);
}

}  // namespace

TEST_CASE(
    "examples: every frame on k8s-w1 is a sighting, every sighting in "
    "one path") {
    Examples ex(kW1);
    CHECK(ex.stats.sightings == 45);
    CHECK(ex.stats.no_fingerprint == 0);
    CHECK(ex.stats.partial == 0);
    CHECK(ex.stats.ambiguous == 0);
    CHECK(ex.stats.repeats == 0);
    CHECK(ex.stats.out_of_order == 0);
    // 2 ARP seen once; 6 pings and 3 Service segments at 3 points; 5 same-node and 3 egress
    // segments at 2.
    CHECK(ex.stats.matched == 6 * 2 + 3 * 2 + 5 + 3);
    CHECK(ex.paths.size() == 2 + 6 + 3 + 5 + 3);
    std::size_t total = 0;
    for (const auto& p : ex.paths) total += p.sightings.size();
    CHECK(total == 45);
}

TEST_CASE(
    "examples: pod1 -> pod3 echo requests cross by IPIP, cali -> tunl0 "
    "-> ens5") {
    Examples ex(kW1);
    const auto req = ex.echoes(8);
    REQUIRE(req.size() == 3);
    for (const Path* p : req) {
        CHECK(ex.ifaces(*p) == std::vector<std::string>{"calice0906292e2", "tunl0", "ens5"});
        CHECK(hop_latency_ns(*p, 1) == 10'000);
        CHECK(hop_latency_ns(*p, 2) == 5'000);
        const auto c = classify(*p);
        CHECK(c.kind == PathKind::cross_node);
        CHECK(c.encap == Encap::ipip);
        CHECK_FALSE(c.src_nat);
        CHECK_FALSE(c.dst_nat);
        CHECK(p->sightings[0].ttl == 64);
        CHECK(p->sightings[1].ttl == 63);
        CHECK(p->sightings[0].direction == core::Direction::inbound);
        CHECK(p->sightings[2].encap == Encap::ipip);
        CHECK_FALSE(p->ambiguous);
    }
    CHECK(req[0]->sightings[0].ip_id == 0x3e81);
    CHECK(req[2]->sightings[0].ip_id == 0x3e83);
    const auto lines = path_lines(path_view(*req[0], classify(*req[0]), ex.names));
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] ==
          "cross-node IPIP k8s-w1 -> 192.168.10.102 3 hops: "
          "172.16.158.1 > 172.16.184.4 ICMP "
          "echo request");
    CHECK(lines[1] ==
          "  k8s-w1/calice0906292e2  in   172.16.158.1 > "
          "172.16.184.4 ICMP echo request ttl 64 "
          "id 16001 len 84");
    CHECK(lines[2] ==
          "  k8s-w1/tunl0            -    172.16.158.1 > "
          "172.16.184.4 ICMP echo request ttl 63 "
          "id 16001 len 84  +10 us");
    CHECK(lines[3] ==
          "  k8s-w1/ens5             -    IPIP 192.168.10.101 > 192.168.10.102 | "
          "172.16.158.1 > "
          "172.16.184.4 ICMP echo request ttl 63 id 16001 len 84  +5 us");
}

TEST_CASE(
    "examples: the replies arrive ens5 -> tunl0 -> cali, NIC first at "
    "equal time") {
    Examples ex(kW1);
    const auto rep = ex.echoes(0);
    REQUIRE(rep.size() == 3);
    for (const Path* p : rep) {
        CHECK(ex.ifaces(*p) == std::vector<std::string>{"ens5", "tunl0", "calice0906292e2"});
        CHECK(hop_latency_ns(*p, 1) == 0);
        CHECK(hop_latency_ns(*p, 2) == 9'000);
        const auto c = classify(*p);
        CHECK(c.kind == PathKind::cross_node);
        CHECK(c.encap == Encap::ipip);
        CHECK(p->sightings[2].direction == core::Direction::outbound);
        CHECK(p->sightings[2].ttl == 62);
    }
    const auto lines = path_lines(path_view(*rep[0], classify(*rep[0]), ex.names));
    CHECK(lines[0] ==
          "cross-node IPIP 192.168.10.102 -> k8s-w1 3 hops: "
          "172.16.184.4 > 172.16.158.1 "
          "ICMP echo reply");
}

TEST_CASE(
    "examples: pod1 -> pod2 TCP stays on k8s-w1, one routing hop veth to "
    "veth") {
    Examples ex(kW1);
    const auto tcp = ex.select(
        [](const Sighting& s) { return s.proto == 6 && (s.sport == 40100 || s.dport == 40100); });
    REQUIRE(tcp.size() == 5);
    const std::vector<std::uint8_t> flags{0x02, 0x12, 0x10, 0x18, 0x10};
    for (std::size_t i = 0; i < tcp.size(); ++i) {
        const Path& p = *tcp[i];
        const bool from_pod1 = p.sightings.front().sport == 40100;
        CHECK(ex.ifaces(p) ==
              (from_pod1 ? std::vector<std::string>{"calice0906292e2", "calibd2348b4f67"}
                         : std::vector<std::string>{"calibd2348b4f67", "calice0906292e2"}));
        CHECK(p.sightings[0].tcp_flags == flags[i]);
        CHECK(p.sightings[0].ttl == 64);
        CHECK(p.sightings[1].ttl == 63);
        CHECK(hop_latency_ns(p, 1) == 8'000);
        CHECK(classify(p).kind == PathKind::same_node);
    }
    CHECK(tcp[3]->sightings[0].length == 140);  // the 100-byte data segment
}

TEST_CASE(
    "examples: pod2 -> Service is DNATed on k8s-w1 before tunl0, its "
    "reply un-DNATed") {
    Examples ex(kW1);
    const auto svc = ex.select(
        [](const Sighting& s) { return s.proto == 6 && (s.sport == 41000 || s.dport == 41000); });
    REQUIRE(svc.size() == 3);
    const Path& syn = *svc[0];
    CHECK(ex.ifaces(syn) == std::vector<std::string>{"calibd2348b4f67", "tunl0", "ens5"});
    const auto c = classify(syn);
    CHECK(c.kind == PathKind::service);
    CHECK_FALSE(c.reply);
    CHECK_FALSE(c.src_nat);
    REQUIRE(c.dst_nat);
    CHECK(addr_port(c.dst_nat->from) == "10.200.1.10:80");
    CHECK(addr_port(c.dst_nat->to) == "172.16.184.4:8080");
    CHECK(c.dst_nat->hop == 1);

    const Path& synack = *svc[1];
    CHECK(synack.sightings[0].tcp_flags == 0x12);
    CHECK(ex.ifaces(synack) == std::vector<std::string>{"ens5", "tunl0", "calibd2348b4f67"});
    const auto r = classify(synack);
    CHECK(r.kind == PathKind::service);
    CHECK(r.reply);
    REQUIRE(r.src_nat);
    CHECK(addr_port(r.src_nat->from) == "172.16.184.4:8080");
    CHECK(addr_port(r.src_nat->to) == "10.200.1.10:80");
    CHECK(r.src_nat->hop == 2);

    CHECK(ex.ifaces(*svc[2]) == ex.ifaces(syn));  // the ACK, DNATed again
}

TEST_CASE("examples: egress SYN is SNATed on ens5, its SYN-ACK de-NATed to the pod") {
    Examples ex(kW1);
    const auto web = ex.select(
        [](const Sighting& s) { return s.proto == 6 && (s.sport == 443 || s.dport == 443); });
    REQUIRE(web.size() == 3);
    const Path& syn = *web[0];
    const Path& synack = *web[1];
    CHECK(ex.ifaces(syn) == std::vector<std::string>{"calice0906292e2", "ens5"});
    CHECK(hop_latency_ns(syn, 1) == 15'000);
    const auto c = classify(syn);
    CHECK(c.kind == PathKind::egress);
    CHECK_FALSE(c.reply);
    REQUIRE(c.src_nat);
    CHECK_FALSE(c.dst_nat);
    CHECK(addr_port(c.src_nat->from) == "172.16.158.1:40500");
    CHECK(addr_port(c.src_nat->to) == "192.168.10.101:61000");
    CHECK(c.src_nat->hop == 1);

    CHECK(ex.ifaces(synack) == std::vector<std::string>{"ens5", "calice0906292e2"});
    CHECK(hop_latency_ns(synack, 1) == 14'000);
    const auto r = classify(synack);
    CHECK(r.kind == PathKind::egress);
    CHECK(r.reply);
    REQUIRE(r.dst_nat);
    CHECK_FALSE(r.src_nat);
    CHECK(addr_port(r.dst_nat->from) == "192.168.10.101:61000");
    CHECK(addr_port(r.dst_nat->to) == "172.16.158.1:40500");

    const auto lines = path_lines(path_view(syn, c, ex.names));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] ==
          "egress with SNAT 172.16.158.1:40500 -> "
          "192.168.10.101:61000 on k8s-w1 2 hops: "
          "172.16.158.1.40500 > 203.0.113.10.443 TCP [S]");
    CHECK(lines[2] ==
          "  k8s-w1/ens5             -    192.168.10.101.61000 > "
          "203.0.113.10.443 TCP [S] ttl 63 "
          "id 16897 len 40  +15 us  [src 172.16.158.1:40500 -> "
          "192.168.10.101:61000]");
}

TEST_CASE(
    "examples: k8s-w2 receives IPIP ens5 -> tunl0 -> pod3's veth, "
    "Service already DNATed") {
    Examples ex({"ipip/k8s-w2_cali49778cadcf1.pcap", "ipip/k8s-w2_tunl0.pcap", "ipip/k8s-w2_ens5.pcap"});
    CHECK(ex.stats.sightings == 27);
    CHECK(ex.paths.size() == 9);
    const auto req = ex.echoes(8);
    REQUIRE(req.size() == 3);
    for (const Path* p : req) {
        CHECK(ex.ifaces(*p) == std::vector<std::string>{"ens5", "tunl0", "cali49778cadcf1"});
        CHECK(hop_latency_ns(*p, 1) == 0);
        CHECK(hop_latency_ns(*p, 2) == 9'000);
        CHECK(p->sightings[2].ttl == 62);
    }
    // k8s-w2's clock runs 2 s ahead of k8s-w1's: the first request left pod1 at .002040.
    CHECK(req[0]->sightings[0].ts_ns == 1'798'000'002'002'205'000);
    const auto syn =
        ex.select([](const Sighting& s) { return s.proto == 6 && s.tcp_flags == 0x02; });
    REQUIRE(syn.size() == 1);
    const Sighting& at_pod3 = syn[0]->sightings.back();
    CHECK(ex.iface(at_pod3) == "cali49778cadcf1");
    CHECK(at_pod3.dport == 8080);
    CHECK_FALSE(classify(*syn[0]).dst_nat);
}

TEST_CASE(
    "examples: VXLAN carries the inner frame in VNI 4096, vxlan.calico "
    "-> ens5") {
    Examples ex({"vxlan/k8s-w1_calice0906292e2.pcap", "vxlan/k8s-w1_vxlan.calico.pcap",
                 "vxlan/k8s-w1_ens5.pcap"});
    CHECK(ex.stats.sightings == 21);
    CHECK(ex.stats.ambiguous == 0);
    REQUIRE(ex.paths.size() == 7);  // a ping and its reply, 3-way handshake, data, its ACK
    for (const auto& p : ex.paths) {
        const bool out = p.sightings.front().src[2] == 158;  // from pod1's block
        CHECK(ex.ifaces(p) ==
              (out ? std::vector<std::string>{"calice0906292e2", "vxlan.calico", "ens5"}
                   : std::vector<std::string>{"ens5", "vxlan.calico", "calice0906292e2"}));
        const auto c = classify(p);
        CHECK(c.kind == PathKind::cross_node);
        CHECK(c.encap == Encap::vxlan);
        CHECK(c.vni == 4096);
    }
    const Sighting& nic = ex.paths[0].sightings[2];
    CHECK(nic.tunnel_id == 4096);
    CHECK(hop_latency_ns(ex.paths[0], 1) == 10'000);
}

TEST_CASE("examples: WireGuard on the NIC: handshake, then counters per direction") {
    Examples ex({"wireguard/k8s-w1_ens5.pcap"});
    std::vector<std::uint64_t> to_w2, to_w1;
    std::vector<std::uint32_t> sizes;
    int handshakes = 0;
    for (const auto& p : ex.paths) {
        REQUIRE(p.sightings.size() == 1);
        const Sighting& s = p.sightings[0];
        CHECK(s.encap == Encap::wireguard);
        CHECK(classify(p).kind == PathKind::cross_node);
        if (s.wg_type != 4) {
            ++handshakes;
            continue;
        }
        (s.tunnel_id == 0x11223344 ? to_w2 : to_w1).push_back(s.wg_counter);
    }
    CHECK(handshakes == 2);
    CHECK(to_w2 == std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5});
    CHECK(to_w1 == std::vector<std::uint64_t>{0, 1, 2, 3});
}

TEST_CASE(
    "examples: the 9000-byte packet and its frag-needed are seen once, "
    "on the veth") {
    Examples ex({"faults/k8s-w1.pcapng"});
    const auto big = ex.select([](const Sighting& s) { return s.length == 9000; });
    const auto need = ex.select(
        [](const Sighting& s) { return s.proto == 1 && s.icmp_type == 3 && s.icmp_code == 4; });
    REQUIRE(big.size() == 1);
    REQUIRE(need.size() == 1);
    CHECK(big[0]->sightings.size() == 1);
    CHECK(need[0]->sightings.size() == 1);
    CHECK(ex.iface(big[0]->sightings[0]) == "calice0906292e2");
    CHECK(ex.iface(need[0]->sightings[0]) == "calice0906292e2");
    CHECK(big[0]->sightings[0].direction == core::Direction::inbound);    // from pod1
    CHECK(need[0]->sightings[0].direction == core::Direction::outbound);  // to pod1
    CHECK(need[0]->sightings[0].icmp_mtu == 8981);
    CHECK(big[0]->sightings[0].fingerprint != need[0]->sightings[0].fingerprint);
    const auto lines = path_lines(path_view(*need[0], classify(*need[0]), ex.names));
    CHECK(lines[0] == "unknown k8s-w1 1 hop: 192.168.10.101 > 172.16.158.1 ICMP frag-needed");
}

TEST_CASE(
    "examples: the dropped SYN is tried 3 times 1 s apart, each leaving "
    "k8s-w1") {
    Examples ex({"faults/k8s-w1.pcapng"});
    const auto syn = ex.select([](const Sighting& s) { return s.proto == 6 && s.dport == 9090; });
    REQUIRE(syn.size() == 3);
    for (std::size_t i = 0; i < syn.size(); ++i) {
        CHECK(ex.ifaces(*syn[i]) == std::vector<std::string>{"calice0906292e2", "tunl0", "ens5"});
        CHECK(syn[i]->sightings[0].tcp_seq == 9'000'000);
        if (i) CHECK(syn[i]->sightings[0].ts_ns - syn[i - 1]->sightings[0].ts_ns == 1'000'000'000);
    }
}

#include <catch2/catch.hpp>

#include <algorithm>

#include "crafted.hpp"
#include "trace/diagnose.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kUs = 1'000;
constexpr std::int64_t kSecond = 1'000'000'000;

// Without an inventory, pods are named by the veth the packets or the facts show them behind.
const std::string kPod1 = "pod behind calice0906292e2 on k8s-w1 (172.16.158.1)";
const std::string kPod2 = "pod behind calibd2348b4f67 on k8s-w1 (172.16.158.2)";
const std::string kPod3 = "pod behind calie4c8b6a1f3c on k8s-w2 (172.16.184.4)";

IpAddr at(const char* text) {
    return *IpAddr::parse(text);
}

Cidr cidr(const char* text) {
    return *Cidr::parse(text);
}

// Sightings fed to the topology as the reader does, then correlated, classified and tabled.
struct Scene {
    Names names;
    Topology topo{names};
    std::vector<Sighting> seen;

    void see(const Sighting& s) {
        topo.saw(s);
        seen.push_back(s);
    }
    std::uint16_t node(const char* name) { return names.intern(name); }

    FlowTable table() {
        std::ranges::stable_sort(seen, {}, &Sighting::ts_ns);
        Correlator c;
        for (const Sighting& s : seen) c.add(s);
        c.finish();
        FlowTable t;
        for (const Path& p : c.drain()) t.add(p, classify(p));
        return t;
    }
};

// pod1 (k8s-w1) -> pod3 (k8s-w2) over IPIP, an ACK segment (no handshake: no "no reply"), seen
// up to k8s-w2's tunl0; `delivered` adds pod3's veth.
void ipip_pod1_to_pod3(Scene& sc, bool delivered) {
    auto from_pod = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
                    tcp(40000, 80, 100, Tins::TCP::ACK);
    auto tunnel = ip("172.16.158.1", "172.16.184.4", 63) / tcp(40000, 80, 100, Tins::TCP::ACK);
    auto wire = Tins::EthernetII(kPeerMac, kNicMac) /
                ip("192.168.10.101", "192.168.10.102", 64, 0x9001) /
                (ip("172.16.158.1", "172.16.184.4", 63) / tcp(40000, 80, 100, Tins::TCP::ACK));
    auto to_pod = Tins::EthernetII(kPodMac, kCali) / ip("172.16.158.1", "172.16.184.4", 62) /
                  tcp(40000, 80, 100, Tins::TCP::ACK);
    Names& n = sc.names;
    sc.see(sight(n, "k8s-w1", "calice0906292e2", 0, from_pod));
    sc.see(sight(n, "k8s-w1", "tunl0", 20 * kUs, tunnel, core::linktype::raw));
    sc.see(sight(n, "k8s-w1", "ens5", 30 * kUs, wire));
    sc.see(sight(n, "k8s-w2", "ens5", 300 * kUs, wire));
    sc.see(sight(n, "k8s-w2", "tunl0", 300 * kUs, tunnel, core::linktype::raw));
    if (delivered) sc.see(sight(n, "k8s-w2", "calie4c8b6a1f3c", 310 * kUs, to_pod));
}

// k8s-w2 knows pod3 sits behind calie4c8b6a1f3c.
NodeFacts w2_facts() {
    NodeFacts f;
    f.nic = FactsLink{"ens5", 9001, {cidr("192.168.10.102/24")}};
    f.tunnels = {FactsLink{"tunl0", 8981, {cidr("172.16.184.0/32")}}};
    f.tunnel_types = {"ipip"};
    f.pods = {{"calie4c8b6a1f3c", {at("172.16.184.4")}}};
    f.routes = {NodeRoute{cidr("172.16.184.0/24"), "", "blackhole",
                          "blackhole 172.16.184.0/24 proto bird"}};
    return f;
}

}  // namespace

TEST_CASE("diagnose: kind names", "[diagnose]") {
    CHECK(std::string(diagnosis_kind_name(DiagnosisKind::dropped)) == "dropped");
    CHECK(std::string(diagnosis_kind_name(DiagnosisKind::no_reply)) == "no-reply");
    CHECK(std::string(diagnosis_kind_name(DiagnosisKind::egress_without_snat)) ==
          "egress-without-snat");
}

TEST_CASE("diagnose: seen on the tunnel, never on the capturing pod veth = dropped", "[diagnose]") {
    Scene sc;
    ipip_pod1_to_pod3(sc, false);
    sc.topo.set_facts(sc.node("k8s-w2"), w2_facts());
    sc.topo.cover(make_point(sc.names, "k8s-w2", "calie4c8b6a1f3c"), 0, kSecond);
    const auto table = sc.table();
    const auto found = diagnose(table, sc.topo);
    REQUIRE(found.size() == 1);
    const Diagnosis& d = found[0];
    CHECK(d.kind == DiagnosisKind::dropped);
    CHECK(d.flow == 1);
    CHECK(sc.names.name(d.node) == "k8s-w2");
    CHECK(d.where == "on k8s-w2 after tunl0, before calie4c8b6a1f3c");
    CHECK(d.message == kPod1 + " -> " + kPod3 +
                           " TCP: 1 packet seen on k8s-w2/tunl0, "
                           "never on k8s-w2/calie4c8b6a1f3c (capturing then)");
    // pod3 is local to k8s-w2: its /32 beats the own-block blackhole, so that is no reason.
    CHECK(d.why == "");
    CHECK(d.count == 1);
    CHECK(d.first_ns == 300 * kUs);
    // The points it names, as ids: the TUI marks the hop a packet stopped at by them.
    CHECK(d.at == make_point(sc.names, "k8s-w2", "tunl0"));
    CHECK(d.missed == std::vector<PointId>{make_point(sc.names, "k8s-w2", "calie4c8b6a1f3c")});
}

TEST_CASE("diagnose: the next point not capturing then is no drop", "[diagnose]") {
    Scene sc;
    ipip_pod1_to_pod3(sc, false);
    sc.topo.set_facts(sc.node("k8s-w2"), w2_facts());
    SECTION("never capturing") {}
    SECTION("capturing, but only before the packet") {
        sc.topo.cover(make_point(sc.names, "k8s-w2", "calie4c8b6a1f3c"), 0, 100 * kUs);
    }
    SECTION("capturing, but stopped 50 ms after it: too soon to call the hop missing") {
        sc.topo.cover(make_point(sc.names, "k8s-w2", "calie4c8b6a1f3c"), 0, 50'000 * kUs);
    }
    const auto table = sc.table();
    CHECK(diagnose(table, sc.topo).empty());
}

TEST_CASE("diagnose: delivered is no drop; pod IPs in clear only matter when expected",
          "[diagnose]") {
    Scene sc;
    ipip_pod1_to_pod3(sc, true);
    const auto table = sc.table();
    CHECK(diagnose(table, sc.topo).empty());
    const auto found = diagnose(table, sc.topo, {.expect_encrypted = true});
    REQUIRE(found.size() == 1);
    const Diagnosis& d = found[0];
    CHECK(d.kind == DiagnosisKind::unencrypted);
    CHECK(sc.names.name(d.node) == "k8s-w1");
    CHECK(d.where == "on k8s-w1/ens5 (IPIP)");
    CHECK(d.message == kPod1 + " -> " + kPod3 +
                           " TCP: 1 packet with pod IPs in clear on k8s-w1/ens5 "
                           "(IPIP)");
    CHECK(d.why == "");
    CHECK(d.count == 1);
    CHECK(d.at == make_point(sc.names, "k8s-w1", "ens5"));
}

TEST_CASE("diagnose: a drop on the sending node cites the blackhole route", "[diagnose]") {
    Scene sc;
    auto from_pod = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
                    tcp(40000, 80, 100, Tins::TCP::ACK);
    sc.see(sight(sc.names, "k8s-w1", "calice0906292e2", 5 * kUs, from_pod));
    sc.topo.cover(make_point(sc.names, "k8s-w1", "tunl0"), 0, kSecond);
    sc.topo.cover(make_point(sc.names, "k8s-w1", "ens5"), 0, kSecond);
    sc.topo.set_facts(sc.node("k8s-w2"), w2_facts());
    NodeFacts w1;
    w1.routes = {NodeRoute{cidr("172.16.158.0/24"), "", "blackhole",
                           "blackhole 172.16.158.0/24 proto bird"}};
    SECTION("a stale blackhole for the remote block") {
        w1.routes.push_back(NodeRoute{cidr("172.16.184.0/24"), "", "blackhole",
                                      "blackhole 172.16.184.0/24 proto bird"});
        sc.topo.set_facts(sc.node("k8s-w1"), w1);
        const auto table = sc.table();
        const auto found = diagnose(table, sc.topo);
        REQUIRE(found.size() == 1);
        CHECK(found[0].kind == DiagnosisKind::dropped);
        CHECK(found[0].where == "on k8s-w1 after calice0906292e2, before tunl0");
        CHECK(found[0].message ==
              kPod1 + " -> " + kPod3 +
                  " TCP: 1 packet seen on "
                  "k8s-w1/calice0906292e2, never on k8s-w1/tunl0 or k8s-w1/ens5 (capturing then)");
        CHECK(found[0].why == "route: blackhole 172.16.184.0/24 proto bird");
    }
    SECTION("no route at all to the remote block") {
        sc.topo.set_facts(sc.node("k8s-w1"), w1);
        const auto table = sc.table();
        const auto found = diagnose(table, sc.topo);
        REQUIRE(found.size() == 1);
        CHECK(found[0].why == "no route to 172.16.184.4 in k8s-w1's facts");
    }
}

TEST_CASE("diagnose: a SYN never answered is no reply, where the requests got to", "[diagnose]") {
    Scene sc;
    for (std::int64_t t : {0 * kSecond, 3 * kSecond}) {
        auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
                   tcp(40000, 8080, 5);
        auto in = Tins::EthernetII(kPodMac, kCali) / ip("172.16.158.1", "172.16.158.2", 63) /
                  tcp(40000, 8080, 5);
        sc.see(sight(sc.names, "k8s-w1", "calice0906292e2", t, out));
        sc.see(sight(sc.names, "k8s-w1", "calibd2348b4f67", t + 7 * kUs, in));
    }
    const auto table = sc.table();
    const auto found = diagnose(table, sc.topo);
    REQUIRE(found.size() == 1);
    const Diagnosis& d = found[0];
    CHECK(d.kind == DiagnosisKind::no_reply);
    CHECK(sc.names.name(d.node) == "k8s-w1");
    CHECK(d.where == "last seen on k8s-w1/calibd2348b4f67");
    CHECK(d.message == kPod1 + " -> " + kPod2 + " TCP: 2 packets, SYN never answered by a SYN-ACK");
    CHECK(d.count == 2);
    CHECK(d.first_ns == 0);
    CHECK(d.at == make_point(sc.names, "k8s-w1", "calibd2348b4f67"));
    CHECK(d.missed.empty());
}

TEST_CASE("diagnose: frag-needed linked to its DF packet is an MTU finding", "[diagnose]") {
    Scene sc;
    auto big = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64, 77) /
               tcp(40000, 80, 100, Tins::TCP::ACK | Tins::TCP::PSH) /
               Tins::RawPDU(std::string(9001 - 40, 'x'));
    Tins::IP quoted_ip("172.16.184.4", "172.16.158.1");
    quoted_ip.id(77);
    quoted_ip.ttl(64);
    quoted_ip.flags(Tins::IP::DONT_FRAGMENT);
    auto quoted = quoted_ip / tcp(40000, 80, 100, Tins::TCP::ACK | Tins::TCP::PSH) /
                  Tins::RawPDU(std::string(9001 - 40, 'x'));
    auto qb = bytes_of(quoted);
    qb.resize(28);
    Tins::ICMP icmp(Tins::ICMP::DEST_UNREACHABLE);
    icmp.code(4);
    icmp.mtu(8981);
    auto err = Tins::EthernetII(kPodMac, kCali) / Tins::IP("172.16.158.1", "192.168.10.101") /
               icmp / Tins::RawPDU(qb);
    sc.see(sight(sc.names, "k8s-w1", "calice0906292e2", 0, big));
    sc.see(sight(sc.names, "k8s-w1", "calice0906292e2", 15 * kUs, err));
    NodeFacts w1;
    // A /32: Cidr clears host bits, so "192.168.10.101/24" would not name the address itself.
    w1.nic = FactsLink{"ens5", 9001, {cidr("192.168.10.101/32")}};
    w1.tunnels = {FactsLink{"tunl0", 8981, {cidr("172.16.158.0/32")}}};
    w1.tunnel_types = {"ipip"};
    sc.topo.set_facts(sc.node("k8s-w1"), w1);
    const auto table = sc.table();
    REQUIRE(table.flows().size() == 1);
    const auto found = diagnose(table, sc.topo);
    REQUIRE(found.size() == 1);
    const Diagnosis& d = found[0];
    CHECK(d.kind == DiagnosisKind::mtu);
    CHECK(sc.names.name(d.node) == "k8s-w1");
    CHECK(d.where == "on k8s-w1, next-hop MTU 8981 (IPIP overhead 20)");
    CHECK(d.message ==
          kPod1 +
              " -> 172.16.184.4 TCP: ICMP frag-needed from k8s-w1 (node 192.168.10.101) (mtu 8981) "
              "for a 9001-byte DF packet (IPIP overhead 20)");
    CHECK(d.why == "DF set, 9001 > 8981");
    CHECK(d.count == 1);
    CHECK(d.first_ns == 15 * kUs);
}

TEST_CASE("diagnose: a DF packet stopped before the tunnel its route takes is too big for it",
          "[diagnose]") {
    Scene sc;
    auto from_pod = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
                    tcp(40000, 80, 100, Tins::TCP::ACK | Tins::TCP::PSH) /
                    Tins::RawPDU(std::string(8961, 'x'));
    sc.see(sight(sc.names, "k8s-w1", "calice0906292e2", 5 * kUs, from_pod));
    sc.topo.cover(make_point(sc.names, "k8s-w1", "tunl0"), 0, kSecond);
    sc.topo.cover(make_point(sc.names, "k8s-w1", "ens5"), 0, kSecond);
    NodeFacts w1;
    w1.nic = FactsLink{"ens5", 9001, {cidr("192.168.10.101/24")}};
    w1.tunnels = {FactsLink{"tunl0", 8981, {}}};
    w1.tunnel_types = {"ipip"};
    w1.routes = {NodeRoute{cidr("172.16.184.0/24"), "tunl0", "ipip",
                           "172.16.184.0/24 via 192.168.10.102 dev tunl0 proto bird onlink"}};
    sc.topo.set_facts(sc.node("k8s-w1"), w1);
    const auto table = sc.table();
    const auto found = diagnose(table, sc.topo);
    REQUIRE(found.size() == 1);
    CHECK(found[0].kind == DiagnosisKind::dropped);
    CHECK(found[0].where == "on k8s-w1 after calice0906292e2, before tunl0");
    // Not the NIC's 9001, which the packet fits: the tunnel the route sends it into.
    CHECK(found[0].why == "DF set, 9001 > tunl0 MTU 8981");
}

TEST_CASE("diagnose: DF packets larger than the tunnel they cross", "[diagnose]") {
    Scene sc;
    auto from_pod = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
                    tcp(40000, 80, 100, Tins::TCP::ACK | Tins::TCP::PSH) /
                    Tins::RawPDU(std::string(8961, 'x'));
    auto tunnel = ip("172.16.158.1", "172.16.184.4", 63) /
                  tcp(40000, 80, 100, Tins::TCP::ACK | Tins::TCP::PSH) /
                  Tins::RawPDU(std::string(8961, 'x'));
    sc.see(sight(sc.names, "k8s-w1", "calice0906292e2", 0, from_pod));
    sc.see(sight(sc.names, "k8s-w1", "tunl0", 20 * kUs, tunnel, core::linktype::raw));
    NodeFacts w1;
    w1.tunnels = {FactsLink{"tunl0", 8981, {}}};
    w1.tunnel_types = {"ipip"};
    sc.topo.set_facts(sc.node("k8s-w1"), w1);
    const auto table = sc.table();
    const auto found = diagnose(table, sc.topo);
    REQUIRE(found.size() == 1);
    CHECK(found[0].kind == DiagnosisKind::mtu);
    CHECK(found[0].where == "tunl0 MTU 8981 (IPIP overhead 20)");
    CHECK(found[0].message ==
          kPod1 +
              " -> 172.16.184.4 TCP: DF packets up to 9001 bytes, tunl0 MTU 8981 (IPIP "
              "overhead 20)");
    CHECK(found[0].why == "DF set, 9001 > tunl0 MTU 8981");
    CHECK(found[0].first_ns == 0);
}

TEST_CASE("diagnose: a pod address leaving the NIC for the outside is egress without SNAT",
          "[diagnose]") {
    Scene sc;
    auto from_pod = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "203.0.113.10", 64) /
                    tcp(40500, 443, 100, Tins::TCP::ACK);
    auto wire = Tins::EthernetII(kPeerMac, kNicMac) / ip("172.16.158.1", "203.0.113.10", 63) /
                tcp(40500, 443, 100, Tins::TCP::ACK);
    sc.see(sight(sc.names, "k8s-w1", "calice0906292e2", 0, from_pod));
    sc.see(sight(sc.names, "k8s-w1", "ens5", 12 * kUs, wire));
    NodeFacts w1;
    w1.routes = {NodeRoute{cidr("172.16.158.0/24"), "", "blackhole",
                           "blackhole 172.16.158.0/24 proto bird"}};
    SECTION("with the pools known") {
        w1.nat_outgoing_known = true;
        sc.topo.set_facts(sc.node("k8s-w1"), w1);
        const auto table = sc.table();
        const auto found = diagnose(table, sc.topo);
        REQUIRE(found.size() == 1);
        const Diagnosis& d = found[0];
        CHECK(d.kind == DiagnosisKind::egress_without_snat);
        CHECK(sc.names.name(d.node) == "k8s-w1");
        CHECK(d.where == "on k8s-w1/ens5");
        CHECK(d.message == kPod1 +
                               " -> 203.0.113.10 TCP: pod source address left "
                               "k8s-w1/ens5 unchanged (no SNAT)");
        CHECK(d.why == "no natOutgoing MASQUERADE rule hooked on k8s-w1");
        CHECK(d.count == 1);
        CHECK(d.at == make_point(sc.names, "k8s-w1", "ens5"));
    }
    SECTION("nothing says where the pools are: no finding") {
        const auto table = sc.table();
        CHECK(diagnose(table, sc.topo).empty());
    }
}

TEST_CASE("diagnose: inventory names; a ClusterIP not yet resolved is no drop", "[diagnose]") {
    Inventory inv;
    REQUIRE(inv.add_pods(R"({"kind": "List", "items": [
      {"metadata": {"namespace": "default", "name": "pod2"}, "spec": {"nodeName": "k8s-w1"},
       "status": {"podIP": "172.16.158.2"}}]})"));
    REQUIRE(inv.add_services(R"({"kind": "List", "items": [
      {"metadata": {"namespace": "default", "name": "web"},
       "spec": {"clusterIP": "10.200.1.10", "ports": [{"port": 80, "protocol": "TCP"}]}}]})"));
    Scene sc;
    sc.topo.set_inventory(&inv);
    auto syn = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.2", "10.200.1.10", 64) /
               tcp(41000, 80, 9);
    sc.see(sight(sc.names, "k8s-w1", "calibd2348b4f67", 0, syn));
    // The tunnel and the NIC were watching, but with no endpoint known the next hop is a guess.
    sc.topo.cover(make_point(sc.names, "k8s-w1", "tunl0"), 0, kSecond);
    sc.topo.cover(make_point(sc.names, "k8s-w1", "ens5"), 0, kSecond);
    const auto table = sc.table();
    const auto found = diagnose(table, sc.topo);
    REQUIRE(found.size() == 1);
    CHECK(found[0].kind == DiagnosisKind::no_reply);
    CHECK(found[0].where == "last seen on k8s-w1/calibd2348b4f67");
    CHECK(found[0].message ==
          "default/pod2 (172.16.158.2) -> default/web (service 10.200.1.10) TCP: 1 packet, SYN "
          "never answered by a SYN-ACK");
}

TEST_CASE("diagnose: left the sending NIC, never reached the receiving node's capture",
          "[diagnose]") {
    Scene sc;
    ipip_pod1_to_pod3(sc, false);
    // Keep k8s-w1's part only; k8s-w2 was capturing on its NIC and tunnel all along.
    std::erase_if(sc.seen, [&](const Sighting& s) { return s.at.node == sc.node("k8s-w2"); });
    NodeFacts w2;
    w2.nic = FactsLink{"ens5", 9001, {cidr("192.168.10.102/32")}};
    sc.topo.set_facts(sc.node("k8s-w2"), w2);
    sc.topo.cover(make_point(sc.names, "k8s-w2", "ens5"), 0, kSecond);
    sc.topo.cover(make_point(sc.names, "k8s-w2", "tunl0"), 0, kSecond);
    const auto table = sc.table();
    const auto found = diagnose(table, sc.topo);
    REQUIRE(found.size() == 1);
    const Diagnosis& d = found[0];
    CHECK(d.kind == DiagnosisKind::dropped);
    CHECK(sc.names.name(d.node) == "k8s-w1");
    CHECK(d.where == "after k8s-w1/ens5, before k8s-w2/ens5");
    CHECK(d.message == kPod1 +
                           " -> 172.16.184.4 TCP: 1 packet seen on k8s-w1/ens5, never on "
                           "k8s-w2/ens5 or k8s-w2/tunl0 (capturing then)");
    CHECK(d.why == "");
    CHECK(d.at == make_point(sc.names, "k8s-w1", "ens5"));
    CHECK(d.missed == std::vector<PointId>{make_point(sc.names, "k8s-w2", "ens5"),
                                           make_point(sc.names, "k8s-w2", "tunl0")});
}

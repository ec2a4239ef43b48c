#include <catch2/catch.hpp>

#include "crafted.hpp"
#include "trace/classify.hpp"
#include "trace/path_view.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kUs = 1'000;

std::vector<Path> run(const std::vector<Sighting>& in) {
    Correlator c;
    for (const auto& s : in) c.add(s);
    c.finish();
    return c.drain();
}

}  // namespace

TEST_CASE("same-node: pod1's veth then pod2's veth") {
    Names n;
    auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
               tcp(40000, 8080, 5);
    auto in = Tins::EthernetII(kPodMac, kCali) / ip("172.16.158.1", "172.16.158.2", 63) /
              tcp(40000, 8080, 5);
    const auto paths = run({sight(n, "k8s-w1", "calice0906292e2", 0, out),
                            sight(n, "k8s-w1", "calibd2348b4f67", 7 * kUs, in)});
    REQUIRE(paths.size() == 1);
    const auto c = classify(paths[0]);
    CHECK(c.kind == PathKind::same_node);
    CHECK(c.encap == Encap::none);
    CHECK(c.hops == 2);
    const auto lines = path_lines(path_view(paths[0], c, n));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "same-node k8s-w1 2 hops: 172.16.158.1.40000 > 172.16.158.2.8080 TCP [S]");
    CHECK(lines[2] ==
          "  k8s-w1/calibd2348b4f67  out  172.16.158.1.40000 > 172.16.158.2.8080 TCP [S] ttl 63 "
          "id 4660 len 40  +7 us");
}

TEST_CASE("one veth alone is not same-node") {
    Names n;
    auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
               tcp(40000, 8080, 5);
    const auto paths = run({sight(n, "k8s-w1", "cali1", 0, out)});
    REQUIRE(paths.size() == 1);
    CHECK(classify(paths[0]).kind == PathKind::unknown);
}

TEST_CASE("service: ClusterIP:port DNATed to the endpoint before routing") {
    Names n;
    auto at_cali = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.2", "10.200.1.10", 64) /
                   tcp(41000, 80, 9);
    auto at_tunl0 = ip("172.16.158.2", "172.16.184.4", 63) / tcp(41000, 8080, 9);
    auto at_ens5 = Tins::EthernetII(kPeerMac, kNicMac) /
                   ip("192.168.10.101", "192.168.10.102", 64, 0x9001) /
                   (ip("172.16.158.2", "172.16.184.4", 63) / tcp(41000, 8080, 9));
    const auto paths = run({sight(n, "k8s-w1", "calibd2348b4f67", 0, at_cali),
                            sight(n, "k8s-w1", "tunl0", 20 * kUs, at_tunl0, core::linktype::raw),
                            sight(n, "k8s-w1", "ens5", 26 * kUs, at_ens5)});
    REQUIRE(paths.size() == 1);
    const auto c = classify(paths[0]);
    CHECK(c.kind == PathKind::service);
    CHECK(c.route == PathKind::cross_node);  // on to an endpoint on another node
    CHECK_FALSE(c.reply);
    CHECK(c.encap == Encap::ipip);
    CHECK_FALSE(c.src_nat);
    REQUIRE(c.dst_nat);
    CHECK(v4(c.dst_nat->from.addr) == v4("10.200.1.10"));
    CHECK(c.dst_nat->from.port == 80);
    CHECK(v4(c.dst_nat->to.addr) == v4("172.16.184.4"));
    CHECK(c.dst_nat->to.port == 8080);
    CHECK(c.dst_nat->hop == 1);
    const auto lines = path_lines(path_view(paths[0], c, n));
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] ==
          "service with DNAT 10.200.1.10:80 -> 172.16.184.4:8080 on k8s-w1 3 hops: "
          "172.16.158.2.41000 > 10.200.1.10.80 TCP [S]");
    CHECK(lines[2].ends_with("+20 us  [dst 10.200.1.10:80 -> 172.16.184.4:8080]"));
    // The same facts as values, for the TUI's hop rows.
    const PathView v = path_view(paths[0], c, n);
    REQUIRE(v.hops.size() == 3);
    CHECK(v.summary == lines[0]);
    CHECK(v.hops[0].point == "k8s-w1/calibd2348b4f67");
    CHECK(v.hops[0].direction == core::Direction::inbound);
    CHECK_FALSE(v.hops[0].latency_ns);
    CHECK_FALSE(v.hops[0].dst_nat);
    CHECK(v.hops[1].at == make_point(n, "k8s-w1", "tunl0"));
    CHECK(v.hops[1].headers ==
          "172.16.158.2.41000 > 172.16.184.4.8080 TCP [S] ttl 63 id 4660 len 40");
    CHECK(v.hops[1].latency_ns == 20 * kUs);
    CHECK(latency_text(*v.hops[1].latency_ns, v.hops[1].digits) == "+20 us");
    REQUIRE(v.hops[1].dst_nat);
    CHECK(nat_mark(*v.hops[1].dst_nat, false) == "dst 10.200.1.10:80 -> 172.16.184.4:8080");
    CHECK_FALSE(v.hops[1].src_nat);
    CHECK_FALSE(v.hops[2].dst_nat);
    CHECK(v.hops[2].headers.starts_with("IPIP 192.168.10.101 > 192.168.10.102 | "));
}

TEST_CASE("service reply: the endpoint's source turned back into the ClusterIP at the pod") {
    Names n;
    auto from_ep = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.3", "172.16.158.2", 64) /
                   tcp(8080, 41000, 9, Tins::TCP::SYN | Tins::TCP::ACK);
    auto to_client = Tins::EthernetII(kPodMac, kCali) / ip("10.200.1.10", "172.16.158.2", 63) /
                     tcp(80, 41000, 9, Tins::TCP::SYN | Tins::TCP::ACK);
    const auto paths = run(
        {sight(n, "k8s-w1", "cali3", 0, from_ep), sight(n, "k8s-w1", "cali2", 5 * kUs, to_client)});
    REQUIRE(paths.size() == 1);
    const auto c = classify(paths[0]);
    CHECK(c.kind == PathKind::service);
    CHECK(c.route == PathKind::same_node);  // the endpoint is on the client's node
    CHECK(c.reply);
    REQUIRE(c.src_nat);
    CHECK(v4(c.src_nat->to.addr) == v4("10.200.1.10"));
}

TEST_CASE("cross-node direct: pod IPs on the NIC, unencapsulated") {
    Names n;
    auto at_cali = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
                   tcp(40000, 80, 3);
    auto at_ens5 = Tins::EthernetII(kPeerMac, kNicMac) / ip("172.16.158.1", "172.16.184.4", 63) /
                   tcp(40000, 80, 3);
    const auto paths = run(
        {sight(n, "k8s-w1", "cali1", 0, at_cali), sight(n, "k8s-w1", "ens5", 9 * kUs, at_ens5)});
    REQUIRE(paths.size() == 1);
    const auto c = classify(paths[0]);
    CHECK(c.kind == PathKind::cross_node);
    CHECK(c.encap == Encap::none);
    CHECK(path_lines(path_view(paths[0], c, n))[0].starts_with(
        "cross-node direct k8s-w1 -> ? 2 hops"));
}

TEST_CASE("cross-node over two nodes names both") {
    Names n;
    auto at_cali = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
                   tcp(40000, 80, 3);
    auto wire = Tins::EthernetII(kPeerMac, kNicMac) / ip("192.168.10.101", "192.168.10.102", 64) /
                (ip("172.16.158.1", "172.16.184.4", 63) / tcp(40000, 80, 3));
    auto delivered = Tins::EthernetII(kPodMac, kCali) / ip("172.16.158.1", "172.16.184.4", 62) /
                     tcp(40000, 80, 3);
    const auto paths =
        run({sight(n, "k8s-w1", "cali1", 0, at_cali), sight(n, "k8s-w1", "ens5", 10 * kUs, wire),
             sight(n, "k8s-w2", "ens5", 300 * kUs, wire),
             sight(n, "k8s-w2", "cali9", 310 * kUs, delivered)});
    REQUIRE(paths.size() == 1);
    const auto c = classify(paths[0]);
    CHECK(c.kind == PathKind::cross_node);
    CHECK(c.encap == Encap::ipip);
    CHECK(path_lines(path_view(paths[0], c, n))[0].starts_with(
        "cross-node IPIP k8s-w1 -> k8s-w2 4 hops"));
}

TEST_CASE("egress echo reply: MASQUERADE's identifier mapped back with the destination") {
    // --random-fully maps an echo identifier like a port: the reply comes back to the node's
    // address and identifier, and is de-NATed to the pod's on its way in.
    Names n;
    auto echo_reply = [](const char* dst, std::uint16_t id, std::uint8_t ttl) {
        Tins::ICMP icmp(Tins::ICMP::ECHO_REPLY);
        icmp.id(id);
        icmp.sequence(1);
        return ip("203.0.113.10", dst, ttl, 908) / icmp;
    };
    auto on_ens5 = Tins::EthernetII(kNicMac, kPeerMac) / echo_reply("192.168.10.101", 60544, 63);
    auto to_pod = Tins::EthernetII(kPodMac, kCali) / echo_reply("172.16.158.1", 8114, 62);
    const auto paths = run(
        {sight(n, "k8s-w1", "ens5", 0, on_ens5), sight(n, "k8s-w1", "cali1", 8 * kUs, to_pod)});
    REQUIRE(paths.size() == 1);
    const auto c = classify(paths[0]);
    CHECK(c.kind == PathKind::egress);
    CHECK(c.reply);
    CHECK_FALSE(c.src_nat);
    REQUIRE(c.dst_nat);
    CHECK(c.dst_nat->from.port == 60544);
    CHECK(c.dst_nat->to.port == 8114);
    CHECK(v4(c.dst_nat->to.addr) == v4("172.16.158.1"));
}

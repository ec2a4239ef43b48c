#include <catch2/catch.hpp>

#include <algorithm>

#include "crafted.hpp"
#include "trace/flows.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kUs = 1'000;
constexpr std::int64_t kMs = 1'000'000;
constexpr std::uint16_t kSyn = Tins::TCP::SYN, kAck = Tins::TCP::ACK, kPsh = Tins::TCP::PSH;

// Sightings in time order (ties keep the order given) -> Correlator -> classify -> the table.
void feed(FlowTable& t, std::vector<Sighting> in) {
    std::ranges::stable_sort(in, {}, &Sighting::ts_ns);
    Correlator c;
    for (const auto& s : in) c.add(s);
    c.finish();
    for (const auto& p : c.drain()) t.add(p, classify(p));
}

void append(std::vector<Sighting>& to, const std::vector<Sighting>& more) {
    to.insert(to.end(), more.begin(), more.end());
}

Endpoint ep(const char* addr, std::uint16_t port) {
    return {IpAddr::parse(addr)->addr, 4, port};
}

// One IPIP packet from a pod on node a to a pod on node b: veth, tunl0, NIC on a; NIC, tunl0,
// veth on b. ts: the six sighting times.
std::vector<Sighting> ipip(Names& n, const char* a, const char* b, const char* a_node_ip,
                           const char* b_node_ip, const char* a_veth, const char* b_veth,
                           const Tins::IP& inner_ip, const Tins::TCP& seg,
                           std::array<std::int64_t, 6> ts) {
    Tins::IP at_veth = inner_ip;
    Tins::IP routed = inner_ip;
    routed.ttl(inner_ip.ttl() - 1);
    Tins::IP delivered = inner_ip;
    delivered.ttl(inner_ip.ttl() - 2);
    auto from_pod = Tins::EthernetII(kCali, kPodMac) / at_veth / seg;
    auto tunnel = routed / seg;
    auto wire =
        Tins::EthernetII(kPeerMac, kNicMac) / ip(a_node_ip, b_node_ip, 64, 0x9000) / (routed / seg);
    auto to_pod = Tins::EthernetII(kPodMac, kCali) / delivered / seg;
    return {sight(n, a, a_veth, ts[0], from_pod),
            sight(n, a, "tunl0", ts[1], tunnel, core::linktype::raw),
            sight(n, a, "ens5", ts[2], wire),
            sight(n, b, "ens5", ts[3], wire),
            sight(n, b, "tunl0", ts[4], tunnel, core::linktype::raw),
            sight(n, b, b_veth, ts[5], to_pod)};
}

Tins::EthernetII echo(bool request, const char* src, const char* dst, bool from_pod,
                      std::uint16_t id) {
    Tins::ICMP icmp(request ? Tins::ICMP::ECHO_REQUEST : Tins::ICMP::ECHO_REPLY);
    icmp.id(id);
    icmp.sequence(1);
    auto eth = from_pod ? Tins::EthernetII(kCali, kPodMac) : Tins::EthernetII(kPodMac, kCali);
    return eth / ip(src, dst, 64, static_cast<std::uint16_t>((request ? 0x100 : 0x200) + id)) /
           icmp / Tins::RawPDU(std::string(56, 'p'));
}

}  // namespace

TEST_CASE("latency stats: log buckets, quantiles at bucket midpoints", "[flows]") {
    SECTION("a single value comes back exactly") {
        LatencyStats l;
        l.add(123'456);
        CHECK(l.count() == 1);
        CHECK(l.quantile(0.01) == 123'456);
        CHECK(l.quantile(0.5) == 123'456);
        CHECK(l.quantile(1.0) == 123'456);
    }
    SECTION("1..1000 us: the median within a bucket's 19% of 500 us") {
        LatencyStats l;
        for (std::int64_t us = 1; us <= 1000; ++us) l.add(us * kUs);
        CHECK(l.count() == 1000);
        CHECK(l.min_ns() == kUs);
        CHECK(l.max_ns() == 1000 * kUs);
        CHECK(std::abs(l.quantile(0.5) - 500 * kUs) <= 95 * kUs);
        CHECK(std::abs(l.quantile(0.99) - 990 * kUs) <= 188 * kUs);
        CHECK(l.quantile(0.99) <= 1000 * kUs);
        CHECK(l.quantile(0.5) < l.quantile(0.9));
    }
    SECTION("the midpoint of the bucket, when min and max do not clamp it") {
        LatencyStats l;
        // 900 and 1000 share the bucket [896, 1024).
        l.add(900);
        l.add(1000);
        l.add(2000);
        CHECK(l.quantile(0.5) == 960);
    }
    SECTION("negative values (clock uncertainty) get mirrored buckets, 0 its own") {
        LatencyStats l;
        l.add(2000);
        l.add(0);
        l.add(-3000);
        l.add(-5000);
        CHECK(l.min_ns() == -5000);
        CHECK(l.quantile(0.25) == -4608);  // [-5120, -4096)
        CHECK(l.quantile(0.5) == -2816);   // [-3072, -2560)
        CHECK(l.quantile(0.75) == 0);
        CHECK(l.quantile(1.0) == 1920);  // [1792, 2048)
    }
    SECTION("the order of the samples does not matter") {
        // Samples jumping about, some negative, against the same ones in order: every bucket
        // found or added wherever the one before was.
        std::vector<std::int64_t> samples;
        std::uint32_t state = 7;
        for (int i = 0; i < 5000; ++i) {
            state = state * 1103515245u + 12345u;
            const auto spread = static_cast<std::int64_t>(state >> 8) % 2'000'000;
            samples.push_back(i % 5 == 0 ? -spread / 100 : i % 3 == 0 ? spread : spread % 5000);
        }
        LatencyStats shuffled, sorted;
        for (const std::int64_t ns : samples) shuffled.add(ns);
        std::ranges::sort(samples);
        for (const std::int64_t ns : samples) sorted.add(ns);
        CHECK(shuffled.count() == sorted.count());
        CHECK(shuffled.min_ns() == sorted.min_ns());
        CHECK(shuffled.max_ns() == sorted.max_ns());
        for (int percent = 1; percent <= 100; ++percent)
            CHECK(shuffled.quantile(percent / 100.0) == sorted.quantile(percent / 100.0));
    }
}

TEST_CASE("a TCP handshake pod1 -> pod3 over IPIP is one flow", "[flows]") {
    Names n;
    std::vector<Sighting> in;
    const auto fwd = [&](std::uint16_t flags, std::uint32_t seq, std::uint16_t id,
                         std::array<std::int64_t, 6> ts) {
        append(in,
               ipip(n, "k8s-w1", "k8s-w2", "192.168.10.101", "192.168.10.102", "calice0906292e2",
                    "calia1b2c3d4e5f", ip("172.16.158.1", "172.16.184.4", 64, id),
                    tcp(40000, 80, seq, flags), ts));
    };
    fwd(kSyn, 100, 1, {0, 20 * kUs, 26 * kUs, 300 * kUs, 300 * kUs, 310 * kUs});
    append(in, ipip(n, "k8s-w2", "k8s-w1", "192.168.10.102", "192.168.10.101", "calia1b2c3d4e5f",
                    "calice0906292e2", ip("172.16.184.4", "172.16.158.1", 64, 0),
                    tcp(80, 40000, 900, kSyn | kAck),
                    {1000 * kUs, 1012 * kUs, 1015 * kUs, 1290 * kUs, 1290 * kUs, 1298 * kUs}));
    fwd(kAck, 101, 2, {1400 * kUs, 1430 * kUs, 1434 * kUs, 1700 * kUs, 1700 * kUs, 1712 * kUs});
    in[1].ts_digits = 3;  // the SYN's tunl0 sighting, from a capture in ms
    FlowTable t;
    feed(t, in);

    CHECK(t.stats().paths == 3);
    REQUIRE(t.flows().size() == 1);
    const Flow& f = t.flows()[0];
    CHECK(f.id == 1);
    CHECK(f.proto == 6);
    CHECK(f.version == 4);
    CHECK(f.client == ep("172.16.158.1", 40000));
    CHECK(f.server == ep("172.16.184.4", 80));
    CHECK(f.kind == PathKind::cross_node);
    CHECK(f.encap == Encap::ipip);
    CHECK_FALSE(f.snat);
    CHECK_FALSE(f.dnat);
    CHECK(f.fwd.packets == 2);
    CHECK(f.fwd.bytes == 80);
    CHECK(f.rev.packets == 1);
    CHECK(f.rev.bytes == 40);
    CHECK(f.fwd.retransmissions == 0);
    CHECK(f.fwd.clear_on_wire == 2);  // pod IPs readable inside IPIP
    CHECK(f.rev.clear_on_wire == 1);
    CHECK(f.fwd.wireguard == 0);
    CHECK(f.fwd.max_df_length == 40);
    CHECK(f.syn);
    CHECK(f.syn_ack);
    CHECK_FALSE(f.echo_request);
    CHECK(f.ends.empty());  // every packet reached its pod
    CHECK(f.first_ns == 0);
    CHECK(f.last_ns == 1712 * kUs);
    CHECK(f.example_fwd.sightings.size() == 6);
    CHECK(f.example_rev.sightings.size() == 6);

    REQUIRE(f.hops.size() == 10);
    const auto name = [&](const PointId& p) { return n.name(p.node) + "/" + n.name(p.interface); };
    CHECK(name(f.hops[0].from) == "k8s-w1/calice0906292e2");
    CHECK(name(f.hops[0].to) == "k8s-w1/tunl0");
    CHECK(name(f.hops[2].from) == "k8s-w1/ens5");
    CHECK(name(f.hops[2].to) == "k8s-w2/ens5");
    CHECK(name(f.hops[5].from) == "k8s-w2/calia1b2c3d4e5f");
    for (std::size_t i = 0; i < 10; ++i) CHECK(f.hops[i].reverse == (i >= 5));
    // veth -> tunl0: 20 and 30 us.
    CHECK(f.hops[0].latency.count() == 2);
    CHECK(f.hops[0].latency.quantile(0.5) == 20 * kUs);
    CHECK(f.hops[0].latency.quantile(0.99) == 30 * kUs);
    // The precision of a hop is the coarser of its points', over all its packets.
    CHECK(f.hops[0].ts_digits == 3);
    CHECK(f.hops[1].ts_digits == 3);
    CHECK(f.hops[2].ts_digits == 6);
    // Across the wire: 274 and 266 us share a bucket whose midpoint clamps to the max.
    CHECK(f.hops[2].latency.min_ns() == 266 * kUs);
    CHECK(f.hops[2].latency.quantile(0.5) == 274 * kUs);
    // NIC -> tunl0 on receive: the kernel keeps the timestamp.
    CHECK(f.hops[3].latency.quantile(0.99) == 0);
    CHECK(f.hops[7].latency.count() == 1);
    CHECK(f.hops[7].latency.quantile(0.5) == 275 * kUs);
}

TEST_CASE("egress: the SYN's SNAT and the SYN-ACK's de-NAT are one flow", "[flows]") {
    Names n;
    auto syn_veth = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "203.0.113.10", 64) /
                    tcp(40500, 443, 7);
    auto syn_wire = Tins::EthernetII(kPeerMac, kNicMac) / ip("192.168.10.101", "203.0.113.10", 63) /
                    tcp(61000, 443, 7);
    auto ack_wire = Tins::EthernetII(kNicMac, kPeerMac) /
                    ip("203.0.113.10", "192.168.10.101", 50, 0) / tcp(443, 61000, 70, kSyn | kAck);
    auto ack_veth = Tins::EthernetII(kPodMac, kCali) / ip("203.0.113.10", "172.16.158.1", 49, 0) /
                    tcp(443, 40500, 70, kSyn | kAck);
    const std::vector<Sighting> request{sight(n, "k8s-w1", "calice0906292e2", 0, syn_veth),
                                        sight(n, "k8s-w1", "ens5", 15 * kUs, syn_wire)};
    const std::vector<Sighting> reply{
        sight(n, "k8s-w1", "ens5", 5 * kMs, ack_wire),
        sight(n, "k8s-w1", "calice0906292e2", 5 * kMs + 10 * kUs, ack_veth)};
    FlowTable t;
    SECTION("request and reply") {
        auto in = request;
        append(in, reply);
        feed(t, in);
        REQUIRE(t.flows().size() == 1);
        const Flow& f = t.flows()[0];
        CHECK(f.kind == PathKind::egress);
        CHECK(f.client == ep("172.16.158.1", 40500));
        CHECK(f.server == ep("203.0.113.10", 443));
        CHECK(f.fwd.packets == 1);
        CHECK(f.rev.packets == 1);
        CHECK(f.fwd.clear_on_wire == 0);
        // The SYN left by the NIC and was not seen again: its end, still on the sending node.
        REQUIRE(f.ends.size() == 1);
        CHECK(n.name(f.ends[0].at.interface) == "ens5");
        CHECK_FALSE(f.ends[0].reverse);
        CHECK(f.ends[0].transmit);
        CHECK(f.ends[0].count == 1);
        CHECK(f.ends[0].last.sport == 61000);
        REQUIRE(f.snat);
        CHECK(f.snat->from == ep("172.16.158.1", 40500));
        CHECK(f.snat->to == ep("192.168.10.101", 61000));
        CHECK_FALSE(f.dnat);
    }
    SECTION("the reply alone: its de-NAT turned round, the pod still the client") {
        feed(t, reply);
        REQUIRE(t.flows().size() == 1);
        const Flow& f = t.flows()[0];
        CHECK(f.client == ep("172.16.158.1", 40500));
        CHECK(f.fwd.packets == 0);
        CHECK(f.rev.packets == 1);
        CHECK(f.syn_ack);
        CHECK_FALSE(f.syn);
        REQUIRE(f.snat);
        CHECK(f.snat->from == ep("172.16.158.1", 40500));
        CHECK(f.snat->to == ep("192.168.10.101", 61000));
    }
}

TEST_CASE("service: the DNATed request and the un-DNATed reply are one flow", "[flows]") {
    Names n;
    auto at_cali = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.2", "10.200.1.10", 64) /
                   tcp(41000, 80, 9);
    auto at_tunl0 = ip("172.16.158.2", "172.16.184.4", 63) / tcp(41000, 8080, 9);
    auto at_ens5 = Tins::EthernetII(kPeerMac, kNicMac) /
                   ip("192.168.10.101", "192.168.10.102", 64, 0x9001) /
                   (ip("172.16.158.2", "172.16.184.4", 63) / tcp(41000, 8080, 9));
    auto back_ens5 =
        Tins::EthernetII(kNicMac, kPeerMac) / ip("192.168.10.102", "192.168.10.101", 64, 0x9002) /
        (ip("172.16.184.4", "172.16.158.2", 63, 0) / tcp(8080, 41000, 77, kSyn | kAck));
    auto back_tunl0 = ip("172.16.184.4", "172.16.158.2", 63, 0) / tcp(8080, 41000, 77, kSyn | kAck);
    auto back_cali = Tins::EthernetII(kPodMac, kCali) / ip("10.200.1.10", "172.16.158.2", 62, 0) /
                     tcp(80, 41000, 77, kSyn | kAck);
    const std::vector<Sighting> request{
        sight(n, "k8s-w1", "calibd2348b4f67", 0, at_cali),
        sight(n, "k8s-w1", "tunl0", 20 * kUs, at_tunl0, core::linktype::raw),
        sight(n, "k8s-w1", "ens5", 26 * kUs, at_ens5)};
    const std::vector<Sighting> reply{
        sight(n, "k8s-w1", "ens5", 800 * kUs, back_ens5),
        sight(n, "k8s-w1", "tunl0", 800 * kUs, back_tunl0, core::linktype::raw),
        sight(n, "k8s-w1", "calibd2348b4f67", 806 * kUs, back_cali)};
    FlowTable t;
    const auto check_dnat = [&](const Flow& f) {
        CHECK(f.kind == PathKind::service);
        CHECK(f.client == ep("172.16.158.2", 41000));
        CHECK(f.server == ep("10.200.1.10", 80));  // a ClusterIP stays a ClusterIP
        REQUIRE(f.dnat);
        CHECK(f.dnat->from == ep("10.200.1.10", 80));
        CHECK(f.dnat->to == ep("172.16.184.4", 8080));
        CHECK_FALSE(f.snat);
    };
    SECTION("request and reply") {
        auto in = request;
        append(in, reply);
        feed(t, in);
        REQUIRE(t.flows().size() == 1);
        const Flow& f = t.flows()[0];
        check_dnat(f);
        CHECK(f.encap == Encap::ipip);
        CHECK(f.dnat->hop == 1);
        CHECK(f.fwd.packets == 1);
        CHECK(f.rev.packets == 1);
        CHECK(f.fwd.clear_on_wire == 1);
        REQUIRE(f.hops.size() == 4);
        CHECK(f.hops[2].reverse);
        CHECK(f.hops[3].latency.quantile(0.5) == 6 * kUs);
    }
    SECTION("the reply alone") {
        feed(t, reply);
        REQUIRE(t.flows().size() == 1);
        check_dnat(t.flows()[0]);
    }
}

TEST_CASE("ICMP echo request and reply are one flow keyed by the identifier", "[flows]") {
    Names n;
    auto req = echo(true, "172.16.158.1", "172.16.158.2", true, 7);
    auto req_in = echo(true, "172.16.158.1", "172.16.158.2", false, 7);
    auto rep = echo(false, "172.16.158.2", "172.16.158.1", true, 7);
    auto rep_in = echo(false, "172.16.158.2", "172.16.158.1", false, 7);
    auto other = echo(true, "172.16.158.1", "172.16.158.2", true, 8);
    FlowTable t;
    feed(t, {sight(n, "k8s-w1", "calice0906292e2", 0, req),
             sight(n, "k8s-w1", "calibd2348b4f67", 5 * kUs, req_in),
             sight(n, "k8s-w1", "calibd2348b4f67", 100 * kUs, rep),
             sight(n, "k8s-w1", "calice0906292e2", 104 * kUs, rep_in),
             sight(n, "k8s-w1", "calice0906292e2", 1 * kMs, other)});
    REQUIRE(t.flows().size() == 2);
    const Flow& f = t.flows()[0];
    CHECK(f.proto == 1);
    CHECK(f.kind == PathKind::same_node);
    CHECK(f.client == ep("172.16.158.1", 7));
    CHECK(f.server == ep("172.16.158.2", 7));
    CHECK(f.fwd.packets == 1);
    CHECK(f.rev.packets == 1);
    CHECK(f.fwd.bytes == 84);
    CHECK(f.echo_request);
    CHECK(f.echo_reply);
    REQUIRE(f.hops.size() == 2);
    CHECK(f.hops[1].reverse);
    CHECK(f.hops[1].latency.quantile(0.5) == 4 * kUs);
    // Another identifier, another conversation, and no reply to it.
    const Flow& g = t.flows()[1];
    CHECK(g.id == 2);
    CHECK(g.client.port == 8);
    CHECK(g.echo_request);
    CHECK_FALSE(g.echo_reply);
    REQUIRE(g.ends.size() == 1);
    CHECK(g.ends[0].transmit);
}

TEST_CASE("a retransmission is the same segment again at the same point", "[flows]") {
    Names n;
    std::vector<Sighting> in;
    const std::string data(100, 'd');
    const auto segment = [&](const char* iface, bool from_pod, std::int64_t ts, std::uint16_t id,
                             std::uint32_t seq, std::uint16_t flags, bool payload) {
        auto eth = from_pod ? Tins::EthernetII(kCali, kPodMac) : Tins::EthernetII(kPodMac, kCali);
        auto seg = tcp(40000, 8080, seq, flags);
        seg.timestamp(1, 2);
        auto pkt = eth / ip("172.16.158.1", "172.16.158.2", from_pod ? 64 : 63, id) / seg;
        if (payload) pkt /= Tins::RawPDU(data);
        in.push_back(sight(n, "k8s-w1", iface, ts, pkt));
    };
    // The original and its retransmission, each seen leaving pod1 and reaching pod2.
    segment("calice0906292e2", true, 0, 1, 1000, kPsh | kAck, true);
    segment("calibd2348b4f67", false, 5 * kUs, 1, 1000, kPsh | kAck, true);
    segment("calice0906292e2", true, 200 * kMs, 2, 1000, kPsh | kAck, true);
    segment("calibd2348b4f67", false, 200 * kMs + 5 * kUs, 2, 1000, kPsh | kAck, true);
    // The same segment first seen at another point: not counted.
    segment("calibd2348b4f67", false, 400 * kMs, 3, 1000, kPsh | kAck, true);
    // Duplicate pure ACKs (with a timestamp option) repeat legitimately.
    segment("calice0906292e2", true, 500 * kMs, 4, 1100, kAck, false);
    segment("calice0906292e2", true, 501 * kMs, 5, 1100, kAck, false);
    FlowTable t;
    feed(t, in);
    REQUIRE(t.flows().size() == 1);
    const Flow& f = t.flows()[0];
    CHECK(f.fwd.packets == 5);
    CHECK(f.fwd.retransmissions == 1);
    CHECK(f.fwd.max_df_length == 152);
    CHECK(f.fwd.max_df_ns == 0);
}

TEST_CASE("an ICMP frag-needed links to the DF packet it quotes", "[flows]") {
    Names n;
    auto big_ip = ip("172.16.158.1", "172.16.184.4", 64, 0x4242);
    auto big_tcp = tcp(40000, 80, 5000, kPsh | kAck);
    auto big =
        Tins::EthernetII(kCali, kPodMac) / big_ip / big_tcp / Tins::RawPDU(std::string(1400, 'x'));
    Tins::IP routed = big_ip;
    routed.ttl(63);
    auto big_tunl0 = routed / big_tcp / Tins::RawPDU(std::string(1400, 'x'));
    const auto error = [&](std::uint32_t quoted_seq, std::uint16_t id) {
        auto quoted =
            big_ip / tcp(40000, 80, quoted_seq, kPsh | kAck) / Tins::RawPDU(std::string(1400, 'x'));
        auto qb = bytes_of(quoted);
        qb.resize(20 + 8);  // the IP header and the first 8 bytes of TCP
        Tins::ICMP icmp(Tins::ICMP::DEST_UNREACHABLE);
        icmp.code(4);
        icmp.mtu(1380);
        return Tins::EthernetII(kPodMac, kCali) / ip("192.168.10.101", "172.16.158.1", 64, id) /
               icmp / Tins::RawPDU(qb);
    };
    auto err1 = error(5000, 1);
    auto err2 = error(5000, 2);
    auto stray = error(9999, 3);
    std::vector<Sighting> in{sight(n, "k8s-w1", "calice0906292e2", 0, big),
                             sight(n, "k8s-w1", "tunl0", 10 * kUs, big_tunl0, core::linktype::raw)};
    FlowTable t;
    SECTION("linked, the same error twice counted once as a link") {
        in.push_back(sight(n, "k8s-w1", "calice0906292e2", 12 * kUs, err1));
        in.push_back(sight(n, "k8s-w1", "calice0906292e2", 20 * kUs, err2));
        feed(t, in);
        CHECK(t.stats().icmp_errors_linked == 2);
        CHECK(t.stats().icmp_errors_unlinked == 0);
        REQUIRE(t.flows().size() == 1);
        const Flow& f = t.flows()[0];
        CHECK(f.fwd.max_df_length == 1440);
        REQUIRE(f.icmp_errors.size() == 1);
        const IcmpErrorLink& l = f.icmp_errors[0];
        CHECK(l.count == 2);
        CHECK(l.hop == 1);  // last seen on tunl0
        CHECK_FALSE(l.reverse);
        CHECK(l.error.icmp_code == 4);
        CHECK(l.error.icmp_mtu == 1380);
        CHECK(l.error.ts_ns == 12 * kUs);
        // The packet went no further than tunl0.
        REQUIRE(f.ends.size() == 1);
        CHECK(n.name(f.ends[0].at.interface) == "tunl0");
        CHECK(f.ends[0].transmit);
    }
    SECTION("quoting a packet never seen: a flow of its own") {
        in.push_back(sight(n, "k8s-w1", "calice0906292e2", 12 * kUs, stray));
        feed(t, in);
        CHECK(t.stats().icmp_errors_linked == 0);
        CHECK(t.stats().icmp_errors_unlinked == 1);
        REQUIRE(t.flows().size() == 2);
        CHECK(t.flows()[0].icmp_errors.empty());
        CHECK(t.flows()[1].proto == 1);
        CHECK(t.flows()[1].client == ep("192.168.10.101", 0));
        CHECK(t.flows()[1].server == ep("172.16.158.1", 0));
    }
    SECTION("quoting a packet seen longer ago than the window") {
        t.quote_window_ns = 1 * kMs;
        in.push_back(sight(n, "k8s-w1", "calice0906292e2", 5 * kMs, err1));
        feed(t, in);
        CHECK(t.stats().icmp_errors_unlinked == 1);
        CHECK(t.flows().size() == 2);
    }
}

TEST_CASE("ARP counts in the stats and makes no flow", "[flows]") {
    Names n;
    auto gateway = Tins::ARP::make_arp_request("169.254.1.1", "172.16.158.1", kPodMac);
    auto proxy = Tins::ARP::make_arp_reply("172.16.158.1", "169.254.1.1", kPodMac, kCali);
    auto node = Tins::ARP::make_arp_request("172.16.158.1", "192.168.10.101", kNicMac);
    FlowTable t;
    feed(t, {sight(n, "k8s-w1", "calice0906292e2", 0, gateway),
             sight(n, "k8s-w1", "calice0906292e2", 3 * kUs, proxy),
             sight(n, "k8s-w1", "calice0906292e2", 1 * kMs, node)});
    CHECK(t.flows().empty());
    CHECK(t.stats().paths == 3);
    CHECK(t.stats().arp == 3);
    CHECK(t.stats().arp_detail.gateway_requests == 1);
    CHECK(t.stats().arp_detail.proxy_replies == 1);
    CHECK(t.stats().arp_detail.other == 1);
}

TEST_CASE("path ends: counted per point and way, at most kMaxEnds distinct", "[flows]") {
    Names n;
    std::vector<Sighting> in;
    // Paths seen only on a NIC, each on its own interface, then twice more on the first.
    const auto on_nic = [&](const char* iface, std::int64_t ts, std::uint16_t id) {
        auto pkt = Tins::EthernetII(kPeerMac, kNicMac) /
                   ip("172.16.158.1", "172.16.184.4", 63, id) / tcp(40000, 80, id, kPsh | kAck);
        in.push_back(sight(n, "k8s-w1", iface, ts, pkt));
    };
    const char* ifaces[] = {"eth0", "eth1", "eth2", "eth3", "eth4",
                            "eth5", "eth6", "eth7", "eth8", "eth9"};
    for (std::uint16_t i = 0; i < 10; ++i) on_nic(ifaces[i], i * kMs, 100 + i);
    on_nic("eth0", 20 * kMs, 200);
    on_nic("eth0", 30 * kMs, 201);
    FlowTable t;
    feed(t, in);
    REQUIRE(t.flows().size() == 1);
    const Flow& f = t.flows()[0];
    CHECK(f.fwd.packets == 12);
    REQUIRE(f.ends.size() == Flow::kMaxEnds);
    CHECK(n.name(f.ends[0].at.interface) == "eth0");
    CHECK(f.ends[0].count == 3);
    CHECK(f.ends[0].first_ns == 0);
    CHECK(f.ends[0].last_ns == 30 * kMs);
    CHECK(f.ends[0].last.ip_id == 100);
    CHECK_FALSE(f.ends[0].transmit);  // not known to have left a pod on this node
    CHECK(n.name(f.ends[7].at.interface) == "eth7");
    CHECK(f.ends[7].count == 1);
}

namespace {

// A TCP segment 172.16.158.1:40000 -> 172.16.184.<host>:80 seen alone on a NIC.
Path nic_segment(Names& n, const char* iface, std::int64_t ts, std::uint8_t host, std::uint32_t seq,
                 std::uint32_t length) {
    Sighting s;
    s.ts_ns = ts;
    s.at = make_point(n, "k8s-w1", iface);
    s.src = IpAddr::parse("172.16.158.1")->addr;
    s.dst = IpAddr::parse("172.16.184.0")->addr;
    s.dst[3] = host;
    s.ip_version = 4;
    s.proto = kTcp;
    s.has_ports = true;
    s.sport = 40000;
    s.dport = 80;
    s.tcp_flags = kPsh | kAck;
    s.tcp_seq = seq;
    s.length = length;
    return Path{{s}};
}

}  // namespace

TEST_CASE("many flows: each keeps its own packets as the index grows", "[flows]") {
    Names n;
    FlowTable t;
    for (int round = 0; round < 3; ++round)
        for (int host = 1; host <= 250; ++host) {
            const auto h = static_cast<std::uint8_t>(host);
            const Path p = nic_segment(n, "ens5", round * kMs + host, h,
                                       static_cast<std::uint32_t>(round * 1000 + host), 100);
            const auto added = t.add(p, classify(p));
            CHECK(added.flow == static_cast<std::uint32_t>(host));
        }
    REQUIRE(t.flows().size() == 250);
    for (const Flow& f : t.flows()) {
        CHECK(f.fwd.packets == 3);
        CHECK(f.rev.packets == 0);
        CHECK(f.server.addr[3] == f.id);
    }
}

TEST_CASE("a retransmission repeats one of the last 8 new segments at that point", "[flows]") {
    // The table against the rule it implements, on segments that often repeat an earlier one
    // (some within the last 8, some older) at one of two points.
    Names n;
    FlowTable t;
    struct Seen {
        std::uint32_t seq, length;
        bool second_point;
    };
    std::vector<Seen> ring;  // the last 8 segments not counted as retransmissions, oldest first
    std::uint64_t expected = 0;
    std::uint32_t state = 12345;
    const auto random = [&] { return state = state * 1103515245u + 12345u; };
    for (int i = 0; i < 2000; ++i) {
        Seen s{static_cast<std::uint32_t>(i) * 1000, 100 + random() % 3 * 100, random() % 4 == 0};
        // Mostly one of the last 16 seqs again: counted only while still among the last 8 kept.
        if (i > 16 && random() % 3 != 0) s.seq -= (1 + random() % 16) * 1000;
        const bool again = std::ranges::any_of(ring, [&](const Seen& e) {
            return e.seq == s.seq && e.length == s.length && e.second_point == s.second_point;
        });
        if (again) {
            ++expected;
        } else {
            ring.push_back(s);
            if (ring.size() > 8) ring.erase(ring.begin());
        }
        const Path p =
            nic_segment(n, s.second_point ? "ens6" : "ens5", i * kUs, 4, s.seq, s.length);
        t.add(p, classify(p));
    }
    REQUIRE(t.flows().size() == 1);
    CHECK(expected > 50);
    CHECK(t.flows()[0].fwd.retransmissions == expected);
}

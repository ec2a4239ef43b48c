#include <catch2/catch.hpp>

#include "crafted.hpp"
#include "trace/clock.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kS = 1'000'000'000, kMs = 1'000'000, kUs = 1'000;
constexpr auto kIn = core::Direction::inbound;
constexpr auto kOut = core::Direction::outbound;

Sighting at(Names& n, const char* node, const char* iface, std::uint64_t fp, std::int64_t ts,
            core::Direction dir) {
    Sighting s;
    s.fingerprint = fp;
    s.ts_ns = ts;
    s.at = make_point(n, node, iface);
    s.direction = dir;
    s.ip_version = 4;
    return s;
}

// `count` packets each way between two nodes' NICs; `to` runs `offset` ahead of `from`. Every
// packet waits an extra 0..6 us in a queue, so only the lower envelope is the bare transit.
void exchange(ClockEstimator& c, Names& n, const char* from, const char* to, std::int64_t offset,
              std::int64_t transit_there, std::int64_t transit_back, int count,
              std::uint64_t first_fp) {
    for (int i = 0; i < count; ++i) {
        const std::int64_t t = 10 * kS + i * kMs, queue = ((i * 3) % 7) * kUs;
        c.add(at(n, from, "ens5", first_fp + 2 * i, t, kOut));
        c.add(at(n, to, "ens5", first_fp + 2 * i, t + transit_there + queue + offset, kIn));
        const std::int64_t r = t + 500 * kUs;
        c.add(at(n, to, "ens5", first_fp + 2 * i + 1, r + offset, kOut));
        c.add(at(n, from, "ens5", first_fp + 2 * i + 1, r + transit_back + queue, kIn));
    }
}

const NodeClock& clock_of(const std::vector<NodeClock>& v, std::uint16_t node) {
    for (const auto& c : v)
        if (c.node == node) return c;
    FAIL("node " << node << " not in the estimate");
    return v.front();
}

}  // namespace

TEST_CASE("two nodes: offset and uncertainty from the lower envelope both ways", "[clock]") {
    const auto offset = GENERATE(2 * kS, -2 * kS);
    Names n;
    ClockEstimator c;
    exchange(c, n, "k8s-w1", "k8s-w2", offset, 80 * kUs, 120 * kUs, 50, 1000);
    const auto w1 = n.intern("k8s-w1"), w2 = n.intern("k8s-w2");
    const auto est = c.estimate();
    REQUIRE(est.size() == 2);
    CHECK(est[0].node == w1);  // equal matches: the lower id is the reference
    CHECK(est[0].reference);
    CHECK(est[0].estimated);
    CHECK(est[0].offset_ns == 0);
    CHECK(est[1].node == w2);
    CHECK_FALSE(est[1].reference);
    REQUIRE(est[1].estimated);
    // d_ab = 80 us + offset, d_ba = 120 us - offset: the 40 us asymmetry is the uncertainty's
    // share, half of it shows as a bias within the range.
    CHECK(est[1].offset_ns == offset - 20 * kUs);
    CHECK(est[1].uncertainty_ns == 100 * kUs);
    CHECK(est[1].forward == 50);
    CHECK(est[1].backward == 50);
    CHECK(est[1].via == 0);
    CHECK(est[1].why.empty());
    CHECK(c.samples() == 200);
}

TEST_CASE("a node linked only through another is estimated via it", "[clock]") {
    Names n;
    ClockEstimator c;
    const auto a = n.intern("k8s-w1"), b = n.intern("k8s-w2"), cc = n.intern("k8s-m");
    exchange(c, n, "k8s-w1", "k8s-w2", 2 * kS, 80 * kUs, 120 * kUs, 20, 1000);
    exchange(c, n, "k8s-w2", "k8s-m", -3 * kS, 60 * kUs, 60 * kUs, 10, 5000);
    // k8s-w1's requests to k8s-m were seen arriving, none of the replies: they cannot link the two,
    // but they make k8s-w1 (70 matches) the reference rather than k8s-w2 (60).
    for (int i = 0; i < 30; ++i) {
        c.add(at(n, "k8s-w1", "ens5", 9000 + i, 20 * kS + i * kMs, kOut));
        c.add(at(n, "k8s-m", "ens5", 9000 + i, 20 * kS + i * kMs - kS + 70 * kUs, kIn));
    }
    const auto est = c.estimate();
    REQUIRE(est.size() == 3);
    CHECK(est[0].node == a);
    CHECK(est[0].reference);
    const auto& w2 = clock_of(est, b);
    REQUIRE(w2.estimated);
    CHECK(w2.via == 0);
    CHECK(w2.offset_ns == 2 * kS - 20 * kUs);
    CHECK(w2.uncertainty_ns == 100 * kUs);
    const auto& m = clock_of(est, cc);
    REQUIRE(m.estimated);
    CHECK(m.via == b);
    // k8s-m is 3 s behind k8s-w2, which is 2 s ahead of k8s-w1 (less the 20 us bias).
    CHECK(m.offset_ns == -1 * kS - 20 * kUs);
    CHECK(m.uncertainty_ns == 160 * kUs);
    CHECK(m.forward == 10);  // with k8s-w2, the node it was estimated through
    CHECK(m.backward == 10);
}

TEST_CASE("packets one way only: no offset, and the why says which way is missing", "[clock]") {
    Names n;
    ClockEstimator c;
    for (int i = 0; i < 5; ++i) {
        c.add(at(n, "k8s-w1", "ens5", 100 + i, i * kMs, kOut));
        c.add(at(n, "k8s-w2", "ens5", 100 + i, i * kMs + kS, kIn));
    }
    c.add(at(n, "k8s-m", "ens5", 555, 0, kOut));  // nothing matches it
    const auto est = c.estimate();
    REQUIRE(est.size() == 3);
    CHECK(est[0].node == n.intern("k8s-w1"));
    CHECK(est[0].reference);
    const auto& w2 = clock_of(est, n.intern("k8s-w2"));
    CHECK_FALSE(w2.estimated);
    CHECK(w2.offset_ns == 0);
    CHECK(w2.forward == 5);
    CHECK(w2.backward == 0);
    CHECK(w2.why == "packets matched only towards this node, none from it");
    const auto& m = clock_of(est, n.intern("k8s-m"));
    CHECK_FALSE(m.estimated);
    CHECK(m.why == "no packet matched in both directions with another captured node");

    // Seen from the other side: the reference is still k8s-w1 (lowest id), k8s-w2 only sends.
    Names n2;
    n2.intern("k8s-w1");
    ClockEstimator c2;
    for (int i = 0; i < 5; ++i) {
        c2.add(at(n2, "k8s-w2", "ens5", 100 + i, i * kMs, kOut));
        c2.add(at(n2, "k8s-w1", "ens5", 100 + i, i * kMs + kS, kIn));
    }
    const auto est2 = c2.estimate();
    REQUIRE(est2.size() == 2);
    CHECK(est2[0].node == n2.intern("k8s-w1"));
    CHECK(est2[1].why == "packets matched only from this node, none towards it");
    CHECK(est2[1].forward == 0);
    CHECK(est2[1].backward == 5);
}

TEST_CASE("delays that contradict each other are reported, not estimated", "[clock]") {
    Names n;
    ClockEstimator c;
    // w2 received the request before w1 sent it by more than the reply took: d_ab + d_ba < 0.
    c.add(at(n, "k8s-w1", "ens5", 1, 10 * kMs, kOut));
    c.add(at(n, "k8s-w2", "ens5", 1, 5 * kMs, kIn));
    c.add(at(n, "k8s-w2", "ens5", 2, 6 * kMs, kOut));
    c.add(at(n, "k8s-w1", "ens5", 2, 7 * kMs, kIn));
    const auto est = c.estimate();
    REQUIRE(est.size() == 2);
    CHECK_FALSE(est[1].estimated);
    CHECK(est[1].why.starts_with("matched packets contradict each other"));
}

TEST_CASE("subsampling keeps the same fingerprints on every node and the estimate", "[clock]") {
    Names n;
    ClockEstimator c(ClockOptions{.max_samples_per_node = 1000});
    exchange(c, n, "k8s-w1", "k8s-w2", 2 * kS, 80 * kUs, 120 * kUs, 100'000, 1);
    CHECK(c.samples() <= 2 * 1000 * 2);
    CHECK(c.samples() >= 2 * 250);  // halving from just over 1000 leaves about 500 a node
    const auto est = c.estimate();
    REQUIRE(est.size() == 2);
    REQUIRE(est[1].estimated);
    CHECK(est[1].offset_ns == 2 * kS - 20 * kUs);
    CHECK(est[1].uncertainty_ns == 100 * kUs);
    // Every fingerprint kept on one node is kept on the other: all of them match.
    CHECK(est[1].forward + est[1].backward == c.samples() / 2);
    CHECK(est[1].forward > 0);
    CHECK(est[1].backward > 0);
}

TEST_CASE("fingerprints seen more than 4 times on a node are not used", "[clock]") {
    Names n;
    ClockEstimator c;
    exchange(c, n, "k8s-w1", "k8s-w2", 2 * kS, 80 * kUs, 120 * kUs, 10, 1000);
    // A fingerprint sent 5 times by w1 (retransmissions, or a collision) and received once on w2
    // early: its latest departure and earliest arrival are not one packet, d would be < 0.
    for (int i = 0; i < 5; ++i) c.add(at(n, "k8s-w1", "ens5", 77, 10 * kS + i * kS, kOut));
    c.add(at(n, "k8s-w2", "ens5", 77, 10 * kS + 2 * kS + 81 * kUs, kIn));
    auto est = c.estimate();
    REQUIRE(est[1].estimated);
    CHECK(est[1].offset_ns == 2 * kS - 20 * kUs);
    CHECK(est[1].forward == 10);

    // Four sightings (say cali, tunl0, ens5 and one retransmission) still count.
    for (int i = 0; i < 4; ++i) c.add(at(n, "k8s-w1", "ens5", 78, 10 * kS + i * kUs, kOut));
    c.add(at(n, "k8s-w2", "ens5", 78, 10 * kS + 3 * kUs + 2 * kS + 40 * kUs, kIn));
    est = c.estimate();
    REQUIRE(est[1].estimated);
    CHECK(est[1].forward == 11);
    CHECK(est[1].offset_ns == 2 * kS - 40 * kUs);  // d_ab is now 40 us + 2 s
    CHECK(est[1].uncertainty_ns == 80 * kUs);
}

TEST_CASE(
    "a pod veth: inbound is sent from the node, outbound received; "
    "unknown is skipped",
    "[clock]") {
    Names n;
    ClockEstimator c;
    for (int i = 0; i < 3; ++i) {
        const std::int64_t t = i * kMs;
        c.add(at(n, "k8s-w1", "calice0906292e2", 10 + i, t, kIn));  // from the pod
        c.add(at(n, "k8s-w2", "ens5", 10 + i, t + 2 * kS + 90 * kUs, kIn));
        c.add(at(n, "k8s-w2", "ens5", 20 + i, t + 2 * kS + 300 * kUs, kOut));
        c.add(at(n, "k8s-w1", "calice0906292e2", 20 + i, t + 410 * kUs,
                 kOut));  // to the pod
        // Direction unknown: its role cannot be told, so its 1 us "delay" must not count.
        c.add(at(n, "k8s-w1", "tunl0", 20 + i, t + 301 * kUs, core::Direction::unknown));
    }
    const auto est = c.estimate();
    REQUIRE(est.size() == 2);
    REQUIRE(est[1].estimated);
    CHECK(est[1].offset_ns == 2 * kS - 10 * kUs);
    CHECK(est[1].uncertainty_ns == 100 * kUs);
    CHECK(est[1].forward == 3);
    CHECK(est[1].backward == 3);
}

TEST_CASE("ARP, fingerprint-less and partial sightings are not samples", "[clock]") {
    Names n;
    ClockEstimator c;
    auto arp = at(n, "k8s-w1", "ens5", 5, 0, kOut);
    arp.ip_version = 0;
    auto partial = at(n, "k8s-w1", "ens5", 6, 0, kOut);
    partial.partial = true;
    c.add(arp);
    c.add(partial);
    c.add(at(n, "k8s-w1", "ens5", 0, 0, kOut));
    CHECK(c.samples() == 0);
    const auto est = c.estimate();
    REQUIRE(est.size() == 1);  // the node was seen, though
    CHECK(est[0].reference);
}

TEST_CASE("crafted ICMP echo between pods on two nodes, w2 2 s ahead", "[clock]") {
    Names n;
    const Tins::HWAddress<6> pod3_mac(std::string("4e:5a:1c:00:00:03"));
    const auto echo = [](Tins::ICMP::Flags type, std::uint16_t seq) {
        Tins::ICMP icmp(type);
        icmp.id(7);
        icmp.sequence(seq);
        return icmp / Tins::RawPDU(std::string("podtrace-clock-payload"));
    };
    // Request: leaves pod1 (to ee:ee..) on w1, reaches pod3 (from ee:ee..) on w2 150 us later.
    auto req_w1 = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64, 0x100) /
                  echo(Tins::ICMP::ECHO_REQUEST, 1);
    auto req_w2 = Tins::EthernetII(pod3_mac, kCali) /
                  ip("172.16.158.1", "172.16.184.4", 62, 0x100) / echo(Tins::ICMP::ECHO_REQUEST, 1);
    auto rep_w2 = Tins::EthernetII(kCali, pod3_mac) /
                  ip("172.16.184.4", "172.16.158.1", 64, 0x200) / echo(Tins::ICMP::ECHO_REPLY, 1);
    auto rep_w1 = Tins::EthernetII(kPodMac, kCali) / ip("172.16.184.4", "172.16.158.1", 62, 0x200) /
                  echo(Tins::ICMP::ECHO_REPLY, 1);
    const std::int64_t t0 = 1'700'000'000 * kS, ahead = 2 * kS;
    const auto s = std::vector<Sighting>{
        sight(n, "k8s-w1", "calice0906292e2", t0, req_w1),
        sight(n, "k8s-w2", "calia1b2c3d4e5f", t0 + 150 * kUs + ahead, req_w2),
        sight(n, "k8s-w2", "calia1b2c3d4e5f", t0 + 200 * kUs + ahead, rep_w2),
        sight(n, "k8s-w1", "calice0906292e2", t0 + 330 * kUs, rep_w1),
    };
    REQUIRE(s[0].fingerprint == s[1].fingerprint);
    REQUIRE(s[2].fingerprint == s[3].fingerprint);
    CHECK(s[0].direction == kIn);  // read from the proxy-ARP MAC
    CHECK(s[1].direction == kOut);
    ClockEstimator c;
    for (const auto& x : s) c.add(x);
    const auto est = c.estimate();
    REQUIRE(est.size() == 2);
    CHECK(est[0].node == n.intern("k8s-w1"));
    REQUIRE(est[1].estimated);
    // d_ab = 150 us + 2 s, d_ba = 130 us - 2 s.
    CHECK(est[1].offset_ns == ahead + 10 * kUs);
    CHECK(est[1].uncertainty_ns == 140 * kUs);
}

TEST_CASE("settled: every named node estimated on enough packets each way", "[clock]") {
    Names n;
    ClockEstimator c;
    const std::uint16_t w1 = n.intern("k8s-w1"), w2 = n.intern("k8s-w2"), m = n.intern("k8s-m");
    const std::uint16_t two[] = {w1, w2}, three[] = {w1, w2, m};
    CHECK_FALSE(c.settled(two, 10));  // nothing seen yet

    exchange(c, n, "k8s-w1", "k8s-w2", 2 * kS, 80 * kUs, 120 * kUs, 30, 1000);
    CHECK(c.settled(two, 30));
    CHECK_FALSE(c.settled(two, 31));  // too few matched each way

    // More packets w1 -> w2 only: the backward count still falls short.
    for (int i = 0; i < 20; ++i) {
        c.add(at(n, "k8s-w1", "ens5", 3000 + i, 20 * kS + i * kMs, kOut));
        c.add(at(n, "k8s-w2", "ens5", 3000 + i, 22 * kS + i * kMs + 80 * kUs, kIn));
    }
    CHECK_FALSE(c.settled(two, 40));
    exchange(c, n, "k8s-w2", "k8s-w1", -2 * kS, 120 * kUs, 80 * kUs, 10, 5000);
    CHECK(c.settled(two, 40));

    // A named node not seen yet, then seen but not matched both ways, keeps it open.
    CHECK_FALSE(c.settled(three, 40));
    c.add(at(n, "k8s-m", "ens5", 7000, 30 * kS, kOut));
    CHECK_FALSE(c.settled(three, 40));
    CHECK_FALSE(c.settled(two, 40));  // every node seen counts, named or not
    exchange(c, n, "k8s-w1", "k8s-m", kS, 60 * kUs, 60 * kUs, 40, 8000);
    CHECK(c.settled(three, 40));
    CHECK(clock_of(c.estimate(), m).forward == 40);
}

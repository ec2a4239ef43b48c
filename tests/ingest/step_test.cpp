// The one step: direction inferred from a node's addresses, corrected time, the front end's hook
// told of every frame, and a sighting only for IP and ARP packets.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "frames.hpp"
#include "ingest/step.hpp"

using namespace podtrace;
using test::ip4;

namespace {

decode::Addr addr4(std::uint32_t a) {
    decode::Addr out{};
    out[0] = static_cast<std::uint8_t>(a >> 24);
    out[1] = static_cast<std::uint8_t>(a >> 16);
    out[2] = static_cast<std::uint8_t>(a >> 8);
    out[3] = static_cast<std::uint8_t>(a);
    return out;
}

trace::IpAddr ip(std::uint32_t a) {
    return {addr4(a), 4};
}

// k8s-w1: NIC 192.168.10.101, tunl0 172.16.158.0, pod 172.16.158.1 behind calice0906292e2.
std::vector<ingest::NodeAddresses> w1() {
    trace::NodeFacts f;
    f.nic = trace::FactsLink{"ens5", 9001, {{ip(ip4(192, 168, 10, 101)), 24}}};
    f.tunnels.push_back({"tunl0", 8981, {{ip(ip4(172, 16, 158, 0)), 32}}});
    f.pods.push_back({"calice0906292e2", {ip(ip4(172, 16, 158, 1))}});
    return {ingest::node_addresses(f)};
}

trace::Sighting on(trace::PointKind kind, std::uint32_t src, std::uint32_t dst) {
    trace::Sighting s;
    s.at = {0, 1, kind};
    s.ip_version = 4;
    s.src = addr4(src);
    s.dst = addr4(dst);
    return s;
}

trace::Sighting ipip(std::uint32_t outer_src, std::uint32_t outer_dst) {
    trace::Sighting s = on(trace::PointKind::nic, ip4(172, 16, 158, 1), ip4(172, 16, 184, 4));
    s.encap = trace::Encap::ipip;
    s.outer_version = 4;
    s.outer_src = addr4(outer_src);
    s.outer_dst = addr4(outer_dst);
    return s;
}

core::Direction inferred(trace::Sighting s) {
    ingest::infer_direction(s, w1());
    return s.direction;
}

}  // namespace

TEST_CASE("node addresses: the NIC's and tunnels' own, the pods' from the facts") {
    const auto a = w1().front();
    CHECK(a.own ==
          std::vector<trace::IpAddr>{ip(ip4(192, 168, 10, 101)), ip(ip4(172, 16, 158, 0))});
    CHECK(a.pods == std::vector<trace::IpAddr>{ip(ip4(172, 16, 158, 1))});
}

TEST_CASE("direction: an encapsulated packet by its outer addresses") {
    using core::Direction;
    CHECK(inferred(ipip(ip4(192, 168, 10, 101), ip4(192, 168, 10, 102))) == Direction::outbound);
    CHECK(inferred(ipip(ip4(192, 168, 10, 102), ip4(192, 168, 10, 101))) == Direction::inbound);
    // Both ends or neither its own: nothing is said.
    CHECK(inferred(ipip(ip4(192, 168, 10, 101), ip4(172, 16, 158, 0))) == Direction::unknown);
    CHECK(inferred(ipip(ip4(192, 168, 10, 102), ip4(192, 168, 10, 103))) == Direction::unknown);
}

TEST_CASE("direction: a plain packet by its pod or node addresses") {
    using core::Direction;
    using trace::PointKind;
    const auto pod = ip4(172, 16, 158, 1), remote = ip4(172, 16, 184, 4);
    CHECK(inferred(on(PointKind::nic, pod, remote)) == Direction::outbound);
    CHECK(inferred(on(PointKind::ipip_tunnel, remote, pod)) == Direction::inbound);
    CHECK(inferred(on(PointKind::nic, ip4(192, 168, 10, 101), ip4(8, 8, 8, 8))) ==
          Direction::outbound);
    CHECK(inferred(on(PointKind::nic, remote, ip4(8, 8, 8, 8))) == Direction::unknown);
}

TEST_CASE("direction: what the capture said, a pod veth, ARP and unknown nodes stay as they are") {
    using core::Direction;
    using trace::PointKind;
    const auto pod = ip4(172, 16, 158, 1), remote = ip4(172, 16, 184, 4);
    trace::Sighting said = on(PointKind::nic, pod, remote);
    said.direction = Direction::inbound;  // the capture's own flag wins
    CHECK(inferred(said) == Direction::inbound);
    CHECK(inferred(on(PointKind::pod_veth, pod, remote)) == Direction::unknown);
    trace::Sighting arp = on(PointKind::nic, pod, remote);
    arp.ip_version = 0;
    CHECK(inferred(arp) == Direction::unknown);
    trace::Sighting other = on(PointKind::nic, pod, remote);
    other.at.node = 7;  // no facts for that node
    CHECK(inferred(other) == Direction::unknown);
}

TEST_CASE("step: every frame reaches the hook, only packets become sightings") {
    ingest::Step step;
    std::vector<std::int64_t> told;
    step.on_frame([&](const core::Frame&, const decode::Decoded&, trace::PointId,
                      std::int64_t ts) -> std::uint64_t {
        told.push_back(ts);
        return 40 + told.size();
    });
    const auto bytes = test::udp_frame(ip4(172, 16, 158, 1), ip4(172, 16, 184, 4), 7);
    core::Frame f;
    f.ts_ns = 1'000;
    f.bytes = bytes;
    f.wirelen = static_cast<std::uint32_t>(bytes.size());
    trace::Sighting s;
    const trace::PointId at{0, 1, trace::PointKind::pod_veth};
    REQUIRE(step.take(f, at, 900, s));
    CHECK(s.ts_ns == 900);  // the time the caller corrected, not the frame's
    CHECK(s.ref == 41);
    CHECK(s.at == at);
    CHECK(s.direction == core::Direction::inbound);  // to Calico's MAC: from the pod
    CHECK(s.fingerprint == step.decoded().fingerprint);

    std::vector<std::uint8_t> junk(bytes.begin(), bytes.begin() + 14);
    junk[12] = 0x88, junk[13] = 0xb5;  // an EtherType nobody decodes
    f.bytes = junk;
    CHECK_FALSE(step.take(f, at, 950, s));
    CHECK(told == std::vector<std::int64_t>{900, 950});
    CHECK(step.stats().frames == 2);
    step.new_pass();
    CHECK(step.stats().frames == 0);
}

TEST_CASE("step: clock offsets correct each node's time, saturating at the limits") {
    ingest::Step step;
    trace::NodeClock w2;
    w2.node = 1;
    w2.estimated = true;
    w2.offset_ns = 2'000'000'000;
    trace::NodeClock not_estimated;
    not_estimated.node = 2;
    not_estimated.offset_ns = 5;
    step.set_clocks(std::vector<trace::NodeClock>{w2, not_estimated});
    CHECK(step.corrected(0, 3'000'000'000) == 3'000'000'000);
    CHECK(step.corrected(1, 3'000'000'000) == 1'000'000'000);
    CHECK(step.corrected(2, 10) == 10);
    CHECK(step.corrected(9, 10) == 10);  // a node never estimated
    CHECK(step.offset(1) == 2'000'000'000);
    CHECK(step.corrected(1, INT64_MIN + 5) == INT64_MIN);
    CHECK(core::sub_ns(INT64_MAX, INT64_MIN) == INT64_MAX);
    CHECK(core::sub_ns(-1, INT64_MAX) == INT64_MIN);
    CHECK(core::sub_ns(-5, INT64_MAX) == INT64_MIN);
}

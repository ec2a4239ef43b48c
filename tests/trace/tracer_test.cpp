#include <catch2/catch.hpp>

#include "crafted.hpp"
#include "trace/tracer.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kMs = 1'000'000, kUs = 1'000;

struct Seen {
    std::uint32_t flow;
    bool reverse;
    std::size_t hops;
    PathKind kind;
};

}  // namespace

TEST_CASE("the tracer tells its observer every path with the flow it went to") {
    Names n;
    Tracer t(n);
    std::vector<Seen> seen;
    t.observe([&](const Path& p, const Classification& c, FlowTable::Added a) {
        seen.push_back({a.flow, a.reverse, p.sightings.size(), c.kind});
    });
    auto req = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
                     tcp(40000, 80, 1, Tins::TCP::SYN);
    auto req_out = Tins::EthernetII(kPodMac, kCali) / ip("172.16.158.1", "172.16.158.2", 63) /
                         tcp(40000, 80, 1, Tins::TCP::SYN);
    auto rep = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.2", "172.16.158.1", 64) /
                     tcp(80, 40000, 9, Tins::TCP::SYN | Tins::TCP::ACK);
    auto arp = Tins::EthernetII(kCali, kPodMac) /
                     Tins::ARP("169.254.1.1", "172.16.158.1", {}, kPodMac);
    t.add(sight(n, "k8s-w1", "cali1", 0, req));
    t.add(sight(n, "k8s-w1", "cali2", 10 * kUs, req_out));
    t.add(sight(n, "k8s-w1", "cali2", 1 * kMs, rep));
    t.add(sight(n, "k8s-w1", "cali1", 2 * kMs, arp));
    t.finish();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].flow == 1);
    CHECK_FALSE(seen[0].reverse);
    CHECK(seen[0].hops == 2);
    CHECK(seen[0].kind == PathKind::same_node);
    CHECK(seen[1].flow == 1);
    CHECK(seen[1].reverse);
    CHECK(seen[2].flow == 0);  // ARP: stats only
    CHECK(t.flows().flows().size() == 1);
}

TEST_CASE("advance finishes packets whose window passed without a later sighting") {
    Names n;
    TracerOptions o;
    o.correlator.window_ns = 100 * kMs;
    Tracer t(n, o);
    int paths = 0;
    t.observe([&](const Path&, const Classification&, FlowTable::Added) { ++paths; });
    auto req = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
                     tcp(40000, 80, 1, Tins::TCP::SYN);
    t.add(sight(n, "k8s-w1", "cali1", 1000 * kMs, req));
    t.advance(1050 * kMs);  // inside the window: still in flight
    CHECK(paths == 0);
    CHECK(t.flows().flows().empty());
    t.advance(1101 * kMs);
    CHECK(paths == 1);
    REQUIRE(t.flows().flows().size() == 1);
    t.advance(900 * kMs);  // time never goes back
    t.finish();
    CHECK(paths == 1);
}

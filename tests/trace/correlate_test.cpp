#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <unordered_map>

#include "crafted.hpp"
#include "trace/classify.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kMs = 1'000'000, kUs = 1'000;

// pod1's SYN towards pod3 at pod1's veth and at tunl0 (raw IP).
struct Syn {
    Tins::EthernetII at_cali = Tins::EthernetII(kCali, kPodMac) /
                               ip("172.16.158.1", "172.16.184.4", 64) / tcp(40000, 80, 1);
    Tins::IP at_tunl0 = ip("172.16.158.1", "172.16.184.4", 63) / tcp(40000, 80, 1);
};

std::vector<Path> run(Correlator& c, const std::vector<Sighting>& in) {
    for (const auto& s : in) c.add(s);
    c.finish();
    return c.drain();
}

}  // namespace

TEST_CASE("the same segment twice at the same point is two packets (a retransmission)") {
    Names n;
    Syn syn;
    Correlator c;
    const auto paths = run(
        c, {
               sight(n, "k8s-w1", "cali1", 0, syn.at_cali),
               sight(n, "k8s-w1", "tunl0", 12 * kUs, syn.at_tunl0, core::linktype::raw),
               sight(n, "k8s-w1", "cali1", 200 * kMs, syn.at_cali),  // retransmitted after 200 ms
               sight(n, "k8s-w1", "tunl0", 200 * kMs + 12 * kUs, syn.at_tunl0, core::linktype::raw),
           });
    REQUIRE(paths.size() == 2);
    for (const auto& p : paths) {
        REQUIRE(p.sightings.size() == 2);
        CHECK(hop_latency_ns(p, 1) == 12 * kUs);
        CHECK_FALSE(p.ambiguous);
    }
    CHECK(paths[0].sightings[0].ts_ns == 0);
    CHECK(paths[1].sightings[0].ts_ns == 200 * kMs);
    CHECK(c.stats().repeats == 1);
    CHECK(c.stats().matched == 2);
    CHECK(c.stats().ambiguous == 0);
}

TEST_CASE("two in-flight copies that could both take a sighting: nearest wins, counted") {
    Names n;
    Syn syn;
    Correlator c;
    const auto paths = run(
        c, {
               sight(n, "k8s-w1", "cali1", 0, syn.at_cali),
               sight(n, "k8s-w1", "cali1", 1 * kMs, syn.at_cali),  // a duplicate before tunl0
               sight(n, "k8s-w1", "tunl0", 1 * kMs + 12 * kUs, syn.at_tunl0, core::linktype::raw),
               sight(n, "k8s-w1", "tunl0", 1 * kMs + 20 * kUs, syn.at_tunl0, core::linktype::raw),
           });
    CHECK(c.stats().ambiguous == 1);
    CHECK(c.stats().repeats == 1);
    REQUIRE(paths.size() == 2);
    // The first tunl0 sighting went to the nearer (later) copy; only the older one was left
    // for the second.
    CHECK(paths[0].sightings[0].ts_ns == 0);
    CHECK(paths[0].sightings[1].ts_ns == 1 * kMs + 20 * kUs);
    CHECK_FALSE(paths[0].ambiguous);
    CHECK(paths[1].sightings[0].ts_ns == 1 * kMs);
    CHECK(paths[1].sightings[1].ts_ns == 1 * kMs + 12 * kUs);
    CHECK(paths[1].ambiguous);
}

TEST_CASE("the same fingerprint with the addresses reversed is another packet") {
    Names n;
    Correlator c;
    // Same invariant fields both ways (fingerprints leave addresses out), opposite directions.
    auto there = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
                 tcp(5000, 5000, 77);
    auto back = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.2", "172.16.158.1", 64) /
                tcp(5000, 5000, 77);
    auto there_out = Tins::EthernetII(kPodMac, kCali) / ip("172.16.158.1", "172.16.158.2", 63) /
                     tcp(5000, 5000, 77);
    const auto a = sight(n, "k8s-w1", "cali1", 0, there);
    const auto b = sight(n, "k8s-w1", "cali2", 5 * kUs, back);
    REQUIRE(a.fingerprint == b.fingerprint);
    const auto paths = run(c, {a, b, sight(n, "k8s-w1", "cali2", 6 * kUs, there_out)});
    CHECK(c.stats().ambiguous == 0);
    CHECK(c.stats().matched == 1);
    CHECK(c.stats().other_way == 1);  // `back` did not join `there`
    REQUIRE(paths.size() == 2);
    CHECK(paths[0].sightings.size() == 2);
    CHECK(v4(paths[0].sightings[1].src) == v4("172.16.158.1"));
}

TEST_CASE("no fingerprint or a partial one is counted and not matched") {
    Names n;
    Correlator c;
    Sighting s;
    s.at = make_point(n, "k8s-w1", "ens5");
    c.add(s);
    s.fingerprint = 42;
    s.partial = true;
    c.add(s);
    c.add(s);
    c.finish();
    CHECK(c.stats().no_fingerprint == 1);
    CHECK(c.stats().partial == 2);
    CHECK(c.stats().matched == 0);
    CHECK(c.drain().size() == 3);
}

TEST_CASE("sightings more than the window after a packet's first start a new packet") {
    Names n;
    Syn syn;
    Correlator c(CorrelatorOptions{.window_ns = 10 * kMs});
    c.add(sight(n, "k8s-w1", "cali1", 0, syn.at_cali));
    c.add(sight(n, "k8s-w1", "tunl0", 11 * kMs, syn.at_tunl0, core::linktype::raw));
    CHECK(c.in_flight() == 1);  // the first was evicted when the second arrived
    const auto first = c.drain();
    REQUIRE(first.size() == 1);
    CHECK(first[0].sightings.size() == 1);
    c.finish();
    CHECK(c.drain().size() == 1);
    CHECK(c.stats().matched == 0);
}

TEST_CASE("in-flight state stays bounded by the window, not by the stream length") {
    Names n;
    const auto cali = make_point(n, "k8s-w1", "cali1");
    const auto nic = make_point(n, "k8s-w1", "ens5");
    auto feed = [&](std::int64_t packets) {
        Correlator c(CorrelatorOptions{.window_ns = 100 * kMs});
        std::size_t in_flight_max = 0, paths = 0;
        for (std::int64_t i = 0; i < packets; ++i) {
            Sighting s;
            s.fingerprint = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(i + 1);
            s.ip_version = 4;
            s.ts_ns = i * 100 * kUs;  // 10,000 packets a second
            s.at = cali;
            c.add(s);
            s.ts_ns += 15 * kUs;
            s.at = nic;
            c.add(s);
            in_flight_max = std::max(in_flight_max, c.in_flight());
            paths += c.drain().size();
        }
        c.finish();
        paths += c.drain().size();
        CHECK(paths == static_cast<std::size_t>(packets));
        CHECK(c.stats().matched == static_cast<std::uint64_t>(packets));
        CHECK(c.stats().peak_in_flight >= in_flight_max);
        return c.stats().peak_in_flight;
    };
    const auto short_peak = feed(20'000);
    const auto long_peak = feed(200'000);
    // 100 ms at 10,000 packets a second: about 1,000 packets in flight, whatever the length.
    CHECK(short_peak <= 1'002);
    CHECK(long_peak <= 1'002);
    CHECK(long_peak == short_peak);
}

TEST_CASE("packets whose fingerprints share a bucket each get only their own sightings") {
    // 3000 packets in flight at once: with random fingerprints, a few hundred share a hash
    // bucket with another (birthday bound), whatever the hash. Their second sightings arrive in
    // shuffled order.
    Names n;
    const auto a = make_point(n, "k8s-w1", "ens5");
    const auto b = make_point(n, "k8s-w2", "ens5");
    constexpr std::size_t kPackets = 3000;
    std::mt19937_64 rng(7);
    std::vector<std::uint64_t> fingerprints(kPackets);
    for (auto& f : fingerprints) f = rng() | 1;
    Sighting s;
    s.ip_version = 4;
    s.src = {10, 0, 0, 1};
    s.dst = {10, 0, 0, 2};
    Correlator c;
    std::int64_t ts = 0;
    s.at = a;
    for (const std::uint64_t f : fingerprints) {
        s.fingerprint = f;
        s.ts_ns = ts++;
        c.add(s);
    }
    std::vector<std::size_t> order(kPackets);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::unordered_map<std::uint64_t, std::int64_t> second;  // fingerprint -> its b sighting's time
    s.at = b;
    for (const std::size_t i : order) {
        s.fingerprint = fingerprints[i];
        s.ts_ns = ts++;
        second[s.fingerprint] = s.ts_ns;
        c.add(s);
    }
    c.finish();
    const auto paths = c.drain();
    REQUIRE(paths.size() == kPackets);
    for (const auto& p : paths) {
        REQUIRE(p.sightings.size() == 2);
        CHECK(p.sightings[0].at == a);
        CHECK(p.sightings[1].at == b);
        CHECK(p.sightings[1].fingerprint == p.sightings[0].fingerprint);
        CHECK(p.sightings[1].ts_ns == second.at(p.sightings[0].fingerprint));
        CHECK_FALSE(p.ambiguous);
    }
    CHECK(c.stats().matched == kPackets);
    CHECK(c.stats().ambiguous == 0);
}

TEST_CASE("a sighting joins only a packet it shares an address with, nearer or not") {
    Names n;
    Correlator c;
    Sighting a;
    a.fingerprint = 7;
    a.ip_version = 4;
    a.src = {10, 0, 0, 1};
    a.dst = {10, 0, 0, 2};
    a.at = make_point(n, "k8s-w1", "cali1");
    Sighting b = a;  // same fingerprint, other addresses, other veth, later
    b.src = {10, 0, 0, 3};
    b.dst = {10, 0, 0, 4};
    b.at = make_point(n, "k8s-w1", "cali2");
    b.ts_ns = 50 * kUs;
    Sighting t = a;
    t.at = make_point(n, "k8s-w1", "tunl0");
    t.ts_ns = 60 * kUs;
    const auto paths = run(c, {a, b, t});
    CHECK(c.stats().ambiguous == 0);
    CHECK(c.stats().other_way == 1);  // b
    CHECK(c.stats().matched == 1);
    REQUIRE(paths.size() == 2);
    CHECK(paths[0].sightings.size() == 2);  // a, then t
    CHECK(paths[0].sightings[1].ts_ns == 60 * kUs);
    CHECK(paths[1].sightings.size() == 1);
}

TEST_CASE("a sighting earlier than one already fed is counted and still matched") {
    Names n;
    Syn syn;
    Correlator c;
    const auto paths =
        run(c, {
                   sight(n, "k8s-w1", "tunl0", 12 * kUs, syn.at_tunl0, core::linktype::raw),
                   sight(n, "k8s-w1", "cali1", 0, syn.at_cali),
               });
    CHECK(c.stats().out_of_order == 1);
    REQUIRE(paths.size() == 1);
    REQUIRE(paths[0].sightings.size() == 2);
    CHECK(n.name(paths[0].sightings[0].at.interface) == "cali1");  // put back in time order
    CHECK(hop_latency_ns(paths[0], 1) == 12 * kUs);
}

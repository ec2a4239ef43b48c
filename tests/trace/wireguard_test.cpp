#include "trace/wireguard.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "crafted.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kMs = 1'000'000, kUs = 1'000;
constexpr const char* kA = "k8s-w1";
constexpr const char* kB = "k8s-w2";
constexpr const char* kVethA = "calice0906292e2";
constexpr const char* kVethB = "cali5f1a2b3c4d5";

static_assert(wireguard_payload(84) == 128);
static_assert(wireguard_payload(96) == 128);
static_assert(wireguard_payload(97) == 144);

// pod1 (k8s-w1) pings pod3 (k8s-w2): one echo request, `data` bytes of ICMP payload.
struct Ping {
    std::uint16_t seq = 1;
    std::size_t data = 56;

    std::uint32_t length() const { return static_cast<std::uint32_t>(20 + 8 + data); }
    Tins::IP inner(std::uint8_t ttl) const {
        Tins::ICMP icmp(Tins::ICMP::ECHO_REQUEST);
        icmp.id(0x4242);
        icmp.sequence(seq);
        return ip("172.16.158.1", "172.16.184.4", ttl, static_cast<std::uint16_t>(0x100 + seq)) /
               icmp / Tins::RawPDU(Bytes(data, static_cast<std::uint8_t>(seq)));
    }
    Sighting veth_a(Names& n, std::int64_t ts) const {
        auto f = Tins::EthernetII(kCali, kPodMac) / inner(64);
        return sight(n, kA, kVethA, ts, f);
    }
    Sighting wg(Names& n, const char* node, std::int64_t ts) const {
        auto f = inner(63);
        return sight(n, node, "wireguard.cali", ts, f, core::linktype::raw);
    }
    Sighting veth_b(Names& n, std::int64_t ts) const {
        auto f = Tins::EthernetII(kPodMac, kCali) / inner(62);
        return sight(n, kB, kVethB, ts, f);
    }
};

// A WireGuard message from k8s-w1 to k8s-w2 as the NIC `node` sees it.
Sighting nic(Names& n, const char* node, std::int64_t ts, const Bytes& msg) {
    auto f = Tins::EthernetII(kPeerMac, kNicMac) / ip("192.168.10.101", "192.168.10.102", 64) /
             Tins::UDP(51820, 51820) / Tins::RawPDU(msg);
    return sight(n, node, "ens5", ts, f);
}
Sighting data(Names& n, const char* node, std::int64_t ts, std::uint64_t counter,
              std::size_t plaintext) {
    return nic(n, node, ts, wg_data(0xa1b2c3d4, counter, plaintext));
}

// As the report does: correlate the merged capture (in ts order), then link.
struct Linked {
    std::size_t correlated = 0;
    std::vector<Path> paths;
    WireGuardStats stats;
};
Linked run(std::vector<Sighting> in) {
    std::ranges::stable_sort(in, {}, &Sighting::ts_ns);
    Correlator c;
    WireGuardLinker w;
    for (const auto& s : in) {
        c.add(s);
        // As the tracer does: the linker hears of plaintext points as sightings come in.
        if (s.at.kind == PointKind::wireguard) w.plaintext_seen(s.at.node);
    }
    c.finish();
    auto paths = c.drain();
    Linked out;
    out.correlated = paths.size();
    for (auto& p : paths) w.add(std::move(p));
    w.finish();
    out.paths = w.drain();
    out.stats = w.stats();
    return out;
}

std::vector<std::string> points(const Names& n, const Path& p) {
    std::vector<std::string> out;
    for (const auto& s : p.sightings)
        out.push_back(n.name(s.at.node) + "/" + n.name(s.at.interface));
    return out;
}

const std::vector<std::string> kSixPoints = {
    "k8s-w1/calice0906292e2", "k8s-w1/wireguard.cali", "k8s-w1/ens5", "k8s-w2/ens5",
    "k8s-w2/wireguard.cali",  "k8s-w2/cali5f1a2b3c4d5"};

// The counter of the one transport data message merged into a path (0: none).
std::uint64_t counter_of(const Path& p) {
    std::uint64_t counter = 0;
    int n = 0;
    for (const auto& s : p.sightings)
        if (s.encap == Encap::wireguard && s.at.kind == PointKind::nic && n++ == 0)
            counter = s.wg_counter;
    return counter;
}

}  // namespace

TEST_CASE("one packet through all six points becomes one path in path order", "[wireguard]") {
    Names n;
    const Ping ping;
    // Encryption and decryption share a timestamp with their NIC sighting: only the path model
    // (sender: tunnel then NIC; receiver: NIC then tunnel) orders them.
    const auto r = run({ping.veth_a(n, 0), data(n, kA, 10 * kUs, 7, ping.length()),
                        ping.wg(n, kA, 10 * kUs), ping.wg(n, kB, 150 * kUs),
                        data(n, kB, 150 * kUs, 7, ping.length()), ping.veth_b(n, 160 * kUs)});
    REQUIRE(r.correlated == 2);
    REQUIRE(r.paths.size() == 1);
    const Path& p = r.paths[0];
    CHECK(points(n, p) == kSixPoints);
    CHECK(p.sightings[2].encap == Encap::wireguard);
    CHECK(p.sightings[2].wg_counter == 7);
    CHECK(p.sightings[3].tunnel_id == 0xa1b2c3d4);
    CHECK(p.sightings[5].ttl == 62);
    CHECK_FALSE(p.ambiguous);
    CHECK(r.stats.linked == 1);
    CHECK(r.stats.cipher_unlinked == 0);
    CHECK(r.stats.plain_unlinked == 0);
    CHECK(r.stats.ambiguous == 0);
}

TEST_CASE("interleaved packets of different lengths link by length", "[wireguard]") {
    Names n;
    const Ping x{.seq = 1, .data = 56};   // 84 bytes: 128 on the wire
    const Ping y{.seq = 2, .data = 200};  // 228 bytes: 272 on the wire
    const auto r =
        run({x.veth_a(n, 0), x.wg(n, kA, 5 * kUs), y.veth_a(n, 10 * kUs), y.wg(n, kA, 15 * kUs),
             data(n, kA, 20 * kUs, 10, y.length()), data(n, kA, 25 * kUs, 11, x.length()),
             data(n, kB, 120 * kUs, 10, y.length()), y.wg(n, kB, 125 * kUs),
             data(n, kB, 130 * kUs, 11, x.length()), x.wg(n, kB, 135 * kUs), y.veth_b(n, 140 * kUs),
             x.veth_b(n, 145 * kUs)});
    REQUIRE(r.correlated == 4);
    REQUIRE(r.paths.size() == 2);
    CHECK(r.paths[0].sightings[0].length == 84);
    CHECK(counter_of(r.paths[0]) == 11);
    CHECK(r.paths[1].sightings[0].length == 228);
    CHECK(counter_of(r.paths[1]) == 10);
    for (const auto& p : r.paths) {
        CHECK(points(n, p) == kSixPoints);
        CHECK_FALSE(p.ambiguous);
    }
    CHECK(r.stats.linked == 2);
    CHECK(r.stats.ambiguous == 0);
}

TEST_CASE("same-length packets link first in, first out", "[wireguard]") {
    Names n;
    const Ping p1{.seq = 1}, p2{.seq = 2};
    SECTION("both waiting when the first is encrypted: FIFO, reported ambiguous") {
        const auto r = run(
            {p1.veth_a(n, 0), p1.wg(n, kA, 5 * kUs), p2.veth_a(n, 8 * kUs), p2.wg(n, kA, 12 * kUs),
             data(n, kA, 15 * kUs, 7, 84), data(n, kA, 20 * kUs, 8, 84),
             data(n, kB, 100 * kUs, 7, 84), p1.wg(n, kB, 105 * kUs), data(n, kB, 110 * kUs, 8, 84),
             p2.wg(n, kB, 115 * kUs), p1.veth_b(n, 120 * kUs), p2.veth_b(n, 125 * kUs)});
        REQUIRE(r.paths.size() == 2);
        CHECK(r.paths[0].sightings[0].ip_id == 0x101);
        CHECK(counter_of(r.paths[0]) == 7);
        CHECK(r.paths[0].ambiguous);
        CHECK(r.paths[1].sightings[0].ip_id == 0x102);
        CHECK(counter_of(r.paths[1]) == 8);
        CHECK_FALSE(r.paths[1].ambiguous);
        CHECK(points(n, r.paths[1]) == kSixPoints);
        CHECK(r.stats.linked == 2);
        CHECK(r.stats.ambiguous == 1);
    }
    SECTION("one at a time: no doubt") {
        const auto r =
            run({p1.veth_a(n, 0), p1.wg(n, kA, 5 * kUs), data(n, kA, 15 * kUs, 7, 84),
                 data(n, kB, 100 * kUs, 7, 84), p1.wg(n, kB, 105 * kUs), p2.veth_a(n, 1 * kMs),
                 p2.wg(n, kA, 1 * kMs + 5 * kUs), data(n, kA, 1 * kMs + 15 * kUs, 8, 84),
                 data(n, kB, 1 * kMs + 100 * kUs, 8, 84), p2.wg(n, kB, 1 * kMs + 105 * kUs)});
        REQUIRE(r.paths.size() == 2);
        CHECK(counter_of(r.paths[0]) == 7);
        CHECK(counter_of(r.paths[1]) == 8);
        CHECK(r.paths[0].sightings.size() == 5);
        CHECK_FALSE(r.paths[0].ambiguous);
        CHECK_FALSE(r.paths[1].ambiguous);
        CHECK(r.stats.ambiguous == 0);
    }
    SECTION(
        "a plaintext decrypted before the ciphertext arrived is not its "
        "partner") {
        // p1's own ciphertext was not captured; p1 was decrypted on k8s-w2 at 50 us, before the
        // only ciphertext reached k8s-w2's NIC.
        const auto r = run({p1.wg(n, kA, 0), p2.wg(n, kA, 5 * kUs), p1.wg(n, kB, 50 * kUs),
                            data(n, kA, 10 * kUs, 8, 84), data(n, kB, 100 * kUs, 8, 84),
                            p2.wg(n, kB, 105 * kUs)});
        REQUIRE(r.paths.size() == 2);
        CHECK(r.paths[0].sightings.size() == 2);
        CHECK(counter_of(r.paths[0]) == 0);
        CHECK(counter_of(r.paths[1]) == 8);
        CHECK(r.paths[1].sightings.size() == 4);
        CHECK_FALSE(r.paths[1].ambiguous);
        CHECK(r.stats.linked == 1);
        CHECK(r.stats.plain_unlinked == 1);
        CHECK(r.stats.ambiguous == 0);
    }
}

TEST_CASE("what cannot be linked passes through, counted", "[wireguard]") {
    Names n;
    const Ping lost{.seq = 1}, alone{.seq = 2, .data = 100}, local{.seq = 3}, back{.seq = 4};
    auto same_node = Tins::EthernetII(kPodMac, kCali) / local.inner(63);
    auto delivered = Tins::EthernetII(kPodMac, kCali) / back.inner(62);
    auto r = run({
        data(n, kA, 0, 5, 84),  // its plaintext was not captured
        data(n, kB, 90 * kUs, 5, 84),
        lost.wg(n, kA, 100 * kMs),
        data(n, kA, 160 * kMs, 6,
             84),                    // `lost`'s length, but 60 ms later: past the window
        alone.wg(n, kA, 200 * kMs),  // no ciphertext of its length anywhere
        alone.wg(n, kB, 200 * kMs + 90 * kUs),
        local.veth_a(n, 300 * kMs),  // same node: not WireGuard's business
        sight(n, kA, "calibd2348b4f67", 300 * kMs + 5 * kUs, same_node),
        // Decrypted on k8s-w1 and delivered to a pod there: it did not leave by this tunnel.
        back.wg(n, kA, 400 * kMs),
        sight(n, kA, kVethA, 400 * kMs + 5 * kUs, delivered),
        data(n, kA, 400 * kMs + 10 * kUs, 7, 84),
    });
    REQUIRE(r.paths.size() == 7);
    // Paths WireGuard has no part in overtake held ones: compare in time order.
    std::ranges::stable_sort(r.paths, {}, [](const Path& p) { return p.sightings.front().ts_ns; });
    CHECK(r.paths[0].sightings.size() == 2);
    CHECK(counter_of(r.paths[0]) == 5);
    CHECK(r.paths[1].sightings.size() == 1);
    CHECK(r.paths[2].sightings.size() == 1);
    CHECK(r.paths[2].sightings[0].ts_ns == 160 * kMs);
    CHECK(r.paths[3].sightings.size() == 2);
    CHECK(r.paths[3].sightings[0].length == 128);
    CHECK(r.paths[4].sightings.size() == 2);
    CHECK(r.paths[5].sightings.size() == 2);
    CHECK(r.paths[6].sightings.size() == 1);
    CHECK(counter_of(r.paths[6]) == 7);
    CHECK(r.stats.linked == 0);
    CHECK(r.stats.cipher_unlinked == 3);
    CHECK(r.stats.plain_unlinked == 3);
}

TEST_CASE("keepalives and handshakes pass through unchanged", "[wireguard]") {
    Names n;
    Bytes init(148, 0x11);
    init[0] = 1;
    init[1] = init[2] = init[3] = 0;
    put_le32(init, 4, 0x01020304);
    const Ping ping;
    const auto r = run({nic(n, kA, 0, init), nic(n, kB, 80 * kUs, init), data(n, kA, 1 * kMs, 0, 0),
                        data(n, kB, 1 * kMs + 80 * kUs, 0, 0), ping.wg(n, kA, 2 * kMs),
                        data(n, kA, 2 * kMs + 5 * kUs, 1, 84)});
    REQUIRE(r.paths.size() == 3);
    CHECK(r.paths[0].sightings.size() == 2);
    CHECK(r.paths[0].sightings[0].wg_type == 1);
    CHECK(r.paths[0].sightings[0].tunnel_id == 0x01020304);
    CHECK(r.paths[1].sightings.size() == 2);
    CHECK(r.paths[1].sightings[0].length == 20 + 8 + 32);
    CHECK(r.paths[2].sightings.size() == 2);
    CHECK(r.stats.handshakes == 1);
    CHECK(r.stats.keepalives == 1);
    CHECK(r.stats.linked == 1);
    CHECK(r.stats.cipher_unlinked == 0);
}

TEST_CASE("streaming: paths leave a window after they arrive", "[wireguard]") {
    Names n;
    constexpr int kPackets = 1000;
    constexpr std::int64_t kGap = 10 * kMs;  // 1000 packets over 10 s
    std::vector<Sighting> in;
    for (int i = 0; i < kPackets; ++i) {
        const Ping p{.seq = static_cast<std::uint16_t>(i + 1), .data = 56};
        const std::int64_t t = i * kGap;
        for (auto s : {p.veth_a(n, t), p.wg(n, kA, t + 5 * kUs),
                       data(n, kA, t + 10 * kUs, i + 1, 84), data(n, kB, t + 100 * kUs, i + 1, 84),
                       p.wg(n, kB, t + 100 * kUs), p.veth_b(n, t + 110 * kUs)})
            in.push_back(s);
    }
    Correlator c;
    WireGuardLinker w;
    std::vector<Path> out;
    std::size_t fed = 0, most_held = 0;
    auto pass = [&] {
        for (auto& p : c.drain()) {
            w.add(std::move(p));
            ++fed;
        }
        for (auto& p : w.drain()) out.push_back(std::move(p));
        most_held = std::max<std::size_t>(most_held, fed - out.size() - w.stats().linked);
    };
    for (const auto& s : in) {
        c.add(s);
        if (s.at.kind == PointKind::wireguard) w.plaintext_seen(s.at.node);
        pass();
    }
    // The last sighting (9.99011 s) closed the correlator's packets that began before 7.99011 s
    // (0..799); the linker, its newest path at 7.99001 s, let go of the plaintexts sent before
    // 7.89001 s (0..789), their ciphertexts merged.
    CHECK(out.size() == 790);
    // Two paths per 10 ms: the linker holds at most the plaintext and ciphertext of 2 windows.
    CHECK(most_held <= 22);
    c.finish();
    pass();
    w.finish();
    for (auto& p : w.drain()) out.push_back(std::move(p));
    REQUIRE(out.size() == kPackets);
    for (int i = 0; i < kPackets; ++i) {
        CHECK(out[i].sightings.size() == 6);
        CHECK(counter_of(out[i]) == static_cast<std::uint64_t>(i + 1));
    }
    CHECK(w.stats().linked == kPackets);
    CHECK(w.stats().cipher_unlinked == 0);
    CHECK(w.stats().plain_unlinked == 0);
}

TEST_CASE("bad input is refused with its reason", "[wireguard]") {
    WireGuardLinker w;
    CHECK_THROWS_WITH(w.add(Path{}), Catch::Contains("empty path"));
    WireGuardLinker negative(WireGuardOptions{.link_window_ns = -1});
    Names n;
    CHECK_THROWS_WITH(negative.add(Path{.sightings = {data(n, kA, 0, 1, 84)}}),
                      Catch::Contains("link_window_ns out of range: -1"));
}

TEST_CASE("a ciphertext from a node without a wireguard.cali capture is not held", "[wireguard]") {
    Names n;
    WireGuardLinker w;
    Path cipher;
    cipher.sightings.push_back(data(n, kA, 0, 5, 84));
    w.add(std::move(cipher));
    // No finish(): with no plaintext point on its node there is nothing to wait for.
    const auto out = w.drain();
    REQUIRE(out.size() == 1);
    CHECK(w.stats().cipher_unlinked == 1);

    // Once the node has one, the next ciphertext waits for its plaintext.
    w.plaintext_seen(n.intern(kA));
    Path next;
    next.sightings.push_back(data(n, kA, kMs, 6, 84));
    w.add(std::move(next));
    CHECK(w.drain().empty());
    w.finish();
    CHECK(w.drain().size() == 1);
    CHECK(w.stats().cipher_unlinked == 2);
}

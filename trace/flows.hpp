#pragma once
// Flows: both directions of one conversation, NAT-aware (the two sides of a SNAT or DNAT are one
// flow), keyed as the client pod sees it, with packet/byte counts per direction, per-hop latency
// percentiles, retransmissions, where paths ended (for diagnose()), and ICMP errors linked to
// the packet they quote.
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "trace/classify.hpp"
#include "trace/correlate.hpp"
#include "trace/ip.hpp"
#include "trace/sighting.hpp"
#include "trace/u64_map.hpp"

namespace podtrace::trace {

// Latency samples in log-spaced buckets (4 per octave: a value is known to within 19%), kept
// sparse so a hop costs a few bytes whatever the packet count. Negative values (cross-node hops
// inside the clock uncertainty) get buckets of their own.
class LatencyStats {
public:
    void add(std::int64_t ns);
    std::uint64_t count() const { return count_; }
    std::int64_t min_ns() const { return min_; }
    std::int64_t max_ns() const { return max_; }
    // The q-quantile (0 < q <= 1) as the midpoint of its bucket, clamped to [min, max]; exact
    // when the bucket holds one distinct value range of width 0 (min == max).
    std::int64_t quantile(double q) const;

private:
    std::vector<std::pair<std::int16_t, std::uint32_t>> buckets_;  // sorted by bucket
    std::uint64_t count_ = 0;
    std::int64_t min_ = INT64_MAX, max_ = INT64_MIN;
};

struct HopStat {
    PointId from, to;
    bool reverse = false;  // a hop of the server -> client direction
    LatencyStats latency;
    std::uint8_t ts_digits = 9;  // the coarser precision of the two points' timestamps
};

// Where paths of a flow ended, other than at a pod's veth going into the pod: diagnose() decides
// whether a capture point that should have come next was watching.
struct PathEnd {
    PointId at;
    bool reverse = false;
    bool transmit = false;  // still on the node that sent it (veth from pod, tunnel/NIC out)
    std::uint64_t count = 0;
    std::int64_t first_ns = 0, last_ns = 0;
    Sighting last;  // the last sighting of the first such path
};

struct IcmpErrorLink {
    Sighting error;        // the ICMP error as first seen
    std::size_t hop = 0;   // hop index in the quoted packet's path where it was last seen
    bool reverse = false;  // the quoted packet went server -> client
    std::uint64_t count = 0;
};

struct FlowDir {
    std::uint64_t packets = 0, bytes = 0;  // bytes: IP total length as sent
    std::uint64_t retransmissions = 0;     // same TCP seq and length again at the same point
    std::uint64_t ambiguous = 0;           // paths the correlator flagged
    std::uint32_t max_df_length = 0;       // largest DF packet sent (MTU checks)
    std::int64_t max_df_ns = 0;
    std::uint64_t clear_on_wire = 0;  // pod IPs seen on a NIC between two nodes (not WG)
    std::uint64_t wireguard = 0;      // paths carried by WireGuard
};

struct Flow {
    std::uint32_t id = 0;  // 1, 2, ... in order of first packet
    std::uint8_t proto = 0, version = 0;
    // As the client's pod sees it: client = sender of the first packet seen (a SYN's sender when
    // one was seen), server = where it sent it (a ClusterIP stays a ClusterIP).
    Endpoint client, server;
    // From the path with most hops; a path with a rewrite wins over one without.
    PathKind kind = PathKind::unknown;
    Encap encap = Encap::none;
    std::uint32_t vni = 0;
    std::optional<Rewrite> snat, dnat;  // client->server direction: pod -> node, ClusterIP -> pod
    FlowDir fwd, rev;
    std::vector<HopStat> hops;  // per consecutive pair of points, in path order
    // At most kMaxEnds distinct ends: paths ending elsewhere after that are not recorded.
    std::vector<PathEnd> ends;
    std::vector<IcmpErrorLink> icmp_errors;
    Path example_fwd, example_rev;  // the path with most hops each way (empty if none)
    std::int64_t first_ns = 0, last_ns = 0;
    // For "no reply": TCP SYN / SYN-ACK, ICMP echo request / reply, UDP each way.
    bool syn = false, syn_ack = false, echo_request = false, echo_reply = false;

    static constexpr std::size_t kMaxEnds = 8;
};

struct ArpStats {
    std::uint64_t gateway_requests = 0;  // a pod asking for 169.254.1.1
    std::uint64_t proxy_replies = 0;     // answered with ee:ee:ee:ee:ee:ee (Calico's proxy ARP)
    std::uint64_t other = 0;
};

struct FlowStats {
    std::uint64_t paths = 0;
    std::uint64_t arp = 0;
    std::uint64_t icmp_errors_linked = 0, icmp_errors_unlinked = 0;
    ArpStats arp_detail;
};

class FlowTable {
public:
    // Where add() put a path: Flow::id (0: an ARP path, counted in stats only) and whether it
    // went server -> client.
    struct Added {
        std::uint32_t flow = 0;
        bool reverse = false;
    };
    // Adds a finished path (its classification from classify()). ARP paths count in stats only;
    // an ICMP error is linked to the flow of the packet it quotes when that packet was seen in
    // the last `quote_window_ns`, else it makes a flow of its own.
    Added add(const Path& p, const Classification& c);

    const std::vector<Flow>& flows() const { return flows_; }
    const FlowStats& stats() const { return stats_; }

    std::int64_t quote_window_ns = 2'000'000'000;

private:
    struct Key {
        IpAddr a, b;
        std::uint16_t pa = 0, pb = 0;
        std::uint8_t proto = 0;
        // Word compares: the defaulted one calls memcmp per address, on every packet.
        bool operator==(const Key& o) const {
            std::uint64_t x[4], y[4];
            std::memcpy(x, a.addr.data(), 16);
            std::memcpy(x + 2, b.addr.data(), 16);
            std::memcpy(y, o.a.addr.data(), 16);
            std::memcpy(y + 2, o.b.addr.data(), 16);
            return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0 &&
                   a.version == o.a.version && b.version == o.b.version && pa == o.pa &&
                   pb == o.pb && proto == o.proto;
        }
    };
    // Non-zero, for U64Map; equal keys hash alike, different keys rarely.
    static std::uint64_t key_hash(const Key& k);
    // The packets an ICMP error may quote, by quote key in a direct-mapped cache: one store per
    // packet, no eviction pass; a newer packet with the same slot replaces an older one, so at
    // high rates the window is shorter than quote_window_ns (16384 slots: 16 ms at 1M pps).
    struct Quoted {
        std::uint64_t key = 0;  // 0: empty
        std::int64_t ts = 0;
        std::uint32_t flow = 0;
        std::uint16_t hop = 0;
        bool reverse = false;
    };
    static constexpr int kQuoteBits = 14;
    static std::size_t quote_slot(std::uint64_t key) {
        return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ull) >> (64 - kQuoteBits));
    }
    // What a flow needs remembered but does not show: the last TCP segments each way (a
    // retransmission is the same seq and length again at the same point), and how the path
    // that set the flow's kind ranked.
    struct Segment {
        std::uint32_t seq = 0, length = 0;
        PointId at;
        bool used = false;
    };
    struct FlowState {
        std::array<std::array<Segment, 8>, 2> segments{};
        std::array<std::uint8_t, 2> next{};
        std::uint64_t kind_rank = 0;
        Key key;  // checked on an index hit: flows whose keys' hashes collide stay apart
    };
    // The flow with `key`, added (empty, fresh set) when there is none.
    std::uint32_t find_or_add(const Key& key, bool& fresh);
    std::vector<Flow> flows_;
    std::vector<FlowState> state_;  // parallel to flows_
    // key_hash -> flow index: open addressing, no allocation per flow (unordered_map's node
    // allocation and modulo bucket were most of add()). A hash already taken by another key
    // moves on to next_hash of it.
    U64Map index_;
    // Consecutive packets mostly belong to one flow: its key is checked before the map.
    Key last_key_;
    std::uint32_t last_flow_ = UINT32_MAX;
    std::vector<Quoted> quoted_ = std::vector<Quoted>(std::size_t{1} << kQuoteBits);
    FlowStats stats_;
};

}  // namespace podtrace::trace

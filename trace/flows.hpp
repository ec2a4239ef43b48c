#pragma once
// Flows: both directions of one conversation, NAT-aware (the two sides of a SNAT or DNAT are one
// flow), keyed as the client pod sees it, with packet/byte counts per direction, per-hop latency
// percentiles, retransmissions, where paths ended (for diagnose()), and ICMP errors linked to
// the packet they quote.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "trace/classify.hpp"
#include "trace/correlate.hpp"
#include "trace/ip.hpp"
#include "trace/sighting.hpp"

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
    // Out of line and cold, so that add() needs no saved registers.
    [[gnu::cold]] void new_bucket(std::size_t i, std::int16_t b);
    std::vector<std::pair<std::int16_t, std::uint32_t>> buckets_;  // sorted by bucket
    std::uint64_t count_ = 0;
    std::int64_t min_ = INT64_MAX, max_ = INT64_MIN;
    std::size_t last_ = 0;  // the bucket the last sample went to
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
    PathKind route = PathKind::unknown;  // a Service's: same-node or cross-node (Classification)
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
    // A flow's two ends as words, in a fixed order of ends so that both directions key alike
    // (any order does: it is never shown), and the protocol.
    struct Key {
        std::uint64_t lo0 = 0, lo1 = 0, hi0 = 0, hi1 = 0;
        std::uint64_t rest = 0;  // both ports, protocol, IP version
        bool operator==(const Key& o) const {
            return ((lo0 ^ o.lo0) | (lo1 ^ o.lo1) | (hi0 ^ o.hi0) | (hi1 ^ o.hi1) |
                    (rest ^ o.rest)) == 0;
        }
    };
    static Key key_of(const Sighting& view, std::uint16_t sport, std::uint16_t dport);
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
    // The last TCP segments one way (a retransmission is the same seq and length again at the
    // same point) in a ring, with a filter that spares most segments the scan of it: the ring
    // is searched only when the bit a segment's seq and length hash to is set. `seen` has the
    // bits of the entries written since `next` last wrapped, `seen_before` those of the round
    // before, so together they cover every entry.
    struct Segments {
        std::array<std::uint64_t, 8> seq_length{};  // seq << 32 | length
        std::array<PointId, 8> at{};
        std::uint64_t seen = 0, seen_before = 0;
        std::uint8_t used = 0, next = 0;  // entries filled; where the next one goes
    };
    // What a flow needs remembered but does not show: its segments each way, and how the path
    // that set the flow's kind ranked.
    struct FlowState {
        std::array<Segments, 2> segments{};
        std::uint64_t kind_rank = 0;
    };
    static constexpr std::uint32_t kNoFlow = UINT32_MAX;
    std::uint32_t find(const Key& key, std::uint64_t hash) const;  // kNoFlow when none
    void add_to_index(std::uint32_t idx, std::uint64_t hash);
    std::uint32_t add_flow(const Key& key, std::uint64_t hash, const Sighting& view, bool echo,
                           std::int64_t ts_ns);
    void count_arp(const Sighting& first);
    // The flow of the packet an ICMP error quotes, when it was seen recently enough.
    std::optional<Added> link_icmp_error(const Sighting& first);
    // Whether `first` repeats a segment in `ring`; remembered there if not.
    static bool retransmitted(Segments& ring, const Sighting& first);
    static void add_hops(Flow& f, const Path& p, bool reverse);
    static void add_end(Flow& f, const Sighting& first, const Sighting& last, bool reverse);
    // The end recorded for a path ending at `last`; nullptr when a flow has kMaxEnds already.
    static PathEnd* new_end(Flow& f, const Sighting& first, const Sighting& last, bool reverse);
    std::vector<Flow> flows_;
    std::vector<FlowState> state_;  // parallel to flows_
    std::vector<Key> keys_;         // parallel to flows_
    // Flow index by key: open addressing with linear probing, at most half full, so a lookup
    // mostly reads one slot and one key. A slot holds the key hash's top half and the flow
    // index + 1 (0: empty): keys are compared only when the hashes agree. The table doubles
    // as flows come; nothing is allocated per packet.
    static constexpr std::uint64_t kTagMask = ~std::uint64_t{0xffffffff};
    std::vector<std::uint64_t> index_ = std::vector<std::uint64_t>(64);
    std::vector<Quoted> quoted_ = std::vector<Quoted>(std::size_t{1} << kQuoteBits);
    FlowStats stats_;
};

}  // namespace podtrace::trace

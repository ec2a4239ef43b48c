#include "trace/flows.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <tuple>
#include <utility>

namespace podtrace::trace {

namespace {

constexpr std::uint16_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;

// Bucket of |ns| > 0: 4 per octave, from the bit width and the two bits below the top one.
int magnitude_bucket(std::uint64_t v) {
    const int w = std::bit_width(v);
    const int sub =
        w >= 3 ? static_cast<int>(v >> (w - 3)) & 3 : static_cast<int>(v << (3 - w)) & 3;
    return (w - 1) * 4 + sub + 1;
}

// The midpoint of the values a positive bucket holds.
std::uint64_t bucket_mid(int b) {
    const int w = (b - 1) / 4 + 1, sub = (b - 1) % 4;
    if (w < 3) return (std::uint64_t{4u + sub} << w) >> 3;  // one value per bucket
    const std::uint64_t lo = std::uint64_t{4u + sub} << (w - 3);
    return lo + (std::uint64_t{1} << (w - 3)) / 2;
}

// An echo's identifier stands for both ports, so a request and its reply key alike.
std::uint16_t view_source_port(const Sighting& s, bool echo) {
    return s.has_ports || echo ? s.sport : 0;
}
std::uint16_t view_destination_port(const Sighting& s, bool echo) {
    return s.has_ports ? s.dport : echo ? s.sport : 0;
}

// A segment that uses sequence space (data, SYN, FIN): a repeat of it at the same point is a
// retransmission. Pure ACKs repeat legitimately (duplicate ACKs), so they never count; a packet
// longer than the largest IP + TCP header must carry data even without PSH.
bool carries_sequence(const Sighting& s) {
    if (s.tcp_flags & (kSyn | kFin | kPsh)) return true;
    const std::uint32_t headers = (s.ip_version == 6 ? 40 : 20) + 60;
    return s.length > headers;
}

// Where a path's kind comes from: a path showing a rewrite beats one without, then more hops.
std::uint64_t kind_rank(const Classification& c, std::size_t hops) {
    const bool rewrite = c.src_nat.has_value() || c.dst_nat.has_value();
    return (rewrite ? std::uint64_t{1} << 32 : 0) | std::min<std::uint64_t>(hops, 0xffffffffu);
}

}  // namespace

void LatencyStats::add(std::int64_t ns) {
    std::int16_t b = 0;
    if (ns > 0) b = static_cast<std::int16_t>(magnitude_bucket(static_cast<std::uint64_t>(ns)));
    if (ns < 0)
        b = static_cast<std::int16_t>(-magnitude_bucket(0 - static_cast<std::uint64_t>(ns)));
    // Found by stepping from the last sample's bucket: a hop's samples fall in or near it.
    std::size_t i = last_;
    while (i > 0 && buckets_[i - 1].first >= b) --i;
    while (i < buckets_.size() && buckets_[i].first < b) ++i;
    if (i == buckets_.size() || buckets_[i].first != b) new_bucket(i, b);
    last_ = i;
    ++buckets_[i].second;
    ++count_;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
}

void LatencyStats::new_bucket(std::size_t i, std::int16_t b) {
    buckets_.insert(buckets_.begin() + static_cast<std::ptrdiff_t>(i), {b, 0});
}

std::int64_t LatencyStats::quantile(double q) const {
    if (count_ == 0) return 0;
    const auto wanted = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    const std::uint64_t rank = std::clamp<std::uint64_t>(wanted, 1, count_);
    std::uint64_t seen = 0;
    std::int64_t mid = max_;
    for (const auto& [b, n] : buckets_) {
        seen += n;
        if (seen < rank) continue;
        if (b == 0)
            mid = 0;
        else if (b > 0)
            mid = static_cast<std::int64_t>(bucket_mid(b));
        else
            mid = -static_cast<std::int64_t>(bucket_mid(-b));
        break;
    }
    return std::clamp(mid, min_, max_);
}

inline FlowTable::Key FlowTable::key_of(const Sighting& view, std::uint16_t sport,
                                        std::uint16_t dport) {
    const AddrWords a = addr_words(view.src), b = addr_words(view.dst);
    const bool src_first = std::tie(a.w0, a.w1, sport) <= std::tie(b.w0, b.w1, dport);
    const AddrWords& lo = src_first ? a : b;
    const AddrWords& hi = src_first ? b : a;
    const std::uint64_t lo_port = src_first ? sport : dport;
    const std::uint64_t hi_port = src_first ? dport : sport;
    return {lo.w0, lo.w1, hi.w0, hi.w1,
            lo_port << 32 | hi_port << 16 | std::uint64_t{view.proto} << 8 | view.ip_version};
}

inline std::uint64_t FlowTable::key_hash(const Key& k) {
    // Independent multiplies (they overlap in the pipeline), then a finalizer so that every
    // key bit reaches the low bits the index takes and the high ones the slot's tag takes.
    std::uint64_t h = (k.lo0 * 0x9e3779b97f4a7c15ull) ^ (k.lo1 * 0xc2b2ae3d27d4eb4full) ^
                      (k.hi0 * 0x165667b19e3779f9ull) ^ (k.hi1 * 0x27d4eb2f165667c5ull) ^
                      (k.rest * 0xbf58476d1ce4e5b9ull);
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 29);
}

inline std::uint32_t FlowTable::find(const Key& key, std::uint64_t hash) const {
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = hash & mask; index_[i] != 0; i = (i + 1) & mask) {
        const std::uint64_t slot = index_[i];
        const auto idx = static_cast<std::uint32_t>(slot) - 1;
        if ((slot & kTagMask) == (hash & kTagMask) && keys_[idx] == key) return idx;
    }
    return kNoFlow;
}

void FlowTable::add_to_index(std::uint32_t idx, std::uint64_t hash) {
    const std::size_t mask = index_.size() - 1;
    std::size_t i = hash & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = (hash & kTagMask) | (idx + 1);
}

std::uint32_t FlowTable::add_flow(const Key& key, std::uint64_t hash, const Sighting& view,
                                  bool echo, std::int64_t ts_ns) {
    const auto idx = static_cast<std::uint32_t>(flows_.size());
    Flow& f = flows_.emplace_back();
    f.id = idx + 1;
    f.proto = view.proto;
    f.version = view.ip_version;
    const Endpoint src{view.src, view.ip_version, view_source_port(view, echo)};
    const Endpoint dst{view.dst, view.ip_version, view_destination_port(view, echo)};
    // We saw the answer first: the one it answers is the client.
    const bool answer_first =
        (view.proto == kTcp && (view.tcp_flags & (kSyn | kAck)) == (kSyn | kAck)) ||
        view.echo_reply();
    f.client = answer_first ? dst : src;
    f.server = answer_first ? src : dst;
    f.first_ns = ts_ns;
    f.last_ns = ts_ns;
    state_.emplace_back();
    keys_.push_back(key);
    if (keys_.size() * 2 > index_.size()) {
        index_.assign(index_.size() * 2, 0);
        for (std::uint32_t i = 0; i < keys_.size(); ++i) add_to_index(i, key_hash(keys_[i]));
    } else {
        add_to_index(idx, hash);
    }
    return idx;
}

void FlowTable::count_arp(const Sighting& first) {
    ++stats_.arp;
    static constexpr decode::Addr kGateway{169, 254, 1, 1};
    if (first.arp_op == 1 && first.dst == kGateway)
        ++stats_.arp_detail.gateway_requests;
    else if (first.arp_op == 2 && first.src == kGateway && first.arp_calico)
        ++stats_.arp_detail.proxy_replies;
    else
        ++stats_.arp_detail.other;
}

std::optional<FlowTable::Added> FlowTable::link_icmp_error(const Sighting& first) {
    const Quoted& e = quoted_[quote_slot(first.quote_key)];
    const std::int64_t gap = core::sub_ns(first.ts_ns, e.ts);
    if (e.key != first.quote_key || gap > quote_window_ns || gap < -quote_window_ns) {
        ++stats_.icmp_errors_unlinked;
        return std::nullopt;
    }
    Flow& f = flows_[e.flow];
    auto link = std::ranges::find_if(f.icmp_errors, [&](const IcmpErrorLink& l) {
        return l.error.icmp_type == first.icmp_type && l.error.icmp_code == first.icmp_code &&
               l.error.icmp_mtu == first.icmp_mtu && l.error.at.node == first.at.node;
    });
    if (link == f.icmp_errors.end())
        link = f.icmp_errors.insert(link, IcmpErrorLink{first, e.hop, e.reverse, 0});
    ++link->count;
    ++stats_.icmp_errors_linked;
    return Added{f.id, e.reverse};
}

inline bool FlowTable::retransmitted(Segments& ring, const Sighting& first) {
    const std::uint64_t seq_length = std::uint64_t{first.tcp_seq} << 32 | first.length;
    const std::uint64_t bit = std::uint64_t{1} << ((seq_length * 0x9e3779b97f4a7c15ull) >> 58);
    if ((ring.seen | ring.seen_before) & bit)
        for (std::size_t i = 0; i < ring.used; ++i)
            if (ring.seq_length[i] == seq_length && ring.at[i] == first.at) return true;
    const std::size_t next = ring.next;
    ring.seq_length[next] = seq_length;
    ring.at[next] = first.at;
    ring.seen |= bit;
    if (next + 1 == ring.seq_length.size()) {
        ring.next = 0;
        ring.seen_before = std::exchange(ring.seen, 0);
    } else {
        ring.next = static_cast<std::uint8_t>(next + 1);
    }
    if (ring.used < ring.seq_length.size()) ++ring.used;
    return false;
}

void FlowTable::add_hops(Flow& f, const Path& p, bool reverse) {
    const auto& s = p.sightings;
    // A path's hops were added in path order by the first path that had them: the next hop
    // is mostly the entry after the last one.
    std::size_t k = 0;
    for (std::size_t i = 1; i < s.size(); ++i) {
        const auto is_hop = [&](const HopStat& h) {
            return h.reverse == reverse && h.from == s[i - 1].at && h.to == s[i].at;
        };
        if (k >= f.hops.size() || !is_hop(f.hops[k]))
            k = static_cast<std::size_t>(std::ranges::find_if(f.hops, is_hop) - f.hops.begin());
        if (k == f.hops.size()) {
            HopStat& h = f.hops.emplace_back();
            h.from = s[i - 1].at;
            h.to = s[i].at;
            h.reverse = reverse;
        }
        HopStat& hop = f.hops[k];
        hop.latency.add(hop_latency_ns(p, i));
        hop.ts_digits = std::min({hop.ts_digits, s[i - 1].ts_digits, s[i].ts_digits});
        ++k;
    }
}

PathEnd* FlowTable::new_end(Flow& f, const Sighting& first, const Sighting& last, bool reverse) {
    if (f.ends.size() == Flow::kMaxEnds) return nullptr;
    PathEnd& end = f.ends.emplace_back();
    end.at = last.at;
    end.reverse = reverse;
    end.first_ns = last.ts_ns;
    end.last = last;
    const bool from_pod =
        (first.at.kind == PointKind::pod_veth && first.direction == core::Direction::inbound) ||
        (first.at.kind == PointKind::pod_side && first.direction == core::Direction::outbound);
    const bool out =
        last.at.kind != PointKind::pod_veth && last.direction == core::Direction::outbound;
    end.transmit = last.at.node == first.at.node && (from_pod || out);
    return &end;
}

inline void FlowTable::add_end(Flow& f, const Sighting& first, const Sighting& last, bool reverse) {
    PathEnd* end = nullptr;
    for (PathEnd& e : f.ends)
        if (e.reverse == reverse && e.at == last.at) {
            end = &e;
            break;
        }
    if (!end && !(end = new_end(f, first, last, reverse))) return;
    ++end->count;
    end->first_ns = std::min(end->first_ns, last.ts_ns);
    end->last_ns = std::max(end->last_ns, last.ts_ns);
}

FlowTable::Added FlowTable::add(const Path& p, const Classification& c) {
    const auto& s = p.sightings;
    if (s.empty()) return {};
    ++stats_.paths;
    const Sighting& first = s.front();
    const Sighting& last = s.back();
    const std::size_t hops = s.size();

    if (first.ip_version == 0) {
        count_arp(first);
        return {};
    }
    if (first.icmp_error)
        if (const auto linked = link_icmp_error(first)) return *linked;

    // The client pod's view: a reply being de-NATed shows it at its last hop.
    const Sighting& view = c.reply ? last : first;
    const bool echo_request = view.echo_request(), echo_reply = view.echo_reply();
    const bool echo = echo_request || echo_reply;
    const Endpoint src{view.src, view.ip_version, view_source_port(view, echo)};
    const Key key = key_of(view, src.port, view_destination_port(view, echo));
    const std::uint64_t hash = key_hash(key);
    std::uint32_t idx = find(key, hash);
    if (idx == kNoFlow) idx = add_flow(key, hash, view, echo, first.ts_ns);
    Flow& f = flows_[idx];
    FlowState& st = state_[idx];

    // An echo's two ends carry the same identifier: the message type tells the way.
    const bool reverse = echo ? echo_reply : !(src == f.client);
    FlowDir& dir = reverse ? f.rev : f.fwd;
    ++dir.packets;
    dir.bytes += view.length;
    if (p.ambiguous) ++dir.ambiguous;

    bool wireguard = false, clear = false;
    std::int64_t first_ns = f.first_ns, last_ns = f.last_ns;
    for (const Sighting& x : s) {
        wireguard |= x.encap == Encap::wireguard || x.at.kind == PointKind::wireguard;
        // Inner addresses readable on a NIC and still the sender's: pod IPs on the wire.
        clear |= x.at.kind == PointKind::nic && x.encap != Encap::wireguard &&
                 same_addr(x.src, first.src) && x.ip_version == first.ip_version;
        if (x.at.kind == PointKind::pod_veth && x.df && x.length > dir.max_df_length) {
            dir.max_df_length = x.length;
            dir.max_df_ns = x.ts_ns;
        }
        first_ns = std::min(first_ns, x.ts_ns);
        last_ns = std::max(last_ns, x.ts_ns);
    }
    f.first_ns = first_ns;
    f.last_ns = last_ns;
    if (wireguard) ++dir.wireguard;
    if (clear && (c.kind == PathKind::cross_node || c.kind == PathKind::service))
        ++dir.clear_on_wire;

    if (view.proto == kTcp) {
        if (carries_sequence(first) && retransmitted(st.segments[reverse], first))
            ++dir.retransmissions;
        f.syn |= (view.tcp_flags & (kSyn | kAck)) == kSyn;
        f.syn_ack |= (view.tcp_flags & (kSyn | kAck)) == (kSyn | kAck);
    }
    f.echo_request |= echo_request;
    f.echo_reply |= echo_reply;

    if (const std::uint64_t rank = kind_rank(c, hops); rank > st.kind_rank) {
        st.kind_rank = rank;
        f.kind = c.kind;
        f.route = c.route;
        f.encap = c.encap;
        f.vni = c.vni;
    }
    if (!c.reply) {
        if (c.src_nat) f.snat = c.src_nat;
        if (c.dst_nat) f.dnat = c.dst_nat;
    } else if (!f.snat && !f.dnat) {
        // A reply's rewrite undoes the request's: turn it round to the client->server way.
        if (c.kind == PathKind::egress && c.dst_nat)
            f.snat = Rewrite{c.dst_nat->to, c.dst_nat->from, c.dst_nat->hop};
        else if (c.kind == PathKind::service && c.src_nat)
            f.dnat = Rewrite{c.src_nat->to, c.src_nat->from, c.src_nat->hop};
    }

    if (hops > 1) add_hops(f, p, reverse);

    const bool delivered =
        (last.at.kind == PointKind::pod_veth && last.direction == core::Direction::outbound) ||
        (last.at.kind == PointKind::pod_side && last.direction == core::Direction::inbound);
    if (!delivered) add_end(f, first, last, reverse);

    Path& example = reverse ? f.example_rev : f.example_fwd;
    if (hops > example.sightings.size()) example = p;

    if (first.quote_key != 0 && !first.icmp_error) {
        quoted_[quote_slot(first.quote_key)] = {
            first.quote_key, first.ts_ns, idx,
            static_cast<std::uint16_t>(std::min<std::size_t>(hops - 1, 0xffff)), reverse};
    }
    return {f.id, reverse};
}

}  // namespace podtrace::trace

#include "trace/flows.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

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

bool is_echo(const Sighting& s) {
    return s.echo_request() || s.echo_reply();
}

// An echo's identifier stands for both ports, so a request and its reply key alike.
Endpoint view_source(const Sighting& s) {
    return {s.src, s.ip_version, s.has_ports || is_echo(s) ? s.sport : std::uint16_t{0}};
}
Endpoint view_destination(const Sighting& s) {
    const std::uint16_t port = s.has_ports ? s.dport : is_echo(s) ? s.sport : 0;
    return {s.dst, s.ip_version, port};
}

bool endpoint_less(const Endpoint& a, const Endpoint& b) {
    const IpAddr x{a.addr, a.version}, y{b.addr, b.version};
    if (x != y) return x < y;
    return a.port < b.port;
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
    auto it = std::ranges::lower_bound(buckets_, b, {}, [](const auto& e) { return e.first; });
    if (it == buckets_.end() || it->first != b) it = buckets_.insert(it, {b, 0});
    ++it->second;
    ++count_;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
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

std::uint64_t FlowTable::key_hash(const Key& k) {
    std::uint64_t w[4];
    std::memcpy(w, k.a.addr.data(), 16);
    std::memcpy(w + 2, k.b.addr.data(), 16);
    // Independent multiplies (they overlap in the pipeline), then a finalizer for the top bits
    // U64Map indexes by.
    std::uint64_t h = (w[0] * 0x9e3779b97f4a7c15ull) ^ (w[1] * 0xc2b2ae3d27d4eb4full) ^
                      (w[2] * 0x165667b19e3779f9ull) ^ (w[3] * 0x27d4eb2f165667c5ull) ^
                      ((std::uint64_t{k.pa} << 32 | std::uint64_t{k.pb} << 16 | k.proto) *
                       0xbf58476d1ce4e5b9ull);
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    return h ? h : 1;
}

std::uint32_t FlowTable::find_or_add(const Key& key, bool& fresh) {
    // A full-period LCG step: from any hash it reaches every other, so a free one is found.
    const auto next_hash = [](std::uint64_t h) { return h * 0x9e3779b97f4a7c15ull + 1; };
    for (std::uint64_t h = key_hash(key);; h = next_hash(h)) {
        if (h == 0) continue;
        if (const std::uint64_t* v = index_.find(h)) {
            if (state_[*v].key == key) return static_cast<std::uint32_t>(*v);
            continue;
        }
        const auto idx = static_cast<std::uint32_t>(flows_.size());
        index_.set(h, idx);
        fresh = true;
        return idx;
    }
}

FlowTable::Added FlowTable::add(const Path& p, const Classification& c) {
    const auto& s = p.sightings;
    if (s.empty()) return {};
    ++stats_.paths;
    const Sighting& first = s.front();

    if (first.ip_version == 0) {
        ++stats_.arp;
        static constexpr decode::Addr kGateway{169, 254, 1, 1};
        if (first.arp_op == 1 && first.dst == kGateway)
            ++stats_.arp_detail.gateway_requests;
        else if (first.arp_op == 2 && first.src == kGateway && first.arp_calico)
            ++stats_.arp_detail.proxy_replies;
        else
            ++stats_.arp_detail.other;
        return {};
    }

    if (first.icmp_error) {
        if (const Quoted& e = quoted_[quote_slot(first.quote_key)]; e.key == first.quote_key) {
            const std::int64_t gap = first.ts_ns - e.ts;
            if (gap <= quote_window_ns && -gap <= quote_window_ns) {
                Flow& f = flows_[e.flow];
                auto link = std::ranges::find_if(f.icmp_errors, [&](const IcmpErrorLink& l) {
                    return l.error.icmp_type == first.icmp_type &&
                           l.error.icmp_code == first.icmp_code &&
                           l.error.icmp_mtu == first.icmp_mtu && l.error.at.node == first.at.node;
                });
                if (link == f.icmp_errors.end())
                    link = f.icmp_errors.insert(link, IcmpErrorLink{first, e.hop, e.reverse, 0});
                ++link->count;
                ++stats_.icmp_errors_linked;
                return {f.id, e.reverse};
            }
        }
        ++stats_.icmp_errors_unlinked;
    }

    // The client pod's view: a reply being de-NATed shows it at its last hop.
    const Sighting& view = c.reply ? s.back() : s.front();
    const Endpoint src = view_source(view), dst = view_destination(view);
    const bool src_first = !endpoint_less(dst, src);
    const Endpoint& lo = src_first ? src : dst;
    const Endpoint& hi = src_first ? dst : src;
    const Key key{{lo.addr, lo.version}, {hi.addr, hi.version}, lo.port, hi.port, view.proto};

    bool fresh = false;
    if (last_flow_ == UINT32_MAX || !(key == last_key_)) {
        last_flow_ = find_or_add(key, fresh);
        last_key_ = key;
    }
    if (fresh) {
        Flow f;
        f.id = static_cast<std::uint32_t>(flows_.size() + 1);
        f.proto = view.proto;
        f.version = view.ip_version;
        // We saw the answer first: the one it answers is the client.
        const bool answer_first =
            (view.proto == kTcp && (view.tcp_flags & (kSyn | kAck)) == (kSyn | kAck)) ||
            view.echo_reply();
        f.client = answer_first ? dst : src;
        f.server = answer_first ? src : dst;
        f.first_ns = first.ts_ns;
        f.last_ns = first.ts_ns;
        flows_.push_back(std::move(f));
        state_.emplace_back().key = key;
    }
    const std::uint32_t idx = last_flow_;
    Flow& f = flows_[idx];
    FlowState& st = state_[idx];

    // An echo's two ends carry the same identifier: the message type tells the way.
    const bool reverse = is_echo(view) ? view.echo_reply() : !(src == f.client);
    FlowDir& dir = reverse ? f.rev : f.fwd;
    ++dir.packets;
    dir.bytes += view.length;
    if (p.ambiguous) ++dir.ambiguous;

    bool wireguard = false, clear = false;
    for (const Sighting& x : s) {
        wireguard |= x.encap == Encap::wireguard || x.at.kind == PointKind::wireguard;
        // Inner addresses readable on a NIC and still the sender's: pod IPs on the wire.
        clear |= x.at.kind == PointKind::nic && x.encap != Encap::wireguard && x.src == first.src &&
                 x.ip_version == first.ip_version;
        if (x.at.kind == PointKind::pod_veth && x.df && x.length > dir.max_df_length) {
            dir.max_df_length = x.length;
            dir.max_df_ns = x.ts_ns;
        }
        f.first_ns = std::min(f.first_ns, x.ts_ns);
        f.last_ns = std::max(f.last_ns, x.ts_ns);
    }
    if (wireguard) ++dir.wireguard;
    if (clear && (c.kind == PathKind::cross_node || c.kind == PathKind::service))
        ++dir.clear_on_wire;

    if (view.proto == kTcp && carries_sequence(first)) {
        auto& ring = st.segments[reverse];
        const bool again = std::ranges::any_of(ring, [&](const Segment& g) {
            return g.used && g.seq == first.tcp_seq && g.length == first.length && g.at == first.at;
        });
        if (again) {
            ++dir.retransmissions;
        } else {
            auto& n = st.next[reverse];
            ring[n] = {first.tcp_seq, first.length, first.at, true};
            n = static_cast<std::uint8_t>((n + 1) % ring.size());
        }
    }

    if (view.proto == kTcp) {
        f.syn |= (view.tcp_flags & (kSyn | kAck)) == kSyn;
        f.syn_ack |= (view.tcp_flags & (kSyn | kAck)) == (kSyn | kAck);
    }
    f.echo_request |= view.echo_request();
    f.echo_reply |= view.echo_reply();

    if (const std::uint64_t rank = kind_rank(c, s.size()); rank > st.kind_rank) {
        st.kind_rank = rank;
        f.kind = c.kind;
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

    for (std::size_t i = 1; i < s.size(); ++i) {
        auto hop = std::ranges::find_if(f.hops, [&](const HopStat& h) {
            return h.reverse == reverse && h.from == s[i - 1].at && h.to == s[i].at;
        });
        if (hop == f.hops.end()) {
            hop = f.hops.insert(hop, HopStat{});
            hop->from = s[i - 1].at;
            hop->to = s[i].at;
            hop->reverse = reverse;
        }
        hop->latency.add(hop_latency_ns(p, i));
        hop->ts_digits = std::min({hop->ts_digits, s[i - 1].ts_digits, s[i].ts_digits});
    }

    const Sighting& last = s.back();
    const bool delivered =
        (last.at.kind == PointKind::pod_veth && last.direction == probes::Direction::outbound) ||
        (last.at.kind == PointKind::pod_side && last.direction == probes::Direction::inbound);
    if (!delivered) {
        auto end = std::ranges::find_if(
            f.ends, [&](const PathEnd& e) { return e.reverse == reverse && e.at == last.at; });
        if (end == f.ends.end() && f.ends.size() < Flow::kMaxEnds) {
            end = f.ends.insert(end, PathEnd{});
            end->at = last.at;
            end->reverse = reverse;
            end->first_ns = last.ts_ns;
            end->last = last;
            const bool from_pod = (first.at.kind == PointKind::pod_veth &&
                                   first.direction == probes::Direction::inbound) ||
                                  (first.at.kind == PointKind::pod_side &&
                                   first.direction == probes::Direction::outbound);
            const bool out = last.at.kind != PointKind::pod_veth &&
                             last.direction == probes::Direction::outbound;
            end->transmit = last.at.node == first.at.node && (from_pod || out);
        }
        if (end != f.ends.end()) {
            ++end->count;
            end->first_ns = std::min(end->first_ns, last.ts_ns);
            end->last_ns = std::max(end->last_ns, last.ts_ns);
        }
    }

    Path& example = reverse ? f.example_rev : f.example_fwd;
    if (s.size() > example.sightings.size()) example = p;

    if (first.quote_key != 0 && !first.icmp_error) {
        quoted_[quote_slot(first.quote_key)] = {
            first.quote_key, first.ts_ns, idx,
            static_cast<std::uint16_t>(std::min<std::size_t>(s.size() - 1, 0xffff)), reverse};
    }
    return {f.id, reverse};
}

}  // namespace podtrace::trace

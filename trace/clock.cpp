#include "trace/clock.hpp"

#include <algorithm>
#include <limits>

#include "core/time.hpp"

namespace podtrace::trace {

namespace {

// Fingerprints are hashes already, but a weak or structured one would bias the subsample: the
// splitmix64 finaliser spreads every input bit over the low bits the mask keeps.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// A fingerprint seen more often than this on one node is a repeat (retransmission, collision): its
// latest departure and earliest arrival may belong to different packets.
constexpr std::uint32_t kMaxCount = 4;

constexpr std::int64_t kNoSend = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kNoReceive = std::numeric_limits<std::int64_t>::max();

// v / 2 rounded down and, for v >= 0, up; neither overflows at the ends of the range.
std::int64_t floor_half(std::int64_t v) {
    return v >> 1;
}
std::int64_t ceil_half(std::int64_t v) {
    return (v >> 1) + (v & 1);
}

// The lower envelope of one-way delays between two nodes a < b.
struct Pair {
    std::int64_t d_ab = kNoReceive, d_ba = kNoReceive;
    std::uint64_t n_ab = 0, n_ba = 0;
    bool both() const { return n_ab && n_ba; }
    bool consistent() const { return core::add_ns(d_ab, d_ba) >= 0; }
    bool usable() const { return both() && consistent(); }
    std::uint64_t matches() const { return n_ab + n_ba; }
};

// One step of the chain from `from` to `to`: to's offset relative to from.
struct Step {
    std::int64_t offset, uncertainty;
    std::uint64_t forward, backward;  // packets from->to, to->from
};

Step step(const Pair& p, bool from_is_a) {
    const auto d_fwd = from_is_a ? p.d_ab : p.d_ba;
    const auto d_back = from_is_a ? p.d_ba : p.d_ab;
    // Rounding the offset down and the uncertainty up keeps [-d_back, d_fwd] inside the range.
    return Step{floor_half(core::sub_ns(d_fwd, d_back)), ceil_half(core::add_ns(d_fwd, d_back)),
                from_is_a ? p.n_ab : p.n_ba, from_is_a ? p.n_ba : p.n_ab};
}

}  // namespace

void ClockEstimator::add(const Sighting& s) {
    auto& seen = nodes_[s.at.node];
    if (s.ip_version == 0 || s.fingerprint == 0 || s.partial) return;
    if (s.direction == core::Direction::unknown) return;
    // On a pod veth inbound is from the pod, so the packet leaves the node's pods there.
    const bool veth = s.at.kind == PointKind::pod_veth;
    const bool sent = veth == (s.direction == core::Direction::inbound);
    if ((mix(s.fingerprint) & mask_) != 0) return;

    auto& e = seen[s.fingerprint];
    if (sent)
        e.last_sent = std::max(e.last_sent, s.ts_ns);
    else
        e.first_received = std::min(e.first_received, s.ts_ns);
    ++e.count;

    // Halve the subsample for every node at once, so all keep the same fingerprints.
    while (seen.size() > opt_.max_samples_per_node && mask_ != ~std::uint64_t{0}) {
        mask_ = mask_ * 2 + 1;
        for (auto& [node, map] : nodes_)
            std::erase_if(map, [&](const auto& kv) { return (mix(kv.first) & mask_) != 0; });
    }
}

bool ClockEstimator::wants(std::uint16_t node, std::uint64_t fingerprint, bool partial) {
    nodes_[node];
    return fingerprint != 0 && !partial && (mix(fingerprint) & mask_) == 0;
}

std::size_t ClockEstimator::samples() const {
    std::size_t n = 0;
    for (const auto& [node, map] : nodes_) n += map.size();
    return n;
}

std::vector<NodeClock> ClockEstimator::estimate() const {
    std::vector<std::uint16_t> ids;
    ids.reserve(nodes_.size());
    for (const auto& [node, map] : nodes_) ids.push_back(node);
    std::sort(ids.begin(), ids.end());
    const std::size_t n = ids.size();
    if (n == 0) return {};

    // pairs[i * n + j], i < j, over the nodes in id order.
    std::vector<Pair> pairs(n * n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& mi = nodes_.at(ids[i]);
        for (std::size_t j = i + 1; j < n; ++j) {
            const auto& mj = nodes_.at(ids[j]);
            const bool i_small = mi.size() <= mj.size();
            const auto& small = i_small ? mi : mj;
            const auto& large = i_small ? mj : mi;
            auto& p = pairs[i * n + j];
            for (const auto& [fp, s] : small) {
                if (s.count > kMaxCount) continue;
                const auto it = large.find(fp);
                if (it == large.end() || it->second.count > kMaxCount) continue;
                const auto& a = i_small ? s : it->second;
                const auto& b = i_small ? it->second : s;
                if (a.last_sent != kNoSend && b.first_received != kNoReceive) {
                    p.d_ab = std::min(p.d_ab, core::sub_ns(b.first_received, a.last_sent));
                    ++p.n_ab;
                }
                if (b.last_sent != kNoSend && a.first_received != kNoReceive) {
                    p.d_ba = std::min(p.d_ba, core::sub_ns(a.first_received, b.last_sent));
                    ++p.n_ba;
                }
            }
        }
    }
    const auto pair = [&](std::size_t i, std::size_t j) -> const Pair& {
        return i < j ? pairs[i * n + j] : pairs[j * n + i];
    };

    // Reference: most matches, preferring nodes that can be linked to another at all.
    std::size_t ref = 0;
    std::pair<bool, std::uint64_t> best{false, 0};
    for (std::size_t i = 0; i < n; ++i) {
        std::pair<bool, std::uint64_t> score{false, 0};
        for (std::size_t j = 0; j < n; ++j) {
            if (j == i) continue;
            score.first = score.first || pair(i, j).usable();
            score.second += pair(i, j).matches();
        }
        if (score > best) best = score, ref = i;
    }

    std::vector<NodeClock> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i].node = ids[i];
    out[ref].reference = out[ref].estimated = true;

    // Breadth first from the reference, so every node is as few steps away as it can be; among the
    // parents one level up, the one leaving the smallest uncertainty wins.
    std::vector<std::size_t> level{ref};
    std::vector<bool> done(n, false);
    done[ref] = true;
    while (!level.empty()) {
        std::vector<std::size_t> next;
        for (std::size_t j = 0; j < n; ++j) {
            if (done[j]) continue;
            for (const auto i : level) {
                const auto& p = pair(i, j);
                if (!p.usable()) continue;
                const auto st = step(p, i < j);
                const auto unc = core::add_ns(out[i].uncertainty_ns, st.uncertainty);
                auto& c = out[j];
                if (c.estimated && unc >= c.uncertainty_ns) continue;
                c.estimated = true;
                c.offset_ns = core::add_ns(out[i].offset_ns, st.offset);
                c.uncertainty_ns = unc;
                c.forward = st.forward;
                c.backward = st.backward;
                c.via = i == ref ? 0 : ids[i];
            }
            if (out[j].estimated) next.push_back(j);
        }
        for (const auto j : next) done[j] = true;
        level = std::move(next);
    }

    for (std::size_t j = 0; j < n; ++j) {
        auto& c = out[j];
        if (c.estimated) continue;
        // Explain with the pair that came closest: usable, else inconsistent, else one-way.
        std::size_t why_with = n;
        int why_rank = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (i == j) continue;
            const auto& p = pair(i, j);
            if (!p.matches()) continue;
            const int rank = p.usable() ? 3 : p.both() ? 2 : 1;
            if (rank > why_rank ||
                (rank == why_rank && p.matches() > pair(why_with, j).matches())) {
                why_rank = rank;
                why_with = i;
            }
        }
        if (why_rank == 3) {
            c.why =
                "matched both ways only with nodes that are not linked to the "
                "reference";
        } else if (why_rank == 2) {
            c.why =
                "matched packets contradict each other (round trip shorter than "
                "zero): a clock "
                "stepped during the capture or fingerprints collided";
        } else if (why_rank == 1) {
            const auto& p = pair(why_with, j);
            const bool from_this = why_with < j ? p.n_ba > 0 : p.n_ab > 0;
            c.why = from_this ? "packets matched only from this node, none towards it"
                              : "packets matched only towards this node, none from it";
        } else {
            c.why = "no packet matched in both directions with another captured node";
        }
        if (why_with == ref) {
            const auto st = step(pair(ref, j), ref < j);
            c.forward = st.forward;
            c.backward = st.backward;
        }
    }

    std::stable_partition(out.begin(), out.end(), [](const NodeClock& c) { return c.reference; });
    return out;
}

bool ClockEstimator::settled(std::span<const std::uint16_t> nodes,
                             std::uint64_t min_each_way) const {
    for (const std::uint16_t node : nodes)
        if (!nodes_.contains(node)) return false;
    for (const NodeClock& c : estimate())
        if (!c.reference && (!c.estimated || c.forward < min_each_way || c.backward < min_each_way))
            return false;
    return true;
}

}  // namespace podtrace::trace

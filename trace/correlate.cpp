#include "trace/correlate.hpp"

#include <algorithm>
#include <bit>

#include "core/time.hpp"
#include "trace/ip.hpp"

namespace podtrace::trace {

int path_rank(const Sighting& s, bool transmit) {
    switch (s.at.kind) {
        case PointKind::pod_veth:
            if (s.direction == core::Direction::inbound) return 0;  // from the pod
            if (s.direction == core::Direction::outbound) return 4;
            return transmit ? 0 : 4;
        case PointKind::nic: return transmit ? 3 : 1;
        case PointKind::pod_side:  // before its veth on the way out, after it on the way in
            if (s.direction == core::Direction::outbound) return -1;
            if (s.direction == core::Direction::inbound) return 5;
            return transmit ? -1 : 5;
        case PointKind::ipip_tunnel:
        case PointKind::vxlan_tunnel:
        case PointKind::wireguard: return 2;
    }
    return 2;
}

void insert_in_order(Path& p, const Sighting& s, bool transmit) {
    const int rank = path_rank(s, transmit);
    auto pos = p.sightings.end();
    while (pos != p.sightings.begin()) {
        const Sighting& prev = *(pos - 1);
        const bool after =
            prev.ts_ns > s.ts_ns || (prev.ts_ns == s.ts_ns && prev.at.node == s.at.node &&
                                     path_rank(prev, transmit) > rank);
        if (!after) break;
        --pos;
    }
    p.sightings.insert(pos, s);
}

namespace {

// Same direction of travel: one end kept, as a NAT rewrites one side, never both. A reversed
// copy (a reply with the same invariant fields) keeps neither.
bool consistent(const Path& p, const Sighting& s) {
    return std::ranges::any_of(p.sightings, [&](const Sighting& x) {
        return x.ip_version == s.ip_version && (same_addr(x.src, s.src) || same_addr(x.dst, s.dst));
    });
}

bool transmitting(const Path& p, const Sighting& s) {
    if (s.at.kind != PointKind::pod_veth && s.direction != core::Direction::unknown)
        return s.direction == core::Direction::outbound;
    return std::ranges::any_of(p.sightings, [&](const Sighting& o) {
        return o.at.node == s.at.node && o.at.kind == PointKind::pod_veth && o.ts_ns < s.ts_ns;
    });
}

}  // namespace

Correlator::Correlator(CorrelatorOptions opt) : opt_(opt), ring_(64) {
    rebucket();
}

void Correlator::emit(Path& p) {
    ++stats_.paths;
    if (sink_)
        sink_->take(p);
    else
        done_.push_back(std::move(p));
}

void Correlator::emit_alone(const Sighting& s) {
    alone_.sightings.clear();
    alone_.ambiguous = false;
    alone_.sightings.push_back(s);
    emit(alone_);
}

void Correlator::retire_front() {
    Group& g = at(0);
    head_ = (head_ + 1) & (ring_.size() - 1);
    --count_;
    ++base_;
    emit(g.path);  // after the pop: the slot is only reused by a later open_group()
}

Correlator::Group& Correlator::open_group() {
    if (count_ == ring_.size()) {
        // Grow by doubling, oldest first at 0; slots keep their storage.
        std::vector<Group> bigger(ring_.size() * 2);
        for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(at(i));
        ring_.swap(bigger);
        head_ = 0;
        rebucket();
    }
    Group& g = at(count_++);
    g.path.sightings.clear();
    g.path.ambiguous = false;
    return g;
}

void Correlator::rebucket() {
    const std::size_t n = ring_.size() * 4;
    bucket_.assign(n, kNoGroup);
    bucket_shift_ = 64 - std::countr_zero(n);
    for (std::size_t i = 0; i < count_; ++i) {
        Group& g = at(i);
        std::uint64_t& newest = bucket_[bucket_of(g.fingerprint)];
        g.older = newest;
        newest = base_ + i;
    }
}

void Correlator::evict_before(std::int64_t cutoff) {
    while (count_ > 0 && at(0).first_ts < cutoff) retire_front();
}

void Correlator::add(const Sighting& s) {
    ++stats_.sightings;
    if (s.ts_ns < now_)
        ++stats_.out_of_order;
    else
        now_ = s.ts_ns;
    if (std::int64_t cutoff; !__builtin_sub_overflow(now_, opt_.window_ns, &cutoff))
        evict_before(cutoff);
    if (s.fingerprint == 0 || s.partial) {
        ++(s.fingerprint == 0 ? stats_.no_fingerprint : stats_.partial);
        emit_alone(s);
        return;
    }

    // Candidates: in-flight packets with this fingerprint, going the same way, not yet seen at
    // this point. The nearest in time wins; more than one candidate is counted as ambiguous.
    Group* best = nullptr;
    std::int64_t best_gap = 0;
    int candidates = 0;
    bool repeat = false, other_way = false;
    const std::uint64_t head = bucket_[bucket_of(s.fingerprint)];
    // The walk is bounded: a million identical packets in flight (hostile input: one IP ID and
    // payload over and over) would make each sighting look at all of them. The newest 128 of a
    // bucket are plenty to choose from: past two, a match is ambiguous anyway.
    int walk = 128;
    for (Group* g = group(head); g && walk-- > 0; g = group(g->older)) {
        if (g->fingerprint != s.fingerprint) continue;  // another fingerprint in the bucket
        if (std::ranges::any_of(g->path.sightings,
                                [&](const Sighting& o) { return o.at == s.at; })) {
            repeat = true;
            continue;
        }
        if (!consistent(g->path, s)) {
            other_way = true;
            continue;
        }
        ++candidates;
        const std::int64_t gap = core::sub_ns(now_, g->last_ts);  // none is later than now_
        if (best && gap >= best_gap) continue;  // ties: the newer packet, met first
        best = g;
        best_gap = gap;
    }
    if (best) {
        if (candidates > 1) {
            ++stats_.ambiguous;
            best->path.ambiguous = true;
        }
        ++stats_.matched;
        insert_in_order(best->path, s, transmitting(best->path, s));
        best->last_ts = std::max(best->last_ts, s.ts_ns);
        return;
    }
    if (repeat) ++stats_.repeats;
    if (other_way) ++stats_.other_way;
    while (count_ > 0 && count_ >= std::max<std::size_t>(opt_.max_in_flight, 1)) {
        ++stats_.finished_early;
        stats_.shortest_early_ns =
            std::min(stats_.shortest_early_ns, core::sub_ns(now_, at(0).first_ts));
        retire_front();
    }
    Group& g = open_group();  // may rebucket
    g.path.sightings.push_back(s);
    g.first_ts = g.last_ts = s.ts_ns;
    g.fingerprint = s.fingerprint;
    std::uint64_t& newest = bucket_[bucket_of(s.fingerprint)];
    g.older = newest;
    newest = base_ + count_ - 1;
    stats_.peak_in_flight = std::max(stats_.peak_in_flight, count_);
}

void Correlator::advance(std::int64_t now_ns) {
    if (now_ns <= now_) return;
    now_ = now_ns;
    if (std::int64_t cutoff; !__builtin_sub_overflow(now_, opt_.window_ns, &cutoff))
        evict_before(cutoff);
}

void Correlator::finish() {
    while (count_ > 0) retire_front();
}

std::vector<Path> Correlator::drain() {
    std::vector<Path> out;
    out.swap(done_);
    return out;
}

}  // namespace podtrace::trace

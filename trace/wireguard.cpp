#include "trace/wireguard.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/time.hpp"

namespace podtrace::trace {

namespace {

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();


const Sighting* wireguard_message(const Path& p) {
    for (const auto& s : p.sightings)
        if (s.encap == Encap::wireguard) return &s;
    return nullptr;
}

// The outer UDP payload of a transport data sighting (its length is the outer IP total length; IPv4
// options are not expected on a node-to-node WireGuard packet).
std::int64_t udp_payload(const Sighting& s) {
    return std::int64_t{s.length} - (s.ip_version == 6 ? 40 : 20) - 8;
}

std::uint64_t queue_key(std::uint16_t node, std::int64_t payload) {
    return std::uint64_t{node} << 32 | static_cast<std::uint32_t>(payload);
}

// The wireguard.cali sighting where the packet went into the tunnel: the capture's direction says
// so, else it is one not followed by a delivery to a pod on the same node.
const Sighting* sent_plaintext(const Path& p) {
    for (const auto& w : p.sightings) {
        if (w.at.kind != PointKind::wireguard || w.direction == core::Direction::inbound) continue;
        if (w.direction == core::Direction::outbound) return &w;
        const bool delivered = std::ranges::any_of(p.sightings, [&](const Sighting& s) {
            return s.at.node == w.at.node && s.at.kind == PointKind::pod_veth &&
                   s.direction == core::Direction::outbound;
        });
        if (!delivered) return &w;
    }
    return nullptr;
}

// The plaintext's decrypted sightings agree with where and when the ciphertext arrived: on the
// receiving node, decryption follows the NIC.
bool fits_receiver(const Path& plain, std::uint16_t sender, const Sighting* rx) {
    if (rx == nullptr) return true;
    return std::ranges::none_of(plain.sightings, [&](const Sighting& s) {
        return s.at.kind == PointKind::wireguard && s.at.node != sender &&
               (s.at.node != rx->at.node || s.ts_ns < rx->ts_ns);
    });
}

}  // namespace

void WireGuardLinker::emit(Path& p) {
    if (sink_)
        sink_->take(p);
    else
        done_.push_back(std::move(p));
}

void WireGuardLinker::reuse(std::vector<Sighting>&& v) {
    // Enough for the paths held at once; more would only hold memory.
    if (spare_.size() >= 4096 || v.capacity() == 0) return;
    v.clear();
    spare_.push_back(std::move(v));
}

void WireGuardLinker::take(Path& p) {
    if (opt_.link_window_ns < 0 ||
        opt_.link_window_ns > std::numeric_limits<std::int64_t>::max() / 4)
        throw std::invalid_argument("WireGuardOptions::link_window_ns out of range: " +
                                    std::to_string(opt_.link_window_ns));
    if (p.sightings.empty()) throw std::invalid_argument("WireGuardLinker::add: empty path");
    const std::int64_t first_ts = p.sightings.front().ts_ns;
    latest_ = std::max(latest_, first_ts);
    const Sighting* m = nullptr;
    bool plain = false;
    for (const Sighting& s : p.sightings) {
        if (m == nullptr && s.encap == Encap::wireguard) m = &s;
        plain |= s.at.kind == PointKind::wireguard;
    }
    // Nothing to pair with: pass it on now rather than hold it (memory and time at high packet
    // rates).
    bool pass = m == nullptr && !plain;  // WireGuard has no part in it
    if (m != nullptr) {
        const std::uint16_t sender = p.sightings.front().at.node;
        const bool plaintext_here = sender < plaintext_nodes_.size() && plaintext_nodes_[sender];
        const bool keepalive = m->wg_type == 4 && udp_payload(*m) <= 32;
        if (m->wg_type != 4 || keepalive || !plaintext_here) {
            if (m->wg_type >= 1 && m->wg_type <= 3) ++stats_.handshakes;
            if (keepalive) ++stats_.keepalives;
            if (m->wg_type == 4 && !keepalive) ++stats_.cipher_unlinked;
            pass = true;
        }
    }
    if (pass) {
        emit(p);
        if (!ciphers_.empty() || !pending_.empty()) link_ready(latest_, false);
        return;
    }
    const std::uint64_t seq = base_ + pending_.size();
    Pending e;
    e.hold_ts = first_ts;
    if (m != nullptr) {
        const Candidate c{e.hold_ts, seq};
        auto pos = ciphers_.end();
        while (pos != ciphers_.begin() && (pos - 1)->ts > c.ts) --pos;
        ciphers_.insert(pos, c);
    } else {
        e.plain = true;
        if (const Sighting* w = sent_plaintext(p)) {
            e.indexed = true;
            e.key = queue_key(w->at.node, wireguard_payload(w->length));
            e.hold_ts = std::max(e.hold_ts, w->ts_ns);
            auto& q = plains_[e.key];
            const Candidate c{w->ts_ns, seq, w->length};
            auto pos = q.end();
            while (pos != q.begin() && (pos - 1)->ts > c.ts) --pos;
            q.insert(pos, c);
        }
    }
    // Held: the sightings move here, the lender gets spare storage back.
    if (!spare_.empty()) {
        e.path.sightings = std::move(spare_.back());
        spare_.pop_back();
    }
    e.path.sightings.swap(p.sightings);
    e.path.ambiguous = p.ambiguous;
    pending_.push_back(std::move(e));
    link_ready(latest_, false);
}

void WireGuardLinker::advance(std::int64_t now_ns) {
    if (now_ns <= latest_) return;
    latest_ = now_ns;
    link_ready(latest_, false);
}

void WireGuardLinker::link(std::uint64_t cipher_seq) {
    Pending& c = *entry(cipher_seq);
    const Sighting& tx = c.path.sightings.front();
    const std::int64_t payload = udp_payload(*wireguard_message(c.path));
    const Sighting* rx = nullptr;
    for (const auto& s : c.path.sightings)
        if (s.at.node != tx.at.node) {
            rx = &s;
            break;
        }
    // Linux pads to 16 but not past the MTU: look up the full padding, then check the plaintext
    // fits. Received here and not seen leaving its sender: no plaintext of ours to pair with.
    const auto padded = wireguard_payload(static_cast<std::uint32_t>(payload - 32));
    auto it = tx.direction == core::Direction::inbound
                  ? plains_.end()
                  : plains_.find(queue_key(tx.at.node, padded));
    Pending* chosen = nullptr;
    bool ambiguous = false;
    if (it != plains_.end()) {
        auto& q = it->second;
        const std::int64_t oldest = core::sub_ns(tx.ts_ns, opt_.link_window_ns);
        while (!q.empty() && (q.front().ts < oldest || entry(q.front().seq) == nullptr ||
                              entry(q.front().seq)->linked))
            q.pop_front();
        for (const Candidate& cand : q) {
            if (cand.ts > tx.ts_ns) break;
            Pending* p = entry(cand.seq);
            if (p == nullptr || p->linked) continue;
            if (std::int64_t{cand.length} + 32 > payload) continue;
            if (!fits_receiver(p->path, tx.at.node, rx)) continue;
            if (chosen != nullptr) {
                ambiguous = true;
                break;
            }
            chosen = p;
        }
    }
    if (chosen == nullptr) {
        ++stats_.cipher_unlinked;
        return;
    }
    for (const auto& s : c.path.sightings)
        insert_in_order(chosen->path, s, s.at.node == tx.at.node);
    chosen->linked = true;
    chosen->path.ambiguous = chosen->path.ambiguous || c.path.ambiguous || ambiguous;
    c.removed = true;
    reuse(std::move(c.path.sightings));
    ++stats_.linked;
    if (ambiguous) ++stats_.ambiguous;
}

void WireGuardLinker::link_ready(std::int64_t now_ns, bool all) {
    const std::int64_t decide_before = core::sub_ns(now_ns, opt_.link_window_ns);
    while (!ciphers_.empty() && (all || ciphers_.front().ts < decide_before)) {
        link(ciphers_.front().seq);
        ciphers_.pop_front();
    }
    const std::int64_t release_before = core::sub_ns(now_ns, 2 * opt_.link_window_ns);
    while (!pending_.empty() && (all || pending_.front().hold_ts < release_before)) {
        Pending& e = pending_.front();
        if (e.plain && !e.linked) ++stats_.plain_unlinked;
        if (!e.removed) emit(e.path);
        reuse(std::move(e.path.sightings));
        const bool indexed = e.indexed;
        const std::uint64_t key = e.key;
        pending_.pop_front();
        ++base_;
        if (!indexed) continue;
        // Its queue entry is among the oldest: drop the released ones so an unanswered queue
        // (ciphertext not captured) stays as short as the window.
        auto& q = plains_[key];
        while (!q.empty() && q.front().seq < base_) q.pop_front();
    }
}

void WireGuardLinker::finish() {
    link_ready(latest_, true);
    latest_ = kMin;
}

void WireGuardLinker::plaintext_seen(std::uint16_t node) {
    if (node >= plaintext_nodes_.size()) plaintext_nodes_.resize(node + 1, false);
    plaintext_nodes_[node] = true;
}

std::vector<Path> WireGuardLinker::drain() {
    std::vector<Path> out;
    out.swap(done_);
    return out;
}

}  // namespace podtrace::trace

#pragma once
// Joins WireGuard's two views of one packet: the plaintext on wireguard.cali and the transport
// data message on the NICs. The two NIC sightings already share a path (same receiver index,
// counter and ciphertext, so the same fingerprint); this links that ciphertext path to the
// plaintext path by node, time order and length: outer UDP payload = 16 + pad16(inner) + 16.
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "trace/correlate.hpp"

namespace podtrace::trace {

struct WireGuardStats {
    std::uint64_t linked = 0;           // ciphertext paths merged into a plaintext path
    std::uint64_t cipher_unlinked = 0;  // transport data with no plaintext found (not captured?)
    std::uint64_t plain_unlinked = 0;   // plaintext on wireguard.cali with no ciphertext found
    std::uint64_t ambiguous = 0;        // more than one candidate of the right length
    std::uint64_t handshakes = 0;       // types 1-3
    std::uint64_t keepalives = 0;       // transport data of 32 bytes (empty plaintext)
};

// WireGuard's padded size: outer UDP payload for an inner packet of `inner_len` bytes.
constexpr std::uint32_t wireguard_payload(std::uint32_t inner_len) {
    return 16 + ((inner_len + 15) / 16) * 16 + 16;
}

struct WireGuardOptions {
    // Encryption happens this soon after the plaintext reaches wireguard.cali, and decryption
    // this soon after the NIC receives; paths are held this long for their partner to arrive.
    std::int64_t link_window_ns = 50'000'000;
};

// Takes paths as the correlator finishes them (each path's first sighting is roughly in time
// order) and gives them back, with ciphertext sightings inserted into their plaintext path in
// time order, and the linked ciphertext paths removed. Paths WireGuard has no part in pass
// straight through, ahead of held ones. Memory: WireGuard paths of the last two windows.
class WireGuardLinker final : public PathSink {
public:
    explicit WireGuardLinker(WireGuardOptions opt = {}) : opt_(opt) {}
    // Paths go to `sink` as they are released instead of waiting for drain().
    void set_sink(PathSink* sink) { sink_ = sink; }
    // A wireguard.cali sighting on `node` (told before its path arrives, as sightings come in
    // time order): only ciphertexts sent from such a node can find their plaintext.
    void plaintext_seen(std::uint16_t node);
    // Lent, as from the correlator: a path held for linking swaps its sightings out of `p`.
    void take(Path& p) override;
    void add(Path&& p) { take(p); }
    // No path will arrive whose first sighting is before `now_ns`: decides what that allows.
    void advance(std::int64_t now_ns);
    void finish();
    std::vector<Path> drain();  // without a sink: the released paths, in order; clears them
    const WireGuardStats& stats() const { return stats_; }

private:
    struct Pending {
        Path path;
        std::int64_t hold_ts = 0;  // released once older than the newest first ts - 2 windows
        std::uint64_t key = 0;     // plaintext: its (node, payload) queue in plains_
        bool indexed = false;      // plaintext sent on wireguard.cali: in plains_
        bool plain = false;        // has a wireguard.cali sighting
        bool linked = false;       // plaintext that took its ciphertext
        bool removed = false;      // ciphertext merged into a plaintext path
    };
    struct Candidate {
        std::int64_t ts = 0;
        std::uint64_t seq = 0;     // base_ + index in pending_
        std::uint32_t length = 0;  // plaintext IP total length
    };
    void link_ready(std::int64_t now_ns, bool all);
    void link(std::uint64_t cipher_seq);
    void emit(Path& p);
    void reuse(std::vector<Sighting>&& v);
    Pending* entry(std::uint64_t seq) { return seq < base_ ? nullptr : &pending_[seq - base_]; }
    WireGuardOptions opt_;
    WireGuardStats stats_;
    std::deque<Pending> pending_;
    std::uint64_t base_ = 0;
    std::int64_t latest_ = INT64_MIN;  // newest first ts added
    // Plaintext sent on wireguard.cali by (node, expected outer payload), in time order.
    std::unordered_map<std::uint64_t, std::deque<Candidate>> plains_;
    std::deque<Candidate> ciphers_;  // transport data not yet linked, by first ts
    PathSink* sink_ = nullptr;
    std::vector<Path> done_;
    std::vector<std::vector<Sighting>> spare_;  // storage of released paths, for held ones
    std::vector<bool> plaintext_nodes_;
};

}  // namespace podtrace::trace

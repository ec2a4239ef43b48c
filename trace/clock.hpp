#pragma once
// Clock offsets between nodes' captures, from packets seen on two nodes going both ways: the
// lower envelope of one-way delays, as NTP does. For nodes A (reference) and B:
//   d_ab = min over A->B packets of (t_B(arrival) - t_A(departure)) = transit_ab + offset
//   d_ba = min over B->A packets of (t_A(arrival) - t_B(departure)) = transit_ba - offset
//   offset = (d_ab - d_ba) / 2, uncertainty = (d_ab + d_ba) / 2
// Matching is by fingerprint alone, with no time window (the offset is unknown), over a
// deterministic subsample of fingerprints so memory stays bounded whatever the input size.
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace/sighting.hpp"

namespace podtrace::trace {

struct NodeClock {
    std::uint16_t node = 0;
    bool reference = false;                   // the node every offset is relative to
    bool estimated = false;                   // false: no offset applied (see `why`)
    std::int64_t offset_ns = 0;               // subtract from this node's timestamps
    std::int64_t uncertainty_ns = 0;          // the true offset is within offset ± uncertainty
    std::uint64_t forward = 0, backward = 0;  // packets matched each way with the reference
    std::uint16_t via = 0;  // estimated through this node when not matched with the reference
    std::string why;        // when not estimated: "no packet matched with k8s-w1 in both ways"
};

struct ClockOptions {
    // Fingerprints kept per node; past this the subsample is halved (still the same subset on
    // every node, as the choice depends on the fingerprint alone).
    std::size_t max_samples_per_node = 1 << 13;
};

class ClockEstimator {
public:
    explicit ClockEstimator(ClockOptions opt = {}) : opt_(opt) {}

    // Any order. Only sightings whose role is known count: sent from this node (a veth frame
    // from the pod, a tunnel or NIC frame marked outbound) or received by it (a veth frame to
    // the pod, marked inbound elsewhere). ARP and fingerprint-less sightings are ignored.
    void add(const Sighting& s);
    // Counts `node` as seen, as add() does, and says whether add() could use a sighting with
    // this fingerprint: most fall outside the subsample, and their sightings need not be made.
    bool wants(std::uint16_t node, std::uint64_t fingerprint, bool partial);

    // One entry per node seen in add(), reference first (the node with most matches, ties to
    // the lowest id), then by node id. Nodes linked to the reference only through another node
    // are estimated through it (offsets add, uncertainties add).
    std::vector<NodeClock> estimate() const;
    // Whether reading on would hardly change the estimate: every node of `nodes` has been seen,
    // every node seen is estimated, and each but the reference on at least `min_each_way`
    // sampled packets matched each way on its step.
    bool settled(std::span<const std::uint16_t> nodes, std::uint64_t min_each_way) const;

    std::size_t samples() const;  // fingerprints held, all nodes

private:
    struct Seen {
        std::int64_t last_sent = INT64_MIN;       // latest departure seen on the node
        std::int64_t first_received = INT64_MAX;  // earliest arrival
        std::uint32_t count = 0;                  // sightings: > a few = a repeat, not used
    };
    ClockOptions opt_;
    std::uint64_t mask_ = 0;  // keep fingerprints whose mixed low bits under mask are zero
    std::unordered_map<std::uint16_t, std::unordered_map<std::uint64_t, Seen>> nodes_;
};

}  // namespace podtrace::trace

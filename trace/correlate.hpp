#pragma once
// Groups the sightings of one packet (same fingerprint, inside a time window) into a Path.
#include <cstdint>
#include <vector>

#include "trace/sighting.hpp"

namespace podtrace::trace {

struct Path {
    std::vector<Sighting> sightings;  // in path order: time, then the path model on ties
    // Another in-flight packet could have taken one of these sightings (a collision).
    bool ambiguous = false;
};

// Takes finished paths as they finish. The path is lent: its storage is reused once take()
// returns, so a sink keeps what it needs by copying or by swapping the sightings out.
class PathSink {
public:
    virtual void take(Path& p) = 0;

protected:
    ~PathSink() = default;
};

struct CorrelatorOptions {
    // A packet's sightings all fall this close after its first (>= 0).
    std::int64_t window_ns = 2'000'000'000;
    // Memory cap: past this many packets in flight the oldest is finished before its window
    // ends (counted). Reached above ~4k packets/s; a path's hops are µs to ms apart, so the
    // shorter effective window still joins them.
    std::size_t max_in_flight = 8192;
};

struct CorrelatorStats {
    std::uint64_t sightings = 0;
    std::uint64_t no_fingerprint = 0;  // not matched: emitted alone
    std::uint64_t partial = 0;         // fingerprint cut by the snaplen: emitted alone
    std::uint64_t matched = 0;         // joined a packet already in flight
    std::uint64_t repeats = 0;         // same fingerprint again at the same point: a new packet
    // Same fingerprint in flight but sharing neither address: another packet, kept apart.
    std::uint64_t other_way = 0;
    std::uint64_t ambiguous = 0;     // several in-flight packets could take a sighting
    std::uint64_t out_of_order = 0;  // earlier than one already fed; handled as if at that time
    std::uint64_t paths = 0;
    std::size_t peak_in_flight = 0;
    // Finished early by max_in_flight, and the shortest time one of them had been in flight.
    std::uint64_t finished_early = 0;
    std::int64_t shortest_early_ns = INT64_MAX;
};

// Feed sightings in timestamp order, as a merged capture gives them (CaptureFile per file,
// merged by ts). A packet stays in flight until a sighting arrives more than the window after
// its first; then its Path is finished and goes to the sink, or without one waits for drain().
// finish() ends the input.
// Memory: one entry per packet in flight: the packet rate times the window, at most
// max_in_flight.
class Correlator {
public:
    explicit Correlator(CorrelatorOptions opt = {});
    // Finished paths go to `sink` from now on instead of waiting for drain().
    void set_sink(PathSink* sink) { sink_ = sink; }

    void add(const Sighting& s);
    // Finishes every packet still in flight (end of input).
    void finish();
    // Time has reached `now_ns` with no sighting (a quiet live capture): packets whose window
    // ended before it are finished, as a sighting at that time would have done.
    void advance(std::int64_t now_ns);
    // Without a sink: the paths finished so far, in the order they finished; clears them.
    std::vector<Path> drain();

    std::size_t in_flight() const { return count_; }
    const CorrelatorStats& stats() const { return stats_; }
    const CorrelatorOptions& options() const { return opt_; }

private:
    struct Group {
        Path path;  // its storage stays with the slot when a sink takes the path
        std::int64_t first_ts = 0;
        std::int64_t last_ts = 0;
        std::uint64_t fingerprint = 0;
        std::uint64_t older = kNoGroup;  // the seq of the group opened before it in its bucket
    };
    static constexpr std::uint64_t kNoGroup = ~std::uint64_t{0};

    void evict_before(std::int64_t ts);
    void retire_front();
    Group& at(std::size_t i) { return ring_[(head_ + i) & (ring_.size() - 1)]; }
    Group* group(std::uint64_t seq) {
        return seq == kNoGroup || seq < base_ ? nullptr : &at(seq - base_);
    }
    Group& open_group();
    std::size_t bucket_of(std::uint64_t fingerprint) const {
        return static_cast<std::size_t>((fingerprint * 0x9e3779b97f4a7c15ull) >> bucket_shift_);
    }
    void rebucket();
    void emit(Path& p);
    void emit_alone(const Sighting& s);

    CorrelatorOptions opt_;
    CorrelatorStats stats_;
    // Groups in the order they were opened (so by first_ts), in a ring whose slots keep their
    // path's storage; seq = base_ + index from head_.
    std::vector<Group> ring_;
    std::size_t head_ = 0, count_ = 0;
    std::uint64_t base_ = 0;
    // Per fingerprint hash, the seq of the newest group opened there; the groups chain on by
    // `older`. Never erased: a retired seq (< base_) ends a chain, so retiring costs nothing.
    // Four buckets per ring slot keep the chains short.
    std::vector<std::uint64_t> bucket_;
    int bucket_shift_ = 64;
    PathSink* sink_ = nullptr;
    Path alone_;  // lent to the sink for a sighting that joins nothing
    std::vector<Path> done_;
    std::int64_t now_ = INT64_MIN;
};

// Where a sighting stands on its node's path, for sightings with the same timestamp: a packet
// leaves a pod by veth, tunnel, NIC; it arrives by NIC, tunnel (the kernel keeps the NIC's
// receive timestamp on decapsulation), veth.
// `transmit`: the packet left a pod on this node (else it arrived from the wire).
int path_rank(const Sighting& s, bool transmit);

// Inserts `s` where it belongs in `p`: by time, then on one node's equal times by path_rank.
void insert_in_order(Path& p, const Sighting& s, bool transmit);

}  // namespace podtrace::trace

#pragma once
// The one step every front end takes a captured frame through, whatever its source (a file, the
// clock pass, a live capture, a --follow stream): decoded, told to the front end's hook, and when
// it holds an IP or ARP packet made a sighting at its capture point, on the corrected timeline,
// with its direction inferred where the capture did not record one.
#include <cstdint>
#include <functional>
#include <new>
#include <span>
#include <vector>

#include "core/frame.hpp"
#include "core/time.hpp"
#include "decode/decoder.hpp"
#include "trace/clock.hpp"
#include "trace/sighting.hpp"
#include "trace/topology.hpp"

namespace podtrace::ingest {

// A node's own addresses and its pods', from the facts its capture carried: on a NIC or tunnel
// frame whose capture gave no direction, they tell which way it went (an outer source that is
// the node's own left it; a destination that is one of its pods arrived). Without this the
// clock estimate has only pod veths to go on.
struct NodeAddresses {
    std::vector<trace::IpAddr> own, pods;
};
NodeAddresses node_addresses(const trace::NodeFacts& facts);
// Sets s.direction when the capture gave none and the node's addresses tell; `by_node` is
// indexed by node id.
void infer_direction(trace::Sighting& s, std::span<const NodeAddresses> by_node);

class Step {
public:
    // Told every frame taken, after decoding: its capture point and corrected time. Returns the
    // handle that goes into the frame's sighting (Sighting::ref; the TUI's packet store).
    using FrameHook = std::function<std::uint64_t(const core::Frame&, const decode::Decoded&,
                                                  trace::PointId, std::int64_t ts)>;

    explicit Step(const decode::Ports& ports = {}) : ports_(ports), decoder_(ports) {}

    void on_frame(FrameHook hook) { hook_ = std::move(hook); }
    // A node's facts: its addresses tell the direction of its NIC and tunnel frames.
    void learn_node(std::uint16_t node, const trace::NodeFacts& facts);
    // Estimated clock offsets, subtracted from each node's timestamps from now on.
    void set_clocks(std::span<const trace::NodeClock> clocks);

    // What is subtracted from a node's timestamps, and a time on the corrected timeline.
    std::int64_t offset(std::uint16_t node) const {
        return node < offset_.size() ? offset_[node] : 0;
    }
    std::int64_t corrected(std::uint16_t node, std::int64_t ts) const {
        return core::sub_ns(ts, offset(node));
    }

    // Decodes `f` (counted in stats()); decoded() is valid until the next frame.
    const decode::Decoded& decode(const core::Frame& f) {
        decoder_.decode(f, d_);
        return d_;
    }
    // The decoded frame's sighting at `at`, built in `out` in place (a slot of a ring): time
    // `ts`, handle `ref`, direction inferred. Only for a sightable frame.
    void sight(trace::PointId at, std::int64_t ts, std::uint64_t ref, trace::Sighting& out) const {
        ::new (&out) trace::Sighting(trace::make_sighting(d_, at));
        out.ts_ns = ts;
        out.ref = ref;
        infer_direction(out, addresses_);
    }
    // All of it: decode, the hook, and the sighting when there is one (true).
    bool take(const core::Frame& f, trace::PointId at, std::int64_t ts, trace::Sighting& out) {
        decode(f);
        const std::uint64_t ref = hook_ ? hook_(f, d_, at, ts) : 0;
        if (!trace::sightable(d_)) return false;
        sight(at, ts, ref, out);
        return true;
    }

    const decode::Decoded& decoded() const { return d_; }
    const decode::Stats& stats() const { return decoder_.stats(); }
    // A second pass over the same input: the decoder's counts start again.
    void new_pass() { decoder_ = decode::Decoder(ports_); }

private:
    decode::Ports ports_;
    decode::Decoder decoder_;
    decode::Decoded d_;
    FrameHook hook_;
    std::vector<NodeAddresses> addresses_;  // by node id
    std::vector<std::int64_t> offset_;      // by node id
};

}  // namespace podtrace::ingest

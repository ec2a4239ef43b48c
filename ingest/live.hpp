#pragma once
// A live capture on this node as a source (`tui` without -r): the capture's frames through the
// step, the node's facts from discovery for directions and findings, and its interfaces as
// capture points as they are attached (a pod's veth appears while capturing).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ingest/options.hpp"
#include "ingest/step.hpp"
#include "probes/live_source.hpp"
#include "trace/sighting.hpp"
#include "trace/topology.hpp"

namespace podtrace::ingest {

// A quiet capture's clock is the wall clock less this: the live source's reorder window
// (20 ms) and some slack, so that advancing never overtakes frames still in its queue.
inline constexpr std::int64_t kLiveLagNs = 100'000'000;

class LiveInput {
public:
    // Told each interface as it becomes a capture point, with its index in the source's stats().
    using PointHook = std::function<void(trace::PointId, std::size_t interface)>;

    // `facts`: discovery's JSON (probes::read_node), "" when it found nothing. The interfaces
    // attached by now are learnt at once.
    LiveInput(probes::LiveSource& src, const InputOptions& opt, trace::Names& names,
              trace::Topology& topo, const std::string& facts, PointHook on_point = {});
    Step& step() { return step_; }
    // Why the node's facts are missing ("node facts unreadable: ..."), "" when they are known.
    const std::string& facts_error() const { return facts_error_; }

    // Interfaces attached since the last call become capture points; the source's counters are
    // read again (stats()). Called for a frame of a new interface (the source's stats() always
    // hold a frame's interface), and now and then.
    void learn();
    const std::vector<probes::InterfaceStats>& stats() const { return stats_; }

    // Waits up to `timeout` for the next frame, without taking it: the caller may take its lock
    // first. `quiet` when none came, `stopped` once the source is stopped and drained.
    enum class Wait : std::uint8_t { frame, quiet, stopped };
    Wait wait(std::chrono::milliseconds timeout);
    // The frame wait() got, through the step: true when it made a sighting in `out`.
    bool take(trace::Sighting& out);

private:
    probes::LiveSource& src_;
    trace::Names& names_;
    Step step_;
    PointHook on_point_;
    std::string facts_error_;
    std::vector<probes::InterfaceStats> stats_;
    std::vector<trace::PointId> points_;  // per source interface
    std::vector<bool> known_;             // per source interface: points_ is set
    core::Frame f_;
};

}  // namespace podtrace::ingest

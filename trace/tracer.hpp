#pragma once
// The streaming pipeline every front end shares (report and tui): sightings in
// timestamp order -> correlated paths -> WireGuard ciphertext joined to its plaintext ->
// classified -> flows; the topology learns from every sighting on the way.
#include <cstdint>
#include <functional>

#include "trace/classify.hpp"
#include "trace/correlate.hpp"
#include "trace/flows.hpp"
#include "trace/sighting.hpp"
#include "trace/topology.hpp"
#include "trace/wireguard.hpp"

namespace podtrace::trace {

struct TracerOptions {
    CorrelatorOptions correlator;
    WireGuardOptions wireguard;
};

// Paths go correlator -> linker -> this, each handing the next a lent path as it finishes:
// no path is queued or moved between the stages, and nothing here allocates per packet.
class Tracer final : private PathSink {
public:
    explicit Tracer(Names& names, TracerOptions opt = {});
    Tracer(const Tracer&) = delete;  // the stages point at each other
    Tracer& operator=(const Tracer&) = delete;

    // Told every finished path as the flows take it, with the flow it went to (the TUI keeps
    // each flow's recent packets this way). Called on the thread that calls add().
    using PathObserver =
        std::function<void(const Path&, const Classification&, FlowTable::Added)>;
    void observe(PathObserver o) { observer_ = std::move(o); }

    void add(const Sighting& s);
    // A live capture's clock reached `now_ns` with no sighting: packets whose window has
    // passed are finished now rather than when the next sighting arrives.
    void advance(std::int64_t now_ns);
    void finish();  // end of input: every path in flight is finished and counted

    Topology& topology() { return topology_; }
    const Topology& topology() const { return topology_; }
    const FlowTable& flows() const { return flows_; }
    const CorrelatorStats& correlation() const { return correlator_.stats(); }
    const WireGuardStats& wireguard() const { return linker_.stats(); }
    const TracerOptions& options() const { return opt_; }

private:
    void take(Path& p) override;  // a finished, linked path: classified, into the flows
    TracerOptions opt_;
    Correlator correlator_;
    WireGuardLinker linker_;
    Topology topology_;
    FlowTable flows_;
    PathObserver observer_;
};

}  // namespace podtrace::trace

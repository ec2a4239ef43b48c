#pragma once
// The streaming pipeline every front end shares (report now, tui later): sightings in
// timestamp order -> correlated paths -> WireGuard ciphertext joined to its plaintext ->
// classified -> flows; the topology learns from every sighting on the way.
#include <cstdint>

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

class Tracer {
public:
    explicit Tracer(Names& names, TracerOptions opt = {})
        : opt_(opt), correlator_(opt.correlator), linker_(opt.wireguard), topology_(names) {}

    void add(const Sighting& s);
    void finish();  // end of input: every path in flight is finished and counted

    Topology& topology() { return topology_; }
    const Topology& topology() const { return topology_; }
    const FlowTable& flows() const { return flows_; }
    const CorrelatorStats& correlation() const { return correlator_.stats(); }
    const WireGuardStats& wireguard() const { return linker_.stats(); }
    const TracerOptions& options() const { return opt_; }

private:
    void pump();
    TracerOptions opt_;
    Correlator correlator_;
    WireGuardLinker linker_;
    Topology topology_;
    FlowTable flows_;
    std::vector<Path> correlated_, linked_;
};

}  // namespace podtrace::trace

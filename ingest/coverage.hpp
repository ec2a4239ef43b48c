#pragma once
// What a capture point covered, for the findings: a packet missing at the next hop counts as
// dropped only while that hop was capturing.
#include <cstdint>
#include <optional>

#include "trace/sighting.hpp"
#include "trace/topology.hpp"

namespace podtrace::ingest {

// An interface of a file or stream whose frames spanned [first_ns, last_ns] (first > last: it
// had none), widened to what its Interface Statistics Blocks say it captured (capture_start /
// capture_end, on the node's own clock, shifted onto the corrected timeline by `shift`): a
// capture that saw nothing after its last frame still covers the time until it stopped. An end
// before the last frame is a writer's mistake (units), not a capture: such statistics are not
// used.
void cover(trace::Topology& topo, trace::PointId point, std::int64_t first_ns, std::int64_t last_ns,
           std::optional<std::int64_t> capture_start_ns, std::optional<std::int64_t> capture_end_ns,
           std::int64_t shift = 0);

}  // namespace podtrace::ingest

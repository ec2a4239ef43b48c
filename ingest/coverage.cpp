#include "ingest/coverage.hpp"

#include <algorithm>

#include "ingest/step.hpp"

namespace podtrace::ingest {

void cover(trace::Topology& topo, trace::PointId point, std::int64_t first_ns, std::int64_t last_ns,
           std::optional<std::int64_t> capture_start_ns, std::optional<std::int64_t> capture_end_ns,
           std::int64_t shift) {
    std::int64_t from = first_ns, to = last_ns;
    if (!capture_end_ns || shifted(*capture_end_ns, shift) >= last_ns) {
        if (capture_start_ns) from = std::min(from, shifted(*capture_start_ns, shift));
        if (capture_end_ns) to = std::max(to, shifted(*capture_end_ns, shift));
    }
    if (from <= to) topo.cover(point, from, to);
}

}  // namespace podtrace::ingest

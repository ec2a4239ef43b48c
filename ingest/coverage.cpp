#include "ingest/coverage.hpp"

#include <algorithm>

#include "core/time.hpp"

namespace podtrace::ingest {

void cover(trace::Topology& topo, trace::PointId point, std::int64_t first_ns, std::int64_t last_ns,
           std::optional<std::int64_t> capture_start_ns, std::optional<std::int64_t> capture_end_ns,
           std::int64_t shift) {
    std::int64_t from = first_ns, to = last_ns;
    if (!capture_end_ns || core::sub_ns(*capture_end_ns, shift) >= last_ns) {
        if (capture_start_ns) from = std::min(from, core::sub_ns(*capture_start_ns, shift));
        if (capture_end_ns) to = std::max(to, core::sub_ns(*capture_end_ns, shift));
    }
    if (from <= to) topo.cover(point, from, to);
}

}  // namespace podtrace::ingest

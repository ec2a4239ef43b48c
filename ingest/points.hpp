#pragma once
// A capture point from what a file or stream says about one of its interfaces: its node and
// interface as probes::capture_point reads them (annotation, NODE=, file name), interned.
#include <string>

#include "probes/capture_point.hpp"
#include "trace/sighting.hpp"

namespace podtrace::ingest {

inline trace::PointId point_of(trace::Names& names, const probes::FileArg& spec,
                               const std::string& node, const std::string& interface) {
    const probes::CapturePoint at = probes::capture_point(spec, node, interface);
    return trace::make_point(names, at.node, at.interface);
}

}  // namespace podtrace::ingest

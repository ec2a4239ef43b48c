#pragma once
// What the captures are and how to read them: the same for `report` and `tui`.
#include <string>
#include <vector>

#include "decode/dispatch.hpp"

namespace podtrace::ingest {

struct InputOptions {
    std::vector<std::string> files;  // [NODE=]PATH; "-" is standard input
    // kubectl get pods -A / svc -A / nodes -o json output, each file read in order.
    std::vector<std::string> pods_json, services_json, nodes_json;
    decode::Ports ports;
    double window_s = 2.0;    // sightings of one packet fall within this of its first
    double reorder_s = 1.0;   // how far out of time order a file's frames may be
    bool clock = true;        // estimate clock offsets between nodes
    bool clock_full = false;  // clock pass: read every frame, not only until the offsets settle
    // Capture files holding a descriptor at once (the others are closed between reads); 0: the
    // limit on open files less a margin, at most 4096.
    std::size_t max_open_files = 0;
};

}  // namespace podtrace::ingest

#pragma once
// `podtrace lab record DIR`: every node captured by `podtrace capture` while the scenarios run.
#include <expected>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "lab/scenarios.hpp"

namespace podtrace::lab {

struct Recording {
    std::vector<std::string> files;  // DIR/<node>.pcapng, then pods.json, services.json, nodes.json
    std::vector<ScenarioResult> scenarios;
};

// Captures on every node of the running lab (`podtrace_exe capture` inside each node's
// namespace, its default capture points), runs the scenarios, stops the captures and writes
// kubectl's pods/services/nodes JSON beside them. On failure or interruption nothing is left
// half-written: the captures are stopped and the files this call started are removed.
std::expected<Recording, Error> record(const std::string& dir, const std::string& podtrace_exe,
                                       const std::vector<std::string>& scenarios,
                                       std::ostream& log);

}  // namespace podtrace::lab

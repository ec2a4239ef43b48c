#pragma once
// `podtrace lab traffic`: the scenarios, run between the lab's pod namespaces.
#include <expected>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "lab/topology.hpp"

namespace podtrace::lab {

// same-node, cross-node, cross-subnet, egress, service, drop, mtu: in this order.
const std::vector<std::string_view>& scenario_names();

struct ScenarioResult {
    std::string name;
    bool ran = true;   // false: not applicable in this mode (detail says why)
    bool ok = false;   // the network did what the lab is built to do (the drop drops, ...)
    std::string detail;                 // "ping 3/3, GET :8080 200"
    std::vector<std::string> expects;   // `podtrace report --expect` lines that must hold
};

// Runs the named scenarios (all when `names` is empty) in a lab that is up in mode `m`; an
// error for an unknown name, or when the lab cannot send (no namespace, a port in use). Progress
// to `log`.
std::expected<std::vector<ScenarioResult>, Error> run_scenarios(
    Mode m, const std::vector<std::string>& names, std::ostream& log);

}  // namespace podtrace::lab

#pragma once
// Discovery as JSON: the facts `podtrace discover --json` prints and `podtrace capture` stores in
// a pcapng's section header (trace::parse_node_facts reads them back), and a conntrack lookup.
#include <optional>
#include <string>

#include "probes/discover.hpp"

namespace podtrace::probes {

// One JSON document; `indent` as nlohmann's dump (-1: one line).
std::string facts_json(const NodeFacts& facts, int indent = -1);
// {"query": "tcp 172.16.158.1:40123 -> ...", "conntrack": {...} or null}
std::string conntrack_json(const FiveTuple& query, const std::optional<NatMapping>& mapping,
                           int indent = -1);

}  // namespace podtrace::probes

#pragma once
// `--expect` assertions for CI: "SRC -> DST: KIND [qualifiers]", "no-drops", "encrypted".
//   SRC/DST: namespace/pod, namespace/service or an IP address
//   KIND: same-node | cross-node [encap=ipip|vxlan|wireguard|direct] | egress [snat]
//         | service [dnat]
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "trace/classify.hpp"
#include "trace/diagnose.hpp"
#include "trace/flows.hpp"
#include "trace/inventory.hpp"

namespace podtrace::trace {

struct Selector {
    std::string text;      // as written
    std::string ns, name;  // namespace/name form
    std::optional<IpAddr> ip;
};

struct Expectation {
    enum class Type : std::uint8_t { path, no_drops, encrypted };
    std::string text;  // as written, for messages and JUnit test names
    Type type = Type::path;
    Selector src, dst;
    PathKind kind = PathKind::unknown;
    std::optional<Encap> encap;  // cross-node encap=...; Encap::none is "direct"
    bool snat = false, dnat = false;
};

// The error says what is wrong and what the grammar is.
std::expected<Expectation, Error> parse_expectation(std::string_view text);

struct ExpectResult {
    bool held = false;
    // Held: what matched ("3 flows, 24 packets: cross-node IPIP k8s-w1 -> k8s-w2").
    // Failed: what was seen instead ("saw cross-node VXLAN vni 4096", "no traffic from
    // default/pod1 (172.16.158.1) to default/pod3 (172.16.184.4) in the captures").
    std::string detail;
};

// Names in selectors are resolved with the inventory; an unknown name is an error (exit 2 in
// the CLI), not a failed expectation.
std::expected<ExpectResult, Error> evaluate(const Expectation& e, const FlowTable& flows,
                                            const std::vector<Diagnosis>& findings,
                                            const Inventory& inventory);

}  // namespace podtrace::trace

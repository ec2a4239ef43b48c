#include "probes/node_capture.hpp"

#include "probes/discover_json.hpp"

namespace podtrace::probes {

NodeView read_node(const DiscoverOptions& discovery) {
    NodeView v;
    if (const auto facts = discover(discovery)) v.facts = facts_json(*facts);
    if (auto pod = detect_pod_view(); pod && *pod) v.pod_view = std::move(**pod);
    return v;
}

std::expected<LiveSource, Error> open_capture(const LiveOptions& live, const std::string& user) {
    auto src = LiveSource::open(live);
    if (!src) return std::unexpected(src.error());
    if (!user.empty())
        if (auto r = drop_privileges(user); !r) return std::unexpected(r.error());
    return std::move(*src);
}

}  // namespace podtrace::probes

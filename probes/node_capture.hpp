#pragma once
// Live capture on a node as `capture` and `tui` open it, in two steps whose order matters:
// read_node() first (before the handles open, so that no queue builds up meanwhile; before
// --user, because reading nftables needs root), then open_capture().
#include <optional>
#include <string>

#include "core/error.hpp"
#include "probes/discover.hpp"
#include "probes/live_source.hpp"
#include "probes/pod_view.hpp"

namespace podtrace::probes {

struct NodeView {
    std::string facts;                // discovery's facts as JSON; "" when it found nothing
    std::optional<PodView> pod_view;  // set when capturing inside a pod (kubectl debug POD)
};
NodeView read_node(const DiscoverOptions& discovery);

// Opens the capture handles, then switches to `user` ("" to stay), as tcpdump -Z does. The
// error names the interface or the user, and for permissions the capability and a fix.
std::expected<LiveSource, Error> open_capture(const LiveOptions& live, const std::string& user);

}  // namespace podtrace::probes

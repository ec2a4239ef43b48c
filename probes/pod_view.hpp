#pragma once
// Pod mode: podtrace running inside a Calico pod's network namespace (`kubectl debug -it POD
// --target=…`, an ephemeral container) instead of on a node. Calico wires every pod alike: eth0
// with a /32 (/128), a default route via 169.254.1.1 (fe80::ecee:eeff:feee:eeee), no cali*
// devices. Kept apart from discover.hpp so live capture can ask without the node's facts.
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace podtrace::probes {

inline constexpr std::string_view kCalicoGateway4 = "169.254.1.1";
inline constexpr std::string_view kCalicoGateway6 = "fe80::ecee:eeff:feee:eeee";

struct PodView {
    std::string interface;               // "eth0"
    int ifindex = 0;
    unsigned mtu = 0;
    std::vector<std::string> addresses;  // "172.16.158.1/32", sorted; link-local ones left out
    std::string gateway;                 // "169.254.1.1" (or the IPv6 one when only IPv6)
    bool onlink = false;
    std::string hostname;       // this UTS namespace's: the pod's name unless spec.hostname
    std::string pod_namespace;  // the serviceaccount namespace file, "" when not mounted here
};

// What the decision needs from netlink, so it can be tested without a namespace.
struct PodLinkFact {
    std::string name;
    int ifindex = 0;
    unsigned mtu = 0;
    std::vector<std::string> addresses;  // "a.b.c.d/len", "x::y/len"
};
struct DefaultRouteFact {
    int family = 0;  // AF_INET, AF_INET6
    std::string gateway;
    int ifindex = 0;
    bool onlink = false;
};

// A pod view when the namespace looks like a Calico pod's: a default route via Calico's
// gateway out of a device whose addresses are all host routes, and no cali* device anywhere.
std::optional<PodView> pod_view_from(const std::vector<PodLinkFact>& links,
                                     const std::vector<DefaultRouteFact>& defaults);

// Reads this network namespace through netlink (libnl-3), plus hostname and namespace file.
std::expected<std::optional<PodView>, Error> detect_pod_view();

// What pod mode can and cannot show, and where to look for the rest: one text for `discover`,
// `capture` and `tui`. Lines end in '\n'.
std::string pod_view_note(const PodView& v);

}  // namespace podtrace::probes

#include "lab/topology.hpp"

namespace podtrace::lab {

std::string_view mode_name(Mode m) {
    switch (m) {
    case Mode::ipip: return "ipip";
    case Mode::vxlan: return "vxlan";
    case Mode::wireguard: return "wireguard";
    case Mode::direct: return "direct";
    case Mode::crosssubnet: return "crosssubnet";
    }
    return "?";
}

std::optional<Mode> parse_mode(std::string_view s) {
    for (Mode m : kModes)
        if (mode_name(m) == s) return m;
    return std::nullopt;
}

int tunnel_mtu(Mode m) {
    switch (m) {
    case Mode::ipip:
    case Mode::crosssubnet: return kNicMtu - 20;
    case Mode::vxlan: return kNicMtu - 50;
    case Mode::wireguard: return kNicMtu - 60;
    case Mode::direct: return kNicMtu;
    }
    return kNicMtu;
}

const NodeSpec* node(std::string_view name) {
    for (const auto& n : kNodes)
        if (n.name == name) return &n;
    return nullptr;
}

const PodSpec* pod(std::string_view name) {
    for (const auto& p : kPods)
        if (p.name == name) return &p;
    return nullptr;
}

std::string node_netns(std::string_view n) { return std::string(kPrefix) + std::string(n); }
std::string pod_netns(std::string_view p) { return std::string(kPrefix) + std::string(p); }

std::string_view encapsulation(Mode m, std::string_view a, std::string_view b) {
    switch (m) {
    case Mode::ipip: return "ipip";
    case Mode::vxlan: return "vxlan";
    case Mode::wireguard: return "wireguard";
    case Mode::direct: return "";
    case Mode::crosssubnet: return node(a)->subnet == node(b)->subnet ? "" : "ipip";
    }
    return "";
}

}  // namespace podtrace::lab

#pragma once
// The lab's cluster: the seed study's nodes, blocks and pods (../shared/DESIGN.md), as
// namespaces on one machine. One table that `lab up`, `lab traffic` and `lab record` share.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podtrace::lab {

enum class Mode { ipip, vxlan, wireguard, direct, crosssubnet };
inline constexpr Mode kModes[] = {Mode::ipip, Mode::vxlan, Mode::wireguard, Mode::direct,
                                  Mode::crosssubnet};
std::string_view mode_name(Mode m);
std::optional<Mode> parse_mode(std::string_view s);

// Every namespace the lab makes starts with this; `lab down` removes exactly these.
inline constexpr std::string_view kPrefix = "ptlab-";
// Lab state (mode, daemons' pid files and logs, WireGuard sockets) lives here.
inline constexpr std::string_view kStateDir = "/run/podtrace-lab";

inline constexpr int kNicMtu = 9001;  // the seed's ens5 (AWS jumbo frames)
// Calico's pod and tunnel MTU: the NIC's minus the encapsulation overhead.
int tunnel_mtu(Mode m);

struct NodeSpec {
    std::string_view name;     // k8s-w1
    std::string_view ip;       // ens5 address, /24
    std::string_view gateway;  // the router's address on the node's subnet
    std::string_view subnet;   // 192.168.10.0/24
    std::string_view block;    // Calico IPAM block, /24
    std::string_view tunnel_ip;  // block's .0: tunl0 / vxlan.calico / wireguard.cali address
    std::string_view vtep_mac;   // vxlan.calico MAC, as felix derives one per node
};
inline constexpr NodeSpec kNodes[] = {
    {"k8s-w1", "192.168.10.101", "192.168.10.1", "192.168.10.0/24", "172.16.158.0/24",
     "172.16.158.0", "66:9d:8a:01:01:01"},
    {"k8s-w2", "192.168.10.102", "192.168.10.1", "192.168.10.0/24", "172.16.184.0/24",
     "172.16.184.0", "66:9d:8a:01:01:02"},
    {"k8s-w0", "192.168.20.100", "192.168.20.1", "192.168.20.0/24", "172.16.34.0/24",
     "172.16.34.0", "66:9d:8a:01:01:00"},
};

struct PodSpec {
    std::string_view ns;    // Kubernetes namespace
    std::string_view name;
    std::string_view node;
    std::string_view ip;
    bool jumbo = false;  // eth0 MTU = the NIC's, larger than the tunnel's: the mtu scenario's sender
};
inline constexpr PodSpec kPods[] = {
    {"default", "pod1", "k8s-w1", "172.16.158.1"},
    {"default", "pod2", "k8s-w1", "172.16.158.2"},
    {"default", "jumbo", "k8s-w1", "172.16.158.3", true},
    {"default", "pod3", "k8s-w2", "172.16.184.4"},
    {"default", "pod4", "k8s-w0", "172.16.34.5"},
};

struct ServiceSpec {
    std::string_view ns, name, cluster_ip;
    int port, target_port;
    std::string_view endpoint_pod;  // kube-proxy DNATs every connection to this pod
};
inline constexpr ServiceSpec kServices[] = {
    {"default", "web", "10.200.1.10", 80, 8080, "pod3"},
};

inline constexpr std::string_view kPoolCidr = "172.16.0.0/16";
inline constexpr std::string_view kServiceCidr = "10.200.1.0/24";
inline constexpr std::string_view kInternetIp = "203.0.113.10";  // reachable only through SNAT
inline constexpr std::string_view kInternetGateway = "203.0.113.1";
inline constexpr int kWebPort = 8080;      // every pod and the internet host serve HTTP here
inline constexpr int kInternetPort = 80;
inline constexpr int kDroppedPort = 9999;  // k8s-w2's FORWARD chain drops TCP to this port
inline constexpr int kWireGuardPort = 51820;
inline constexpr int kWireGuardTable = 1;              // felix's routing table for the tunnel
inline constexpr std::uint32_t kWireGuardMark = 0x100000;  // on wireguard-go's own UDP
inline constexpr int kVxlanVni = 4096;
inline constexpr int kVxlanPort = 4789;

// The table's entry, or nullptr for a name not in it. The lab's own callers pass names taken
// from the table (kNodes, kPods, a PodSpec's node), so they dereference without checking.
const NodeSpec* node(std::string_view name);
const PodSpec* pod(std::string_view name);
std::string node_netns(std::string_view node);  // ptlab-k8s-w1
std::string pod_netns(std::string_view pod);    // ptlab-pod1
inline constexpr std::string_view kRouterNetns = "ptlab-router";
inline constexpr std::string_view kInternetNetns = "ptlab-internet";

// Whether traffic from node a to node b is encapsulated in this mode, and how ("ipip",
// "vxlan", "wireguard" or "" for direct).
std::string_view encapsulation(Mode m, std::string_view node_a, std::string_view node_b);

}  // namespace podtrace::lab

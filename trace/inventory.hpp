#pragma once
// Kubernetes names for what the captures show: pods, services and nodes from
// `kubectl get pods|svc|nodes -A -o json`, and Calico's rule for a pod's host veth name.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "trace/ip.hpp"

namespace podtrace::trace {

// "cali" + the first 11 hex digits of sha1("<namespace>.<pod>") (../shared/DESIGN.md).
std::string calico_veth_name(std::string_view ns, std::string_view pod);

struct Pod {
    std::string ns, name, node;
    std::vector<IpAddr> ips;  // status.podIPs (or podIP)
    bool host_network = false;
    std::string veth;  // calico_veth_name(ns, name); "" for host-networked pods
};

struct ServicePort {
    std::string name, protocol;  // protocol "TCP", "UDP", "SCTP"
    std::uint16_t port = 0;
    std::uint16_t target_port = 0;  // 0 when it is a named port
};

struct Service {
    std::string ns, name;
    std::vector<IpAddr> cluster_ips;  // spec.clusterIPs (or clusterIP); none for headless
    std::vector<ServicePort> ports;
};

struct K8sNode {
    std::string name;
    std::vector<IpAddr> addresses;  // status.addresses of type InternalIP/ExternalIP
    // Calico's node annotations: projectcalico.org/IPv4Address (without the prefix),
    // IPv4IPIPTunnelAddr, IPv4VXLANTunnelAddr, IPv4WireguardInterfaceAddr.
    std::vector<IpAddr> calico_addresses;
    std::vector<Cidr> pod_cidrs;  // spec.podCIDRs (or podCIDR)
};

class Inventory {
public:
    // Each takes the text of `kubectl get … -o json` (a List, or a single object). Adding twice
    // adds both; later entries do not replace earlier ones.
    std::expected<void, Error> add_pods(std::string_view json);
    std::expected<void, Error> add_services(std::string_view json);
    std::expected<void, Error> add_nodes(std::string_view json);

    const std::vector<Pod>& pods() const { return pods_; }
    const std::vector<Service>& services() const { return services_; }
    const std::vector<K8sNode>& nodes() const { return nodes_; }
    bool empty() const { return pods_.empty() && services_.empty() && nodes_.empty(); }

    // Lookups; nullptr when unknown. A host-networked pod's IP is its node's: pod_by_ip
    // prefers the pod that is not host-networked.
    const Pod* pod_by_ip(const IpAddr& a) const;
    const Pod* pod_by_veth(std::string_view node, std::string_view veth) const;
    const Pod* pod(std::string_view ns, std::string_view name) const;
    const Service* service_by_ip(const IpAddr& a) const;
    const Service* service(std::string_view ns, std::string_view name) const;
    const K8sNode* node_by_ip(const IpAddr& a) const;
    const K8sNode* node(std::string_view name) const;

    // "default/pod1", "default/web (service)", "k8s-w1 (node)"; "" when the address is unknown.
    std::string name_of(const IpAddr& a) const;

private:
    void index();
    std::vector<Pod> pods_;
    std::vector<Service> services_;
    std::vector<K8sNode> nodes_;
    std::unordered_map<IpAddr, std::size_t, IpAddrHash> pod_ip_, service_ip_, node_ip_;
};

}  // namespace podtrace::trace

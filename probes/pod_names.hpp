#pragma once
// Names for a node's cali* veths without the Kubernetes API, from the host's /proc (kubectl
// debug node/… shares the host's PID namespace): the network namespace at the veth's other end
// (IFLA_LINK_NETNSID, matched with RTM_GETNSID against each process's /proc/PID/ns/net), then,
// among that namespace's processes, the pod's hostname (its UTS namespace) and Kubernetes
// namespace (the serviceaccount file an app container has mounted). A name is kept only when
// Calico's rule gives exactly this veth's name from it: unknown stays unnamed, never a guess.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podtrace::probes {

// Calico's veth name for a pod, "cali" + sha1("<ns>.<pod>")[:11]. Passed in by the caller:
// the rule lives in trace/ (trace::calico_veth_name), above this library.
using VethNamer = std::function<std::string(std::string_view ns, std::string_view pod)>;

struct VethPeer {
    std::string veth;  // "calice0906292e2"
    int ifindex = 0;
    int peer_ifindex = 0;             // IFLA_LINK: the pod end's ifindex in its namespace
    std::optional<int> peer_netnsid;  // IFLA_LINK_NETNSID; nullopt: the peer is in this one
};

struct PodName {
    std::string ns, pod;
    std::string verified;  // how: which process gave what, and that Calico's rule matched
};

struct VethName {
    std::string veth;
    std::optional<PodName> name;
    std::string why_not;  // when there is no name: what was missing
};

// One process of a peer network namespace, as far as it could be read.
struct PeerProcess {
    int pid = 0;
    std::string hostname;      // "" when unreadable
    std::string hostname_via;  // "UTS namespace" or "/etc/hostname"
    std::optional<std::string> ns;  // the serviceaccount namespace file; nullopt: none/unreadable
    bool denied = false;            // reading something of it was not permitted
};

// The decision for one veth given its peer namespace's processes (pure; tested alone).
VethName decide_veth_name(const std::string& veth, const std::vector<PeerProcess>& procs,
                          const VethNamer& namer);

// Looks every veth up in /proc (`proc`: the proc mount to read, for tests "/proc").
std::vector<VethName> name_veths(const std::vector<VethPeer>& veths, const VethNamer& namer,
                                 const std::string& proc = "/proc");

}  // namespace podtrace::probes

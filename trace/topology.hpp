#pragma once
// What is known about the nodes while explaining paths: what each capture point covered, the
// facts a capture carried (`podtrace discover --json`), what the packets themselves show
// (which veth a pod IP sits behind, a node's own addresses) and the Kubernetes inventory.
#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "trace/inventory.hpp"
#include "trace/ip.hpp"
#include "trace/sighting.hpp"

namespace podtrace::trace {

// The parts of `podtrace discover --json` that explain a hop.
struct NodeRoute {
    Cidr dst;
    std::string dev;   // "" for a blackhole
    std::string mode;  // "ipip", "vxlan", "wireguard", "direct"; "blackhole" for own blocks
    std::string text;  // as `ip route` prints it: "172.16.184.0/24 via 192.168.10.102 dev
                       // tunl0 proto bird onlink", "blackhole 172.16.158.0/24 proto bird"
};
struct FactsLink {
    std::string name;
    unsigned mtu = 0;
    std::vector<Cidr> addresses;  // "192.168.10.101/24"
};
// A cali* veth's pod, as discover verified it from the node's /proc (never a guess).
struct FactsPodName {
    std::string veth, ns, name;
};
struct NodeFacts {
    // Pod mode (discover's pod_view): the capture was made inside a pod, on its own eth0.
    std::optional<FactsLink> pod_side;
    std::optional<FactsLink> nic;
    std::vector<FactsLink> tunnels;  // tunl0, vxlan.calico, wireguard.cali, with their type in
    std::vector<std::string> tunnel_types;  // the same order: "ipip", "vxlan", "wireguard"
    std::vector<std::pair<std::string, std::vector<IpAddr>>> pods;  // veth -> pod IPs
    std::vector<FactsPodName> pod_names;  // discover's pods[].pod, where it found one
    std::vector<NodeRoute> routes;  // blocks (blackhole) first, then remote routes
    bool nat_outgoing = false;      // a MASQUERADE rule in the natOutgoing chain, hooked
    bool nat_outgoing_known = false;

    bool has_wireguard() const;
    unsigned mtu(std::string_view interface) const;  // 0 when unknown
    // The route that decides where `dst` goes from this node: longest prefix; nullptr if none.
    const NodeRoute* route_to(const IpAddr& dst) const;
};
// Parses the JSON that `podtrace discover --json` prints; the error names the bad key.
std::expected<NodeFacts, Error> parse_node_facts(std::string_view json);

struct PointCoverage {
    PointId point;
    std::int64_t first_ns = INT64_MAX, last_ns = INT64_MIN;  // time the point was capturing
    std::uint64_t sightings = 0;
};

class Topology {
public:
    explicit Topology(Names& names) : names_(&names) {}

    // --- filled by the reader
    void set_facts(std::uint16_t node, NodeFacts facts);
    void set_inventory(const Inventory* inv) { inventory_ = inv; }
    // A capture point (an interface of a file) was capturing over [from, to] (its file's span),
    // even if no packet of it was seen.
    void cover(PointId p, std::int64_t from_ns, std::int64_t to_ns);
    // Learns from one sighting (any order): coverage of its point; a pod IP behind a veth (the
    // source of a packet from the pod, the destination of one to it); a node's own address
    // (the outer source of an encapsulated packet leaving its NIC, the outer destination of
    // one arriving).
    void saw(const Sighting& s);

    // --- asked by the diagnoses and the report
    const Names& names() const { return *names_; }
    const Inventory* inventory() const { return inventory_; }
    const NodeFacts* facts(std::uint16_t node) const;
    const std::vector<PointCoverage>& points() const { return points_; }
    // Whether `p` was capturing at `ts`.
    bool captured(PointId p, std::int64_t ts) const;
    // Points of `node` that were capturing at `ts`.
    std::vector<PointId> captured_on(std::uint16_t node, std::int64_t ts) const;
    std::vector<std::uint16_t> nodes() const;  // nodes with at least one capture point

    // The veth a pod IP sits behind: learned from packets, else node facts, else the inventory
    // (node name + Calico's veth name) when that node was captured.
    std::optional<PointId> pod_veth(const IpAddr& pod) const;
    // The node an address belongs to: a pod's node, or a node's own (NIC/tunnel) address.
    std::optional<std::uint16_t> node_of(const IpAddr& a) const;
    // A pod address: seen behind a veth, in a node's blocks, or a pod in the inventory.
    bool is_pod(const IpAddr& a) const;
    // Inside a Calico block known from facts (own blackhole or remote routes), or a node's
    // podCIDR in the inventory. nullopt when no facts or inventory say anything about pools.
    std::optional<bool> in_pool(const IpAddr& a) const;
    // A readable name for an address: the inventory's name, else the pod the node's facts
    // named from /proc, else "pod behind <veth> on <node>", else "".
    std::string name_of(const IpAddr& a) const;
    // "ns/name" of the pod behind a veth point: --pods first, then the node's facts; "".
    std::string pod_at(PointId p) const;

private:
    // The index in points_ of `p`, added when new: recent_ first, else a search.
    std::size_t point_index(const PointId& p);
    // The rare paths of saw(), cold so that its common one needs no saved registers.
    [[gnu::cold]] std::size_t find_point(const PointId& p);
    // Learns where a pod or a node's address is (the first sighting wins), into learned_ too.
    [[gnu::cold]] void learn_pod(std::size_t point, const decode::Addr& a, std::uint8_t version,
                                 PointId at);
    [[gnu::cold]] void learn_node(std::size_t point, const decode::Addr& a, std::uint8_t version,
                                  std::uint16_t node);
    Names* names_;
    const Inventory* inventory_ = nullptr;
    std::vector<PointCoverage> points_;
    // Per point (parallel to points_), the addresses saw() last learned from there, as the
    // sighting carried them: they are in pod_veth_ or node_addr_ for good, so the same pod or
    // node again needs no map lookup.
    struct LastAddr {
        decode::Addr addr{};
        std::uint8_t version = 0;
        bool set = false;
        bool is(const decode::Addr& a, std::uint8_t v) const {
            return set && version == v && same_addr(addr, a);
        }
    };
    struct Learned {
        LastAddr pod, node;
    };
    std::vector<Learned> learned_;
    // points_ index + 1 (0: none) by a hash of the point's ids: a point seen before is mostly
    // one compare away, not a search.
    static constexpr int kRecentBits = 6;
    std::array<std::uint32_t, 1 << kRecentBits> recent_{};
    std::unordered_map<std::uint16_t, NodeFacts> facts_;
    std::unordered_map<IpAddr, PointId, IpAddrHash> pod_veth_;
    std::unordered_map<IpAddr, std::uint16_t, IpAddrHash> node_addr_;
};

}  // namespace podtrace::trace

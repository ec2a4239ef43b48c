#pragma once
// What a Calico node's network namespace looks like right now: pod veths and their IPs,
// tunnel devices, the node's blocks, routes to remote blocks, the NIC and the natOutgoing rule.
// Read with libnl-3 (links, addresses, routes, rules, conntrack) and libnftables.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "probes/pod_names.hpp"
#include "probes/pod_view.hpp"

namespace podtrace::probes {

struct LinkInfo {
    std::string name;
    int ifindex = 0;
    std::string kind;  // rtnl_link_get_type: "veth", "vxlan", "ipip", "tun", "" for a plain device
    unsigned mtu = 0;
    std::string mac;                     // "" when the device has no link-layer address (tun, ipip)
    std::string oper_state;              // "up", "down", "unknown", ...
    std::vector<std::string> addresses;  // "192.168.10.101/24", sorted
};

struct PodInterface {
    LinkInfo link;
    std::vector<std::string> pod_ips;  // from /32 and /128 routes out of this veth, sorted
    int peer_ifindex = 0;              // the pod's end (IFLA_LINK)
    std::optional<int> peer_netnsid;   // IFLA_LINK_NETNSID
    // Named from /proc when DiscoverOptions::namer is given (probes/pod_names.hpp).
    std::optional<PodName> pod;
    std::string pod_unnamed;  // why `pod` is empty, when naming was tried
};

struct Tunnel {
    LinkInfo link;
    std::string type;  // "vxlan", "ipip" (also a tun named tunl0), "wireguard"
    std::optional<std::uint32_t> vni;
    std::optional<std::uint16_t> dst_port;
    std::optional<std::string> local;
    std::optional<std::uint32_t> table;          // wireguard: the table its routes live in
    std::optional<std::uint32_t> rule_priority;  // wireguard: the `ip rule` that looks it up
};

struct Block {
    std::string cidr;
    std::uint8_t protocol = 0;
    std::uint32_t table = 0;
};

struct RemoteRoute {
    std::string dst;
    std::string via;  // "" when there is no gateway
    std::string dev;
    int ifindex = 0;
    bool onlink = false;
    std::uint8_t protocol = 0;
    std::uint32_t table = 0;
    std::string mode;  // "ipip", "vxlan", "wireguard" or "direct" (by output device)
};

struct Nic {
    LinkInfo link;
    std::string gateway;  // of the default route, "" when none
};

struct MasqRule {
    std::string family, table, chain;
    std::uint64_t handle = 0;
    std::string src, dst;  // prefix or address matched, "" when none
    bool src_negated = false, dst_negated = false;
    std::string src_set, dst_set;  // nftables set name ("@" stripped), "" when none
    // nullopt for iptables-nft's MASQUERADE target, whose options libnftables does not show.
    std::optional<bool> random_fully = false;
    std::vector<std::string> matches;  // every match, as text ("ip saddr 172.16.0.0/16", ...)
};

struct NatOutgoing {
    std::vector<MasqRule> rules;
    bool hooked = false;  // reachable by jumps from a postrouting base chain of its table
};

struct NodeFacts {
    // Set inside a Calico pod's network namespace: then there is no node NIC (nic stays empty),
    // no cali*, no tunnel, and the natOutgoing ruleset is the node's, not visible from here.
    std::optional<PodView> pod_view;
    std::optional<Nic> nic;
    std::vector<PodInterface> pods;
    std::vector<Tunnel> tunnels;
    std::vector<Block> blocks;
    std::vector<RemoteRoute> remote_routes;
    std::optional<NatOutgoing> nat_outgoing;
    std::string nat_outgoing_reason;  // why nat_outgoing is empty
    bool nat_ruleset_read = false;    // true: empty means "no such chain", not "could not look"
};

struct DiscoverOptions {
    // Calico's veth name rule (trace::calico_veth_name); when set, cali* veths are named from
    // the processes in their peer network namespaces.
    VethNamer namer;
    std::string proc = "/proc";
};
std::expected<NodeFacts, Error> discover(const DiscoverOptions& options = {});

// Finds the cali-nat-outgoing chain in an `nft -j list ruleset` document (exposed for tests).
std::expected<std::optional<NatOutgoing>, Error> nat_outgoing_from_json(std::string_view nft_json);

std::string protocol_name(std::uint8_t rtprot);  // 12 → "bird", unknown → the number
std::string table_name(std::uint32_t table);     // 254 → "main", others → the number

// Original-direction tuple. For ICMP `sport` is the echo identifier and `dport` is ignored.
struct FiveTuple {
    std::uint8_t proto = 0;  // 6, 17, 1 (58 for ICMPv6)
    std::string src, dst;    // canonical text (inet_ntop)
    std::uint16_t sport = 0, dport = 0;
};

// "tcp:172.16.158.1:40000:8.8.8.8:443"; IPv6 addresses in brackets.
std::expected<FiveTuple, Error> parse_five_tuple(std::string_view text);
std::string to_string(const FiveTuple& t);

struct NatMapping {
    FiveTuple original;
    FiveTuple reply;  // as conntrack stores it: from the peer back to us
    bool snat = false, dnat = false;
    std::string nat_src, nat_dst;  // what the source / destination became ("" unless NATed)
    std::uint16_t nat_sport = 0, nat_dport = 0;
    std::uint32_t id = 0, timeout = 0;
    std::string tcp_state;  // "" for UDP/ICMP
};

// Looks the tuple up in this namespace's conntrack table; nullopt when no entry matches.
std::expected<std::optional<NatMapping>, Error> conntrack_lookup(const FiveTuple& t);

}  // namespace podtrace::probes

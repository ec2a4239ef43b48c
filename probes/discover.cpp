#include "probes/discover.hpp"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ipip.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>
#include <nftables/libnftables.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace podtrace::probes {
namespace {

using nlohmann::json;

struct SockFree {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheFree {
    void operator()(nl_cache* c) const { nl_cache_free(c); }
};
struct NftFree {
    void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Sock = std::unique_ptr<nl_sock, SockFree>;
using Cache = std::unique_ptr<nl_cache, CacheFree>;
using Nft = std::unique_ptr<nft_ctx, NftFree>;

const std::string kCapHelp =
    "needs CAP_NET_ADMIN: run as root (sudo podtrace ...), or on a Kubernetes node with "
    "`kubectl debug node/NAME --profile=netadmin`";

Error nl_error(const std::string& what, int err) {
    std::string msg = what + ": " + nl_geterror(err);
    if (err == -NLE_PERM || err == NLE_PERM) msg += " (" + kCapHelp + ")";
    return {msg};
}

std::expected<Sock, Error> connect(int protocol) {
    Sock s{nl_socket_alloc()};
    if (!s) return std::unexpected(Error{"netlink: out of memory"});
    if (int err = nl_connect(s.get(), protocol); err < 0)
        return std::unexpected(nl_error("netlink connect", err));
    return s;
}

template <typename Fn>
void each(nl_cache* c, Fn fn) {
    for (nl_object* o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) fn(o);
}

std::string addr_text(const nl_addr* a) {
    if (!a) return "";
    int family = nl_addr_get_family(a);
    unsigned len = nl_addr_get_len(a);
    char buf[INET6_ADDRSTRLEN] = {};
    if ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16))
        return inet_ntop(family, nl_addr_get_binary_addr(a), buf, sizeof buf) ? buf : "";
    if (len == 0 && family == AF_INET) return "0.0.0.0";
    if (len == 0 && family == AF_INET6) return "::";
    return "";
}

std::string prefix_text(const nl_addr* a) {
    return addr_text(a) + "/" + std::to_string(nl_addr_get_prefixlen(a));
}

// Orders "172.16.34.0/24" before "172.16.184.0/24", IPv4 before IPv6.
std::tuple<int, std::array<unsigned char, 16>, int> prefix_key(const std::string& cidr) {
    std::size_t slash = cidr.find('/');
    std::string ip = cidr.substr(0, slash);
    std::array<unsigned char, 16> b{};
    int family = inet_pton(AF_INET, ip.c_str(), b.data()) == 1 ? 4 : 6;
    if (family == 6) inet_pton(AF_INET6, ip.c_str(), b.data());
    int len = slash == std::string::npos ? 0 : std::atoi(cidr.c_str() + slash + 1);
    return {family, b, len};
}

std::string mac_text(const nl_addr* a) {
    if (!a || nl_addr_get_len(a) != 6) return "";
    const auto* b = static_cast<const unsigned char*>(nl_addr_get_binary_addr(a));
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                  b[5]);
    return buf;
}

LinkInfo link_info(rtnl_link* l) {
    LinkInfo li;
    li.name = rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "";
    li.ifindex = rtnl_link_get_ifindex(l);
    li.kind = rtnl_link_get_type(l) ? rtnl_link_get_type(l) : "";
    li.mtu = rtnl_link_get_mtu(l);
    li.mac = mac_text(rtnl_link_get_addr(l));
    char buf[32];
    li.oper_state = rtnl_link_operstate2str(rtnl_link_get_operstate(l), buf, sizeof buf);
    return li;
}

// Userspace stand-ins are TUN devices under Calico's names: the lab's tunl0, and the
// wireguard.cali of wireguard-go or boringtun.
std::string tunnel_type(const LinkInfo& li) {
    if (li.kind != "tun") return li.kind;
    return li.name == "tunl0" ? "ipip" : li.name == "wireguard.cali" ? "wireguard" : "";
}

bool is_tunnel_kind(const LinkInfo& li) {
    const std::string t = tunnel_type(li);
    return t == "vxlan" || t == "ipip" || t == "wireguard";
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

// The ruleset's text form of a match's right-hand side: prefix, address, set or literal.
std::string rhs_text(const json& r, std::string* set_name) {
    if (r.is_string()) {
        std::string s = r.get<std::string>();
        if (starts_with(s, "@") && set_name) *set_name = s.substr(1);
        return s;
    }
    if (r.is_object() && r.contains("prefix")) {
        const json& p = r["prefix"];
        return p.value("addr", "") + "/" + std::to_string(p.value("len", 0));
    }
    if (r.is_number()) return r.dump();
    return r.dump();
}

void parse_match(const json& m, MasqRule& rule) {
    std::string op = m.value("op", "==");
    const json& left = m.contains("left") ? m["left"] : json();
    std::string lhs;
    std::string field;
    if (left.is_object() && left.contains("payload")) {
        const json& p = left["payload"];
        field = p.value("field", "");
        lhs = p.value("protocol", "") + " " + field;
    } else {
        lhs = left.dump();
    }
    std::string set;
    std::string rhs = rhs_text(m.contains("right") ? m["right"] : json(), &set);
    bool neg = op == "!=";
    bool addr_field = field == "saddr" || field == "daddr";
    if (addr_field && (op == "==" || op == "!=" || op == "in")) {
        bool src = field == "saddr";
        (src ? rule.src_negated : rule.dst_negated) = neg;
        if (!set.empty())
            (src ? rule.src_set : rule.dst_set) = set;
        else
            (src ? rule.src : rule.dst) = rhs;
    }
    rule.matches.push_back(lhs + (op == "==" || op == "in" ? " " : " " + op + " ") + rhs);
}

// Table/family key for the jump graph walk.
using ChainKey = std::tuple<std::string, std::string, std::string>;

}  // namespace

std::string protocol_name(std::uint8_t p) {
    static const std::map<int, const char*> names{
        {0, "unspec"},      {1, "redirect"}, {2, "kernel"}, {3, "boot"},   {4, "static"},
        {8, "gated"},       {9, "ra"},       {10, "mrt"},   {11, "zebra"}, {12, "bird"},
        {13, "dnrouted"},   {14, "xorp"},    {15, "ntk"},   {16, "dhcp"},  {17, "mrouted"},
        {18, "keepalived"}, {42, "babel"},   {99, "openr"}, {186, "bgp"},  {187, "isis"},
        {188, "ospf"},      {189, "rip"},    {192, "eigrp"}};
    auto it = names.find(p);
    return it == names.end() ? std::to_string(p) : it->second;
}

std::string table_name(std::uint32_t t) {
    switch (t) {
        case RT_TABLE_MAIN: return "main";
        case RT_TABLE_LOCAL: return "local";
        case RT_TABLE_DEFAULT: return "default";
        default: return std::to_string(t);
    }
}

std::expected<std::optional<NatOutgoing>, Error> nat_outgoing_from_json(
    std::string_view text) {
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.contains("nftables") || !doc["nftables"].is_array())
        return std::unexpected(Error{"nftables JSON output not understood"});
    std::set<ChainKey> found;
    std::set<ChainKey> postrouting;
    std::map<ChainKey, std::vector<std::string>> jumps;
    NatOutgoing nat;
    auto is_nat_chain = [](const std::string& name) {
        // iptables-nft keeps Calico's name; Calico's own nftables mode prefixes the chain.
        return name == "cali-nat-outgoing" ||
               (name.size() > 18 && name.ends_with("-cali-nat-outgoing"));
    };
    for (const json& item : doc["nftables"]) {
        if (item.contains("chain")) {
            const json& c = item["chain"];
            ChainKey key{c.value("family", ""), c.value("table", ""), c.value("name", "")};
            if (is_nat_chain(std::get<2>(key))) found.insert(key);
            if (c.value("hook", "") == "postrouting") postrouting.insert(key);
            continue;
        }
        if (!item.contains("rule")) continue;
        const json& r = item["rule"];
        ChainKey key{r.value("family", ""), r.value("table", ""), r.value("chain", "")};
        const json& exprs = r.contains("expr") ? r["expr"] : json::array();
        MasqRule rule;
        bool masq = false;
        for (const json& e : exprs) {
            if (e.contains("jump") || e.contains("goto")) {
                const json& j = e.contains("jump") ? e["jump"] : e["goto"];
                jumps[key].push_back(j.value("target", ""));
            } else if (e.contains("match")) {
                parse_match(e["match"], rule);
            } else if (e.contains("masquerade")) {
                masq = true;
                const json& m = e["masquerade"];
                if (m.is_object() && m.contains("flags"))
                    rule.random_fully =
                        m["flags"].dump().find("fully-random") != std::string::npos ||
                        m["flags"].dump().find("random-fully") != std::string::npos;
            } else if (e.contains("xt")) {
                const json& x = e["xt"];
                std::string name = x.value("name", "");
                if (x.value("type", "") == "target" && name == "MASQUERADE") {
                    masq = true;
                    rule.random_fully = std::nullopt;
                }
                else if (x.value("type", "") == "match")
                    // iptables-nft compat matches (e.g. -m set) do not show their arguments here.
                    rule.matches.push_back("xt match " + name);
            }
        }
        if (!masq || !is_nat_chain(std::get<2>(key))) continue;
        std::tie(rule.family, rule.table, rule.chain) = key;
        rule.handle = r.value("handle", std::uint64_t{0});
        nat.rules.push_back(std::move(rule));
    }
    if (found.empty()) return std::nullopt;
    // Walk jumps from each postrouting base chain to see whether the chain is in effect.
    std::set<ChainKey> seen;
    std::vector<ChainKey> todo(postrouting.begin(), postrouting.end());
    while (!todo.empty()) {
        ChainKey k = todo.back();
        todo.pop_back();
        if (!seen.insert(k).second) continue;
        if (found.count(k)) nat.hooked = true;
        for (const std::string& t : jumps[k]) todo.push_back({std::get<0>(k), std::get<1>(k), t});
    }
    return nat;
}

namespace {

// libnftables in this process: JSON of the whole ruleset, or why not.
bool has_net_admin() {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &hdr, data) != 0) return true;  // unknown: let nftables say
    return data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

std::expected<std::optional<NatOutgoing>, Error> probe_nat_outgoing() {
    // libnftables prints its own "you must be root" on stderr; ask first instead.
    if (!has_net_admin())
        return std::unexpected(Error{"cannot read the nftables ruleset: " + kCapHelp});
    Nft ctx{nft_ctx_new(NFT_CTX_DEFAULT)};
    if (!ctx) return std::unexpected(Error{"libnftables: nft_ctx_new failed"});
    nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    if (nft_run_cmd_from_buffer(ctx.get(), "list ruleset") != 0) {
        std::string err = nft_ctx_get_error_buffer(ctx.get());
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        if (err.find("Operation not permitted") != std::string::npos) err += " (" + kCapHelp + ")";
        return std::unexpected(Error{"libnftables: list ruleset failed: " + err});
    }
    return nat_outgoing_from_json(nft_ctx_get_output_buffer(ctx.get()));
}

std::string mode_for(const LinkInfo& dev) {
    if (is_tunnel_kind(dev)) return tunnel_type(dev);
    return "direct";
}

}  // namespace

std::expected<NodeFacts, Error> discover(const DiscoverOptions& options) {
    auto sock = connect(NETLINK_ROUTE);
    if (!sock) return std::unexpected(sock.error());
    nl_cache* raw = nullptr;
    if (int err = rtnl_link_alloc_cache(sock->get(), AF_UNSPEC, &raw); err < 0)
        return std::unexpected(nl_error("reading links", err));
    Cache links{raw};
    if (int err = rtnl_addr_alloc_cache(sock->get(), &raw); err < 0)
        return std::unexpected(nl_error("reading addresses", err));
    Cache addrs{raw};
    if (int err = rtnl_route_alloc_cache(sock->get(), AF_UNSPEC, 0, &raw); err < 0)
        return std::unexpected(nl_error("reading routes", err));
    Cache routes{raw};
    Cache rules;
    if (rtnl_rule_alloc_cache(sock->get(), AF_UNSPEC, &raw) >= 0) rules.reset(raw);

    std::map<int, LinkInfo> by_index;
    each(links.get(), [&](nl_object* o) {
        LinkInfo li = link_info(reinterpret_cast<rtnl_link*>(o));
        by_index[li.ifindex] = li;
    });
    each(addrs.get(), [&](nl_object* o) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        auto it = by_index.find(rtnl_addr_get_ifindex(a));
        if (it != by_index.end() && rtnl_addr_get_local(a))
            it->second.addresses.push_back(prefix_text(rtnl_addr_get_local(a)));
    });
    for (auto& [_, li] : by_index) std::sort(li.addresses.begin(), li.addresses.end());

    NodeFacts facts;
    if (auto view = detect_pod_view(); view && *view) facts.pod_view = std::move(**view);
    std::map<int, PodInterface> pods;
    for (const auto& [idx, li] : by_index)
        if (starts_with(li.name, "cali") && li.kind == "veth") pods[idx].link = li;
    each(links.get(), [&](nl_object* o) {
        auto* l = reinterpret_cast<rtnl_link*>(o);
        auto p = pods.find(rtnl_link_get_ifindex(l));
        if (p == pods.end()) return;
        p->second.peer_ifindex = rtnl_link_get_link(l);
        std::int32_t nsid = -1;
        if (rtnl_link_get_link_netnsid(l, &nsid) == 0 && nsid >= 0) p->second.peer_netnsid = nsid;
    });

    std::map<int, std::uint32_t> tunnel_table;  // wireguard ifindex → table of its routes
    each(routes.get(), [&](nl_object* o) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        std::uint32_t table = rtnl_route_get_table(r);
        if (table == RT_TABLE_LOCAL) return;
        nl_addr* dst = rtnl_route_get_dst(r);
        int family = rtnl_route_get_family(r);
        if (family != AF_INET && family != AF_INET6) return;
        unsigned plen = dst ? nl_addr_get_prefixlen(dst) : 0;
        std::uint8_t type = rtnl_route_get_type(r);
        std::uint8_t proto = rtnl_route_get_protocol(r);
        if (type == RTN_BLACKHOLE) {
            facts.blocks.push_back({prefix_text(dst), proto, table});
            return;
        }
        if (type != RTN_UNICAST || rtnl_route_get_nnexthops(r) < 1) return;
        rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
        int oif = rtnl_route_nh_get_ifindex(nh);
        std::string gw = addr_text(rtnl_route_nh_get_gateway(nh));
        auto dev = by_index.find(oif);
        if (dev == by_index.end()) return;
        if (plen == 0) {
            // In a pod, the default route's eth0 is the pod's own end of its veth, not a NIC.
            if (family == AF_INET && table == RT_TABLE_MAIN && !facts.nic && !facts.pod_view)
                facts.nic = Nic{dev->second, gw};
            return;
        }
        unsigned full = family == AF_INET ? 32 : 128;
        if (auto p = pods.find(oif); p != pods.end()) {
            if (plen == full) p->second.pod_ips.push_back(addr_text(dst));
            return;
        }
        bool tunnel = is_tunnel_kind(dev->second);
        if (tunnel && tunnel_type(dev->second) == "wireguard" && table != RT_TABLE_MAIN)
            tunnel_table.emplace(oif, table);
        // Calico's routes to other nodes' blocks: out of a tunnel, or learnt by BIRD.
        if ((!tunnel && proto != 12) || proto == RTPROT_KERNEL) return;
        RemoteRoute rr{prefix_text(dst),
                       gw,
                       dev->second.name,
                       oif,
                       (rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK) != 0,
                       proto,
                       table,
                       mode_for(dev->second)};
        facts.remote_routes.push_back(std::move(rr));
    });
    for (auto& [_, p] : pods) {
        std::sort(p.pod_ips.begin(), p.pod_ips.end());
        facts.pods.push_back(std::move(p));
    }
    std::sort(
        facts.pods.begin(), facts.pods.end(),
        [](const PodInterface& a, const PodInterface& b) { return a.link.name < b.link.name; });
    std::sort(facts.blocks.begin(), facts.blocks.end(), [](const Block& a, const Block& b) {
        return prefix_key(a.cidr) < prefix_key(b.cidr);
    });
    std::sort(facts.remote_routes.begin(), facts.remote_routes.end(),
              [](const RemoteRoute& a, const RemoteRoute& b) {
                  return std::tuple(a.table, prefix_key(a.dst)) <
                         std::tuple(b.table, prefix_key(b.dst));
              });

    each(links.get(), [&](nl_object* o) {
        auto* l = reinterpret_cast<rtnl_link*>(o);
        const LinkInfo& li = by_index[rtnl_link_get_ifindex(l)];
        if (!is_tunnel_kind(li)) return;
        Tunnel t{li, tunnel_type(li), {}, {}, {}, {}, {}};
        if (li.kind == "vxlan") {
            std::uint32_t v = 0;
            if (rtnl_link_vxlan_get_id(l, &v) == 0) t.vni = v;
            if (rtnl_link_vxlan_get_port(l, &v) == 0) t.dst_port = static_cast<std::uint16_t>(v);
            nl_addr* local = nullptr;
            if (rtnl_link_vxlan_get_local(l, &local) == 0 && local) {
                t.local = addr_text(local);
                nl_addr_put(local);
            }
        } else if (li.kind == "ipip") {
            std::uint32_t local = rtnl_link_ipip_get_local(l);
            char buf[INET_ADDRSTRLEN];
            if (local) t.local = inet_ntop(AF_INET, &local, buf, sizeof buf);
        } else if (tunnel_type(li) == "wireguard") {
            if (auto it = tunnel_table.find(li.ifindex); it != tunnel_table.end()) {
                t.table = it->second;
                if (rules)
                    each(rules.get(), [&](nl_object* ro) {
                        auto* rule = reinterpret_cast<rtnl_rule*>(ro);
                        if (rtnl_rule_get_table(rule) == it->second && !t.rule_priority)
                            t.rule_priority = rtnl_rule_get_prio(rule);
                    });
            }
        }
        facts.tunnels.push_back(std::move(t));
    });
    std::sort(facts.tunnels.begin(), facts.tunnels.end(),
              [](const Tunnel& a, const Tunnel& b) { return a.link.name < b.link.name; });

    if (options.namer && !facts.pods.empty()) {
        std::vector<VethPeer> peers;
        for (const PodInterface& p : facts.pods)
            peers.push_back({p.link.name, p.link.ifindex, p.peer_ifindex, p.peer_netnsid});
        auto names = name_veths(peers, options.namer, options.proc);
        for (std::size_t i = 0; i < names.size() && i < facts.pods.size(); ++i) {
            facts.pods[i].pod = std::move(names[i].name);
            facts.pods[i].pod_unnamed = std::move(names[i].why_not);
        }
    }

    if (facts.pod_view) {
        // The pod's own ruleset is empty whatever the node does: saying "no natOutgoing" would mislead.
        facts.nat_outgoing_reason =
            "inside a pod's network namespace: the node's natOutgoing rule is not visible here";
        return facts;
    }
    auto nat = probe_nat_outgoing();
    facts.nat_ruleset_read = nat.has_value();
    if (!nat) {
        facts.nat_outgoing_reason = nat.error().message;
    } else if (!*nat) {
        facts.nat_outgoing_reason =
            "no chain named cali-nat-outgoing in the nftables ruleset (rules made by "
            "iptables-legacy are not visible there)";
    } else {
        facts.nat_outgoing = std::move(**nat);
    }
    return facts;
}

namespace {

std::optional<std::string> canonical_ip(std::string_view s) {
    std::string str(s);
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, str.c_str(), buf) == 1) return inet_ntop(AF_INET, buf, out, sizeof out);
    if (inet_pton(AF_INET6, str.c_str(), buf) == 1)
        return inet_ntop(AF_INET6, buf, out, sizeof out);
    return std::nullopt;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535 || s.empty())
        return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// Splits "a:b:[v6]:c" on colons outside brackets.
std::vector<std::string_view> split_fields(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    int depth = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i < s.size() && s[i] == '[') ++depth;
        if (i < s.size() && s[i] == ']') --depth;
        if (i == s.size() || (s[i] == ':' && depth == 0)) {
            std::string_view f = s.substr(start, i - start);
            if (f.size() >= 2 && f.front() == '[' && f.back() == ']') f = f.substr(1, f.size() - 2);
            out.push_back(f);
            start = i + 1;
        }
    }
    return out;
}

}  // namespace

std::expected<FiveTuple, Error> parse_five_tuple(std::string_view text) {
    auto bad = [&](const std::string& why) {
        return std::unexpected(Error{"conntrack tuple '" + std::string(text) + "': " + why +
                                             " (expected PROTO:SRC:SPORT:DST:DPORT, e.g. "
                                             "udp:172.16.158.1:40000:192.168.10.102:53)"});
    };
    auto f = split_fields(text);
    if (f.size() != 5) return bad("needs 5 fields");
    FiveTuple t;
    if (f[0] == "tcp")
        t.proto = IPPROTO_TCP;
    else if (f[0] == "udp")
        t.proto = IPPROTO_UDP;
    else if (f[0] == "icmp")
        t.proto = IPPROTO_ICMP;
    else if (f[0] == "icmpv6")
        t.proto = IPPROTO_ICMPV6;
    else
        return bad("protocol must be tcp, udp, icmp or icmpv6");
    auto src = canonical_ip(f[1]);
    auto dst = canonical_ip(f[3]);
    if (!src || !dst) return bad("not an IP address");
    t.src = *src;
    t.dst = *dst;
    auto sport = parse_port(f[2]);
    auto dport = parse_port(f[4]);
    bool icmp = t.proto == IPPROTO_ICMP || t.proto == IPPROTO_ICMPV6;
    if (!sport || (!dport && !icmp)) return bad("not a port number");
    t.sport = *sport;
    t.dport = icmp ? 0 : *dport;
    return t;
}

std::string to_string(const FiveTuple& t) {
    auto name = t.proto == IPPROTO_TCP    ? "tcp"
                : t.proto == IPPROTO_UDP  ? "udp"
                : t.proto == IPPROTO_ICMP ? "icmp"
                                          : "icmpv6";
    auto host = [](const std::string& a) {
        return a.find(':') != std::string::npos ? "[" + a + "]" : a;
    };
    return std::string(name) + ":" + host(t.src) + ":" + std::to_string(t.sport) + ":" +
           host(t.dst) + ":" + std::to_string(t.dport);
}

std::expected<std::optional<NatMapping>, Error> conntrack_lookup(const FiveTuple& want) {
    auto sock = connect(NETLINK_NETFILTER);
    if (!sock) return std::unexpected(sock.error());
    nl_cache* raw = nullptr;
    if (int err = nfnl_ct_alloc_cache(sock->get(), &raw); err < 0) {
        Error e = nl_error("reading conntrack", err);
        if (err == -NLE_OPNOTSUPP || err == -NLE_OBJ_NOTFOUND || err == -NLE_NOATTR)
            e.message += " (is the nf_conntrack_netlink module loaded?)";
        return std::unexpected(e);
    }
    Cache cts{raw};
    bool icmp = want.proto == IPPROTO_ICMP || want.proto == IPPROTO_ICMPV6;
    auto tuple = [&](nfnl_ct* ct, int repl) {
        FiveTuple t;
        t.proto = nfnl_ct_get_proto(ct);
        t.src = addr_text(nfnl_ct_get_src(ct, repl));
        t.dst = addr_text(nfnl_ct_get_dst(ct, repl));
        if (icmp) {
            t.sport = nfnl_ct_get_icmp_id(ct, repl);
        } else {
            t.sport = nfnl_ct_get_src_port(ct, repl);
            t.dport = nfnl_ct_get_dst_port(ct, repl);
        }
        return t;
    };
    std::optional<NatMapping> found;
    each(cts.get(), [&](nl_object* o) {
        if (found) return;
        auto* ct = reinterpret_cast<nfnl_ct*>(o);
        if (nfnl_ct_get_proto(ct) != want.proto) return;
        FiveTuple orig = tuple(ct, 0);
        if (orig.src != want.src || orig.dst != want.dst || orig.sport != want.sport ||
            (!icmp && orig.dport != want.dport))
            return;
        NatMapping m;
        m.original = orig;
        m.reply = tuple(ct, 1);
        // Reply goes to where the source was rewritten to, and comes from the real destination.
        if (m.reply.dst != orig.src || (!icmp && m.reply.dport != orig.sport) ||
            (icmp && m.reply.sport != orig.sport)) {
            m.snat = true;
            m.nat_src = m.reply.dst;
            m.nat_sport = icmp ? m.reply.sport : m.reply.dport;
        }
        if (m.reply.src != orig.dst || (!icmp && m.reply.sport != orig.dport)) {
            m.dnat = true;
            m.nat_dst = m.reply.src;
            m.nat_dport = icmp ? 0 : m.reply.sport;
        }
        m.id = nfnl_ct_get_id(ct);
        m.timeout = nfnl_ct_get_timeout(ct);
        if (want.proto == IPPROTO_TCP) {
            char buf[32];
            m.tcp_state = nfnl_ct_tcp_state2str(nfnl_ct_get_tcp_state(ct), buf, sizeof buf);
        }
        found = std::move(m);
    });
    return found;
}

}  // namespace podtrace::probes

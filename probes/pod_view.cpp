#include "core/error.hpp"
#include "probes/pod_view.hpp"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>

namespace podtrace::probes {
namespace {

struct SockFree {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheFree {
    void operator()(nl_cache* c) const { nl_cache_free(c); }
};

std::string addr_text(const nl_addr* a) {
    if (!a) return "";
    const int family = nl_addr_get_family(a);
    const unsigned len = nl_addr_get_len(a);
    char buf[INET6_ADDRSTRLEN] = {};
    if ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16))
        return inet_ntop(family, nl_addr_get_binary_addr(a), buf, sizeof buf) ? buf : "";
    return "";
}

// Link-local and loopback addresses say nothing about how the pod is wired.
bool incidental(const std::string& cidr) {
    const std::string ip = cidr.substr(0, cidr.find('/'));
    return ip.starts_with("fe80:") || ip.starts_with("127.") || ip == "::1";
}

bool host_route(const std::string& cidr) {
    const auto slash = cidr.find('/');
    if (slash == std::string::npos) return false;
    const int len = std::atoi(cidr.c_str() + slash + 1);
    return cidr.find(':') != std::string::npos ? len == 128 : len == 32;
}

std::string read_first_line(const std::string& path) {
    std::ifstream f(path);
    std::string line;
    std::getline(f, line);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' '))
        line.pop_back();
    return line;
}

}  // namespace

std::optional<PodView> pod_view_from(const std::vector<PodLinkFact>& links,
                                     const std::vector<DefaultRouteFact>& defaults) {
    for (const PodLinkFact& l : links)
        if (l.name.starts_with("cali")) return std::nullopt;  // a node: Calico's host side
    // IPv4 first: a dual-stack pod has both defaults through the same eth0.
    std::vector<DefaultRouteFact> order = defaults;
    std::ranges::stable_sort(order, {}, [](const DefaultRouteFact& d) { return d.family != AF_INET; });
    for (const DefaultRouteFact& d : order) {
        const std::string_view want = d.family == AF_INET ? kCalicoGateway4 : kCalicoGateway6;
        if (d.gateway != want) continue;
        auto link = std::ranges::find(links, d.ifindex, &PodLinkFact::ifindex);
        if (link == links.end()) continue;
        PodView v;
        v.interface = link->name;
        v.ifindex = link->ifindex;
        v.mtu = link->mtu;
        for (const std::string& a : link->addresses)
            if (!incidental(a)) v.addresses.push_back(a);
        if (v.addresses.empty() || !std::ranges::all_of(v.addresses, host_route)) continue;
        std::ranges::sort(v.addresses);
        v.gateway = d.gateway;
        v.onlink = d.onlink;
        return v;
    }
    return std::nullopt;
}

std::expected<std::optional<PodView>, Error> detect_pod_view() {
    std::unique_ptr<nl_sock, SockFree> sock{nl_socket_alloc()};
    if (!sock) return std::unexpected(Error{std::string("netlink: out of memory")});
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
        return std::unexpected(Error{std::string("netlink connect: ") + nl_geterror(err)});
    nl_cache* raw = nullptr;
    if (int err = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw); err < 0)
        return std::unexpected(Error{std::string("reading links: ") + nl_geterror(err)});
    std::unique_ptr<nl_cache, CacheFree> links{raw};
    if (int err = rtnl_addr_alloc_cache(sock.get(), &raw); err < 0)
        return std::unexpected(Error{std::string("reading addresses: ") + nl_geterror(err)});
    std::unique_ptr<nl_cache, CacheFree> addrs{raw};
    if (int err = rtnl_route_alloc_cache(sock.get(), AF_UNSPEC, 0, &raw); err < 0)
        return std::unexpected(Error{std::string("reading routes: ") + nl_geterror(err)});
    std::unique_ptr<nl_cache, CacheFree> routes{raw};

    std::map<int, PodLinkFact> by_index;
    for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o)) {
        auto* l = reinterpret_cast<rtnl_link*>(o);
        PodLinkFact f;
        f.name = rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "";
        f.ifindex = rtnl_link_get_ifindex(l);
        f.mtu = rtnl_link_get_mtu(l);
        by_index[f.ifindex] = std::move(f);
    }
    for (nl_object* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        auto it = by_index.find(rtnl_addr_get_ifindex(a));
        if (it == by_index.end() || !rtnl_addr_get_local(a)) continue;
        const nl_addr* local = rtnl_addr_get_local(a);
        it->second.addresses.push_back(addr_text(local) + "/" +
                                       std::to_string(nl_addr_get_prefixlen(local)));
    }
    std::vector<DefaultRouteFact> defaults;
    for (nl_object* o = nl_cache_get_first(routes.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        const nl_addr* dst = rtnl_route_get_dst(r);
        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST)
            continue;
        if ((dst && nl_addr_get_prefixlen(dst) != 0) || rtnl_route_get_nnexthops(r) < 1) continue;
        rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
        defaults.push_back({static_cast<int>(rtnl_route_get_family(r)),
                            addr_text(rtnl_route_nh_get_gateway(nh)),
                            rtnl_route_nh_get_ifindex(nh),
                            (rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK) != 0});
    }
    std::vector<PodLinkFact> list;
    for (auto& [_, f] : by_index) list.push_back(std::move(f));
    auto view = pod_view_from(list, defaults);
    if (view) {
        char host[256] = {};
        if (gethostname(host, sizeof host - 1) == 0) view->hostname = host;
        view->pod_namespace =
            read_first_line("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
    }
    return view;
}

std::string pod_view_note(const PodView& v) {
    std::string addrs;
    for (const std::string& a : v.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
    std::string pod = v.hostname.empty() ? "this pod" : "pod " + v.hostname;
    if (!v.hostname.empty() && !v.pod_namespace.empty())
        pod = "pod " + v.pod_namespace + "/" + v.hostname;
    std::string out;
    out += "Pod mode: podtrace runs inside " + pod + "'s network namespace (" + v.interface + " " +
           addrs + ", default via " + v.gateway + "), not on a node.\n";
    out += "It captures " + v.interface +
           " only: this pod's own traffic, as the pod sends and receives it.\n";
    out += "  shows:    what the pod sent, whether replies came back, its DNS queries and "
           "answers, the MTU of " + v.interface + " (" + std::to_string(v.mtu) + ")\n";
    out += "  does not: the host side of the pod's veth (cali*), the tunnel (tunl0, "
           "vxlan.calico, wireguard.cali), the node's NIC, NAT done on the node (SNAT, Service "
           "DNAT), the other node\n";
    out += "For the rest of the path run podtrace on the node (kubectl get pod " +
           (v.hostname.empty() ? std::string("POD") : v.hostname) + " -o wide names it):\n";
    out += "  kubectl debug node/NODE -it --profile=sysadmin --image=IMAGE -- podtrace tui\n";
    out += "  or, for both ends of a cross-node flow: kubectl podtrace trace ...\n";
    return out;
}

}  // namespace podtrace::probes

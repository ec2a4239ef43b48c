#include "probes/link_watch.hpp"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <cerrno>
#include <utility>

namespace podtrace::probes {
namespace {

struct CacheDeleter {
    void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Cache = std::unique_ptr<nl_cache, CacheDeleter>;

std::string nl_error(const char* what, int err) {
    return std::string(what) + ": " + nl_geterror(err);
}

struct EventCtx {
    const std::function<void(const LinkEvent&)>* on;
};

int on_message(nl_msg* msg, void* arg) {
    auto* ctx = static_cast<EventCtx*>(arg);
    nlmsghdr* hdr = nlmsg_hdr(msg);
    if (hdr->nlmsg_type != RTM_NEWLINK && hdr->nlmsg_type != RTM_DELLINK) return NL_OK;
    if (!nlmsg_valid_hdr(hdr, sizeof(ifinfomsg))) return NL_OK;
    auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(hdr));
    nlattr* tb[IFLA_MAX + 1];
    if (nlmsg_parse(hdr, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0 || !tb[IFLA_IFNAME])
        return NL_OK;
    LinkEvent ev;
    ev.kind = hdr->nlmsg_type == RTM_NEWLINK ? LinkEvent::Kind::added : LinkEvent::Kind::removed;
    ev.link.name = nla_get_string(tb[IFLA_IFNAME]);
    ev.link.ifindex = ifi->ifi_index;
    ev.link.up = (ifi->ifi_flags & IFF_UP) != 0;
    (*ctx->on)(ev);
    return NL_OK;
}

}  // namespace

void LinkWatch::SockDeleter::operator()(nl_sock* s) const {
    nl_socket_free(s);  // closes it too
}

LinkWatch::LinkWatch(Sock events, Sock query)
    : events_(std::move(events)), query_(std::move(query)) {}
LinkWatch::LinkWatch(LinkWatch&&) noexcept = default;
LinkWatch& LinkWatch::operator=(LinkWatch&&) noexcept = default;
LinkWatch::~LinkWatch() = default;

std::expected<LinkWatch, Error> LinkWatch::open() {
    Sock events(nl_socket_alloc());
    Sock query(nl_socket_alloc());
    if (!events || !query) return std::unexpected(Error{"netlink: out of memory"});
    nl_socket_disable_seq_check(events.get());  // events are unsolicited
    if (int err = nl_connect(events.get(), NETLINK_ROUTE); err < 0)
        return std::unexpected(Error{nl_error("netlink connect", err)});
    if (int err = nl_socket_add_membership(events.get(), RTNLGRP_LINK); err < 0)
        return std::unexpected(Error{nl_error("netlink subscribe to link events", err)});
    // Pod churn sends bursts of events; a larger buffer makes an overrun (and a resync) rarer.
    nl_socket_set_buffer_size(events.get(), 4 << 20, 0);
    nl_socket_set_nonblocking(events.get());
    if (int err = nl_connect(query.get(), NETLINK_ROUTE); err < 0)
        return std::unexpected(Error{nl_error("netlink connect", err)});
    return LinkWatch(std::move(events), std::move(query));
}

int LinkWatch::fd() const {
    return nl_socket_get_fd(events_.get());
}

void LinkWatch::read_events(const std::function<void(const LinkEvent&)>& on) {
    EventCtx ctx{&on};
    nl_socket_modify_cb(events_.get(), NL_CB_VALID, NL_CB_CUSTOM, on_message, &ctx);
    for (int i = 0; i < 64; ++i) {
        int err = nl_recvmsgs_default(events_.get());
        if (err == -NLE_AGAIN) break;
        if (err == -NLE_NOMEM || err == -NLE_OBJ_NOTFOUND || err < 0) {
            // ENOBUFS (an overrun) comes back as NLE_NOMEM: events were lost.
            LinkEvent ev;
            ev.kind = LinkEvent::Kind::resync;
            on(ev);
            if (err != -NLE_NOMEM) break;
        }
    }
    nl_socket_modify_cb(events_.get(), NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
}

std::expected<std::vector<WatchedLink>, Error> LinkWatch::links() const {
    nl_cache* raw = nullptr;
    if (int err = rtnl_link_alloc_cache(query_.get(), AF_UNSPEC, &raw); err < 0)
        return std::unexpected(Error{nl_error("netlink: listing links", err)});
    Cache cache(raw);
    std::vector<WatchedLink> out;
    for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
        auto* link = reinterpret_cast<rtnl_link*>(o);
        const char* name = rtnl_link_get_name(link);
        if (!name) continue;
        out.push_back(
            {name, rtnl_link_get_ifindex(link), (rtnl_link_get_flags(link) & IFF_UP) != 0});
    }
    return out;
}

std::expected<std::string, Error> LinkWatch::default_route_interface() const {
    nl_cache* raw = nullptr;
    if (int err = rtnl_route_alloc_cache(query_.get(), AF_INET, 0, &raw); err < 0)
        return std::unexpected(Error{nl_error("netlink: listing routes", err)});
    Cache routes(raw);
    nl_cache* lraw = nullptr;
    if (int err = rtnl_link_alloc_cache(query_.get(), AF_UNSPEC, &lraw); err < 0)
        return std::unexpected(Error{nl_error("netlink: listing links", err)});
    Cache links(lraw);
    for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
        auto* route = reinterpret_cast<rtnl_route*>(o);
        nl_addr* dst = rtnl_route_get_dst(route);
        if (rtnl_route_get_table(route) != RT_TABLE_MAIN) continue;
        if (dst && nl_addr_get_prefixlen(dst) != 0) continue;
        if (rtnl_route_get_nnexthops(route) < 1) continue;
        int ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
        char name[IF_NAMESIZE + 1] = {};
        if (rtnl_link_i2name(lraw, ifindex, name, sizeof name)) return std::string(name);
    }
    return std::string();
}

}  // namespace podtrace::probes

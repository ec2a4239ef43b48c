#include "lab/ipip.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "process/fd.hpp"

namespace podtrace::lab {
namespace {

using process::Fd;
using Clock = std::chrono::steady_clock;
constexpr int kPollMs = 200;
// Routes change rarely (a node joins, a block moves): re-read them once a second, and sooner
// when a destination has no route, but never per packet.
constexpr auto kRouteMaxAge = std::chrono::seconds(1);
constexpr auto kMissMinAge = std::chrono::milliseconds(100);
constexpr std::size_t kMaxPacket = 65535;
constexpr std::size_t kOuterLen = sizeof(iphdr);
// Packets taken from one fd per wakeup, so a flood one way starves neither the other nor `stop`.
constexpr int kBurst = 64;

std::string errno_text() {
    return std::strerror(errno);
}

struct NlSockFree {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct NlCacheFree {
    void operator()(nl_cache* c) const { nl_cache_free(c); }
};

std::unexpected<Error> failed(const std::string& what) {
    return std::unexpected(Error{what});
}

std::expected<Fd, Error> open_tun(const std::string& name) {
    Fd fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) return failed("cannot open /dev/net/tun: " + errno_text());
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.data(), name.size());  // the caller checked that it fits
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0)
        return failed("cannot attach to TUN device " + name + ": " + errno_text());
    return fd;
}

std::expected<Fd, Error> open_raw() {
    Fd fd(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_IPIP));
    if (fd.get() < 0) return failed("cannot open a raw IPIP socket: " + errno_text());
    // Writing the outer header ourselves copies TTL and DF per packet, as tunl0 does; the kernel
    // fills in the checksum and, left 0, the source address its route to the gateway picks.
    int on = 1;
    if (setsockopt(fd.get(), IPPROTO_IP, IP_HDRINCL, &on, sizeof on) != 0)
        return failed("cannot set IP_HDRINCL on the raw IPIP socket: " + errno_text());
    return fd;
}

// The node's main-table routes whose next hop is the TUN with a gateway, longest prefix first.
class TunRoutes {
public:
    static std::expected<TunRoutes, Error> load(int ifindex) {
        std::unique_ptr<nl_sock, NlSockFree> sock(nl_socket_alloc());
        if (!sock) return failed("cannot allocate a netlink socket");
        int err = nl_connect(sock.get(), NETLINK_ROUTE);
        if (err < 0)
            return failed(std::string("cannot open a route netlink socket: ") + nl_geterror(err));
        nl_cache* cache = nullptr;
        err = rtnl_route_alloc_cache(sock.get(), AF_INET, 0, &cache);
        if (err < 0) return failed(std::string("cannot read the routes: ") + nl_geterror(err));
        TunRoutes routes(ifindex, std::move(sock), cache);
        routes.rebuild();
        return routes;
    }

    // The outer destination (network order) for an inner one, or 0 when there is none.
    std::uint32_t gateway(std::uint32_t inner_dst) {
        if (Clock::now() - loaded_ >= kRouteMaxAge) refresh();
        std::uint32_t gw = find(ntohl(inner_dst));
        if (gw == 0 && Clock::now() - loaded_ >= kMissMinAge) {
            refresh();
            gw = find(ntohl(inner_dst));
        }
        return gw;
    }

private:
    TunRoutes(int ifindex, std::unique_ptr<nl_sock, NlSockFree> sock, nl_cache* cache)
        : ifindex_(ifindex), sock_(std::move(sock)), cache_(cache), loaded_(Clock::now()) {}

    struct Route {
        std::uint32_t net, mask;  // host order
        std::uint32_t gateway;    // network order
        unsigned prefix;
        std::uint32_t priority;
    };

    std::uint32_t find(std::uint32_t dst) const {
        for (const auto& r : routes_)
            if ((dst & r.mask) == r.net) return r.gateway;
        return 0;
    }

    void refresh() {
        loaded_ = Clock::now();
        // When the dump fails the routes read last stay in use.
        if (nl_cache_refill(sock_.get(), cache_.get()) < 0) return;
        rebuild();
    }

    void rebuild() {
        routes_.clear();
        for (nl_object* o = nl_cache_get_first(cache_.get()); o; o = nl_cache_get_next(o)) {
            auto* route = reinterpret_cast<rtnl_route*>(o);
            nl_addr* dst = rtnl_route_get_dst(route);
            if (rtnl_route_get_table(route) != RT_TABLE_MAIN ||
                rtnl_route_get_type(route) != RTN_UNICAST || !dst)
                continue;
            unsigned prefix = nl_addr_get_prefixlen(dst);
            std::uint32_t net = 0;
            if (nl_addr_get_len(dst) == 4) std::memcpy(&net, nl_addr_get_binary_addr(dst), 4);
            std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
            // A route on the TUN without a gateway gives no outer destination: the kernel's tunl0
            // would send to the inner destination, route that back into itself and drop it.
            for (int i = 0; i < rtnl_route_get_nnexthops(route); ++i) {
                rtnl_nexthop* nh = rtnl_route_nexthop_n(route, i);
                nl_addr* gw = rtnl_route_nh_get_gateway(nh);
                if (rtnl_route_nh_get_ifindex(nh) != ifindex_ || !gw || nl_addr_get_len(gw) != 4)
                    continue;
                Route r{ntohl(net) & mask, mask, 0, prefix, rtnl_route_get_priority(route)};
                std::memcpy(&r.gateway, nl_addr_get_binary_addr(gw), 4);
                routes_.push_back(r);
                break;
            }
        }
        std::sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
            return a.prefix != b.prefix ? a.prefix > b.prefix : a.priority < b.priority;
        });
    }

    int ifindex_;
    std::unique_ptr<nl_sock, NlSockFree> sock_;
    std::unique_ptr<nl_cache, NlCacheFree> cache_;
    std::vector<Route> routes_;
    Clock::time_point loaded_;
};

class Tunnel {
public:
    static std::expected<Tunnel, Error> open(const std::string& name, unsigned ifindex) {
        auto tun = open_tun(name);
        if (!tun) return std::unexpected(tun.error());
        auto raw = open_raw();
        if (!raw) return std::unexpected(raw.error());
        auto routes = TunRoutes::load(static_cast<int>(ifindex));
        if (!routes) return std::unexpected(routes.error());
        return Tunnel(name, std::move(*tun), std::move(*raw), std::move(*routes));
    }

    std::expected<IpipStats, Error> run(const std::atomic<bool>& stop) {
        pollfd fds[2] = {{tun_.get(), POLLIN, 0}, {raw_.get(), POLLIN, 0}};
        while (!stop.load(std::memory_order_relaxed)) {
            int ready = poll(fds, 2, kPollMs);
            if (ready < 0 && errno != EINTR) return failed("poll: " + errno_text());
            if (ready <= 0) continue;
            if (fds[0].revents)
                if (auto r = from_tun(); !r) return std::unexpected(r.error());
            if (fds[1].revents)
                if (auto r = from_network(); !r) return std::unexpected(r.error());
        }
        return stats_;
    }

private:
    Tunnel(const std::string& name, Fd tun, Fd raw, TunRoutes routes)
        : name_(name),
          tun_(std::move(tun)),
          raw_(std::move(raw)),
          routes_(std::move(routes)),
          out_(kOuterLen + kMaxPacket),
          in_(kMaxPacket),
          next_id_(static_cast<std::uint16_t>(std::random_device{}())) {}

    // A read error other than "nothing more" means the device or socket is gone: polling it again
    // would spin.
    std::expected<void, Error> from_tun() {
        for (int i = 0; i < kBurst; ++i) {
            ssize_t n = read(tun_.get(), out_.data() + kOuterLen, kMaxPacket);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) return {};
                return failed("TUN device " + name_ + ": " + errno_text());
            }
            encapsulate(static_cast<std::size_t>(n));
        }
        return {};
    }

    std::expected<void, Error> from_network() {
        for (int i = 0; i < kBurst; ++i) {
            ssize_t n = recv(raw_.get(), in_.data(), in_.size(), 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) return {};
                return failed("raw IPIP socket: " + errno_text());
            }
            decapsulate(static_cast<std::size_t>(n));
        }
        return {};
    }

    void encapsulate(std::size_t len) {
        iphdr inner;
        if (len < sizeof inner || len > kMaxPacket - kOuterLen) {
            ++stats_.dropped;
            return;
        }
        std::memcpy(&inner, out_.data() + kOuterLen, sizeof inner);
        if (inner.version != 4) {  // tunl0 carries IPv4 only
            ++stats_.dropped;
            return;
        }
        std::uint32_t gateway = routes_.gateway(inner.daddr);
        if (gateway == 0) {
            ++stats_.no_route;
            return;
        }
        // tunl0's parameters are all zero: ttl 0 (inherit), tos 0, no forced DF (nopmtudisc). So
        // the outer TTL and DF are the inner ones, and the outer ECN field is the inner one with
        // CE sent as ECT(0) (RFC 6040). The ID comes from a counter: left 0, the kernel would keep
        // ID 0 on DF packets from this socket, while tunl0 numbers every packet.
        constexpr std::uint8_t kEcnMask = 3, kCe = 3, kEct0 = 2;
        std::uint8_t ecn = inner.tos & kEcnMask;
        iphdr outer{};
        outer.version = 4;
        outer.ihl = kOuterLen / 4;
        outer.tos = ecn == kCe ? kEct0 : ecn;
        outer.tot_len = htons(static_cast<std::uint16_t>(len + kOuterLen));
        outer.id = htons(next_id_++);
        outer.frag_off = inner.frag_off & htons(IP_DF);
        outer.ttl = inner.ttl;
        outer.protocol = IPPROTO_IPIP;
        outer.daddr = gateway;
        std::memcpy(out_.data(), &outer, sizeof outer);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = gateway;
        if (sendto(raw_.get(), out_.data(), len + kOuterLen, 0, reinterpret_cast<sockaddr*>(&to),
                   sizeof to) < 0) {
            ++stats_.dropped;
            return;
        }
        ++stats_.encapsulated;
    }

    void decapsulate(std::size_t len) {
        iphdr outer, inner;
        if (len < sizeof outer) {
            ++stats_.dropped;
            return;
        }
        std::memcpy(&outer, in_.data(), sizeof outer);
        std::size_t header = outer.ihl * 4u;
        if (outer.version != 4 || header < sizeof outer || len < header + sizeof inner) {
            ++stats_.dropped;
            return;
        }
        std::memcpy(&inner, in_.data() + header, sizeof inner);
        if (inner.version != 4 || write(tun_.get(), in_.data() + header, len - header) < 0) {
            ++stats_.dropped;
            return;
        }
        ++stats_.decapsulated;
    }

    std::string name_;
    Fd tun_, raw_;
    TunRoutes routes_;
    std::vector<std::uint8_t> out_;  // room for the outer header, then the inner packet
    std::vector<std::uint8_t> in_;
    std::uint16_t next_id_;
    IpipStats stats_;
};

}  // namespace

std::expected<IpipStats, Error> run_ipip(const std::string& tun_name,
                                         const std::atomic<bool>& stop) {
    unsigned ifindex = tun_name.size() < IFNAMSIZ ? if_nametoindex(tun_name.c_str()) : 0;
    if (ifindex == 0)
        return failed("no device " + tun_name +
                      " in this network namespace (make it with `ip tuntap add dev " + tun_name +
                      " mode tun`)");
    auto tunnel = Tunnel::open(tun_name, ifindex);
    if (!tunnel) return std::unexpected(tunnel.error());
    return tunnel->run(stop);
}

}  // namespace podtrace::lab

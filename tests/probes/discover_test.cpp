#include "probes/discover.hpp"
#include "test_util.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace podtrace::probes;

namespace {

using podtrace::test::sh;

// Namespaces the test creates and always removes; `ok` is false where they cannot be made.
struct Netns {
    std::vector<std::string> names;
    std::vector<std::string> cleanup;  // run before the namespaces go
    bool ok = true;
    explicit Netns(std::vector<std::string> n) : names(std::move(n)) {
        for (const auto& name : names) ok = ok && sh("ip netns add " + name);
    }
    ~Netns() {
        for (const auto& c : cleanup) sh(c);
        for (const auto& name : names) sh("ip netns del " + name);
    }
};

bool live_allowed(const char* what) {
    if (geteuid() != 0) {
        WARN(what << ": skipped, needs root (network namespaces)");
        return false;
    }
    if (!sh("command -v ip")) {
        WARN(what << ": skipped, `ip` (iproute2) is not installed");
        return false;
    }
    return true;
}

// Runs fn on a thread that has joined namespace `name`, so the test thread stays where it is.
template <typename Fn>
auto in_netns(const std::string& name, Fn fn) -> decltype(fn()) {
    std::optional<decltype(fn())> result;
    std::string error;
    std::thread t([&] {
        int fd = open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
            error = "setns into " + name + " failed";
            if (fd >= 0) close(fd);
            return;
        }
        close(fd);
        result = fn();
    });
    t.join();
    if (!result) FAIL(error);
    return std::move(*result);
}

std::string pid_name(const char* suffix) {
    return "ptd" + std::to_string(getpid()) + suffix;
}

}  // namespace

TEST_CASE("protocol and table names", "[discover]") {
    CHECK(protocol_name(12) == "bird");
    CHECK(protocol_name(3) == "boot");
    CHECK(protocol_name(80) == "80");
    CHECK(table_name(254) == "main");
    CHECK(table_name(100) == "100");
}

TEST_CASE("five-tuple parsing", "[discover]") {
    auto t = parse_five_tuple("udp:172.16.158.1:40000:192.168.10.102:53");
    REQUIRE(t);
    CHECK(t->proto == 17);
    CHECK(t->src == "172.16.158.1");
    CHECK(t->sport == 40000);
    CHECK(t->dst == "192.168.10.102");
    CHECK(t->dport == 53);
    CHECK(to_string(*t) == "udp:172.16.158.1:40000:192.168.10.102:53");
    auto v6 = parse_five_tuple("tcp:[fd00:0::1]:1:[fd00::2]:443");
    REQUIRE(v6);
    CHECK(v6->src == "fd00::1");
    CHECK(to_string(*v6) == "tcp:[fd00::1]:1:[fd00::2]:443");
    auto icmp = parse_five_tuple("icmp:172.16.158.1:7:8.8.8.8:0");
    REQUIRE(icmp);
    CHECK(icmp->sport == 7);
    CHECK_FALSE(parse_five_tuple("sctp:1.2.3.4:1:1.2.3.5:2"));
    CHECK_FALSE(parse_five_tuple("tcp:1.2.3.4:1:1.2.3.5"));
    CHECK_FALSE(parse_five_tuple("tcp:1.2.3.400:1:1.2.3.5:2"));
    CHECK_FALSE(parse_five_tuple("tcp:1.2.3.4:70000:1.2.3.5:2"));
    CHECK(parse_five_tuple("tcp:x:1:y:2").error().message.find("PROTO:SRC:SPORT") !=
          std::string::npos);
}

TEST_CASE("natOutgoing from Calico's nftables-mode ruleset (sets, native masquerade)",
          "[discover]") {
    // The shape libnftables gives for `ip saddr @set ip daddr != @set masquerade fully-random`.
    const char* doc = R"({"nftables": [
      {"table": {"family": "ip", "name": "calico", "handle": 7}},
      {"chain": {"family": "ip", "table": "calico", "name": "nat-postrouting", "handle": 1,
                 "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}},
      {"chain": {"family": "ip", "table": "calico", "name": "nat-cali-nat-outgoing", "handle": 2}},
      {"rule": {"family": "ip", "table": "calico", "chain": "nat-postrouting", "handle": 3,
                "expr": [{"jump": {"target": "nat-cali-nat-outgoing"}}]}},
      {"rule": {"family": "ip", "table": "calico", "chain": "nat-cali-nat-outgoing", "handle": 4,
                "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                   "right": "@cali40masq-ipam-pools"}},
        {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                   "right": "@cali40all-ipam-pools"}},
        {"masquerade": {"flags": "fully-random"}}]}}]})";
    auto nat = nat_outgoing_from_json(doc);
    REQUIRE(nat);
    REQUIRE(*nat);
    const NatOutgoing& n = **nat;
    CHECK(n.hooked);
    REQUIRE(n.rules.size() == 1);
    const MasqRule& r = n.rules[0];
    CHECK(r.chain == "nat-cali-nat-outgoing");
    CHECK(r.table == "calico");
    CHECK(r.handle == 4);
    CHECK(r.src_set == "cali40masq-ipam-pools");
    CHECK_FALSE(r.src_negated);
    CHECK(r.dst_set == "cali40all-ipam-pools");
    CHECK(r.dst_negated);
    CHECK(r.src.empty());
    CHECK(r.random_fully == true);
    CHECK(r.matches == std::vector<std::string>{"ip saddr @cali40masq-ipam-pools",
                                                "ip daddr != @cali40all-ipam-pools"});

    auto none = nat_outgoing_from_json(R"({"nftables": [{"metainfo": {}}]})");
    REQUIRE(none);
    CHECK_FALSE(*none);
    CHECK_FALSE(nat_outgoing_from_json("not json"));
}

TEST_CASE("discover() reads a Calico-like node namespace exactly", "[live][discover]") {
    if (!live_allowed("discover")) return;
    std::string n = pid_name("n"), a = pid_name("a"), b = pid_name("b");
    Netns ns({n, a, b});
    if (!ns.ok) {
        WARN("discover: skipped, cannot create network namespaces here");
        return;
    }
    ns.cleanup.push_back("ip -n " + n + " tuntap del tunl0 mode tun");
    bool have_iptables = sh("command -v iptables");
    std::string ipn = "ip -n " + n + " ";
    std::vector<std::string> setup{
        // No IPv6 link-local addresses: keeps the address lists exact.
        "ip netns exec " + n + " sysctl -w net.ipv6.conf.default.addr_gen_mode=1",
        ipn + "link set lo up",
        ipn + "link add ens5 type veth peer name underlay0",
        ipn + "link set ens5 mtu 9001 up",
        ipn + "link set underlay0 mtu 9001 up",
        ipn + "addr add 192.168.10.101/24 dev ens5",
        ipn + "route add default via 192.168.10.1 dev ens5",
        ipn + "link add calice0906292e2 type veth peer name eth0 netns " + a,
        ipn + "link add calibd2348b4f67 type veth peer name eth0 netns " + b,
        ipn + "link set calice0906292e2 address ee:ee:ee:ee:ee:ee up",
        ipn + "link set calibd2348b4f67 address ee:ee:ee:ee:ee:ee up",
        "ip -n " + a + " link set eth0 up",
        "ip -n " + b + " link set eth0 up",
        ipn + "route add 172.16.158.1/32 dev calice0906292e2 scope link",
        ipn + "route add 172.16.158.2/32 dev calibd2348b4f67 scope link",
        ipn + "-6 route add fd00:158::1/128 dev calice0906292e2",
        ipn + "route add blackhole 172.16.158.0/24 proto bird",
        ipn + "link add vxlan.calico type vxlan id 4096 dstport 4789 local 192.168.10.101 dev ens5",
        ipn + "link set vxlan.calico mtu 8951 up",
        ipn + "route add 172.16.184.0/24 via 172.16.184.0 dev vxlan.calico onlink",
        ipn + "tuntap add tunl0 mode tun",
        ipn + "link set tunl0 mtu 8981 up",
        ipn + "addr add 172.16.158.0/32 dev tunl0",
        ipn + "route add 172.16.34.0/24 via 192.168.20.100 dev tunl0 proto bird onlink",
        // Not in main: discovery must look at every table.
        ipn + "route add 172.16.116.0/24 via 192.168.10.10 dev ens5 proto bird table 100",
    };
    if (have_iptables) {
        std::string ipt = "ip netns exec " + n + " iptables -t nat ";
        for (const char* r :
             {"-N cali-nat-outgoing", "-N cali-POSTROUTING",
              "-A cali-nat-outgoing -s 172.16.0.0/16 ! -d 172.16.0.0/16 -j MASQUERADE",
              "-A cali-POSTROUTING -j cali-nat-outgoing", "-A POSTROUTING -j cali-POSTROUTING"})
            setup.push_back(ipt + r);
    } else {
        WARN("iptables not installed: natOutgoing part not checked (scripts/install-deps)");
    }
    for (const auto& c : setup) {
        INFO(c);
        REQUIRE(sh(c));
    }

    // Operational state follows carrier through linkwatch, which may lag a moment.
    std::expected<NodeFacts, podtrace::Error> facts;
    for (int i = 0; i < 30; ++i) {
        facts = in_netns(n, [] { return discover(); });
        REQUIRE(facts);
        bool up = facts->nic && facts->nic->link.oper_state == "up" && facts->pods.size() == 2 &&
                  facts->pods[0].link.oper_state == "up" && facts->pods[1].link.oper_state == "up";
        if (up) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const NodeFacts& f = *facts;

    REQUIRE(f.nic);
    CHECK(f.nic->link.name == "ens5");
    CHECK(f.nic->link.kind == "veth");
    CHECK(f.nic->link.mtu == 9001);
    CHECK(f.nic->link.oper_state == "up");
    CHECK(f.nic->link.addresses == std::vector<std::string>{"192.168.10.101/24"});
    CHECK(f.nic->gateway == "192.168.10.1");
    CHECK(f.nic->link.mac.size() == 17);

    REQUIRE(f.pods.size() == 2);
    CHECK(f.pods[0].link.name == "calibd2348b4f67");
    CHECK(f.pods[0].pod_ips == std::vector<std::string>{"172.16.158.2"});
    CHECK(f.pods[1].link.name == "calice0906292e2");
    CHECK(f.pods[1].pod_ips == std::vector<std::string>{"172.16.158.1", "fd00:158::1"});
    for (const PodInterface& p : f.pods) {
        CHECK(p.link.kind == "veth");
        CHECK(p.link.mac == "ee:ee:ee:ee:ee:ee");
        CHECK(p.link.mtu == 1500);
        CHECK(p.link.oper_state == "up");
        CHECK(p.link.ifindex > 0);
        CHECK(p.link.addresses.empty());
    }

    REQUIRE(f.tunnels.size() == 2);
    const Tunnel& tunl = f.tunnels[0];
    CHECK(tunl.link.name == "tunl0");
    CHECK(tunl.type == "ipip");
    CHECK(tunl.link.kind == "tun");
    CHECK(tunl.link.mtu == 8981);
    CHECK(tunl.link.mac.empty());
    CHECK(tunl.link.addresses == std::vector<std::string>{"172.16.158.0/32"});
    CHECK_FALSE(tunl.vni);
    const Tunnel& vx = f.tunnels[1];
    CHECK(vx.link.name == "vxlan.calico");
    CHECK(vx.type == "vxlan");
    CHECK(vx.link.mtu == 8951);
    CHECK(vx.vni == std::optional<std::uint32_t>(4096));
    CHECK(vx.dst_port == std::optional<std::uint16_t>(4789));
    CHECK(vx.local == std::optional<std::string>("192.168.10.101"));
    CHECK(vx.link.oper_state == "unknown");

    REQUIRE(f.blocks.size() == 1);
    CHECK(f.blocks[0].cidr == "172.16.158.0/24");
    CHECK(protocol_name(f.blocks[0].protocol) == "bird");
    CHECK(f.blocks[0].table == 254);

    REQUIRE(f.remote_routes.size() == 3);
    const RemoteRoute& t100 = f.remote_routes[0];
    CHECK(t100.dst == "172.16.116.0/24");
    CHECK(t100.via == "192.168.10.10");
    CHECK(t100.dev == "ens5");
    CHECK(t100.table == 100);
    CHECK(t100.protocol == 12);
    CHECK(t100.mode == "direct");
    CHECK_FALSE(t100.onlink);
    const RemoteRoute& vxr = f.remote_routes[2];
    CHECK(vxr.dst == "172.16.184.0/24");
    CHECK(vxr.via == "172.16.184.0");
    CHECK(vxr.dev == "vxlan.calico");
    CHECK(vxr.ifindex == vx.link.ifindex);
    CHECK(vxr.onlink);
    CHECK(protocol_name(vxr.protocol) == "boot");
    CHECK(vxr.table == 254);
    CHECK(vxr.mode == "vxlan");
    const RemoteRoute& ipip = f.remote_routes[1];
    CHECK(ipip.dst == "172.16.34.0/24");
    CHECK(ipip.via == "192.168.20.100");
    CHECK(ipip.dev == "tunl0");
    CHECK(ipip.onlink);
    CHECK(ipip.protocol == 12);
    CHECK(ipip.mode == "ipip");

    if (!have_iptables) return;
    INFO(f.nat_outgoing_reason);
    REQUIRE(f.nat_outgoing);
    CHECK(f.nat_ruleset_read);
    CHECK(f.nat_outgoing_reason.empty());
    CHECK(f.nat_outgoing->hooked);
    REQUIRE(f.nat_outgoing->rules.size() == 1);
    const MasqRule& r = f.nat_outgoing->rules[0];
    CHECK(r.family == "ip");
    CHECK(r.table == "nat");
    CHECK(r.chain == "cali-nat-outgoing");
    CHECK(r.src == "172.16.0.0/16");
    CHECK_FALSE(r.src_negated);
    CHECK(r.dst == "172.16.0.0/16");
    CHECK(r.dst_negated);
    CHECK(r.src_set.empty());
    CHECK_FALSE(r.random_fully.has_value());  // an xt target: its options are not in the JSON
    CHECK(r.matches ==
          std::vector<std::string>{"ip saddr 172.16.0.0/16", "ip daddr != 172.16.0.0/16"});

    // Without the chain the answer is "none" with a reason, never a guess.
    REQUIRE(sh("ip netns exec " + b + " true"));
    auto bare = in_netns(b, [] { return discover(); });
    REQUIRE(bare);
    CHECK_FALSE(bare->nat_outgoing);
    CHECK(bare->nat_ruleset_read);
    CHECK(bare->nat_outgoing_reason.find("cali-nat-outgoing") != std::string::npos);
    CHECK(bare->pods.empty());
    CHECK_FALSE(bare->nic);
}

TEST_CASE("conntrack_lookup returns the MASQUERADE mapping", "[live][discover]") {
    if (!live_allowed("conntrack")) return;
    if (!sh("command -v iptables")) {
        WARN("conntrack: skipped, iptables not installed (scripts/install-deps)");
        return;
    }
    std::string c = pid_name("c"), s = pid_name("s");
    Netns ns({c, s});
    if (!ns.ok) {
        WARN("conntrack: skipped, cannot create network namespaces here");
        return;
    }
    for (const std::string& cmd : {
             "ip -n " + c + " link set lo up",
             "ip -n " + s + " link set lo up",
             "ip -n " + c + " link add ens5 type veth peer name eth0 netns " + s,
             "ip -n " + c + " addr add 192.168.10.101/24 dev ens5",
             "ip -n " + c + " addr add 172.16.158.1/32 dev lo",
             "ip -n " + c + " link set ens5 up",
             "ip -n " + s + " addr add 192.168.10.102/24 dev eth0",
             "ip -n " + s + " link set eth0 up",
             "ip netns exec " + c + " sysctl -w net.ipv4.ping_group_range='0 0'",
             "ip netns exec " + c + " iptables -t nat -N cali-nat-outgoing",
             "ip netns exec " + c +
                 " iptables -t nat -A cali-nat-outgoing -s 172.16.0.0/16 ! -d 172.16.0.0/16 -j "
                 "MASQUERADE",
             "ip netns exec " + c + " iptables -t nat -A POSTROUTING -j cali-nat-outgoing",
         }) {
        INFO(cmd);
        REQUIRE(sh(cmd));
    }
    // One TCP exchange from the "pod" address 172.16.158.1 to the server namespace, then the
    // lookup in the client namespace where the conntrack entry lives.
    struct Out {
        std::string error;
        std::expected<std::optional<NatMapping>, podtrace::Error> mapping;
        std::expected<std::optional<NatMapping>, podtrace::Error> missing;
        std::expected<std::optional<NatMapping>, podtrace::Error> icmp;
    };
    auto enter = [](const std::string& name) {
        int fd = open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        bool ok = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
        if (fd >= 0) close(fd);
        return ok;
    };
    Out out;
    std::thread t([&] {
        auto sa = [](const char* ip, int port) {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(port);
            inet_pton(AF_INET, ip, &a.sin_addr);
            return a;
        };
        if (!enter(s)) return void(out.error = "setns " + s);
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in la = sa("192.168.10.102", 18080);
        if (bind(lfd, (sockaddr*)&la, sizeof la) || listen(lfd, 1))
            return void(out.error = "server bind/listen");
        if (!enter(c)) return void(out.error = "setns " + c);
        int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        timeval tv{3, 0};
        setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in ca = sa("172.16.158.1", 40123);
        if (bind(cfd, (sockaddr*)&ca, sizeof ca) || connect(cfd, (sockaddr*)&la, sizeof la))
            return void(out.error = "client bind/connect: " + std::string(strerror(errno)));
        int afd = accept(lfd, nullptr, nullptr);
        char buf[8] = {};
        bool exchanged = send(cfd, "ping", 4, 0) == 4 && recv(afd, buf, 4, 0) == 4 &&
                         send(afd, "pong", 4, 0) == 4 && recv(cfd, buf, 4, 0) == 4;
        if (!exchanged) out.error = "exchange failed";
        out.mapping =
            conntrack_lookup(*parse_five_tuple("tcp:172.16.158.1:40123:192.168.10.102:18080"));
        out.missing =
            conntrack_lookup(*parse_five_tuple("udp:172.16.158.1:40123:192.168.10.102:18080"));
        // ICMP echo through a ping socket: the kernel uses the bound "port" as the echo id.
        int ifd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
        setsockopt(ifd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in ia = sa("172.16.158.1", 4660);
        sockaddr_in sa_dst = sa("192.168.10.102", 0);
        unsigned char echo[8] = {8, 0, 0, 0, 0, 0, 0, 1};
        unsigned char reply[64];
        if (ifd < 0 || bind(ifd, (sockaddr*)&ia, sizeof ia) ||
            sendto(ifd, echo, sizeof echo, 0, (sockaddr*)&sa_dst, sizeof sa_dst) != 8 ||
            recv(ifd, reply, sizeof reply, 0) < 8)
            out.error = "icmp echo failed: " + std::string(strerror(errno));
        out.icmp = conntrack_lookup(*parse_five_tuple("icmp:172.16.158.1:4660:192.168.10.102:0"));
        if (ifd >= 0) close(ifd);
        close(afd);
        close(cfd);
        close(lfd);
    });
    t.join();
    REQUIRE(out.error.empty());
    REQUIRE(out.mapping);
    REQUIRE(*out.mapping);
    const NatMapping& m = **out.mapping;
    CHECK(m.original.src == "172.16.158.1");
    CHECK(m.original.sport == 40123);
    CHECK(m.original.dst == "192.168.10.102");
    CHECK(m.original.dport == 18080);
    CHECK(m.reply.src == "192.168.10.102");
    CHECK(m.reply.sport == 18080);
    CHECK(m.reply.dst == "192.168.10.101");
    CHECK(m.reply.dport == 40123);
    CHECK(m.snat);
    CHECK_FALSE(m.dnat);
    CHECK(m.nat_src == "192.168.10.101");
    CHECK(m.nat_sport == 40123);
    CHECK(m.tcp_state == "ESTABLISHED");
    REQUIRE(out.missing);
    CHECK_FALSE(*out.missing);
    REQUIRE(out.icmp);
    REQUIRE(*out.icmp);
    const NatMapping& im = **out.icmp;
    CHECK(im.original.proto == 1);
    CHECK(im.original.sport == 4660);
    CHECK(im.reply.src == "192.168.10.102");
    CHECK(im.reply.dst == "192.168.10.101");
    CHECK(im.reply.sport == 4660);
    CHECK(im.snat);
    CHECK_FALSE(im.dnat);
    CHECK(im.nat_src == "192.168.10.101");
    CHECK(im.nat_sport == 4660);
    CHECK(im.tcp_state.empty());
}

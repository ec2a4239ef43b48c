#include "lab/lab.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>
#include <type_traits>

#include "lab/netns.hpp"
#include "lab/wireguard.hpp"
#include "trace/inventory.hpp"

namespace podtrace::lab {
namespace fs = std::filesystem;
namespace {

using Args = std::vector<std::string>;

std::string s(std::string_view v) { return std::string(v); }
fs::path state_dir() { return fs::path(s(kStateDir)); }

std::expected<void, Error> write_text(const fs::path& p, const std::string& text) {
    std::ofstream f(p);
    f << text;
    if (!f.flush()) return std::unexpected(Error{"cannot write " + p.string()});
    return {};
}

// With std::filesystem's own message, which names the path.
std::expected<void, Error> make_dirs(const fs::path& p) {
    try {
        fs::create_directories(p);
    } catch (const fs::filesystem_error& e) {
        return std::unexpected(Error{e.what()});
    }
    return {};
}

// /proc/sys/net answers for the network namespace of the thread that opens it.
std::expected<void, Error> write_sys(const std::string& netns, const std::string& path,
                                     const std::string& value) {
    auto in = NetnsScope::enter(netns);
    if (!in) return std::unexpected(in.error());
    std::ofstream f(path);
    f << value;
    if (!f.flush())
        return std::unexpected(Error{"cannot write " + value + " to " + path + " in " + netns});
    return {};
}

// The lab's build, one step after another as Calico's documentation shows the commands: after
// the first failure, or SIGINT/SIGTERM, every later step is skipped and result() says what
// failed. A build function then reads as the commands it runs and is checked once, by up().
class Steps {
public:
    explicit Steps(std::ostream& log) : log_(log) {}
    explicit operator bool() const { return !failure_; }
    std::expected<void, Error> result() const {
        if (failure_) return std::unexpected(*failure_);
        return {};
    }

    // Progress lines: none once a step failed, as when the build stopped there.
    std::ostream& log() { return failure_ ? discard_ : log_; }

    // Any other step: `step()` returns std::expected<T, Error>; its value, or none after a
    // failure (then `step` does not run).
    template <typename F>
    auto then(F&& step) {
        using T = typename std::invoke_result_t<F>::value_type;
        if constexpr (std::is_void_v<T>) {
            if (failure_) return;
            if (auto r = step(); !r) failure_ = std::move(r.error());
        } else {
            std::optional<T> value;
            if (failure_) return value;
            if (auto r = step(); r)
                value = std::move(*r);
            else
                failure_ = std::move(r.error());
            return value;
        }
    }

    // `ip -n NETNS ARGS...`; SIGINT/SIGTERM stop the build after it.
    void ip(const std::string& netns, Args args) {
        Args a{"ip", "-n", netns};
        a.insert(a.end(), args.begin(), args.end());
        command(a);
        then(InterruptGuard::check);
    }
    void iptables(const std::string& netns, const std::string& table, Args args) {
        Args a{"iptables", "-w", "-t", table};
        a.insert(a.end(), args.begin(), args.end());
        command(a, netns);
    }
    void command(const Args& argv, const std::string& netns = {}) {
        then([&] { return must(argv, netns); });
    }
    void sysctl(const std::string& netns, const std::string& key, const std::string& value) {
        std::string path = "/proc/sys/" + key;
        std::replace(path.begin() + 10, path.end(), '.', '/');
        write_sys(netns, path, value);
    }
    // Interface names contain dots (vxlan.calico), so per-interface keys are written as paths.
    void sysctl_if(const std::string& netns, const std::string& family,
                   const std::string& ifname, const std::string& leaf, const std::string& value) {
        write_sys(netns, "/proc/sys/net/" + family + "/conf/" + ifname + "/" + leaf, value);
    }
    void write_sys(const std::string& netns, const std::string& path, const std::string& value) {
        then([&] { return lab::write_sys(netns, path, value); });
    }
    void write_text(const fs::path& p, const std::string& text) {
        then([&] { return lab::write_text(p, text); });
    }
    void make_dirs(const fs::path& p) {
        then([&] { return lab::make_dirs(p); });
    }

private:
    std::ostream& log_;
    std::ostream discard_{nullptr};  // no buffer: writes go nowhere
    std::optional<Error> failure_;
};

void add_namespace(Steps& steps, const std::string& netns) {
    steps.command({"ip", "netns", "add", netns});
    // A lookup inside the lab must not leave it: the resolver points at the namespace's own
    // loopback, where nothing listens.
    fs::path etc = fs::path("/etc/netns") / netns;
    steps.make_dirs(etc);
    steps.write_text(etc / "resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
    steps.ip(netns, {"link", "set", "lo", "up"});
    // IPv4-only cluster: no router solicitations or MLD in the captures (Calico's CNI does the same).
    steps.sysctl(netns, "net.ipv6.conf.all.disable_ipv6", "1");
    steps.sysctl(netns, "net.ipv6.conf.default.disable_ipv6", "1");
}

void build_router(Steps& steps) {
    const std::string r = s(kRouterNetns), inet = s(kInternetNetns);
    steps.log() << "router: 192.168.10.1/24, 192.168.20.1/24, 203.0.113.1/24\n";
    add_namespace(steps, r);
    add_namespace(steps, inet);
    steps.sysctl(r, "net.ipv4.ip_forward", "1");
    // A plain switch: with snooping the bridge joins 224.0.0.106 and its IGMP lands in captures.
    steps.ip(r, {"link", "add", "lan10", "type", "bridge", "mcast_snooping", "0"});
    steps.ip(r, {"link", "set", "lan10", "mtu", std::to_string(kNicMtu), "up"});
    steps.ip(r, {"addr", "add", "192.168.10.1/24", "dev", "lan10"});
    for (const auto& n : kNodes) {
        std::string port = s(n.name);
        steps.ip(r, {"link", "add", port, "mtu", std::to_string(kNicMtu), "type", "veth", "peer",
                     "name", "ens5", "mtu", std::to_string(kNicMtu), "netns", node_netns(n.name)});
        if (n.gateway == "192.168.10.1") {
            steps.ip(r, {"link", "set", port, "master", "lan10"});
        } else {
            steps.ip(r, {"addr", "add", s(n.gateway) + "/24", "dev", port});
        }
        steps.ip(r, {"link", "set", port, "up"});
    }
    // The internet link has the internet's MTU; the host there knows only the nodes' subnets,
    // so a pod address that leaves unSNATed gets no answer.
    steps.ip(r, {"link", "add", "wan", "type", "veth", "peer", "name", "eth0", "netns", inet});
    steps.ip(r, {"addr", "add", s(kInternetGateway) + "/24", "dev", "wan"});
    steps.ip(r, {"link", "set", "wan", "up"});
    steps.ip(inet, {"addr", "add", s(kInternetIp) + "/24", "dev", "eth0"});
    steps.ip(inet, {"link", "set", "eth0", "up"});
    steps.ip(inet, {"route", "add", "192.168.0.0/16", "via", s(kInternetGateway)});
}

void build_node(Steps& steps, const NodeSpec& n) {
    const std::string ns = node_netns(n.name);
    steps.log() << n.name << ": ens5 " << n.ip << "/24, block " << n.block << "\n";
    steps.sysctl(ns, "net.ipv4.ip_forward", "1");
    steps.sysctl(ns, "net.ipv4.conf.all.rp_filter", "0");
    steps.sysctl(ns, "net.ipv4.conf.default.rp_filter", "0");
    steps.ip(ns, {"addr", "add", s(n.ip) + "/24", "dev", "ens5"});
    steps.ip(ns, {"link", "set", "ens5", "up"});
    steps.ip(ns, {"route", "add", "default", "via", s(n.gateway), "dev", "ens5"});
    steps.ip(ns, {"route", "add", "blackhole", s(n.block), "proto", "bird"});
}

void build_pod(Steps& steps, const PodSpec& p, Mode m) {
    const std::string node_ns = node_netns(p.node), pod_ns = pod_netns(p.name);
    const std::string veth = trace::calico_veth_name(p.ns, p.name);
    const int mtu = p.jumbo ? kNicMtu : tunnel_mtu(m);
    steps.log() << "  " << p.ns << "/" << p.name << " " << p.ip << " on " << p.node << " ("
                << veth << ", mtu " << mtu << ")\n";
    add_namespace(steps, pod_ns);
    steps.ip(node_ns, {"link", "add", veth, "mtu", std::to_string(mtu), "type", "veth", "peer",
                       "name", "eth0", "mtu", std::to_string(mtu), "netns", pod_ns});
    steps.ip(node_ns, {"link", "set", veth, "address", "ee:ee:ee:ee:ee:ee"});
    steps.sysctl_if(node_ns, "ipv4", veth, "proxy_arp", "1");
    steps.sysctl_if(node_ns, "ipv4", veth, "forwarding", "1");
    steps.write_sys(node_ns, "/proc/sys/net/ipv4/neigh/" + veth + "/proxy_delay", "0");
    steps.ip(node_ns, {"link", "set", veth, "up"});
    steps.ip(node_ns, {"route", "add", s(p.ip) + "/32", "dev", veth, "scope", "link"});
    steps.ip(pod_ns, {"addr", "add", s(p.ip) + "/32", "dev", "eth0"});
    steps.ip(pod_ns, {"link", "set", "eth0", "up"});
    steps.ip(pod_ns, {"route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"});
    steps.ip(pod_ns, {"route", "add", "default", "via", "169.254.1.1", "dev", "eth0"});
}

fs::path pid_file(std::string_view node, std::string_view what) {
    return state_dir() / (s(node) + "." + s(what) + ".pid");
}
fs::path log_file(std::string_view node, std::string_view what) {
    return state_dir() / (s(node) + "." + s(what) + ".log");
}

std::expected<void, Error> wait_for_carrier(const std::string& netns, const std::string& ifname) {
    for (int i = 0; i < 100; ++i) {
        auto r = run({"ip", "-n", netns, "-o", "link", "show", ifname});
        if (!r) return std::unexpected(r.error());
        if (r->status == 0 && r->out.find("NO-CARRIER") == std::string::npos) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::unexpected(Error{ifname + " in " + netns +
                                 " has no carrier after 2 s: its daemon is not serving it"});
}

void build_ipip(Steps& steps, const NodeSpec& n, Mode m, const std::string& exe) {
    const std::string ns = node_netns(n.name);
    const bool kernel = kernel_has_ipip();
    if (!kernel) steps.ip(ns, {"tuntap", "add", "dev", "tunl0", "mode", "tun"});
    steps.ip(ns, {"link", "set", "tunl0", "mtu", std::to_string(tunnel_mtu(m)), "up"});
    steps.ip(ns, {"addr", "add", s(n.tunnel_ip) + "/32", "dev", "tunl0"});
    steps.sysctl_if(ns, "ipv4", "tunl0", "rp_filter", "0");
    for (const auto& peer : kNodes) {
        if (peer.name == n.name || encapsulation(m, n.name, peer.name) != "ipip") continue;
        steps.ip(ns, {"route", "add", s(peer.block), "via", s(peer.ip), "dev", "tunl0", "proto",
                      "bird", "onlink"});
    }
    if (kernel) return;
    steps.log() << "  " << n.name
                << ": tunl0 served by `podtrace lab ipip-daemon` (no ipip module here)\n";
    auto pid = steps.then([&] {
        return spawn_detached({exe, "lab", "ipip-daemon", "tunl0"}, ns,
                              log_file(n.name, "tunl0").string());
    });
    if (pid) steps.write_text(pid_file(n.name, "tunl0"), std::to_string(*pid) + "\n");
    steps.then([&] { return wait_for_carrier(ns, "tunl0"); });
}

// A process per pod for podtrace to name its veth by from /proc (lab/pod_sandbox.hpp).
std::expected<void, Error> start_sandbox(const PodSpec& p, const std::string& exe) {
    const std::string ref = s(p.ns) + "/" + s(p.name);
    auto pid = spawn_detached({exe, "lab", "pod-sandbox", ref}, pod_netns(p.name),
                              log_file(p.name, "sandbox").string());
    if (!pid) return std::unexpected(pid.error());
    if (auto w = write_text(pid_file(p.name, "sandbox"), std::to_string(*pid) + "\n"); !w)
        return w;
    // The sandbox mounts where /var/run really is; through /proc/PID/root a symlink would
    // resolve in our root, not its.
    std::error_code ec;
    fs::path run = fs::canonical("/var/run", ec);
    if (ec) run = "/var/run";
    const std::string ns_file = "/proc/" + std::to_string(*pid) + "/root" + run.string() +
                                "/secrets/kubernetes.io/serviceaccount/namespace";
    for (int i = 0; i < 200; ++i) {
        std::ifstream f(ns_file);
        std::string got;
        if (f >> got && got == p.ns) return {};
        int status = 0;
        if (waitpid(*pid, &status, WNOHANG) == *pid)
            return std::unexpected(Error{"the sandbox of " + ref + " exited: see " +
                                         log_file(p.name, "sandbox").string()});
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::unexpected(Error{"the sandbox of " + ref + " is not ready after 2 s"});
}

void build_vxlan(Steps& steps, const NodeSpec& n, Mode m) {
    const std::string ns = node_netns(n.name);
    steps.ip(ns, {"link", "add", "vxlan.calico", "address", s(n.vtep_mac), "type", "vxlan", "id",
                  std::to_string(kVxlanVni), "local", s(n.ip), "dev", "ens5", "dstport",
                  std::to_string(kVxlanPort), "nolearning"});
    steps.ip(ns, {"link", "set", "vxlan.calico", "mtu", std::to_string(tunnel_mtu(m)), "up"});
    steps.ip(ns, {"addr", "add", s(n.tunnel_ip) + "/32", "dev", "vxlan.calico"});
    steps.sysctl_if(ns, "ipv4", "vxlan.calico", "rp_filter", "0");
    // What felix programs per remote node: a permanent ARP entry for its VTEP, an FDB entry
    // sending that MAC to its node IP, and the block route via the VTEP.
    for (const auto& peer : kNodes) {
        if (peer.name == n.name) continue;
        steps.ip(ns, {"neigh", "add", s(peer.tunnel_ip), "lladdr", s(peer.vtep_mac), "dev",
                      "vxlan.calico", "nud", "permanent"});
        steps.command({"bridge", "-n", ns, "fdb", "add", s(peer.vtep_mac), "dev", "vxlan.calico",
                       "dst", s(peer.ip)});
        steps.ip(ns, {"route", "add", s(peer.block), "via", s(peer.tunnel_ip), "dev",
                      "vxlan.calico", "proto", "80", "onlink"});
    }
}

void build_direct_routes(Steps& steps, const NodeSpec& n, Mode m) {
    const std::string ns = node_netns(n.name);
    for (const auto& peer : kNodes) {
        if (peer.name == n.name || !encapsulation(m, n.name, peer.name).empty()) continue;
        // A peer on this subnet is the next hop itself; elsewhere the router, which learned
        // the blocks (as a BGP peer would).
        std::string via = peer.subnet == n.subnet ? s(peer.ip) : s(n.gateway);
        steps.ip(ns, {"route", "add", s(peer.block), "via", via, "dev", "ens5", "proto", "bird"});
    }
}

void build_router_blocks(Steps& steps) {
    for (const auto& n : kNodes)
        steps.ip(s(kRouterNetns), {"route", "add", s(n.block), "via", s(n.ip)});
}

void build_wireguard(Steps& steps, Mode m) {
    std::map<std::string, WgKey> keys;
    for (const auto& n : kNodes)
        if (auto key = steps.then(generate_wg_key)) keys[s(n.name)] = *key;
    for (const auto& n : kNodes) {
        const std::string ns = node_netns(n.name);
        fs::path run_dir = state_dir() / "wireguard" / s(n.name);
        steps.make_dirs(run_dir);
        steps.log() << "  " << n.name << ": wireguard.cali served by wireguard-go\n";
        auto pid = steps.then([&] {
            return start_wireguard_go(ns, "wireguard.cali", run_dir.string(),
                                      log_file(n.name, "wireguard").string());
        });
        if (pid) steps.write_text(pid_file(n.name, "wireguard"), std::to_string(*pid) + "\n");
        std::vector<WgPeer> peers;
        for (const auto& peer : kNodes) {
            if (peer.name == n.name) continue;
            peers.push_back({keys[s(peer.name)].pub,
                             s(peer.ip) + ":" + std::to_string(kWireGuardPort),
                             {s(peer.block), s(peer.tunnel_ip) + "/32"}});
        }
        steps.then([&] {
            return wg_configure(run_dir.string(), "wireguard.cali", keys[s(n.name)],
                                kWireGuardPort, peers, kWireGuardMark);
        });
        steps.write_text(run_dir / "public_key", base64(keys[s(n.name)].pub) + "\n");
        steps.ip(ns, {"link", "set", "wireguard.cali", "mtu", std::to_string(tunnel_mtu(m)), "up"});
        steps.ip(ns, {"addr", "add", s(n.tunnel_ip) + "/32", "dev", "wireguard.cali"});
        steps.sysctl_if(ns, "ipv4", "wireguard.cali", "rp_filter", "0");
        // Felix's policy routing: everything not marked as WireGuard's own traffic looks up
        // table 1 first, where the peers' blocks go into the tunnel.
        steps.ip(ns, {"rule", "add", "not", "fwmark", "0x100000/0x100000", "lookup",
                      std::to_string(kWireGuardTable), "priority", "99"});
        for (const auto& peer : kNodes) {
            if (peer.name == n.name) continue;
            steps.ip(ns, {"route", "add", s(peer.block), "dev", "wireguard.cali", "scope", "link",
                          "proto", "80", "table", std::to_string(kWireGuardTable)});
        }
    }
}

// Calico's natOutgoing (cali-POSTROUTING → cali-nat-outgoing: MASQUERADE pool sources going to
// non-pool destinations) and kube-proxy's DNAT of the web ClusterIP, per node.
void build_iptables(Steps& steps, const NodeSpec& n) {
    const std::string ns = node_netns(n.name);
    auto nat = [&](Args args) { steps.iptables(ns, "nat", std::move(args)); };
    nat({"-N", "cali-POSTROUTING"});
    nat({"-A", "POSTROUTING", "-j", "cali-POSTROUTING"});
    nat({"-N", "cali-nat-outgoing"});
    nat({"-A", "cali-POSTROUTING", "-j", "cali-nat-outgoing"});
    nat({"-A", "cali-nat-outgoing", "-s", s(kPoolCidr), "!", "-d", s(kPoolCidr), "-j",
         "MASQUERADE", "--random-fully"});
    nat({"-N", "KUBE-SERVICES"});
    nat({"-A", "PREROUTING", "-j", "KUBE-SERVICES"});
    nat({"-A", "OUTPUT", "-j", "KUBE-SERVICES"});
    for (const auto& svc : kServices) {
        std::string chain = "KUBE-SVC-" + s(svc.name), sep = "KUBE-SEP-" + s(svc.name);
        for (auto& c : chain) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (auto& c : sep) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        nat({"-N", chain});
        nat({"-N", sep});
        nat({"-A", "KUBE-SERVICES", "-d", s(svc.cluster_ip) + "/32", "-p", "tcp", "--dport",
             std::to_string(svc.port), "-j", chain});
        nat({"-A", chain, "-j", sep});
        // The endpoint is a pod of the table.
        nat({"-A", sep, "-p", "tcp", "-j", "DNAT", "--to-destination",
             s(pod(svc.endpoint_pod)->ip) + ":" + std::to_string(svc.target_port)});
    }
    if (n.name == "k8s-w2")
        steps.iptables(ns, "filter",
                       {"-A", "FORWARD", "-p", "tcp", "--dport", std::to_string(kDroppedPort),
                        "-m", "comment", "--comment", "podtrace lab: the drop scenario", "-j",
                        "DROP"});
}

std::vector<std::string> lab_namespaces() {
    std::vector<std::string> out;
    if (DIR* d = opendir("/run/netns")) {
        while (dirent* e = readdir(d)) {
            std::string name = e->d_name;
            if (name.rfind(s(kPrefix), 0) == 0) out.push_back(name);
        }
        closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<int> pids_in(const std::string& netns) {
    std::vector<int> pids;
    auto r = run({"ip", "netns", "pids", netns});
    std::istringstream in(r ? r->out : "");
    for (int p; in >> p;) pids.push_back(p);
    return pids;
}

// A zombie has exited: whether its parent (init, once `up` has returned) reaps it soon is not
// ours to wait for.
bool alive(int pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

void stop_processes(const std::vector<int>& pids) {
    for (int p : pids) kill(p, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (int p : pids) {
        while (alive(p) && std::chrono::steady_clock::now() < deadline) {
            // Our own children (daemons of an `up` in this process) would linger as zombies.
            if (waitpid(p, nullptr, WNOHANG) == p) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (alive(p)) {
            kill(p, SIGKILL);
            waitpid(p, nullptr, 0);
        }
    }
}

// Everything `up` makes, in order; the first failure stops it (Steps).
void build(Steps& steps, Mode m, const std::string& exe) {
    steps.make_dirs(state_dir());
    steps.write_text(state_dir() / "mode", s(mode_name(m)) + "\n");
    steps.log() << "lab up: mode " << mode_name(m) << ", namespaces " << kPrefix << "*\n";
    for (const auto& n : kNodes) add_namespace(steps, node_netns(n.name));
    build_router(steps);
    for (const auto& n : kNodes) {
        build_node(steps, n);
        for (const auto& p : kPods)
            if (p.node == n.name) build_pod(steps, p, m);
        build_iptables(steps, n);
        steps.then(InterruptGuard::check);
    }
    switch (m) {
    case Mode::vxlan:
        for (const auto& n : kNodes) build_vxlan(steps, n, m);
        break;
    case Mode::wireguard: build_wireguard(steps, m); break;
    case Mode::direct:
        build_router_blocks(steps);
        for (const auto& n : kNodes) build_direct_routes(steps, n, m);
        break;
    case Mode::ipip:
    case Mode::crosssubnet:
        for (const auto& n : kNodes) {
            build_ipip(steps, n, m, exe);
            build_direct_routes(steps, n, m);
        }
        break;
    }
    steps.then(InterruptGuard::check);
    for (const auto& p : kPods) steps.then([&] { return start_sandbox(p, exe); });
    steps.log() << "pods: a sandbox process each (hostname = pod name, serviceaccount namespace "
                   "file), as a node's /proc shows pods\n";
    steps.log() << "lab up: ready (" << lab_namespaces().size() << " namespaces); next: "
                << "podtrace lab traffic, podtrace lab record DIR, podtrace lab down\n";
}

}  // namespace

bool kernel_has_ipip() {
    std::error_code ec;
    return fs::exists("/sys/module/ipip", ec);
}

std::expected<void, Error> up(Mode m, const std::string& podtrace_exe, std::ostream& log) {
    if (geteuid() != 0)
        return std::unexpected(
            Error{"the lab needs root (network namespaces, veths, iptables): run it with sudo"});
    if (auto existing = lab_namespaces(); !existing.empty()) {
        const auto running = running_mode();
        const std::string mode = running ? " in mode " + s(mode_name(*running)) : "";
        return std::unexpected(Error{"a lab is already up" + mode + " (" +
                                     std::to_string(existing.size()) +
                                     " ptlab- namespaces); run `podtrace lab down` first"});
    }
    InterruptGuard signals;
    Steps steps(log);
    build(steps, m, podtrace_exe);
    if (!steps) {
        std::ostringstream quiet;
        down(quiet);
    }
    return steps.result();
}

std::vector<std::string> down(std::ostream& log) {
    auto names = lab_namespaces();
    // Daemons first: a TUN or WireGuard device held open would keep its namespace alive.
    std::vector<int> pids;
    for (const auto& ns : names)
        for (int p : pids_in(ns)) pids.push_back(p);
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    if (!pids.empty()) log << "lab down: stopping " << pids.size() << " process(es)\n";
    stop_processes(pids);
    for (const auto& ns : names) {
        auto r = run({"ip", "netns", "del", ns});
        if (!r || r->status != 0)
            log << "lab down: " << ns << ": " << (r ? r->err : r.error().message + "\n");
        std::error_code ec;
        fs::remove_all(fs::path("/etc/netns") / ns, ec);
    }
    std::error_code ec;
    fs::remove("/etc/netns", ec);  // only when empty: it may hold other tools' namespaces
    fs::remove_all(state_dir(), ec);
    if (!names.empty()) log << "lab down: removed " << names.size() << " namespaces\n";
    return names;
}

std::expected<Mode, Error> running_mode() {
    std::ifstream f(state_dir() / "mode");
    std::string name;
    if (!(f >> name))
        return std::unexpected(Error{"no lab is up (no " + (state_dir() / "mode").string() +
                                     "); start one with `podtrace lab up --mode MODE`"});
    auto m = parse_mode(name);
    if (!m) return std::unexpected(Error{state_dir().string() + "/mode names no mode: " + name});
    return *m;
}

Status status() {
    Status st;
    st.namespaces = lab_namespaces();
    if (auto m = running_mode()) st.mode = *m;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(state_dir(), ec)) {
        if (e.path().extension() != ".pid") continue;
        std::ifstream f(e.path());
        Status::Daemon d;
        f >> d.pid;
        std::string stem = e.path().stem().string();  // k8s-w1.tunl0
        auto dot = stem.find('.');
        std::string node = stem.substr(0, dot), what = stem.substr(dot + 1);
        if (what == "sandbox") {
            std::string ref = node;
            for (const auto& p : kPods)
                if (p.name == node) ref = s(p.ns) + "/" + node;
            d.what = node + " sandbox (podtrace lab pod-sandbox " + ref + ")";
        } else {
            d.what = node + " " + (what == "tunl0" ? "tunl0 (podtrace lab ipip-daemon)"
                                                   : "wireguard.cali (wireguard-go)");
        }
        d.running = alive(d.pid);
        st.daemons.push_back(d);
    }
    std::sort(st.daemons.begin(), st.daemons.end(),
              [](const auto& a, const auto& b) { return a.what < b.what; });
    return st;
}

std::string status_text(const Status& st) {
    std::ostringstream o;
    if (!st.up()) {
        o << "lab: down\n";
        return o.str();
    }
    o << "lab: up, mode " << (st.mode ? mode_name(*st.mode) : "unknown (state directory missing)")
      << "\n";
    o << "namespaces:";
    for (const auto& n : st.namespaces) o << " " << n;
    o << "\n";
    for (const auto& n : kNodes) {
        o << n.name << " (" << n.ip << ", block " << n.block << "):";
        for (const auto& p : kPods)
            if (p.node == n.name) o << " " << p.name << "=" << p.ip;
        o << "\n";
    }
    for (const auto& d : st.daemons)
        o << "daemon " << d.what << " pid " << d.pid << (d.running ? " running" : " NOT running")
          << "\n";
    return o.str();
}

}  // namespace podtrace::lab

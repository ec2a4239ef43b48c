#include "lab/scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
#include <thread>

#include "lab/netns.hpp"
#include "lab/traffic.hpp"

namespace podtrace::lab {
namespace {

using namespace std::chrono_literals;

std::string s(std::string_view v) {
    return std::string(v);
}

std::string encap_word(Mode m, std::string_view a, std::string_view b) {
    auto e = encapsulation(m, a, b);
    return e.empty() ? "direct" : s(e);
}

std::string ping_text(const PingResult& r) {
    std::string t = "ping " + std::to_string(r.received) + "/" + std::to_string(r.sent);
    if (!r.error.empty()) t += " (" + r.error + ")";
    return t;
}

std::string get_text(int port, const HttpResult& r) {
    std::string t = "GET :" + std::to_string(port) + " ";
    if (r.connected && r.status) return t + std::to_string(r.status);
    return t + (r.error.empty() ? "failed" : r.error);
}

// A ping and an HTTP GET from one pod to an address, both expected to succeed.
std::expected<ScenarioResult, Error> exchange(std::string name, std::string_view from,
                                              std::string_view to_ip, int port,
                                              std::string expect) {
    ScenarioResult r;
    r.name = std::move(name);
    auto p = ping(pod_netns(from), s(to_ip), 3, 56, false, 200ms, 1s);
    if (!p) return std::unexpected(p.error());
    auto g = http_get(pod_netns(from), s(to_ip), port, "/", 2s);
    if (!g) return std::unexpected(g.error());
    r.ok = p->received == p->sent && p->sent > 0 && g->connected && g->status == 200;
    r.detail = ping_text(*p) + ", " + get_text(port, *g);
    r.expects.push_back(std::move(expect));
    return r;
}

// Every pod named here is in the lab's table (kPods), so pod() finds it.
std::expected<ScenarioResult, Error> run_one(Mode m, std::string_view name) {
    const auto& pod1 = *pod("pod1");
    if (name == "same-node")
        return exchange(s(name), "pod1", pod("pod2")->ip, kWebPort,
                        "default/pod1 -> default/pod2: same-node");
    if (name == "cross-node")
        return exchange(s(name), "pod1", pod("pod3")->ip, kWebPort,
                        "default/pod1 -> default/pod3: cross-node encap=" +
                            encap_word(m, pod1.node, pod("pod3")->node));
    if (name == "cross-subnet")
        return exchange(s(name), "pod1", pod("pod4")->ip, kWebPort,
                        "default/pod1 -> default/pod4: cross-node encap=" +
                            encap_word(m, pod1.node, pod("pod4")->node));
    if (name == "egress")
        return exchange(s(name), "pod1", kInternetIp, kInternetPort,
                        "default/pod1 -> " + s(kInternetIp) + ": egress snat");
    if (name == "service") {
        const auto& svc = kServices[0];
        ScenarioResult r;
        r.name = s(name);
        auto g = http_get(pod_netns("pod2"), s(svc.cluster_ip), svc.port, "/", 2s);
        if (!g) return std::unexpected(g.error());
        r.ok = g->connected && g->status == 200;
        r.detail = get_text(svc.port, *g) + " (" + s(svc.cluster_ip) + " -> " +
                   s(pod(svc.endpoint_pod)->ip) + ":" + std::to_string(svc.target_port) + ")";
        const std::string to = "default/pod2 -> " + s(svc.ns) + "/" + s(svc.name) + ": ";
        r.expects.push_back(to + "service dnat");
        // And on to the endpoint, as the lab placed it: same-node, or across with this mode's
        // encapsulation.
        const auto& client = *pod("pod2");
        const auto& endpoint = *pod(svc.endpoint_pod);
        r.expects.push_back(
            to + (client.node == endpoint.node
                      ? std::string("same-node")
                      : "cross-node encap=" + encap_word(m, client.node, endpoint.node)));
        return r;
    }
    if (name == "drop") {
        // k8s-w2's FORWARD chain drops it between the tunnel (or NIC) and pod3's veth.
        ScenarioResult r;
        r.name = s(name);
        auto g = http_get(pod_netns("pod1"), s(pod("pod3")->ip), kDroppedPort, "/", 1500ms);
        if (!g) return std::unexpected(g.error());
        r.ok = !g->connected;
        r.detail = get_text(kDroppedPort, *g) + " (dropped by k8s-w2's FORWARD chain, as built)";
        return r;
    }
    if (name == "mtu") {
        ScenarioResult r;
        r.name = s(name);
        std::string_view target;
        for (std::string_view t : {"pod3", "pod4"})
            if (!encapsulation(m, pod("jumbo")->node, pod(t)->node).empty()) {
                target = t;
                break;
            }
        if (target.empty()) {
            r.ran = false;
            r.detail = "no encapsulation in this mode: a NIC-sized packet fits every hop";
            return r;
        }
        // The largest packet the jumbo pod's eth0 takes, with DF: the tunnel cannot carry it.
        auto p = ping(pod_netns("jumbo"), s(pod(target)->ip), 2, kNicMtu - 28, true, 200ms, 1s);
        if (!p) return std::unexpected(p.error());
        r.ok = p->frag_needed > 0 && p->reported_mtu == tunnel_mtu(m);
        r.detail = "DF " + std::to_string(kNicMtu) + "-byte ping jumbo -> " + s(target) + ": " +
                   std::to_string(p->frag_needed) + " frag-needed, mtu " +
                   std::to_string(p->reported_mtu);
        return r;
    }
    return std::unexpected(Error{"unknown scenario " + s(name)});
}

}  // namespace

const std::vector<std::string_view>& scenario_names() {
    static const std::vector<std::string_view> names{
        "same-node", "cross-node", "cross-subnet", "egress", "service", "drop", "mtu"};
    return names;
}

std::expected<std::vector<ScenarioResult>, Error> run_scenarios(
    Mode m, const std::vector<std::string>& names, std::ostream& log) {
    std::vector<std::string> chosen = names;
    if (chosen.empty())
        for (auto n : scenario_names()) chosen.emplace_back(n);
    for (const auto& n : chosen)
        if (std::find(scenario_names().begin(), scenario_names().end(), n) ==
            scenario_names().end()) {
            std::string known;
            for (auto k : scenario_names()) known += (known.empty() ? "" : ", ") + s(k);
            return std::unexpected(
                Error{"unknown scenario '" + n + "' (scenarios: " + known + ")"});
        }
    // Every pod serves HTTP on its port, and the internet host on 80, for the whole run.
    std::vector<std::unique_ptr<HttpServer>> servers;
    auto serve = [&](const std::string& netns, std::string_view ip,
                     int port) -> std::expected<void, Error> {
        auto server = HttpServer::start(netns, s(ip), port);
        if (!server) return std::unexpected(server.error());
        servers.push_back(std::move(*server));
        return {};
    };
    for (const auto& p : kPods)
        if (auto started = serve(pod_netns(p.name), p.ip, kWebPort); !started)
            return std::unexpected(started.error());
    if (auto started = serve(s(kInternetNetns), kInternetIp, kInternetPort); !started)
        return std::unexpected(started.error());
    std::vector<ScenarioResult> results;
    for (const auto& n : chosen) {
        auto one = run_one(m, n);
        if (!one) return std::unexpected(one.error());
        results.push_back(std::move(*one));
        const auto& r = results.back();
        log << (r.ran ? (r.ok ? "ok    " : "FAIL  ") : "skip  ") << r.name << ": " << r.detail
            << "\n";
        // Scenarios apart in time, so each one's packets stand on their own in a capture.
        std::this_thread::sleep_for(100ms);
        // `lab record` stops between scenarios on Ctrl-C
        if (auto go_on = InterruptGuard::check(); !go_on) return std::unexpected(go_on.error());
    }
    return results;
}

}  // namespace podtrace::lab

// `podtrace lab`: a Calico data plane in network namespaces (up, down, status, traffic, record),
// and the hidden daemon that serves the lab's tunl0 where the kernel has no ipip module.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>

#include "app/command.hpp"
#include "lab/ipip.hpp"
#include "lab/kube_json.hpp"
#include "lab/lab.hpp"
#include "lab/pod_sandbox.hpp"
#include "lab/record.hpp"
#include "lab/scenarios.hpp"
#include "process/spawn.hpp"

namespace podtrace::app {
namespace {

using namespace podtrace::lab;

std::atomic<bool> g_stop{false};
extern "C" void stop_daemon(int) { g_stop = true; }

int fail(const Error& e) {
    std::string what = e.message;
    while (!what.empty() && what.back() == '\n') what.pop_back();
    std::cerr << "podtrace: lab: " << what << '\n';
    return 2;
}

void print_results(const std::vector<ScenarioResult>& results, std::ostream& out) {
    out << "expectations that hold for what ran (podtrace report --expect):\n";
    for (const auto& r : results)
        for (const auto& e : r.expects) out << "  '" << e << "'\n";
}

int scenario_exit(const std::vector<ScenarioResult>& results) {
    for (const auto& r : results)
        if (r.ran && !r.ok) return 1;
    return 0;
}

struct LabOptions {
    std::string mode = "ipip";
    std::vector<std::string> scenarios;
    std::string dir;
    std::string kind;
    std::string tun = "tunl0";
    std::string pod;  // pod-sandbox's NAMESPACE/POD
};

}  // namespace

Command add_lab_command(CLI::App& cli) {
    auto opt = std::make_shared<LabOptions>();
    auto* sub = cli.add_subcommand(
        "lab", "a Calico cluster in network namespaces on this machine, for demos and tests (root)");
    sub->require_subcommand(1);
    std::vector<std::string> modes;
    for (Mode m : kModes) modes.emplace_back(mode_name(m));
    auto* up_cmd = sub->add_subcommand("up", "build the lab (nodes k8s-w1, k8s-w2, k8s-w0, pods, "
                                             "router, internet host) in one Calico mode");
    up_cmd->add_option("--mode", opt->mode, "how pod traffic crosses nodes")
        ->check(CLI::IsMember(modes))
        ->capture_default_str();
    auto* down_cmd = sub->add_subcommand("down", "remove everything the lab made");
    auto* status_cmd = sub->add_subcommand("status", "show whether a lab is up, its mode and daemons");
    std::string names;
    for (auto n : scenario_names()) names += (names.empty() ? "" : ", ") + std::string(n);
    auto* traffic_cmd = sub->add_subcommand("traffic", "run scenarios between the lab's pods");
    traffic_cmd->add_option("scenario", opt->scenarios, "any of: " + names + " (default: all)");
    auto* record_cmd = sub->add_subcommand(
        "record", "capture every node while the scenarios run; write DIR/<node>.pcapng and "
                  "kubectl's pods/services/nodes JSON");
    record_cmd->add_option("dir", opt->dir, "directory to write")->required();
    record_cmd->add_option("scenario", opt->scenarios, "any of: " + names + " (default: all)");
    auto* get_cmd = sub->add_subcommand(
        "get", "print what `kubectl get pods|services|nodes -A -o json` would for the running lab");
    get_cmd->add_option("kind", opt->kind, "pods, services (svc) or nodes")
        ->required()
        ->check(CLI::IsMember({"pods", "services", "svc", "nodes"}));
    auto* daemon_cmd = sub->add_subcommand("ipip-daemon", "");  // started by `lab up`, hidden
    daemon_cmd->group("");
    // Bound to the shared options: CLI11 writes into them at parse time, after this returns.
    daemon_cmd->add_option("tun", opt->tun);
    auto* sandbox_cmd = sub->add_subcommand("pod-sandbox", "");  // started by `lab up`, hidden
    sandbox_cmd->group("");
    sandbox_cmd->add_option("pod", opt->pod, "NAMESPACE/POD")->required();

    auto run = [=]() -> int {
        auto needs_root = [] { return fail(Error{"the lab needs root: run it with sudo"}); };
        // The daemons `lab up` starts, and the captures of `lab record`, are this program.
        const auto exe = process::self_exe();
        if (up_cmd->parsed()) {
            if (!exe) return fail(exe.error());
            auto built = up(*parse_mode(opt->mode), *exe, std::cout);
            return built ? 0 : fail(built.error());
        }
        if (down_cmd->parsed()) {
            if (geteuid() != 0) return needs_root();
            if (down(std::cout).empty()) std::cout << "lab down: nothing to remove\n";
            return 0;
        }
        if (status_cmd->parsed()) {
            auto st = status();
            std::cout << status_text(st);
            return st.up() ? 0 : 1;
        }
        if (traffic_cmd->parsed()) {
            if (geteuid() != 0) return needs_root();
            const auto m = running_mode();
            if (!m) return fail(m.error());
            auto results = run_scenarios(*m, opt->scenarios, std::cout);
            if (!results) return fail(results.error());
            print_results(*results, std::cout);
            return scenario_exit(*results);
        }
        if (record_cmd->parsed()) {
            if (geteuid() != 0) return needs_root();
            if (!exe) return fail(exe.error());
            auto rec = record(opt->dir, *exe, opt->scenarios, std::cout);
            if (!rec) return fail(rec.error());
            for (const auto& f : rec->files) std::cout << "wrote " << f << '\n';
            print_results(rec->scenarios, std::cout);
            return scenario_exit(rec->scenarios);
        }
        if (get_cmd->parsed()) {
            const auto m = running_mode();
            if (!m) return fail(m.error());
            if (opt->kind == "pods") std::cout << pods_json();
            else if (opt->kind == "nodes") std::cout << nodes_json(*m, wireguard_public_keys());
            else std::cout << services_json();
            return 0;
        }
        if (sandbox_cmd->parsed()) {
            struct sigaction sa{};
            sa.sa_handler = stop_daemon;
            sigaction(SIGTERM, &sa, nullptr);
            sigaction(SIGINT, &sa, nullptr);
            auto ran = run_pod_sandbox(opt->pod, g_stop, std::cerr);
            return ran ? 0 : fail(ran.error());
        }
        if (daemon_cmd->parsed()) {
            struct sigaction sa{};
            sa.sa_handler = stop_daemon;
            sigaction(SIGTERM, &sa, nullptr);
            sigaction(SIGINT, &sa, nullptr);
            auto st = run_ipip(opt->tun, g_stop);
            if (!st) return fail(st.error());
            std::cerr << "ipip-daemon " << opt->tun << ": " << st->encapsulated << " encapsulated, "
                      << st->decapsulated << " decapsulated, " << st->no_route
                      << " without a route, " << st->dropped << " dropped\n";
            return 0;
        }
        return 2;
    };
    return {sub, run};
}

}  // namespace podtrace::app

// `podtrace kubectl capture|trace|tui`: what `kubectl podtrace` runs (this binary installed as
// kubectl-podtrace). The flags, the signals and the printing; kube/plugin.hpp does the rest.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app/command.hpp"
#include "kube/plugin.hpp"

namespace podtrace::app {
namespace {

namespace fs = std::filesystem;

// Ctrl-C stops the capture in order; a second one stops waiting for the nodes (kube/plugin.hpp).
std::atomic<int> g_signals{0};
extern "C" void on_kube_signal(int) {
    g_signals.fetch_add(1);
}

void install_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_kube_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, nullptr);  // a kubectl that died is seen by its exit, not a kill
}

int fail(const Error& e) {
    std::cerr << "podtrace: " << e.message << '\n';
    return 2;
}

int capture(const kube::Options& o) {
    const auto files = kube::run_capture(o, g_signals, std::cerr);
    if (!files) return fail(files.error());
    const fs::path dir = o.dir;
    for (const auto& f : *files) std::cout << "wrote " << f.string() << '\n';
    for (const char* j : {"pods.json", "services.json", "nodes.json"})
        std::cout << "wrote " << (dir / j).string() << '\n';
    std::cout << "report: podtrace report " << (dir / "*.pcapng").string() << " --pods "
              << (dir / "pods.json").string() << " --services "
              << (dir / "services.json").string() << " --nodes "
              << (dir / "nodes.json").string() << '\n';
    return 0;
}

void add_common(CLI::App* sub, kube::Options& o) {
    sub->add_option("--image", o.kube.image,
                    "the podtrace image the nodes run (default: $PODTRACE_IMAGE)");
    sub->add_option("--profile", o.kube.profile,
                    "kubectl debug profile of the node pods: netadmin (NET_ADMIN, NET_RAW) "
                    "or sysadmin")
        ->capture_default_str();
    sub->add_option("--context", o.kube.context, "kubeconfig context");
    sub->add_option("--debug-namespace", o.kube.namespace_,
                    "namespace of the debug pods (default: kubectl's current)");
    sub->add_option("--kubectl", o.kube.kubectl, "the kubectl to run (default: $KUBECTL or kubectl)");
    sub->add_option("--ready-timeout", o.ready_timeout_s,
                    "seconds to wait for every node's podtrace to capture (image pulls)")
        ->check(positive())
        ->capture_default_str();
}

void add_capture_options(CLI::App* sub, kube::Options& o) {
    sub->add_option("-s,--snaplen", o.snaplen, "bytes kept per packet on the nodes (default 512)")
        ->check(non_negative());
}

}  // namespace

Command add_kubectl_command(CLI::App& cli) {
    auto o = std::make_shared<kube::Options>();
    auto* sub = cli.add_subcommand(
        "kubectl", "what `kubectl podtrace` runs: install this binary as kubectl-podtrace on PATH");
    sub->require_subcommand(1);

    auto* cap = sub->add_subcommand(
        "capture", "capture on nodes through kubectl debug into DIR/<node>.pcapng, with the "
                   "cluster's pods/services/nodes JSON beside them");
    add_common(cap, *o);
    add_capture_options(cap, *o);
    cap->add_option("--nodes", o->nodes, "nodes to capture on (comma-separated)")
        ->delimiter(',')
        ->required();
    cap->add_option("--duration", o->duration, "how long (30s, 2m); default: until Ctrl-C");
    cap->add_option("-o,--output", o->dir, "directory to write")->required();
    cap->add_option("filter", o->filter, "BPF filter for the nodes' capture (after --)");

    auto* tr = sub->add_subcommand(
        "trace", "capture on the nodes of two pods while you reproduce a problem, then report "
                 "the flows between them (exit 1 when an --expect fails)");
    add_common(tr, *o);
    add_capture_options(tr, *o);
    tr->add_option("src", o->src, "pod: NAMESPACE/NAME, or NAME if unique")->required();
    tr->add_option("dst", o->dst, "pod: NAMESPACE/NAME, or NAME if unique")->required();
    tr->add_option("--duration", o->duration, "how long to capture (default 10s)");
    tr->add_option("--expect", o->expects,
                   "assertion, as report takes it: 'SRC -> DST: KIND [qualifiers]', 'no-drops'");
    tr->add_option("--format", o->format, "report format")
        ->check(CLI::IsMember({"text", "json", "junit", "md"}));
    tr->add_option("-o,--output", o->dir, "keep the captures and JSON in this directory");

    auto* tu = sub->add_subcommand(
        "tui", "the TUI fed live by several nodes at once: one path view across nodes");
    add_common(tu, *o);
    add_capture_options(tu, *o);
    tu->add_option("--nodes", o->nodes, "nodes to capture on (comma-separated; default: all)")
        ->delimiter(',');
    tu->add_flag("--no-color", o->no_color, "monochrome");
    tu->add_option("--save-dir", o->save_dir, "where `s` writes a flow's pcapng");
    tu->add_option("filter", o->filter, "BPF filter for the nodes' capture (after --)");

    for (CLI::App* s : {cap, tr, tu})
        for (CLI::Option* opt : s->get_options())
            if (!opt->get_positional() && opt->get_name() != "--nodes") opt->allow_extra_args(false);

    return {sub, [=]() -> int {
                install_handlers();
                if (cap->parsed()) return capture(*o);
                if (tr->parsed()) {
                    const auto rc = kube::run_trace(*o, g_signals, std::cerr);
                    return rc ? *rc : fail(rc.error());
                }
                if (tu->parsed()) {
                    const auto rc = kube::run_tui(*o, g_signals, std::cerr);
                    return rc ? *rc : fail(rc.error());
                }
                return 2;
            }};
}

}  // namespace podtrace::app

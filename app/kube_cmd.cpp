// `podtrace kubectl capture|trace|tui`: what `kubectl podtrace` runs (this binary installed as
// kubectl-podtrace). Each node's capture runs in a `kubectl debug node/NAME` pod and streams
// its pcapng back; report and tui then read those streams as they read files.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app/command.hpp"
#include "app/kube_session.hpp"
#include "process/run.hpp"
#include "process/spawn.hpp"
#include "process/write.hpp"
#include "trace/expect.hpp"

namespace podtrace::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

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

struct KubeCli {
    KubeConfig kube;
    std::vector<std::string> nodes;
    std::string duration;
    std::string dir;
    int snaplen = -1;
    std::vector<std::string> filter;
    double ready_timeout_s = 120;
    // trace
    std::string src, dst;
    std::vector<std::string> expects;
    std::string format = "text";
    // tui
    bool no_color = false;
    std::string save_dir;
};

struct Cluster {
    std::string pods, services, nodes;  // kubectl's JSON
    std::vector<std::string> node_list;
};

bool fetch(const KubeConfig& k, const std::vector<std::string>& args, std::string& out,
           std::ostream& err) {
    const auto r = run_kubectl(k, args);
    if (!r || r->status != 0) {
        err << "podtrace: kubectl";
        for (const auto& a : args) err << ' ' << a;
        err << ": "
            << (!r               ? r.error().message + "\n"
                : r->err.empty() ? "failed (exit " + std::to_string(r->status) + ")"
                                 : process::last_lines(r->err, 3));
        return false;
    }
    out = r->out;
    return true;
}

bool fetch_cluster(const KubeConfig& k, Cluster& c, std::ostream& err) {
    if (!fetch(k, {"get", "pods", "-A", "-o", "json"}, c.pods, err) ||
        !fetch(k, {"get", "services", "-A", "-o", "json"}, c.services, err) ||
        !fetch(k, {"get", "nodes", "-o", "json"}, c.nodes, err))
        return false;
    auto nodes = node_names(c.nodes);
    auto pods = nodes ? pod_places(c.pods) : std::unexpected(nodes.error());
    if (!pods) {
        err << "podtrace: kubectl get: " << pods.error().message << '\n';
        return false;
    }
    c.node_list = std::move(*nodes);
    return true;
}

bool save_cluster(const Cluster& c, const fs::path& dir, std::ostream& err) {
    for (const auto& [name, text] : {std::pair{"pods.json", &c.pods},
                                     std::pair{"services.json", &c.services},
                                     std::pair{"nodes.json", &c.nodes}})
        if (auto w = process::replace_file((dir / name).string(), *text); !w) {
            err << "podtrace: " << w.error().message << '\n';
            return false;
        }
    return true;
}

bool check_nodes(const Cluster& c, const std::vector<std::string>& nodes, std::ostream& err) {
    for (const std::string& n : nodes) {
        if (std::ranges::find(c.node_list, n) != c.node_list.end()) continue;
        err << "podtrace: no node " << n << " in the cluster (nodes:";
        for (const auto& k : c.node_list) err << ' ' << k;
        err << ")\n";
        return false;
    }
    return true;
}

// Where a command's captures and JSON go: DIR (created, kept), or without one a temporary
// directory removed afterwards.
class WorkDir {
public:
    bool make(const std::string& dir, const char* temp_name, std::ostream& err) {
        if (!dir.empty()) {
            std::error_code ec;
            fs::create_directories(dir, ec);
            if (ec) err << "podtrace: -o " << dir << ": " << ec.message() << '\n';
            path_ = dir;
            return !ec;
        }
        std::string tmpl = (fs::temp_directory_path() / temp_name).string() + "-XXXXXX";
        if (!::mkdtemp(tmpl.data())) {
            err << "podtrace: cannot make a temporary directory: " << std::strerror(errno) << '\n';
            return false;
        }
        path_ = tmpl;
        temporary_ = true;
        return true;
    }
    ~WorkDir() {
        std::error_code ec;
        if (temporary_) fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    bool temporary() const { return temporary_; }

private:
    fs::path path_;
    bool temporary_ = false;
};

std::vector<std::string> capture_args(const KubeCli& o) {
    std::vector<std::string> a;
    if (o.snaplen >= 0) a.insert(a.end(), {"-s", std::to_string(o.snaplen)});
    if (!o.filter.empty()) {
        a.push_back("--");
        a.insert(a.end(), o.filter.begin(), o.filter.end());
    }
    return a;
}

// Runs as kubectl-podtrace too: report and tui are this program, wherever it came from.
std::string podtrace_exe() {
    return process::self_exe().value_or("/proc/self/exe");
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

// Waits until every node's podtrace captures, or one fails, or the user stops. Standard
// error lines go to `line`; standard output to `sink` (none: it stays in the pipe).
bool wait_ready(NodeCaptures& caps, double timeout_s, const NodeCaptures::Sink& sink,
                const NodeCaptures::Line& line, std::ostream& err) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
        caps.pump(100ms, sink, line);
        caps.reap();
        bool all = true;
        for (auto& n : caps.nodes()) {
            if (!n.ready && (n.status >= 0 || n.err < 0)) {
                err << "podtrace: " << n.name << ": kubectl debug ended before podtrace captured"
                    << (n.status >= 0 ? " (exit " + std::to_string(n.status) + ")" : "") << ":\n"
                    << process::last_lines(n.err_text, 5);
                return false;
            }
            all &= n.ready;
        }
        if (all) return true;
        if (g_signals.load() > 0) {
            err << "podtrace: stopped before every node was capturing\n";
            return false;
        }
        if (Clock::now() >= deadline) {
            for (auto& n : caps.nodes())
                if (!n.ready)
                    err << "podtrace: " << n.name << ": podtrace did not start capturing within "
                        << timeout_s << " s (image pull? admission? see --ready-timeout)"
                        << (n.err_text.empty() ? "\n" : "; kubectl said:\n" + process::last_lines(n.err_text, 5));
            return false;
        }
    }
}

// Streams each node's capture into DIR/<node>.pcapng for `duration_s` (0: until Ctrl-C) once
// all capture. The files appear whole at the end; a node that failed leaves none.
bool capture_into(const KubeCli& o, const std::vector<std::string>& nodes, const fs::path& dir,
                  double duration_s, const std::string& announce, std::vector<fs::path>& files,
                  std::ostream& err) {
    NodeCaptures caps(o.kube, capture_args(o));
    std::vector<int> fds;
    std::vector<fs::path> parts;
    auto cleanup_parts = [&] {
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (fds[i] >= 0) ::close(fds[i]);
            fds[i] = -1;
            ::unlink(parts[i].c_str());
        }
    };
    for (const std::string& n : nodes) {
        parts.push_back(dir / ("." + n + ".pcapng.part"));
        fds.push_back(::open(parts.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (fds.back() < 0) {
            err << "podtrace: cannot write " << parts.back().string() << ": " << std::strerror(errno)
                << '\n';
            cleanup_parts();
            return false;
        }
    }
    auto index = [&](const NodeCaptures::Node& n) {
        return static_cast<std::size_t>(&n - caps.nodes().data());
    };
    bool write_failed = false;
    NodeCaptures::Sink sink = [&](NodeCaptures::Node& n, const char* p, std::size_t len) {
        const int fd = fds[index(n)];
        while (len > 0) {
            const ssize_t w = ::write(fd, p, len);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                err << "podtrace: cannot write " << parts[index(n)].string() << ": "
                    << std::strerror(errno) << '\n';
                write_failed = true;
                return false;
            }
            p += w;
            len -= static_cast<std::size_t>(w);
        }
        return true;
    };
    NodeCaptures::Line line = [&](NodeCaptures::Node& n, const std::string& l) {
        err << '[' << n.name << "] " << l << '\n';
    };
    err << "podtrace: starting podtrace on " << join(nodes, ", ") << " (kubectl debug, image "
        << o.kube.image << ", session " << caps.session() << ")\n";
    auto started = caps.start(nodes);
    if (!started) err << "podtrace: " << started.error().message << '\n';
    bool ok = started && wait_ready(caps, o.ready_timeout_s, sink, line, err);
    if (ok) {
        err << announce << std::flush;
        const auto until = Clock::now() + std::chrono::duration<double>(duration_s);
        while (!write_failed && g_signals.load() == 0 && (duration_s <= 0 || Clock::now() < until)) {
            caps.pump(100ms, sink, line);
            caps.reap();
            for (auto& n : caps.nodes())
                if (n.out_done && n.status >= 0 && ok) {
                    err << "podtrace: " << n.name << ": the capture ended early (exit " << n.status
                        << ")\n";
                    ok = false;
                }
            if (!ok) break;
        }
        ok = ok && !write_failed;
    }
    // Stop: each node's capture drains and ends its stream; a second Ctrl-C stops waiting.
    caps.stop();
    const int signals_at_stop = g_signals.load();
    const auto grace = Clock::now() + 15s;
    for (;;) {
        const bool open = caps.pump(100ms, sink, line);
        const bool ended = caps.reap();
        if ((!open && ended) || Clock::now() >= grace || g_signals.load() > signals_at_stop) break;
    }
    caps.kill_all();
    while (caps.pump(0ms, sink, line)) {
    }
    caps.delete_pods(err);
    for (auto& n : caps.nodes()) {
        const std::size_t i = index(n);
        if (ok && (n.bytes == 0 || (n.status != 0 && !n.out_done))) {
            err << "podtrace: " << n.name << ": no complete capture (kubectl exit " << n.status
                << ")\n" << process::last_lines(n.err_text, 3);
            ok = false;
        }
        if (::close(fds[i]) != 0) ok = false;
        fds[i] = -1;
    }
    if (!ok) {
        cleanup_parts();
        return false;
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const fs::path final = dir / (nodes[i] + ".pcapng");
        if (::rename(parts[i].c_str(), final.c_str()) != 0) {
            err << "podtrace: cannot rename " << parts[i].string() << ": " << std::strerror(errno)
                << '\n';
            cleanup_parts();
            return false;
        }
        files.push_back(final);
    }
    return true;
}

bool prepare(KubeCli& o, std::ostream& err) {
    if (o.kube.image.empty())
        if (const char* e = std::getenv("PODTRACE_IMAGE")) o.kube.image = e;
    if (o.kube.image.empty()) {
        err << "podtrace: name the podtrace image the nodes run: --image IMAGE or PODTRACE_IMAGE "
               "(build it from the Dockerfile and push it where the cluster pulls from)\n";
        return false;
    }
    if (const char* k = std::getenv("KUBECTL"); k && o.kube.kubectl == "kubectl") o.kube.kubectl = k;
    install_handlers();
    return true;
}

std::optional<double> duration_of(const KubeCli& o, std::ostream& err) {
    if (o.duration.empty()) return 0.0;
    auto d = parse_duration(o.duration);
    if (!d) err << "podtrace: --duration " << o.duration << ": not a duration (30s, 2m, 1h, 500ms)\n";
    return d;
}

std::string duration_text(double s) {
    if (s <= 0) return "until Ctrl-C";
    char buf[32];
    std::snprintf(buf, sizeof buf, "for %g s", s);
    return buf;
}

int run_capture(KubeCli& o, std::ostream& err) {
    if (!prepare(o, err)) return 2;
    const auto d = duration_of(o, err);
    if (!d) return 2;
    Cluster c;
    if (!fetch_cluster(o.kube, c, err) || !check_nodes(c, o.nodes, err)) return 2;
    WorkDir dir;
    if (!dir.make(o.dir, "", err) || !save_cluster(c, dir.path(), err)) return 2;
    std::vector<fs::path> files;
    const std::string announce = "podtrace: capturing on " + join(o.nodes, ", ") + " " +
                                 duration_text(*d) + " into " + o.dir + "\n";
    if (!capture_into(o, o.nodes, o.dir, *d, announce, files, err)) return 2;
    for (const auto& f : files) std::cout << "wrote " << f.string() << '\n';
    for (const char* j : {"pods.json", "services.json", "nodes.json"})
        std::cout << "wrote " << (fs::path(o.dir) / j).string() << '\n';
    std::cout << "report: podtrace report " << (fs::path(o.dir) / "*.pcapng").string()
              << " --pods " << (fs::path(o.dir) / "pods.json").string() << " --services "
              << (fs::path(o.dir) / "services.json").string() << " --nodes "
              << (fs::path(o.dir) / "nodes.json").string() << '\n';
    return 0;
}

// "ns/name", or "name" when exactly one namespace has it.
const PodPlace* find_pod(const std::vector<PodPlace>& pods, const std::string& sel,
                         std::ostream& err) {
    const auto slash = sel.find('/');
    std::vector<const PodPlace*> hits;
    for (const auto& p : pods)
        if (slash == std::string::npos ? p.name == sel
                                       : p.ns == sel.substr(0, slash) && p.name == sel.substr(slash + 1))
            hits.push_back(&p);
    if (hits.size() == 1) {
        if (hits[0]->node.empty()) {
            err << "podtrace: pod " << sel << " is not scheduled on a node\n";
            return nullptr;
        }
        return hits[0];
    }
    if (hits.empty()) err << "podtrace: no pod " << sel << " in the cluster\n";
    else err << "podtrace: pod " << sel << " is in several namespaces: name it as NAMESPACE/NAME\n";
    return nullptr;
}

int wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 2;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 2;
}

int run_trace(KubeCli& o, std::ostream& err) {
    for (const auto& e : o.expects)
        if (auto p = trace::parse_expectation(e); !p) {
            err << "podtrace: --expect: " << p.error().message << '\n';
            return 2;
        }
    if (!prepare(o, err)) return 2;
    if (o.duration.empty()) o.duration = "10s";
    const auto d = duration_of(o, err);
    if (!d) return 2;
    Cluster c;
    if (!fetch_cluster(o.kube, c, err)) return 2;
    const auto pods = *pod_places(c.pods);  // fetch_cluster read it
    const PodPlace* a = find_pod(pods, o.src, err);
    const PodPlace* b = a ? find_pod(pods, o.dst, err) : nullptr;
    if (!a || !b) return 2;
    std::vector<std::string> nodes{a->node};
    if (b->node != a->node) nodes.push_back(b->node);

    WorkDir work;  // without -o the captures are removed afterwards
    if (!work.make(o.dir, "podtrace-trace", err)) return 2;
    const fs::path& dir = work.path();
    const std::string pa = a->ns + "/" + a->name, pb = b->ns + "/" + b->name;
    if (!save_cluster(c, dir, err)) return 2;
    std::vector<fs::path> files;
    const std::string announce = "podtrace: " + pa + " is on " + a->node + ", " + pb + " on " +
                                 b->node + "; capturing " + duration_text(*d) +
                                 ": reproduce the problem now (Ctrl-C stops early)\n";
    if (!capture_into(o, nodes, dir, *d, announce, files, err)) return 2;

    std::vector<std::string> argv{podtrace_exe(), "report", "--pods", (dir / "pods.json").string(),
                                  "--services", (dir / "services.json").string(), "--nodes",
                                  (dir / "nodes.json").string(), "--between", pa, pb,
                                  "--format", o.format};
    for (const auto& e : o.expects) argv.insert(argv.end(), {"--expect", e});
    for (const auto& f : files) argv.push_back(f.string());
    std::cout << std::flush;
    const auto pid = process::spawn(argv);
    if (!pid) {
        err << "podtrace: cannot run " << argv[0] << ": " << pid.error().message << '\n';
        return 2;
    }
    const int rc = wait_child(*pid);
    if (!work.temporary()) err << "podtrace: captures kept in " << dir.string() << '\n';
    return rc;
}

int run_tui(KubeCli& o, std::ostream& err) {
    if (!prepare(o, err)) return 2;
    Cluster c;
    if (!fetch_cluster(o.kube, c, err)) return 2;
    if (o.nodes.empty()) o.nodes = c.node_list;
    if (o.nodes.empty()) {
        err << "podtrace: the cluster has no nodes\n";
        return 2;
    }
    if (!check_nodes(c, o.nodes, err)) return 2;
    WorkDir work;
    if (!work.make("", "podtrace-tui", err)) return 2;
    const fs::path& dir = work.path();
    if (!save_cluster(c, dir, err)) return 2;

    NodeCaptures caps(o.kube, capture_args(o));
    NodeCaptures::Line quiet = [](NodeCaptures::Node&, const std::string&) {};
    err << "podtrace: starting podtrace on " << join(o.nodes, ", ") << " (kubectl debug, image "
        << o.kube.image << ")\n";
    if (auto started = caps.start(o.nodes); !started) {
        err << "podtrace: " << started.error().message << '\n';
        return 2;
    }
    if (!wait_ready(caps, o.ready_timeout_s, {}, quiet, err)) return 2;

    std::vector<std::string> argv{podtrace_exe(), "tui", "--follow", "--pods",
                                  (dir / "pods.json").string(), "--services",
                                  (dir / "services.json").string(), "--nodes",
                                  (dir / "nodes.json").string()};
    if (o.no_color) argv.push_back("--no-color");
    if (!o.save_dir.empty()) argv.insert(argv.end(), {"--save-dir", o.save_dir});
    std::vector<int> fds;
    for (auto& n : caps.nodes()) {
        argv.insert(argv.end(), {"-r", n.name + "=/dev/fd/" + std::to_string(3 + fds.size())});
        fds.push_back(n.out);
    }
    const auto spawned = process::spawn(argv, {.fds = fds});
    if (!spawned) {
        err << "podtrace: cannot run " << argv[0] << ": " << spawned.error().message << '\n';
        return 2;
    }
    const pid_t pid = *spawned;
    for (auto& n : caps.nodes()) {  // the TUI reads them now
        ::close(n.out);
        n.out = -1;
    }
    int rc = 2;
    std::vector<int> before_exit;  // kubectl's status when the TUI ended: after it, a broken pipe
    for (;;) {
        caps.pump(100ms, {}, quiet);
        caps.reap();
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
            for (const auto& n : caps.nodes()) before_exit.push_back(n.status);
            break;
        }
        if (g_signals.load() > 0) ::kill(pid, SIGTERM);  // the TUI restores the terminal
    }
    caps.stop();
    const auto grace = Clock::now() + 5s;
    while (!caps.reap() && Clock::now() < grace) caps.pump(100ms, {}, quiet);
    caps.kill_all();
    caps.delete_pods(err);
    for (std::size_t i = 0; i < before_exit.size(); ++i)
        if (const auto& n = caps.nodes()[i]; before_exit[i] > 0)
            err << "podtrace: " << n.name << ": the capture ended while the TUI ran (kubectl exit "
                << before_exit[i] << "):\n" << process::last_lines(n.err_text, 3);
    return rc;
}

void add_common(CLI::App* sub, KubeCli& o) {
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
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
}

void add_capture_options(CLI::App* sub, KubeCli& o) {
    sub->add_option("-s,--snaplen", o.snaplen, "bytes kept per packet on the nodes (default 512)")
        ->check(CLI::NonNegativeNumber);
}

}  // namespace

Command add_kubectl_command(CLI::App& cli) {
    auto o = std::make_shared<KubeCli>();
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
                if (cap->parsed()) return run_capture(*o, std::cerr);
                if (tr->parsed()) return run_trace(*o, std::cerr);
                if (tu->parsed()) return run_tui(*o, std::cerr);
                return 2;
            }};
}

}  // namespace podtrace::app

#include "kube/plugin.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <ostream>
#include <sstream>
#include <string_view>
#include <utility>

#include "process/fd.hpp"
#include "process/run.hpp"
#include "process/spawn.hpp"
#include "process/write.hpp"
#include "trace/expect.hpp"

namespace podtrace::kube {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Messages may end with a program's last lines: without the final newline, as every Error is
// (app/ ends the line).
std::unexpected<Error> failure(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return std::unexpected(Error{std::move(text)});
}

// What the plugin reads from the cluster, once: kubectl's JSON, written beside the captures.
struct Cluster {
    std::string pods, services, nodes;
    std::vector<std::string> node_list;
    std::vector<PodPlace> pod_list;
};

// `kubectl get ...`'s output; the error quotes kubectl's last words.
std::expected<std::string, Error> fetch(const Config& k, const std::vector<std::string>& args) {
    const auto r = run_kubectl(k, args);
    if (r && r->status == 0) return r->out;
    std::string what = "kubectl";
    for (const auto& a : args) what += ' ' + a;
    return failure(what + ": " +
                   (!r               ? r.error().message
                    : r->err.empty() ? "failed (exit " + std::to_string(r->status) + ")"
                                     : process::last_lines(r->err, 3)));
}

std::expected<Cluster, Error> fetch_cluster(const Config& k) {
    Cluster c;
    const std::pair<std::vector<std::string>, std::string*> gets[] = {
        {{"get", "pods", "-A", "-o", "json"}, &c.pods},
        {{"get", "services", "-A", "-o", "json"}, &c.services},
        {{"get", "nodes", "-o", "json"}, &c.nodes},
    };
    for (const auto& [args, text] : gets) {
        auto got = fetch(k, args);
        if (!got) return std::unexpected(got.error());
        *text = std::move(*got);
    }
    auto nodes = node_names(c.nodes);
    if (!nodes) return failure("kubectl get: " + nodes.error().message);
    auto pods = pod_places(c.pods);
    if (!pods) return failure("kubectl get: " + pods.error().message);
    c.node_list = std::move(*nodes);
    c.pod_list = std::move(*pods);
    return c;
}

std::expected<void, Error> save_cluster(const Cluster& c, const fs::path& dir) {
    for (const auto& [name, text] : {std::pair{"pods.json", &c.pods},
                                     std::pair{"services.json", &c.services},
                                     std::pair{"nodes.json", &c.nodes}})
        if (auto saved = process::replace_file((dir / name).string(), *text); !saved)
            return saved;
    return {};
}

std::expected<void, Error> check_nodes(const Cluster& c, const std::vector<std::string>& nodes) {
    for (const std::string& n : nodes) {
        if (std::ranges::find(c.node_list, n) != c.node_list.end()) continue;
        std::string known;
        for (const auto& k : c.node_list) known += ' ' + k;
        return failure("no node " + n + " in the cluster (nodes:" + known + ")");
    }
    return {};
}

// "ns/name", or "name" when exactly one namespace has it.
std::expected<const PodPlace*, Error> find_pod(const std::vector<PodPlace>& pods,
                                               const std::string& sel) {
    const auto slash = sel.find('/');
    std::vector<const PodPlace*> hits;
    for (const auto& p : pods)
        if (slash == std::string::npos
                ? p.name == sel
                : p.ns == sel.substr(0, slash) && p.name == sel.substr(slash + 1))
            hits.push_back(&p);
    if (hits.empty()) return failure("no pod " + sel + " in the cluster");
    if (hits.size() > 1)
        return failure("pod " + sel + " is in several namespaces: name it as NAMESPACE/NAME");
    if (hits[0]->node.empty()) return failure("pod " + sel + " is not scheduled on a node");
    return hits[0];
}

// Where a command's captures and JSON go: DIR (created, kept), or without one a temporary
// directory removed afterwards.
class WorkDir {
public:
    static std::expected<WorkDir, Error> make(const std::string& dir, const char* temp_name) {
        if (!dir.empty()) {
            std::error_code ec;
            fs::create_directories(dir, ec);
            if (ec) return failure("-o " + dir + ": " + ec.message());
            return WorkDir(dir, false);
        }
        std::error_code ec;
        const fs::path tmp = fs::temp_directory_path(ec);
        if (ec) return failure("cannot make a temporary directory: " + ec.message());
        std::string tmpl = (tmp / temp_name).string() + "-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            return failure(std::string("cannot make a temporary directory: ") +
                           std::strerror(errno));
        return WorkDir(tmpl, true);
    }
    WorkDir(WorkDir&& o) noexcept
        : path_(std::move(o.path_)), temporary_(std::exchange(o.temporary_, false)) {}
    WorkDir& operator=(WorkDir&&) = delete;
    ~WorkDir() {
        std::error_code ec;
        if (temporary_) fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    bool temporary() const { return temporary_; }

private:
    WorkDir(fs::path path, bool temporary) : path_(std::move(path)), temporary_(temporary) {}
    fs::path path_;
    bool temporary_;
};

std::vector<std::string> capture_args(const Options& o) {
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
std::expected<void, Error> wait_ready(NodeCaptures& caps, double timeout_s,
                                      const NodeCaptures::Sink& sink,
                                      const NodeCaptures::Line& line,
                                      const std::atomic<int>& interrupts) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
        caps.pump(100ms, sink, line);
        caps.reap();
        bool all = true;
        for (auto& n : caps.nodes()) {
            if (!n.ready && (n.status >= 0 || n.err < 0))
                return failure(n.name + ": kubectl debug ended before podtrace captured" +
                               (n.status >= 0 ? " (exit " + std::to_string(n.status) + ")" : "") +
                               ":\n" + process::last_lines(n.err_text, 5));
            all &= n.ready;
        }
        if (all) return {};
        if (interrupts.load() > 0) return failure("stopped before every node was capturing");
        if (Clock::now() >= deadline) {
            // A line per node, as the plugin prints every line.
            std::ostringstream text;
            for (auto& n : caps.nodes())
                if (!n.ready)
                    text << (text.tellp() > 0 ? "podtrace: " : "") << n.name
                         << ": podtrace did not start capturing within " << timeout_s
                         << " s (image pull? admission? see --ready-timeout)"
                         << (n.err_text.empty()
                                 ? "\n"
                                 : "; kubectl said:\n" + process::last_lines(n.err_text, 5));
            return failure(text.str());
        }
    }
}

// The `.part` files a capture streams into: removed unless kept (renamed into place).
struct Parts {
    std::vector<fs::path> paths;
    std::vector<process::Fd> fds;
    bool kept = false;
    ~Parts() {
        if (!kept)
            for (const auto& p : paths) ::unlink(p.c_str());
    }
};

// Streams each node's capture into DIR/<node>.pcapng for `duration_s` (0: until Ctrl-C) once
// all capture. The files appear whole at the end; a node that failed leaves none.
std::expected<std::vector<fs::path>, Error> capture_into(const Options& o,
                                                         const std::vector<std::string>& nodes,
                                                         const fs::path& dir, double duration_s,
                                                         const std::string& announce,
                                                         const std::atomic<int>& interrupts,
                                                         std::ostream& log) {
    NodeCaptures caps(o.kube, capture_args(o));
    Parts parts;
    for (const std::string& n : nodes) {
        parts.paths.push_back(dir / ("." + n + ".pcapng.part"));
        parts.fds.emplace_back(::open(parts.paths.back().c_str(),
                                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (parts.fds.back().get() < 0)
            return failure("cannot write " + parts.paths.back().string() + ": " +
                           std::strerror(errno));
    }
    std::optional<Error> failed;  // the first thing that went wrong; the rest is cleanup
    auto fail = [&](const std::string& text) {
        if (!failed) failed = failure(text).error();
    };
    auto index = [&](const NodeCaptures::Node& n) {
        return static_cast<std::size_t>(&n - caps.nodes().data());
    };
    NodeCaptures::Sink sink = [&](NodeCaptures::Node& n, const char* p, std::size_t len) {
        const std::size_t i = index(n);
        auto written = process::write_all(parts.fds[i].get(), std::string_view(p, len));
        if (!written)
            fail("cannot write " + parts.paths[i].string() + ": " + written.error().message);
        return written.has_value();
    };
    NodeCaptures::Line line = [&](NodeCaptures::Node& n, const std::string& l) {
        log << '[' << n.name << "] " << l << '\n';
    };
    log << "podtrace: starting podtrace on " << join(nodes, ", ") << " (kubectl debug, image "
        << o.kube.image << ", session " << caps.session() << ")\n";
    if (auto started = caps.start(nodes); !started)
        fail(started.error().message);
    else if (auto ready = wait_ready(caps, o.ready_timeout_s, sink, line, interrupts); !ready)
        fail(ready.error().message);
    if (!failed) {
        log << announce << std::flush;
        const auto until = Clock::now() + std::chrono::duration<double>(duration_s);
        while (!failed && interrupts.load() == 0 && (duration_s <= 0 || Clock::now() < until)) {
            caps.pump(100ms, sink, line);
            caps.reap();
            for (auto& n : caps.nodes())
                if (n.out_done && n.status >= 0)
                    fail(n.name + ": the capture ended early (exit " + std::to_string(n.status) +
                         ")");
        }
    }
    // Stop: each node's capture drains and ends its stream; another Ctrl-C stops waiting.
    caps.stop();
    const int interrupts_at_stop = interrupts.load();
    const auto grace = Clock::now() + 15s;
    for (;;) {
        const bool open = caps.pump(100ms, sink, line);
        const bool ended = caps.reap();
        if ((!open && ended) || Clock::now() >= grace || interrupts.load() > interrupts_at_stop)
            break;
    }
    caps.kill_all();
    while (caps.pump(0ms, sink, line)) {
    }
    caps.delete_pods(log);
    for (auto& n : caps.nodes()) {
        const std::size_t i = index(n);
        if (n.bytes == 0 || (n.status != 0 && !n.out_done))
            fail(n.name + ": no complete capture (kubectl exit " + std::to_string(n.status) +
                 ")\n" + process::last_lines(n.err_text, 3));
        if (::close(parts.fds[i].release()) != 0)
            fail("cannot write " + parts.paths[i].string() + ": " + std::strerror(errno));
    }
    if (failed) return std::unexpected(*failed);
    std::vector<fs::path> files;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const fs::path final = dir / (nodes[i] + ".pcapng");
        if (::rename(parts.paths[i].c_str(), final.c_str()) != 0)
            return failure("cannot rename " + parts.paths[i].string() + ": " +
                           std::strerror(errno));
        files.push_back(final);
    }
    parts.kept = true;
    return files;
}

std::expected<void, Error> prepare(Options& o) {
    if (o.kube.image.empty())
        if (const char* e = std::getenv("PODTRACE_IMAGE")) o.kube.image = e;
    if (o.kube.image.empty())
        return failure("name the podtrace image the nodes run: --image IMAGE or PODTRACE_IMAGE "
                       "(build it from the Dockerfile and push it where the cluster pulls from)");
    if (const char* k = std::getenv("KUBECTL"); k && o.kube.kubectl == "kubectl")
        o.kube.kubectl = k;
    return {};
}

std::expected<double, Error> duration_of(const Options& o) {
    if (o.duration.empty()) return 0.0;
    auto d = parse_duration(o.duration);
    if (!d) return failure("--duration " + o.duration + ": not a duration (30s, 2m, 1h, 500ms)");
    return *d;
}

std::string duration_text(double s) {
    if (s <= 0) return "until Ctrl-C";
    char buf[32];
    std::snprintf(buf, sizeof buf, "for %g s", s);
    return buf;
}

int wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 2;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 2;
}

}  // namespace

std::expected<std::vector<fs::path>, Error> run_capture(Options o,
                                                        const std::atomic<int>& interrupts,
                                                        std::ostream& log) {
    if (auto ready = prepare(o); !ready) return std::unexpected(ready.error());
    const auto d = duration_of(o);
    if (!d) return std::unexpected(d.error());
    const auto c = fetch_cluster(o.kube);
    if (!c) return std::unexpected(c.error());
    if (auto known = check_nodes(*c, o.nodes); !known) return std::unexpected(known.error());
    const auto dir = WorkDir::make(o.dir, "");
    if (!dir) return std::unexpected(dir.error());
    if (auto saved = save_cluster(*c, dir->path()); !saved) return std::unexpected(saved.error());
    const std::string announce = "podtrace: capturing on " + join(o.nodes, ", ") + " " +
                                 duration_text(*d) + " into " + o.dir + "\n";
    return capture_into(o, o.nodes, o.dir, *d, announce, interrupts, log);
}

std::expected<int, Error> run_trace(Options o, const std::atomic<int>& interrupts,
                                    std::ostream& log) {
    for (const auto& e : o.expects)
        if (auto p = trace::parse_expectation(e); !p)
            return failure("--expect: " + p.error().message);
    if (auto ready = prepare(o); !ready) return std::unexpected(ready.error());
    if (o.duration.empty()) o.duration = "10s";
    const auto d = duration_of(o);
    if (!d) return std::unexpected(d.error());
    const auto c = fetch_cluster(o.kube);
    if (!c) return std::unexpected(c.error());
    const auto a = find_pod(c->pod_list, o.src);
    if (!a) return std::unexpected(a.error());
    const auto b = find_pod(c->pod_list, o.dst);
    if (!b) return std::unexpected(b.error());
    const PodPlace &pa = **a, &pb = **b;
    std::vector<std::string> nodes{pa.node};
    if (pb.node != pa.node) nodes.push_back(pb.node);

    const auto work = WorkDir::make(o.dir, "podtrace-trace");  // without -o: removed afterwards
    if (!work) return std::unexpected(work.error());
    const fs::path& dir = work->path();
    const std::string ref_a = pa.ns + "/" + pa.name, ref_b = pb.ns + "/" + pb.name;
    if (auto saved = save_cluster(*c, dir); !saved) return std::unexpected(saved.error());
    const std::string announce = "podtrace: " + ref_a + " is on " + pa.node + ", " + ref_b +
                                 " on " + pb.node + "; capturing " + duration_text(*d) +
                                 ": reproduce the problem now (Ctrl-C stops early)\n";
    const auto files = capture_into(o, nodes, dir, *d, announce, interrupts, log);
    if (!files) return std::unexpected(files.error());

    std::vector<std::string> argv{podtrace_exe(), "report", "--pods", (dir / "pods.json").string(),
                                  "--services", (dir / "services.json").string(), "--nodes",
                                  (dir / "nodes.json").string(), "--between", ref_a, ref_b,
                                  "--format", o.format};
    for (const auto& e : o.expects) argv.insert(argv.end(), {"--expect", e});
    for (const auto& f : *files) argv.push_back(f.string());
    const auto pid = process::spawn(argv);
    if (!pid) return failure("cannot run " + argv[0] + ": " + pid.error().message);
    const int rc = wait_child(*pid);
    if (!work->temporary()) log << "podtrace: captures kept in " << dir.string() << '\n';
    return rc;
}

std::expected<int, Error> run_tui(Options o, const std::atomic<int>& interrupts,
                                  std::ostream& log) {
    if (auto ready = prepare(o); !ready) return std::unexpected(ready.error());
    const auto c = fetch_cluster(o.kube);
    if (!c) return std::unexpected(c.error());
    if (o.nodes.empty()) o.nodes = c->node_list;
    if (o.nodes.empty()) return failure("the cluster has no nodes");
    if (auto known = check_nodes(*c, o.nodes); !known) return std::unexpected(known.error());
    const auto work = WorkDir::make("", "podtrace-tui");
    if (!work) return std::unexpected(work.error());
    const fs::path& dir = work->path();
    if (auto saved = save_cluster(*c, dir); !saved) return std::unexpected(saved.error());

    NodeCaptures caps(o.kube, capture_args(o));
    NodeCaptures::Line quiet = [](NodeCaptures::Node&, const std::string&) {};
    log << "podtrace: starting podtrace on " << join(o.nodes, ", ") << " (kubectl debug, image "
        << o.kube.image << ")\n";
    if (auto started = caps.start(o.nodes); !started) return std::unexpected(started.error());
    if (auto ready = wait_ready(caps, o.ready_timeout_s, {}, quiet, interrupts); !ready)
        return std::unexpected(ready.error());

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
    if (!spawned) return failure("cannot run " + argv[0] + ": " + spawned.error().message);
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
        if (interrupts.load() > 0) ::kill(pid, SIGTERM);  // the TUI restores the terminal
    }
    caps.stop();
    const auto grace = Clock::now() + 5s;
    while (!caps.reap() && Clock::now() < grace) caps.pump(100ms, {}, quiet);
    caps.kill_all();
    caps.delete_pods(log);
    for (std::size_t i = 0; i < before_exit.size(); ++i)
        if (const auto& n = caps.nodes()[i]; before_exit[i] > 0)
            log << "podtrace: " << n.name << ": the capture ended while the TUI ran (kubectl exit "
                << before_exit[i] << "):\n" << process::last_lines(n.err_text, 3);
    return rc;
}

}  // namespace podtrace::kube

#include "kube/session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <thread>

#include "process/spawn.hpp"
#include "process/write.hpp"

namespace podtrace::kube {
namespace {

using namespace std::chrono_literals;
constexpr std::size_t kErrKeep = 64 * 1024;

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

// A pipe whose ends are closed in every program we start, unless dup2'ed into place.
bool cloexec_pipe(int fds[2]) {
    return ::pipe2(fds, O_CLOEXEC) == 0;
}

std::vector<std::string> base_argv(const Config& k) {
    std::vector<std::string> argv{k.kubectl};
    if (!k.context.empty()) argv.push_back("--context=" + k.context);
    return argv;
}

std::string new_session_id() {
    std::random_device rd;
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "podtrace-";
    for (int i = 0; i < 10; ++i) id += hex[rd() & 15];
    return id;
}

}  // namespace

std::expected<process::Exec, Error> run_kubectl(const Config& k,
                                                const std::vector<std::string>& args) {
    auto argv = base_argv(k);
    argv.insert(argv.end(), args.begin(), args.end());
    return process::run(argv);
}

std::optional<double> parse_duration(const std::string& text) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    const std::string unit = text.substr(used);
    double scale = 0;
    if (unit.empty() || unit == "s") scale = 1;
    else if (unit == "ms") scale = 1e-3;
    else if (unit == "m") scale = 60;
    else if (unit == "h") scale = 3600;
    if (scale == 0 || !std::isfinite(v) || v <= 0) return std::nullopt;
    return v * scale;
}

NodeCaptures::NodeCaptures(Config k, std::vector<std::string> capture_args)
    : kube_(std::move(k)), capture_args_(std::move(capture_args)), session_(new_session_id()) {}

NodeCaptures::~NodeCaptures() {
    stop();
    // Streams drain for a moment; then kubectl goes, and the pods with it.
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!reap() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
    kill_all();
    for (Node& n : nodes_) {
        close_fd(n.out);
        close_fd(n.err);
    }
    std::ostringstream ignored;
    delete_pods(ignored);
}

std::expected<void, Error> NodeCaptures::start(const std::vector<std::string>& nodes) {
    for (const std::string& name : nodes) {
        Node n;
        n.name = name;
        int in[2], out[2], er[2];
        if (!cloexec_pipe(in) || !cloexec_pipe(out) || !cloexec_pipe(er))
            return std::unexpected(
                Error{std::string("kubectl: cannot make a pipe: ") + std::strerror(errno)});
        auto argv = base_argv(kube_);
        argv.insert(argv.end(), {"debug", "node/" + name, "--quiet", "-i",
                                 "--image=" + kube_.image, "--profile=" + kube_.profile,
                                 "--env=PODTRACE_SESSION=" + session_});
        if (!kube_.namespace_.empty()) argv.push_back("--namespace=" + kube_.namespace_);
        argv.insert(argv.end(), {"--", "podtrace", "capture", "--stdin-control", "--node", name,
                                 "-w", "-"});
        argv.insert(argv.end(), capture_args_.begin(), capture_args_.end());
        // Out of the terminal's process group, so Ctrl-C reaches only us and we stop the
        // captures in order rather than kubectl dying mid-stream.
        const auto pid = process::spawn(argv, {.in = in[0],
                                               .out = out[1],
                                               .err = er[1],
                                               .group = process::SpawnOptions::Group::own});
        ::close(in[0]);
        ::close(out[1]);
        ::close(er[1]);
        n.in = in[1];
        n.out = out[0];
        n.err = er[0];
        if (!pid) {
            close_fd(n.in);
            close_fd(n.out);
            close_fd(n.err);
            return std::unexpected(
                Error{"cannot run " + kube_.kubectl + ": " + pid.error().message});
        }
        n.kubectl = *pid;
        // The start line: data on standard input reaches the container only through the
        // attach, so once podtrace reads it, its output reaches us too.
        (void)process::write_all(n.in, "start\n");  // a kubectl that died: its exit says why
        nodes_.push_back(std::move(n));
    }
    return {};
}

bool NodeCaptures::pump(std::chrono::milliseconds timeout, const Sink& sink, const Line& line) {
    std::vector<pollfd> fds;
    std::vector<std::pair<Node*, bool>> what;  // node, is standard output
    for (Node& n : nodes_) {
        if (n.out >= 0 && sink) {
            fds.push_back({n.out, POLLIN, 0});
            what.emplace_back(&n, true);
        }
        if (n.err >= 0) {
            fds.push_back({n.err, POLLIN, 0});
            what.emplace_back(&n, false);
        }
    }
    if (fds.empty()) {
        std::this_thread::sleep_for(timeout);
        return false;
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) return true;
    static char buf[1 << 16];
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Node& n = *what[i].first;
        const ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (what[i].second) {
            if (r <= 0) {
                close_fd(n.out);
                n.out_done = true;
            } else {
                n.bytes += static_cast<std::uint64_t>(r);
                if (!sink(n, buf, static_cast<std::size_t>(r))) close_fd(n.out);
            }
            continue;
        }
        if (r <= 0) {
            if (!n.err_line.empty()) line(n, n.err_line);
            n.err_line.clear();
            close_fd(n.err);
            continue;
        }
        n.err_text.append(buf, static_cast<std::size_t>(r));
        if (n.err_text.size() > kErrKeep) n.err_text.erase(0, n.err_text.size() - kErrKeep);
        n.err_line.append(buf, static_cast<std::size_t>(r));
        std::size_t nl;
        while ((nl = n.err_line.find('\n')) != std::string::npos) {
            std::string l = n.err_line.substr(0, nl);
            n.err_line.erase(0, nl + 1);
            if (l.find("podtrace: capturing on ") != std::string::npos) n.ready = true;
            line(n, l);
        }
    }
    return true;
}

bool NodeCaptures::reap() {
    bool all = true;
    for (Node& n : nodes_) {
        if (n.kubectl < 0) continue;
        int status = 0;
        const pid_t r = ::waitpid(n.kubectl, &status, WNOHANG);
        if (r == n.kubectl) {
            n.status = process::exit_code(status);
            n.kubectl = -1;
        } else {
            all = false;
        }
    }
    return all;
}

void NodeCaptures::stop() {
    for (Node& n : nodes_) {
        if (n.in < 0) continue;
        (void)process::write_all(n.in, "stop\n");
        close_fd(n.in);
    }
}

void NodeCaptures::kill_all() {
    for (Node& n : nodes_)
        if (n.kubectl > 0) ::kill(n.kubectl, SIGTERM);
    for (Node& n : nodes_) {
        if (n.kubectl <= 0) continue;
        int status = 0;
        while (::waitpid(n.kubectl, &status, 0) < 0 && errno == EINTR) {
        }
        n.status = process::exit_code(status);
        n.kubectl = -1;
    }
}

void NodeCaptures::delete_pods(std::ostream& log) {
    if (deleted_ || nodes_.empty()) return;
    deleted_ = true;
    std::vector<std::string> get{"get", "pods", "-o", "json"};
    if (!kube_.namespace_.empty()) get.push_back("--namespace=" + kube_.namespace_);
    const auto r = run_kubectl(kube_, get);
    std::vector<std::string> names;
    std::optional<std::string> why;  // why the pods could not be listed
    if (!r) {
        why = r.error().message;
    } else {
        try {
            const auto doc = nlohmann::json::parse(r->out);
            for (const auto& item : doc.at("items"))
                for (const auto& c : item.at("spec").at("containers"))
                    for (const auto& e : c.value("env", nlohmann::json::array()))
                        if (e.value("name", "") == "PODTRACE_SESSION" &&
                            e.value("value", "") == session_)
                            names.push_back(item.at("metadata").at("name").get<std::string>());
        } catch (const std::exception& e) {
            why = r->status != 0 ? r->err : e.what();
        }
    }
    if (why) {
        log << "podtrace: could not list this session's debug pods (" << session_
            << "); delete them by hand: kubectl get pods | grep node-debugger (" << *why << ")\n";
        return;
    }
    if (names.empty()) return;
    std::vector<std::string> del{"delete", "pod", "--wait=false", "--ignore-not-found"};
    if (!kube_.namespace_.empty()) del.push_back("--namespace=" + kube_.namespace_);
    del.insert(del.end(), names.begin(), names.end());
    const auto d = run_kubectl(kube_, del);
    if (!d || d->status != 0) {
        log << "podtrace: kubectl delete pod failed; delete by hand:";
        for (const auto& n : names) log << ' ' << n;
        log << " (" << (d ? d->err : d.error().message) << ")\n";
        return;
    }
    log << "podtrace: deleted debug pod" << (names.size() == 1 ? "" : "s");
    for (const auto& n : names) log << ' ' << n;
    log << '\n';
}

std::expected<std::vector<PodPlace>, Error> pod_places(const std::string& pods_json) {
    std::vector<PodPlace> out;
    try {
        const auto doc = nlohmann::json::parse(pods_json);
        for (const auto& item : doc.at("items")) {
            PodPlace p;
            const auto& meta = item.at("metadata");
            p.ns = meta.value("namespace", "");
            p.name = meta.at("name").get<std::string>();
            p.node = item.value("spec", nlohmann::json::object()).value("nodeName", "");
            p.ip = item.value("status", nlohmann::json::object()).value("podIP", "");
            out.push_back(std::move(p));
        }
    } catch (const std::exception& e) {
        return std::unexpected(Error{std::string("not a pod list: ") + e.what()});
    }
    return out;
}

std::expected<std::vector<std::string>, Error> node_names(const std::string& nodes_json) {
    std::vector<std::string> out;
    try {
        const auto doc = nlohmann::json::parse(nodes_json);
        for (const auto& item : doc.at("items"))
            out.push_back(item.at("metadata").at("name").get<std::string>());
    } catch (const std::exception& e) {
        return std::unexpected(Error{std::string("not a node list: ") + e.what()});
    }
    return out;
}

}  // namespace podtrace::kube

#pragma once
// `kubectl podtrace`'s plumbing: kubectl runs, and one `podtrace capture -w -` per node started
// through `kubectl debug node/NAME`, its pcapng streamed back over kubectl's standard output.
// Kubernetes is the distributed engine: nothing runs on a node but that debug pod, and every
// debug pod a session made is deleted when it ends (also on Ctrl-C and on errors).
#include <sys/types.h>

#include <chrono>
#include <expected>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "process/run.hpp"

namespace podtrace::kube {

struct Config {
    std::string kubectl = "kubectl";
    std::string context;    // --context, "" for kubectl's current
    std::string namespace_;  // where the debug pods go, "" for kubectl's current
    std::string image;      // the podtrace image the debug pods run
    std::string profile = "netadmin";
};

// Runs kubectl with the config's --context and `args` to completion (process::run): exit code
// (128+N for signal N, 127 when it could not start), standard output and error.
std::expected<process::Exec, Error> run_kubectl(const Config& k,
                                                const std::vector<std::string>& args);

// "30s", "2m", "1h", "500ms", or seconds as a number; nullopt when it is none of these.
std::optional<double> parse_duration(const std::string& text);

class NodeCaptures {
public:
    struct Node {
        std::string name;
        pid_t kubectl = -1;
        int in = -1;   // kubectl's standard input: the start and stop lines
        int out = -1;  // kubectl's standard output: the node's pcapng
        int err = -1;  // kubectl's standard error: the node's podtrace messages and kubectl's
        std::string err_text;   // all of it so far (the last 64 KiB)
        std::string err_line;   // an incomplete line
        bool ready = false;     // its podtrace said it is capturing
        bool out_done = false;  // standard output ended
        int status = -1;        // kubectl's exit code once it ended
        std::uint64_t bytes = 0;
    };

    // `capture_args` go after `podtrace capture --stdin-control --node NAME -w -`.
    NodeCaptures(Config k, std::vector<std::string> capture_args);
    ~NodeCaptures();  // stop(), wait a moment, kill what is left, delete the debug pods
    NodeCaptures(const NodeCaptures&) = delete;
    NodeCaptures& operator=(const NodeCaptures&) = delete;

    // Starts kubectl debug on each node and sends the start line.
    std::expected<void, Error> start(const std::vector<std::string>& nodes);
    std::vector<Node>& nodes() { return nodes_; }
    const std::string& session() const { return session_; }

    // Waits up to `timeout` for output; standard output goes to `sink(node, data, size)`
    // (unless the node's `out` was handed away), standard error lines to `line(node, text)`.
    // False when nothing is left open to wait on.
    using Sink = std::function<bool(Node&, const char*, std::size_t)>;
    using Line = std::function<void(Node&, const std::string&)>;
    bool pump(std::chrono::milliseconds timeout, const Sink& sink, const Line& line);
    // Reaps kubectl processes that ended; true when all have.
    bool reap();
    // Sends the stop line and closes standard input: each node's capture drains and ends.
    void stop();
    // SIGTERM to the kubectl processes still running, then waits for them.
    void kill_all();
    // Deletes every debug pod of this session (found by its PODTRACE_SESSION variable);
    // reports what it did on `log`. Idempotent.
    void delete_pods(std::ostream& log);

private:
    Config kube_;
    std::vector<std::string> capture_args_;
    std::string session_;
    std::vector<Node> nodes_;
    bool deleted_ = false;
};

// What a `kubectl get ... -o json` List holds that the plugin needs.
struct PodPlace {
    std::string ns, name, node, ip;
};
// The pods of a `kubectl get pods -A -o json` document; the error names the fault when the text
// is not such a document.
std::expected<std::vector<PodPlace>, Error> pod_places(const std::string& pods_json);
// The node names of a `kubectl get nodes -o json` document.
std::expected<std::vector<std::string>, Error> node_names(const std::string& nodes_json);

}  // namespace podtrace::kube

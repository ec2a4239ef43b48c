#include "lab/record.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <thread>

#include "lab/kube_json.hpp"
#include "lab/lab.hpp"
#include "lab/netns.hpp"

namespace podtrace::lab {
namespace fs = std::filesystem;
namespace {

using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    std::ostringstream o;
    o << f.rdbuf();
    return o.str();
}

struct Capture {
    std::string node;
    fs::path file, log;
    pid_t pid = -1;
};

// Stops the captures that are still running: SIGINT, as a user at the terminal would.
class Captures {
public:
    std::vector<Capture> list;
    ~Captures() { stop(); }
    // Exit statuses in `list` order; -1 for a capture that had to be killed.
    std::vector<int> stop() {
        std::vector<int> status;
        for (auto& c : list)
            if (c.pid > 0) kill(c.pid, SIGINT);
        for (auto& c : list) {
            int st = -1;
            if (c.pid > 0) {
                auto deadline = std::chrono::steady_clock::now() + 5s;
                int ws = 0;
                pid_t r = 0;
                while ((r = waitpid(c.pid, &ws, WNOHANG)) == 0 &&
                       std::chrono::steady_clock::now() < deadline)
                    std::this_thread::sleep_for(10ms);
                if (r == 0) {
                    kill(c.pid, SIGKILL);
                    waitpid(c.pid, &ws, 0);
                } else if (r == c.pid && WIFEXITED(ws)) {
                    st = WEXITSTATUS(ws);
                }
                c.pid = -1;
            }
            status.push_back(st);
        }
        return status;
    }
};

std::expected<void, Error> wait_until_capturing(const Capture& c) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (slurp(c.log).find("capturing on") != std::string::npos) return {};
        int ws;
        if (waitpid(c.pid, &ws, WNOHANG) == c.pid)
            return std::unexpected(Error{"podtrace capture on " + c.node + " stopped: " +
                                         process::last_lines(slurp(c.log), 3)});
        std::this_thread::sleep_for(20ms);
        if (auto go_on = InterruptGuard::check(); !go_on) return go_on;
    }
    return std::unexpected(Error{"podtrace capture on " + c.node + " did not start within 10 s: " +
                                 process::last_lines(slurp(c.log), 3)});
}

// record() up to the files: the captures it starts go into `caps`, for the caller to stop.
std::expected<Recording, Error> record_into(const fs::path& dir, const std::string& exe, Mode m,
                                            const std::vector<std::string>& scenarios,
                                            Captures& caps, std::ostream& log) {
    Recording rec;
    std::error_code ec;
    for (const auto& n : kNodes) {
        Capture c{std::string(n.name), dir / (std::string(n.name) + ".pcapng"),
                  fs::path(std::string(kStateDir)) / (std::string(n.name) + ".capture.log")};
        fs::remove(c.log, ec);
        auto pid = spawn_detached({exe, "capture", "-w", c.file.string(), "--node", c.node},
                                  node_netns(n.name), c.log.string());
        if (!pid) return std::unexpected(pid.error());
        c.pid = *pid;
        caps.list.push_back(c);
    }
    for (const auto& c : caps.list) {
        if (auto started = wait_until_capturing(c); !started)
            return std::unexpected(started.error());
        log << "record: " << process::last_lines(slurp(c.log), 1);
    }
    // The capture threads are attached once they print; give the rings a moment anyway.
    std::this_thread::sleep_for(200ms);
    auto results = run_scenarios(m, scenarios, log);
    if (!results) return std::unexpected(results.error());
    rec.scenarios = std::move(*results);
    std::this_thread::sleep_for(300ms);
    auto status = caps.stop();
    for (std::size_t i = 0; i < caps.list.size(); ++i) {
        const auto& c = caps.list[i];
        if (status[i] != 0)
            return std::unexpected(Error{"podtrace capture on " + c.node + " failed: " +
                                         process::last_lines(slurp(c.log), 3)});
        log << "record: " << c.node << ": " << process::last_lines(slurp(c.log), 1);
        rec.files.push_back(c.file.string());
    }
    if (auto written = write_kube_json(dir.string(), m, wireguard_public_keys()); !written)
        return std::unexpected(written.error());
    for (const char* f : {"pods.json", "services.json", "nodes.json"})
        rec.files.push_back((dir / f).string());
    return rec;
}

}  // namespace

std::expected<Recording, Error> record(const std::string& dir_name, const std::string& exe,
                                       const std::vector<std::string>& scenarios,
                                       std::ostream& log) {
    const auto m = running_mode();
    if (!m) return std::unexpected(m.error());
    InterruptGuard interrupts;
    fs::path dir(dir_name);
    std::error_code ec, unused;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir, unused))
        return std::unexpected(
            Error{dir_name + ": cannot create the directory" +
                  (ec ? ": " + ec.message() : std::string(": a file is in the way"))});
    Captures caps;
    auto rec = record_into(dir, exe, *m, scenarios, caps, log);
    if (!rec) {
        caps.stop();
        for (const auto& c : caps.list) fs::remove(c.file, ec);
    }
    return rec;
}

}  // namespace podtrace::lab

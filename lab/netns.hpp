#pragma once
// Running things inside the lab's network namespaces. The lab drives iproute2 and iptables as a
// user would (argv, never a shell), and enters namespaces per thread for its own sockets.
#include <signal.h>
#include <sys/types.h>

#include <expected>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "process/fd.hpp"
#include "process/run.hpp"

namespace podtrace::lab {

// process::run, inside `netns` (through `ip netns exec`, which also gives it
// /etc/netns/<netns>/resolv.conf) when that is non-empty.
std::expected<process::Exec, Error> run(const std::vector<std::string>& argv,
                                        const std::string& netns = {});
// run() that fails with the command line and its stderr unless it exits 0; else its stdout.
std::expected<std::string, Error> must(const std::vector<std::string>& argv,
                                       const std::string& netns = {});

// The calling thread in the named network namespace, back where it was on destruction. Sockets
// opened meanwhile stay in that namespace.
class NetnsScope {
public:
    static std::expected<NetnsScope, Error> enter(const std::string& netns);
    NetnsScope(NetnsScope&&) = default;
    NetnsScope& operator=(NetnsScope&&) = delete;
    ~NetnsScope();

private:
    explicit NetnsScope(process::Fd home) : home_(std::move(home)) {}
    process::Fd home_;  // this thread's namespace before
};

bool netns_exists(const std::string& netns);

// Starts argv detached (own session, stdin /dev/null, stdout+stderr appended to `log`) inside
// `netns`, after bind-mounting each {source, target} pair in a private mount namespace, and
// returns its pid. The error names the command and the step that failed.
std::expected<pid_t, Error> spawn_detached(
    const std::vector<std::string>& argv, const std::string& netns, const std::string& log,
    const std::vector<std::pair<std::string, std::string>>& binds = {});

// While alive, SIGINT and SIGTERM only set a flag; check() fails with "interrupted by …" once
// one arrived, so a long lab step stops between commands and cleans up after itself.
class InterruptGuard {
public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;
    static std::expected<void, Error> check();

private:
    struct sigaction old_int_{}, old_term_{};
};

}  // namespace podtrace::lab

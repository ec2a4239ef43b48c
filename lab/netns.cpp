#include "lab/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "process/spawn.hpp"

namespace podtrace::lab {
namespace {

std::vector<std::string> in_netns(const std::vector<std::string>& argv, const std::string& netns) {
    if (netns.empty()) return argv;
    std::vector<std::string> full{"ip", "netns", "exec", netns};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

std::string netns_path(const std::string& netns) { return "/run/netns/" + netns; }

std::atomic<int> g_signal{0};
extern "C" void on_interrupt(int sig) { g_signal = sig; }

}  // namespace

InterruptGuard::InterruptGuard() {
    g_signal = 0;
    struct sigaction sa{};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
}

InterruptGuard::~InterruptGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
}

std::expected<void, Error> InterruptGuard::check() {
    if (int sig = g_signal.load())
        return std::unexpected(Error{std::string("interrupted by ") + strsignal(sig)});
    return {};
}

std::expected<process::Exec, Error> run(const std::vector<std::string>& argv,
                                        const std::string& netns) {
    return process::run(in_netns(argv, netns));
}

std::expected<std::string, Error> must(const std::vector<std::string>& argv,
                                       const std::string& netns) {
    auto r = run(argv, netns);
    if (!r) return std::unexpected(r.error());
    if (r->status != 0) {
        std::string what = process::command_line(in_netns(argv, netns));
        std::string why = r->err.empty() ? r->out : r->err;
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        return std::unexpected(Error{"`" + what + "` failed (exit " + std::to_string(r->status) +
                                     ")" + (why.empty() ? "" : ": " + why)});
    }
    return std::move(r->out);
}

std::expected<NetnsScope, Error> NetnsScope::enter(const std::string& netns) {
    process::Fd home(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.get() < 0)
        return std::unexpected(Error{std::string("cannot open this thread's network namespace: ") +
                                     std::strerror(errno)});
    process::Fd target(open(netns_path(netns).c_str(), O_RDONLY | O_CLOEXEC));
    if (target.get() < 0)
        return std::unexpected(Error{"network namespace " + netns + ": " + std::strerror(errno)});
    if (setns(target.get(), CLONE_NEWNET) != 0)
        return std::unexpected(
            Error{"cannot enter network namespace " + netns + ": " + std::strerror(errno)});
    return NetnsScope(std::move(home));
}

NetnsScope::~NetnsScope() {
    // Returning cannot fail for a namespace this thread was in a moment ago.
    if (home_.get() >= 0) (void)setns(home_.get(), CLONE_NEWNET);
}

bool netns_exists(const std::string& netns) {
    struct stat st{};
    return stat(netns_path(netns).c_str(), &st) == 0;
}

std::expected<pid_t, Error> spawn_detached(
    const std::vector<std::string>& argv_in, const std::string& netns, const std::string& log,
    const std::vector<std::pair<std::string, std::string>>& binds) {
    const auto argv = in_netns(argv_in, netns);
    auto fail = [&](const std::string& why) {
        return std::unexpected(
            Error{"cannot start `" + process::command_line(argv) + "`: " + why});
    };
    process::Fd in(open("/dev/null", O_RDONLY | O_CLOEXEC));
    process::Fd out(open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (in.get() < 0 || out.get() < 0)
        return fail(std::string("open /dev/null or the log: ") + std::strerror(errno));
    auto pid = process::spawn(argv, {.in = in.get(),
                                     .out = out.get(),
                                     .err = out.get(),
                                     .group = process::SpawnOptions::Group::session,
                                     .binds = binds});
    if (!pid) return fail(pid.error().message);
    return *pid;
}

}  // namespace podtrace::lab

#include "process/spawn.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "process/fd.hpp"

namespace podtrace::process {
namespace {

// What the child reports through the pipe when a step before the program fails.
enum Step : int { kExec, kDescriptors, kUnshare, kSlave, kBind };
constexpr const char* kStepNames[] = {"exec", "set up descriptors", "unshare(CLONE_NEWNS)",
                                      "make / a slave mount", "bind mount"};

std::string failure(const char* step, int err) {
    return std::string(step) + ": " + std::strerror(err);
}

}  // namespace

std::expected<pid_t, Error> spawn(const std::vector<std::string>& argv,
                                  const SpawnOptions& o) {
    // Everything the child needs is made here: between fork and exec it may only make system
    // calls (another thread of ours may hold the allocator's lock).
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<int> want{o.in, o.out, o.err};
    want.insert(want.end(), o.fds.begin(), o.fds.end());
    std::vector<int> moved(want.size(), -1);
    const int above = static_cast<int>(want.size());

    int report[2];  // a failure before the program reaches us through this (closed by exec)
    if (::pipe2(report, O_CLOEXEC) != 0) return std::unexpected(Error{failure("pipe", errno)});
    Fd report_in(report[0]), report_out(report[1]);
    const pid_t pid = ::fork();
    if (pid < 0) return std::unexpected(Error{failure("fork", errno)});
    if (pid == 0) {
        auto fail = [&](int step) {
            const int msg[2] = {step, errno};
            (void)!::write(report[1], msg, sizeof msg);
            ::_exit(127);
        };
        if (o.group == SpawnOptions::Group::own) ::setpgid(0, 0);
        if (o.group == SpawnOptions::Group::session) ::setsid();
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        // We may ignore these (the plugin ignores SIGPIPE); a program starts with the defaults.
        struct sigaction dfl{};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGINT, SIGPIPE}) ::sigaction(sig, &dfl, nullptr);
        if (!o.binds.empty()) {
            if (::unshare(CLONE_NEWNS) != 0) fail(kUnshare);
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) fail(kSlave);
            for (const auto& [src, dst] : o.binds)
                if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0)
                    fail(kBind);
        }
        // Out of the way first (above every target), so that placing one never closes another.
        for (std::size_t i = 0; i < want.size(); ++i)
            if (want[i] >= 0 && want[i] != static_cast<int>(i) &&
                (moved[i] = ::fcntl(want[i], F_DUPFD_CLOEXEC, above)) < 0)
                fail(kDescriptors);
        for (std::size_t i = 0; i < want.size(); ++i)
            if (moved[i] >= 0 && ::dup2(moved[i], static_cast<int>(i)) < 0) fail(kDescriptors);
        ::execvp(args[0], args.data());
        fail(kExec);
    }
    report_out.reset();
    int msg[2] = {0, 0};
    ssize_t n;
    while ((n = ::read(report_in.get(), msg, sizeof msg)) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof msg)) return pid;
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (msg[0] == kExec) return std::unexpected(Error{std::strerror(msg[1])});
    return std::unexpected(Error{failure(kStepNames[msg[0]], msg[1])});
}

std::expected<std::string, Error> self_exe() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return std::unexpected(Error{"cannot find this program's path (/proc/self/exe)"});
    return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace podtrace::process

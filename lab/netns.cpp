#include "lab/netns.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <filesystem>

extern char** environ;

namespace podtrace::lab {
namespace {

std::vector<std::string> in_netns(const std::vector<std::string>& argv, const std::string& netns) {
    if (netns.empty()) return argv;
    std::vector<std::string> full{"ip", "netns", "exec", netns};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
    std::vector<char*> v;
    for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
    v.push_back(nullptr);
    return v;
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

void InterruptGuard::check() {
    if (int sig = g_signal.load()) throw LabError(std::string("interrupted by ") + strsignal(sig));
}

std::string command_line(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        bool plain = !a.empty() && a.find_first_of(" \t'\"\\$!*?;&|<>()") == std::string::npos;
        if (plain) {
            s += a;
            continue;
        }
        s += '\'';
        for (char c : a) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
        s += '\'';
    }
    return s;
}

int exit_code(int wstatus) {
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return -1;
}

std::string last_lines(const std::string& text, int n) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) lines.push_back(l);
    std::string out;
    for (std::size_t i = lines.size() > static_cast<std::size_t>(n) ? lines.size() - n : 0;
         i < lines.size(); ++i)
        out += lines[i] + "\n";
    return out.empty() ? "(no output)\n" : out;
}

bool write_all(int fd, std::string_view text) {
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void replace_file(const std::string& target, std::string_view text) {
    const std::filesystem::path path = target;
    const std::filesystem::path tmp =
        path.parent_path() /
        ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
    auto fail = [&](const std::string& what, int err) {
        throw LabError("cannot write " + target + ": " + what + ": " + std::strerror(err));
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) fail("creating " + tmp.string(), errno);
    const char* step = nullptr;  // the first step that failed, with its errno
    int err = 0;
    auto failed = [&](const char* s) {
        step = s;
        err = errno;
    };
    if (!write_all(fd, text))
        failed("write");
    else if (::fsync(fd) != 0)  // the data must be on disk before the name points at it
        failed("fsync");
    if (::close(fd) != 0 && !step) failed("close");
    if (!step && ::rename(tmp.c_str(), path.c_str()) != 0) failed("rename");
    if (step) {
        ::unlink(tmp.c_str());
        fail(step, err);
    }
}

Exec run(const std::vector<std::string>& argv_in, const std::string& netns) {
    auto argv = in_netns(argv_in, netns);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw LabError(std::string("pipe: ") + std::strerror(errno));
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        throw LabError(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    auto cv = c_argv(argv);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, cv[0], &fa, nullptr, cv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    Exec r;
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        r.status = 127;
        r.err = argv[0] + ": " + std::strerror(rc);
        return r;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    r.status = exit_code(ws);
    return r;
}

std::string must(const std::vector<std::string>& argv, const std::string& netns) {
    Exec r = run(argv, netns);
    if (r.status != 0) {
        std::string what = command_line(in_netns(argv, netns));
        std::string why = r.err.empty() ? r.out : r.err;
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        throw LabError("`" + what + "` failed (exit " + std::to_string(r.status) + ")" +
                       (why.empty() ? "" : ": " + why));
    }
    return r.out;
}

NetnsScope::NetnsScope(const std::string& netns) {
    home_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_ < 0) throw LabError(std::string("cannot open this thread's network namespace: ") +
                                  std::strerror(errno));
    int fd = open(netns_path(netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        close(home_);
        throw LabError("network namespace " + netns + ": " + std::strerror(e));
    }
    int rc = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    if (rc != 0) {
        close(home_);
        throw LabError("cannot enter network namespace " + netns + ": " + std::strerror(e));
    }
}

NetnsScope::~NetnsScope() {
    // Returning cannot fail for a namespace this thread was in a moment ago.
    (void)setns(home_, CLONE_NEWNET);
    close(home_);
}

bool netns_exists(const std::string& netns) {
    struct stat st{};
    return stat(netns_path(netns).c_str(), &st) == 0;
}

pid_t spawn_detached(const std::vector<std::string>& argv_in, const std::string& netns,
                     const std::string& log,
                     const std::vector<std::pair<std::string, std::string>>& binds) {
    auto argv = in_netns(argv_in, netns);
    auto cv = c_argv(argv);
    // The child reports a failure before exec through this pipe (closed by a successful exec).
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0)
        throw LabError(std::string("pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(status_pipe[0]);
        close(status_pipe[1]);
        throw LabError(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here to exec.
        auto fail = [&](int step) {
            int msg[2] = {step, errno};
            (void)!write(status_pipe[1], msg, sizeof msg);
            _exit(127);
        };
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        if (!binds.empty()) {
            if (unshare(CLONE_NEWNS) != 0) fail(1);
            if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) fail(2);
            for (const auto& [src, dst] : binds)
                if (mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) fail(3);
        }
        int in = open("/dev/null", O_RDONLY);
        int lf = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || lf < 0) fail(4);
        dup2(in, 0);
        dup2(lf, 1);
        dup2(lf, 2);
        execvp(cv[0], cv.data());
        fail(5);
    }
    close(status_pipe[1]);
    int msg[2] = {0, 0};
    ssize_t n;
    while ((n = read(status_pipe[0], msg, sizeof msg)) < 0 && errno == EINTR) {
    }
    close(status_pipe[0]);
    if (n == static_cast<ssize_t>(sizeof msg)) {
        int ws;
        waitpid(pid, &ws, 0);
        static const char* steps[] = {"", "unshare(CLONE_NEWNS)", "make / a slave mount",
                                      "bind mount", "open /dev/null or the log", "exec"};
        throw LabError("cannot start `" + command_line(argv) + "`: " + steps[msg[0]] + ": " +
                       std::strerror(msg[1]));
    }
    return pid;
}

}  // namespace podtrace::lab

#include "process/run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "process/fd.hpp"
#include "process/spawn.hpp"

namespace podtrace::process {

std::expected<Exec, Error> run(const std::vector<std::string>& argv) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return std::unexpected(Error{std::string("pipe: ") + std::strerror(errno)});
    Fd out_r(out[0]), out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0)
        return std::unexpected(Error{std::string("pipe: ") + std::strerror(errno)});
    Fd err_r(err[0]), err_w(err[1]);
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    std::expected<pid_t, Error> pid = std::unexpected(Error{std::strerror(errno)});
    if (null.get() >= 0)
        pid = spawn(argv, {.in = null.get(), .out = out_w.get(), .err = err_w.get()});
    out_w.reset();
    err_w.reset();
    Exec r;
    if (!pid) {
        r.status = 127;
        r.err = argv[0] + ": " + pid.error().message;
        return r;
    }
    Fd* from[2] = {&out_r, &err_r};
    std::string* sinks[2] = {&r.out, &r.err};
    char buf[4096];
    while (out_r.get() >= 0 || err_r.get() >= 0) {
        pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0)
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            else if (n == 0 || errno != EINTR)
                from[i]->reset();
        }
    }
    int ws = 0;
    while (::waitpid(*pid, &ws, 0) < 0 && errno == EINTR) {
    }
    r.status = exit_code(ws);
    return r;
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

}  // namespace podtrace::process

#pragma once
// Running things inside the lab's network namespaces. The lab drives iproute2 and iptables as a
// user would (argv, never a shell), and enters namespaces per thread for its own sockets.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podtrace::lab {

// A lab step that failed; the message names the command or namespace and what went wrong.
struct LabError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An owned file descriptor, closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

struct Exec {
    int status = -1;  // exit code, or 128 + signal
    std::string out, err;
};
// Runs argv (PATH lookup) to completion with stdin from /dev/null. Inside `netns` (through
// `ip netns exec`, which also gives it /etc/netns/<netns>/resolv.conf) when that is non-empty.
Exec run(const std::vector<std::string>& argv, const std::string& netns = {});
// run() that throws LabError with the command line and its stderr unless it exits 0.
std::string must(const std::vector<std::string>& argv, const std::string& netns = {});
// A waitpid() status as a shell gives it: the exit code, 128 + N for signal N, -1 otherwise.
int exit_code(int wstatus);
// The last n non-empty lines of a program's output, for an error message; ends with a newline
// ("(no output)\n" when there are none).
std::string last_lines(const std::string& text, int n);
// Writes all of `text` (retrying short writes and EINTR); false on an error, errno set.
bool write_all(int fd, std::string_view text);
// Writes a temporary file beside `path`, fsyncs it and renames it over `path`: a reader (or a
// crash) sees the old file or the new one, never a part. Throws LabError naming the path.
void replace_file(const std::string& path, std::string_view text);

// Enters the named network namespace for the calling thread only and returns on destruction.
// Sockets opened meanwhile stay in that namespace.
class NetnsScope {
public:
    explicit NetnsScope(const std::string& netns);
    ~NetnsScope();
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

private:
    int home_ = -1;
};

bool netns_exists(const std::string& netns);

// Starts argv detached (own session, stdin /dev/null, stdout+stderr appended to `log`) inside
// `netns`, after bind-mounting each {source, target} pair in a private mount namespace, and
// returns its pid. Throws LabError when the program cannot be started.
pid_t spawn_detached(const std::vector<std::string>& argv, const std::string& netns,
                     const std::string& log,
                     const std::vector<std::pair<std::string, std::string>>& binds = {});

// While alive, SIGINT and SIGTERM only set a flag; check() throws LabError("interrupted by …")
// once one arrived, so a long lab step stops between commands and cleans up after itself.
class InterruptGuard {
public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;
    static void check();

private:
    struct sigaction old_int_{}, old_term_{};
};

// The command line as a user would type it, for messages.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace podtrace::lab

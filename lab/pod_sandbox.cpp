#include "lab/pod_sandbox.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>

namespace podtrace::lab {
namespace fs = std::filesystem;

std::expected<std::pair<std::string, std::string>, Error> parse_pod_ref(std::string_view ref) {
    const auto slash = ref.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == ref.size() ||
        ref.find('/', slash + 1) != std::string_view::npos)
        return std::unexpected(
            Error{"pod-sandbox: expected NAMESPACE/POD, got '" + std::string(ref) + "'"});
    return std::pair{std::string(ref.substr(0, slash)), std::string(ref.substr(slash + 1))};
}

namespace {

std::unexpected<Error> failed(const std::string& step) {
    return std::unexpected(Error{"pod-sandbox: " + step + ": " + std::strerror(errno)});
}

std::expected<void, Error> write_file(const fs::path& p, const std::string& text) {
    std::ofstream f(p);
    f << text;
    if (!f.flush()) return std::unexpected(Error{"pod-sandbox: cannot write " + p.string()});
    return {};
}

}  // namespace

std::expected<void, Error> enter_pod_sandbox(std::string_view ns, std::string_view pod) {
    if (unshare(CLONE_NEWUTS | CLONE_NEWNS) != 0)
        return failed("unshare(CLONE_NEWUTS|CLONE_NEWNS)");
    // Private before anything is mounted, so no mount propagates back to the host.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return failed("make / private");
    if (sethostname(pod.data(), pod.size()) != 0) return failed("sethostname");
    std::error_code ec;
    // /var/run is a symlink to /run on Debian; mount where it really is.
    fs::path run = fs::canonical("/var/run", ec);
    if (ec) run = "/var/run";
    if (mount("tmpfs", run.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") != 0)
        return failed("mount a tmpfs on " + run.string());
    const fs::path sa = run / "secrets/kubernetes.io/serviceaccount";
    fs::create_directories(sa, ec);
    if (ec) return std::unexpected(Error{"pod-sandbox: cannot create " + sa.string() + ": " +
                                         ec.message()});
    if (auto w = write_file(sa / "namespace", std::string(ns)); !w) return w;
    const fs::path host = run / "podtrace-hostname";
    if (auto w = write_file(host, std::string(pod) + "\n"); !w) return w;
    if (fs::exists("/etc/hostname", ec) &&
        mount(host.c_str(), "/etc/hostname", nullptr, MS_BIND, nullptr) != 0)
        return failed("bind the pod's name over /etc/hostname");
    return {};
}

std::expected<void, Error> run_pod_sandbox(std::string_view ref, const std::atomic<bool>& stop,
                                           std::ostream& log) {
    const auto names = parse_pod_ref(ref);
    if (!names) return std::unexpected(names.error());
    const auto& [ns, pod] = *names;
    if (auto entered = enter_pod_sandbox(ns, pod); !entered) return entered;
    log << "pod-sandbox " << ns << "/" << pod << ": ready (hostname " << pod
        << ", serviceaccount namespace " << ns << ")\n";
    // The handlers set `stop`; blocked between the check and the wait, so none is missed.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!stop) sigsuspend(&old);
    return {};
}

}  // namespace podtrace::lab

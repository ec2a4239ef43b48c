#include "lab/pod_sandbox.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "lab/netns.hpp"

namespace podtrace::lab {
namespace fs = std::filesystem;

std::pair<std::string, std::string> parse_pod_ref(std::string_view ref) {
    const auto slash = ref.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == ref.size() ||
        ref.find('/', slash + 1) != std::string_view::npos)
        throw LabError("pod-sandbox: expected NAMESPACE/POD, got '" + std::string(ref) + "'");
    return {std::string(ref.substr(0, slash)), std::string(ref.substr(slash + 1))};
}

namespace {

[[noreturn]] void failed(const std::string& step) {
    throw LabError("pod-sandbox: " + step + ": " + std::strerror(errno));
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream f(p);
    f << text;
    if (!f.flush()) throw LabError("pod-sandbox: cannot write " + p.string());
}

}  // namespace

void enter_pod_sandbox(std::string_view ns, std::string_view pod) {
    if (unshare(CLONE_NEWUTS | CLONE_NEWNS) != 0) failed("unshare(CLONE_NEWUTS|CLONE_NEWNS)");
    // Private before anything is mounted, so no mount propagates back to the host.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        failed("make / private");
    if (sethostname(pod.data(), pod.size()) != 0) failed("sethostname");
    std::error_code ec;
    // /var/run is a symlink to /run on Debian; mount where it really is.
    fs::path run = fs::canonical("/var/run", ec);
    if (ec) run = "/var/run";
    if (mount("tmpfs", run.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") != 0)
        failed("mount a tmpfs on " + run.string());
    const fs::path sa = run / "secrets/kubernetes.io/serviceaccount";
    fs::create_directories(sa);
    write_file(sa / "namespace", std::string(ns));
    const fs::path host = run / "podtrace-hostname";
    write_file(host, std::string(pod) + "\n");
    if (fs::exists("/etc/hostname") &&
        mount(host.c_str(), "/etc/hostname", nullptr, MS_BIND, nullptr) != 0)
        failed("bind the pod's name over /etc/hostname");
}

int run_pod_sandbox(std::string_view ref, const std::atomic<bool>& stop) {
    const auto [ns, pod] = parse_pod_ref(ref);
    enter_pod_sandbox(ns, pod);
    std::cerr << "pod-sandbox " << ns << "/" << pod << ": ready (hostname " << pod
              << ", serviceaccount namespace " << ns << ")\n";
    // The handlers set `stop`; blocked between the check and the wait, so none is missed.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!stop) sigsuspend(&old);
    return 0;
}

}  // namespace podtrace::lab

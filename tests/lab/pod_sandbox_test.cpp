// A lab pod's sandbox (lab/pod_sandbox.hpp) and what a node's podtrace makes of it: the pod's
// veth named from /proc (probes/pod_names.hpp through discover). [live] cases need root and
// make their own namespaces (ptlt-pn-*).
#include "lab/pod_sandbox.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "lab/netns.hpp"
#include "probes/discover.hpp"
#include "helpers.hpp"
#include "trace/inventory.hpp"

using namespace podtrace;
using namespace podtrace::lab;
using podtrace::test::require;

namespace {

const std::string kNode = "ptlt-pn-node";
const std::string kPod = "ptlt-pn-pod";

void delete_all() {
    for (const auto& ns : {kNode, kPod})
        if (netns_exists(ns)) run({"ip", "netns", "del", ns});
}

struct Guard {
    std::vector<pid_t> children;
    Guard() { delete_all(); }
    ~Guard() {
        for (pid_t p : children) {
            kill(p, SIGKILL);
            waitpid(p, nullptr, 0);
        }
        delete_all();
    }
};

bool join_netns(const std::string& ns) {
    const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    const bool ok = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

// A child process in the pod's network namespace: `setup` runs there, then it waits to be
// killed. Returns once it is set up (or has failed: then -1).
template <typename Fn>
pid_t pod_process(Fn setup) {
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        char ok = 0;
        try {
            ok = join_netns(kPod) && setup() ? 1 : 0;
        } catch (...) {
        }
        (void)!write(ready[1], &ok, 1);
        for (;;) pause();
    }
    close(ready[1]);
    char ok = 0;
    const bool got = read(ready[0], &ok, 1) == 1 && ok == 1;
    close(ready[0]);
    return got ? pid : -1;
}

probes::DiscoverOptions with_names() {
    probes::DiscoverOptions o;
    o.namer = [](std::string_view ns, std::string_view pod) {
        return trace::calico_veth_name(ns, pod);
    };
    return o;
}

// discover() in the node's namespace, from a thread of ours.
probes::NodeFacts discover_node() {
    std::optional<probes::NodeFacts> facts;
    std::string error;
    std::thread t([&] {
        if (!join_netns(kNode)) {
            error = "cannot enter " + kNode;
            return;
        }
        auto f = probes::discover(with_names());
        if (f)
            facts = std::move(*f);
        else
            error = f.error().message;
    });
    t.join();
    INFO(error);
    REQUIRE(facts);
    return *facts;
}

// The reason a child without CAP_SYS_PTRACE and CAP_SYS_ADMIN (kubectl's netadmin profile)
// gets for the pod veth.
std::string unnamed_without_caps() {
    int out[2];
    REQUIRE(pipe(out) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(out[0]);
        std::string text = "setup failed";
        if (join_netns(kNode)) {
            __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
            __user_cap_data_struct data[2] = {};
            syscall(SYS_capget, &hdr, data);
            for (int cap : {CAP_SYS_PTRACE, CAP_SYS_ADMIN})
                for (auto* set : {&data[cap / 32].effective, &data[cap / 32].permitted})
                    *set &= ~(1u << (cap % 32));
            if (syscall(SYS_capset, &hdr, data) == 0) {
                auto f = probes::discover(with_names());
                text = !f ? f.error().message
                       : f->pods.size() != 1 ? "pods: " + std::to_string(f->pods.size())
                       : f->pods[0].pod      ? "named " + f->pods[0].pod->pod
                                             : f->pods[0].pod_unnamed;
            }
        }
        (void)!write(out[1], text.data(), text.size());
        _exit(0);
    }
    close(out[1]);
    std::string text;
    char buf[512];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, n);
    close(out[0]);
    waitpid(pid, nullptr, 0);
    return text;
}

}  // namespace

TEST_CASE("pod-sandbox takes NAMESPACE/POD") {
    CHECK(parse_pod_ref("default/pod1") == std::pair<std::string, std::string>{"default", "pod1"});
    CHECK_FALSE(parse_pod_ref("pod1").has_value());
    CHECK_FALSE(parse_pod_ref("/pod1").has_value());
    CHECK_FALSE(parse_pod_ref("default/").has_value());
    CHECK_FALSE(parse_pod_ref("a/b/c").has_value());
}

TEST_CASE("a node names a pod's veth from the processes in its peer namespace", "[live]") {
    if (geteuid() != 0) {
        WARN("skipped: needs root (network, UTS and mount namespaces)");
        return;
    }
    Guard guard;
    const std::string veth = trace::calico_veth_name("ptlt", "sbx");
    require(must({"ip", "netns", "add", kNode}));
    require(must({"ip", "netns", "add", kPod}));
    require(must({"ip", "-n", kNode, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
                  "netns", kPod}));
    require(must({"ip", "-n", kNode, "link", "set", veth, "up"}));
    require(must({"ip", "-n", kPod, "link", "set", "eth0", "up"}));

    SECTION("no process in the pod's namespace yet") {
        const auto f = discover_node();
        REQUIRE(f.pods.size() == 1);
        CHECK_FALSE(f.pods[0].pod);
        CHECK_THAT(f.pods[0].pod_unnamed, Catch::StartsWith("no process in its peer network"));
    }
    SECTION("pause (hostname only) and app (namespace file too)") {
        const pid_t pause_pid = pod_process([] {
            return unshare(CLONE_NEWUTS) == 0 && sethostname("sbx", 3) == 0;
        });
        REQUIRE(pause_pid > 0);
        guard.children.push_back(pause_pid);
        SECTION("the pause container alone has no namespace file") {
            const auto f = discover_node();
            REQUIRE(f.pods.size() == 1);
            CHECK_FALSE(f.pods[0].pod);
            CHECK_THAT(f.pods[0].pod_unnamed, Catch::StartsWith("no namespace file"));
        }
        SECTION("with the app container: named, and verified") {
            const pid_t app =
                pod_process([] { return enter_pod_sandbox("ptlt", "sbx").has_value(); });
            REQUIRE(app > 0);
            guard.children.push_back(app);
            // What the sandbox shows through /proc, as a container would.
            // (/var/run is a symlink to /run here: through /proc/PID/root it would resolve in
            // our root.)
            std::ifstream nsf("/proc/" + std::to_string(app) + "/root" +
                              std::filesystem::canonical("/var/run").string() +
                              "/secrets/kubernetes.io/serviceaccount/namespace");
            std::string ns;
            nsf >> ns;
            CHECK(ns == "ptlt");
            std::ifstream host("/proc/" + std::to_string(app) + "/root/etc/hostname");
            std::string hostname;
            host >> hostname;
            CHECK(hostname == "sbx");

            const auto f = discover_node();
            REQUIRE(f.pods.size() == 1);
            CHECK(f.pods[0].link.name == veth);
            REQUIRE(f.pods[0].pod);
            CHECK(f.pods[0].pod->ns == "ptlt");
            CHECK(f.pods[0].pod->pod == "sbx");
            CHECK_THAT(f.pods[0].pod->verified, Catch::Contains("Calico's veth name matches"));

            // kubectl debug node/… --profile=netadmin: no CAP_SYS_PTRACE, no CAP_SYS_ADMIN.
            CHECK_THAT(unnamed_without_caps(), Catch::Contains("CAP_SYS_PTRACE"));
        }
    }
    // The host's mounts are untouched by the sandbox's tmpfs.
    CHECK_FALSE(std::ifstream("/run/podtrace-hostname").good());
}

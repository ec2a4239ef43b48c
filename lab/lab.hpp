#pragma once
// `podtrace lab up|down|status`: builds and removes the lab's cluster (lab/topology.hpp).
#include <expected>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "lab/topology.hpp"

namespace podtrace::lab {

// Builds the whole lab in `m`. `podtrace_exe` is the binary that serves the lab's tunl0 where the
// kernel has no ipip module. Progress lines go to `log`. Refuses when a lab is already up or
// without root; on any failure, and on SIGINT/SIGTERM, removes what it made and returns why.
std::expected<void, Error> up(Mode m, const std::string& podtrace_exe, std::ostream& log);

// Removes every ptlab- namespace (after stopping the processes inside), /etc/netns entries and
// the state directory. Returns the namespaces removed. Safe to run at any time, also twice.
std::vector<std::string> down(std::ostream& log);

struct Status {
    std::optional<Mode> mode;             // from the state directory
    std::vector<std::string> namespaces;  // ptlab-* that exist
    struct Daemon {
        std::string what;  // "k8s-w1 tunl0 (podtrace lab ipip-daemon)", "pod1 sandbox (…)"
        int pid = 0;
        bool running = false;
    };
    std::vector<Daemon> daemons;
    bool up() const { return !namespaces.empty(); }
};
Status status();
std::string status_text(const Status& s);

// The mode the running lab was built in; an error when no lab is up.
std::expected<Mode, Error> running_mode();

// The kernel's ipip module stands behind a real tunl0; without it the lab serves tunl0 itself.
bool kernel_has_ipip();

}  // namespace podtrace::lab

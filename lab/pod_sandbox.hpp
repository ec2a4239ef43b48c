#pragma once
// A lab pod's sandbox process (`podtrace lab pod-sandbox NS/NAME`, started by `lab up` in the
// pod's network namespace): what a pod's processes give a node's /proc, so podtrace can name
// the pod's veth without the API: a UTS namespace whose hostname is the pod's name, and a
// private mount namespace with the serviceaccount namespace file an app container has.
#include <atomic>
#include <expected>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace podtrace::lab {

// "default/pod1" -> {"default", "pod1"}; an error unless both parts are non-empty.
std::expected<std::pair<std::string, std::string>, Error> parse_pod_ref(std::string_view ref);

// Moves the calling process (single-threaded: unshare(CLONE_NEWNS) requires it) into new UTS
// and mount namespaces, sets the hostname, and mounts a tmpfs on /var/run (private
// propagation first: the host's mounts are never touched) holding
// secrets/kubernetes.io/serviceaccount/namespace; /etc/hostname is bound to the pod name too,
// as container runtimes do. The error names the step that failed.
std::expected<void, Error> enter_pod_sandbox(std::string_view ns, std::string_view pod);

// enter_pod_sandbox, says so on `log`, then waits until `stop` (set by SIGTERM/SIGINT).
std::expected<void, Error> run_pod_sandbox(std::string_view ref, const std::atomic<bool>& stop,
                                           std::ostream& log);

}  // namespace podtrace::lab

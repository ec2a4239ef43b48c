#pragma once
// Starting a program beside us (fork + exec): the one place the libraries do it, for run(), the
// lab's daemons and the kubectl plugin's children.
#include <sys/types.h>

#include <expected>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace podtrace::process {

struct SpawnOptions {
    // The child's standard input, output and error: by default ours.
    int in = 0, out = 1, err = 2;
    std::vector<int> fds{};  // become the child's descriptors 3, 4, ...
    enum class Group {
        ours,     // Ctrl-C at the terminal reaches it too
        own,      // only we get Ctrl-C, and stop it in order
        session,  // a daemon: no terminal, outlives us
    };
    Group group = Group::ours;
    // {source, target} pairs bind-mounted in a private mount namespace of the child's own.
    std::vector<std::pair<std::string, std::string>> binds{};
};

// Starts argv (PATH lookup) with the default signal dispositions and an empty signal mask, and
// returns its pid once it runs the program; the caller reaps it. The error is the reason alone
// when the program cannot be executed ("No such file or directory"), else "STEP: reason" for
// the step before it that failed ("bind mount: Permission denied").
std::expected<pid_t, Error> spawn(const std::vector<std::string>& argv,
                                  const SpawnOptions& options = {});

// This program's path (/proc/self/exe), for starting ourselves.
std::expected<std::string, Error> self_exe();

}  // namespace podtrace::process

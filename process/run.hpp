#pragma once
// Running a program to completion as a user would (argv, never a shell), and wording what it
// did for a message.
#include <expected>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace podtrace::process {

struct Exec {
    int status = -1;  // exit code, or 128 + signal
    std::string out, err;
};
// Runs argv (PATH lookup) to completion with stdin from /dev/null, collecting its standard
// output and error. A program that cannot be started is status 127 with the reason in `err`,
// as a shell has it; the error is for what keeps us from starting anything (no pipe).
std::expected<Exec, Error> run(const std::vector<std::string>& argv);

// A waitpid() status as a shell gives it: the exit code, 128 + N for signal N, -1 otherwise.
int exit_code(int wstatus);
// The last n non-empty lines of a program's output, for an error message; ends with a newline
// ("(no output)\n" when there are none).
std::string last_lines(const std::string& text, int n);
// The command line as a user would type it, for messages.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace podtrace::process

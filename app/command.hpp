#pragma once
// Each subcommand lives in its own file and adds itself to the CLI through one function;
// app.cpp lists those functions and runs the one the user chose.
#include <CLI/CLI.hpp>
#include <functional>

namespace podtrace::app {

struct Command {
    CLI::App* sub;
    std::function<int()> run;  // called after parsing when `sub` was chosen; returns the exit code
};

Command add_decode_command(CLI::App& cli);
Command add_capture_command(CLI::App& cli);
Command add_discover_command(CLI::App& cli);
std::string node_facts_json();  // `podtrace discover --json` text, "" on failure

}  // namespace podtrace::app

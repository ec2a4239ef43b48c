#include "app/app.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include "app/command.hpp"
#include "app/printable_stream.hpp"

namespace podtrace::app {

bool flush_output(std::ostream& out, std::ostream& err, std::string_view command) {
    errno = 0;
    out.flush();
    if (out) return true;
    const int e = errno;  // set by the write(2) that failed
    err << "podtrace: " << command << ": cannot write to standard output"
        << (e ? std::string(": ") + std::strerror(e) : std::string()) << '\n';
    return false;
}

int run(int argc, char** argv) {
    const PrintableStreams printable;  // no control byte from input reaches the terminal
    // Installed as kubectl-podtrace, `kubectl podtrace X` is `podtrace kubectl X`.
    std::vector<char*> args(argv, argv + argc);
    const std::string_view self = argc > 0 ? argv[0] : "";
    static char kubectl[] = "kubectl";
    const bool plugin = self.substr(self.rfind('/') + 1) == "kubectl-podtrace";
    if (plugin) args.insert(args.begin() + 1, kubectl);
    CLI::App cli{"podtrace: trace pod traffic through Calico's data plane",
                 plugin ? "kubectl podtrace" : "podtrace"};
    cli.set_version_flag("--version", "podtrace " PODTRACE_VERSION);
    cli.require_subcommand(1);
    std::vector<Command> commands{
        add_decode_command(cli),
        add_capture_command(cli),
        add_discover_command(cli),
        add_report_command(cli),
        add_lab_command(cli),
        add_tui_command(cli),
        add_kubectl_command(cli),
    };
    try {
        cli.parse(static_cast<int>(args.size()), args.data());
    } catch (const CLI::ParseError& e) {
        const int rc = cli.exit(e);
        // A capture whose name starts with '-' reads as an option: say how to name it.
        for (std::size_t i = 2; rc != 0 && i < args.size(); ++i) {
            const std::string_view a = args[i];
            struct stat st {};
            if (a.size() > 1 && a[0] == '-' && ::stat(args[i], &st) == 0 && S_ISREG(st.st_mode))
                std::cerr << "podtrace: " << a << " is a file: give it after -- or as ./" << a
                          << '\n';
        }
        return rc == 0 ? 0 : 2;
    }
    for (const Command& c : commands)
        if (c.sub->parsed()) return c.run();
    return 2;
}

}  // namespace podtrace::app

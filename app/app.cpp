#include "app/app.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <expected>
#include <functional>
#include <iostream>
#include <vector>

#include "app/command.hpp"
#include "app/printable_stream.hpp"

namespace podtrace::app {
namespace {

// The value as a finite number, or what is wrong with it.
std::expected<double, std::string> number_of(const std::string& text) {
    double v = 0;
    const char* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || p != end || ec == std::errc::invalid_argument)
        return std::unexpected(text + " is not a number");
    if (ec == std::errc::result_out_of_range || !std::isfinite(v))
        return std::unexpected(text + " is out of range");
    return v;
}

std::string shown(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// `bad(v)` says what is wrong with a number ("" when nothing is).
CLI::Validator number_check(std::string desc, std::function<std::string(double)> bad) {
    return CLI::Validator(
        [bad = std::move(bad)](std::string& text) -> std::string {
            const auto v = number_of(text);
            if (!v) return v.error();
            const std::string why = bad(*v);
            return why.empty() ? why : text + why;
        },
        std::move(desc));
}

}  // namespace

CLI::Validator in_range(double lo, double hi) {
    const std::string why = " is not between " + shown(lo) + " and " + shown(hi);
    return number_check("in [" + shown(lo) + " - " + shown(hi) + "]",
                        [lo, hi, why](double v) { return v >= lo && v <= hi ? "" : why; });
}
CLI::Validator positive() {
    return number_check("POSITIVE",
                        [](double v) { return v > 0 ? "" : " is not a positive number"; });
}
CLI::Validator non_negative() {
    return number_check("NONNEGATIVE", [](double v) { return v >= 0 ? "" : " is negative"; });
}

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
        add_decode_command(cli),  add_capture_command(cli), add_discover_command(cli),
        add_report_command(cli),  add_lab_command(cli),     add_tui_command(cli),
        add_kubectl_command(cli),
    };
    try {
        cli.parse(static_cast<int>(args.size()), args.data());
    } catch (const CLI::ParseError& e) {
        // Given no subcommand it knows, CLI11 says only that one is required: name what was
        // given instead.
        if (dynamic_cast<const CLI::RequiredError*>(&e) && args.size() > 1 &&
            cli.get_subcommands().empty()) {
            const std::string_view a = args[1];
            std::string known;
            for (const Command& c : commands)
                known += (known.empty() ? "" : ", ") + c.sub->get_name();
            std::cerr << "podtrace: "
                      << (a.starts_with('-') ? "unknown option " : "unknown subcommand ") << a
                      << " (the subcommands: " << known << "; podtrace --help)\n";
            return 2;
        }
        const int rc = cli.exit(e);
        // A capture whose name starts with '-' reads as an option: say how to name it (unless
        // it came after a --, and the trouble is elsewhere).
        for (std::size_t i = 2; rc != 0 && i < args.size(); ++i) {
            const std::string_view a = args[i];
            if (a == "--") break;
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

// `podtrace tui`: the interactive view of flows, paths, packets and capture points, live on the
// node or replaying capture files from one node or several.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>

#include "app/command.hpp"
#include "probes/capture_point.hpp"
#include "tui/engine.hpp"
#include "tui/run.hpp"

namespace podtrace::app {
namespace {

struct TuiCli {
    tui::EngineOptions opt;
    LiveCli live;  // without files
    TunnelPorts tunnel_ports;
    double keep_mib = 64;
    std::string save_dir = ".";
    bool no_color = false;
    std::string keys;
    std::string snapshot;  // "WxH"
    bool styles = false;
    CLI::Option* speed = nullptr;  // given at all (--speed 0 included)
};

// "80x24" -> {80, 24}.
std::optional<std::pair<int, int>> parse_size(const std::string& s) {
    const auto x = s.find('x');
    if (x == std::string::npos) return std::nullopt;
    int w = 0, h = 0;
    const char* end = s.data() + s.size();
    const auto a = std::from_chars(s.data(), s.data() + x, w);
    const auto b = std::from_chars(s.data() + x + 1, end, h);
    if (a.ec != std::errc{} || a.ptr != s.data() + x || b.ec != std::errc{} || b.ptr != end ||
        w < 1 || h < 1 || w > 1000 || h > 1000)
        return std::nullopt;
    return std::pair{w, h};
}

// Whatever can be wrong with the command line, before anything is read or opened: "" if fine.
std::string check(const TuiCli& c) {
    const bool files = !c.opt.input.files.empty();
    if (c.opt.follow) {
        if (!files) return "--follow reads live pcapng streams: give each with -r [NODE=]PATH";
        if (c.speed && c.speed->count())
            return "--speed paces a replay: --follow shows streams as they arrive";
        if (c.snapshot.empty() && std::ranges::any_of(c.opt.input.files, [](const std::string& f) {
                return probes::parse_file_arg(f).path == "-";
            }))
            return "-r -: the TUI reads its keys from standard input; give the stream as a FIFO "
                   "or /dev/fd/N (or use --snapshot)";
    }
    if (files && (!c.live.live.interfaces.empty() || !c.live.filter_words.empty()))
        return "-r replays capture files: -i and a capture filter are for live capture";
    if (!files && c.opt.speed > 0) return "--speed paces a replay: it needs -r";
    if (!files && !c.snapshot.empty()) return "--snapshot needs -r (capture files)";
    if (c.styles && c.snapshot.empty()) return "--styles goes with --snapshot";
    if (!c.snapshot.empty() && !parse_size(c.snapshot))
        return "--snapshot " + c.snapshot + ": expected WIDTHxHEIGHT, e.g. 80x24";
    struct stat st {};
    if (::stat(c.save_dir.c_str(), &st) != 0)
        return "--save-dir " + c.save_dir + ": " + std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return "--save-dir " + c.save_dir + ": not a directory";
    return "";
}

int tui_command(TuiCli& c, std::ostream& out, std::ostream& err) {
    const auto fail = [&](const Error& e) {
        err << "podtrace: tui: " << e.message << '\n';
        return 2;
    };
    if (const std::string e = check(c); !e.empty()) return fail(Error{e});
    tui::RunOptions run;
    const char* no_color = std::getenv("NO_COLOR");
    run.color = !c.no_color && !(no_color && *no_color);
    run.save_dir = c.save_dir;
    run.styles = c.styles;
    if (auto keys = tui::parse_keys(c.keys); !keys)
        return fail(keys.error());
    else
        run.keys = std::move(*keys);
    if (const auto size = parse_size(c.snapshot)) std::tie(run.width, run.height) = *size;
    c.opt.keep_bytes = static_cast<std::size_t>(c.keep_mib * 1024 * 1024);
    c.opt.live = live_options(c.live);
    c.opt.user = c.live.user;
    c.opt.discovery = discover_options();
    auto engine = tui::Engine::open(c.opt);
    if (!engine) return fail(engine.error());
    (*engine)->start();
    int rc = 0;
    if (run.width) {
        if (auto r = tui::run_snapshot(**engine, run, out); !r) return fail(r.error());
        if (!flush_output(out, err, "tui")) rc = 2;
    } else if (auto r = tui::run_terminal(**engine, run); !r) {
        return fail(r.error());
    } else {
        rc = *r;
    }
    // Bad input is exit 2, as `report` has it, once the screen is shown (or left).
    const auto errors = (*engine)->input_errors();
    for (const Error& e : errors) fail(e);
    return errors.empty() ? rc : 2;
}

}  // namespace

Command add_tui_command(CLI::App& cli) {
    auto c = std::make_shared<TuiCli>();
    ingest::InputOptions& in = c->opt.input;
    auto* sub = cli.add_subcommand(
        "tui", "Interactive view: flows, their paths hop by hop, packets, capture points");
    auto* read = sub->add_option(
        "-r,--read", in.files,
        "replay these capture files (pcap or pcapng; NODE=FILE names the node, NODE/IFACE=FILE "
        "the interface too) instead of "
        "capturing live");
    c->speed = sub->add_option(
                      "--speed", c->opt.speed,
                      "replay pace: 0 as fast as the files read (default), 1 as recorded, 2 twice "
                      "as fast")
                   ->check(non_negative());
    sub->add_flag("--follow", c->opt.follow,
                  "-r gives live pcapng streams (a pipe, a FIFO, /dev/fd/N, -), e.g. one "
                  "`podtrace capture -w -` per node: shown as they arrive, merged in time order");
    add_live_options(sub, c->live);
    sub->add_option("--pods", in.pods_json, "kubectl get pods -A -o json output");
    sub->add_option("--services", in.services_json, "kubectl get svc -A -o json output");
    sub->add_option("--nodes", in.nodes_json, "kubectl get nodes -o json output");
    sub->add_option("--window", in.window_s,
                    "seconds within which sightings of one packet are matched (default 2)")
        ->check(in_range(0.001, 60.0));
    sub->add_flag("!--no-clock", in.clock, "do not estimate clock offsets between nodes");
    add_tunnel_port_options(sub, c->tunnel_ports);
    sub->add_option("--keep", c->keep_mib,
                    "MiB of raw frames kept for the Packet screen and `s` (default 64; the "
                    "oldest go first)")
        ->check(positive());
    sub->add_option("--save-dir", c->save_dir, "where `s` writes a flow's pcapng (default .)");
    sub->add_flag("--no-color", c->no_color, "monochrome (also when NO_COLOR is set)");
    sub->add_option("--keys", c->keys,
                    "keys pressed first, e.g. '/pod1<Enter><Enter>' (names: <Enter> <Esc> <Up> "
                    "<Down> <Left> <Right> <PgUp> <PgDn> <Home> <End> <Tab> <Backspace> <C-c>)");
    sub->add_option("--snapshot", c->snapshot,
                    "no terminal: once the files are read (--follow: every stream ended), press "
                    "--keys and print the screen at this size (WxH, e.g. 80x24); needs -r");
    sub->add_flag("--styles", c->styles, "--snapshot: print each cell's style under the text");
    // One value per occurrence (--pods a --pods b), so options never swallow the filter; -r
    // takes several files at once.
    for (CLI::Option* o : sub->get_options())
        if (!o->get_positional() && o != read) o->allow_extra_args(false);
    sub->callback([c] { apply_tunnel_ports(c->tunnel_ports, c->opt.input.ports); });
    return {sub, [c] { return tui_command(*c, std::cout, std::cerr); }};
}

}  // namespace podtrace::app

#include "tui/run.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "tui/canvas.hpp"
#include "tui/terminal.hpp"
#include "tui/view.hpp"

namespace podtrace::tui {
namespace {

struct KeyName {
    std::string_view name;
    int code;
};

constexpr KeyName kKeyNames[] = {
    {"Enter", key::enter},  {"Esc", key::esc},        {"Up", key::up},
    {"Down", key::down},    {"Left", key::left},      {"Right", key::right},
    {"PgUp", key::page_up}, {"PgDn", key::page_down}, {"Home", key::home},
    {"End", key::end},      {"Tab", key::tab},        {"Backspace", key::backspace},
    {"C-c", key::ctrl_c},
};

std::string known_names() {
    std::string s;
    for (const KeyName& k : kKeyNames) s += (s.empty() ? "<" : " <") + std::string(k.name) + '>';
    return s;
}

}  // namespace

std::expected<std::vector<int>, Error> parse_keys(std::string_view text) {
    std::vector<int> out;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '<') {
            out.push_back(static_cast<unsigned char>(text[i++]));
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '<') {
            out.push_back('<');
            i += 2;
            continue;
        }
        const std::size_t close = text.find('>', i + 1);
        if (close == std::string_view::npos) {
            return std::unexpected(Error{"--keys: unterminated key name " +
                                         std::string(text.substr(i)) +
                                         " (a literal '<' is written <<)"});
        }
        const std::string_view name = text.substr(i + 1, close - i - 1);
        const auto it = std::find_if(std::begin(kKeyNames), std::end(kKeyNames),
                                     [&](const KeyName& k) { return k.name == name; });
        if (it == std::end(kKeyNames)) {
            return std::unexpected(Error{"--keys: unknown key name <" + std::string(name) +
                                         "> (known: " + known_names() + ')'});
        }
        out.push_back(it->code);
        i = close + 1;
    }
    return out;
}

std::expected<int, Error> run_terminal(Model& model, const RunOptions& opt) {
    auto opened = Terminal::open(opt.color);
    if (!opened) return std::unexpected(opened.error());
    Terminal& term = **opened;
    View v;
    Canvas canvas;
    Snapshot shown, fresh;
    bool dirty = true, settled = false;
    auto resize = [&] {
        v.width = term.width();
        v.height = term.height();
        canvas.resize(v.width, v.height);
        dirty = true;
    };
    // Paused, the flow table stays as it was: only what the view newly asks for (a flow's
    // detail, a frame) is fetched.
    auto fetch = [&] {
        if (!v.paused) {
            settled = model.done();  // a snapshot taken once done is the last that differs
            model.snapshot(query(v), shown);
        } else {
            model.snapshot(query(v), fresh);
            shown.detail = std::move(fresh.detail);
            shown.packet = std::move(fresh.packet);
        }
        dirty = true;
    };
    auto press = [&](int k) {
        if (k == key::resize) return resize();
        const Action a = handle_key(v, k, shown);
        if (a.kind == Action::Kind::save) show_save_result(v, model.save(a.flow, opt.save_dir));
        if (a.kind == Action::Kind::refresh) fetch();
        dirty = true;
    };

    resize();
    fetch();
    for (int k : opt.keys) {
        if (!v.quit) press(k);
    }
    using Clock = std::chrono::steady_clock;
    constexpr auto kTick = std::chrono::milliseconds(100);
    auto next_tick = Clock::now() + kTick;
    while (!v.quit && !Terminal::interrupted()) {
        if (dirty) {
            draw(shown, v, canvas);
            term.show(canvas);
            dirty = false;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now());
        // Every key waiting is handled before the one redraw they cause.
        for (int k = term.key(int(std::clamp<long>(left.count(), 0, 100))); k >= 0 && !v.quit;
             k = term.key(0)) {
            press(k);
        }
        if (Clock::now() >= next_tick) {
            if (!v.paused && !settled) fetch();
            next_tick = Clock::now() + kTick;
        }
    }
    model.stop();
    const int sig = Terminal::interrupted();
    return sig ? 128 + sig : 0;
}

std::expected<void, Error> run_snapshot(Model& model, const RunOptions& opt, std::ostream& out) {
    if (opt.width < 1 || opt.height < 1)
        return std::unexpected(Error{"--snapshot needs a size of at least 1x1"});
    while (!model.done()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    View v;
    v.width = opt.width;
    v.height = opt.height;
    Snapshot s;
    for (int k : opt.keys) {
        model.snapshot(query(v), s);
        const Action a = handle_key(v, k, s);
        if (a.kind == Action::Kind::save) show_save_result(v, model.save(a.flow, opt.save_dir));
        if (a.kind == Action::Kind::quit) break;
    }
    model.snapshot(query(v), s);
    Canvas c(opt.width, opt.height);
    draw(s, v, c);
    out << c.to_text(opt.styles);
    return {};
}

}  // namespace podtrace::tui

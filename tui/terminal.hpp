#pragma once
// The only code that touches the terminal (ncursesw): takes it over, blits a Canvas, reads keys,
// and gives it back on every way out: destruction, SIGINT/SIGTERM/SIGHUP (the loop sees
// interrupted() and unwinds), and a crash (the handler restores it, then dies as it would have).
#include <expected>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "tui/canvas.hpp"

namespace podtrace::tui {

class Terminal {
public:
    // Fails, with the message to print, when stdin or stdout is not a terminal or curses cannot
    // use $TERM. `color` false: bold, reverse, underline and dim only. One at a time.
    static std::expected<std::unique_ptr<Terminal>, Error> open(bool color);
    ~Terminal();
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    int width() const;
    int height() const;
    // The next key (a character or a curses KEY_* code, KEY_RESIZE after a resize), waiting at
    // most `timeout_ms`; -1 when none came.
    int key(int timeout_ms);
    // The canvas on the screen; cells beyond the screen are dropped.
    void show(const Canvas& c);

    // The signal (SIGINT, SIGTERM, SIGHUP) that asked to leave, or 0.
    static int interrupted();

private:
    Terminal() = default;
};

}  // namespace podtrace::tui

#pragma once
// Running the TUI over a Model: on the terminal (ncursesw), or once into text (--snapshot) for
// tests and bug reports.
#include <expected>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "tui/model.hpp"

namespace podtrace::tui {

struct RunOptions {
    bool color = true;           // false: NO_COLOR set, or --no-color
    std::string save_dir = ".";  // where `s` writes
    std::vector<int> keys;       // pressed before the user's own (parse_keys)
    // --snapshot WxH: no terminal; once the input has ended, press `keys`, draw into a WxH
    // canvas and print it.
    int width = 0, height = 0;
    bool styles = false;  // --snapshot: print each cell's style under the text
};

// "--keys": characters as typed, and <Enter> <Esc> <Up> <Down> <Left> <Right> <PgUp> <PgDn>
// <Home> <End> <Tab> <Backspace> <C-c>; "<<" is a literal '<'. The codes are curses' (KEY_*).
// The error names the bad token.
std::expected<std::vector<int>, Error> parse_keys(std::string_view text);

// Interactive until `q` or Ctrl-C (or SIGINT/SIGTERM): returns the exit code (128 + the signal
// that ended it, else 0); the error says why the terminal could not be used. The terminal is
// restored on every way out, a crash included.
std::expected<int, Error> run_terminal(Model& model, const RunOptions& opt);

// --snapshot: waits for model.done(), presses the keys, prints the canvas.
std::expected<void, Error> run_snapshot(Model& model, const RunOptions& opt, std::ostream& out);

}  // namespace podtrace::tui

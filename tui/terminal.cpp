#include "tui/terminal.hpp"
#include "core/error.hpp"

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <langinfo.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "tui/view.hpp"

namespace podtrace::tui {

static_assert(key::down == KEY_DOWN && key::up == KEY_UP && key::left == KEY_LEFT &&
              key::right == KEY_RIGHT && key::home == KEY_HOME && key::end == KEY_END &&
              key::backspace == KEY_BACKSPACE && key::page_down == KEY_NPAGE &&
              key::page_up == KEY_PPAGE && key::enter_pad == KEY_ENTER &&
              key::resize == KEY_RESIZE);

namespace {

// Process-wide, for the signal handlers: there is one terminal.
SCREEN* g_screen = nullptr;
std::atomic<bool> g_active{false};
volatile std::sig_atomic_t g_signal = 0;
std::terminate_handler g_previous_terminate = nullptr;
bool g_utf8 = true;
std::array<int, 10> g_attrs{};

constexpr int kLeave[] = {SIGINT, SIGTERM, SIGHUP};
constexpr int kCrash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction g_saved_leave[3], g_saved_crash[5];

void restore_screen() {
    // endwin() is not async-signal-safe, but a crashing program that leaves the terminal raw
    // and on the alternate screen is worse; it only writes the reset sequences.
    if (g_active.exchange(false)) endwin();
}

void on_leave(int sig) {
    g_signal = sig;
}

void on_crash(int sig) {
    restore_screen();
    // SA_RESETHAND put the default action back: the signal is delivered again on return (the
    // faulting instruction runs again, or raise() for the others) and the process dies of it.
    std::raise(sig);
}

void on_terminate() {
    restore_screen();
    if (g_previous_terminate) g_previous_terminate();
    std::abort();
}

void install_handlers() {
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_leave;  // no SA_RESTART: a wait in curses returns at once
    for (int i = 0; i < 3; ++i) sigaction(kLeave[i], &sa, &g_saved_leave[i]);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND;
    for (int i = 0; i < 5; ++i) sigaction(kCrash[i], &sa, &g_saved_crash[i]);
    g_previous_terminate = std::set_terminate(on_terminate);
}

void remove_handlers() {
    for (int i = 0; i < 3; ++i) sigaction(kLeave[i], &g_saved_leave[i], nullptr);
    for (int i = 0; i < 5; ++i) sigaction(kCrash[i], &g_saved_crash[i], nullptr);
    std::set_terminate(g_previous_terminate);
}

void init_styles(bool color) {
    auto at = [](Style s) -> int& { return g_attrs[std::size_t(s)]; };
    if (color && has_colors() && start_color() == OK) {
        const bool defaults = use_default_colors() == OK;
        const short fg = defaults ? -1 : COLOR_WHITE, bg = defaults ? -1 : COLOR_BLACK;
        init_pair(1, COLOR_WHITE, COLOR_BLUE);
        init_pair(2, COLOR_BLACK, COLOR_GREEN);
        init_pair(3, COLOR_BLACK, COLOR_CYAN);
        init_pair(4, COLOR_YELLOW, bg);
        init_pair(5, COLOR_RED, bg);
        init_pair(6, COLOR_GREEN, bg);
        init_pair(7, COLOR_CYAN, bg);
        init_pair(8, COLOR_BLUE, bg);
        init_pair(9, fg, bg);
        at(Style::normal) = int(COLOR_PAIR(9));
        at(Style::title) = int(COLOR_PAIR(1) | A_BOLD);
        at(Style::header) = int(COLOR_PAIR(2));
        at(Style::selected) = int(COLOR_PAIR(3));
        at(Style::dim) = int(COLOR_PAIR(9) | A_DIM);
        at(Style::highlight) = int(COLOR_PAIR(4) | A_BOLD);
        at(Style::bad) = int(COLOR_PAIR(5) | A_BOLD);
        at(Style::good) = int(COLOR_PAIR(6));
        at(Style::key) = int(COLOR_PAIR(7) | A_BOLD);
        at(Style::box) = int(COLOR_PAIR(8));
        return;
    }
    at(Style::normal) = int(A_NORMAL);
    at(Style::title) = int(A_REVERSE | A_BOLD);
    at(Style::header) = int(A_BOLD | A_UNDERLINE);
    at(Style::selected) = int(A_REVERSE);
    at(Style::dim) = int(A_DIM);
    at(Style::highlight) = int(A_UNDERLINE);
    at(Style::bad) = int(A_BOLD);
    at(Style::good) = int(A_NORMAL);
    at(Style::key) = int(A_BOLD);
    at(Style::box) = int(A_NORMAL);
}

// Outside a UTF-8 locale the few non-ASCII characters the UI draws become ASCII.
wchar_t glyph(char32_t c) {
    if (g_utf8 || c < 0x80) return wchar_t(c);
    switch (c) {
        case U'─': return L'-';
        case U'│':
        case U'▏': return L'|';
        case U'┌':
        case U'┐':
        case U'└':
        case U'┘': return L'+';
        case U'→':
        case U'▶':
        case U'⇒': return L'>';
        case U'←': return L'<';
        case U'↑':
        case U'▲': return L'^';
        case U'↓':
        case U'▼': return L'v';
        case U'…': return L'~';
        case U'✓': return L'+';
        case U'✗': return L'x';
        default: return L'?';
    }
}

}  // namespace

std::expected<std::unique_ptr<Terminal>, Error> Terminal::open(bool color) {
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        return std::unexpected(Error{
            "standard input and output must be a terminal (or use --snapshot WxH)"});
    }
    if (g_active) return std::unexpected(Error{"the terminal is already in use"});
    std::setlocale(LC_ALL, "");
    g_utf8 = std::string_view(nl_langinfo(CODESET)) == "UTF-8";
    // newterm, not initscr: initscr exits the process itself on a TERM it cannot use.
    const char* term = std::getenv("TERM");
    g_screen = newterm(nullptr, stdout, stdin);
    if (!g_screen) {
        return std::unexpected(Error{std::string("cannot use the terminal type '") +
                                     (term ? term : "") +
                                     "' (set TERM, e.g. TERM=xterm-256color)"});
    }
    set_term(g_screen);
    g_active = true;
    install_handlers();
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    init_styles(color);
    return std::unique_ptr<Terminal>(new Terminal());
}

Terminal::~Terminal() {
    restore_screen();
    remove_handlers();
    delscreen(g_screen);
    g_screen = nullptr;
}

int Terminal::width() const {
    return getmaxx(stdscr);
}

int Terminal::height() const {
    return getmaxy(stdscr);
}

int Terminal::key(int timeout_ms) {
    wtimeout(stdscr, timeout_ms);
    const int k = wgetch(stdscr);
    return k == ERR ? -1 : k;
}

void Terminal::show(const Canvas& c) {
    const int w = std::min(c.width(), width()), h = std::min(c.height(), height());
    std::wstring run;
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w;) {
            const Style st = c.at(x, y).style;
            run.clear();
            int end = x;
            for (; end < w && c.at(end, y).style == st; ++end) {
                run.push_back(glyph(c.at(end, y).ch));
            }
            attrset(g_attrs[std::size_t(st)]);
            // The bottom-right cell cannot advance the cursor: ERR there, but it is written.
            mvaddnwstr(y, x, run.c_str(), int(run.size()));
            x = end;
        }
    }
    attrset(A_NORMAL);
    wnoutrefresh(stdscr);
    doupdate();
}

int Terminal::interrupted() {
    return g_signal;
}

}  // namespace podtrace::tui

// podtrace_tui_bench: is `podtrace tui` responsive while it ingests? Replays a capture whose
// packets are 1/RATE s apart at recorded speed (`--speed 1`), in a pseudo-terminal (132x40,
// TERM=xterm-256color), presses keys at random intervals and measures:
//   - key latency: from the write() of a key to the moment the terminal screen, as a small
//     VT100/xterm model of the pty output rebuilds it, shows the screen that key opens (a text
//     only that screen draws); for keys without one (Down, Up), to the first output byte;
//   - redraws: output bursts (pty reads separated by >= 5 ms of silence) per 1-s window;
//   - ingestion: packets / seconds until the screen says the input ended;
//   - podtrace's CPU (utime+stime from /proc/PID/stat) over that time.
// usage:
//   podtrace_tui_bench retime IN.pcap|- OUT.pcap [--rate PPS=100000] [--packets N]
//   podtrace_tui_bench run PODTRACE CAPTURE.pcap [--seed S=1] [-- EXTRA_ARGS...]
// No key for the first 5 s (the redraw rate of ingestion alone), then keys until ingestion
// ends: a 20-s capture gives ~85.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// ---- the capture: classic pcap, little-endian (what podtrace_gen writes) ----

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

constexpr std::uint32_t kMagicUs = 0xa1b2c3d4, kMagicNs = 0xa1b23c4d;

std::uint32_t le32(const unsigned char* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}
void put_le32(unsigned char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

// Copies IN to OUT with packet i stamped at i/rate seconds after the first packet's time.
int retime(const std::string& in_path, const std::string& out_path, double rate,
           std::uint64_t limit) {
    File in(in_path == "-" ? fdopen(dup(0), "rb") : std::fopen(in_path.c_str(), "rb"));
    File out(std::fopen(out_path.c_str(), "wb"));
    if (!in || !out) {
        std::fprintf(stderr, "tui_bench: cannot open %s or %s: %s\n", in_path.c_str(),
                     out_path.c_str(), std::strerror(errno));
        return 2;
    }
    unsigned char gh[24];
    if (std::fread(gh, 1, sizeof gh, in.get()) != sizeof gh ||
        (le32(gh) != kMagicUs && le32(gh) != kMagicNs)) {
        std::fprintf(stderr, "tui_bench: %s is not a little-endian classic pcap\n",
                     in_path.c_str());
        return 2;
    }
    const double units = le32(gh) == kMagicNs ? 1e9 : 1e6;
    std::fwrite(gh, 1, sizeof gh, out.get());
    std::vector<unsigned char> data(1 << 18);
    std::uint64_t n = 0, base = 0;
    unsigned char rh[16];
    while ((limit == 0 || n < limit) && std::fread(rh, 1, sizeof rh, in.get()) == sizeof rh) {
        const std::uint32_t caplen = le32(rh + 8);
        if (caplen > data.size()) {
            std::fprintf(stderr, "tui_bench: record %llu: caplen %u too large\n",
                         static_cast<unsigned long long>(n), caplen);
            return 2;
        }
        if (std::fread(data.data(), 1, caplen, in.get()) != caplen) break;
        if (n == 0) base = std::uint64_t{le32(rh)} * static_cast<std::uint64_t>(units);
        const auto t = base + static_cast<std::uint64_t>(static_cast<double>(n) * units / rate);
        put_le32(rh, static_cast<std::uint32_t>(t / static_cast<std::uint64_t>(units)));
        put_le32(rh + 4, static_cast<std::uint32_t>(t % static_cast<std::uint64_t>(units)));
        std::fwrite(rh, 1, sizeof rh, out.get());
        std::fwrite(data.data(), 1, caplen, out.get());
        ++n;
    }
    if (std::fflush(out.get()) != 0) {
        std::fprintf(stderr, "tui_bench: writing %s: %s\n", out_path.c_str(), std::strerror(errno));
        return 1;
    }
    std::printf("tui_bench: wrote %llu packets at %.0f pps (%.1f s of capture) to %s\n",
                static_cast<unsigned long long>(n), rate, static_cast<double>(n) / rate,
                out_path.c_str());
    return 0;
}

struct CaptureInfo {
    std::uint64_t packets = 0;
    double span_s = 0;  // last timestamp - first
};

// Walks the record headers only (the data is skipped with fseek).
std::optional<CaptureInfo> scan(const std::string& path) {
    File f(std::fopen(path.c_str(), "rb"));
    unsigned char gh[24], rh[16];
    if (!f || std::fread(gh, 1, sizeof gh, f.get()) != sizeof gh) return std::nullopt;
    if (le32(gh) != kMagicUs && le32(gh) != kMagicNs) return std::nullopt;
    const double units = le32(gh) == kMagicNs ? 1e9 : 1e6;
    CaptureInfo info;
    double first = 0, last = 0;
    while (std::fread(rh, 1, sizeof rh, f.get()) == sizeof rh) {
        last = le32(rh) + le32(rh + 4) / units;
        if (info.packets++ == 0) first = last;
        if (std::fseek(f.get(), le32(rh + 8), SEEK_CUR) != 0) break;
    }
    info.span_s = last - first;
    return info;
}

// ---- a terminal screen rebuilt from what the program writes ----

// Enough of xterm for what ncurses sends with TERM=xterm-256color: cursor motion, erases,
// insert/delete of characters and lines, scroll regions, REP, the alternate screen. Text
// attributes and colours are ignored: the benchmark looks for text.
class Screen {
public:
    Screen(int w, int h) : w_(w), h_(h), cells_(static_cast<std::size_t>(h), blank_row()) {}

    void feed(std::string_view s) {
        for (char ch : s) byte(static_cast<unsigned char>(ch));
    }

    bool contains(std::string_view text) const {
        for (const auto& row : cells_)
            if (utf8(row).find(text) != std::string::npos) return true;
        return false;
    }

    std::string dump() const {
        std::string out;
        for (const auto& row : cells_) {
            std::string line = utf8(row);
            line.erase(line.find_last_not_of(' ') + 1);
            out += line + "\n";
        }
        return out;
    }

private:
    enum class State { ground, esc, csi, osc, osc_esc, charset };

    std::u32string blank_row() const { return std::u32string(static_cast<std::size_t>(w_), U' '); }

    static std::string utf8(const std::u32string& row) {
        std::string s;
        for (char32_t c : row) {
            if (c < 0x80) {
                s += static_cast<char>(c);
            } else if (c < 0x800) {
                s += static_cast<char>(0xc0 | c >> 6);
                s += static_cast<char>(0x80 | (c & 0x3f));
            } else if (c < 0x10000) {
                s += static_cast<char>(0xe0 | c >> 12);
                s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
                s += static_cast<char>(0x80 | (c & 0x3f));
            } else {
                s += static_cast<char>(0xf0 | c >> 18);
                s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
                s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
                s += static_cast<char>(0x80 | (c & 0x3f));
            }
        }
        return s;
    }

    void byte(unsigned char b) {
        switch (state_) {
            case State::ground: break;
            case State::esc: return esc(b);
            case State::csi:
                if (b >= 0x40 && b <= 0x7e) {
                    state_ = State::ground;
                    csi(static_cast<char>(b));
                } else {
                    params_ += static_cast<char>(b);
                }
                return;
            case State::osc:  // OSC and DCS strings end at BEL or ESC '\'
                if (b == 0x07) state_ = State::ground;
                if (b == 0x1b) state_ = State::osc_esc;
                return;
            case State::osc_esc: state_ = b == '\\' ? State::ground : State::osc; return;
            case State::charset:
                if (designating_g0_) graphics_ = b == '0';
                state_ = State::ground;
                return;
        }
        if (need_ > 0) {  // inside a UTF-8 sequence
            if ((b & 0xc0) == 0x80) {
                cp_ = cp_ << 6 | (b & 0x3f);
                if (--need_ == 0) put(cp_);
                return;
            }
            need_ = 0;
        }
        if (b >= 0xf0) {
            cp_ = b & 0x07, need_ = 3;
        } else if (b >= 0xe0) {
            cp_ = b & 0x0f, need_ = 2;
        } else if (b >= 0xc0) {
            cp_ = b & 0x1f, need_ = 1;
        } else if (b >= 0x20 && b != 0x7f) {
            put(b);
        } else {
            control(b);
        }
    }

    void control(unsigned char b) {
        switch (b) {
            case 0x1b: state_ = State::esc; break;
            case '\r': col_ = 0, wrap_ = false; break;
            case '\n':
            case 0x0b:
            case 0x0c: line_feed(); break;
            case '\b':
                if (col_ > 0) --col_;
                wrap_ = false;
                break;
            case '\t': col_ = std::min(w_ - 1, (col_ / 8 + 1) * 8); break;
            default: break;  // BEL, SO/SI, NUL
        }
    }

    void esc(unsigned char b) {
        state_ = State::ground;
        switch (b) {
            case '[': state_ = State::csi, params_.clear(); break;
            case ']':
            case 'P': state_ = State::osc; break;
            case '(':
            case ')':
            case '*':
            case '+': state_ = State::charset, designating_g0_ = b == '('; break;
            case '7': saved_row_ = row_, saved_col_ = col_; break;
            case '8': row_ = saved_row_, col_ = saved_col_, wrap_ = false; break;
            case 'D': line_feed(); break;
            case 'E': col_ = 0, line_feed(); break;
            case 'M':
                if (row_ == top_)
                    scroll_down(top_, bottom_, 1);
                else if (row_ > 0)
                    --row_;
                break;
            case 'c': reset(); break;
            default: break;  // keypad modes and the like
        }
    }

    void reset() {
        for (auto& r : cells_) r = blank_row();
        row_ = col_ = top_ = 0;
        bottom_ = h_ - 1;
        wrap_ = graphics_ = false;
    }

    void put(char32_t c) {
        if (graphics_ && c >= 0x6a && c <= 0x78) c = c == 'q' ? U'-' : c == 'x' ? U'|' : U'+';
        if (wrap_) {
            col_ = 0, wrap_ = false;
            line_feed();
        }
        cells_[static_cast<std::size_t>(row_)][static_cast<std::size_t>(col_)] = c;
        last_ = c;
        if (col_ == w_ - 1)
            wrap_ = true;
        else
            ++col_;
    }

    void line_feed() {
        wrap_ = false;
        if (row_ == bottom_)
            scroll_up(top_, bottom_, 1);
        else if (row_ < h_ - 1)
            ++row_;
    }

    void scroll_up(int top, int bottom, int n) {
        for (int i = 0; i < n; ++i) {
            cells_.erase(cells_.begin() + top);
            cells_.insert(cells_.begin() + bottom, blank_row());
        }
    }
    void scroll_down(int top, int bottom, int n) {
        for (int i = 0; i < n; ++i) {
            cells_.erase(cells_.begin() + bottom);
            cells_.insert(cells_.begin() + top, blank_row());
        }
    }

    void erase(int row, int from, int to) {  // [from, to)
        auto& r = cells_[static_cast<std::size_t>(row)];
        for (int c = std::max(0, from); c < std::min(w_, to); ++c)
            r[static_cast<std::size_t>(c)] = U' ';
    }

    void csi(char final) {
        const bool priv = !params_.empty() && (params_[0] == '?' || params_[0] == '>');
        std::vector<int> p;
        {
            std::string_view s = params_;
            if (priv) s.remove_prefix(1);
            int v = 0;
            bool any = false;
            for (char ch : s) {
                if (ch >= '0' && ch <= '9') {
                    v = v * 10 + (ch - '0'), any = true;
                } else if (ch == ';' || ch == ':') {
                    p.push_back(any ? v : -1), v = 0, any = false;
                }
            }
            p.push_back(any ? v : -1);
        }
        auto arg = [&](std::size_t i, int def) { return i < p.size() && p[i] > 0 ? p[i] : def; };
        const int n = arg(0, 1);
        auto clamp = [&] {
            row_ = std::clamp(row_, 0, h_ - 1);
            col_ = std::clamp(col_, 0, w_ - 1);
            wrap_ = false;
        };
        if (priv) {
            // The alternate screen (1049/1047/47) starts blank.
            if ((final == 'h' || final == 'l') && std::any_of(p.begin(), p.end(), [](int m) {
                    return m == 1049 || m == 1047 || m == 47;
                }))
                for (auto& r : cells_) r = blank_row();
            return;
        }
        switch (final) {
            case 'H':
            case 'f':
                row_ = arg(0, 1) - 1, col_ = arg(1, 1) - 1;
                clamp();
                break;
            case 'A': row_ -= n, clamp(); break;
            case 'B':
            case 'e': row_ += n, clamp(); break;
            case 'C':
            case 'a': col_ += n, clamp(); break;
            case 'D': col_ -= n, clamp(); break;
            case 'E': row_ += n, col_ = 0, clamp(); break;
            case 'F': row_ -= n, col_ = 0, clamp(); break;
            case 'G':
            case '`': col_ = n - 1, clamp(); break;
            case 'd': row_ = n - 1, clamp(); break;
            case 'J': {
                const int mode = p[0] < 0 ? 0 : p[0];
                if (mode == 0) {
                    erase(row_, col_, w_);
                    for (int r = row_ + 1; r < h_; ++r) erase(r, 0, w_);
                } else if (mode == 1) {
                    for (int r = 0; r < row_; ++r) erase(r, 0, w_);
                    erase(row_, 0, col_ + 1);
                } else {
                    for (int r = 0; r < h_; ++r) erase(r, 0, w_);
                }
                break;
            }
            case 'K': {
                const int mode = p[0] < 0 ? 0 : p[0];
                if (mode == 0) erase(row_, col_, w_);
                if (mode == 1) erase(row_, 0, col_ + 1);
                if (mode == 2) erase(row_, 0, w_);
                break;
            }
            case 'X': erase(row_, col_, col_ + n); break;
            case '@': {
                auto& r = cells_[static_cast<std::size_t>(row_)];
                const auto k = static_cast<std::size_t>(std::min(n, w_ - col_));
                r.insert(static_cast<std::size_t>(col_), k, U' ');
                r.resize(static_cast<std::size_t>(w_));
                break;
            }
            case 'P': {
                auto& r = cells_[static_cast<std::size_t>(row_)];
                const auto k = static_cast<std::size_t>(std::min(n, w_ - col_));
                r.erase(static_cast<std::size_t>(col_), k);
                r.append(k, U' ');
                break;
            }
            case 'L':
                if (row_ >= top_ && row_ <= bottom_)
                    scroll_down(row_, bottom_, std::min(n, bottom_ - row_ + 1));
                break;
            case 'M':
                if (row_ >= top_ && row_ <= bottom_)
                    scroll_up(row_, bottom_, std::min(n, bottom_ - row_ + 1));
                break;
            case 'S': scroll_up(top_, bottom_, std::min(n, bottom_ - top_ + 1)); break;
            case 'T': scroll_down(top_, bottom_, std::min(n, bottom_ - top_ + 1)); break;
            case 'r':
                top_ = arg(0, 1) - 1, bottom_ = arg(1, h_) - 1;
                if (top_ >= bottom_ || bottom_ >= h_) top_ = 0, bottom_ = h_ - 1;
                row_ = col_ = 0, wrap_ = false;
                break;
            case 'b':
                for (int i = 0; i < n && i < w_ * h_; ++i) put(last_);
                break;
            case 's': saved_row_ = row_, saved_col_ = col_; break;
            case 'u': row_ = saved_row_, col_ = saved_col_, wrap_ = false; break;
            default: break;  // SGR, modes, reports
        }
    }

    int w_, h_;
    std::vector<std::u32string> cells_;
    State state_ = State::ground;
    std::string params_;
    char32_t cp_ = 0, last_ = U' ';
    int need_ = 0;
    int row_ = 0, col_ = 0, saved_row_ = 0, saved_col_ = 0, top_ = 0, bottom_ = h_ - 1;
    bool wrap_ = false, graphics_ = false, designating_g0_ = false;
};

// ---- the run ----

struct Key {
    std::string bytes;  // what a terminal sends for it
    std::string name;
    std::string marker;  // text only the screen it opens shows; "" = time to the first byte
};

struct Sample {
    std::string key;
    double ms;
    bool by_marker;
};

double cpu_seconds(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream in(s.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int run(const std::string& podtrace, const std::string& capture, std::uint64_t seed,
        const std::vector<std::string>& extra) {
    const auto info = scan(capture);
    if (!info || info->packets == 0) {
        std::fprintf(stderr, "tui_bench: %s is not a little-endian classic pcap with packets\n",
                     capture.c_str());
        return 2;
    }
    constexpr int kWidth = 132, kHeight = 40;
    constexpr double kKeyTimeoutMs = 3000, kBurstGapMs = 5;
    constexpr int kQuietS = 5;  // no keys at first: the redraw rate of ingestion alone
    // What each screen shows and no other does (tui/view.cpp's draw(): the Help text, the
    // Flows and Interfaces key hints in the bottom line).
    const char* flows = "Enter path";
    const char* done_marker = "end of files";
    const std::vector<Key> script{
        {"?", "?", "any key closes this help"},
        {"\x1b", "Esc", flows},
        {"i", "i", "f flows"},
        {"f", "f", flows},
        // As xterm sends them once ncurses enabled keypad mode. Down then Up: the selection
        // moves every time (a Down on the last row would change nothing on screen).
        {"\x1bOB", "Down", ""},
        {"\x1bOA", "Up", ""},
    };

    std::vector<std::string> args{podtrace, "tui", "-r", capture, "--speed", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string cmdline;
    for (const auto& a : args) cmdline += (cmdline.empty() ? "" : " ") + a;

    winsize ws{};
    ws.ws_row = kHeight, ws.ws_col = kWidth;
    int master = -1;
    const auto t0 = Clock::now();
    const pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
    if (pid < 0) {
        std::perror("tui_bench: forkpty");
        return 2;
    }
    if (pid == 0) {
        setenv("TERM", "xterm-256color", 1);
        setenv("LANG", "C.UTF-8", 1);
        unsetenv("NO_COLOR");
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        std::fprintf(stderr, "tui_bench: exec %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

    Screen screen(kWidth, kHeight);
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> gap_ms(50, 300);  // between a key's answer and the next

    std::vector<Sample> samples, first_bytes;
    std::vector<double> burst_times;  // seconds since t0
    std::vector<double> key_times;
    std::optional<Clock::time_point> first_screen, done;
    double cpu_at_first = 0, cpu_at_done = 0;
    Clock::time_point last_read{};
    std::size_t next_key = 0;
    int timeouts = 0, skipped = 0;
    struct Pending {
        const Key* key = nullptr;  // nullptr: no key waits for its answer
        Clock::time_point sent{};
        bool first_byte = false;
    } pending;
    auto key_at = Clock::now() + std::chrono::hours(1);
    bool exited = false;
    int status = 0;
    rusage ru{};
    std::string tail;  // the last output, for when podtrace fails

    auto send = [&](const std::string& bytes) {
        if (write(master, bytes.data(), bytes.size()) < 0) std::perror("tui_bench: write");
    };
    auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(info->span_s + 60));
    bool quitting = false;
    Clock::time_point quit_sent{}, last_q{};

    while (!exited) {
        const auto now = Clock::now();
        if (now > deadline && !quitting) {
            std::fprintf(stderr, "tui_bench: no \"%s\" within %.0f s; screen:\n%s", done_marker,
                         info->span_s + 60, screen.dump().c_str());
            kill(pid, SIGTERM);
            quitting = true, quit_sent = now;
        }
        if (quitting && now - quit_sent > std::chrono::seconds(5)) kill(pid, SIGKILL);
        if (!pending.key && !quitting && !done && first_screen && now >= key_at) {
            const Key& k = script[next_key++ % script.size()];
            if (!k.marker.empty() && screen.contains(k.marker)) {
                ++skipped;  // its text is on screen already: the key's effect cannot be seen
            } else {
                pending = {&k, Clock::now(), false};
                key_times.push_back(std::chrono::duration<double>(pending.sent - t0).count());
                send(k.bytes);
            }
        }
        int timeout = 50;
        if (!pending.key && first_screen && !done)
            timeout = std::clamp(static_cast<int>(ms_since(now, key_at)) + 1, 0, 50);
        pollfd pfd{master, POLLIN, 0};
        const int r = poll(&pfd, 1, timeout);
        const auto t = Clock::now();
        if (r > 0) {
            char buf[65536];
            const ssize_t n = read(master, buf, sizeof buf);
            if (n > 0) {
                if (burst_times.empty() || ms_since(last_read, t) >= kBurstGapMs)
                    burst_times.push_back(std::chrono::duration<double>(t - t0).count());
                last_read = t;
                screen.feed({buf, static_cast<std::size_t>(n)});
                tail.append(buf, static_cast<std::size_t>(n));
                if (tail.size() > 4096) tail.erase(0, tail.size() - 4096);
                if (pending.key && !pending.first_byte) {
                    pending.first_byte = true;
                    first_bytes.push_back({pending.key->name, ms_since(pending.sent, t), false});
                }
            }
        }
        if (!first_screen && screen.contains(script[1].marker)) {
            first_screen = t;
            cpu_at_first = cpu_seconds(pid);
            key_at = t + std::chrono::seconds(kQuietS);
        }
        if (pending.key) {
            const Key& k = *pending.key;
            const bool answered = k.marker.empty() ? pending.first_byte : screen.contains(k.marker);
            if (answered || ms_since(pending.sent, t) > kKeyTimeoutMs) {
                // The first miss shows the screen as rebuilt: a wrong marker, or a slow key.
                if (!answered && timeouts++ == 0)
                    std::fprintf(stderr, "tui_bench: no \"%s\" %.0f ms after %s; screen:\n%s",
                                 k.marker.c_str(), kKeyTimeoutMs, k.name.c_str(),
                                 screen.dump().c_str());
                double ms = kKeyTimeoutMs;
                if (answered)
                    ms = k.marker.empty() ? first_bytes.back().ms : ms_since(pending.sent, t);
                samples.push_back({k.name, ms, !k.marker.empty()});
                pending = {};
                key_at = t + std::chrono::milliseconds(gap_ms(rng));
            }
        }
        if (!done && screen.contains(done_marker)) {
            done = t;
            cpu_at_done = cpu_seconds(pid);
        }
        // q backs out of Help and Interfaces and quits on Flows: pressed until podtrace exits.
        if (done && !pending.key && (!quitting || t - last_q > std::chrono::milliseconds(300))) {
            send("q");
            if (!quitting) quit_sent = t;
            quitting = true, last_q = t;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            getrusage(RUSAGE_CHILDREN, &ru);
        }
        if (r < 0 && errno != EINTR) break;
    }
    close(master);
    const auto end = Clock::now();

    if (!first_screen || !done) {
        std::fprintf(stderr, "tui_bench: `%s` never showed %s; last output:\n%s\nscreen:\n%s",
                     cmdline.c_str(), first_screen ? "the end of its input" : "its first screen",
                     tail.c_str(), screen.dump().c_str());
        return 1;
    }

    // Keys pressed while ingestion ran.
    const double done_s = std::chrono::duration<double>(*done - t0).count();
    std::vector<double> all_ms;
    std::map<std::string, std::vector<double>> by_key;
    std::size_t during = 0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (key_times[i] > done_s) continue;
        ++during;
        all_ms.push_back(samples[i].ms);
        by_key[samples[i].key].push_back(samples[i].ms);
    }
    std::vector<double> fb;
    for (const auto& s : first_bytes) fb.push_back(s.ms);

    // Redraws per 1-s window from the first screen to the end of ingestion; a window holding a
    // key press is counted apart (a key may redraw at once, between two ticks).
    const double first_s = std::chrono::duration<double>(*first_screen - t0).count();
    int max_quiet = 0, max_any = 0;
    double sum_quiet = 0;
    int quiet_windows = 0;
    for (double w = first_s; w + 1 <= done_s; w += 1) {
        const auto count = std::count_if(burst_times.begin(), burst_times.end(),
                                         [&](double b) { return b >= w && b < w + 1; });
        const bool key = std::any_of(key_times.begin(), key_times.end(),
                                     [&](double k) { return k >= w - 0.1 && k < w + 1; });
        max_any = std::max<int>(max_any, static_cast<int>(count));
        if (!key) {
            max_quiet = std::max<int>(max_quiet, static_cast<int>(count));
            sum_quiet += static_cast<double>(count);
            ++quiet_windows;
        }
    }

    const double ingest_s = done_s;  // from exec, startup included
    const double replay_cpu = cpu_at_done - cpu_at_first;
    const double replay_wall = std::chrono::duration<double>(*done - *first_screen).count();
    const double total_cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

    std::printf("tui_bench: %s\n", cmdline.c_str());
    std::printf("capture: %llu packets over %.2f s (%.0f pps)\n",
                static_cast<unsigned long long>(info->packets), info->span_s,
                info->span_s > 0 ? static_cast<double>(info->packets) / info->span_s : 0);
    std::printf("first screen after %.3f s; \"%s\" after %.3f s; exit status %d after %.3f s\n",
                first_s, done_marker, done_s,
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                std::chrono::duration<double>(end - t0).count());
    std::printf(
        "keys during ingestion: %zu (%d timed out at %.0f ms, %d not pressed: the "
        "screen they open was showing)\n",
        during, timeouts, kKeyTimeoutMs, skipped);
    std::printf(
        "key latency ms, write() to the screen showing the key's effect "
        "(Down, Up: to the first output byte): p50 %.1f p95 %.1f max %.1f\n",
        percentile(all_ms, 0.5), percentile(all_ms, 0.95),
        all_ms.empty() ? 0 : *std::max_element(all_ms.begin(), all_ms.end()));
    for (const auto& [name, v] : by_key)
        std::printf("  %-5s n %3zu  p50 %6.1f  p95 %6.1f  max %6.1f\n", name.c_str(), v.size(),
                    percentile(v, 0.5), percentile(v, 0.95), *std::max_element(v.begin(), v.end()));
    std::printf("first output byte after a key, ms: p50 %.1f p95 %.1f max %.1f\n",
                percentile(fb, 0.5), percentile(fb, 0.95),
                fb.empty() ? 0 : *std::max_element(fb.begin(), fb.end()));
    std::printf(
        "redraws per second (bursts >= %.0f ms apart): max %d in windows without a key, "
        "mean %.1f over %d such windows; max %d in any window\n",
        kBurstGapMs, max_quiet, quiet_windows ? sum_quiet / quiet_windows : 0.0, quiet_windows,
        max_any);
    std::printf(
        "ingest: %.0f packets/s (%llu packets in %.2f s from exec to \"%s\"; capture "
        "span %.2f s)\n",
        static_cast<double>(info->packets) / ingest_s,
        static_cast<unsigned long long>(info->packets), ingest_s, done_marker, info->span_s);
    std::printf("cpu: %.2f s over %.2f s of replay = %.0f%% of one core; %.2f s in all\n",
                replay_cpu, replay_wall, replay_wall > 0 ? 100 * replay_cpu / replay_wall : 0,
                total_cpu);
    // One line for scripts: key_p50 key_p95 key_max redraws_max ingest_pps cpu_pct keys.
    std::printf("summary %.1f %.1f %.1f %d %.0f %.0f %zu\n", percentile(all_ms, 0.5),
                percentile(all_ms, 0.95),
                all_ms.empty() ? 0 : *std::max_element(all_ms.begin(), all_ms.end()), max_quiet,
                static_cast<double>(info->packets) / ingest_s,
                replay_wall > 0 ? 100 * replay_cpu / replay_wall : 0, during);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int usage(const char* msg) {
    if (msg) std::fprintf(stderr, "tui_bench: %s\n", msg);
    std::fprintf(stderr,
                 "usage: podtrace_tui_bench retime IN.pcap|- OUT.pcap [--rate PPS=100000] "
                 "[--packets N]\n"
                 "       podtrace_tui_bench run PODTRACE CAPTURE.pcap [--seed S=1] "
                 "[-- EXTRA_ARGS...]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() >= 3 && a[0] == "retime") {
        double rate = 100000;
        std::uint64_t packets = 0;
        for (std::size_t i = 3; i < a.size(); ++i) {
            if (i + 1 >= a.size()) return usage("missing value after an option");
            if (a[i] == "--rate")
                rate = std::strtod(a[++i].c_str(), nullptr);
            else if (a[i] == "--packets")
                packets = std::strtoull(a[++i].c_str(), nullptr, 10);
            else
                return usage("unknown option");
        }
        if (rate <= 0) return usage("--rate must be positive");
        return retime(a[1], a[2], rate, packets);
    }
    if (a.size() >= 3 && a[0] == "run") {
        std::uint64_t seed = 1;
        std::vector<std::string> extra;
        for (std::size_t i = 3; i < a.size(); ++i) {
            if (a[i] == "--") {
                extra.assign(a.begin() + static_cast<std::ptrdiff_t>(i) + 1, a.end());
                break;
            }
            if (i + 1 >= a.size()) return usage("missing value after an option");
            if (a[i] == "--seed")
                seed = std::strtoull(a[++i].c_str(), nullptr, 10);
            else
                return usage("unknown option");
        }
        return run(a[1], a[2], seed, extra);
    }
    return usage(nullptr);
}

#include "tui/view.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <tuple>
#include <utility>

#include "core/time.hpp"
#include "tui/dissect.hpp"

namespace podtrace::tui {
namespace {

constexpr int kMinWidth = 80, kMinHeight = 24;

// ---- text --------------------------------------------------------------------------------

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        std::size_t j = i;
        while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

// Word-wrapped to `width` cells; continuation lines start with `indent` spaces.
std::vector<std::string> wrap(std::string_view text, int width, int indent = 2) {
    std::vector<std::string> out;
    std::string line;
    for (const std::string& w : words(text)) {
        const int room = width - (out.empty() ? 0 : indent);
        if (!line.empty() && text_width(line) + 1 + text_width(w) > room) {
            out.push_back(std::move(line));
            line.clear();
        }
        line += (line.empty() ? "" : " ") + w;
    }
    if (!line.empty() || out.empty()) out.push_back(std::move(line));
    for (std::size_t i = 1; i < out.size(); ++i) {
        out[i] = std::string(std::size_t(indent), ' ') + out[i];
    }
    return out;
}

std::string pad_left(const std::string& s, int width) {
    const int n = text_width(s);
    return n >= width ? ellipsize(s, width) : std::string(std::size_t(width - n), ' ') + s;
}

std::string pad_right(const std::string& s, int width) {
    const int n = text_width(s);
    return n >= width ? ellipsize(s, width) : s + std::string(std::size_t(width - n), ' ');
}

std::string number(const char* fmt, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

// 1024-based for bytes ("1.2K", "34K", "3.4M"), 1000-based for counts and rates.
std::string human(double v, double base) {
    static constexpr char kUnits[] = "KMGTP";
    if (v < base) return number("%.0f", v);
    int u = -1;
    while (v >= base && u < 4) v /= base, ++u;
    return number(v < 10 ? "%.1f" : "%.0f", v) + kUnits[u];
}

std::string human_count(std::uint64_t n) {
    return n < 100000 ? std::to_string(n) : human(double(n), 1000);
}

std::string human_latency(std::int64_t ns, int digits) {
    if (ns < 0) return "-";
    const double d = double(ns);
    if (d < 1e6 && digits == 6) return std::to_string((ns + 500) / 1000) + "us";
    if (d < 1e3) return std::to_string(ns) + "ns";
    if (d < 1e6) return number(d < 1e4 ? "%.1f" : "%.0f", d / 1e3) + "us";
    if (d < 1e9) return number(d < 1e7 ? "%.1f" : "%.0f", d / 1e6) + "ms";
    return number(d < 1e10 ? "%.1f" : "%.0f", d / 1e9) + "s";
}

std::string age(std::int64_t now_ns, std::int64_t last_ns) {
    if (last_ns == 0) return "-";
    const std::int64_t d = std::max<std::int64_t>(core::sub_ns(now_ns, last_ns), 0);
    const std::int64_t s = d / 1'000'000'000;
    if (s < 10) return number("%.1f", double(d) / 1e9) + "s";
    if (s < 60) return std::to_string(s) + "s";
    if (s < 3600) return std::to_string(s / 60) + "m";
    if (s < 86400) return std::to_string(s / 3600) + "h";
    return std::to_string(s / 86400) + "d";
}

// A table cell: the name and port, the name cut first so the port stays readable.
std::string endpoint_cell(const std::string& name, std::uint16_t port, int width) {
    const std::string p = port ? ':' + std::to_string(port) : "";
    const std::string s = name + p;
    if (text_width(s) <= width || int(p.size()) + 2 > width) return ellipsize(s, width);
    return ellipsize(name, width - int(p.size())) + p;
}

// As `report` writes an endpoint: "default/pod1 172.16.158.1:33986".
std::string endpoint_full(const std::string& name, const std::string& addr, std::uint16_t port) {
    std::string s = name.empty() || name == addr ? "" : name + ' ';
    const bool v6 = addr.find(':') != std::string::npos;
    s += port && v6 ? '[' + addr + ']' : addr;
    if (port) s += ':' + std::to_string(port);
    return s;
}

std::string flow_title(const FlowRow& f) {
    return "flow " + std::to_string(f.id) + "  " + f.proto + "  " +
           endpoint_full(f.src, f.src_addr, f.sport) + " → " +
           endpoint_full(f.dst, f.dst_addr, f.dport);
}

const FlowRow* find_flow(const Snapshot& s, std::uint32_t id) {
    // Snapshot::flows is in id order.
    auto it = std::lower_bound(s.flows.begin(), s.flows.end(), id,
                               [](const FlowRow& f, std::uint32_t i) { return f.id < i; });
    return it != s.flows.end() && it->id == id ? &*it : nullptr;
}

// ---- the Flows table -----------------------------------------------------------------------

struct Col {
    Column col;
    int x = 0, w = 0;
    bool right = false;
};

struct FlowLayout {
    std::vector<Col> cols;
    bool merged = false;  // encap shown in the kind column
};

constexpr int kMinEndpoint = 18, kMaxEndpoint = 44;

// The least useful columns go first as the terminal narrows: bytes, then encap (into kind), the
// age, the drop count (those rows are red anyway), the protocol (the ports tell most of it).
FlowLayout flow_layout(int width) {
    FlowLayout out;
    for (int stage = 0; stage <= 5; ++stage) {
        const bool merged = stage >= 2;
        std::vector<std::pair<Column, int>> cols{
            {Column::id, 4}, {Column::source, 0}, {Column::destination, 0}};
        if (stage < 5) cols.emplace_back(Column::proto, 5);
        cols.emplace_back(Column::kind, merged ? 15 : 10);
        if (!merged) cols.emplace_back(Column::encap, 10);
        cols.emplace_back(Column::packets, 9);
        if (stage < 1) cols.emplace_back(Column::bytes, 9);
        cols.emplace_back(Column::latency, 11);
        if (stage < 4) cols.emplace_back(Column::drops, 5);
        if (stage < 3) cols.emplace_back(Column::seen, 5);
        int fixed = int(cols.size()) - 1;  // one space between columns
        for (const auto& c : cols) fixed += c.second;
        const int flex = width - fixed;
        if (flex < 2 * kMinEndpoint && stage < 5) continue;
        const int ep = std::clamp(flex / 2, 1, kMaxEndpoint);
        int x = 0;
        for (const auto& [col, w0] : cols) {
            const int w = w0 ? w0 : ep;
            const bool right = col == Column::id || col >= Column::packets;
            out.cols.push_back({col, x, w, right});
            x += w + 1;
        }
        out.merged = merged;
        return out;
    }
    return out;
}

const char* header_of(Column c, bool merged) {
    switch (c) {
        case Column::id: return "id";
        case Column::source: return "source";
        case Column::destination: return "destination";
        case Column::proto: return "proto";
        case Column::kind: return merged ? "kind/encap" : "kind";
        case Column::encap: return "encap";
        case Column::packets: return "pkts →/←";
        case Column::bytes: return "bytes →/←";
        case Column::latency: return "p50/p99";
        case Column::drops: return "drops";
        case Column::seen: return "seen";
    }
    return "";
}

std::string cell_text(const FlowRow& f, Column c, int width, bool merged, std::int64_t now_ns) {
    switch (c) {
        case Column::id: return std::to_string(f.id);
        case Column::source: return endpoint_cell(f.src, f.sport, width);
        case Column::destination: return endpoint_cell(f.dst, f.dport, width);
        case Column::proto: return f.proto;
        case Column::kind: return merged && !f.encap.empty() ? f.kind + '/' + f.encap : f.kind;
        case Column::encap: return f.encap;
        case Column::packets: return human_count(f.packets_fwd) + '/' + human_count(f.packets_rev);
        case Column::bytes:
            return human(double(f.bytes_fwd), 1024) + '/' + human(double(f.bytes_rev), 1024);
        case Column::latency:
            if (f.latency_p50_ns < 0) return "-";
            return human_latency(f.latency_p50_ns, f.latency_digits) + '/' +
                   human_latency(f.latency_p99_ns, f.latency_digits);
        case Column::drops: return std::to_string(f.drops);
        case Column::seen: return age(now_ns, f.last_ns);
    }
    return "";
}

// <0, 0, >0 as a sorts before, with, after b on column c, ascending.
int compare(const FlowRow& a, const FlowRow& b, Column c) {
    auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : y < x ? 1 : 0; };
    switch (c) {
        case Column::id: return cmp(a.id, b.id);
        case Column::source: return cmp(std::tie(a.src, a.sport), std::tie(b.src, b.sport));
        case Column::destination: return cmp(std::tie(a.dst, a.dport), std::tie(b.dst, b.dport));
        case Column::proto: return cmp(a.proto, b.proto);
        case Column::kind: return cmp(std::tie(a.kind, a.encap), std::tie(b.kind, b.encap));
        case Column::encap: return cmp(a.encap, b.encap);
        case Column::packets:
            return cmp(a.packets_fwd + a.packets_rev, b.packets_fwd + b.packets_rev);
        case Column::bytes: return cmp(a.bytes_fwd + a.bytes_rev, b.bytes_fwd + b.bytes_rev);
        case Column::latency:
            return cmp(std::pair(a.latency_p50_ns, a.latency_p99_ns),
                       std::pair(b.latency_p50_ns, b.latency_p99_ns));
        case Column::drops:
            return cmp(std::pair(a.drops, a.findings), std::pair(b.drops, b.findings));
        case Column::seen: return cmp(b.last_ns, a.last_ns);  // youngest first
    }
    return 0;
}

int table_rows(int height) {
    return std::max(height - 4, 1);  // top bar, column headers, findings line, bottom line
}

// The selected row: the selected flow where it is now, else the row it was on.
int resolve(const std::vector<const FlowRow*>& rows, const View& v) {
    if (rows.empty()) return -1;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i]->id == v.selected) return int(i);
    }
    return std::clamp(v.row, 0, int(rows.size()) - 1);
}

// The first row shown: the one asked for, moved just enough to show the selection.
int first_row(int sel, int n, int rows, int scroll) {
    if (sel >= 0) scroll = std::clamp(scroll, sel - rows + 1, sel);
    return std::clamp(scroll, 0, std::max(n - rows, 0));
}

// ---- bodies (the scrolling part of the Path, Packet and Interfaces screens) ----------------

const PacketPath* current_packet(const FlowDetail& d, const View& v) {
    if (d.packets.empty()) return nullptr;
    if (v.packet == 0) return &d.packets.back();
    for (const PacketPath& p : d.packets) {
        if (p.number >= v.packet) return &p;  // that one, or the next kept if it has gone
    }
    return &d.packets.back();
}

std::string hop_label(const HopRow& h) {
    return h.pod.empty() ? h.interface : h.interface + " (" + h.pod + ')';
}

struct PathBody {
    Canvas c;
    std::vector<int> hop_y;  // the row of each hop
};

// A box's top or bottom edge across the whole row.
void rule(Canvas& c, int y, char32_t left, char32_t right) {
    c.fill(0, y, c.width(), 1, Style::box, U'─');
    c.fill(0, y, 1, 1, Style::box, left);
    c.fill(c.width() - 1, y, 1, 1, Style::box, right);
}

void put_wrapped(Canvas& c, std::string_view text, Style st, int indent = 0) {
    for (const std::string& l : wrap(text, c.width() - indent)) c.put(indent, c.add_row(), l, st);
}

// The hops drawn across nodes: one box per run of hops on the same node, the latency between
// hops under each, the wire crossing between boxes; then the outcome, the findings and the
// per-hop latency table.
PathBody path_body(const FlowDetail& d, const View& v, int width) {
    PathBody b{Canvas(width, 0), {}};
    Canvas& c = b.c;
    const PacketPath* p = current_packet(d, v);
    if (!p) {
        c.put(0, c.add_row(), "no packet of this flow is kept (yet)", Style::dim);
    } else {
        const auto& hops = p->hops;
        const int sel = std::clamp(v.hop, 0, std::max(int(hops.size()) - 1, 0));
        auto sides = [&](int y) {
            c.put(0, y, "│", Style::box);
            c.put(width - 1, y, "│", Style::box);
        };
        for (std::size_t i = 0; i < hops.size();) {
            std::size_t j = i;
            int label_w = 0;
            for (; j < hops.size() && hops[j].node == hops[i].node; ++j) {
                label_w = std::max(label_w, text_width(hop_label(hops[j])));
            }
            label_w = std::min(label_w, std::max(30, (width - 2) / 3));
            if (i > 0) {
                const std::string& lat = hops[i].latency;
                c.put(4, c.add_row(), "│ " + (lat.empty() ? "" : lat + ' ') + "(wire)", Style::dim);
            }
            int y = c.add_row();
            rule(c, y, U'┌', U'┐');
            c.put(2, y, ' ' + hops[i].node + ' ', Style::header, width - 4);
            for (std::size_t k = i; k < j; ++k) {
                const HopRow& h = hops[k];
                if (k > i && !h.latency.empty()) {
                    sides(y = c.add_row());
                    c.put(4, y, "│ " + h.latency, Style::dim);
                }
                sides(y = c.add_row());
                b.hop_y.push_back(y);
                const bool is_sel = int(k) == sel;
                const Style st = is_sel ? Style::selected : Style::normal;
                if (is_sel) c.fill(1, y, width - 2, 1, st);
                int x = c.put(1, y, is_sel ? "▶ " : "  ", st);
                x = c.put(x, y, pad_right(hop_label(h), label_w), st) + 1;
                x = c.put(x, y, pad_right(h.direction, 3), st) + 1;
                c.put(x, y, ellipsize(h.headers, width - 1 - x), st);
                if (!h.rewrite.empty()) {
                    sides(y = c.add_row());
                    c.put(5, y, ellipsize("⇒ NAT " + h.rewrite, width - 6), Style::highlight);
                }
            }
            rule(c, c.add_row(), U'└', U'┘');
            i = j;
        }
        if (!p->stopped.empty()) {
            put_wrapped(c, "✗ " + p->stopped, Style::bad);
        } else if (!hops.empty()) {
            put_wrapped(c, "✓ reached " + hops.back().node + '/' + hops.back().interface,
                        Style::good);
        }
    }
    if (!d.findings.empty()) {
        c.add_row();
        c.put(0, c.add_row(),
              "findings (" + std::to_string(d.findings.size()) + "):", Style::header);
        for (const std::string& f : d.findings) put_wrapped(c, f, Style::bad, 2);
    }
    if (!d.hops.empty()) {
        c.add_row();
        c.put(0, c.add_row(), "hop latency p50 / p99 (packets):", Style::header);
        int w = 0;
        for (const HopLatency& h : d.hops) w = std::max(w, text_width(h.from + " > " + h.to));
        for (const HopLatency& h : d.hops) {
            const std::string line = std::string(h.reverse ? "← " : "→ ") +
                                     pad_right(h.from + " > " + h.to, w) + "  " + h.p50 + " / " +
                                     h.p99 + " (" + std::to_string(h.count) + ')';
            c.put(2, c.add_row(), ellipsize(line, width - 2));
        }
    }
    return b;
}

Canvas packet_body(const PacketDetail& p, int width) {
    Canvas c(width, 0);
    if (!p.kept) c.put(0, c.add_row(), "frame no longer kept (raise --keep)", Style::bad);
    for (const TreeLine& line : p.tree)
        c.put(0, c.add_row(), line.text,
              line.truncated ? Style::bad : line.layer ? Style::header : Style::normal);
    if (!p.bytes.empty()) {
        c.add_row();
        for (const std::string& line : hex_dump(p.bytes)) c.put(0, c.add_row(), line);
    }
    return c;
}

// ---- the Interfaces table ------------------------------------------------------------------

struct IfaceCol {
    const char* header;
    int w;
    bool right;
};

constexpr int kIfaceWide = 104;  // from here on, the point kind and the pod are shown

// node/interface, [point, pod,] state, packets, bytes, pps, bit/s, kdrop, qdrop, undec, [reasons]
std::vector<IfaceCol> iface_layout(int width) {
    std::vector<IfaceCol> cols{{"node/interface", 23, false}};
    if (width >= kIfaceWide) cols.insert(cols.end(), {{"point", 6, false}, {"pod", 16, false}});
    cols.insert(cols.end(), {{"state", 9, false},
                             {"packets", 7, true},
                             {"bytes", 6, true},
                             {"pps", 6, true},
                             {"bit/s", 6, true},
                             {"kdrop", 5, true},
                             {"qdrop", 5, true},
                             {"undec", 5, true}});
    int used = -1;
    for (const auto& c : cols) used += c.w + 1;
    if (width - used - 1 >= 12) cols.push_back({"undecodable by reason", width - used - 1, false});
    return cols;
}

Canvas interfaces_body(const Snapshot& s, int width) {
    Canvas c(width, 0);
    const auto cols = iface_layout(width);
    const bool wide = width >= kIfaceWide;
    for (const InterfaceRow& r : s.interfaces) {
        std::vector<std::pair<std::string, Style>> cells;
        cells.emplace_back(r.node + '/' + r.interface, Style::normal);
        if (wide) {
            cells.emplace_back(r.point, Style::normal);
            cells.emplace_back(r.pod, Style::normal);
        }
        const bool ok_state = r.state == "capturing" || r.state == "file";
        cells.emplace_back(r.state, ok_state            ? Style::normal
                                    : r.state == "gone" ? Style::dim
                                                        : Style::bad);
        auto bad_if = [](std::uint64_t n) { return n ? Style::bad : Style::normal; };
        cells.emplace_back(human_count(r.packets), Style::normal);
        cells.emplace_back(human(double(r.bytes), 1024), Style::normal);
        cells.emplace_back(human(r.pps, 1000), Style::normal);
        cells.emplace_back(human(r.bps, 1000), Style::normal);
        cells.emplace_back(std::to_string(r.kernel_drops), bad_if(r.kernel_drops));
        cells.emplace_back(std::to_string(r.queue_drops), bad_if(r.queue_drops));
        cells.emplace_back(std::to_string(r.undecodable), bad_if(r.undecodable));
        std::string reasons;
        for (const auto& [why, n] : r.reasons) {
            reasons += (reasons.empty() ? "" : ", ") + why + ' ' + std::to_string(n);
        }
        cells.emplace_back(reasons, Style::bad);
        const int y = c.add_row();
        int x = 0;
        for (std::size_t i = 0; i < cols.size(); ++i) {
            const auto& col = cols[i];
            const auto& [text, st] = cells[i];
            c.put(x, y, col.right ? pad_left(text, col.w) : ellipsize(text, col.w), st);
            x += col.w + 1;
        }
    }
    if (s.interfaces.empty()) c.put(0, c.add_row(), "no capture point yet", Style::dim);
    if (!s.notes.empty()) {
        c.add_row();
        c.put(0, c.add_row(), "notes:", Style::header);
        for (const std::string& n : s.notes) put_wrapped(c, n, Style::normal, 2);
    }
    return c;
}

// ---- bars ----------------------------------------------------------------------------------

void draw_top(const Snapshot& s, const View& v, Canvas& c) {
    const auto shown = std::count_if(s.flows.begin(), s.flows.end(), [&v](const FlowRow& f) {
        return filter_matches(f, v.filter);
    });
    // Dropped from the right-hand side of this list first when the line is too narrow.
    std::vector<std::pair<std::string, int>> parts{
        {"podtrace", 9},
        {s.source, 3},
        {s.state, 8},
        {v.paused ? "PAUSED" : "", 9},
        {std::to_string(s.frames) + " frames", 1},
        {std::to_string(s.packets) + " packets", 2},
        {"flows " + std::to_string(shown) + '/' + std::to_string(s.flows.size()), 7},
        {"findings " + std::to_string(s.findings.size()), 6},
    };
    std::erase_if(parts, [](const auto& p) { return p.first.empty(); });
    auto total = [&] {
        int n = 0;
        for (const auto& p : parts) n += text_width(p.first) + 2;
        return n;
    };
    while (total() > c.width() + 2 && parts.size() > 1) {
        parts.erase(std::min_element(parts.begin(), parts.end(), [](const auto& a, const auto& b) {
            return a.second < b.second;
        }));
    }
    std::string line;
    for (const auto& p : parts) line += (line.empty() ? "" : "  ") + p.first;
    c.fill(0, 0, c.width(), 1, Style::title);
    c.put(0, 0, ' ' + line, Style::title, c.width());
}

using Hints = std::vector<std::pair<const char*, const char*>>;

void draw_bottom(const View& v, const Hints& hints, Canvas& c) {
    const int y = c.height() - 1;
    if (v.typing) {
        int x = c.put(0, y, "/", Style::key);
        x = c.put(x, y, v.filter + "▏");
        c.put(x + 2, y, "Enter keep  Esc clear  ↑↓ move", Style::dim);
        return;
    }
    if (!v.message.empty()) {
        c.put(0, y, v.message);
        return;
    }
    int x = 0;
    if (v.screen == Screen::flows && !v.filter.empty()) {
        x = c.put(x, y, '/' + v.filter, Style::highlight) + 2;
    }
    for (const auto& [k, what] : hints) {
        x = c.put(x, y, k, Style::key);
        x = c.put(x + 1, y, what) + 2;
    }
}

// ---- screens -------------------------------------------------------------------------------

void draw_flows(const Snapshot& s, const View& v, Canvas& c) {
    const FlowLayout layout = flow_layout(c.width());
    c.fill(0, 1, c.width(), 1, Style::header);
    for (const Col& col : layout.cols) {
        std::string h = header_of(col.col, layout.merged);
        const bool sorted = v.sort == col.col ||
                            (layout.merged && col.col == Column::kind && v.sort == Column::encap);
        if (sorted) h = ellipsize(h, col.w - 1) + (v.descending ? "▼" : "▲");
        c.put(col.x, 1, col.right ? pad_left(h, col.w) : h, Style::header, col.w);
    }
    const auto rows = visible_flows(s, v);
    const int n = int(rows.size()), page = table_rows(c.height());
    const int sel = resolve(rows, v);
    const int first = first_row(sel, n, page, v.scroll);
    for (int i = first; i < std::min(n, first + page); ++i) {
        const FlowRow& f = *rows[std::size_t(i)];
        const int y = 2 + i - first;
        const Style st = i == sel                        ? Style::selected
                         : f.drops > 0 || f.findings > 0 ? Style::bad
                                                         : Style::normal;
        c.fill(0, y, c.width(), 1, st);
        for (const Col& col : layout.cols) {
            const std::string t = cell_text(f, col.col, col.w, layout.merged, s.now_ns);
            c.put(col.x, y, col.right ? pad_left(t, col.w) : ellipsize(t, col.w), st);
        }
    }
    if (n == 0) {
        c.put(1, 2, s.flows.empty() ? "no flows yet" : "no flow matches /" + v.filter, Style::dim);
    }
    const int y = c.height() - 2;
    if (s.findings.empty()) {
        c.put(0, y, "no findings", Style::dim);
    } else {
        c.put(0, y, "findings " + std::to_string(s.findings.size()) + ": " + s.findings[0],
              Style::bad);
    }
    draw_bottom(v,
                {{"Enter", "path"},
                 {"/", "filter"},
                 {"s", "save"},
                 {"p", "pause"},
                 {"<>", "sort"},
                 {"i", "interfaces"},
                 {"?", "help"},
                 {"q", "quit"}},
                c);
}

int path_visible(int height) {
    return std::max(height - 5, 1);  // top bar, title, kind and verdict, packet line, bottom
}

void draw_path(const Snapshot& s, const View& v, Canvas& c) {
    const Hints hints{{"←→", "packet"}, {"↑↓", "hop"},   {"Enter", "packet detail"},
                      {"s", "save"},    {"Esc", "back"}, {"?", "help"}};
    const bool have = s.detail && s.detail->row.id == v.flow;
    const FlowRow* row = have ? &s.detail->row : find_flow(s, v.flow);
    c.fill(0, 1, c.width(), 1, Style::header);
    c.put(0, 1, ellipsize(row ? flow_title(*row) : "flow " + std::to_string(v.flow), c.width()),
          Style::header);
    if (!have) {
        c.put(0, 3,
              "flow " + std::to_string(v.flow) + ": no detail; it was evicted or is not known",
              Style::bad);
        draw_bottom(v, hints, c);
        return;
    }
    const FlowDetail& d = *s.detail;
    int x = c.put(0, 2, ellipsize(d.kind, c.width()));
    c.put(x + 2, 2, ellipsize("verdict: " + d.verdict, c.width() - x - 2),
          d.ok                 ? Style::good
          : d.findings.empty() ? Style::normal
                               : Style::bad);
    if (const PacketPath* p = current_packet(d, v)) {
        x = c.put(0, 3,
                  "packet " + std::to_string(p->number) + " of " + std::to_string(d.packets_seen) +
                      (p->reverse ? "  ← reply" : "  → request"),
                  Style::key);
        c.put(x + 2, 3, ellipsize(p->verdict, c.width() - x - 2), Style::dim);
    }
    const PathBody body = path_body(d, v, c.width());
    const int visible = path_visible(c.height());
    const int first = std::clamp(v.path_scroll, 0, std::max(body.c.height() - visible, 0));
    c.blit(body.c, first, visible, 4);
    draw_bottom(v, hints, c);
}

void draw_packet(const Snapshot& s, const View& v, Canvas& c) {
    const Hints hints{{"↑↓", "scroll"}, {"PgUp PgDn", "page"}, {"Esc", "back"}, {"?", "help"}};
    c.fill(0, 1, c.width(), 1, Style::header);
    if (!s.packet || s.packet->frame != v.frame) {
        c.put(0, 1, "frame " + std::to_string(v.frame), Style::header);
        c.put(0, 2, "frame not available", Style::bad);
        draw_bottom(v, hints, c);
        return;
    }
    c.put(0, 1, ellipsize(s.packet->title, c.width()), Style::header);
    const Canvas body = packet_body(*s.packet, c.width());
    const int visible = std::max(c.height() - 3, 1);
    c.blit(body, std::clamp(v.packet_scroll, 0, std::max(body.height() - visible, 0)), visible, 2);
    draw_bottom(v, hints, c);
}

void draw_interfaces(const Snapshot& s, const View& v, Canvas& c) {
    c.fill(0, 1, c.width(), 1, Style::header);
    int x = 0;
    for (const IfaceCol& col : iface_layout(c.width())) {
        c.put(x, 1, col.right ? pad_left(col.header, col.w) : col.header, Style::header, col.w);
        x += col.w + 1;
    }
    const Canvas body = interfaces_body(s, c.width());
    const int visible = std::max(c.height() - 3, 1);
    c.blit(body, std::clamp(v.interfaces_scroll, 0, std::max(body.height() - visible, 0)), visible,
           2);
    draw_bottom(v, {{"↑↓", "scroll"}, {"f", "flows"}, {"Esc", "back"}, {"?", "help"}}, c);
}

constexpr const char* kHelp[] = {
    "Keys                                                 any key closes this help",
    "  ↑↓ j k PgUp PgDn Home End  move, scroll    Enter  open a flow's path, a hop",
    "  ← → h l (N n)    older / newer packet of the flow (Path screen)",
    "  Esc Backspace q  back; q on Flows quits    Ctrl-C  quit from anywhere",
    "  /  filter as you type: Enter keeps it, Esc clears it (Esc on Flows too)",
    "  < >  sort column   I  invert order   s  save the flow's frames to pcapng",
    "  f  flows   i  interfaces (capture points, drops, undecodable)   ?  help",
    "Filter",
    "  Words separated by spaces, case ignored; every word must match. A word",
    "  matches part of a name, namespace, IP, protocol, kind or encap (\"pod1\",",
    "  \"default\", \"cross\", \"ipip\"); a word of digits must equal a port (\"80\"",
    "  does not match 8080) or be part of an IP (\"184\").",
    "Columns",
    "  pkts, bytes →/←: client → server / server → client. p50/p99: one-way",
    "  latency from the first to the last capture point, client → server.",
    "  drops: packets of drop findings. seen: age of the last packet (capture",
    "  time). Red rows: drops or findings.",
    "Pause (p)",
    "  The view freezes; capture goes on. The flow table stays as it was; opening",
    "  a path or a packet fetches that flow or frame fresh. p again catches up.",
    "  The Path screen follows the newest packet until you step back with ←.",
};

void draw_help(const View& v, Canvas& c) {
    int y = 1;
    for (const char* line : kHelp) {
        const bool title = line[0] != ' ';
        c.put(0, y++, line, title ? Style::header : Style::normal);
    }
    draw_bottom(v, {{"any key", "closes"}}, c);
}

// ---- keys ----------------------------------------------------------------------------------

bool is_enter(int k) {
    return k == key::enter || k == key::ret || k == key::enter_pad;
}

bool is_back(int k) {
    return k == key::esc || k == key::backspace || k == key::del || k == key::backspace_ascii ||
           k == 'q';
}

// The selection `delta` rows on (clamped), or to the first/last row.
void move_selection(View& v, const Snapshot& s, int delta, bool to_first = false,
                    bool to_last = false) {
    const auto rows = visible_flows(s, v);
    if (rows.empty()) return;
    const int n = int(rows.size());
    int i = resolve(rows, v);
    i = to_first ? 0 : to_last ? n - 1 : std::clamp(i + delta, 0, n - 1);
    v.selected = rows[std::size_t(i)]->id;
    v.row = i;
    v.scroll = first_row(i, n, table_rows(v.height), v.scroll);
}

bool flow_movement(View& v, const Snapshot& s, int k) {
    const int page = table_rows(v.height);
    switch (k) {
        case key::up: move_selection(v, s, -1); return true;
        case key::down: move_selection(v, s, 1); return true;
        case key::page_up: move_selection(v, s, -page); return true;
        case key::page_down: move_selection(v, s, page); return true;
        case key::home: move_selection(v, s, 0, true); return true;
        case key::end: move_selection(v, s, 0, false, true); return true;
        default: return false;
    }
}

// Up/Down/PgUp/PgDn/Home/End on a body of `lines` lines with `visible` shown.
bool scroll_key(int& scroll, int k, int lines, int visible) {
    const int max = std::max(lines - visible, 0);
    switch (k) {
        case key::up:
        case 'k': scroll -= 1; break;
        case key::down:
        case 'j': scroll += 1; break;
        case key::page_up: scroll -= visible; break;
        case key::page_down: scroll += visible; break;
        case key::home: scroll = 0; break;
        case key::end: scroll = max; break;
        default: return false;
    }
    scroll = std::clamp(scroll, 0, max);
    return true;
}

Action flows_key(View& v, int k, const Snapshot& s) {
    if (v.typing) {
        if (k >= 0x20 && k < 0x7f) {
            v.filter.push_back(char(k));
        } else if (k == key::backspace || k == key::del || k == key::backspace_ascii) {
            if (!v.filter.empty()) v.filter.pop_back();
        } else if (is_enter(k)) {
            v.typing = false;
        } else if (k == key::esc) {
            v.filter.clear();
            v.typing = false;
        } else {
            flow_movement(v, s, k);
        }
        return {};
    }
    if (flow_movement(v, s, k)) return {};
    const auto rows = visible_flows(s, v);
    const int sel = resolve(rows, v);
    switch (k) {
        case 'k': move_selection(v, s, -1); break;
        case 'j': move_selection(v, s, 1); break;
        case 'q': v.quit = true; return {Action::Kind::quit};
        case '/': v.typing = true; break;
        case key::esc: v.filter.clear(); break;
        case 's':
            if (sel >= 0) return {Action::Kind::save, rows[std::size_t(sel)]->id};
            v.message = "no flow to save";
            break;
        case '<':
        case '>': {
            // Among the columns shown; encap merged into kind counts as kind.
            const auto cols = shown_columns(v.width);
            const auto shown = [&cols](Column c) {
                return std::find(cols.begin(), cols.end(), c) != cols.end();
            };
            const Column now =
                v.sort == Column::encap && !shown(Column::encap) ? Column::kind : v.sort;
            const auto it = std::find(cols.begin(), cols.end(), now);
            int i = it == cols.end() ? (k == '>' ? -1 : int(cols.size())) : int(it - cols.begin());
            i = std::clamp(i + (k == '>' ? 1 : -1), 0, int(cols.size()) - 1);
            v.sort = cols[std::size_t(i)];
            break;
        }
        case 'I': v.descending = !v.descending; break;
        default:
            if (is_enter(k) && sel >= 0) {
                v.selected = rows[std::size_t(sel)]->id;
                v.row = sel;
                v.flow = v.selected;
                v.packet = 0;
                v.hop = 0;
                v.path_scroll = 0;
                v.screen = Screen::path;
            }
    }
    return {};
}

// Scrolls the Path body so the selected hop shows, with the line above (a box's top) and the
// one below (a NAT rewrite) when there is room.
void show_hop(View& v, const PathBody& b) {
    if (b.hop_y.empty()) return;
    const int y = b.hop_y[std::size_t(std::clamp(v.hop, 0, int(b.hop_y.size()) - 1))];
    const int visible = path_visible(v.height);
    v.path_scroll = std::max(std::min(v.path_scroll, y - 1), y + 2 - visible);
    v.path_scroll = std::clamp(v.path_scroll, 0, std::max(b.c.height() - visible, 0));
}

Action path_key(View& v, int k, const Snapshot& s) {
    if (is_back(k)) {
        v.screen = Screen::flows;
        return {};
    }
    if (k == 's') return {Action::Kind::save, v.flow};
    if (!s.detail || s.detail->row.id != v.flow) return {};
    const FlowDetail& d = *s.detail;
    const PacketPath* p = current_packet(d, v);
    if (!p) return {};
    const int hops = int(p->hops.size());
    switch (k) {
        case key::left:
        case 'h':
        case 'N':
        case key::right:
        case 'l':
        case 'n': {
            const bool newer = k == key::right || k == 'l' || k == 'n';
            const auto i = p - d.packets.data() + (newer ? 1 : -1);
            if (i < 0) break;
            // Back at the newest: follow new packets again.
            v.packet = i + 1 >= std::ssize(d.packets) ? 0 : d.packets[std::size_t(i)].number;
            const auto now = int(current_packet(d, v)->hops.size());
            v.hop = std::clamp(v.hop, 0, std::max(now - 1, 0));
            show_hop(v, path_body(d, v, v.width));
            break;
        }
        case key::up:
        case 'k':
        case key::down:
        case 'j':
            v.hop =
                std::clamp(v.hop + (k == key::up || k == 'k' ? -1 : 1), 0, std::max(hops - 1, 0));
            show_hop(v, path_body(d, v, v.width));
            break;
        case key::page_up:
        case key::page_down:
        case key::home:
        case key::end:
            scroll_key(v.path_scroll, k, path_body(d, v, v.width).c.height(),
                       path_visible(v.height));
            break;
        default:
            if (is_enter(k) && hops > 0) {
                const HopRow& h = p->hops[std::size_t(std::clamp(v.hop, 0, hops - 1))];
                if (h.frame == 0) {
                    v.message = "frame not kept";
                } else {
                    v.frame = h.frame;
                    v.packet_scroll = 0;
                    v.screen = Screen::packet;
                }
            }
    }
    return {};
}

Action packet_key(View& v, int k, const Snapshot& s) {
    if (is_back(k)) {
        v.screen = Screen::path;
        return {};
    }
    const int lines = s.packet ? packet_body(*s.packet, v.width).height() : 0;
    scroll_key(v.packet_scroll, k, lines, std::max(v.height - 3, 1));
    return {};
}

Action interfaces_key(View& v, int k, const Snapshot& s) {
    if (is_back(k)) {
        v.screen = v.back;
        return {};
    }
    scroll_key(v.interfaces_scroll, k, interfaces_body(s, v.width).height(),
               std::max(v.height - 3, 1));
    return {};
}

bool same(const Query& a, const Query& b) {
    return a.flow == b.flow && a.frame == b.frame;
}

}  // namespace

const char* column_name(Column c) {
    switch (c) {
        case Column::packets: return "packets";
        case Column::bytes: return "bytes";
        case Column::latency: return "latency";
        case Column::seen: return "last seen";
        default: return header_of(c, false);
    }
}

Query query(const View& v) {
    // Help and Interfaces ask for what is under them, so going back needs no new snapshot.
    Screen base = v.screen == Screen::help ? v.under : v.screen;
    if (base == Screen::interfaces) base = v.back;
    switch (base) {
        case Screen::path: return {v.flow, 0};
        case Screen::packet: return {v.flow, v.frame};
        default: return {};
    }
}

bool filter_matches(const FlowRow& f, std::string_view filter) {
    for (const std::string& w : words(lower(filter))) {
        const bool digits = std::all_of(
            w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
        const bool ok = digits ? w == std::to_string(f.sport) || w == std::to_string(f.dport) ||
                                     f.src_addr.find(w) != std::string::npos ||
                                     f.dst_addr.find(w) != std::string::npos
                               : f.search.find(w) != std::string::npos;
        if (!ok) return false;
    }
    return true;
}

std::vector<const FlowRow*> visible_flows(const Snapshot& s, const View& v) {
    std::vector<const FlowRow*> out;
    out.reserve(s.flows.size());
    for (const FlowRow& f : s.flows) {
        if (filter_matches(f, v.filter)) out.push_back(&f);
    }
    std::stable_sort(out.begin(), out.end(), [&v](const FlowRow* a, const FlowRow* b) {
        const int c = compare(*a, *b, v.sort);
        if (c != 0) return v.descending ? c > 0 : c < 0;
        return a->id < b->id;
    });
    return out;
}

std::vector<Column> shown_columns(int width) {
    std::vector<Column> out;
    for (const Col& c : flow_layout(std::max(width, kMinWidth)).cols) out.push_back(c.col);
    return out;
}

Action handle_key(View& v, int k, const Snapshot& s) {
    if (k == key::ctrl_c) {
        v.quit = true;
        return {Action::Kind::quit};
    }
    if (k == key::resize) return {};
    v.message.clear();
    const Query before = query(v);
    const bool was_paused = v.paused;
    Action a;
    if (v.screen == Screen::help) {
        v.screen = v.under;
    } else if (v.screen == Screen::flows && v.typing) {
        a = flows_key(v, k, s);
    } else if (k == 'p') {
        v.paused = !v.paused;
    } else if (k == '?') {
        v.under = v.screen;
        v.screen = Screen::help;
    } else if (k == 'i') {
        if (v.screen != Screen::interfaces) v.back = v.screen;
        v.screen = Screen::interfaces;
    } else if (k == 'f') {
        v.screen = Screen::flows;
    } else {
        switch (v.screen) {
            case Screen::flows: a = flows_key(v, k, s); break;
            case Screen::path: a = path_key(v, k, s); break;
            case Screen::packet: a = packet_key(v, k, s); break;
            case Screen::interfaces: a = interfaces_key(v, k, s); break;
            case Screen::help: break;
        }
    }
    if (a.kind == Action::Kind::none && (!same(before, query(v)) || (was_paused && !v.paused))) {
        a.kind = Action::Kind::refresh;
    }
    return a;
}

void show_save_result(View& v, const std::expected<std::string, Error>& result) {
    v.message = result ? *result : "save failed: " + result.error().message;
}

void draw(const Snapshot& s, const View& v, Canvas& c) {
    c.clear();
    if (c.width() < kMinWidth || c.height() < kMinHeight) {
        c.put(0, 0,
              "terminal too small: " + std::to_string(c.width()) + 'x' +
                  std::to_string(c.height()) + ", need " + std::to_string(kMinWidth) + 'x' +
                  std::to_string(kMinHeight));
        return;
    }
    draw_top(s, v, c);
    switch (v.screen) {
        case Screen::flows: draw_flows(s, v, c); break;
        case Screen::path: draw_path(s, v, c); break;
        case Screen::packet: draw_packet(s, v, c); break;
        case Screen::interfaces: draw_interfaces(s, v, c); break;
        case Screen::help: draw_help(v, c); break;
    }
}

}  // namespace podtrace::tui

#pragma once
// The TUI's state and behaviour without a terminal: what is shown (View), what a key does to it
// (handle_key), and every screen drawn from a Snapshot into a Canvas (draw). All pure, so each
// screen can be checked from a hand-made Snapshot.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "tui/canvas.hpp"
#include "tui/snapshot.hpp"

namespace podtrace::tui {

// Key codes: characters as themselves, the rest as curses' KEY_* values (terminal.cpp checks
// they agree; this header does not include curses).
namespace key {
inline constexpr int ctrl_c = 3, backspace_ascii = 8, tab = 9, enter = 10, ret = 13, esc = 27,
                     del = 127;
inline constexpr int down = 0402, up = 0403, left = 0404, right = 0405, home = 0406,
                     backspace = 0407, page_down = 0522, page_up = 0523, enter_pad = 0527,
                     end = 0550, resize = 0632;
}  // namespace key

enum class Screen : std::uint8_t { flows, path, packet, interfaces, help };

// The Flows table's columns, left to right; also the sort keys.
enum class Column : std::uint8_t {
    id,
    source,
    destination,
    proto,
    kind,
    encap,
    packets,
    bytes,
    latency,
    drops,
    seen
};
inline constexpr int column_count = 11;
const char* column_name(Column c);  // "id", "source", … "last seen"

struct View {
    Screen screen = Screen::flows;
    Screen back = Screen::flows;   // where Esc goes from Interfaces
    Screen under = Screen::flows;  // what Help was opened over (any key returns there)
    // The canvas size; the runner keeps it current (page moves and layouts depend on it).
    int width = 80, height = 24;

    // Flows. The selection is a flow id, so it stays on its flow across refreshes and re-sorts;
    // `row` is where it was, for when that flow is filtered out or evicted.
    std::uint32_t selected = 0;
    int row = 0, scroll = 0;
    Column sort = Column::id;
    bool descending = false;
    std::string filter;
    bool typing = false;  // the filter prompt has the keyboard
    bool paused = false;

    // Path: the flow shown, the packet (PacketPath::number; 0 follows the newest) and the hop.
    std::uint32_t flow = 0;
    std::uint64_t packet = 0;
    int hop = 0, path_scroll = 0;

    // Packet.
    std::uint64_t frame = 0;
    int packet_scroll = 0;

    int interfaces_scroll = 0;
    std::string message;  // shown in the bottom line until the next key
    bool quit = false;
};

struct Action {
    enum class Kind : std::uint8_t {
        none,
        quit,     // leave
        save,     // Model::save(flow, dir), then set View::message
        refresh,  // the Snapshot in hand does not fit the view any more: take one now
    };
    Kind kind = Kind::none;
    std::uint32_t flow = 0;  // save
};

// What the Model must fill beyond the flow table for the view's screen.
Query query(const View& v);

// True when every word of `filter` matches (see the Help screen): a word of digits equals a
// port or is part of an IP, any other word is part of FlowRow::search.
bool filter_matches(const FlowRow& f, std::string_view filter);
// The Flows table's rows: filtered, then sorted (ties by id).
std::vector<const FlowRow*> visible_flows(const Snapshot& s, const View& v);
// The columns the Flows table shows at `width` (kind stands for "kind/encap" when encap is
// merged into it).
std::vector<Column> shown_columns(int width);

Action handle_key(View& v, int key, const Snapshot& s);

// Every screen; same inputs, same canvas. Below 80x24 a one-line "terminal too small".
void draw(const Snapshot& s, const View& v, Canvas& c);

// What Model::save answered, into the bottom line.
void show_save_result(View& v, const std::expected<std::string, Error>& result);

}  // namespace podtrace::tui

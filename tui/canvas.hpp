#pragma once
// A grid of styled cells that every screen draws into: the terminal blits it to the screen, the
// tests and --snapshot print it. One code point is one cell: the UI emits ASCII, box drawing and
// arrows only, all of them one column wide.
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace podtrace::tui {

// The letter is what to_text(true) prints for the style.
enum class Style : std::uint8_t {
    normal,     // ' '
    title,      // 'T': the top bar
    header,     // 'H': column headers, section titles
    selected,   // 'S': the selected row
    dim,        // 'D': secondary text (latency between hops)
    highlight,  // 'N': a NAT rewrite, an active filter
    bad,        // 'B': drops, errors, findings
    good,       // 'G': a packet that reached its end
    key,        // 'K': a key in the hints
    box,        // 'X': box drawing
};
char style_letter(Style s);

struct Cell {
    char32_t ch = U' ';
    Style style = Style::normal;
    bool operator==(const Cell&) const = default;
};

// What may not be shown as it is (controls, C1 controls, invalid UTF-8: core/printable.hpp)
// decodes to the four cells of \xNN, as the text outputs show it.
std::u32string utf32(std::string_view utf8);
std::string utf8(std::u32string_view text);
int text_width(std::string_view utf8);
// At most `width` cells; when cut, the last cell is '…'.
std::string ellipsize(std::string_view utf8, int width);

class Canvas {
public:
    explicit Canvas(int width = 0, int height = 0) { resize(width, height); }

    int width() const { return width_; }
    int height() const { return height_; }
    void resize(int width, int height);  // clears
    int add_row();                       // a blank row at the bottom (bodies built line by line)
    void clear();
    const Cell& at(int x, int y) const { return cells_[std::size_t(y) * width_ + x]; }

    // Text from (x, y) rightwards, cut at `max_width` cells and at the canvas's edges. Returns
    // the x after the last cell (as if nothing were cut at the right edge).
    int put(int x, int y, std::string_view utf8, Style style = Style::normal,
            int max_width = INT_MAX);
    void fill(int x, int y, int w, int h, Style style, char32_t ch = U' ');
    void paint(int x, int y, int w, Style style);  // restyles a run, keeps the characters
    // ┌─┐│└┘ around the rectangle (w, h >= 2); the inside is left alone.
    void box(int x, int y, int w, int h, Style style = Style::box);
    // Rows [from, from + rows) of `src` to rows [y, y + rows) here, left-aligned; cut to fit.
    void blit(const Canvas& src, int from, int rows, int y);

    // One line per row, trailing spaces trimmed; with `styles`, then "--- styles ---" and one
    // letter per cell (style_letter), trimmed the same way.
    std::string to_text(bool styles) const;

private:
    Cell* cell(int x, int y) {
        return x < 0 || y < 0 || x >= width_ || y >= height_ ? nullptr
                                                             : &cells_[std::size_t(y) * width_ + x];
    }
    int width_ = 0, height_ = 0;
    std::vector<Cell> cells_;
};

}  // namespace podtrace::tui

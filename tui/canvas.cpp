#include "tui/canvas.hpp"

#include <algorithm>

#include "core/printable.hpp"

namespace podtrace::tui {

char style_letter(Style s) {
    switch (s) {
        case Style::normal: return ' ';
        case Style::title: return 'T';
        case Style::header: return 'H';
        case Style::selected: return 'S';
        case Style::dim: return 'D';
        case Style::highlight: return 'N';
        case Style::bad: return 'B';
        case Style::good: return 'G';
        case Style::key: return 'K';
        case Style::box: return 'X';
    }
    return '?';
}

std::u32string utf32(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const int n = core::printable_length(s, i);
        if (n == 0) {  // shown as \xNN, as the text outputs show it
            std::string esc;
            core::append_escaped(static_cast<unsigned char>(s[i]), esc);
            out.append(esc.begin(), esc.end());
            ++i;
            continue;
        }
        const auto b = static_cast<unsigned char>(s[i]);
        char32_t c = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
        for (int k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        out.push_back(c);
        i += static_cast<std::size_t>(n);
    }
    return out;
}

std::string utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text) {
        if (c < 0x80) {
            out.push_back(char(c));
        } else if (c < 0x800) {
            out.push_back(char(0xc0 | (c >> 6)));
            out.push_back(char(0x80 | (c & 0x3f)));
        } else if (c < 0x10000) {
            out.push_back(char(0xe0 | (c >> 12)));
            out.push_back(char(0x80 | ((c >> 6) & 0x3f)));
            out.push_back(char(0x80 | (c & 0x3f)));
        } else {
            out.push_back(char(0xf0 | (c >> 18)));
            out.push_back(char(0x80 | ((c >> 12) & 0x3f)));
            out.push_back(char(0x80 | ((c >> 6) & 0x3f)));
            out.push_back(char(0x80 | (c & 0x3f)));
        }
    }
    return out;
}

int text_width(std::string_view s) {
    int w = 0;
    for (std::size_t i = 0; i < s.size(); ++w) {
        const int n = core::printable_length(s, i);
        i += n > 0 ? static_cast<std::size_t>(n) : 1;
        if (n == 0) w += 3;  // \xNN
    }
    return w;
}

std::string ellipsize(std::string_view s, int width) {
    if (width <= 0) return {};
    if (text_width(s) <= width) return std::string(s);
    std::u32string u = utf32(s);
    u.resize(std::size_t(width - 1));
    u.push_back(U'…');
    return utf8(u);
}

void Canvas::resize(int width, int height) {
    width_ = std::max(width, 0);
    height_ = std::max(height, 0);
    cells_.assign(std::size_t(width_) * height_, Cell{});
}

int Canvas::add_row() {
    cells_.resize(cells_.size() + std::size_t(width_));
    return height_++;
}

void Canvas::clear() {
    std::fill(cells_.begin(), cells_.end(), Cell{});
}

int Canvas::put(int x, int y, std::string_view s, Style style, int max_width) {
    const std::u32string u = utf32(s);
    const int n = std::min(int(u.size()), std::max(max_width, 0));
    for (int i = 0; i < n; ++i) {
        if (Cell* c = cell(x + i, y)) *c = {u[std::size_t(i)], style};
    }
    return x + n;
}

void Canvas::fill(int x, int y, int w, int h, Style style, char32_t ch) {
    for (int r = y; r < y + h; ++r) {
        for (int col = x; col < x + w; ++col) {
            if (Cell* c = cell(col, r)) *c = {ch, style};
        }
    }
}

void Canvas::paint(int x, int y, int w, Style style) {
    for (int col = x; col < x + w; ++col) {
        if (Cell* c = cell(col, y)) c->style = style;
    }
}

void Canvas::box(int x, int y, int w, int h, Style style) {
    if (w < 2 || h < 2) return;
    fill(x + 1, y, w - 2, 1, style, U'─');
    fill(x + 1, y + h - 1, w - 2, 1, style, U'─');
    fill(x, y + 1, 1, h - 2, style, U'│');
    fill(x + w - 1, y + 1, 1, h - 2, style, U'│');
    fill(x, y, 1, 1, style, U'┌');
    fill(x + w - 1, y, 1, 1, style, U'┐');
    fill(x, y + h - 1, 1, 1, style, U'└');
    fill(x + w - 1, y + h - 1, 1, 1, style, U'┘');
}

void Canvas::blit(const Canvas& src, int from, int rows, int y) {
    for (int r = 0; r < rows; ++r) {
        if (from + r < 0 || from + r >= src.height_) continue;
        for (int col = 0; col < std::min(width_, src.width_); ++col) {
            if (Cell* c = cell(col, y + r)) *c = src.at(col, from + r);
        }
    }
}

std::string Canvas::to_text(bool styles) const {
    std::string out;
    auto trimmed = [&out](std::u32string& line) {
        while (!line.empty() && line.back() == U' ') line.pop_back();
        out += utf8(line);
        out += '\n';
        line.clear();
    };
    std::u32string line;
    for (int y = 0; y < height_; ++y) {
        for (int x = 0; x < width_; ++x) line.push_back(at(x, y).ch);
        trimmed(line);
    }
    if (!styles) return out;
    out += "--- styles ---\n";
    for (int y = 0; y < height_; ++y) {
        for (int x = 0; x < width_; ++x) line.push_back(char32_t(style_letter(at(x, y).style)));
        trimmed(line);
    }
    return out;
}

}  // namespace podtrace::tui

#include <catch2/catch.hpp>

#include "tui/canvas.hpp"

using namespace podtrace::tui;

TEST_CASE("canvas: put clips at max_width and at the right edge") {
    Canvas c(10, 2);
    CHECK(c.put(2, 0, "abcdef", Style::normal, 3) == 5);
    CHECK(c.put(7, 1, "wxyz") == 11);  // returns where it would end
    CHECK(c.to_text(false) == "  abc\n       wxy\n");
    CHECK(c.at(9, 1).ch == U'y');
}

TEST_CASE("canvas: writes outside the canvas are dropped") {
    Canvas c(4, 1);
    c.put(-2, 0, "abcdef");
    c.put(0, 5, "zz");
    c.put(0, -1, "zz");
    CHECK(c.to_text(false) == "cdef\n");
}

TEST_CASE("canvas: UTF-8 is one cell per code point") {
    CHECK(text_width("→ ←") == 3);
    CHECK(text_width("┌─┐") == 3);
    Canvas c(6, 1);
    c.put(0, 0, "a→b┐…");
    CHECK(c.at(1, 0).ch == U'→');
    CHECK(c.at(3, 0).ch == U'┐');
    CHECK(c.at(4, 0).ch == U'…');
    CHECK(c.to_text(false) == "a→b┐…\n");
}

TEST_CASE("canvas: invalid UTF-8 and control characters are shown as \\xNN") {
    CHECK(utf8(utf32("a\xff"
                     "b\tc\xe2\x86")) == "a\\xffb\\x09c\\xe2\\x86");
    // An interface name with ESC [2J, a C1 CSI and an overlong '/': none reaches the terminal.
    const std::string hostile = "eth\x1b[2J\xc2\x9b"
                                "0\xc0\xaf";
    CHECK(utf8(utf32(hostile)) == "eth\\x1b[2J\\xc2\\x9b0\\xc0\\xaf");
    CHECK(text_width(hostile) == static_cast<int>(utf32(hostile).size()));
    Canvas c(40, 1);
    c.put(0, 0, hostile);
    CHECK(c.to_text(false) == "eth\\x1b[2J\\xc2\\x9b0\\xc0\\xaf\n");
    CHECK(ellipsize(hostile, 8) == "eth\\x1b…");
    CHECK(utf8(utf32("pod→1 ✓")) == "pod→1 ✓");
}

TEST_CASE("canvas: ellipsize") {
    CHECK(ellipsize("default/pod1", 20) == "default/pod1");
    CHECK(ellipsize("default/pod1", 12) == "default/pod1");
    CHECK(ellipsize("default/pod1", 8) == "default…");
    CHECK(ellipsize("→→→→", 2) == "→…");
    CHECK(ellipsize("abc", 0).empty());
}

TEST_CASE("canvas: box draws the corners and edges, leaves the inside") {
    Canvas c(5, 3);
    c.put(1, 1, "xyz");
    c.box(0, 0, 5, 3);
    CHECK(c.to_text(false) == "┌───┐\n│xyz│\n└───┘\n");
    CHECK(c.at(0, 0).style == Style::box);
    CHECK(c.at(2, 1).style == Style::normal);
}

TEST_CASE("canvas: to_text trims trailing spaces and prints the styles layer") {
    Canvas c(8, 3);
    c.fill(0, 0, 8, 1, Style::title);
    c.put(1, 0, "top", Style::title);
    c.put(0, 1, "bad", Style::bad);
    c.put(4, 1, "ok ", Style::good);
    c.paint(0, 2, 2, Style::selected);
    CHECK(c.to_text(false) == " top\nbad ok\n\n");
    CHECK(c.to_text(true) == " top\nbad ok\n\n--- styles ---\nTTTTTTTT\nBBB GGG\nSS\n");
}

TEST_CASE("canvas: add_row keeps what is drawn, blit copies rows") {
    Canvas body(4, 0);
    for (const char* s : {"r0", "r1", "r2", "r3"}) body.put(0, body.add_row(), s, Style::dim);
    CHECK(body.height() == 4);
    Canvas c(6, 3);
    c.put(0, 0, "keep");
    c.blit(body, 2, 5, 1);  // rows 2 and 3; the rest of the request is out of both canvases
    CHECK(c.to_text(true) == "keep\nr2\nr3\n--- styles ---\n\nDD\nDD\n");
}

TEST_CASE("canvas: style letters are distinct") {
    std::string letters;
    for (int s = 0; s <= int(Style::box); ++s) letters += style_letter(Style(s));
    CHECK(letters == " THSDNBGKX");
}

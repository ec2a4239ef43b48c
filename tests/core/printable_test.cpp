// What may reach a terminal from input: printable ASCII and valid UTF-8 of printable code
// points; everything else as \xNN.
#include <catch2/catch.hpp>
#include <string>

#include "core/printable.hpp"

using podtrace::core::printable;
using podtrace::core::printable_length;

TEST_CASE("printable: ASCII and valid UTF-8 stay as they are") {
    CHECK(printable("k8s-w1/cali49778cadcf1") == "k8s-w1/cali49778cadcf1");
    CHECK(printable("pod→1 ✓ 😀") == "pod→1 ✓ 😀");
    CHECK(printable("\xc2\xa0") == "\xc2\xa0");          // U+00A0, the first past the C1 block
    CHECK(printable("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf");  // U+10FFFF
}

TEST_CASE("printable: controls, DEL and C1 controls are escaped") {
    CHECK(printable("a\x1b[2Jb") == "a\\x1b[2Jb");
    CHECK(printable("t\x1b]0;title\x07") == "t\\x1b]0;title\\x07");
    CHECK(printable(std::string("nul\0x", 5)) == "nul\\x00x");
    CHECK(printable("del\x7f") == "del\\x7f");
    CHECK(printable("csi\xc2\x9b" "31m") == "csi\\xc2\\x9b31m");  // U+009B, an 8-bit CSI
    CHECK(printable("tab\tend") == "tab\\x09end");
    CHECK(printable("two\nlines") == "two\\x0alines");
    CHECK(printable("two\nlines", true) == "two\nlines");
}

TEST_CASE("printable: what is not UTF-8 is escaped byte by byte") {
    CHECK(printable("\xff\xfe") == "\\xff\\xfe");
    CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");          // an overlong '/'
    CHECK(printable("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");  // overlong, three bytes
    CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
    CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
    CHECK(printable("\xe2\x86") == "\\xe2\\x86");          // cut short
    CHECK(printable("\x80x") == "\\x80x");                 // a stray continuation byte
}

TEST_CASE("printable_length: a sequence cut by the end of a chunk is undecided") {
    CHECK(printable_length("\xe2\x86", 0, true) == -1);
    CHECK(printable_length("\xe2\x86", 0, false) == 0);
    CHECK(printable_length("\xe2\x86\x92", 0, true) == 3);
    CHECK(printable_length("\xe2\x41", 0, true) == 0);  // already wrong: decided
}

TEST_CASE("skip_plain: stops at the first byte to look at, wherever it lies in a word") {
    using podtrace::core::skip_plain;
    for (std::size_t at = 0; at < 20; ++at) {
        for (const char bad : {'\x1b', '\x7f', '\xc3', '\t'}) {
            std::string s(20, 'a');
            s[at] = bad;
            s[(at + 5) % 20] = at + 5 < 20 ? '\n' : 'a';  // newlines are plain
            CHECK(skip_plain(s, 0) == at);
            CHECK(skip_plain(s, at + 1) == 20);
        }
    }
    CHECK(skip_plain(std::string(17, '\n'), 0) == 17);
}

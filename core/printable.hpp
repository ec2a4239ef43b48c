#pragma once
// What podtrace lets reach a terminal or a text file from its input (interface names, pcapng
// comments, kubectl names, /proc hostnames, file names): printable ASCII and valid UTF-8 as they
// are; C0 controls, DEL, C1 controls (U+0080–U+009F, which some terminals take as escape
// sequences) and bytes that are not valid UTF-8 as `\xNN`, as tcpdump's fn_print shows them. So a
// capture cannot clear the screen, retitle the window or garble the rest of the output.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace podtrace::core {

// The length of the code point at s[i] when it may be shown as it is (1 to 4 bytes), or 0 when
// its first byte must be escaped: a control, DEL, a C1 control, or not valid UTF-8 (overlong,
// surrogate, past U+10FFFF, cut short). `more`: bytes may follow s.end() (a stream cut into
// chunks): a sequence cut by the end gives -1, "undecided", instead of 0.
inline int printable_length(std::string_view s, std::size_t i, bool more = false) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b = byte(i);
    if (b >= 0x20 && b < 0x7f) return 1;
    int n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        if (b == 0xe0) lo = 0xa0;  // overlong
        if (b == 0xed) hi = 0x9f;  // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        if (b == 0xf0) lo = 0x90;  // overlong
        if (b == 0xf4) hi = 0x8f;  // past U+10FFFF
    } else {
        return 0;  // ASCII control, DEL, a stray continuation byte, C0/C1/F5..FF leads
    }
    for (int k = 1; k < n; ++k) {
        if (i + k >= s.size()) return more ? -1 : 0;
        const unsigned char c = byte(i + k);
        if (k == 1 ? (c < lo || c > hi) : (c & 0xc0) != 0x80) return 0;
    }
    if (b == 0xc2 && byte(i + 1) < 0xa0) return 0;  // U+0080–U+009F: C1 controls
    return n;
}

// The first index from `i` on whose byte is not printable ASCII or a newline (s.size() if none):
// eight bytes at a time, since nearly all of a document is plain.
inline std::size_t skip_plain(std::string_view s, std::size_t i) {
    constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
    while (i < s.size()) {
        if (i + 8 <= s.size()) {
            std::uint64_t x = 0;
            __builtin_memcpy(&x, s.data() + i, 8);
            const bool low = ((x - ones * 0x20) & ~x & highs) != 0;  // a byte below 0x20
            const bool high = (((x + ones) | x) & highs) != 0;       // a byte of 0x7f or more
            if (!low && !high) {
                i += 8;
                continue;
            }
        }
        // A word holding a newline, or something to look at: byte by byte.
        for (const std::size_t end = std::min(i + 8, s.size()); i < end; ++i) {
            const auto b = static_cast<unsigned char>(s[i]);
            if ((b < 0x20 && b != '\n') || b >= 0x7f) return i;
        }
    }
    return i;
}

// Appends the byte as `\xNN`.
inline void append_escaped(unsigned char b, std::string& out) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 15];
}

// Appends `s` with what may not be shown escaped; newlines are kept when `newlines` (a text
// document's lines), escaped otherwise (a name on one line).
inline void append_printable(std::string_view s, std::string& out, bool newlines = false) {
    for (std::size_t i = 0; i < s.size();) {
        const int n = printable_length(s, i);
        if (n > 0) {
            out.append(s.data() + i, static_cast<std::size_t>(n));
            i += static_cast<std::size_t>(n);
        } else {
            if (s[i] == '\n' && newlines)
                out += '\n';
            else
                append_escaped(static_cast<unsigned char>(s[i]), out);
            ++i;
        }
    }
}

inline std::string printable(std::string_view s, bool newlines = false) {
    std::string out;
    out.reserve(s.size());
    append_printable(s, out, newlines);
    return out;
}

}  // namespace podtrace::core

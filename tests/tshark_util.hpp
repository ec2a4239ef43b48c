#pragma once
// Text helpers of the tests that run tshark and compare its fields with podtrace's.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace podtrace::test {

inline std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    if (s.empty()) return out;
    for (std::size_t start = 0;;) {
        const std::size_t end = s.find(sep, start);
        out.emplace_back(s.substr(start, end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

// tshark's aggregator: values joined by ','.
inline std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += ',';
        out += s;
    }
    return out;
}

inline bool is_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

inline std::string shell_quote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

inline bool on_path(const char* exe) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return false;
    for (const auto& dir : split(path, ':')) {
        const std::filesystem::path p = std::filesystem::path(dir.empty() ? "." : dir) / exe;
        if (::access(p.c_str(), X_OK) == 0) return true;
    }
    return false;
}

}  // namespace podtrace::test

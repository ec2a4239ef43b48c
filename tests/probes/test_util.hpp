#pragma once
// Shell helpers for the probes tests: setting up namespaces and asking tshark/capinfos.
#include <cstdio>
#include <cstdlib>
#include <string>

namespace podtrace::test {

// Runs a command quietly; true when it exited 0.
inline bool sh(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

inline bool have(const char* tool) {
    return sh(std::string("command -v ") + tool);
}

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a shell command and returns its standard output; `ok` is false on a non-zero exit.
inline std::string run(const std::string& cmd, bool& ok) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        ok = false;
        return out;
    }
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ok = ::pclose(p) == 0;
    return out;
}

}  // namespace podtrace::test

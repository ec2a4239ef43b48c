#pragma once
// Test data: the kubectl and discover JSON files under tests/trace/data/, and addresses.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "trace/ip.hpp"

namespace podtrace::test {

inline std::string slurp(const std::string& name) {
    std::ifstream in(std::string(PODTRACE_SOURCE_DIR) + "/tests/trace/data/" + name);
    REQUIRE(in);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline trace::IpAddr ip(const char* text) {
    return *trace::IpAddr::parse(text);
}

}  // namespace podtrace::test

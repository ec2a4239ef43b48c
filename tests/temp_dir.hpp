#pragma once
// A fresh directory for a test, removed with what it holds at the end of the scope.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

namespace podtrace::test {

struct TempDir {
    std::string path;
    explicit TempDir(const std::string& prefix = "podtrace-test") {
        std::string t = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        REQUIRE(::mkdtemp(t.data()));
        path = t;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return path + '/' + name; }
};

}  // namespace podtrace::test

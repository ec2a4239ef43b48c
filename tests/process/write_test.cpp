#include "process/write.hpp"

#include <fcntl.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "process/fd.hpp"
#include "tests/temp_dir.hpp"

using namespace podtrace::process;
namespace fs = std::filesystem;

using podtrace::test::slurp;
using podtrace::test::TempDir;

TEST_CASE("replace_file replaces whole and leaves nothing beside") {
    TempDir tmp;
    const auto file = tmp.path / "pods.json";
    REQUIRE(replace_file(file.string(), "old\n").has_value());
    REQUIRE(replace_file(file.string(), "new\n").has_value());
    CHECK(slurp(file) == "new\n");
    CHECK(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator()) == 1);
}

TEST_CASE("replace_file names the path and the step that failed") {
    TempDir tmp;
    fs::create_directories(tmp.path / "nodes.json");  // rename(2) cannot put a file there
    auto r = replace_file((tmp.path / "nodes.json").string(), "x");
    REQUIRE_FALSE(r.has_value());
    const std::string path = (tmp.path / "nodes.json").string();
    CHECK_THAT(r.error().message, Catch::StartsWith("cannot write " + path + ": rename: "));
    CHECK(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator()) == 1);
    auto missing = replace_file((tmp.path / "no/such/dir").string(), "x");
    REQUIRE_FALSE(missing.has_value());
    CHECK_THAT(missing.error().message, Catch::Contains("creating ") &&
                                            Catch::EndsWith("No such file or directory"));
}

TEST_CASE("write_all: the whole text, or the system's reason") {
    TempDir tmp;
    const auto file = tmp.path / "out";
    {
        Fd fd(open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        REQUIRE(fd.get() >= 0);
        REQUIRE(write_all(fd.get(), std::string(100000, 'x')).has_value());
    }
    CHECK(fs::file_size(file) == 100000);
    Fd read_only(open(file.c_str(), O_RDONLY | O_CLOEXEC));
    auto r = write_all(read_only.get(), "x");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "Bad file descriptor");
}

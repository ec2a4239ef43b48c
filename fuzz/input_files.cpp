#include "fuzz/input_files.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz/pcapng_walk.hpp"
#include "probes/pcapng_format.hpp"

namespace podtrace::fuzz {
namespace {

namespace fs = std::filesystem;

// Removed when the process ends normally (-runs=N, -max_total_time); a crash leaves it for
// the reproducer's inspection.
struct Dir {
    fs::path path;
    Dir() {
        const char* tmp = std::getenv("TMPDIR");
        const fs::path base = tmp && *tmp              ? fs::path(tmp)
                              : fs::exists("/dev/shm") ? "/dev/shm"
                                                       : "/tmp";
        path = base / ("podtrace-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(path);
    }
    ~Dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

Dir& dir() {
    static Dir d;
    return d;
}

}  // namespace

std::string write_file(std::span<const std::uint8_t> data, const std::string& name) {
    const std::string path = (dir().path / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    if (!out.flush()) violated("cannot write " + path);
    return path;
}

std::vector<std::string> write_captures(std::span<const std::uint8_t> data, std::size_t max_files) {
    // Section starts: the SHBs met walking the blocks (a length that does not walk ends it).
    std::vector<std::size_t> starts{0};
    if (data.size() >= 4 && data[0] == 0x0a && data[1] == 0x0d && data[2] == 0x0d &&
        data[3] == 0x0a)
        walk_pcapng(
            data.data(), data.size(),
            [&](std::size_t off, std::uint32_t type, std::uint32_t, bool) {
                if (off > 0 && type == probes::pcapng::block_shb && starts.size() < max_files)
                    starts.push_back(off);
            });
    starts.push_back(data.size());
    std::vector<std::string> paths;
    for (std::size_t i = 0; i + 1 < starts.size(); ++i)
        paths.push_back(write_file(data.subspan(starts[i], starts[i + 1] - starts[i]),
                                   "capture" + std::to_string(i) + ".pcapng"));
    return paths;
}

void violated(const std::string& what) {
    std::fprintf(stderr, "podtrace fuzz: invariant violated: %s\n", what.c_str());
    std::fflush(stderr);
    __builtin_trap();
}

}  // namespace podtrace::fuzz

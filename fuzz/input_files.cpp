#include "fuzz/input_files.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

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
    // Section starts: offsets of SHBs met by walking the blocks' lengths (little-endian or
    // big, as each section says); a length that does not walk ends the search.
    std::vector<std::size_t> starts{0};
    const auto le32 = [&](std::size_t o) {
        return std::uint32_t{data[o]} | data[o + 1] << 8 | data[o + 2] << 16 |
               std::uint32_t{data[o + 3]} << 24;
    };
    bool little = true;
    std::size_t off = 0;
    while (off + 12 <= data.size() && le32(0) == probes::pcapng::block_shb) {
        if (le32(off) == probes::pcapng::block_shb) {
            little = data[off + 8] == 0x4d;
            if (off > 0 && starts.size() < max_files) starts.push_back(off);
        }
        std::uint32_t len = le32(off + 4);
        if (!little) len = __builtin_bswap32(len);
        if (len < 12 || len % 4 != 0 || len > data.size() - off) break;
        off += len;
    }
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

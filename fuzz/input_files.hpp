#pragma once
// The fuzz targets read their input as podtrace does, from files: each input is written to a
// directory of this process's own (under $TMPDIR, /dev/shm when it exists), removed at exit.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace podtrace::fuzz {

// `data` as up to `max_files` capture files: a pcapng is cut at each Section Header Block after
// its first (each section its own file, as one node's capture each), anything else is one file.
// Returns their paths, valid until the next call.
std::vector<std::string> write_captures(std::span<const std::uint8_t> data, std::size_t max_files);

// `data` as one file named `name` in the directory; returns its path.
std::string write_file(std::span<const std::uint8_t> data, const std::string& name);

// A violated invariant: a message and a trap, so libFuzzer keeps the input.
[[noreturn]] void violated(const std::string& what);

}  // namespace podtrace::fuzz

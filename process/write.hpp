#pragma once
// Writing whole: to a descriptor despite short writes, and files replaced atomically.
#include <expected>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace podtrace::process {

// Writes all of `text` (retrying short writes and EINTR). The error is the system's reason
// alone: the caller knows what the descriptor is.
std::expected<void, Error> write_all(int fd, std::string_view text);

// Writes a temporary file beside `path`, fsyncs it and renames it over `path`: a reader (or a
// crash) sees the old file or the new one, never a part. The error names the path and the step.
std::expected<void, Error> replace_file(const std::string& path, std::string_view text);

}  // namespace podtrace::process

#pragma once
// Where `report -o FILE` writes: a regular file (or a new one) is written beside it and renamed
// over it, so that a reader (a CI job) never sees half a report; anything else that exists
// (/dev/null, a FIFO, a terminal) is written in place, since renaming over it would replace the
// device itself.
#include <expected>
#include <string>

#include "core/error.hpp"

namespace podtrace::report {

// The error names the file: "-o DIR: is a directory", "cannot write FILE: ...".
std::expected<void, Error> write_output(const std::string& path, const std::string& text);

}  // namespace podtrace::report

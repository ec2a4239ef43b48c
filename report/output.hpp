#pragma once
// Where `report -o FILE` writes: a regular file (or a new one) is written beside it and renamed
// over it, so that a reader (a CI job) never sees half a report; anything else that exists
// (/dev/null, a FIFO, a terminal) is written in place, since renaming over it would replace the
// device itself.
#include <expected>
#include <functional>
#include <ostream>
#include <string>

#include "core/error.hpp"

namespace podtrace::report {

// `write` puts the text into the stream it is given, which passes it on to the file as it goes
// (a report of a million flows is never held whole). The error names the file: "-o DIR: is a
// directory", "cannot write FILE: ...".
std::expected<void, Error> write_output(const std::string& path,
                                        const std::function<void(std::ostream&)>& write);

}  // namespace podtrace::report

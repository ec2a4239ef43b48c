#pragma once
// A report drawn as text, JSON (one document, keys in the README), JUnit (a test case per
// --expect, the text report as system-out) or Markdown (for CI job summaries).
#include <iosfwd>

#include "report/report.hpp"

namespace podtrace::report {

void write_text(const Report& r, std::ostream& out);
void write_json(const Report& r, std::ostream& out);
void write_junit(const Report& r, std::ostream& out);
void write_markdown(const Report& r, std::ostream& out);
void write(const Report& r, Format f, std::ostream& out);

}  // namespace podtrace::report

#pragma once
// What every output of podtrace promises whatever its input, checked on each fuzz input.
#include <string_view>

namespace podtrace::fuzz {

// JSON that parses, and only printable ASCII (report -f json, decode -j).
void check_json(std::string_view json, std::string_view what);
// report -f json: the bytes one dump(2) of the parsed document gives, newline ended (the
// report writes flows and findings item by item, between the other keys in their sorted order).
void check_json_layout(std::string_view json, std::string_view what);
// No byte XML 1.0 forbids (controls other than tab, newline, return).
void check_xml_chars(std::string_view xml, std::string_view what);
// No control byte but newline: what reaches a terminal.
void check_terminal_text(std::string_view text, std::string_view what);

}  // namespace podtrace::fuzz

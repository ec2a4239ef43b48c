#pragma once
// Reading the JSON podtrace is given (kubectl's lists, the node facts a capture carries): one
// parse that says where it failed, and typed lookups whose errors name the value's path
// ("items[0].metadata.annotations[\"projectcalico.org/IPv4Address\"]: expected a string, got
// number"). Internal to trace/.
#include <cstddef>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace podtrace::trace::json_read {

using nlohmann::json;

// A read failure that already names its place in the document.
struct Bad {
    std::string message;
};

// The document, or "not JSON: ..." with the line and column of the fault (nlohmann's parse
// errors carry them; a number too large for a double, 1e400, gets them here).
std::expected<json, Error> parse(std::string_view text);

// `at`.`key`, or `at`["key"] for a key that is not a plain name; `key` alone at the top.
std::string key_path(const std::string& at, const char* key);

// The member at `key`; nullptr when absent or null.
const json* member(const json& obj, const char* key);
[[noreturn]] void wrong(const std::string& where, const char* expected, const json& got);
// Absent: nullptr (or empty, false, 0, the fallback); present and of another type: Bad.
const json* object_at(const json& obj, const char* key, const std::string& at);
const json* array_at(const json& obj, const char* key, const std::string& at);
std::string string_at(const json& obj, const char* key, const std::string& at,
                      std::string fallback = {});
bool bool_at(const json& obj, const char* key, const std::string& at);
unsigned unsigned_at(const json& obj, const char* key, const std::string& at);
// Absent or empty: Bad ("...: missing").
std::string required_string(const json& obj, const char* key, const std::string& at);

// Calls `f(element, place)` for each element of the array at `key` (absent: none).
template <typename F>
void each(const json& obj, const char* key, const std::string& at, F f) {
    const json* v = array_at(obj, key, at);
    if (!v) return;
    const std::string path = key_path(at, key);
    for (std::size_t i = 0; i < v->size(); ++i) f((*v)[i], path + "[" + std::to_string(i) + "]");
}

}  // namespace podtrace::trace::json_read

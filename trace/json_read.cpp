#include "trace/json_read.hpp"

#include <algorithm>
#include <cctype>

namespace podtrace::trace::json_read {
namespace {

// Where a parse stopped: nlohmann's DOM parser throws out_of_range 406 (1e400) without a
// position, while its SAX interface hands every error the byte offset.
struct ErrorAt final : nlohmann::json_sax<json> {
    std::size_t offset = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t at, const std::string&,
                     const nlohmann::detail::exception&) override {
        offset = at;
        return false;
    }
};

}  // namespace

std::expected<json, Error> parse(std::string_view text) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {  // its message has the line and column
        return std::unexpected(Error{std::string("not JSON: ") + e.what()});
    } catch (const json::exception& e) {
        ErrorAt h;
        json::sax_parse(text, &h);
        const std::string_view before = text.substr(0, std::min(h.offset, text.size()));
        const std::size_t line = 1 + std::ranges::count(before, '\n');
        const std::size_t nl = before.rfind('\n');
        const std::size_t column = before.size() - (nl == std::string_view::npos ? 0 : nl + 1);
        return std::unexpected(Error{std::string("not JSON: ") + e.what() + " at line " +
                                     std::to_string(line) + ", column " + std::to_string(column)});
    }
}

std::string key_path(const std::string& at, const char* key) {
    const std::string_view k = key;
    const bool plain = !k.empty() && !std::isdigit(static_cast<unsigned char>(k[0])) &&
                       std::ranges::all_of(k, [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                       });
    if (!plain) return at + "[\"" + std::string(k) + "\"]";
    return at.empty() ? std::string(k) : at + "." + std::string(k);
}

const json* member(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
}

void wrong(const std::string& where, const char* expected, const json& got) {
    throw Bad{where + ": expected " + expected + ", got " + got.type_name()};
}

const json* object_at(const json& obj, const char* key, const std::string& at) {
    const json* v = member(obj, key);
    if (v && !v->is_object()) wrong(key_path(at, key), "an object", *v);
    return v;
}

const json* array_at(const json& obj, const char* key, const std::string& at) {
    const json* v = member(obj, key);
    if (v && !v->is_array()) wrong(key_path(at, key), "an array", *v);
    return v;
}

std::string string_at(const json& obj, const char* key, const std::string& at,
                      std::string fallback) {
    const json* v = member(obj, key);
    if (!v) return fallback;
    if (!v->is_string()) wrong(key_path(at, key), "a string", *v);
    return v->get<std::string>();
}

bool bool_at(const json& obj, const char* key, const std::string& at) {
    const json* v = member(obj, key);
    if (!v) return false;
    if (!v->is_boolean()) wrong(key_path(at, key), "true or false", *v);
    return v->get<bool>();
}

unsigned unsigned_at(const json& obj, const char* key, const std::string& at) {
    const json* v = member(obj, key);
    if (!v) return 0;
    if (!v->is_number_unsigned()) wrong(key_path(at, key), "a number >= 0", *v);
    if (v->get<std::uint64_t>() > UINT32_MAX)
        throw Bad{key_path(at, key) + ": " + v->dump() + " is too large"};
    return v->get<unsigned>();
}

std::string required_string(const json& obj, const char* key, const std::string& at) {
    std::string s = string_at(obj, key, at);
    if (s.empty()) throw Bad{key_path(at, key) + ": missing"};
    return s;
}

}  // namespace podtrace::trace::json_read

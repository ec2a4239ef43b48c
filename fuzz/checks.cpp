#include "fuzz/checks.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "fuzz/input_files.hpp"

namespace podtrace::fuzz {
namespace {

std::string where(std::string_view what, std::string_view text, std::size_t i) {
    return std::string(what) + ": byte " + std::to_string(static_cast<unsigned char>(text[i])) +
           " at offset " + std::to_string(i);
}

}  // namespace

void check_json(std::string_view json, std::string_view what) {
    for (std::size_t i = 0; i < json.size(); ++i) {
        const auto c = static_cast<unsigned char>(json[i]);
        if ((c < 0x20 && c != '\n') || c >= 0x7f) violated(where(what, json, i));
    }
    if (!nlohmann::json::accept(json)) violated(std::string(what) + ": not JSON");
}

void check_json_layout(std::string_view json, std::string_view what) {
    const auto doc = nlohmann::json::parse(json);
    if (doc.dump(2, ' ', true, nlohmann::json::error_handler_t::replace) + '\n' != json)
        violated(std::string(what) + ": not laid out as one dump() of it");
}

void check_xml_chars(std::string_view xml, std::string_view what) {
    for (std::size_t i = 0; i < xml.size(); ++i) {
        const auto c = static_cast<unsigned char>(xml[i]);
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') violated(where(what, xml, i));
    }
}

void check_terminal_text(std::string_view text, std::string_view what) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7f) violated(where(what, text, i));
    }
}

}  // namespace podtrace::fuzz

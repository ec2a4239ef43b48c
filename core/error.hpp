#pragma once
// The one error convention (README, "Errors"): a library function that can fail on its input or
// on the system returns std::expected<T, Error>; the message names the culprit (the file and
// byte offset, the flag, the interface) and says what to do where there is something to do.
// Only app/ prints it. The decoder's per-frame outcome stays in-band (decode::Status and
// Reason), because the hot path cannot afford more. Exceptions are caught where a library
// we use throws them (nlohmann::json, CLI11, std::filesystem) and never cross our own
// boundaries.
#include <expected>
#include <string>

namespace podtrace {

struct Error {
    std::string message;
};

}  // namespace podtrace

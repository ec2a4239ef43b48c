#include "process/write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace podtrace::process {

std::expected<void, Error> write_all(int fd, std::string_view text) {
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::unexpected(Error{std::strerror(errno)});
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

std::expected<void, Error> replace_file(const std::string& target, std::string_view text) {
    const std::filesystem::path path = target;
    const std::filesystem::path tmp =
        path.parent_path() /
        ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
    auto fail = [&](const std::string& what, const std::string& why) {
        return std::unexpected(Error{"cannot write " + target + ": " + what + ": " + why});
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) return fail("creating " + tmp.string(), std::strerror(errno));
    const char* step = nullptr;  // the first step that failed, with its reason
    std::string why;
    auto failed = [&](const char* s) {
        step = s;
        why = std::strerror(errno);
    };
    if (auto w = write_all(fd, text); !w) {
        step = "write";
        why = w.error().message;
    } else if (::fsync(fd) != 0) {  // the data must be on disk before the name points at it
        failed("fsync");
    }
    if (::close(fd) != 0 && !step) failed("close");
    if (!step && ::rename(tmp.c_str(), path.c_str()) != 0) failed("rename");
    if (!step) return {};
    ::unlink(tmp.c_str());
    return fail(step, why);
}

}  // namespace podtrace::process

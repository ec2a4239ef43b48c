#include "report/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "process/fd.hpp"
#include "process/write.hpp"

namespace podtrace::report {

std::expected<void, Error> write_output(const std::string& path, const std::string& text) {
    const auto failed = [&](const std::string& why) {
        return std::unexpected(Error{"cannot write " + path + ": " + why});
    };
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return std::unexpected(Error{"-o " + path + ": is a directory"});
        const process::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) return failed(std::strerror(errno));
        if (auto w = process::write_all(fd.get(), text); !w) return failed(w.error().message);
        return {};
    }
    std::string tmp = path + ".XXXXXX";
    process::Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (fd.get() < 0) return failed(std::strerror(errno));
    auto w = process::write_all(fd.get(), text);
    // mkstemp makes it 0600; a report is as readable as any file the user creates.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (w && ::fchmod(fd.get(), 0666 & ~mask) != 0)
        w = std::unexpected(Error{std::strerror(errno)});
    if (w && ::close(fd.release()) != 0) w = std::unexpected(Error{std::strerror(errno)});
    if (w && std::rename(tmp.c_str(), path.c_str()) != 0)
        w = std::unexpected(Error{std::strerror(errno)});
    if (!w) {
        std::remove(tmp.c_str());
        return failed(w.error().message);
    }
    return {};
}

}  // namespace podtrace::report

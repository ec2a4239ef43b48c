#include "report/output.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace podtrace::report {

std::expected<void, Error> write_output(const std::string& path, const std::string& text) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return std::unexpected(Error{"-o " + path + ": is a directory"});
        std::ofstream f(path, std::ios::binary);
        f << text;
        f.close();
        if (!f) return std::unexpected(Error{"cannot write " + path});
        return {};
    }
    std::string tmp = path + ".XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return std::unexpected(Error{"cannot write " + path + ": " + std::strerror(errno)});
    ::close(fd);
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    // mkstemp makes it 0600; a report is as readable as any file the user creates.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (!f || ::chmod(tmp.c_str(), 0666 & ~mask) != 0 ||
        std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        return std::unexpected(Error{"cannot write " + path});
    }
    return {};
}

}  // namespace podtrace::report

#include "app/app.hpp"

int main(int argc, char** argv) {
    return podtrace::app::run(argc, argv);
}

// Fuzz target: the DATA decoder. Invariants: never reads past the input, a Done result
// consumed a "\r\n.\r\n" (or a leading ".\r\n"), output never holds a bare CR or LF.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/data_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    rampart::smtp::DataReader r(1 << 16, 998);
    std::string out;
    std::size_t used = 0;
    auto st = r.feed(in, used, out);
    if (used > size) std::abort();
    if (st == rampart::smtp::DataReader::Status::Done) {
        std::string_view consumed = in.substr(0, used);
        bool ends = consumed == ".\r\n" || (consumed.size() >= 5 && consumed.substr(consumed.size() - 5) == "\r\n.\r\n");
        if (!ends) std::abort();
    }
    if (rampart::smtp::check_lines(out, 0).bare_line_end) std::abort();
    return 0;
}

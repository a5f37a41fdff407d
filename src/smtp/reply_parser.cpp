// smtp/reply_parser.cpp — one SMTP reply from the peer's bytes (see reply_parser.hpp).
#include "smtp/reply_parser.hpp"

#include <cctype>

namespace rampart::smtp {

ReplyParser::Status ReplyParser::feed(std::string& in, std::vector<std::string>* lines) {
    while (true) {
        std::size_t nl = in.find('\n');
        if (nl == std::string::npos) return in.size() > limits_.max_line_length ? Status::LineTooLong : Status::NeedMore;
        if (nl > limits_.max_line_length) return Status::LineTooLong;
        std::string line = in.substr(0, nl);
        in.erase(0, nl + 1);
        if (++count_ > limits_.max_lines) return Status::TooManyLines;
        if ((bytes_ += nl + 1) > limits_.max_bytes) return Status::TooManyBytes;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        bool ok = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                  std::isdigit(static_cast<unsigned char>(line[1])) && std::isdigit(static_cast<unsigned char>(line[2])) &&
                  (line.size() == 3 || line[3] == ' ' || line[3] == '-');
        int this_code = ok ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
        if (!ok || (code_ >= 0 && this_code != code_)) {
            code_ = 0;
            text_ = "malformed reply: " + line.substr(0, 200);
            return Status::Malformed;
        }
        code_ = this_code;
        if (!text_.empty()) text_ += ' ';
        if (line.size() > 4) text_.append(line, 4);
        bool last = line.size() == 3 || line[3] == ' ';
        if (lines) lines->push_back(std::move(line));
        if (last) return Status::Done;
    }
}

}  // namespace rampart::smtp

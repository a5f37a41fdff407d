// console/explain_service.hpp — what the explain page asks the server and what it gets back:
// the fields of `rampart explain` the form has, and the answer of the same function the
// command runs (cli/explain.cpp run_explain). Pure data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/explain.hpp"

namespace rampart::console {

struct ExplainRequest {
    std::string listener;
    std::string client;                 // client IP address
    std::string user;                   // authenticated directory user; "" anonymous
    std::string sender;                 // MAIL FROM ("" or "<>": the null sender)
    std::vector<std::string> rcpts;
    bool smtputf8 = false;
    bool tls = false;
};

struct ExplainResult {
    std::string error;                  // what `rampart explain` prints on stderr (bad listener, address, user)
    std::string preamble;               // lines it prints before the trace
    std::optional<policy::ExplainAnswer> answer;   // the trace; nullopt with an error or a preamble-only answer
    bool live = false;                  // the live-only steps were evaluated from the running server
    int exit_status = 0;                // what `rampart explain` exits with (0: every recipient accepted)
};

}  // namespace rampart::console

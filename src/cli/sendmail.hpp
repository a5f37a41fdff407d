// cli/sendmail.hpp — the pure half of `rampart sendmail` (and of a `sendmail` symlink):
// the command line applications use (sendmail(8) options, as Postfix accepts them) and
// the message prepared from standard input. No I/O here: unit-tested.
// Trust: argv and standard input come from a local user, possibly careless, never root's
// problem: nothing here decides who may send what (the server's policy does).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::cli::sendmail {

// sysexits.h
constexpr int kOk = 0;
constexpr int kUsage = 64;         // EX_USAGE: bad command line, unsupported mode, no recipients
constexpr int kDataErr = 65;       // EX_DATAERR: the input is not a message (e.g. a header too long)
constexpr int kNoUser = 67;        // EX_NOUSER: a recipient was refused as unknown
constexpr int kUnavailable = 69;   // EX_UNAVAILABLE: refused permanently for another reason
constexpr int kSoftware = 70;      // EX_SOFTWARE
constexpr int kTempFail = 75;      // EX_TEMPFAIL: server down or a 4xx reply: try again later
constexpr int kNoPerm = 77;        // EX_NOPERM: the policy refused (5.7.x)
constexpr int kConfig = 78;        // EX_CONFIG: the configuration cannot be read

struct Options {
    bool extract_recipients = false;   // -t
    bool ignore_dots = false;          // -i, -oi: a line with a lone '.' does not end the input
    std::optional<std::string> sender; // -f ADDR (or -r ADDR); "" or "<>" is the null sender
    std::optional<std::string> full_name;   // -F NAME
    std::string config;                // -C FILE (sendmail's alternate configuration file)
    std::vector<std::string> recipients;    // operands, split at commas
    std::vector<std::string> ignored;       // accepted and ignored (-odi, -oem, -v, ...)
};

struct ParseResult {
    std::optional<Options> options;    // nullopt: `error` says why (exit kUsage)
    std::string error;
};

// argv without the program name.
ParseResult parse_options(const std::vector<std::string>& args);

// The addresses of an RFC 5322 address-list header value ("A <a@x>, b@y (c), G: c@z;").
std::vector<std::string> parse_address_list(std::string_view value);

struct Prepared {
    std::string data;                  // CRLF lines, not dot-stuffed, ends with CRLF
    std::vector<std::string> recipients;   // command line, then (-t) To/Cc/Bcc
    std::string error;                 // non-empty: not a message (exit kDataErr)
};

struct Identity {
    std::string login;                 // the Unix user
    std::string gecos_name;            // its full name from the password database ("" if none)
    std::string hostname;              // [server] hostname
    std::string sender;                // the envelope sender that will be used
    std::string date;                  // RFC 5322 date for a missing Date header
    std::string message_id;            // "<...>" for a missing Message-ID header
};

// The input (standard input) made into the message: input ends at EOF or, without -i, at
// a line holding only '.'; line ends become CRLF; with -t the recipients are read from
// To, Cc and Bcc and every Bcc header is removed; From (with -F's or the user's full
// name), Date and Message-ID are added when missing.
Prepared prepare_message(std::string_view input, const Options& opt, const Identity& who);

// The envelope sender: -f as given (root and the server user may use any; for others the
// server's policy decides), else login@hostname.
std::string envelope_sender(const Options& opt, const std::string& login, const std::string& hostname);

}  // namespace rampart::cli::sendmail

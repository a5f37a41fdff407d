// cli/sendmail_client.cpp — `rampart sendmail` (also run as `sendmail` through the symlink
// `rampart install` makes) and `rampart install`. Reads the message from standard input,
// then hands it to the running server over data_dir/submit.sock in one SMTP session; the
// server knows the caller from the kernel (SO_PEERCRED) and applies the policy of the
// listener [server] local_submission. All recipients or none: any refusal aborts the
// transaction. Exit status per sysexits.h (cli/sendmail.hpp); every failure says on
// standard error that the message was NOT sent.
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <iterator>
#include <random>

#include "admin/control.hpp"
#include "cli/commands.hpp"
#include "cli/sendmail.hpp"
#include "server/local_submission.hpp"
#include "smtp/reply_parser.hpp"

namespace rampart::cli {
namespace {

using namespace sendmail;

constexpr const char* kUsageText =
    "usage: sendmail [-t] [-i|-oi] [-f sender] [-F full_name] [-C config] [-bm] [recipient ...]\n"
    "Submits the message on standard input to the local rampart server as the calling user.\n"
    "  -t        also send to the To, Cc and Bcc headers' addresses (Bcc is removed)\n"
    "  -i, -oi   a line with a single '.' does not end the message\n"
    "  -f ADDR   envelope sender (root and the server's user: any; others: their own addresses)\n"
    "  -F NAME   full name for the From header added when the message has none\n"
    "  -C FILE   rampart configuration (default: $RAMPART_CONFIG, /etc/rampart/rampart.toml, embedded)\n"
    "  -bm       submit (the only mode); -odi -odb -oem -v and other -o options are ignored\n"
    "Exit status (sysexits.h): 0 sent, 64 usage, 65 bad input, 67 unknown user, 69 refused,\n"
    "75 try again later (server down, 4xx), 77 not permitted (5.7.x), 78 configuration.\n";

int not_sent(int code, const std::string& why) {
    std::cerr << "sendmail: " << why << "; the message was NOT sent\n";
    return code;
}

// Exit status for a refusal: 4xx → try again, 5.7.x → not permitted, 5.1.x → no user.
int status_for(int code, const std::string& text) {
    if (code >= 400 && code < 500) return kTempFail;
    if (text.rfind("5.7.", 0) == 0) return kNoPerm;
    if (text.rfind("5.1.", 0) == 0) return kNoUser;
    return kUnavailable;
}

class Connection {
public:
    explicit Connection(int fd) : fd_(fd) {}
    ~Connection() { ::close(fd_); }
    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t w = ::write(fd_, data.data(), data.size());
            if (w <= 0) {
                if (w < 0 && errno == EINTR) continue;
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(w));
        }
        return true;
    }
    // One reply; code 0 when the connection broke.
    std::pair<int, std::string> reply() {
        smtp::ReplyParser parser({100, 65536, 4096});
        while (true) {
            auto st = parser.feed(buf_);
            if (st == smtp::ReplyParser::Status::Done) return {parser.code(), parser.text()};
            if (st != smtp::ReplyParser::Status::NeedMore) return {0, "malformed reply from the server"};
            char b[4096];
            ssize_t r = ::read(fd_, b, sizeof b);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return {0, r == 0 ? "the server closed the connection" : std::string("read: ") + std::strerror(errno)};
            buf_.append(b, static_cast<std::size_t>(r));
        }
    }

private:
    int fd_;
    std::string buf_;
};

int connect_unix(const std::filesystem::path& p) {
    int fd = admin::connect_unix_socket(p);
    if (fd < 0) return -1;
    timeval tv{300, 0};   // a bounded wait for each reply (the server's own DATA timeouts are shorter)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

std::string rfc5322_date(std::time_t t) {
    std::tm tm{};
    ::localtime_r(&t, &tm);
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long off = tm.tm_gmtoff / 60;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', std::labs(off) / 60, std::labs(off) % 60);
    return buf;
}

std::string dot_stuffed(const std::string& data) {
    std::string out;
    out.reserve(data.size() + 64);
    bool line_start = true;
    for (char c : data) {
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = c == '\n';
    }
    return out;
}

std::string config_path(const Options& o) {
    if (!o.config.empty()) return o.config;
    if (const char* env = std::getenv("RAMPART_CONFIG"); env && *env) return env;
    std::error_code ec;
    if (std::filesystem::exists("/etc/rampart/rampart.toml", ec)) return "/etc/rampart/rampart.toml";
    return "";
}

}  // namespace

int sendmail_command(const std::vector<std::string>& args) {
    for (const std::string& a : args)
        if (a == "--help") {
            std::cout << kUsageText;
            return kOk;
        }
    ParseResult parsed = parse_options(args);
    if (!parsed.options) {
        std::cerr << "sendmail: " << parsed.error << "\n" << kUsageText;
        return kUsage;
    }
    const Options& opt = *parsed.options;
    auto cfg = load(config_path(opt));
    if (!cfg) return not_sent(kConfig, "cannot read the rampart configuration");
    Identity who;
    who.hostname = cfg->server.hostname;
    {
        std::vector<char> buf(16384);
        passwd pw{};
        passwd* found = nullptr;
        if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found) {
            who.login = found->pw_name;
            who.gecos_name = std::string(found->pw_gecos ? found->pw_gecos : "");
            who.gecos_name = who.gecos_name.substr(0, who.gecos_name.find(','));
        } else who.login = "uid" + std::to_string(::getuid());
    }
    who.sender = envelope_sender(opt, who.login, who.hostname);
    std::time_t now = std::time(nullptr);
    who.date = rfc5322_date(now);
    std::random_device rd;
    char id[96];
    std::snprintf(id, sizeof id, "<%lld.%d.%08x@", static_cast<long long>(now), static_cast<int>(::getpid()), rd());
    who.message_id = std::string(id) + who.hostname + ">";
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    Prepared msg = prepare_message(input, opt, who);
    if (!msg.error.empty()) return not_sent(kDataErr, msg.error);
    if (msg.recipients.empty())
        return not_sent(kUsage, opt.extract_recipients ? "no recipient addresses in the command line or the To, Cc and Bcc headers"
                                                       : "no recipients (name them, or use -t)");
    std::filesystem::path sock = server::submit_socket_path(cfg->resolve(cfg->server.data_dir));
    int fd = connect_unix(sock);
    if (fd < 0)
        return not_sent(kTempFail, "no rampart server answers on " + sock.string() + " (" + std::strerror(errno) +
                                       "): is `rampart serve` running, with server.local_submission set?");
    Connection c(fd);
    auto step = [&](const std::string& command, int want, const std::string& what) -> int {
        if (!command.empty() && !c.send(command + "\r\n")) return not_sent(kTempFail, "the server closed the connection");
        auto [code, text] = c.reply();
        if (code == 0) return not_sent(kTempFail, text);
        if (code / 100 != want) {
            c.send("QUIT\r\n");
            return not_sent(status_for(code, text), what + ": " + std::to_string(code) + " " + text);
        }
        return kOk;
    };
    if (int s = step("", 2, "greeting"); s != kOk) return s;
    if (int s = step("EHLO localhost", 2, "EHLO"); s != kOk) return s;
    if (int s = step("MAIL FROM:<" + who.sender + ">", 2, "sender <" + who.sender + ">"); s != kOk) return s;
    for (const std::string& r : msg.recipients)
        if (int s = step("RCPT TO:<" + r + ">", 2, "recipient <" + r + ">"); s != kOk) return s;
    if (int s = step("DATA", 3, "DATA"); s != kOk) return s;
    if (!c.send(dot_stuffed(msg.data) + ".\r\n")) return not_sent(kTempFail, "the server closed the connection");
    if (int s = step("", 2, "message"); s != kOk) return s;
    c.send("QUIT\r\n");
    return kOk;
}

int install_command(const std::string& prefix, bool force) {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        std::cerr << "install: cannot find this program's path: " << ec.message() << "\n";
        return 1;
    }
    std::filesystem::path dir = std::filesystem::path(prefix) / "sbin";
    std::filesystem::path link = dir / "sendmail";
    bool exists = std::filesystem::symlink_status(link, ec).type() != std::filesystem::file_type::not_found && !ec;
    if (exists && !force) {
        std::cerr << "install: " << link.string() << " exists (another MTA's sendmail?); left alone. --force replaces it\n";
        return 1;
    }
    std::filesystem::create_directories(dir, ec);
    // Made beside it and renamed over: the old sendmail is never missing.
    std::filesystem::path tmp = dir / (".sendmail.rampart." + std::to_string(::getpid()));
    std::filesystem::remove(tmp, ec);
    std::filesystem::create_symlink(self, tmp, ec);
    if (!ec) std::filesystem::rename(tmp, link, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        std::cerr << "install: " << link.string() << ": " << ec.message() << "\n";
        return 1;
    }
    std::cout << link.string() << " -> " << self.string() << "\n";
    return 0;
}

}  // namespace rampart::cli

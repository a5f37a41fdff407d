// console/form.hpp — application/x-www-form-urlencoded (HTML forms' POST bodies and query
// strings), pure. Trust: the bytes come from the admin listener's clients; a malformed
// escape is refused (nullopt), never guessed at; '+' is a space.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart::console {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Name=value pairs in order (a name may repeat: multi-select boxes); nullopt when a %
// escape is not two hex digits.
std::optional<FormFields> parse_form(std::string_view text);

// The first value of `name`, or nullopt.
std::optional<std::string_view> form_value(const FormFields& fields, std::string_view name);
// Every value of `name`, in order.
std::vector<std::string> form_values(const FormFields& fields, std::string_view name);

// Percent-encodes `text` for a query string or a form value.
std::string url_encode(std::string_view text);

}  // namespace rampart::console

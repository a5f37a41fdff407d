// console/listeners_page.hpp — the listener pages of the web console (docs/console.md
// "Listeners"): /console/listeners lists the running listeners; /console/listener?name=X
// shows one as Exchange's Access property sheet did (authentication, connection control,
// relay restrictions, who may submit and relay), each value beside the role preset's and
// with `rampart check`'s warning where it departs; a form per section changes the
// listener in the configuration file (console/config_change.hpp).
// Trust: pages are behind the console's gate (signed-in admin, CSRF on POST); the listener
// name and field values come from the request and are escaped on output and judged by the
// loader before anything is written.
#pragma once

#include "console/console.hpp"

namespace rampart::console {

void add_listener_pages(Console& console);

}  // namespace rampart::console

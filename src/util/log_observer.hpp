// util/log_observer.hpp — one observer of every log event (util/log.hpp), for the message
// tracking recorder (tracking/recorder.hpp): each tracked place is the log call itself, so
// the tracking store and the log never disagree and no second call is kept in step.
#pragma once

#include <initializer_list>
#include <string_view>

#include "util/log.hpp"

namespace rampart::log {

// Sees every event, whatever the level, once it was counted. on_event may be called from
// any thread at once; it must be quick and must not block.
class Observer {
public:
    virtual ~Observer() = default;
    virtual void on_event(std::string_view name, std::initializer_list<Field> fields) = 0;
};
// One observer at a time; nullptr removes it. Set it before sessions start and remove it
// after they stopped (the caller keeps it alive in between).
void set_observer(Observer* observer);

}  // namespace rampart::log

#pragma once

#include <stdexcept>

namespace corio {

/// An event loop was used in a state that forbids it: no loop running on this
/// thread, a loop run twice at once, a closed loop, a loop stopped before the
/// task it was running finished.
class event_loop_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// A result was asked of something not finished yet (asyncio's InvalidStateError).
class invalid_state_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

}  // namespace corio

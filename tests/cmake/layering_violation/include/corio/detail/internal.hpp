// Fixture: a core internal header reaching up to sync, a layering violation
// (internal headers obey the rule of their layer).
#pragma once
#include <corio/sync/semaphore.hpp>

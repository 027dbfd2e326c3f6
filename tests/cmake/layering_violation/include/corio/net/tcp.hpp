// Fixture: net reaching up to http through a relative include (a layering
// violation), and a platform header outside detail/ (a platform violation).
#pragma once
#include <sys/socket.h>
#include "../http/client.hpp"
#include <corio/sync/semaphore.hpp>

// Fixture: sync including core is fine.
#pragma once
#include <corio/task.hpp>

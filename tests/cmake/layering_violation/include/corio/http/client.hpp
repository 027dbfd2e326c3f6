// Fixture: http including net is fine.
#pragma once
#include <corio/net/tcp.hpp>

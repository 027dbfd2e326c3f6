#pragma once

// corio::web: FastAPI-style web APIs over corio::http::server (the optional
// CMake target corio::web, which needs Boost.JSON and Boost.Describe).
// Remember to include <corio/web/json_implementation.hpp> in one .cpp file.

#include <corio/web/app.hpp>
#include <corio/web/errors.hpp>
#include <corio/web/event_stream.hpp>
#include <corio/web/forms.hpp>
#include <corio/web/json.hpp>
#include <corio/web/middleware.hpp>
#include <corio/web/params.hpp>
#include <corio/web/test_client.hpp>
#include <corio/web/standard_middleware.hpp>
#include <corio/web/responses.hpp>

/// FastAPI-style web apps over corio::http::server: typed JSON handlers on
/// Boost.JSON + Boost.Describe, validation, middleware, OpenAPI; target corio::web.
namespace corio::web {}

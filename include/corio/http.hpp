#pragma once

// corio HTTP: URLs, messages and the incremental HTTP/1.1 parser.

#include <corio/http/message.hpp>
#include <corio/http/parser.hpp>
#include <corio/http/serialize.hpp>
#include <corio/http/url.hpp>

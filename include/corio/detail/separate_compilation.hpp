#pragma once

// Separate compilation (CMake option CORIO_SEPARATE_COMPILATION, as Asio's
// ASIO_SEPARATE_COMPILATION): the heavy non-template functions of the HTTP
// and web layers (the client engine, the server's connection loop, the
// WebSocket engine, ...) are defined once, in src/corio_http.cpp and
// src/corio_web.cpp, instead of being compiled again by every program that
// includes their headers. Header-only (the default) defines them inline.
//
// CORIO_DECL marks such a function where it is declared and defined: inline
// when header-only, an ordinary external function otherwise. Each layer's
// definitions sit in a block guarded by CORIO_HTTP_DEFINITIONS (or
// CORIO_WEB_DEFINITIONS): present header-only, and in separate mode only in
// that layer's source file, which defines CORIO_HTTP_SOURCE (CORIO_WEB_SOURCE).

#if defined(CORIO_SEPARATE_COMPILATION)
#define CORIO_DECL
#else
#define CORIO_DECL inline
#endif

#if !defined(CORIO_SEPARATE_COMPILATION) || defined(CORIO_HTTP_SOURCE)
#define CORIO_HTTP_DEFINITIONS 1
#endif

#if !defined(CORIO_SEPARATE_COMPILATION) || defined(CORIO_WEB_SOURCE)
#define CORIO_WEB_DEFINITIONS 1
#endif

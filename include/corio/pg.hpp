#pragma once

// corio PostgreSQL client (target corio::pg, libpq): connect, connection
// (fetch / fetchrow / fetchval / execute / executemany, transaction, cursor,
// listen), records and their types, errors, and the pool (asyncpg's API).

#include <corio/pg/connection.hpp>
#include <corio/pg/errors.hpp>
#include <corio/pg/record.hpp>
#include <corio/pg/types.hpp>
#include <corio/pg/pool.hpp>
#include <corio/pg/prepared_statement.hpp>

/// PostgreSQL client and pool on libpq (asyncpg's API); target corio::pg.
namespace corio::pg {}

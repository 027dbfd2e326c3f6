// 16_database: the tutorial's "Async Database Operations" with corio::pg.
//
//     async def fetch_users():
//         pool = await asyncpg.create_pool("postgresql://user:password@localhost/mydb")
//         async with pool.acquire() as conn:
//             users = await conn.fetch("SELECT * FROM users WHERE active = $1", True)
//             return users
//
// corio::pg::create_pool makes the pool; pool.acquire() hands out a
// connection that goes back to the pool when `conn` leaves its scope.
//
// The database: $DATABASE_URL if set (it must have a `users` table with `id`,
// `name` and `active`, or be one where this program may create it). Without
// it, the program starts a throwaway PostgreSQL server in a temporary
// directory (when PostgreSQL's binaries are installed), seeds `users`, and
// removes the server at the end.

#include <corio/corio.hpp>
#include <corio/pg.hpp>

#include <fmt/core.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

/// A PostgreSQL server for the run's duration (initdb + pg_ctl on a temporary directory).
class temporary_server {
public:
    static std::unique_ptr<temporary_server> start() {
        std::string bin;
        for (const char* version : {"17", "16", "15", "14"}) {
            const std::string dir = std::string("/usr/lib/postgresql/") + version + "/bin";
            if (::access((dir + "/pg_ctl").c_str(), X_OK) == 0) {
                bin = dir;
                break;
            }
        }
        if (bin.empty()) {
            return nullptr;
        }
        char pattern[] = "/tmp/corio-example-pg-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) {
            return nullptr;
        }
        std::unique_ptr<temporary_server> server(new temporary_server());
        server->m_dir = pattern;
        server->m_bin = bin;
        if (::geteuid() == 0) {  // PostgreSQL refuses to run as root
            const passwd* postgres = ::getpwnam("postgres");
            if (postgres == nullptr || ::chown(pattern, postgres->pw_uid, postgres->pw_gid) != 0) {
                return nullptr;
            }
            server->m_prefix = "runuser -u postgres -- ";
        }
        server->m_port = 20000 + static_cast<int>(::getpid() % 20000);
        const std::string quiet = " > " + server->m_dir + "/setup.log 2>&1";
        if (std::system((server->m_prefix + bin + "/initdb -D " + server->m_dir + "/data -U corio -A trust --no-sync --locale=C -E UTF8" +
                         quiet).c_str()) != 0 ||
            std::system((server->m_prefix + bin + "/pg_ctl -D " + server->m_dir + "/data -l " + server->m_dir +
                         "/log -w -o \"-p " + std::to_string(server->m_port) + " -c listen_addresses=127.0.0.1 -k " +
                         server->m_dir + " -c fsync=off\" start" + quiet).c_str()) != 0) {
            fmt::print("could not start a temporary PostgreSQL server (see {}/setup.log)\n", server->m_dir);
            return nullptr;
        }
        server->m_running = true;
        return server;
    }

    temporary_server(const temporary_server&) = delete;
    temporary_server& operator=(const temporary_server&) = delete;
    ~temporary_server() {
        if (m_running) {
            (void)std::system((m_prefix + m_bin + "/pg_ctl -D " + m_dir + "/data -m immediate stop > /dev/null 2>&1")
                                  .c_str());
            std::error_code ignored;
            std::filesystem::remove_all(m_dir, ignored);
        }
    }

    [[nodiscard]] std::string url() const {
        return "postgresql://corio@127.0.0.1:" + std::to_string(m_port) + "/postgres";
    }

private:
    temporary_server() = default;
    std::string m_dir, m_bin, m_prefix;
    int m_port = 0;
    bool m_running = false;
};

// The tutorial's function: a pool, one acquired connection, one query.
corio::task<std::vector<corio::pg::record>> fetch_users(corio::pg::pool& pool) {
    auto conn = co_await pool.acquire();
    co_return co_await conn->fetch("SELECT * FROM users WHERE active = $1 ORDER BY id", true);
}

corio::task<int> run_example(std::string url, bool seed) {
    corio::pg::pool_options options;
    options.dsn = url;
    options.min_size = 1;
    options.max_size = 10;
    corio::pg::pool pool = co_await corio::pg::create_pool(options);
    if (seed) {
        (void)co_await pool.execute("CREATE TABLE IF NOT EXISTS users (id serial PRIMARY KEY, name text, active bool)");
        (void)co_await pool.execute("TRUNCATE users");
        const std::vector<std::tuple<std::string, bool>> people{
            {"Ada", true}, {"Brian", false}, {"Grace", true}, {"Linus", true}};
        auto conn = co_await pool.acquire();
        co_await conn->executemany("INSERT INTO users (name, active) VALUES ($1, $2)", people);
    }
    const std::vector<corio::pg::record> users = co_await fetch_users(pool);
    for (const auto& user : users) {
        fmt::print("{} {}\n", user.get<int>("id"), user.get<std::string>("name"));
    }
    const auto count = co_await pool.fetchval<std::int64_t>("SELECT count(*) FROM users");
    fmt::print("{} active of {} users\n", users.size(), count);
    co_await pool.close();
    co_return 0;
}

}  // namespace

int main() {
    std::unique_ptr<temporary_server> server;
    std::string url;
    bool seed = true;
    if (const char* from_env = std::getenv("DATABASE_URL"); from_env != nullptr && *from_env != '\0') {
        url = from_env;
        seed = std::getenv("CORIO_EXAMPLE_NO_SEED") == nullptr;
    } else {
        server = temporary_server::start();
        if (!server) {
            fmt::print(
                "No DATABASE_URL and no PostgreSQL to start: set DATABASE_URL=postgresql://user:pw@host/db, or "
                "install the server (apt-get install postgresql) for a temporary one.\n");
            return 0;
        }
        url = server->url();
    }
    try {
        return corio::run(run_example(url, seed));
    } catch (const corio::pg::error& e) {
        fmt::print(stderr, "database error: {}\n", e.what());
        return 1;
    }
}

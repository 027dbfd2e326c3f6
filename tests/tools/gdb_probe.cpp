// The program tests/tools/run_gdb_script.sh debugs: three nested coroutines
// in a named task, the innermost calling a function gdb breaks in, and a
// second named task asleep.

#include <corio/corio.hpp>

#include <chrono>

extern "C" __attribute__((noinline)) void corio_gdb_probe_point() {
    asm volatile("");  // keeps the call: gdb breaks here
}

namespace {

corio::task<int> innermost_step(int x) {
    co_await corio::sleep(std::chrono::milliseconds(1));
    corio_gdb_probe_point();
    co_return x;
}

corio::task<int> middle_step(int x) {
    const int v = co_await innermost_step(x);
    co_return v + 1;
}

corio::task<int> outermost_step() {
    const int v = co_await middle_step(1);
    co_return v + 1;
}

corio::task<void> idle_sleeper() {
    co_await corio::sleep(std::chrono::seconds(10));
}

corio::task<int> root() {
    auto sleeper = corio::create_task(idle_sleeper(), "sleepy");
    auto traced = corio::create_task(outermost_step(), "traced");
    const int v = co_await traced;
    sleeper.cancel();
    co_return v;
}

}  // namespace

int main() {
    return corio::run(root()) == 3 ? 0 : 1;
}

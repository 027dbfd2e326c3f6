"""gdb commands for corio programs: async backtraces and the loop's tasks.

A debugger's `bt` stops where a coroutine was resumed by the event loop: the
coroutines that await it are suspended, not on the stack. These commands
follow corio's own links instead, so they work on a core dump or a stopped
process of any build (no debug mode, no CORIO_TRACK_AWAITS needed):

  corio-bt      the chain of coroutines awaiting the coroutine that runs in the
                selected frame, innermost first, up to the task that owns it
  corio-tasks   the unfinished tasks of the thread's running loop: id, name,
                state and the function of their outermost coroutine

Load with `source tools/gdb/corio.py` (or from ~/.gdbinit). Relies on the
frame layout GCC and clang share: the resume function pointer, the destroy
function pointer, then the promise, whose first word (promise_base::m_next) is
the awaiting coroutine's frame or, low bit set, the task_completion told at
the end.
"""

import re

import gdb  # pylint: disable=import-error

PROMISE_OFFSET = 16  # after the resume and destroy pointers


def _pointer_size():
    return gdb.lookup_type("void").pointer().sizeof


def _read_pointer(address):
    inferior = gdb.selected_inferior()
    data = inferior.read_memory(address, _pointer_size())
    return int.from_bytes(bytes(data), "little")


def _function_at(pc):
    """The source name of the function containing pc, without coroutine decorations."""
    try:
        block = gdb.block_for_pc(pc)
    except RuntimeError:
        block = None
    while block is not None and block.function is None:
        block = block.superblock
    if block is not None and block.function is not None:
        name = block.function.print_name
    else:
        text = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
        name = text.split(" in section")[0] if "No symbol" not in text else "0x%x" % pc
    # GCC: "f(f()::_Z1fv.Frame *)" or "f(_Z1fv.Frame *)"; clang: "f(int) [clone .resume]".
    name = re.sub(r"\(([^()]*::)?_Z\w+\.Frame \*\)$", "", name)
    name = re.sub(r" \[clone \.(resume|destroy|cleanup|actor)\]$", "", name)
    return name


def _frame_function(frame_address):
    return _function_at(_read_pointer(frame_address))


def _promise_in(frame):
    """The promise address of the coroutine running in gdb frame `frame`, or None."""
    for name in ("__promise",):  # clang
        try:
            return int(frame.read_var(name).address)
        except (ValueError, gdb.error):
            pass
    try:  # GCC: the actor's parameter
        frame_ptr = frame.read_var("frame_ptr")
        return int(frame_ptr) + PROMISE_OFFSET
    except (ValueError, gdb.error):
        return None


def _task_description(completion_address):
    """What a task_completion is: a task (id and name) or a combinator's child."""
    completion_type = gdb.lookup_type("corio::detail::task_completion")
    value = gdb.Value(completion_address).cast(completion_type.pointer()).dereference()
    try:
        dynamic = value.dynamic_type
    except gdb.error:
        dynamic = completion_type
    type_name = str(dynamic)
    if "spawned_task" in type_name:
        task = value.cast(dynamic)
        return "task %s" % _task_name(task)
    return "a child of %s" % type_name


def _string(value):
    """A std::string's text, with or without libstdc++'s pretty printers."""
    try:
        return value["_M_dataplus"]["_M_p"].string(length=int(value["_M_string_length"]))
    except gdb.error:
        return value.format_string().strip('"')


def _task_name(task):
    task_id = int(task["m_id"])
    name = "Task-%d" % task_id
    try:
        # The unique_ptr's pointer is its first word (std::default_delete takes no room).
        info_address = _read_pointer(int(task["m_debug"].address))
        if info_address != 0:
            info_type = gdb.lookup_type("corio::detail::task_debug_info")
            info = gdb.Value(info_address).cast(info_type.pointer()).dereference()
            text = _string(info["name"])
            if text:
                name = "'%s' (Task-%d)" % (text, task_id)
    except gdb.error:
        pass
    return name


class CorioBacktrace(gdb.Command):
    """Print the chain of coroutines awaiting the coroutine of the selected frame."""

    def __init__(self):
        super().__init__("corio-bt", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        frame = gdb.selected_frame()
        promise = None
        depth = 0
        while frame is not None:
            promise = _promise_in(frame)
            if promise is not None:
                break
            frame = frame.older()
        if promise is None:
            print("corio-bt: no coroutine in the selected frame or the frames above it")
            return
        sal = frame.find_sal()
        where = " at %s:%d" % (sal.symtab.filename, sal.line) if sal.symtab else ""
        print("#0 %s%s (running)" % (_frame_function(promise - PROMISE_OFFSET), where))
        depth = 1
        seen = set()
        while depth < 10000:
            next_word = _read_pointer(promise)
            if next_word == 0:
                print("   (nobody awaits it)")
                return
            if next_word & 1:
                print("   in %s" % _task_description(next_word & ~1))
                return
            if next_word in seen:
                print("   (cycle at frame 0x%x)" % next_word)
                return
            seen.add(next_word)
            print("#%d %s (suspended, frame 0x%x)" % (depth, _frame_function(next_word), next_word))
            promise = next_word + PROMISE_OFFSET
            depth += 1


class CorioTasks(gdb.Command):
    """List the unfinished tasks of this thread's running corio loop."""

    def __init__(self):
        super().__init__("corio-tasks", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        try:
            # Cast: optimized builds may not describe the thread_local's type.
            loop_pointer = gdb.parse_and_eval(
                "*(corio::event_loop**)&'corio::detail::running_loop_slot()::loop'")
        except gdb.error as error:
            print("corio-tasks: cannot read the running loop (%s)" % error)
            return
        if int(loop_pointer) == 0:
            print("corio-tasks: no corio loop runs on this thread")
            return
        tasks = loop_pointer.dereference()["m_tasks"]
        sentinel = tasks["m_sentinel"]
        sentinel_address = int(sentinel.address)
        hook = sentinel["next"]
        base_type = gdb.lookup_type("corio::detail::spawned_task_base")
        count = 0
        while int(hook) != sentinel_address and count < 100000:
            task = hook.cast(base_type.pointer()).dereference()
            try:
                task = task.cast(task.dynamic_type)
            except gdb.error:
                pass
            root = "?"
            try:
                frame = int(task["m_body"]["m_frame"]["m_handle"]["_M_fr_ptr"])
                if frame != 0:
                    root = _frame_function(frame)
            except gdb.error:
                pass
            print("%s: %s" % (_task_name(task), root))
            hook = hook.dereference()["next"]
            count += 1
        print("%d unfinished task%s" % (count, "" if count == 1 else "s"))


CorioBacktrace()
CorioTasks()

#pragma once

// The function a coroutine frame belongs to, for debug-mode messages about
// frames that never ran (so no co_await site is known). The frame's first
// word is its resume function (GCC and clang lay frames out so); that
// function is a local symbol ("f.actor", "f.resume"), which dladdr cannot
// name, so the symbol table of the object it lives in is read (ELF only; a
// stripped binary gives the frame's address instead). Cold path: debug mode
// only, once per report.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include <cxxabi.h>
#include <dlfcn.h>

#if defined(__linux__) && __has_include(<elf.h>)
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define CORIO_HAS_ELF_SYMBOLS 1
#else
#define CORIO_HAS_ELF_SYMBOLS 0
#endif

namespace corio::detail {

#if CORIO_HAS_ELF_SYMBOLS
// The name of the function containing `address` in the ELF object `path`
// loaded at `base`, from its .symtab; empty when not found.
inline std::string elf_function_at(const char* path, std::uintptr_t base, std::uintptr_t address) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return {};
    }
    struct stat st {};
    void* map = MAP_FAILED;
    if (::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr))) {
        map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    }
    ::close(fd);
    if (map == MAP_FAILED) {
        return {};
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    const auto* bytes = static_cast<const unsigned char*>(map);
    const auto fits = [size](std::uint64_t offset, std::uint64_t length) {
        return offset <= size && length <= size - offset;
    };
    std::string name;
    Elf64_Ehdr header;
    std::memcpy(&header, bytes, sizeof header);
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
        header.e_ident[EI_CLASS] == ELFCLASS64 && header.e_shentsize == sizeof(Elf64_Shdr) &&
        fits(header.e_shoff, std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr))) {
        const std::uintptr_t wanted = header.e_type == ET_EXEC ? address : address - base;
        for (unsigned i = 0; i < header.e_shnum && name.empty(); ++i) {
            Elf64_Shdr section;
            std::memcpy(&section, bytes + header.e_shoff + i * sizeof(Elf64_Shdr), sizeof section);
            if (section.sh_type != SHT_SYMTAB || section.sh_link >= header.e_shnum ||
                !fits(section.sh_offset, section.sh_size)) {
                continue;
            }
            Elf64_Shdr strings;
            std::memcpy(&strings, bytes + header.e_shoff + section.sh_link * sizeof(Elf64_Shdr),
                        sizeof strings);
            if (!fits(strings.sh_offset, strings.sh_size)) {
                continue;
            }
            for (std::uint64_t at = 0; at + sizeof(Elf64_Sym) <= section.sh_size;
                 at += sizeof(Elf64_Sym)) {
                Elf64_Sym symbol;
                std::memcpy(&symbol, bytes + section.sh_offset + at, sizeof symbol);
                if (ELF64_ST_TYPE(symbol.st_info) == STT_FUNC && symbol.st_value <= wanted &&
                    wanted < symbol.st_value + symbol.st_size && symbol.st_name < strings.sh_size) {
                    const char* text =
                        reinterpret_cast<const char*>(bytes + strings.sh_offset + symbol.st_name);
                    name.assign(text, ::strnlen(text, strings.sh_size - symbol.st_name));
                    break;
                }
            }
        }
    }
    ::munmap(map, size);
    return name;
}
#endif

inline std::string resume_function_name(void* resume) {
    std::string symbol;
    Dl_info info{};
    if (resume != nullptr && dladdr(resume, &info) != 0) {
        if (info.dli_sname != nullptr) {
            symbol = info.dli_sname;
        }
#if CORIO_HAS_ELF_SYMBOLS
        if (symbol.empty()) {
            const bool main_program =
                info.dli_fname == nullptr || std::strchr(info.dli_fname, '/') == nullptr;
            symbol = elf_function_at(main_program ? "/proc/self/exe" : info.dli_fname,
                                     reinterpret_cast<std::uintptr_t>(info.dli_fbase),
                                     reinterpret_cast<std::uintptr_t>(resume));
        }
#endif
    }
    if (symbol.empty()) {
        return symbol;
    }
    // GCC: "_Z1fPZ1fvE13_Z1fv.Frame.actor"; clang: "_Z1fv.resume". The
    // coroutine's own mangled name is the part before the first '.' in
    // clang's form, and the last "_Z..." before ".Frame." in GCC's.
    std::string mangled = symbol.substr(0, symbol.find('.'));
    if (const std::size_t frame_at = symbol.find(".Frame."); frame_at != std::string::npos) {
        const std::size_t start = symbol.rfind("_Z", frame_at);
        mangled = symbol.substr(start, frame_at - start);
    }
    int status = -1;
    char* demangled = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
    if (status == 0 && demangled != nullptr) {
        symbol = demangled;
    }
    std::free(demangled);
    return symbol;
}

/// "f(int)" for a frame of coroutine f; empty when the symbol table does not
/// say. Remembered per function, as a task tree asks for the same ones often.
inline std::string coroutine_function_name(std::coroutine_handle<> frame) {
    void* resume = nullptr;
    std::memcpy(&resume, frame.address(), sizeof resume);
    if (resume == nullptr) {
        // GCC clears the resume pointer of a coroutine that ended (or is ending
        // by an exception); the destroy function next to it names it as well.
        std::memcpy(&resume, static_cast<char*>(frame.address()) + sizeof resume, sizeof resume);
    }
    static std::mutex cache_mutex;
    static std::unordered_map<void*, std::string> cache;
    std::lock_guard lock(cache_mutex);
    auto found = cache.find(resume);
    if (found == cache.end()) {
        found = cache.emplace(resume, resume_function_name(resume)).first;
    }
    return found->second;
}

}  // namespace corio::detail

#pragma once

// Where a fuzz target cuts its input, as a socket might: the lengths of the
// pieces, drawn from a seed by a small linear congruential generator, so that
// one input always gives the same cuts. The targets feed an input whole to
// one parser and in these pieces to another, and compare.

#include <cstddef>

namespace corio_fuzz {

class piece_cutter {
public:
    /// Pieces of 1 to `longest` bytes; a seed of 0 gives the whole input at once.
    piece_cutter(unsigned seed, std::size_t longest) noexcept : m_state(seed), m_whole(seed == 0), m_longest(longest) {}

    /// The length of the next piece when `left` bytes remain (at least 1, at most `left`).
    std::size_t next(std::size_t left) noexcept {
        if (m_whole) {
            return left;
        }
        m_state = m_state * 1103515245U + 12345U;
        const std::size_t piece = 1 + (m_state >> 16) % m_longest;
        return piece < left ? piece : left;
    }

private:
    unsigned m_state;
    bool m_whole;
    std::size_t m_longest;
};

}  // namespace corio_fuzz

// ws_load: the one WebSocket load generator of bench/ws_run.py.
// Plain C++ and epoll, independent of corio, so every WebSocket echo server
// is driven by the same code, with as little user-space work per message as
// it takes (about 550 instructions for a 32-byte ping-pong message, where
// `ws_echo_corio load` spends 1,900). One send and one recv per message
// remain, as on the server's side, and they are most of its CPU time.
//
//   ws_load [--window W] ws://HOST:PORT/PATH CONNECTIONS MESSAGES SIZE
//
// The arguments, semantics and output line of `ws_echo_corio load`
// (bench/ws_echo_corio.cpp): CONNECTIONS clients, each echoing MESSAGES
// binary messages of SIZE bytes with W of them in flight (default 1:
// ping-pong; W > 1 sends W, then the next as each echo returns). Message n's
// payload is n in its first 4 bytes (little endian, as many as fit) and 'p'
// after, and every echo must be exactly the message sent in that place. The
// time covers connecting, the handshakes, the messages and the closing
// handshakes; output:
//   C connections x M messages of S bytes, window W: R messages/s (T s)
//
// HOST is an IPv4 literal. No extension is offered. Client frames are masked
// with a fixed key (RFC 6455 only requires the client to mask), so a frame is
// one shared masked template plus its 4 sequence bytes; the echoes are parsed
// as a stream (fragmented echoes are accepted) and compared in place, without
// copying. Any protocol surprise (a masked or Close frame from the server,
// another opcode, a wrong byte or length, an early EOF) is an error: a message
// on stderr and exit status 1. So is no result after 300 s.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

constexpr auto overall_limit = std::chrono::seconds(300);
// How long the server may take to answer our Close.
constexpr auto close_limit = std::chrono::seconds(10);

// The sample key of RFC 6455 section 1.3 and its accept value: a fixed key
// is enough for a benchmark, and the pair is checked by the RFC itself.
constexpr std::string_view handshake_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view handshake_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
constexpr unsigned char mask_key[4] = {0x5a, 0xc3, 0x19, 0xe7};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "ws_load: %s\n", what.c_str());
    std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) {
    die(what + ": " + std::strerror(errno));
}

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: ws_load [--window W] ws://HOST:PORT/PATH CONNECTIONS MESSAGES SIZE\n");
    std::exit(2);
}

long long parse_number(const char* text, long long low, long long high) {
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
        usage();
    }
    return value;
}

struct options {
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
    int window = 1;
    int connections = 0;
    std::uint32_t messages = 0;
    std::size_t size = 0;
};

options parse(int argc, char** argv) {
    options o;
    int at = 1;
    if (argc > 2 && std::string_view(argv[1]) == "--window") {
        o.window = static_cast<int>(parse_number(argv[2], 1, 1 << 20));
        at = 3;
    }
    if (argc != at + 4) {
        usage();
    }
    std::string_view url = argv[at];
    if (url.substr(0, 5) != "ws://") {
        die("the URL must start with ws://");
    }
    url.remove_prefix(5);
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    if (slash != std::string_view::npos) {
        o.path = std::string(url.substr(slash));
    }
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
        o.port = static_cast<std::uint16_t>(parse_number(std::string(authority.substr(colon + 1)).c_str(), 1, 65535));
        authority = authority.substr(0, colon);
    }
    o.host = std::string(authority);
    o.connections = static_cast<int>(parse_number(argv[at + 1], 1, 1 << 20));
    o.messages = static_cast<std::uint32_t>(parse_number(argv[at + 2], 0, 1LL << 31));
    o.size = static_cast<std::size_t>(parse_number(argv[at + 3], 0, 1LL << 30));
    return o;
}

// The bytes of every message frame we send. Frames differ only in the
// (masked) sequence bytes at the start of the payload, so one template serves
// all: a frame is template[0, head) + its sequence bytes + template[head + seq_bytes, length).
struct frame_template {
    std::vector<unsigned char> bytes;
    std::size_t head = 0;       // header + masking key
    std::size_t seq_bytes = 0;  // min(4, size)
    std::size_t prefix = 0;     // head + seq_bytes: the part built per frame

    explicit frame_template(std::size_t size) {
        bytes.push_back(0x82);  // FIN, binary
        if (size < 126) {
            bytes.push_back(static_cast<unsigned char>(0x80 | size));
        } else if (size <= 0xFFFF) {
            bytes.push_back(0x80 | 126);
            bytes.push_back(static_cast<unsigned char>(size >> 8));
            bytes.push_back(static_cast<unsigned char>(size));
        } else {
            bytes.push_back(0x80 | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                bytes.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(size) >> shift));
            }
        }
        bytes.insert(bytes.end(), mask_key, mask_key + 4);
        head = bytes.size();
        seq_bytes = std::min<std::size_t>(4, size);
        prefix = head + seq_bytes;
        bytes.resize(head + size);
        for (std::size_t i = 0; i < size; ++i) {
            bytes[head + i] = static_cast<unsigned char>('p' ^ mask_key[i % 4]);
        }
    }

    [[nodiscard]] std::size_t length() const { return bytes.size(); }

    // The first `prefix` bytes of frame `seq`.
    void build_prefix(std::uint32_t seq, unsigned char* out) const {
        std::memcpy(out, bytes.data(), head);
        for (std::size_t i = 0; i < seq_bytes; ++i) {
            out[head + i] = static_cast<unsigned char>(((seq >> (8 * i)) & 0xFF) ^ mask_key[i]);
        }
    }
};

// Close, code 1000, masked.
constexpr unsigned char close_frame[8] = {
    0x88, 0x82, mask_key[0], mask_key[1], mask_key[2], mask_key[3],
    static_cast<unsigned char>(0x03 ^ mask_key[0]), static_cast<unsigned char>(0xE8 ^ mask_key[1])};

enum class phase { connecting, handshake, open, closing, done };

struct connection {
    int fd = -1;
    int index = 0;
    phase state = phase::connecting;
    bool want_out = false;  // EPOLLOUT is registered
    std::size_t request_written = 0;
    std::string response;  // the handshake answer, until its end
    // Sending: frames with sequence numbers < queued are due; those < written
    // are in the kernel, and write_offset bytes of frame `written` too.
    std::uint32_t queued = 0;
    std::uint32_t written = 0;
    std::size_t write_offset = 0;
    std::size_t close_written = 0;  // bytes of close_frame written (closing)
    clock_type::time_point close_deadline;
    // Receiving: echoes < received are complete; the current one has
    // message_offset bytes so far.
    std::uint32_t received = 0;
    std::size_t message_offset = 0;
    bool in_message = false;  // a fragmented echo goes on
    bool in_payload = false;  // the header of the current frame is read
    bool frame_fin = false;
    std::uint64_t frame_left = 0;
    unsigned char header[14] = {};
    std::size_t header_have = 0;
};

class load {
public:
    explicit load(const options& o)
        : o_(o), frame_(o.size), filler_(o.size, 'p'),
          read_buffer_(std::max<std::size_t>(65536, std::min<std::size_t>(o.size + 14, 4 << 20))),
          connections_(static_cast<std::size_t>(o.connections)) {
        request_ = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port) +
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + std::string(handshake_key) +
                   "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    }

    // Everything from the first connect to the last closing handshake.
    void run() {
        const auto deadline = clock_type::now() + overall_limit;
        epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) {
            die_errno("epoll_create1");
        }
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(o_.port);
        if (inet_pton(AF_INET, o_.host.c_str(), &address.sin_addr) != 1) {
            die("bad IPv4 address " + o_.host);
        }
        for (std::size_t i = 0; i < connections_.size(); ++i) {
            connection& c = connections_[i];
            c.index = static_cast<int>(i);
            c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (c.fd < 0) {
                die_errno("socket");
            }
            const int one = 1;
            setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            epoll_event event{};
            event.data.u64 = i;
            if (connect(c.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
                c.state = phase::handshake;
                event.events = EPOLLIN;
            } else if (errno == EINPROGRESS) {
                event.events = EPOLLOUT;
                c.want_out = true;
            } else {
                die_errno("connect " + o_.host + ":" + std::to_string(o_.port));
            }
            if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &event) < 0) {
                die_errno("epoll_ctl");
            }
            if (c.state == phase::handshake) {
                flush(c);
            }
        }
        std::vector<epoll_event> events(connections_.size());
        while (done_ < connections_.size()) {
            const int count = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
            if (count < 0) {
                if (errno == EINTR) {
                    continue;
                }
                die_errno("epoll_wait");
            }
            for (int e = 0; e < count; ++e) {
                const epoll_event& event = events[static_cast<std::size_t>(e)];
                connection& c = connections_[event.data.u64];
                if (c.state == phase::connecting) {
                    connected(c);
                    continue;
                }
                if ((event.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
                    readable(c);
                }
                if (c.state != phase::done) {
                    flush(c);
                }
            }
            const auto now = clock_type::now();
            if (now > deadline) {
                die("no result after " + std::to_string(overall_limit.count()) + " s (" +
                    std::to_string(done_) + " of " + std::to_string(connections_.size()) + " connections done)");
            }
            if (count == 0) {
                for (const connection& c : connections_) {
                    if (c.state == phase::closing && now > c.close_deadline) {
                        fail(c, "no Close from the server " + std::to_string(close_limit.count()) +
                                    " s after ours");
                    }
                }
            }
        }
        close(epoll_fd_);
    }

private:
    [[noreturn]] static void fail(const connection& c, const std::string& what) {
        die("connection " + std::to_string(c.index) + ": " + what);
    }

    void watch_out(connection& c, bool out) {
        if (c.want_out == out) {
            return;
        }
        epoll_event event{};
        event.events = EPOLLIN | (out ? EPOLLOUT : 0U);
        event.data.u64 = static_cast<std::uint64_t>(c.index);
        if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event) < 0) {
            die_errno("epoll_ctl");
        }
        c.want_out = out;
    }

    void connected(connection& c) {
        int error = 0;
        socklen_t length = sizeof error;
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) {
            die_errno("getsockopt");
        }
        if (error != 0) {
            errno = error;
            die_errno("connect " + o_.host + ":" + std::to_string(o_.port));
        }
        c.state = phase::handshake;
        watch_out(c, false);
        flush(c);
    }

    void finish(connection& c) {
        close(c.fd);  // also leaves the epoll set
        c.fd = -1;
        c.state = phase::done;
        ++done_;
    }

    // Reads what is there; level-triggered epoll calls again for the rest,
    // so a read that did not fill the buffer saves the one that would say EAGAIN.
    void readable(connection& c) {
        for (;;) {
            const ssize_t n = recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
            if (n > 0) {
                const auto* data = reinterpret_cast<const unsigned char*>(read_buffer_.data());
                if (c.state == phase::handshake) {
                    handshake_answer(c, data, static_cast<std::size_t>(n));
                } else {
                    frames(c, data, static_cast<std::size_t>(n));
                }
                if (c.state == phase::done || static_cast<std::size_t>(n) < read_buffer_.size()) {
                    return;
                }
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (c.state == phase::closing && (n == 0 || errno == ECONNRESET)) {
                finish(c);  // the server ended the connection instead of answering our Close
                return;
            }
            if (n == 0) {
                fail(c, "the server closed the connection after " + std::to_string(c.received) + " echoes");
            }
            die_errno("connection " + std::to_string(c.index) + ": recv");
        }
    }

    void handshake_answer(connection& c, const unsigned char* data, std::size_t length) {
        const std::size_t before = c.response.size();
        c.response.append(reinterpret_cast<const char*>(data), length);
        const auto end = c.response.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
        if (end == std::string::npos) {
            if (c.response.size() > 16384) {
                fail(c, "no end of the handshake answer in 16 KiB");
            }
            return;
        }
        const std::string_view head(c.response.data(), end + 2);
        if (head.substr(0, 13) != "HTTP/1.1 101 ") {
            fail(c, "handshake answer: " + std::string(head.substr(0, head.find('\r'))));
        }
        bool accepted = false;
        for (std::size_t at = head.find("\r\n") + 2; at < head.size();) {
            const std::size_t line_end = head.find("\r\n", at);
            const std::string_view line = head.substr(at, line_end - at);
            at = line_end + 2;
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) {
                fail(c, "handshake answer: bad header line " + std::string(line));
            }
            std::string name(line.substr(0, colon));
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
                value.remove_prefix(1);
            }
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
                value.remove_suffix(1);
            }
            if (name == "sec-websocket-accept") {
                if (value != handshake_accept) {
                    fail(c, "handshake answer: Sec-WebSocket-Accept " + std::string(value) + ", expected " +
                                std::string(handshake_accept));
                }
                accepted = true;
            } else if (name == "sec-websocket-extensions") {
                fail(c, "handshake answer: an extension was not offered: " + std::string(value));
            }
        }
        if (!accepted) {
            fail(c, "handshake answer without Sec-WebSocket-Accept");
        }
        const std::string rest = c.response.substr(end + 4);
        c.response = std::string();
        c.state = phase::open;
        c.queued = std::min<std::uint32_t>(o_.messages, static_cast<std::uint32_t>(o_.window));
        if (o_.messages == 0) {
            start_closing(c);
        }
        frames(c, reinterpret_cast<const unsigned char*>(rest.data()), rest.size());
    }

    void start_closing(connection& c) {
        c.state = phase::closing;
        c.close_deadline = clock_type::now() + close_limit;
    }

    // The server's frames, as they come: headers gathered in c.header,
    // payloads compared where they lie.
    void frames(connection& c, const unsigned char* data, std::size_t length) {
        for (;;) {
            if (!c.in_payload) {
                if (length == 0) {
                    return;
                }
                std::size_t need = 2;
                for (;;) {
                    while (c.header_have < need && length > 0) {
                        c.header[c.header_have++] = *data++;
                        --length;
                    }
                    if (c.header_have < need) {
                        return;
                    }
                    const std::size_t full = (c.header[1] & 0x7F) == 127   ? 10
                                             : (c.header[1] & 0x7F) == 126 ? 4
                                                                             : 2;
                    if (need == full) {
                        break;
                    }
                    need = full;
                }
                frame_header(c);
                if (c.state == phase::done) {
                    return;
                }
            }
            const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(c.frame_left, length));
            if (chunk > 0) {
                check_payload(c, data, chunk);
                data += chunk;
                length -= chunk;
                c.frame_left -= chunk;
                c.message_offset += chunk;
            }
            if (c.frame_left > 0) {
                return;  // length is 0
            }
            c.in_payload = false;
            if (c.frame_fin) {
                echoed(c);
            }
        }
    }

    void frame_header(connection& c) {
        const unsigned char b0 = c.header[0];
        const unsigned char b1 = c.header[1];
        c.header_have = 0;
        if ((b1 & 0x80) != 0) {
            fail(c, "a masked frame from the server");
        }
        if ((b0 & 0x70) != 0) {
            fail(c, "a frame with RSV bits set");
        }
        const unsigned opcode = b0 & 0x0F;
        if (opcode == 0x8) {
            if (c.state == phase::closing) {
                finish(c);  // the closing handshake is complete; the rest of the Close does not matter
                return;
            }
            fail(c, "a Close frame from the server after " + std::to_string(c.received) + " echoes");
        }
        if (c.state != phase::open) {
            fail(c, "a frame after the last echo");
        }
        if (opcode == 0x2) {
            if (c.in_message) {
                fail(c, "a new message inside a fragmented one");
            }
            c.in_message = true;
            c.message_offset = 0;
        } else if (opcode != 0x0 || !c.in_message) {
            fail(c, "unexpected frame (opcode " + std::to_string(opcode) + ") at echo " + std::to_string(c.received));
        }
        std::uint64_t length = b1 & 0x7F;
        if (length == 126) {
            length = (std::uint64_t{c.header[2]} << 8) | c.header[3];
        } else if (length == 127) {
            length = 0;
            for (int i = 2; i < 10; ++i) {
                length = (length << 8) | c.header[i];
            }
        }
        if (length > o_.size - c.message_offset) {
            fail(c, "echo " + std::to_string(c.received) + " is longer than the " + std::to_string(o_.size) +
                        " bytes sent");
        }
        c.frame_fin = (b0 & 0x80) != 0;
        c.frame_left = length;
        c.in_payload = true;
    }

    // Echo c.received's bytes [c.message_offset, + length) against what was sent.
    void check_payload(const connection& c, const unsigned char* data, std::size_t length) const {
        std::size_t offset = c.message_offset;
        while (offset < frame_.seq_bytes && length > 0) {
            if (*data != ((c.received >> (8 * offset)) & 0xFF)) {
                fail(c, "echo " + std::to_string(c.received) + ": wrong sequence byte " + std::to_string(offset));
            }
            ++data;
            ++offset;
            --length;
        }
        if (length > 0 && std::memcmp(data, filler_.data(), length) != 0) {
            fail(c, "echo " + std::to_string(c.received) + ": wrong payload");
        }
    }

    void echoed(connection& c) {
        if (c.message_offset != o_.size) {
            fail(c, "echo " + std::to_string(c.received) + " has " + std::to_string(c.message_offset) + " of " +
                        std::to_string(o_.size) + " bytes");
        }
        c.in_message = false;
        c.message_offset = 0;
        ++c.received;
        if (c.queued < o_.messages) {
            ++c.queued;
        }
        if (c.received == o_.messages) {
            start_closing(c);
        }
    }

    // Bytes [offset, end) of frame `seq` as pieces: `piece(pointer, length)`.
    template <typename Piece>
    void frame_pieces(std::uint32_t seq, std::size_t offset, unsigned char* prefix, Piece&& piece) const {
        if (offset < frame_.prefix) {
            frame_.build_prefix(seq, prefix);
            piece(prefix + offset, frame_.prefix - offset);
            offset = frame_.prefix;
        }
        if (offset < frame_.length()) {
            piece(frame_.bytes.data() + offset, frame_.length() - offset);
        }
    }

    // Moves the write position `n` bytes on.
    void wrote(connection& c, std::size_t n) {
        while (n > 0 && c.written < c.queued) {
            const std::size_t left = frame_.length() - c.write_offset;
            if (n < left) {
                c.write_offset += n;
                return;
            }
            n -= left;
            ++c.written;
            c.write_offset = 0;
        }
        c.close_written += n;
    }

    // After a send that failed: true to send again (EINTR), false once
    // EPOLLOUT is armed (the socket buffer is full); any other error ends the run.
    bool send_again(connection& c) {
        if (errno == EINTR) {
            return true;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            watch_out(c, true);
            return false;
        }
        die_errno("connection " + std::to_string(c.index) + ": send");
    }

    // Writes what is due until the kernel takes no more; then waits for
    // EPOLLOUT if something is left.
    void flush(connection& c) {
        if (c.state == phase::handshake) {
            while (c.request_written < request_.size()) {
                const ssize_t n = send(c.fd, request_.data() + c.request_written, request_.size() - c.request_written,
                                       MSG_NOSIGNAL);
                if (n < 0) {
                    if (send_again(c)) {
                        continue;
                    }
                    return;
                }
                c.request_written += static_cast<std::size_t>(n);
            }
            watch_out(c, false);
            return;
        }
        const bool closing = c.state == phase::closing;
        while (c.written < c.queued || (closing && c.close_written < sizeof close_frame)) {
            // Small frames are copied into one buffer (one segment for the
            // kernel to copy); large ones go as segments of the template.
            iovec pieces[64];
            int count = 0;
            std::size_t total = 0;
            const bool copy = frame_.length() <= 1024;
            auto add = [&](const void* pointer, std::size_t length) {
                if (copy) {
                    std::memcpy(scratch_ + total, pointer, length);
                } else {
                    pieces[count++] = iovec{const_cast<void*>(pointer), length};
                }
                total += length;
            };
            std::uint32_t seq = c.written;
            std::size_t offset = c.write_offset;
            for (int k = 0; seq < c.queued; ++seq, ++k) {
                if (copy ? total + frame_.length() > sizeof scratch_ : count + 3 > 64) {
                    break;
                }
                frame_pieces(seq, offset, prefixes_[copy ? 0 : k], add);
                offset = 0;
            }
            if (seq == c.queued && closing && c.close_written < sizeof close_frame && (copy ? total + 8 <= sizeof scratch_ : count < 64)) {
                add(close_frame + c.close_written, sizeof close_frame - c.close_written);
            }
            if (copy) {
                pieces[0] = iovec{scratch_, total};
                count = 1;
            }
            msghdr message{};
            message.msg_iov = pieces;
            message.msg_iovlen = static_cast<std::size_t>(count);
            const ssize_t n = count == 1 ? send(c.fd, pieces[0].iov_base, pieces[0].iov_len, MSG_NOSIGNAL)
                                         : sendmsg(c.fd, &message, MSG_NOSIGNAL);
            if (n < 0) {
                if (send_again(c)) {
                    continue;
                }
                return;
            }
            wrote(c, static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < total) {
                watch_out(c, true);  // the socket buffer is full
                return;
            }
        }
        watch_out(c, false);
    }

    const options& o_;
    frame_template frame_;
    std::string filler_;  // the payload after the sequence bytes: all 'p'
    std::string request_;
    std::vector<char> read_buffer_;
    std::vector<connection> connections_;
    int epoll_fd_ = -1;
    std::size_t done_ = 0;
    unsigned char scratch_[65536] = {};
    unsigned char prefixes_[64][14 + 4] = {};
};

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    load generator(o);
    const auto start = clock_type::now();
    generator.run();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    const double total = static_cast<double>(o.connections) * o.messages;
    std::printf("%d connections x %u messages of %zu bytes, window %d: %.0f messages/s (%.3f s)\n", o.connections,
                o.messages, o.size, o.window, total / seconds, seconds);
    return 0;
}

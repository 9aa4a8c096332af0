// Versioned binary persistence for the search indexes.
//
// Layout: 8-byte magic, uint32 format version, then the fields each index
// writes in a fixed order, then a 64-bit checksum of everything after the
// magic. Readers never trust a length: every array size is checked against the
// bytes actually left before anything is allocated, and the checksum catches
// flipped bytes that structural checks cannot (vector values). Any problem is
// a FormatError (ValueError in Python), never a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace reelrec::search {

class FormatError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

namespace detail {

// Word-at-a-time multiply-xorshift hash: cheap enough (several GB/s) to run
// over a whole index on every save and load.
inline uint64_t hash_bytes(uint64_t h, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * kMul;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    if (n > i) std::memcpy(&tail, p + i, n - i);
    h = (h ^ tail ^ (static_cast<uint64_t>(n) << 56)) * kMul;
    return h ^ (h >> 31);
}

}  // namespace detail

class BinaryWriter {
public:
    BinaryWriter(std::ostream& out, const char (&magic)[9], uint32_t version) : out_(out) {
        out_.write(magic, 8);
        pod(version);
    }
    template <class T>
    void pod(const T& value) {
        static_assert(std::is_trivially_copyable<T>::value, "pod");
        raw(&value, sizeof(T));
    }
    template <class T>
    void array(const T* data, std::size_t n) {
        pod(static_cast<uint64_t>(n));
        raw(data, n * sizeof(T));
    }
    void string(const std::string& s) { array(s.data(), s.size()); }
    void raw(const void* data, std::size_t n) {
        if (n == 0) return;
        hash_ = detail::hash_bytes(hash_, data, n);
        out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    }
    void finish() {
        const uint64_t h = hash_;
        out_.write(reinterpret_cast<const char*>(&h), sizeof(h));
        out_.flush();
        if (!out_) throw std::runtime_error("write failed (disk full or not writable)");
    }

private:
    std::ostream& out_;
    uint64_t hash_ = 0x1234ABCDULL;
};

class BinaryReader {
public:
    // `size` is the number of bytes the stream holds from its current position.
    BinaryReader(std::istream& in, uint64_t size, const char (&magic)[9], uint32_t max_version,
                 const std::string& what)
        : in_(in), left_(size), what_(what) {
        char got[8];
        if (left_ < 8 + 4 + 8) fail("file is too short to be one");
        in_.read(got, 8);
        left_ -= 8;
        if (!in_ || std::memcmp(got, magic, 8) != 0) fail("wrong magic bytes");
        version_ = pod<uint32_t>();
        if (version_ == 0 || version_ > max_version) {
            fail("unsupported format version " + std::to_string(version_) + " (this reelrec reads 1.." +
                 std::to_string(max_version) + ")");
        }
    }
    uint32_t version() const { return version_; }
    template <class T>
    T pod() {
        static_assert(std::is_trivially_copyable<T>::value, "pod");
        T value;
        raw(&value, sizeof(T));
        return value;
    }
    // Reads a length-prefixed array of at most max_n elements.
    template <class T>
    std::vector<T> array(uint64_t max_n, const char* field) {
        const uint64_t n = pod<uint64_t>();
        if (n > max_n) fail(std::string(field) + " has an invalid length");
        check_left(n * sizeof(T), field);
        std::vector<T> out(static_cast<std::size_t>(n));
        raw(out.data(), out.size() * sizeof(T));
        return out;
    }
    // Reads a length-prefixed array whose length must equal n into dst.
    template <class T>
    void array_into(T* dst, uint64_t n, const char* field) {
        if (pod<uint64_t>() != n) fail(std::string(field) + " has an unexpected length");
        check_left(n * sizeof(T), field);
        raw(dst, n * sizeof(T));
    }
    std::string string(uint64_t max_n, const char* field) {
        std::vector<char> chars = array<char>(max_n, field);
        return std::string(chars.begin(), chars.end());
    }
    void raw(void* dst, std::size_t n) {
        if (n == 0) return;
        check_left(n, "data");
        in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
        if (!in_) fail("file is truncated");
        left_ -= n;
        hash_ = detail::hash_bytes(hash_, dst, n);
    }
    void finish() {
        const uint64_t expected = hash_;
        if (left_ != 8) fail(left_ < 8 ? "file is truncated" : "unexpected trailing bytes");
        uint64_t got;
        in_.read(reinterpret_cast<char*>(&got), 8);
        if (!in_) fail("file is truncated");
        if (got != expected) fail("checksum mismatch (the file is corrupt)");
    }
    // Fails unless at least n more payload bytes remain (call before allocating).
    void expect(uint64_t n, const char* field) { check_left(n, field); }
    [[noreturn]] void fail(const std::string& why) const {
        throw FormatError("not a valid " + what_ + " file: " + why);
    }

private:
    void check_left(uint64_t n, const char* field) {
        // Keep 8 bytes for the trailing checksum.
        if (left_ < 8 || n > left_ - 8) fail(std::string("file is truncated (reading ") + field + ")");
    }
    std::istream& in_;
    uint64_t left_;
    std::string what_;
    uint32_t version_ = 0;
    uint64_t hash_ = 0x1234ABCDULL;
};

}  // namespace reelrec::search

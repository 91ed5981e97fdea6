/*
 * actok.hpp: a header-only C++17 wrapper of actok.h (see that header for the semantics, the
 * arrays' layout, thread safety and allocation; this file adds no behaviour).
 *
 *   actok::Tokenizer tok("my-fast");                       // throws actok::Error on failure
 *   std::vector<std::int32_t> ids = tok.encode(chunk, 50, 14);   // convenience: allocates
 *   std::vector<double> actions = tok.decode(ids, 50, 14);
 *
 *   // The real-time path: caller buffers, no allocation after the first call on a thread.
 *   std::vector<std::int32_t> row(tok.max_tokens(50, 14));
 *   std::size_t n = tok.encode(chunk.data(), 50, 14, row.data(), row.size());
 *   bool valid = tok.decode(row.data(), n, 50, 14, out.data(), actok::OnError::Zeros);
 *
 * Errors: every failure throws actok::Error, a std::runtime_error carrying the C status code
 * (code()) and actok's message (what()). Building the exception allocates; nothing else here
 * does, except the std::vector conveniences and the constructor (which loads the tokenizer).
 *
 * Threads: a Tokenizer is immutable; its const member functions may be called from any number
 * of threads at once. It is movable, not copyable; the handle is freed by the destructor.
 */
#ifndef ACTOK_HPP
#define ACTOK_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "actok.h"

namespace actok {

/** A failed actok call: the ACTOK_ERROR_* code and actok's message. */
class Error : public std::runtime_error {
public:
    Error(int code, const std::string &message) : std::runtime_error(message), code_(code) {}

    /** The ACTOK_ERROR_* status code. */
    int code() const noexcept { return code_; }

private:
    int code_;
};

/** What encode does with a coefficient the vocabulary cannot represent. */
enum class Overflow : int {
    Raise = ACTOK_OVERFLOW_RAISE, /**< throw (ACTOK_ERROR_ENCODE) */
    Clip = ACTOK_OVERFLOW_CLIP,   /**< saturate to the nearest representable value (lossy) */
};

/** Whether encode holds chunks to the shape the tokenizer records (Python's check_shape). */
enum class Shape : int {
    Check = 0,                    /**< refuse other shapes (the default) */
    Any = ACTOK_ENCODE_ANY_SHAPE, /**< encode any (horizon, dim) */
};

/** What decode does with a sequence that does not decode. */
enum class OnError : int {
    Raise = ACTOK_DECODE_RAISE, /**< throw (ACTOK_ERROR_DECODE) */
    Pad = ACTOK_DECODE_PAD,     /**< the decodable prefix, valid = false */
    Zeros = ACTOK_DECODE_ZEROS, /**< an all-zero chunk, valid = false */
};

/** The library's version, e.g. "0.1.0". */
inline const char *version() noexcept { return actok_version(); }

namespace detail {

/** Throws the Error for a failed call's status (with this thread's message). */
inline void check(int status) {
    if (status != ACTOK_OK) {
        throw Error(status, actok_last_error());
    }
}

inline int encode(const actok_tokenizer *tok, const float *actions, std::size_t batch,
                  std::size_t horizon, std::size_t dim, int flags, std::int32_t *ids,
                  std::size_t stride, std::size_t *lengths) {
    return actok_encode_f32(tok, actions, batch, horizon, dim, flags, ids, stride, lengths);
}

inline int encode(const actok_tokenizer *tok, const double *actions, std::size_t batch,
                  std::size_t horizon, std::size_t dim, int flags, std::int32_t *ids,
                  std::size_t stride, std::size_t *lengths) {
    return actok_encode_f64(tok, actions, batch, horizon, dim, flags, ids, stride, lengths);
}

inline int decode(const actok_tokenizer *tok, const std::int32_t *ids, std::size_t stride,
                  const std::size_t *lengths, std::size_t batch, std::size_t horizon,
                  std::size_t dim, int on_error, float *actions, std::uint8_t *valid) {
    return actok_decode_f32(tok, ids, stride, lengths, batch, horizon, dim, on_error, actions,
                            valid);
}

inline int decode(const actok_tokenizer *tok, const std::int32_t *ids, std::size_t stride,
                  const std::size_t *lengths, std::size_t batch, std::size_t horizon,
                  std::size_t dim, int on_error, double *actions, std::uint8_t *valid) {
    return actok_decode_f64(tok, ids, stride, lengths, batch, horizon, dim, on_error, actions,
                            valid);
}

/** A non-null pointer for an empty vector (C refuses NULL arrays even when empty). */
template <typename T> const T *data(const std::vector<T> &v) noexcept {
    static const T none{};
    return v.empty() ? &none : v.data();
}

/** Refuses a vector whose size is not the chunk's, before C reads past it. */
inline void check_size(std::size_t size, std::size_t horizon, std::size_t dim) {
    bool fits = dim == 0 ? size == 0 : size % dim == 0 && size / dim == horizon;
    if (!fits) {
        throw Error(ACTOK_ERROR_ARGUMENT, "a chunk of " + std::to_string(size) +
                                              " values is not (" + std::to_string(horizon) +
                                              ", " + std::to_string(dim) + ")");
    }
}

} // namespace detail

/** A loaded tokenizer (RAII owner of an actok_tokenizer handle). */
class Tokenizer {
public:
    /** Loads the tokenizer directory `dir` (actok_tokenizer_load). Throws Error. */
    explicit Tokenizer(const std::string &dir) {
        detail::check(actok_tokenizer_load(dir.c_str(), &tok_));
    }

    ~Tokenizer() { actok_tokenizer_free(tok_); }

    Tokenizer(const Tokenizer &) = delete;
    Tokenizer &operator=(const Tokenizer &) = delete;

    Tokenizer(Tokenizer &&other) noexcept : tok_(std::exchange(other.tok_, nullptr)) {}

    Tokenizer &operator=(Tokenizer &&other) noexcept {
        if (this != &other) {
            actok_tokenizer_free(tok_);
            tok_ = std::exchange(other.tok_, nullptr);
        }
        return *this;
    }

    /** The C handle, for calls this wrapper does not cover (still owned by this object). */
    const actok_tokenizer *get() const noexcept { return tok_; }

    /** The horizon the tokenizer records, 0 if none. Throws Error (moved-from object). */
    std::size_t time_horizon() const {
        std::size_t horizon = 0;
        detail::check(actok_tokenizer_shape(tok_, &horizon, nullptr));
        return horizon;
    }

    /** The action dimension the tokenizer records, 0 if none. Throws Error. */
    std::size_t action_dim() const {
        std::size_t dim = 0;
        detail::check(actok_tokenizer_shape(tok_, nullptr, &dim));
        return dim;
    }

    /** A number of ids that always suffices for one (horizon, dim) chunk. Throws Error. */
    std::size_t max_tokens(std::size_t horizon, std::size_t dim) const {
        std::size_t n = actok_max_tokens(tok_, horizon, dim);
        if (n == 0 && horizon != 0 && dim != 0) {
            detail::check(ACTOK_ERROR_ARGUMENT);
        }
        return n;
    }

    /**
     * Encodes one (horizon, dim) chunk (float or double, row-major) into ids[0 .. capacity);
     * returns the number of ids. Throws Error, also when the chunk needs more than `capacity`
     * ids (max_tokens always suffices). Allocates nothing after the first call on a thread.
     */
    template <typename T>
    std::size_t encode(const T *actions, std::size_t horizon, std::size_t dim, std::int32_t *ids,
                       std::size_t capacity, Overflow overflow = Overflow::Raise,
                       Shape shape = Shape::Check) const {
        std::size_t length = 0;
        detail::check(detail::encode(tok_, actions, 1, horizon, dim, flags(overflow, shape),
                                     ids, capacity, &length));
        return length;
    }

    /**
     * Encodes `batch` chunks (row-major (batch, horizon, dim)): chunk b's ids at
     * ids + b * ids_stride, their count in lengths[b]. Throws Error.
     */
    template <typename T>
    void encode_batch(const T *actions, std::size_t batch, std::size_t horizon, std::size_t dim,
                      std::int32_t *ids, std::size_t ids_stride, std::size_t *lengths,
                      Overflow overflow = Overflow::Raise, Shape shape = Shape::Check) const {
        detail::check(detail::encode(tok_, actions, batch, horizon, dim, flags(overflow, shape),
                                     ids, ids_stride, lengths));
    }

    /** Encodes one chunk held in a vector (float or double); allocates the result. */
    template <typename T>
    std::vector<std::int32_t> encode(const std::vector<T> &chunk, std::size_t horizon,
                                     std::size_t dim, Overflow overflow = Overflow::Raise,
                                     Shape shape = Shape::Check) const {
        detail::check_size(chunk.size(), horizon, dim);
        std::vector<std::int32_t> ids(max_tokens(horizon, dim));
        std::int32_t none = 0;
        std::int32_t *row = ids.empty() ? &none : ids.data();
        ids.resize(encode(detail::data(chunk), horizon, dim, row, ids.size(), overflow, shape));
        return ids;
    }

    /**
     * Decodes the `count` ids at `ids` to one (horizon, dim) chunk at `actions` (float or
     * double); returns whether it decoded without repair (always true under OnError::Raise,
     * which throws instead). Allocates nothing after the first call on a thread.
     */
    template <typename T>
    bool decode(const std::int32_t *ids, std::size_t count, std::size_t horizon, std::size_t dim,
                T *actions, OnError on_error = OnError::Raise) const {
        std::uint8_t valid = 0;
        detail::check(detail::decode(tok_, ids, count, &count, 1, horizon, dim,
                                     static_cast<int>(on_error), actions, &valid));
        return valid != 0;
    }

    /**
     * Decodes `batch` sequences (sequence b: lengths[b] ids at ids + b * ids_stride) to
     * row-major (batch, horizon, dim) actions; valid (may be null) gets 1 per clean sequence.
     * Throws Error.
     */
    template <typename T>
    void decode_batch(const std::int32_t *ids, std::size_t ids_stride, const std::size_t *lengths,
                      std::size_t batch, std::size_t horizon, std::size_t dim, T *actions,
                      std::uint8_t *valid = nullptr, OnError on_error = OnError::Raise) const {
        detail::check(detail::decode(tok_, ids, ids_stride, lengths, batch, horizon, dim,
                                     static_cast<int>(on_error), actions, valid));
    }

    /** Decodes one sequence to a (horizon, dim) chunk of doubles; allocates the result. */
    std::vector<double> decode(const std::vector<std::int32_t> &ids, std::size_t horizon,
                               std::size_t dim, OnError on_error = OnError::Raise) const {
        std::vector<double> actions(horizon * dim);
        double none = 0.0;
        decode(detail::data(ids), ids.size(), horizon, dim, actions.empty() ? &none : actions.data(),
               on_error);
        return actions;
    }

private:
    static int flags(Overflow overflow, Shape shape) noexcept {
        return static_cast<int>(overflow) | static_cast<int>(shape);
    }

    actok_tokenizer *tok_ = nullptr;
};

} // namespace actok

#endif /* ACTOK_HPP */

// Example: the C++17 wrapper (actok.hpp). Loads a tokenizer directory the Python package wrote,
// encodes every chunk as one batch and then one at a time into a preallocated row (the
// control-loop path), checks the ids against the ids Python wrote, and decodes them back.
//
//     c++ -std=c++17 -I rust/actok-c/include examples/cpp/roundtrip.cpp
//         target/release/libactok_c.a -lpthread -ldl -lm -o roundtrip_cpp   (one line)
//     ./roundtrip_cpp CASE_DIR    # e.g. the lift/ case of scripts/make_c_fixtures.py
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "actok.hpp"

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " CASE_DIR\n";
        return 2;
    }
    const std::string dir = argv[1];
    std::ifstream text(dir + "/ids_f64.txt");
    std::size_t batch = 0, horizon = 0, dim = 0;
    if (!(text >> batch >> horizon >> dim)) {
        std::cerr << "cannot read " << dir << "/ids_f64.txt\n";
        return 2;
    }
    std::vector<std::vector<std::int32_t>> expected(batch);
    for (auto &seq : expected) {
        std::size_t n = 0;
        text >> n;
        seq.resize(n);
        for (auto &id : seq) {
            text >> id;
        }
    }
    const std::size_t chunk = horizon * dim;
    std::vector<double> chunks(batch * chunk);
    std::ifstream binary(dir + "/chunks_f64.bin", std::ios::binary);
    binary.read(reinterpret_cast<char *>(chunks.data()),
                static_cast<std::streamsize>(chunks.size() * sizeof(double)));
    if (!text || !binary) {
        std::cerr << "cannot read the fixtures in " << dir << "\n";
        return 2;
    }

    try {
        const actok::Tokenizer tok(dir + "/tokenizer");
        if (tok.time_horizon() != horizon || tok.action_dim() != dim) {
            std::cerr << "the tokenizer records another shape\n";
            return 1;
        }
        // The whole batch in one call.
        const std::size_t stride = tok.max_tokens(horizon, dim);
        std::vector<std::int32_t> rows(batch * stride);
        std::vector<std::size_t> lengths(batch);
        tok.encode_batch(chunks.data(), batch, horizon, dim, rows.data(), stride, lengths.data());
        // One chunk at a time into one preallocated row, and back.
        std::vector<std::int32_t> row(stride);
        std::vector<float> decoded(chunk);
        double worst = 0.0;
        for (std::size_t b = 0; b < batch; ++b) {
            const std::size_t n = tok.encode(&chunks[b * chunk], horizon, dim, row.data(), row.size());
            const std::vector<std::int32_t> got(row.begin(), row.begin() + static_cast<long>(n));
            const std::vector<std::int32_t> batched(rows.begin() + static_cast<long>(b * stride),
                                                    rows.begin() + static_cast<long>(b * stride + lengths[b]));
            if (got != expected[b] || batched != expected[b]) {
                std::cerr << "chunk " << b << ": ids differ from Python's\n";
                return 1;
            }
            tok.decode(row.data(), n, horizon, dim, decoded.data());
            for (std::size_t i = 0; i < chunk; ++i) {
                worst = std::fmax(worst, std::fabs(decoded[i] - chunks[b * chunk + i]));
            }
        }
        // The conveniences, and an error as an exception.
        const std::vector<double> first(chunks.begin(), chunks.begin() + static_cast<long>(chunk));
        const std::vector<double> back = tok.decode(tok.encode(first, horizon, dim), horizon, dim);
        try {
            tok.decode(std::vector<std::int32_t>{1 << 20}, horizon, dim);
            std::cerr << "an unknown id decoded\n";
            return 1;
        } catch (const actok::Error &e) {
            if (e.code() != ACTOK_ERROR_DECODE) {
                std::cerr << "unexpected code " << e.code() << ": " << e.what() << "\n";
                return 1;
            }
        }
        std::cout << "C++ example: " << batch << " chunks of " << horizon << "x" << dim
                  << ", ids identical to Python's (batch and one by one); largest round-trip "
                     "error "
                  << worst << " (float); " << back.size() << " values via std::vector\n";
    } catch (const actok::Error &e) {
        std::cerr << "actok error " << e.code() << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}

// The shape of a robot control node that turns a policy's action tokens into commands, without
// ROS itself: everything is allocated when the node starts, and the per-message callback
// (on_tokens) decodes on the calling thread with no allocation, never passing zeros or a
// partial chunk on silently: a sequence that does not decode is reported and the previous
// chunk is held.
//
// Run on a case directory of scripts/make_c_fixtures.py: the "policy" replays the ids Python
// wrote for its chunks (checking that actok encodes each chunk to exactly those ids), and every
// fifth message is corrupted to show the refusal.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "actok.hpp"

class ActionNode {
public:
    explicit ActionNode(const std::string &tokenizer_dir)
        : tok_(tokenizer_dir), horizon_(tok_.time_horizon()), dim_(tok_.action_dim()),
          chunk_(horizon_ * dim_, 0.0) {}

    std::size_t horizon() const { return horizon_; }
    std::size_t dim() const { return dim_; }

    // The subscription callback: tokens in, a chunk of commands out (kept in chunk_).
    bool on_tokens(const std::int32_t *ids, std::size_t count) {
        // ZEROS never throws on bad tokens: it reports them through the return value, and the
        // node decides what to do (here: hold the last good chunk).
        if (!tok_.decode(ids, count, horizon_, dim_, scratch_.data(), actok::OnError::Zeros)) {
            ++rejected_;
            return false;
        }
        chunk_.swap(scratch_);
        return true;
    }

    const std::vector<double> &chunk() const { return chunk_; }
    std::size_t rejected() const { return rejected_; }
    const actok::Tokenizer &tokenizer() const { return tok_; }

private:
    actok::Tokenizer tok_;
    std::size_t horizon_, dim_;
    std::vector<double> chunk_;
    std::vector<double> scratch_ = std::vector<double>(chunk_.size());
    std::size_t rejected_ = 0;
};

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " CASE_DIR\n";
        return 2;
    }
    const std::string dir = argv[1];
    try {
        ActionNode node(dir + "/tokenizer");
        std::ifstream text(dir + "/ids_f64.txt");
        std::size_t batch = 0, horizon = 0, dim = 0;
        text >> batch >> horizon >> dim;
        std::vector<double> chunks(batch * horizon * dim);
        std::ifstream(dir + "/chunks_f64.bin", std::ios::binary)
            .read(reinterpret_cast<char *>(chunks.data()),
                  static_cast<std::streamsize>(chunks.size() * sizeof(double)));
        if (!text || horizon != node.horizon() || dim != node.dim()) {
            std::cerr << "cannot read the fixtures, or another shape than the tokenizer's\n";
            return 2;
        }
        const std::size_t chunk = horizon * dim;
        std::vector<std::int32_t> message(node.tokenizer().max_tokens(horizon, dim));
        std::vector<std::int32_t> encoded(message.size());
        std::size_t accepted = 0;
        double worst = 0.0;
        for (std::size_t b = 0; b < batch; ++b) {
            std::size_t count = 0;
            text >> count;
            for (std::size_t i = 0; i < count; ++i) {
                text >> message[i];
            }
            const std::size_t n = node.tokenizer().encode(&chunks[b * chunk], horizon, dim,
                                                          encoded.data(), encoded.size());
            if (n != count || !std::equal(encoded.begin(), encoded.begin() + static_cast<long>(n),
                                          message.begin())) {
                std::cerr << "chunk " << b << ": actok's ids differ from Python's\n";
                return 1;
            }
            const bool corrupt = b % 5 == 4;
            if (corrupt) {
                message[count / 2] = -7; // not an id
            }
            if (node.on_tokens(message.data(), count) == corrupt) {
                std::cerr << "message " << b << ": wrong verdict\n";
                return 1;
            }
            if (!corrupt) {
                ++accepted;
                for (std::size_t i = 0; i < chunk; ++i) {
                    worst = std::fmax(worst, std::fabs(node.chunk()[i] - chunks[b * chunk + i]));
                }
            }
        }
        std::cout << "CMake example (action_node): " << batch << " messages, " << accepted
                  << " decoded (ids identical to Python's), " << node.rejected()
                  << " corrupted ones refused; largest error " << worst << "\n";
    } catch (const actok::Error &e) {
        std::cerr << "actok error " << e.code() << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}

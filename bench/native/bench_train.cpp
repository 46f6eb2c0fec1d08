// bench_train.cpp - times training epochs of the two seed configurations through libmlt's C ABI only, on
// data/names.txt with the same 80/20 split, epoch shuffles and batch size as bench/reference_pytorch.py.
// Prints seconds per epoch and the loss curves as JSON. Built by src/Native/CMakeLists.txt (target mlt_bench).
// Usage: mlt_bench --model mini|full|decoder [--data PATH] [--epochs N] [--seed S] [--threads 1 (0 = automatic)] [--device cpu|cuda:N]
//        decoder only: [--layers L] [--heads H] [--dim E] [--ff F] [--dropout P] [--batch B] [--precision fp32|bf16]
// mini and full are the seed's two models; decoder is the decoder-only model at any size (bench/scale uses it).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "mlt.h"

namespace {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

std::vector<size_t> permutation(size_t n, uint64_t seed) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  SplitMix64 rng{seed};
  for (size_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[rng.next() % (i + 1)]);
  return idx;
}

void check(mlt_status s, const char* what) {
  if (s != MLT_OK) {
    std::fprintf(stderr, "%s failed (%d): %s\n", what, s, mlt_last_error());
    std::exit(1);
  }
}

struct Data {
  std::vector<std::vector<int64_t>> rows;  // BOS word EOS PAD..., all of one width
  int V = 0, width = 0;
};

Data load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  std::set<char> chars;
  size_t longest = 0;
  for (const auto& w : names) {
    chars.insert(w.begin(), w.end());
    longest = std::max(longest, w.size());
  }
  std::vector<char> sorted(chars.begin(), chars.end());
  Data d;
  d.V = 3 + static_cast<int>(sorted.size());
  d.width = static_cast<int>(longest) + 2;
  for (const auto& w : names) {
    std::vector<int64_t> r(d.width, 0);
    r[0] = 1;
    for (size_t i = 0; i < w.size(); ++i)
      r[i + 1] = 3 + (std::lower_bound(sorted.begin(), sorted.end(), w[i]) - sorted.begin());
    r[w.size() + 1] = 2;
    d.rows.push_back(r);
  }
  return d;
}

/// Packs rows[idx] into x = row[:-1], y = row[1:] of shape (n, width - 1).
void pack(const Data& d, const std::vector<size_t>& idx, size_t from, size_t n, std::vector<int64_t>& x,
          std::vector<int64_t>& y) {
  const size_t T = d.width - 1;
  x.resize(n * T);
  y.resize(n * T);
  for (size_t b = 0; b < n; ++b) {
    const auto& r = d.rows[idx[from + b]];
    std::copy(r.begin(), r.end() - 1, x.begin() + b * T);
    std::copy(r.begin() + 1, r.end(), y.begin() + b * T);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_path = "data/names.txt", model = "mini", device = "cpu", precision = "fp32";
  int epochs = 10, threads = 1, layers = 4, heads = 4, dim = 128, ff = 512, batch = 16;
  float dropout = 0.1f;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--data") data_path = v;
    else if (k == "--model") model = v;
    else if (k == "--epochs") epochs = std::atoi(v.c_str());
    else if (k == "--seed") seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--threads") threads = std::atoi(v.c_str());
    else if (k == "--device") device = v;
    else if (k == "--layers") layers = std::atoi(v.c_str());
    else if (k == "--heads") heads = std::atoi(v.c_str());
    else if (k == "--dim") dim = std::atoi(v.c_str());
    else if (k == "--ff") ff = std::atoi(v.c_str());
    else if (k == "--dropout") dropout = static_cast<float>(std::atof(v.c_str()));
    else if (k == "--batch") batch = std::atoi(v.c_str());
    else if (k == "--precision") precision = v;
  }
  const Data d = load(data_path);
  const std::vector<size_t> order = permutation(d.rows.size(), 42);
  const size_t split = static_cast<size_t>(d.rows.size() * 0.8);
  std::vector<size_t> train(order.begin(), order.begin() + split), test(order.begin() + split, order.end());
  std::vector<size_t> test_idx(test.size());
  for (size_t i = 0; i < test.size(); ++i) test_idx[i] = i;

  mlt_config c{};
  const bool full = model == "full", sized = model == "decoder";
  if (!full && !sized && model != "mini") {
    std::fprintf(stderr, "--model must be mini, full or decoder (got %s)\n", model.c_str());
    return 2;
  }
  if (!sized) batch = 16;
  c.kind = full ? MLT_KIND_ENCODER_DECODER : MLT_KIND_DECODER;
  c.vocab_size = d.V;
  c.d_model = sized ? dim : full ? 64 : 32;
  c.n_heads = sized ? heads : full ? 4 : 1;
  c.n_layers = sized ? layers : full ? 2 : 1;
  c.n_encoder_layers = full ? 2 : 0;
  c.d_ff = sized ? ff : full ? 128 : 32;
  c.max_len = d.width;
  c.pad_id = 0;
  c.activation = MLT_ACT_RELU;
  c.dropout = sized ? dropout : full ? 0.1f : 0.f;
  c.layer_norm_eps = 1e-5f;
  c.seed = seed;
  mlt_model* m = nullptr;
  check(mlt_model_create(&m, &c, device.c_str()), "mlt_model_create");
  if (precision != "fp32" && precision != "bf16") {
    std::fprintf(stderr, "--precision must be fp32 or bf16 (got %s)\n", precision.c_str());
    return 2;
  }
  check(mlt_model_set_precision(m, precision == "bf16" ? MLT_PRECISION_BFLOAT16 : MLT_PRECISION_FLOAT32),
        "mlt_model_set_precision");
  check(mlt_model_set_threads(m, threads), "mlt_model_set_threads");  // 0 = the engine's automatic choice
  int64_t params = 0;
  check(mlt_model_num_parameters(&params, m), "mlt_model_num_parameters");

  const int T = d.width - 1;
  std::vector<int64_t> x, y;
  std::vector<double> times, epoch_times, train_curve, test_curve;  // training only; training + validation
  for (int e = 0; e < epochs; ++e) {
    const std::vector<size_t> perm = permutation(train.size(), 1000 * seed + e);
    std::vector<size_t> idx(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) idx[i] = train[perm[i]];
    double total = 0.0;
    int steps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < idx.size(); i += static_cast<size_t>(batch)) {
      const size_t n = std::min<size_t>(static_cast<size_t>(batch), idx.size() - i);
      pack(d, idx, i, n, x, y);
      float loss = 0.f;
      const int64_t len = static_cast<int64_t>(x.size());
      check(mlt_model_train_step(&loss, nullptr, m, x.data(), len, y.data(), len, full ? x.data() : nullptr,
                                 full ? len : 0, static_cast<int32_t>(n), T, full ? T : 0, 1e-3f),
            "mlt_model_train_step");
      total += loss;
      ++steps;
    }
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    train_curve.push_back(total / steps);
    double sum = 0.0;  // validation in chunks of 256 rows
    int64_t count = 0;
    for (size_t i = 0; i < test.size(); i += 256) {
      const size_t n = std::min<size_t>(256, test.size() - i);
      pack(d, test, i, n, x, y);
      double s = 0.0;
      int64_t c = 0;
      const int64_t len = static_cast<int64_t>(x.size());
      check(mlt_model_eval_loss(&s, &c, m, x.data(), len, y.data(), len, full ? x.data() : nullptr, full ? len : 0,
                                static_cast<int32_t>(n), T, full ? T : 0),
            "mlt_model_eval_loss");
      sum += s;
      count += c;
    }
    test_curve.push_back(sum / static_cast<double>(count));
    epoch_times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  mlt_model_free(m);

  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const size_t k = sorted.size();
  const double median = k % 2 ? sorted[k / 2] : 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]);
  auto list = [](const std::vector<double>& v) {
    std::string s = "[";
    char buf[32];
    for (size_t i = 0; i < v.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v[i]);
      s += buf;
    }
    return s + "]";
  };
  char version[32] = {0};
  check(mlt_torch_version(version, sizeof version), "mlt_torch_version");
  std::printf("{\"engine\": \"libmlt\", \"torch\": \"%s\", \"model\": \"%s\", \"device\": \"%s\", \"params\": %lld, \"epochs\": %d, "
              "\"precision\": \"%s\", \"threads\": %d, \"sec_per_epoch_median\": %.6g, \"sec_per_epoch\": %s, "
              "\"sec_per_epoch_with_validation\": %s, \"train_loss\": %s, \"test_nll\": %s}\n",
              version, model.c_str(), device.c_str(), static_cast<long long>(params), epochs, precision.c_str(), threads,
              median, list(times).c_str(), list(epoch_times).c_str(), list(train_curve).c_str(), list(test_curve).c_str());
  return 0;
}

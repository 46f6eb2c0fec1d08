// training_state.cpp - the parts of a model's training state that checkpoints need beyond its weights: the Adam
// moments and step count, and the dropout generators (the fused path's counter stream, the stock path's generator).
// The C exports that reach them live in api.cpp with the others.
#include <cstring>
#include <mutex>

#include "engine.h"

namespace mlt {

namespace {
// Layout of rng_state(): magic, layout version, fused stream key and counter, then the stock generator's bytes.
constexpr uint32_t kRngMagic = 0x524E544Du;  // "MTNR" little-endian
constexpr uint32_t kRngLayout = 1;
constexpr size_t kRngHeader = 4 + 4 + 8 + 8 + 1 + 8;  // magic, layout, key, counter, device type, generator bytes

template <class T>
void put(std::vector<uint8_t>& out, size_t at, T v) {
  std::memcpy(out.data() + at, &v, sizeof v);
}
template <class T>
T get(const uint8_t* p, size_t at) {
  T v;
  std::memcpy(&v, p + at, sizeof v);
  return v;
}
}  // namespace

at::Tensor& Model::adam_moment(int which) {
  if (which == MLT_MOMENT_EXP_AVG) return adam_m_;
  if (which == MLT_MOMENT_EXP_AVG_SQ) return adam_v_;
  fail_arg("which must be MLT_MOMENT_EXP_AVG (0) or MLT_MOMENT_EXP_AVG_SQ (1) (got ", which, ")");
}

int64_t Model::adam_steps() const { return adam_step_; }

void Model::set_adam_steps(int64_t step) {
  if (step < 0) fail_arg("optimizer step must be >= 0 (got ", step, ")");
  adam_step_ = step;
}

std::vector<uint8_t> Model::rng_state() {
  at::Tensor g;
  {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    g = gen_.get_state().contiguous();  // uint8 on the CPU, for CPU and CUDA generators alike
  }
  const auto n = static_cast<size_t>(g.numel());
  std::vector<uint8_t> out(kRngHeader + n);
  put(out, 0, kRngMagic);
  put(out, 4, kRngLayout);
  put(out, 8, rng_.key);
  put(out, 16, rng_.counter);
  put(out, 24, static_cast<uint8_t>(device.is_cpu() ? 0 : 1));
  put(out, 25, static_cast<uint64_t>(n));
  if (n) std::memcpy(out.data() + kRngHeader, g.data_ptr<uint8_t>(), n);
  return out;
}

void Model::set_rng_state(const uint8_t* data, int64_t len) {
  if (!data) fail_arg("data must not be NULL");
  if (len < static_cast<int64_t>(kRngHeader) || get<uint32_t>(data, 0) != kRngMagic)
    fail_arg("the random-number state is not one written by mlt_model_rng_state_read (", len, " bytes)");
  if (get<uint32_t>(data, 4) != kRngLayout)
    fail_arg("the random-number state has layout ", get<uint32_t>(data, 4), "; this engine reads layout ", kRngLayout);
  const bool cpu = get<uint8_t>(data, 24) == 0;
  if (cpu != device.is_cpu())
    fail_arg("the random-number state was written by a model on ", cpu ? "the CPU" : "a CUDA device",
             "; this model is on ", device.str(), " (dropout streams do not carry over between device types)");
  const auto n = get<uint64_t>(data, 25);
  if (static_cast<uint64_t>(len) != kRngHeader + n)
    fail_arg("the random-number state has ", len, " bytes, its header says ", kRngHeader + n);
  at::Tensor g = at::empty({static_cast<int64_t>(n)}, at::TensorOptions().dtype(at::kByte));
  if (n) std::memcpy(g.data_ptr<uint8_t>(), data + kRngHeader, n);
  {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    gen_.set_state(g);
  }
  rng_.key = get<uint64_t>(data, 8);
  rng_.counter = get<uint64_t>(data, 16);
}

}  // namespace mlt

// api.cpp - the C ABI of libmlt (include/mlt.h). Every export runs inside MLT_TRY / MLT_CATCH, which maps
// exceptions to status codes and keeps the message for mlt_last_error; no C++ exception crosses extern "C".
#include <cpuid.h>
#include <dlfcn.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "distributed.h"
#include "engine.h"

#if defined(MLT_TORCH_HAS_CUDA) && __has_include(<ATen/cuda/CUDAContext.h>) && __has_include(<cuda_runtime_api.h>)
#include <ATen/cuda/CUDAContext.h>
#define MLT_CUDA_PROPERTIES 1
#endif

struct mlt_model {
  std::shared_ptr<mlt::Model> impl;  // shared with the decoders created from it
};

struct mlt_decoder {
  std::shared_ptr<mlt::Model> model;
  mlt::DecodeState state;
};

struct mlt_group {
  std::shared_ptr<mlt::Group> impl;  // shared with the models attached to it
};

namespace {

thread_local std::string g_last_error;

mlt_status set_error(mlt_status status, const char* message) noexcept {
  try {
    g_last_error = message;
  } catch (...) {
    g_last_error.clear();
  }
  return status;
}

}  // namespace

// One wrapper for every export: clear the last error, run, translate exceptions to status codes.
#define MLT_TRY      \
  g_last_error.clear(); \
  try {
#define MLT_CATCH                                                                      \
  return MLT_OK;                                                                       \
  }                                                                                    \
  catch (const mlt::DeviceError& e) { return set_error(MLT_ERR_DEVICE, e.what()); }    \
  catch (const mlt::NonFiniteError& e) { return set_error(MLT_ERR_NON_FINITE, e.what()); } \
  catch (const mlt::DistributedError& e) { return set_error(MLT_ERR_DISTRIBUTED, e.what()); } \
  catch (const std::invalid_argument& e) { return set_error(MLT_ERR_ARGUMENT, e.what()); } \
  catch (const c10::OutOfMemoryError& e) {                                             \
    return set_error(MLT_ERR_OUT_OF_MEMORY, e.what_without_backtrace());               \
  }                                                                                    \
  catch (const c10::Error& e) { return set_error(MLT_ERR_TORCH, e.what_without_backtrace()); } \
  catch (const std::bad_alloc&) { return set_error(MLT_ERR_OUT_OF_MEMORY, "out of memory (std::bad_alloc)"); } \
  catch (const std::exception& e) { return set_error(MLT_ERR_UNKNOWN, e.what()); }     \
  catch (...) { return set_error(MLT_ERR_UNKNOWN, "unknown non-standard C++ exception"); }

namespace {

using mlt::fail_arg;

mlt::Model& model_of(mlt_model* m) {
  if (!m || !m->impl) fail_arg("model must not be NULL");
  return *m->impl;
}
const mlt::Model& model_of(const mlt_model* m) {
  if (!m || !m->impl) fail_arg("model must not be NULL");
  return *m->impl;
}

mlt_decoder& decoder_of(mlt_decoder* d) {
  if (!d || !d->model) fail_arg("decoder must not be NULL");
  return *d;
}

mlt::Group& group_of(mlt_group* g) {
  if (!g || !g->impl) fail_arg("group must not be NULL");
  return *g->impl;
}
const mlt::Group& group_of(const mlt_group* g) {
  if (!g || !g->impl) fail_arg("group must not be NULL");
  return *g->impl;
}

template <class P>
void require(P* p, const char* what) {
  if (!p) fail_arg(what, " must not be NULL");
}

void write_string(char* buf, int32_t buf_len, const std::string& s, const char* what) {
  require(buf, "buf");
  if (buf_len < static_cast<int64_t>(s.size()) + 1)
    fail_arg(what, " needs ", s.size() + 1, " bytes, buf_len is ", buf_len);
  std::memcpy(buf, s.c_str(), s.size() + 1);
}

bool torch_built_with_cuda() {
#ifdef MLT_TORCH_HAS_CUDA
  return true;
#else
  return false;
#endif
}

at::Device parse_device(const char* device) {
  const std::string d = device ? device : "cpu";
  if (d == "cpu") return at::Device(at::kCPU);
  int64_t index = 0;
  if (d == "cuda") {
    index = 0;
  } else if (d.rfind("cuda:", 0) == 0 && d.size() > 5 && d.size() <= 9 &&
             d.find_first_not_of("0123456789", 5) == std::string::npos) {
    index = std::stoll(d.substr(5));
  } else {
    fail_arg("device '", d, "' is not 'cpu', 'cuda' or 'cuda:N'");
  }
  if (!torch::cuda::is_available()) {
    throw mlt::DeviceError(mlt::cat("device '", d, "' requested but CUDA is not available (libtorch ", TORCH_VERSION,
                                    torch_built_with_cuda() ? ": no usable CUDA device)" : " built without CUDA)"));
  }
  const int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= n) throw mlt::DeviceError(mlt::cat("device '", d, "' requested but only ", n, " CUDA device(s) exist"));
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

using openblas_setter = void (*)(int);

/// OpenBLAS keeps its own thread pool that at::set_num_threads does not reach; find it if it is loaded.
openblas_setter find_openblas() {
  void* f = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (!f) {
    for (const char* lib : {"libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libopenblasp.so.0"}) {
      void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
      if (!h) continue;
      f = dlsym(h, "openblas_set_num_threads");
      dlclose(h);
      if (f) break;
    }
  }
  return reinterpret_cast<openblas_setter>(f);
}

/// At load: one OpenBLAS thread unless OPENBLAS_NUM_THREADS says otherwise (fastest for these sizes).
__attribute__((constructor)) void mlt_on_load() {
  if (std::getenv("OPENBLAS_NUM_THREADS")) return;
  if (openblas_setter set = find_openblas()) set(1);
}

/// AVX512_BF16 (CPUID.(7,1):EAX bit 5) or AMX-BF16 (CPUID.(7,0):EDX bit 22): native bfloat16 dot products.
bool cpu_has_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool amx = (d >> 22) & 1u;
  const unsigned max_sub = a;
  bool avx512 = false;
  if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) avx512 = (a >> 5) & 1u;
  return amx || avx512;
#else
  return false;
#endif
}

/// libgomp's per-thread team size, resolved from the OpenMP runtime libtorch loaded (a PyTorch wheel bundles its
/// own copy under another file name, so the engine does not link one itself).
struct OmpThreads {
  void (*set)(int) = nullptr;
  int (*get)() = nullptr;
};
const OmpThreads& omp() {
  static const OmpThreads o = [] {
    OmpThreads r;
    r.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    r.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    if (!r.set || !r.get) r = OmpThreads{};
    return r;
  }();
  return o;
}

std::atomic<int> g_process_threads{0};  // mlt_set_num_threads; 0 = never called

/// Runs a model's compute call with its thread count on the calling thread, and puts the previous count back.
class ThreadScope {
 public:
  ThreadScope(const mlt::Model& m, const mlt::Batch& batch) {
    const int n = m.threads_for(batch, g_process_threads.load());
    if (!omp().set || n == omp().get()) return;
    previous_ = omp().get();
    omp().set(n);
  }
  ~ThreadScope() {
    if (previous_ > 0) omp().set(previous_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_ = 0;
};

void check_len(const char* what, int64_t len, int64_t expected, const std::string& dims) {
  if (len != expected) fail_arg(what, " buffer has ", len, " floats, expected ", expected, " (", dims, ")");
}

}  // namespace

extern "C" {

MLT_API int32_t mlt_abi_version(void) { return MLT_ABI_VERSION; }

MLT_API const char* mlt_last_error(void) { return g_last_error.c_str(); }

MLT_API mlt_status mlt_torch_version(char* buf, int32_t buf_len) {
  MLT_TRY
  write_string(buf, buf_len, TORCH_VERSION, "the libtorch version");
  MLT_CATCH
}

MLT_API mlt_status mlt_cuda_device_count(int32_t* count) {
  MLT_TRY
  require(count, "count");
  *count = torch::cuda::is_available() ? static_cast<int32_t>(torch::cuda::device_count()) : 0;
  MLT_CATCH
}

MLT_API mlt_status mlt_cuda_device_name(char* buf, int32_t buf_len, int32_t index) {
  MLT_TRY
  const int64_t n = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (index < 0 || index >= n) fail_arg("CUDA device index ", index, " is out of range [0, ", n, ")");
#ifdef MLT_CUDA_PROPERTIES
  write_string(buf, buf_len, at::cuda::getDeviceProperties(index)->name, "the device name");
#else
  throw mlt::DeviceError(mlt::cat("the name of CUDA device ", index,
                                  " is unknown: libmlt was built without the CUDA runtime headers (cuda_runtime_api.h)"));
#endif
  MLT_CATCH
}

MLT_API mlt_status mlt_get_num_threads(int32_t* n) {
  MLT_TRY
  require(n, "n");
  *n = at::get_num_threads();
  MLT_CATCH
}

MLT_API mlt_status mlt_set_num_threads(int32_t n) {
  MLT_TRY
  if (n < 1) fail_arg("num_threads must be >= 1 (got ", n, ")");
  at::set_num_threads(n);
  g_process_threads.store(n);
  if (openblas_setter set = find_openblas()) set(mlt::gemm::available() ? 1 : n);
  MLT_CATCH
}

MLT_API mlt_status mlt_manual_seed(uint64_t seed) {
  MLT_TRY
  at::manual_seed(seed);
  MLT_CATCH
}

MLT_API mlt_status mlt_set_deterministic(int32_t on) {
  MLT_TRY
  at::globalContext().setDeterministicAlgorithms(on != 0, false);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_create(mlt_model** out, const mlt_config* config, const char* device) {
  MLT_TRY
  require(out, "out");
  *out = nullptr;
  require(config, "config");
  const mlt::ModelConfig cfg = mlt::ModelConfig::from(*config);
  const at::Device dev = parse_device(device);
  auto impl = cfg.encoder_decoder() ? mlt::make_encoder_decoder(cfg, dev) : mlt::make_decoder_lm(cfg, dev);
  *out = new mlt_model{std::move(impl)};
  MLT_CATCH
}

MLT_API void mlt_model_free(mlt_model* model) {
  try {
    delete model;
  } catch (...) {
    // Destructors of tensors do not throw; nothing may escape a void export.
  }
}

MLT_API mlt_status mlt_model_num_parameters(int64_t* count, const mlt_model* model) {
  MLT_TRY
  require(count, "count");
  *count = model_of(model).store.numel();
  MLT_CATCH
}

MLT_API mlt_status mlt_model_set_optimizer(mlt_model* model, const mlt_optim_config* optim) {
  MLT_TRY
  require(optim, "optim");
  model_of(model).set_optimizer(*optim);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_set_seed(mlt_model* model, uint64_t seed) {
  MLT_TRY
  model_of(model).set_seed(seed);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_set_precision(mlt_model* model, int32_t precision) {
  MLT_TRY
  model_of(model).set_precision(precision);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_set_threads(mlt_model* model, int32_t threads) {
  MLT_TRY
  if (threads < 0) fail_arg("threads must be >= 0 (0 = automatic) (got ", threads, ")");
  model_of(model).threads = threads;
  MLT_CATCH
}

MLT_API mlt_status mlt_model_get_threads(int32_t* threads, const mlt_model* model) {
  MLT_TRY
  require(threads, "threads");
  *threads = model_of(model).threads;
  MLT_CATCH
}

MLT_API mlt_status mlt_bf16_native(int32_t* supported, const char* device) {
  MLT_TRY
  require(supported, "supported");
  const at::Device dev = parse_device(device);
  if (dev.is_cpu()) {
    *supported = cpu_has_bf16() ? 1 : 0;
  } else {
#ifdef MLT_CUDA_PROPERTIES
    *supported = at::cuda::getDeviceProperties(dev.index())->major >= 8 ? 1 : 0;
#else
    *supported = 0;  // no CUDA runtime headers: the capability cannot be read, so bfloat16 is not assumed
#endif
  }
  MLT_CATCH
}

MLT_API mlt_status mlt_cpu_matmul_backend(char* buf, int32_t buf_len) {
  MLT_TRY
  write_string(buf, buf_len, mlt::gemm::available() ? "oneDNN" : "libtorch", "the matmul backend");
  MLT_CATCH
}

MLT_API mlt_status mlt_model_train_step(float* loss, float* grad_norm, mlt_model* model, const int64_t* tokens,
                                        int64_t tokens_len, const int64_t* targets, int64_t targets_len,
                                        const int64_t* src_tokens, int64_t src_len, int32_t B, int32_t T, int32_t S,
                                        float lr) {
  MLT_TRY
  mlt::Model& m = model_of(model);
  require(loss, "loss");
  require(targets, "targets");
  const mlt::Batch batch = m.make_batch(tokens, tokens_len, targets, targets_len, src_tokens, src_len, B, T, S, true);
  ThreadScope threads(m, batch);
  m.train_step(loss, grad_norm, batch, lr);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_eval_loss(double* loss_sum, int64_t* count, mlt_model* model, const int64_t* tokens,
                                       int64_t tokens_len, const int64_t* targets, int64_t targets_len,
                                       const int64_t* src_tokens, int64_t src_len, int32_t B, int32_t T, int32_t S) {
  MLT_TRY
  mlt::Model& m = model_of(model);
  require(loss_sum, "loss_sum");
  require(count, "count");
  require(targets, "targets");
  const mlt::Batch batch = m.make_batch(tokens, tokens_len, targets, targets_len, src_tokens, src_len, B, T, S, true);
  ThreadScope threads(m, batch);
  m.eval_loss(loss_sum, count, batch);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_forward(float* logits, int64_t logits_len, float* self_attn, int64_t self_attn_len,
                                     float* enc_attn, int64_t enc_attn_len, float* cross_attn,
                                     int64_t cross_attn_len, mlt_model* model, const int64_t* tokens,
                                     int64_t tokens_len, const int64_t* src_tokens, int64_t src_len, int32_t B,
                                     int32_t T, int32_t S) {
  MLT_TRY
  mlt::Model& m = model_of(model);
  const mlt::ModelConfig& c = m.cfg;
  if (!c.encoder_decoder()) {
    if (enc_attn) fail_arg("enc_attn must be NULL for a decoder-only model");
    if (cross_attn) fail_arg("cross_attn must be NULL for a decoder-only model");
  }
  const mlt::Batch batch = m.make_batch(tokens, tokens_len, nullptr, 0, src_tokens, src_len, B, T, S, false);
  ThreadScope threads(m, batch);
  const int64_t b = B, t = T, s = S, H = c.H;
  if (logits) check_len("logits", logits_len, b * t * c.V, mlt::cat("B=", b, ", T=", t, ", V=", c.V));
  if (self_attn)
    check_len("self_attn", self_attn_len, c.L * b * H * t * t,
              mlt::cat("L=", c.L, ", B=", b, ", H=", H, ", T=", t, ", T=", t));
  if (enc_attn)
    check_len("enc_attn", enc_attn_len, c.L_enc * b * H * s * s,
              mlt::cat("L_enc=", c.L_enc, ", B=", b, ", H=", H, ", S=", s, ", S=", s));
  if (cross_attn)
    check_len("cross_attn", cross_attn_len, c.L * b * H * t * s,
              mlt::cat("L=", c.L, ", B=", b, ", H=", H, ", T=", t, ", S=", s));
  mlt::Probes probes;
  probes.self = self_attn != nullptr;
  probes.enc = enc_attn != nullptr;
  probes.cross = cross_attn != nullptr;
  at::Tensor out = m.infer(batch, &probes);  // (B, T, V)
  if (logits) at::from_blob(logits, {b, t, c.V}).copy_(out);
  for (size_t i = 0; i < probes.self_attn.size(); ++i)
    at::from_blob(self_attn + i * b * H * t * t, {b, H, t, t}).copy_(probes.self_attn[i]);
  for (size_t i = 0; i < probes.enc_attn.size(); ++i)
    at::from_blob(enc_attn + i * b * H * s * s, {b, H, s, s}).copy_(probes.enc_attn[i]);
  for (size_t i = 0; i < probes.cross_attn.size(); ++i)
    at::from_blob(cross_attn + i * b * H * t * s, {b, H, t, s}).copy_(probes.cross_attn[i]);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_state_count(int32_t* count, const mlt_model* model) {
  MLT_TRY
  require(count, "count");
  *count = static_cast<int32_t>(model_of(model).store.entries().size());
  MLT_CATCH
}

MLT_API mlt_status mlt_model_state_info(char* name, int32_t name_len, int64_t* shape, int32_t* ndim,
                                        const mlt_model* model, int32_t index) {
  MLT_TRY
  const auto& entries = model_of(model).store.entries();
  if (index < 0 || index >= static_cast<int32_t>(entries.size()))
    fail_arg("state index ", index, " is out of range [0, ", entries.size(), ")");
  const auto& e = entries[index];
  require(shape, "shape");
  require(ndim, "ndim");
  write_string(name, name_len, e.name, mlt::cat("state name '", e.name, "'").c_str());
  for (size_t i = 0; i < e.shape.size(); ++i) shape[i] = e.shape[i];
  *ndim = static_cast<int32_t>(e.shape.size());
  MLT_CATCH
}

namespace {
const mlt::ParamStore::Entry& entry_of(const mlt::Model& m, const char* name, int64_t len) {
  require(name, "name");
  const int i = m.store.find(name);
  if (i < 0) fail_arg("unknown state name '", name, "'");
  const auto& e = m.store.entries()[i];
  if (len != e.numel) fail_arg("buffer for '", name, "' has ", len, " floats, expected ", e.numel);
  return e;
}
}  // namespace

MLT_API mlt_status mlt_model_state_read(float* out, mlt_model* model, const char* name, int32_t which, int64_t len) {
  MLT_TRY
  const mlt::Model& m = model_of(model);
  if (which != MLT_READ_VALUE && which != MLT_READ_GRAD)
    fail_arg("which must be MLT_READ_VALUE (0) or MLT_READ_GRAD (1) (got ", which, ")");
  const auto& e = entry_of(m, name, len);
  require(out, "out");
  at::NoGradGuard no_grad;
  const at::Tensor src = which == MLT_READ_VALUE ? e.value : e.value.grad();
  at::from_blob(out, e.shape).copy_(src);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_state_write(mlt_model* model, const char* name, const float* data, int64_t len) {
  MLT_TRY
  const mlt::Model& m = model_of(model);
  const auto& e = entry_of(m, name, len);
  require(data, "data");
  at::NoGradGuard no_grad;
  at::Tensor dst = e.value;
  dst.copy_(at::from_blob(const_cast<float*>(data), e.shape));
  MLT_CATCH
}

// ---- data-parallel training

MLT_API mlt_status mlt_group_create(mlt_group** out, const char* master_addr, int32_t master_port, int32_t rank,
                                    int32_t world_size, int32_t timeout_ms, const char* backend) {
  MLT_TRY
  require(out, "out");
  *out = nullptr;
  require(master_addr, "master_addr");
  require(backend, "backend");
  auto g = std::make_unique<mlt_group>();
  g->impl = std::make_shared<mlt::Group>(master_addr, master_port, rank, world_size,
                                         std::chrono::milliseconds(timeout_ms), backend);
  *out = g.release();
  MLT_CATCH
}

MLT_API void mlt_group_free(mlt_group* group) {
  try {
    delete group;
  } catch (...) {
    // a destructor that throws leaves nothing to report to; the sockets are closed either way
  }
}

MLT_API mlt_status mlt_group_allreduce_sum(double* values, int32_t len, mlt_group* group) {
  MLT_TRY
  mlt::Group& g = group_of(group);
  require(values, "values");
  if (len < 1) fail_arg("len must be >= 1 (got ", len, ")");
  at::Tensor host = at::from_blob(values, {len}, at::TensorOptions().dtype(at::kDouble));  // Gloo sums in place
  std::vector<at::Tensor> one{g.uses_cuda() ? host.cuda() : host};
  g.allreduce_sum(one);
  if (g.uses_cuda()) host.copy_(one[0].cpu());
  MLT_CATCH
}

MLT_API mlt_status mlt_group_barrier(mlt_group* group) {
  MLT_TRY
  group_of(group).barrier();
  MLT_CATCH
}

MLT_API mlt_status mlt_group_stats(double* allreduce_seconds, int64_t* allreduce_bytes, int64_t* allreduce_calls,
                                   const mlt_group* group) {
  MLT_TRY
  const mlt::GroupStats& s = group_of(group).stats();
  if (allreduce_seconds) *allreduce_seconds = s.allreduce_seconds;
  if (allreduce_bytes) *allreduce_bytes = s.allreduce_bytes;
  if (allreduce_calls) *allreduce_calls = s.allreduce_calls;
  MLT_CATCH
}

MLT_API mlt_status mlt_model_set_group(mlt_model* model, mlt_group* group, int64_t bucket_bytes) {
  MLT_TRY
  mlt::Model& m = model_of(model);
  if (!group) {
    m.set_group(nullptr, 0);
  } else {
    group_of(group);  // checks the handle
    m.set_group(group->impl, bucket_bytes / static_cast<int64_t>(sizeof(float)));
  }
  MLT_CATCH
}

MLT_API mlt_status mlt_model_broadcast_parameters(mlt_model* model, int32_t root) {
  MLT_TRY
  model_of(model).broadcast_parameters(root);
  MLT_CATCH
}

}  // extern "C"

// ---- training state, for checkpoints (training_state.cpp)

extern "C" {

MLT_API mlt_status mlt_model_optimizer_read(float* out, mlt_model* model, const char* name, int32_t which,
                                            int64_t len) {
  MLT_TRY
  mlt::Model& m = model_of(model);
  const auto& e = entry_of(m, name, len);
  require(out, "out");
  const at::Tensor& moment = m.adam_moment(which);
  at::from_blob(out, {e.numel}).copy_(moment.narrow(0, e.offset, e.numel));
  MLT_CATCH
}

MLT_API mlt_status mlt_model_optimizer_write(mlt_model* model, const char* name, int32_t which, const float* data,
                                             int64_t len) {
  MLT_TRY
  mlt::Model& m = model_of(model);
  const auto& e = entry_of(m, name, len);
  require(data, "data");
  at::Tensor& moment = m.adam_moment(which);
  moment.narrow(0, e.offset, e.numel).copy_(at::from_blob(const_cast<float*>(data), {e.numel}));
  MLT_CATCH
}

MLT_API mlt_status mlt_model_optimizer_get_step(int64_t* step, const mlt_model* model) {
  MLT_TRY
  require(step, "step");
  *step = model_of(model).adam_steps();
  MLT_CATCH
}

MLT_API mlt_status mlt_model_optimizer_set_step(mlt_model* model, int64_t step) {
  MLT_TRY
  model_of(model).set_adam_steps(step);
  MLT_CATCH
}

MLT_API mlt_status mlt_model_rng_state_size(int64_t* len, mlt_model* model) {
  MLT_TRY
  require(len, "len");
  *len = static_cast<int64_t>(model_of(model).rng_state().size());
  MLT_CATCH
}

MLT_API mlt_status mlt_model_rng_state_read(uint8_t* out, int64_t len, mlt_model* model) {
  MLT_TRY
  require(out, "out");
  const std::vector<uint8_t> state = model_of(model).rng_state();
  if (len != static_cast<int64_t>(state.size()))
    fail_arg("random-number state buffer has ", len, " bytes, expected ", state.size());
  std::memcpy(out, state.data(), state.size());
  MLT_CATCH
}

MLT_API mlt_status mlt_model_rng_state_write(mlt_model* model, const uint8_t* data, int64_t len) {
  MLT_TRY
  model_of(model).set_rng_state(data, len);
  MLT_CATCH
}

// ---------------------------------------------------------------- incremental decoding

MLT_API mlt_status mlt_decoder_create(mlt_decoder** out, mlt_model* model, const int64_t* src_tokens, int32_t S) {
  MLT_TRY
  require(out, "out");
  *out = nullptr;
  mlt::Model& m = model_of(model);
  std::unique_ptr<mlt_decoder> d(new mlt_decoder{model->impl, {}});
  if (m.cfg.encoder_decoder()) {
    if (S < 1) fail_arg("an encoder-decoder model decodes against a source: S must be >= 1 (got ", S, ")");
    const int64_t one = 0;  // make_batch wants a target row; only the source is used
    const mlt::Batch source = m.make_batch(&one, 1, nullptr, 0, src_tokens, S, 1, 1, S, false);
    ThreadScope threads(m, source);
    d->state = m.begin_decode(&source);
  } else {
    if (src_tokens || S != 0) fail_arg("a decoder-only model takes no source: pass NULL and S = 0");
    d->state = m.begin_decode(nullptr);
  }
  *out = d.release();
  MLT_CATCH
}

MLT_API void mlt_decoder_free(mlt_decoder* decoder) {
  try {
    delete decoder;
  } catch (...) {
    // Destructors of tensors do not throw; nothing may escape a void export.
  }
}

MLT_API mlt_status mlt_decoder_feed(float* logits, int64_t logits_len, mlt_decoder* decoder, const int64_t* tokens,
                                    int32_t n) {
  MLT_TRY
  mlt_decoder& d = decoder_of(decoder);
  mlt::Model& m = *d.model;
  require(tokens, "tokens");
  if (n < 1) fail_arg("n must be >= 1 (got ", n, ")");
  if (logits) check_len("logits", logits_len, static_cast<int64_t>(n) * m.cfg.V, mlt::cat("n=", n, ", V=", m.cfg.V));
  mlt::Batch shape;  // the thread choice sees one row of n new positions
  shape.B = 1;
  shape.T = n;
  ThreadScope threads(m, shape);
  const at::Tensor ids = at::from_blob(const_cast<int64_t*>(tokens), {1, static_cast<int64_t>(n)}, at::kLong);
  at::Tensor out = m.decode(d.state, ids);  // (1, n, V)
  if (logits) at::from_blob(logits, {1, static_cast<int64_t>(n), m.cfg.V}).copy_(out);
  MLT_CATCH
}

MLT_API mlt_status mlt_decoder_length(int32_t* length, const mlt_decoder* decoder) {
  MLT_TRY
  require(length, "length");
  if (!decoder || !decoder->model) fail_arg("decoder must not be NULL");
  *length = static_cast<int32_t>(decoder->state.length);
  MLT_CATCH
}

}  // extern "C"

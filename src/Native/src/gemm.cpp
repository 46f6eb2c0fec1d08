// gemm.cpp - row-major matrix products through oneDNN's BLAS-like entry points (dnnl_sgemm for float32,
// dnnl_gemm_bf16bf16f32 for bfloat16 inputs with float32 accumulation and output), found at run time in the
// libdnnl that libtorch itself loads. oneDNN threads with OpenMP, the pool libtorch uses, so every parallel
// piece of a training step shares one pool (OpenBLAS keeps one thread). Absent oneDNN, callers use at::linear.
#include <dlfcn.h>

#include <mutex>

#include "engine.h"

namespace mlt {
namespace gemm {
namespace {

using dim = int64_t;
using sgemm_fn = int (*)(char, char, dim, dim, dim, float, const float*, dim, const float*, dim, float, float*, dim);
using bgemm_fn = int (*)(char, char, dim, dim, dim, float, const uint16_t*, dim, const uint16_t*, dim, float, float*,
                         dim);

struct Api {
  sgemm_fn sgemm = nullptr;
  bgemm_fn bgemm = nullptr;  // exported by libdnnl 2.x, declared in no public header: resolved by name
};

const Api& api() {
  static Api a;
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char* off = std::getenv("MLT_ONEDNN"); off && std::string(off) == "0") return;
    void* h = dlopen("libdnnl.so.2", RTLD_LAZY | RTLD_NOLOAD);
    if (!h) h = dlopen("libdnnl.so.3", RTLD_LAZY | RTLD_NOLOAD);
    if (!h) return;
    a.sgemm = reinterpret_cast<sgemm_fn>(dlsym(h, "dnnl_sgemm"));
    a.bgemm = reinterpret_cast<bgemm_fn>(dlsym(h, "dnnl_gemm_bf16bf16f32"));
    if (!a.sgemm || !a.bgemm) a = Api{};
  });
  return a;
}

void check(int status, const char* what) {
  if (status != 0) throw std::runtime_error(cat("oneDNN ", what, " failed with status ", status));
}

}  // namespace

bool available() { return api().sgemm != nullptr; }

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
           float beta, float* C, int64_t ldc) {
  check(api().sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc), "sgemm");
}

void bf16gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const c10::BFloat16* A, int64_t lda,
              const c10::BFloat16* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check(api().bgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, reinterpret_cast<const uint16_t*>(A), lda,
                    reinterpret_cast<const uint16_t*>(B), ldb, beta, C, ldc),
        "gemm_bf16bf16f32");
}

}  // namespace gemm
}  // namespace mlt

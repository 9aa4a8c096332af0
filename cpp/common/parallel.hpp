// Threading helpers shared by every kernel.
//
// Why: OpenMP regions must never let an exception escape (that terminates the
// process), and every kernel resolves "num_threads = 0" the same way so that
// OMP_NUM_THREADS and cgroup limits are respected.
#pragma once

#include <cmath>
#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace reelrec {

// 0 (or negative) means "whatever OpenMP would use", which honours OMP_NUM_THREADS.
// A request is capped at 8 threads per processor: more never runs faster, and
// tens of thousands of threads exhaust the address space (their stacks) and
// crash the runtime. Results do not depend on the thread count, so the cap
// only bounds the damage of a typo.
inline int resolve_threads(int num_threads) {
#ifdef _OPENMP
    if (num_threads <= 0) return omp_get_max_threads();
    const int cap = 8 * omp_get_num_procs();
    return num_threads < cap ? num_threads : cap;
#else
    (void)num_threads;
    return 1;
#endif
}

// Each thread of a region should have at least this much work (nanoseconds of
// one core). Waking a team costs several microseconds per thread on an idle
// machine; on a busy one (another library's spinning thread pool, other
// processes) a thread can lose a whole scheduler slice, milliseconds, and the
// region waits for it. The work estimates passed in are rough (within a few
// times of the measured time), so this is a scale, not a tuned constant.
// Measured on 2 cores at 100 us of estimated work per thread: a LinUCB select
// of 10k requests x 10 arms x 20 features went from 0.72 ms on one thread to
// 0.41 ms on two when the machine was idle, but a LinTS fit + select of the
// same shape (2 ms on two threads) took 12 ms in some runs made straight
// after MABWiser's BLAS calls.
constexpr double kGrainNs = 5e5;

// Threads for a parallel region of about work_ns nanoseconds of single-thread
// work: num_threads (0 = OpenMP's default), but no more than give each one
// kGrainNs, and one below 2 grains. Kernels give the same results for any
// thread count, so this only decides speed.
inline int threads_for_work(double work_ns, int num_threads) {
    const int most = resolve_threads(num_threads);
    if (most <= 1 || !(work_ns >= 2.0 * kGrainNs)) return 1;
    const double fit = std::floor(work_ns / kGrainNs);
    return fit >= most ? most : static_cast<int>(fit);
}

inline int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

inline bool openmp_enabled() {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

// Captures the first exception thrown inside a parallel region; rethrown by
// the caller after the region has joined.
class ExceptionCollector {
public:
    template <class F>
    void run(F&& f) noexcept {
        try {
            f();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }
    bool failed() const { return static_cast<bool>(error_); }
    void rethrow() const {
        if (error_) std::rethrow_exception(error_);
    }

private:
    std::exception_ptr error_;
    std::mutex mutex_;
};

}  // namespace reelrec

// Threading helpers shared by every kernel.
//
// Why: OpenMP regions must never let an exception escape (that terminates the
// process), and every kernel resolves "num_threads = 0" the same way so that
// OMP_NUM_THREADS and cgroup limits are respected.
#pragma once

#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace reelrec {

// 0 (or negative) means "whatever OpenMP would use", which honours OMP_NUM_THREADS.
inline int resolve_threads(int num_threads) {
#ifdef _OPENMP
    if (num_threads <= 0) return omp_get_max_threads();
    return num_threads;
#else
    (void)num_threads;
    return 1;
#endif
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

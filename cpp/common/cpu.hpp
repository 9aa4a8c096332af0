// Run-time choice of the vector instruction set, asked in one place.
//
// Wheels are built for the x86-64 baseline (SSE2) so that they import on any
// machine. The hot kernels are therefore compiled once per ISA in the same
// binary (target attributes or pragmas: AVX2 + FMA, AVX-512) and one copy is
// chosen at run time, once per process, from CPUID. Every site asks here so
// that "AVX-512" means the same feature set everywhere, and so that the test
// hooks that run a named kernel accept the same names.
#pragma once

#include <optional>
#include <string_view>

// x86-64 with the GCC / Clang builtins (__builtin_cpu_supports, target
// attributes, <immintrin.h>): the one configuration that compiles the wide
// kernels; elsewhere only the generic ones exist. REELREC_FORCE_NO_X86 builds
// that fallback on x86 too, to check that it still compiles.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(REELREC_FORCE_NO_X86)
#define REELREC_X86 1
#endif

// A kernel table compiled only for x86 (an AVX2 or AVX-512 copy), or null
// elsewhere: one IsaTables initialiser then serves every build.
#ifdef REELREC_X86
#define REELREC_X86_TABLE(table) (&(table))
#else
#define REELREC_X86_TABLE(table) nullptr
#endif

namespace reelrec {

// Levels in increasing order, each including the ones below:
//   kAvx2    AVX2 + FMA
//   kAvx512  kAvx2 + AVX-512 F, VL, DQ and BW: the union of what the AVX-512
//            kernels' target attributes enable (a CPU with F alone, Xeon Phi,
//            runs the AVX2 kernels)
enum class Isa : int { kGeneric = 0, kAvx2 = 1, kAvx512 = 2 };

// The best level this CPU runs; CPUID is read once per process.
Isa cpu_isa();

inline bool cpu_supports(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(cpu_isa()); }

// AVX-512 VNNI on top of kAvx512 (the fixed-point OPE pass).
bool cpu_has_avx512_vnni();

// The level a test hook's ISA name asks for: "generic", "avx2", "avx512", and
// "scalar" (as kGeneric) where `scalar` is set; nullopt for any other name.
std::optional<Isa> parse_isa(std::string_view name, bool scalar = false);

// One kernel table per ISA (an aggregate of function pointers, constexpr at
// the site), null where that copy is not compiled.
template <class K>
struct IsaTables {
    const K* generic;
    const K* avx2 = nullptr;
    const K* avx512 = nullptr;

    // The table of exactly `isa`; null when it is not compiled or this CPU cannot run it.
    const K* find(Isa isa) const {
        if (!cpu_supports(isa)) return nullptr;
        switch (isa) {
            case Isa::kAvx512:
                return avx512;
            case Isa::kAvx2:
                return avx2;
            default:
                return generic;
        }
    }

    // The table a test hook names (parse_isa without "scalar"); null for an unknown name too.
    const K* find(std::string_view name) const {
        const std::optional<Isa> isa = parse_isa(name);
        return isa ? find(*isa) : nullptr;
    }

    // The widest compiled table this CPU runs.
    const K& best() const {
        if (avx512 && cpu_supports(Isa::kAvx512)) return *avx512;
        if (avx2 && cpu_supports(Isa::kAvx2)) return *avx2;
        return *generic;
    }
};

// tables.best(), looked up once per process (one static per table type).
template <class K>
const K& best_once(const IsaTables<K>& tables) {
    static const K& k = tables.best();
    return k;
}

}  // namespace reelrec

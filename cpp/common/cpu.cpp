#include "common/cpu.hpp"

namespace reelrec {

namespace {

Isa detect() {
#ifdef REELREC_X86
    // Explicitly: a caller may run before libgcc's own constructor has read CPUID.
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return Isa::kGeneric;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")) {
        return Isa::kAvx512;
    }
    return Isa::kAvx2;
#else
    return Isa::kGeneric;
#endif
}

}  // namespace

Isa cpu_isa() {
    static const Isa isa = detect();
    return isa;
}

bool cpu_has_avx512_vnni() {
#ifdef REELREC_X86
    static const bool ok = cpu_supports(Isa::kAvx512) && __builtin_cpu_supports("avx512vnni");
    return ok;
#else
    return false;
#endif
}

std::optional<Isa> parse_isa(std::string_view name, bool scalar) {
    if (name == "generic" || (scalar && name == "scalar")) return Isa::kGeneric;
    if (name == "avx2") return Isa::kAvx2;
    if (name == "avx512") return Isa::kAvx512;
    return std::nullopt;
}

}  // namespace reelrec

"""The instruction sets whose ALS and BPR kernels this machine can run (for parametrised tests)."""

from reelrec import _core


def available_isas() -> list[int]:
    """1 (the baseline build) always; 2 (AVX2 + FMA) where the CPU and the build have it."""
    isas = [1]
    try:
        _core.factorization_isa(2)
        isas.append(2)
    except ValueError:
        pass
    return isas


ISAS = available_isas()

// Exact binomial variates for the multinomial bootstrap.
//
// Algorithms: inversion by sequential search (BINV, Kachitvichyanukul and
// Schmeiser 1988) when n*min(p,1-p) < 10, otherwise BTRD, the transformed
// rejection with decomposition of Hormann (1993), "The generation of binomial
// random variates", J. Statist. Comput. Simul. 46. Both are exact up to
// floating-point rounding; BTRD needs O(1) expected uniforms whatever n is.
#pragma once

#include <cstdint>

#include "ope/rng.hpp"

namespace reelrec::ope {

// One draw from Binomial(n, p); p outside [0, 1] is clamped.
int64_t binomial(WyRand& rng, int64_t n, double p);

}  // namespace reelrec::ope

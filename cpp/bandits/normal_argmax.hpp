// Exact propensities of Gaussian Thompson sampling: the probability that one
// candidate has the largest of independent draws m_c + w_c Z_c, Z_c ~ N(0, 1).
//
// Paper: the integral is the classical one for the maximum of independent
// normals (e.g. Clark, "The greatest of a finite set of random variables",
// Operations Research 1961); the quadrature is the trapezoidal rule, which
// converges geometrically for smooth, fast-decaying integrands (Trefethen &
// Weideman, "The exponentially convergent trapezoidal rule", SIAM Review
// 2014), in the sinh variable of Takahasi & Mori's double-exponential
// formulas (1974), and adaptive Gauss-Legendre where it cannot serve.
//
// Why an integral: conditioned on the chosen candidate's draw s, the others
// are independent, so
//     P(pos wins) = int phi(z) prod_{c != pos} Phi((m_pos - m_c + w_pos z) / w_c) dz,
// a one-dimensional integral whatever the number of candidates. Its log
// integrand g is concave (log phi and log Phi are), so it has one mode z*,
// found by safeguarded Newton steps; the curvature there gives a scale sigma.
//
// Quadrature: the trapezoidal rule in v for z = z* + sigma sinh(v) (nodes
// dense at the mode, sparse in the tails), walked outward until the integrand
// falls below e^-46 of its peak (concavity: it only falls further), h = 0.5
// halved until two levels agree to 1e-7. It serves when no competitor is more
// than 8 times narrower than the chosen draw; otherwise, or when it does not
// settle in three halvings, or a constant cuts the integral off, globally
// adaptive 10-point Gauss-Legendre on the support, cut at the middle and both
// ends of every steep competitor's step (a rule whose nodes all miss a thin
// shoulder would agree with its halves and stop).
//
// log Phi comes from a table of degree-9 polynomials on [-20, 8.5)
// (tools/gen_log_ndtr_table.py; 1e-13 absolute error), erfc outside it.
//
// Ties and zero widths: a draw of zero width is a constant; equal draws have
// probability zero unless both widths are zero, and then the first in
// candidate order wins, as in the samplers (a strict > scan). A competitor
// narrower than 1e-8 of the chosen width is treated as a constant too (its
// CDF is then a step to within a relative 1e-8 of the integral): constants
// cut the integral off below instead of entering the product.
//
// Accuracy: relative error below about 1e-8 (tests compare with adaptive
// quadrature and the two-arm closed form, and check that the probabilities of
// all candidates sum to 1); probabilities below about 1e-300 come out as 0.
//
// Complexity: O(n_candidates) per integrand evaluation, typically 50 to 100
// evaluations (Newton steps included), more with steep competitors;
// O(n_candidates) scratch memory.
#pragma once

#include <cstdint>
#include <vector>

namespace reelrec::bandits {

struct NormalArgmaxScratch {
    std::vector<double> a, b;  // t_c(z) = a_c + b_c z for the smooth competitors
    std::vector<double> cuts;
};

// P(candidate pos has the first largest draw of m_c + w_c Z_c), c < n, with
// m and w finite and w >= 0. Throws std::domain_error for non-finite inputs.
double normal_argmax_probability(const double* m, const double* w, int64_t n, int64_t pos,
                                 NormalArgmaxScratch& scratch);

}  // namespace reelrec::bandits

#include "bandits/normal_argmax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace reelrec::bandits {

namespace {

#include "bandits/log_ndtr_table.inc"

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The integrand is followed until its log falls this far below the peak
// (e^-46 ~ 1e-20 of the peak density).
constexpr double kDrop = 46.0;
// A competitor narrower than w_pos / kStepRatio is a constant: replacing its
// CDF Phi(b (z - z_c)), b above kStepRatio, by the step at z_c moves the
// integral by less than about F(z_c) / b (the transition is 1 / b wide; a
// lone step's error even cancels to first order, but several steps at one
// place do not), a relative 1e-8 at most.
constexpr double kStepRatio = 1e8;
// Adaptive quadrature: stop when the summed error estimates fall below
// kRelTol of the integral, or after kMaxIntervals intervals.
constexpr double kRelTol = 1e-10;
// Trapezoidal levels accepted when they agree to kAgree (the finer one is then
// far more accurate: the rule's error falls geometrically with 1 / h).
constexpr double kAgree = 1e-7;
constexpr int kMaxIntervals = 400;
constexpr std::size_t kMaxCuts = 192;
// The trapezoidal rule serves when no competitor is more than kSmoothRatio
// times narrower than the chosen draw; a step Phi(t) is within 1e-17 of 0 or 1
// beyond |t| = kStepEnd.
constexpr double kSmoothRatio = 8.0;
constexpr double kStepEnd = 8.5;

// Positive Gauss-Legendre nodes and weights of the 10-point rule on [-1, 1].
constexpr double kGaussNodes[5][2] = {
    {0.14887433898163122, 0.29552422471475281},  {0.43339539412924721, 0.26926671930999652},
    {0.67940956829902444, 0.21908636251598201},  {0.86506336668898454, 0.14945134915058039},
    {0.97390652851717174, 0.066671344308688138},
};

// Phi(t) (-t) / phi(t) for t <= -37 by its asymptotic series (the next term
// is below 1e-16 there), and (1 - that) / t^-2.
inline double tail_series(double u) {
    return 1.0 + u * (-1.0 + u * (3.0 + u * (-15.0 + u * (105.0 + u * (-945.0 + u * 10395.0)))));
}
inline double tail_series_rest(double u) {
    return 1.0 + u * (-3.0 + u * (15.0 + u * (-105.0 + u * (945.0 - u * 10395.0))));
}

// The table's interval of t in [kLogNdtrLo, kLogNdtrHi) and its local s.
inline const double* table_row(double t, double& s) {
    int i = static_cast<int>((t - kLogNdtrLo) * (1.0 / kLogNdtrWidth));
    i = std::min(std::max(i, 0), kLogNdtrIntervals - 1);
    s = (t - (kLogNdtrLo + (i + 0.5) * kLogNdtrWidth)) * (2.0 / kLogNdtrWidth);
    return kLogNdtrCoef[i];
}

// log Phi(t) from the table, for kLogNdtrLo <= t < kLogNdtrHi (about 1e-13
// absolute error).
inline double log_ndtr_table(double t) {
    double s;
    const double* c = table_row(t, s);
    // Estrin's scheme: four dependent multiply-adds instead of Horner's nine,
    // so that the evaluations of neighbouring competitors overlap.
    static_assert(kLogNdtrDegree == 9, "Estrin's scheme below is written for degree 9");
    const double s2 = s * s, s4 = s2 * s2, s8 = s4 * s4;
    const double q0 = (c[0] + c[1] * s) + (c[2] + c[3] * s) * s2;
    const double q1 = (c[4] + c[5] * s) + (c[6] + c[7] * s) * s2;
    return (q0 + q1 * s4) + (c[8] + c[9] * s) * s8;
}

// log Phi(t), the inverse Mills ratio l = phi(t) / Phi(t) = (log Phi)'(t)
// and l (t + l) = -(log Phi)''(t), the magnitude of the curvature, exactly:
// erfc, or the asymptotic series far in the lower tail.
inline void log_ndtr_exact(double t, double& lp, double& l, double& curv) {
    if (t > -37.0) {
        double p;
        if (t > -1.0) {
            const double q = 0.5 * std::erfc(t * kInvSqrt2);
            lp = std::log1p(-q);
            p = 1.0 - q;
        } else {
            p = 0.5 * std::erfc(-t * kInvSqrt2);
            lp = std::log(p);
        }
        l = kInvSqrt2Pi * std::exp(-0.5 * t * t) / p;
        curv = l > 0.0 ? l * (t + l) : 0.0;  // l = 0 at t = inf, where t + l is not finite
        return;
    }
    const double u = 1.0 / (t * t), s = tail_series(u);
    lp = -0.5 * t * t - std::log(-t) - kLogSqrt2Pi + std::log(s);
    l = -t / s;
    curv = tail_series_rest(u) / (s * s);  // t + l = -rest / (t s), without cancellation
}

// The same from the table where it is defined (its polynomial and the
// polynomial's derivatives), exactly elsewhere.
inline void log_ndtr_derivatives(double t, double& lp, double& l, double& curv) {
    if (!(t >= kLogNdtrLo && t < kLogNdtrHi)) {
        log_ndtr_exact(t, lp, l, curv);
        return;
    }
    double s;
    const double* c = table_row(t, s);
    double p = c[kLogNdtrDegree], d1 = 0.0, d2 = 0.0;
    for (int k = kLogNdtrDegree - 1; k >= 0; --k) {
        d2 = d2 * s + 2.0 * d1;
        d1 = d1 * s + p;
        p = p * s + c[k];
    }
    constexpr double ds = 2.0 / kLogNdtrWidth;
    lp = p;
    l = d1 * ds;
    curv = -d2 * ds * ds;
}

// log Phi(t). Above the table, log Phi(t) > -1e-17 and the table's last value
// (clamping instead of a branch the integrand's nodes would mispredict).
inline double log_ndtr(double t) {
    constexpr double top = kLogNdtrHi - kLogNdtrWidth * 1e-9;
    if (t >= kLogNdtrLo) return log_ndtr_table(std::min(t, top));
    double lp, l, curv;
    log_ndtr_exact(t, lp, l, curv);
    return lp;
}

struct Integrand {
    const double* a;
    const double* b;
    int64_t n;

    // g(z) = log(phi(z) prod Phi(a_c + b_c z)) + log sqrt(2 pi).
    double log_value(double z) const {
        double g = -0.5 * z * z;
        for (int64_t c = 0; c < n; ++c) g += log_ndtr(a[c] + b[c] * z);
        return g;
    }
    // g, g' and g''.
    void derivatives(double z, double& g, double& g1, double& g2) const {
        g = -0.5 * z * z;
        g1 = -z;
        g2 = -1.0;
        for (int64_t c = 0; c < n; ++c) {
            double lp, l, curv;
            log_ndtr_derivatives(a[c] + b[c] * z, lp, l, curv);
            g += lp;
            g1 += b[c] * l;
            g2 -= b[c] * b[c] * curv;
        }
    }
};

// The mode of the concave g on [lo, inf), lo >= 0 finite with g'(z) > 0 for
// every z < 0: bracketing by doubling, then Newton steps kept inside the
// bracket (bisection otherwise). The mode only places the quadrature, so
// a hundredth of the local scale is close enough.
double find_mode(const Integrand& f, double lo) {
    double g, g1, g2;
    f.derivatives(lo, g, g1, g2);
    if (!(g1 > 0.0)) return lo;
    double hi = lo + 1.0, step = 1.0;
    for (int it = 0; it < 1100; ++it) {
        f.derivatives(hi, g, g1, g2);
        if (!(g1 > 0.0)) break;
        lo = hi;
        step *= 2.0;
        hi = lo + step;
    }
    double z = lo;
    f.derivatives(z, g, g1, g2);
    for (int it = 0; it < 200; ++it) {
        double next = z - g1 / g2;
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        const double scale = 1.0 / std::sqrt(-g2);
        if (std::abs(next - z) <= 0.01 * scale || hi - lo <= 1e-12 * (1.0 + std::abs(z))) return next;
        z = next;
        f.derivatives(z, g, g1, g2);
        if (g1 > 0.0) {
            lo = z;
        } else {
            hi = z;
        }
    }
    return z;
}

// 10-point Gauss-Legendre rule of exp(g - peak) on [x0, x1].
double gauss10(const Integrand& f, double peak, double x0, double x1) {
    const double c = 0.5 * (x0 + x1), r = 0.5 * (x1 - x0);
    double s = 0.0;
    for (const auto& nw : kGaussNodes) {
        const double d = r * nw[0];
        s += nw[1] * (std::exp(f.log_value(c - d) - peak) + std::exp(f.log_value(c + d) - peak));
    }
    return s * r;
}

struct Piece {
    double x0, x1, whole, left, right;  // whole: one rule over [x0, x1]; left/right: over its halves
    double error() const { return std::abs(left + right - whole); }
};

// Globally adaptive: the piece with the largest error estimate is halved
// until the estimates sum to kRelTol of the integral.
double adaptive(const Integrand& f, double peak, const double* cuts, int n_cuts) {
    std::vector<Piece> heap;
    auto make = [&](double x0, double x1, double whole) {
        const double mid = 0.5 * (x0 + x1);
        return Piece{x0, x1, whole, gauss10(f, peak, x0, mid), gauss10(f, peak, mid, x1)};
    };
    auto less = [](const Piece& p, const Piece& q) { return p.error() < q.error(); };
    for (int i = 0; i + 1 < n_cuts; ++i) {
        if (cuts[i + 1] > cuts[i])
            heap.push_back(make(cuts[i], cuts[i + 1], gauss10(f, peak, cuts[i], cuts[i + 1])));
    }
    std::make_heap(heap.begin(), heap.end(), less);
    while (!heap.empty() && static_cast<int>(heap.size()) < kMaxIntervals) {
        double total = 0.0, error = 0.0;
        for (const Piece& p : heap) {
            total += p.left + p.right;
            error += p.error();
        }
        if (error <= kRelTol * total) break;
        std::pop_heap(heap.begin(), heap.end(), less);
        const Piece worst = heap.back();
        heap.pop_back();
        const double mid = 0.5 * (worst.x0 + worst.x1);
        if (!(mid > worst.x0 && mid < worst.x1)) {
            heap.push_back(worst);  // no room left to split: keep it as it is
            std::push_heap(heap.begin(), heap.end(), less);
            break;
        }
        heap.push_back(make(worst.x0, mid, worst.left));
        std::push_heap(heap.begin(), heap.end(), less);
        heap.push_back(make(mid, worst.x1, worst.right));
        std::push_heap(heap.begin(), heap.end(), less);
    }
    double total = 0.0;
    for (const Piece& p : heap) total += p.left + p.right;
    return total;
}

// Trapezoidal rule in v for z = z_mode + sigma sinh(v): node spacing grows
// away from the mode, so a bump of scale sigma and a long tail both take few
// nodes. Nodes are walked outward from v = 0 until a term and the integrand
// fall below e^-kDrop of the sum and of the peak; h = 0.75, halved while two
// levels disagree by more than kAgree. Returns NaN when three halvings do not
// agree (a sharp competitor between nodes) or a node reaches zlo.
double sinh_trapezoid(const Integrand& f, double peak, double z_mode, double sigma, double zlo) {
    const double tiny = std::exp(-kDrop);
    double sum = 0.0;
    // Adds the nodes v = +-j h for j = 1, 1 + stride, ... (stride 1: every
    // node but the centre; stride 2: the nodes a halving adds).
    auto walk = [&](double h, int64_t stride) {
        for (int side = -1; side <= 1; side += 2) {
            for (int64_t j = 1; static_cast<double>(j) * h < 40.0; j += stride) {
                const double v = side * static_cast<double>(j) * h;
                const double z = z_mode + sigma * std::sinh(v);
                if (z <= zlo) return false;
                const double value = std::exp(f.log_value(z) - peak);
                const double term = value * sigma * std::cosh(v);
                sum += term;
                if (value < tiny && term < tiny * sum) break;
            }
        }
        return true;
    };
    double h = 0.5;
    sum = std::exp(f.log_value(z_mode) - peak) * sigma;
    if (!walk(h, 1)) return kNaN;
    double estimate = h * sum;
    for (int level = 1; level <= 3; ++level) {
        h *= 0.5;
        if (!walk(h, 2)) return kNaN;
        const double finer = h * sum;
        if (std::abs(finer - estimate) <= kAgree * finer) return finer;
        estimate = finer;
    }
    return kNaN;
}

}  // namespace

double normal_argmax_probability(const double* m, const double* w, int64_t n, int64_t pos,
                                 NormalArgmaxScratch& scratch) {
    if (pos < 0 || pos >= n) throw std::invalid_argument("normal_argmax_probability: pos out of range");
    for (int64_t c = 0; c < n; ++c) {
        if (!std::isfinite(m[c]) || !std::isfinite(w[c]) || w[c] < 0.0)
            throw std::domain_error(
                "select: a Thompson score of a request is not finite (model state or contexts out of "
                "floating-point range)");
    }
    const double s0 = m[pos], wp = w[pos];
    if (wp == 0.0) {
        // The chosen draw is the constant s0.
        double lp = 0.0;
        for (int64_t c = 0; c < n; ++c) {
            if (c == pos) continue;
            if (w[c] == 0.0) {
                if (m[c] > s0 || (m[c] == s0 && c < pos)) return 0.0;
                continue;
            }
            lp += log_ndtr((s0 - m[c]) / w[c]);
        }
        return std::exp(lp);
    }
    // z: the chosen draw's standard score. Constants (and near-constants) cut
    // the integral off below zlo; the others enter as Phi(a_c + b_c z).
    double zlo = -kInf;
    scratch.a.clear();
    scratch.b.clear();
    for (int64_t c = 0; c < n; ++c) {
        if (c == pos) continue;
        if (w[c] * kStepRatio < wp) {
            zlo = std::max(zlo, (m[c] - s0) / wp);
            continue;
        }
        const double a = (s0 - m[c]) / w[c];
        if (a == kInf) continue;  // never above the chosen draw's range
        if (a == -kInf) return 0.0;
        scratch.a.push_back(a);
        scratch.b.push_back(wp / w[c]);
    }
    if (zlo == kInf) return 0.0;
    const Integrand f{scratch.a.data(), scratch.b.data(), static_cast<int64_t>(scratch.a.size())};
    if (f.n == 0) return 0.5 * std::erfc(zlo * kInvSqrt2);  // P(Z > zlo)

    // g'(z) > 0 for z < 0 (every Mills term is positive), so the mode lies
    // at or above max(zlo, 0).
    const double z_mode = find_mode(f, std::max(zlo, 0.0));
    double peak, g1, g2;
    f.derivatives(z_mode, peak, g1, g2);
    // The integrand never exceeds e^peak / sqrt(2 pi) and is negligible
    // beyond |z| ~ 40: below e^-700 the probability is 0 in doubles anyway.
    if (peak < -700.0) return 0.0;
    const double sigma = 1.0 / std::sqrt(-g2);
    double b_max = 0.0;
    for (int64_t c = 0; c < f.n; ++c) b_max = std::max(b_max, f.b[c]);
    double integral = b_max <= kSmoothRatio ? sinh_trapezoid(f, peak, z_mode, sigma, zlo) : kNaN;
    if (std::isnan(integral)) {
        // Where the integrand is above e^-kDrop of its peak: concavity keeps
        // it below that beyond the first point found under it on either side.
        double lo = z_mode, hi = z_mode;
        for (double step = sigma; lo > zlo; step *= 2.0) {
            lo = std::max(zlo, z_mode - step);
            if (f.log_value(lo) < peak - kDrop) break;
        }
        for (double step = sigma;; step *= 2.0) {
            hi = z_mode + step;
            if (f.log_value(hi) < peak - kDrop || step > 1e300) break;
        }
        // A cut-off below, or competitors much narrower than the chosen draw,
        // whose CDFs step within 1 / b_c: adaptive Gauss-Legendre with cuts
        // at the middle and both ends (|t| = kStepEnd) of every such step
        // where the integrand is not negligible, so that no rule can step
        // over one (a rule whose nodes all miss a thin shoulder agrees with
        // its halves and would stop there).
        std::vector<double>& cuts = scratch.cuts;
        cuts.assign({lo, z_mode, hi});
        for (int64_t c = 0; c < f.n && cuts.size() + 3 <= kMaxCuts; ++c) {
            if (f.b[c] <= 2.0) continue;
            const double zc = -f.a[c] / f.b[c], half = kStepEnd / f.b[c];
            if (zc + half <= lo || zc - half >= hi) continue;
            if (f.log_value(std::min(std::max(zc, lo), hi)) < peak - kDrop) continue;
            for (const double x : {zc - half, zc, zc + half}) {
                if (x > lo && x < hi) cuts.push_back(x);
            }
        }
        std::sort(cuts.begin(), cuts.end());
        integral = adaptive(f, peak, cuts.data(), static_cast<int>(cuts.size()));
    }
    return std::min(1.0, std::exp(peak - kLogSqrt2Pi) * integral);
}

}  // namespace reelrec::bandits

#include "ope/binomial.hpp"

#include <cmath>

namespace reelrec::ope {

namespace {

// Stirling-series remainder fc(k) = log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2].
double stirling_tail(int64_t k) {
    static const double table[10] = {0.08106146679532726, 0.04134069595540929, 0.02767792568499834,
                                     0.02079067210376509, 0.01664469118982119, 0.01387612882307075,
                                     0.01189670994589177, 0.01041126526197209, 0.009255462182712733,
                                     0.008330563433362871};
    if (k < 10) return table[k];
    const double kp1 = static_cast<double>(k) + 1.0;
    const double k2 = kp1 * kp1;
    return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / k2) / k2) / kp1;
}

int64_t binomial_inversion(WyRand& rng, int64_t n, double p) {
    const double q = 1.0 - p;
    const double s = p / q;
    const double a = (static_cast<double>(n) + 1.0) * s;
    const double r0 = std::pow(q, static_cast<double>(n));
    for (;;) {
        double r = r0;
        double u = rng.uniform();
        int64_t x = 0;
        bool overflow = false;
        while (u > r) {
            u -= r;
            ++x;
            if (x > n) {  // rounding left u above the total mass: draw again
                overflow = true;
                break;
            }
            r *= a / static_cast<double>(x) - s;
        }
        if (!overflow) return x;
    }
}

int64_t binomial_btrd(WyRand& rng, int64_t n, double p) {
    const double nd = static_cast<double>(n);
    const double m = std::floor((nd + 1.0) * p);
    const double r = p / (1.0 - p);
    const double nr = (nd + 1.0) * r;
    const double npq = nd * p * (1.0 - p);
    const double sq = std::sqrt(npq);
    const double b = 1.15 + 2.53 * sq;
    const double a = -0.0873 + 0.0248 * b + 0.01 * p;
    const double c = nd * p + 0.5;
    const double alpha = (2.83 + 5.1 / b) * sq;
    const double vr = 0.92 - 4.2 / b;
    const double urvr = 0.86 * vr;
    for (;;) {
        double v = rng.uniform();
        double u;
        if (v <= urvr) {  // the box in the middle: accept at once (about 86% of draws)
            u = v / vr - 0.43;
            return static_cast<int64_t>(std::floor((2.0 * a / (0.5 - std::fabs(u)) + b) * u + c));
        }
        if (v >= vr) {
            u = rng.uniform() - 0.5;
        } else {
            u = v / vr - 0.93;
            u = (u < 0 ? -0.5 : 0.5) - u;
            v = rng.uniform() * vr;
        }
        const double us = 0.5 - std::fabs(u);
        const double kd = std::floor((2.0 * a / us + b) * u + c);
        if (kd < 0.0 || kd > nd) continue;
        const int64_t k = static_cast<int64_t>(kd);
        const int64_t mi = static_cast<int64_t>(m);
        v = v * alpha / (a / (us * us) + b);
        const double km = std::fabs(kd - m);
        if (km <= 15.0) {
            // Evaluate f(k)/f(m) by the recursion of the probability ratios.
            double f = 1.0;
            if (mi < k) {
                for (int64_t i = mi + 1; i <= k; ++i) f *= nr / static_cast<double>(i) - r;
            } else if (mi > k) {
                for (int64_t i = k + 1; i <= mi; ++i) v *= nr / static_cast<double>(i) - r;
            }
            if (v <= f) return k;
            continue;
        }
        // Squeeze with the normal approximation, then the exact log-ratio test.
        v = std::log(v);
        const double rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5);
        const double t = -km * km / (2.0 * npq);
        if (v < t - rho) return k;
        if (v > t + rho) continue;
        const double nm = nd - m + 1.0;
        const double h =
            (m + 0.5) * std::log((m + 1.0) / (r * nm)) + stirling_tail(mi) + stirling_tail(n - mi);
        const double nk = nd - kd + 1.0;
        if (v <= h + (nd + 1.0) * std::log(nm / nk) + (kd + 0.5) * std::log(nk * r / (kd + 1.0)) -
                     stirling_tail(k) - stirling_tail(n - k))
            return k;
    }
}

}  // namespace

int64_t binomial(WyRand& rng, int64_t n, double p) {
    if (n <= 0 || !(p > 0.0)) return 0;
    if (p >= 1.0) return n;
    const bool flip = p > 0.5;
    const double pp = flip ? 1.0 - p : p;
    const int64_t k =
        static_cast<double>(n) * pp < 10.0 ? binomial_inversion(rng, n, pp) : binomial_btrd(rng, n, pp);
    return flip ? n - k : k;
}

}  // namespace reelrec::ope

// tsne_emu.cpp - the GPU t-SNE's kernels under the CPU emulation (kernels/emu), against
// double-precision references:
//   tree        the Barnes-Hut tree of tsne_bh.cu (bbox, lock-free build, summarise,
//               sort) and the warp-cooperative repulsion: with theta 0 every cell is
//               opened, so rep and Z must equal the exact all-pairs sums; tree invariants
//               (every point sorted once, root mass n); duplicate and near-duplicate
//               points (chains), also chains that threads of every warp link into
//               (each warp has its own stale cache of the links, as each SM its L1: a
//               chain head read past it, or points drop out)
//   overflow    a cell budget too small must set st->err and still finish
//   stall       summarise and sort on grids that are not all resident (several blocks
//               here, where blocks run in turn) must give up with TSNE_ERR_STALLED
//               instead of hanging, and every kernel after that must leave the layout alone
//   step        attraction, KL, update, re-centring and the exact Z against their formulas
//   affinities  P (tsne_affinities.cu: bandwidths, both edge directions, CSR rows by
//               binary search) against kernels/tsne/tsne_cpu.c's algorithm, thrust's sort
//               and merge done here on the host
// The tree kernels that wait on other threads (summarise, sort) run as one block here,
// since the emulation runs blocks one after another, except in the stall cases, which
// launch them as several on purpose.
#define AV_CUDA_EMU 1
#include "kernels/tsne/tsne_affinities.cu"
#include "kernels/tsne/tsne_bh.cu"

#include <algorithm>
#include <condition_variable>
#include <numeric>
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform() { return emu_uniform(rng); }
static double normal() { return emu_normal(rng); }

// Runs fn; if it has not returned after `seconds`, says that it hung and ends the
// program (a kernel that waits forever cannot be stopped from outside its threads).
static void within(double seconds, const char *what, const std::function<void()> &fn) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::thread dog([&] {
        std::unique_lock<std::mutex> g(m);
        if (!cv.wait_for(g, std::chrono::duration<double>(seconds), [&] { return done; })) {
            printf("  %-52s still running after %.0f s: hung FAILED\n", what, seconds);
            fflush(stdout);
            std::_Exit(1);
        }
    });
    fn();
    {
        std::lock_guard<std::mutex> g(m);
        done = true;
    }
    cv.notify_one();
    dog.join();
}

// ---- t-SNE tree ----------------------------------------------------------------------
// How long a wait of summarise / sort may last here: the threads are the host's, and on
// a busy machine the one waited for may not run for a while.
static const long long EMU_SPIN_NS = 30000000000LL;

template <int DIM> struct tree_host {
    int n, nnodes;
    std::vector<float> pos, mass, rep, bbox;
    std::vector<int> count, start, child, next, sorted;
    tsne_state st{};
    tree_host(int n_, int cells) : n(n_), nnodes(n_ + cells), pos((size_t)DIM * (n_ + cells), NAN),
        mass(n_ + cells, NAN), rep((size_t)DIM * n_, NAN), bbox(BB_MAXGRID * 2 * DIM, NAN), count(n_ + cells, -9),
        start(n_ + cells, -9), child((size_t)cells * nch<DIM>::v, -9), next(n_, -9), sorted(n_, -9) {}
    long long spin_ns = EMU_SPIN_NS;
    tree_view view() {
        return {n, nnodes, pos.data(), mass.data(), count.data(), start.data(), child.data(), next.data(),
                sorted.data(), &st, spin_ns};
    }
    float y(int i, int a) const { return pos[(size_t)a * nnodes + i]; }
    // gradient_dim's sequence up to the repulsion (grids small enough for the emulation)
    void gradient(double theta) {
        tree_view t = view();
        std::fill(sorted.begin(), sorted.end(), 0);
        const int parts = 3;
        emu_launch(dim3(parts), dim3(64), 0, [&] { bbox_partial_kernel<DIM>(t, bbox.data()); });
        emu_launch(dim3(1), dim3(32), 0, [&] { bbox_final_kernel<DIM>(t, bbox.data(), parts, (float)theta); });
        // two blocks of four warps: four caches of the chains' links in each block
        emu_launch(dim3(2), dim3(128), 0, [&] { build_kernel<DIM>(t); });
        // few threads: a thread waiting on a child spins, and on a busy machine a
        // spinning thread only takes time from the one it waits for
        emu_launch(dim3(1), dim3(8), 0, [&] { summarise_kernel<DIM>(t); });
        emu_launch(dim3(1), dim3(8), 0, [&] { sort_kernel<DIM>(t); });
        emu_launch(dim3(2), dim3(REP_BLOCK), 0, [&] { repulsion_kernel<DIM>(t, rep.data()); });
    }
};

// Points. MIXED: gaussian blobs, groups of exact duplicates and pairs one ulp apart
// (both end in chains), as q/k clouds have them. SPREAD: uniform, no duplicates.
// PAIRED: every point has a partner one ulp away (the most cells a cloud can take).
// ACROSS: 4 positions, point i at position i % 4, so each of the 4 chains takes points
// from every warp of the build, which read and write its head in turn.
enum cloud { MIXED, SPREAD, PAIRED, ACROSS };
template <int DIM> static void tree_points(tree_host<DIM> &h, float scale, cloud kind = MIXED) {
    const int n = h.n;
    for (int i = 0; i < n; i++) {
        int blob = i % 5;
        for (int a = 0; a < DIM; a++)
            h.pos[(size_t)a * h.nnodes + i] = (float)(kind == MIXED ? scale * (0.3 * normal() + blob - 2.0 * (a == 1))
                                                                    : scale * (2 * uniform() - 1));
    }
    if (kind == ACROSS)
        for (int i = 4; i < n; i++)
            for (int a = 0; a < DIM; a++) h.pos[(size_t)a * h.nnodes + i] = h.y(i % 4, a);
    if (kind == PAIRED)
        for (int i = 0; i + 1 < n; i += 2)
            for (int a = 0; a < DIM; a++) h.pos[(size_t)a * h.nnodes + i + 1] = std::nextafter(h.y(i, a), INFINITY);
    if (kind != MIXED) return;
    for (int i = 0; i + 7 < n; i += 37)   // groups of 4 exact duplicates
        for (int c = 1; c < 4; c++)
            for (int a = 0; a < DIM; a++) h.pos[(size_t)a * h.nnodes + i + c] = h.y(i, a);
    for (int i = 20; i + 1 < n; i += 53)  // near-duplicate pairs: 1 ulp apart
        for (int a = 0; a < DIM; a++) h.pos[(size_t)a * h.nnodes + i + 1] = std::nextafter(h.y(i, a), INFINITY);
}

// cells: tsne_bh.cu's budget (alloc_dim)
template <int DIM> static void tsne_tree(int n, double theta, float scale, cloud kind = MIXED) {
    tree_host<DIM> h(n, 16 * n + 1024);
    tree_points(h, scale, kind);
    h.gradient(theta);
    const int root = h.nnodes - 1;
    // every point once in tree order, root holds them all
    std::vector<int> seen(n, 0);
    for (int s : h.sorted) if (s >= 0 && s < n) seen[s]++;
    bool perm = std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; });
    bool root_ok = h.count[root] == n && h.mass[root] == (float)n && h.st.err == 0;
    // exact sums in double: q_ij = 1 / (1 + |y_i - y_j|^2), rep_i = sum q^2 (y_i - y_j)
    std::vector<double> want((size_t)DIM * n, 0), got((size_t)DIM * n);
    double Z = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double diff[DIM], d2 = 0;
            for (int a = 0; a < DIM; a++) { diff[a] = (double)h.y(i, a) - h.y(j, a); d2 += diff[a] * diff[a]; }
            double q = 1 / (1 + d2);
            Z += q;
            for (int a = 0; a < DIM; a++) want[(size_t)a * n + i] += q * q * diff[a];
        }
    for (size_t a = 0; a < got.size(); a++) got[a] = h.rep[a];
    double e_rep = rel_l2(got, want), e_z = std::fabs(h.st.Z - Z) / Z;
    const double tol = theta == 0 ? 2e-5 : 3e-2;
    char what[96], detail[128];
    snprintf(what, sizeof what, "tsne tree %dD n %d theta %g scale %g%s", DIM, n, theta, scale,
             kind == PAIRED ? " all paired" : kind == SPREAD ? " spread" : kind == ACROSS ? " chains x warps" : "");
    snprintf(detail, sizeof detail, "cells %d, sorted %s, rep rel %.1e, Z rel %.1e", root - h.st.bottom,
             perm ? "perm" : "NOT A PERMUTATION", e_rep, e_z);
    verdict(what, perm && root_ok && e_rep <= tol && e_z <= tol, detail);
}

// Room for a spread cloud (~0.7 n cells) but not for a paired one (~8 n): the build
// must report the overflow, the waiting kernels still finish, and the report stays
// when a later iteration fits again (points were left out of the tree that once).
template <int DIM> static void tsne_overflow(int n) {
    tree_host<DIM> h(n, 2 * n);
    tree_points(h, 1.0f, SPREAD);
    h.gradient(0.5);
    int fits = h.st.err;
    tree_points(h, 1.0f, PAIRED);
    h.gradient(0.5);
    int overflow = h.st.err;
    tree_points(h, 1.0f, SPREAD);
    h.gradient(0.5);
    int after = h.st.err;
    char what[96], detail[96];
    snprintf(what, sizeof what, "tsne tree %dD n %d, %d cells: spread, paired, spread", DIM, n, 2 * n);
    snprintf(detail, sizeof detail, "err %d, %d, %d", fits, overflow, after);
    verdict(what, fits == 0 && overflow == 1 && after == 1, detail);
}

// summarise and sort launched as several blocks: here blocks run one after another, so
// a thread of the first block waits for a cell that a later block holds, as on a GPU
// whose grid is not all resident. Each must end (within a few seconds) with
// TSNE_ERR_STALLED set, and from then on every kernel of the head must return at once:
// the next gradient and update leave positions and the state as they are.
template <int DIM> static void tsne_stall(int n, bool sort) {
    tree_host<DIM> h(n, 16 * n + 1024);
    tree_points(h, 1.0f, SPREAD);
    h.spin_ns = 300000000;   // 0.3 s: the case must not take long
    tree_view t = h.view();
    std::fill(h.sorted.begin(), h.sorted.end(), 0);
    emu_launch(dim3(3), dim3(64), 0, [&] { bbox_partial_kernel<DIM>(t, h.bbox.data()); });
    emu_launch(dim3(1), dim3(32), 0, [&] { bbox_final_kernel<DIM>(t, h.bbox.data(), 3, 0.5f); });
    emu_launch(dim3(2), dim3(64), 0, [&] { build_kernel<DIM>(t); });
    char what[96];
    snprintf(what, sizeof what, "tsne %s %dD n %d on 4 blocks (not resident)", sort ? "sort" : "summarise", DIM, n);
    double t0 = av_time_ns() * 1e-9;
    within(20, what, [&] {
        if (sort) emu_launch(dim3(1), dim3(8), 0, [&] { summarise_kernel<DIM>(t); });
        emu_launch(dim3(4), dim3(8), 0, [&] {
            if (sort) sort_kernel<DIM>(t);
            else summarise_kernel<DIM>(t);
        });
    });
    double secs = av_time_ns() * 1e-9 - t0;
    const int err = h.st.err;
    // what a stalled head does next: nothing
    std::vector<float> before(h.pos.begin(), h.pos.begin() + (size_t)DIM * h.nnodes);
    std::vector<float> attr((size_t)DIM * n, 0), U((size_t)DIM * n, 0.5f), gains((size_t)DIM * n, 1);
    std::fill(h.rep.begin(), h.rep.end(), 1.0f);
    const double Z = h.st.Z;
    within(20, what, [&] {
        h.gradient(0.5);
        emu_launch(dim3((n + PT_BLOCK - 1) / PT_BLOCK), dim3(PT_BLOCK), 0, [&] {
            update_kernel<DIM>(t, attr.data(), h.rep.data(), U.data(), gains.data(), 12.0f, 0.5f, 200.0f);
        });
        emu_launch(dim3((n + PT_BLOCK - 1) / PT_BLOCK), dim3(PT_BLOCK), 0, [&] { recentre_kernel<DIM>(t); });
    });
    // bytes, not values: cells never summarised hold NaN
    bool frozen = !std::memcmp(before.data(), h.pos.data(), before.size() * sizeof(float)) && h.st.Z == Z &&
                  std::all_of(U.begin(), U.end(), [](float u) { return u == 0.5f; }) &&
                  std::all_of(h.rep.begin(), h.rep.end(), [](float r) { return r == 1.0f; });
    char detail[96];
    snprintf(detail, sizeof detail, "err %d after %.1f s, then %s", err, secs, frozen ? "no change" : "CHANGED");
    verdict(what, err == TSNE_ERR_STALLED && frozen, detail);
}

// attract (P rows, KL term), update (gains, momentum), re-centring, exact Z.
template <int DIM> static void tsne_step(int n) {
    tree_host<DIM> h(n, 1024);
    tree_points(h, 2.0f);
    std::vector<int> rowptr(n + 1, 0), col;
    std::vector<float> val;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < 6; c++) {
            col.push_back((int)((i * 7 + c * 13 + 1) % n));
            val.push_back((float)(uniform() / (6.0 * n)));
        }
        rowptr[i + 1] = (int)col.size();
    }
    tsne_P_dev P{n, (int64_t)col.size(), rowptr.data(), col.data(), val.data()};
    std::vector<float> attr((size_t)DIM * n, NAN), U((size_t)DIM * n), gains((size_t)DIM * n);
    for (auto &u : U) u = (float)(0.01 * normal());
    for (auto &g : gains) g = (float)(0.005 + uniform());
    for (size_t a = 0; a < h.rep.size(); a++) h.rep[a] = (float)normal();
    tree_view t = h.view();
    h.st.klp = 0;
    h.st.Z = 0;
    emu_launch(dim3((n + PT_BLOCK - 1) / PT_BLOCK), dim3(PT_BLOCK), 0, [&] { attract_kernel<DIM>(t, P, attr.data(), 1); });
    emu_launch(dim3((n + PT_BLOCK - 1) / PT_BLOCK), dim3(PT_BLOCK), 0, [&] { exact_Z_kernel<DIM>(t); });
    std::vector<double> wa((size_t)DIM * n, 0), ga(attr.begin(), attr.end());
    double klp = 0, Z = 0;
    for (int i = 0; i < n; i++) {
        for (int e = rowptr[i]; e < rowptr[i + 1]; e++) {
            double diff[DIM], d2 = 0;
            for (int a = 0; a < DIM; a++) { diff[a] = (double)h.y(i, a) - h.y(col[e], a); d2 += diff[a] * diff[a]; }
            double w = 1 / (1 + d2);
            for (int a = 0; a < DIM; a++) wa[(size_t)a * n + i] += val[e] * w * diff[a];
            klp += val[e] * std::log(val[e] / w);
        }
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double d2 = 0;
            for (int a = 0; a < DIM; a++) { double u = (double)h.y(i, a) - h.y(j, a); d2 += u * u; }
            Z += 1 / (1 + d2);
        }
    }
    char what[96], detail[128];
    double e_attr = rel_l2(ga, wa), e_kl = std::fabs(h.st.klp - klp) / std::fabs(klp), e_z = std::fabs(h.st.Z - Z) / Z;
    snprintf(what, sizeof what, "tsne attract + KL + exact Z %dD n %d", DIM, n);
    snprintf(detail, sizeof detail, "attr rel %.1e, KL rel %.1e, Z rel %.1e", e_attr, e_kl, e_z);
    verdict(what, e_attr <= 1e-5 && e_kl <= 1e-5 && e_z <= 1e-9, detail);

    // the update with Z from above, then the re-centring
    const float exag = 12, mom = 0.5f, lr = 200;
    std::vector<double> wy((size_t)DIM * n), wu((size_t)DIM * n), wg((size_t)DIM * n);
    double mean[DIM] = {};
    for (int i = 0; i < n; i++)
        for (int a = 0; a < DIM; a++) {
            size_t o = (size_t)a * n + i;
            double g = (double)exag * attr[o] - h.rep[o] / h.st.Z;
            double gn = U[o] * g < 0 ? gains[o] + 0.2 : gains[o] * 0.8;
            gn = std::max(gn, 0.01);
            wg[o] = gn;
            wu[o] = mom * U[o] - lr * gn * g;
            wy[o] = h.y(i, a) + wu[o];
            mean[a] += wy[o];
        }
    for (int i = 0; i < n; i++)
        for (int a = 0; a < DIM; a++) wy[(size_t)a * n + i] -= mean[a] / n;
    for (int a = 0; a < 3; a++) h.st.mean[a] = 0;
    emu_launch(dim3((n + PT_BLOCK - 1) / PT_BLOCK), dim3(PT_BLOCK), 0, [&] {
        update_kernel<DIM>(t, attr.data(), h.rep.data(), U.data(), gains.data(), exag, mom, lr);
    });
    emu_launch(dim3((n + PT_BLOCK - 1) / PT_BLOCK), dim3(PT_BLOCK), 0, [&] { recentre_kernel<DIM>(t); });
    std::vector<double> gy((size_t)DIM * n), gu(U.begin(), U.end()), gg(gains.begin(), gains.end());
    for (int i = 0; i < n; i++)
        for (int a = 0; a < DIM; a++) gy[(size_t)a * n + i] = h.y(i, a);
    double e_y = rel_l2(gy, wy), e_u = rel_l2(gu, wu), e_g = rel_l2(gg, wg);
    snprintf(what, sizeof what, "tsne update + re-centring %dD n %d", DIM, n);
    snprintf(detail, sizeof detail, "y rel %.1e, update rel %.1e, gains rel %.1e", e_y, e_u, e_g);
    verdict(what, e_y <= 1e-5 && e_u <= 1e-5 && e_g <= 1e-6, detail);
}

// ---- t-SNE affinities -------------------------------------------------------------------
// kernels/tsne/tsne_cpu.c's calibrate_row (bisection on beta to the wanted entropy), in double.
static void calibrate_ref(const float *dist, int k, double log_perp, double *p) {
    double dmin = INFINITY;
    for (int j = 0; j < k; j++) dmin = std::min(dmin, (double)dist[j]);
    double beta = 1, lo = -INFINITY, hi = INFINITY;
    for (int it = 0; it < 200; it++) {
        double sum = 0, dsum = 0;
        for (int j = 0; j < k; j++) {
            double dj = dist[j] - dmin;
            sum += (p[j] = std::exp(-beta * dj));
            dsum += dj * p[j];
        }
        double H = std::log(sum) + beta * dsum / sum;
        if (std::fabs(H - log_perp) < 1e-8) break;
        if (H > log_perp) { lo = beta; beta = std::isinf(hi) ? beta * 2 : 0.5 * (beta + hi); }
        else { hi = beta; beta = std::isinf(lo) ? beta * 0.5 : 0.5 * (beta + lo); }
    }
    double sum = 0;
    for (int j = 0; j < k; j++) sum += p[j];
    for (int j = 0; j < k; j++) p[j] /= sum;
}

static void tsne_affinities(int n, int k) {
    const int d = 3;
    std::vector<float> X((size_t)n * d), dist((size_t)n * k);
    std::vector<int64_t> idx((size_t)n * k);
    for (auto &x : X) x = (float)normal();
    std::vector<std::pair<double, int>> all(n);
    for (int i = 0; i < n; i++) {   // exact neighbours, squared distances
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0;
            for (int c = 0; c < d; c++) { double u = (double)X[i * d + c] - X[j * d + c]; s += u * u; }
            all[m++] = {s, j};
        }
        std::partial_sort(all.begin(), all.begin() + k, all.begin() + m);
        for (int t = 0; t < k; t++) { idx[(size_t)i * k + t] = all[t].second; dist[(size_t)i * k + t] = (float)all[t].first; }
    }
    const int64_t m = (int64_t)n * k;
    const double log_perp = std::log(k / 3.0);
    std::vector<double> pc(m, NAN), val(2 * m);
    std::vector<unsigned long long> key(2 * m);
    emu_launch(dim3((n + 31) / 32), dim3(32), 0, [&] { calibrate_kernel(dist.data(), n, k, log_perp, pc.data()); });
    emu_launch(dim3((unsigned)((m + 63) / 64)), dim3(64), 0, [&] { edges_kernel(idx.data(), pc.data(), n, k, key.data(), val.data()); });
    // thrust::sort_by_key + reduce_by_key (+) + reduce, as tsne_affinities_dev runs them
    std::vector<int64_t> order(2 * m);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key[a] < key[b]; });
    std::vector<unsigned long long> ukey;
    std::vector<double> uval;
    for (int64_t o : order) {
        if (!ukey.empty() && ukey.back() == key[o]) uval.back() += val[o];
        else { ukey.push_back(key[o]); uval.push_back(val[o]); }
    }
    const int64_t nnz = (int64_t)ukey.size();
    double total = 0;
    for (double v : uval) total += v;
    std::vector<int> rowptr(n + 1, -1), col(nnz, -1);
    std::vector<float> P(nnz, NAN);
    emu_launch(dim3((n + 1 + 31) / 32), dim3(32), 0, [&] { rowptr_kernel(ukey.data(), nnz, n, rowptr.data()); });
    emu_launch(dim3((unsigned)((nnz + 63) / 64)), dim3(64), 0, [&] { finish_kernel(ukey.data(), uval.data(), nnz, 1.0 / total, col.data(), P.data()); });
    // reference: kernels/tsne/tsne_cpu.c's symmetrise, (P_cond + P_cond^T) / sum, rows sorted by column
    std::vector<std::vector<std::pair<int, double>>> rows(n);
    std::vector<double> p(k);
    double wtotal = 0;
    for (int i = 0; i < n; i++) {
        calibrate_ref(&dist[(size_t)i * k], k, log_perp, p.data());
        for (int t = 0; t < k; t++) {
            int c = (int)idx[(size_t)i * k + t];
            rows[i].push_back({c, p[t]});
            rows[c].push_back({i, p[t]});
            wtotal += 2 * p[t];
        }
    }
    int64_t bad_struct = 0, o = 0;
    std::vector<double> got, want;
    for (int i = 0; i < n; i++) {
        std::sort(rows[i].begin(), rows[i].end());
        bad_struct += rowptr[i] != o;
        for (size_t a = 0; a < rows[i].size();) {
            double v = 0;
            size_t b = a;
            for (; b < rows[i].size() && rows[i][b].first == rows[i][a].first; b++) v += rows[i][b].second;
            if (o < nnz) {
                bad_struct += col[o] != rows[i][a].first;
                got.push_back(P[o]);
                want.push_back(v / wtotal);
            }
            o++;
            a = b;
        }
    }
    bad_struct += rowptr[n] != o || o != nnz;
    double e = rel_l2(got, want);
    char what[96], detail[96];
    snprintf(what, sizeof what, "tsne affinities n %d k %d", n, k);
    snprintf(detail, sizeof detail, "nnz %lld, %lld structure faults, P rel %.1e", (long long)nnz, (long long)bad_struct, e);
    verdict(what, bad_struct == 0 && e <= 1e-6, detail);
}

void emu_tsne_tree() {
    tsne_tree<2>(400, 0.0, 1.0f);
    tsne_tree<2>(400, 0.5, 1.0f);
    tsne_tree<2>(400, 0.0, 1e-4f);           // the scale of the PCA start
    tsne_tree<3>(300, 0.0, 1.0f);
    tsne_tree<3>(300, 0.5, 30.0f);
    tsne_tree<2>(200, 0.0, 50.0f, PAIRED);   // the budget holds the worst cloud
    tsne_tree<3>(150, 0.0, 50.0f, PAIRED);
    tsne_tree<2>(400, 0.0, 1.0f, ACROSS);    // links past the stale caches
    tsne_tree<3>(400, 0.0, 1.0f, ACROSS);
}

void emu_tsne_stall() {
    tsne_stall<2>(300, false);
    tsne_stall<2>(300, true);
    tsne_stall<3>(300, false);
}

void emu_tsne_overflow() {
    tsne_overflow<2>(300);
    tsne_overflow<3>(300);
}

void emu_tsne_step() {
    tsne_step<2>(300);
    tsne_step<3>(300);
}

void emu_tsne_affinities() { tsne_affinities(150, 12); }

// live_gpu_emu.cpp - live_gpu.cu's kernels under the CPU emulation (kernels/emu), group
// "live": the gather of a projection's positions into a slot's rows, from t-SNE's
// structure of arrays (axis stride nnodes > n, the tree cells after the points) and from
// UMAP's rows, must copy every float exactly; the emit into the GL buffer must copy the
// slot's bytes unchanged at its offset and touch nothing else, with the bounds the
// viewer's fit_bounds gives (finite values only, negatives and -0 ordered right, an axis
// without a finite value -1..1, z -1..1 in 2-D).
#define AV_CUDA_EMU 1
#include "kernels/backend/live_gpu.cu"

#include <climits>
#include "kernels/emu/emu_check.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;

// The viewer's fit_bounds (viewer/viewdata.c), the reference of the emitted bounds.
static void fit_bounds_ref(const float *p, int64_t n, int dim, float *b) {
    for (int k = 0; k < 3; k++) { b[k] = INFINITY; b[3 + k] = -INFINITY; }
    for (int64_t j = 0; j < n; j++)
        for (int k = 0; k < dim; k++) {
            float v = p[j * dim + k];
            if (!std::isfinite(v)) continue;
            if (v < b[k]) b[k] = v;
            if (v > b[3 + k]) b[3 + k] = v;
        }
    for (int k = 0; k < 3; k++)
        if (!(b[k] <= b[3 + k])) { b[k] = -1; b[3 + k] = 1; }
}

static void gather(const char *what, int n, int dim, int64_t as, int64_t ps, int64_t len) {
    std::vector<float> pos = emu_random_vec(rng, (size_t)len, 50.0f), slot((size_t)n * dim, NAN);
    emu_launch(dim3((unsigned)((n * dim + 63) / 64)), dim3(64), 0,
               [&] { live_gather_kernel(slot.data(), pos.data(), n, dim, as, ps); });
    bool ok = true;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < dim; a++) ok &= !memcmp(&slot[(size_t)i * dim + a], &pos[i * ps + a * as], sizeof(float));
    char d[64];
    snprintf(d, sizeof d, "%d points x %d", n, dim);
    verdict(what, ok, d);
}

static void emit(const char *what, int n, int dim, int kind) {
    std::vector<float> slot = emu_random_vec(rng, (size_t)n * dim, 30.0f);
    if (kind == 1)   // non-finite values among them (never bounds), -0 and a negative-only axis
        for (int i = 0; i < n; i++) {
            if (i % 7 == 0) slot[(size_t)i * dim] = NAN;
            if (i % 11 == 0) slot[(size_t)i * dim + 1] = i % 2 ? INFINITY : -INFINITY;
            if (i % 13 == 0) slot[(size_t)i * dim] = -0.0f;
            slot[(size_t)i * dim + 1] = -std::fabs(slot[(size_t)i * dim + 1]) - 1;
        }
    if (kind == 2)   // no finite value on axis 0
        for (int i = 0; i < n; i++) slot[(size_t)i * dim] = NAN;
    const int64_t at = 37;   // the head's offset in the buffer of every head
    std::vector<float> buf((size_t)(at + n * dim + 5), 7.5f);
    int ord[6] = {INT_MAX, INT_MAX, INT_MAX, INT_MIN, INT_MIN, INT_MIN};
    emu_launch(dim3((unsigned)((n * dim + 63) / 64)), dim3(64), 0,
               [&] { live_emit_kernel(buf.data() + at, slot.data(), n, dim, ord); });
    float b[6], want[6];
    live_bounds(ord, dim, b);
    fit_bounds_ref(slot.data(), n, dim, want);
    bool same = !memcmp(buf.data() + at, slot.data(), slot.size() * sizeof(float));
    for (int64_t e = 0; e < at; e++) same &= buf[e] == 7.5f;
    for (size_t e = (size_t)(at + n * dim); e < buf.size(); e++) same &= buf[e] == 7.5f;
    bool bounds = true;
    for (int k = 0; k < 6; k++) bounds &= b[k] == want[k];
    char d[96];
    snprintf(d, sizeof d, "bytes %s, bounds %s", same ? "equal" : "DIFFER", bounds ? "equal" : "DIFFER");
    verdict(what, same && bounds, d);
}

void emu_live() {
    gather("gather t-SNE 2-D (axis stride nnodes)", 301, 2, 700, 1, 2 * 700);
    gather("gather t-SNE 3-D (axis stride nnodes)", 257, 3, 520, 1, 3 * 520);
    gather("gather UMAP rows 2-D", 301, 2, 1, 2, 2 * 301);
    gather("gather UMAP rows 3-D", 129, 3, 1, 3, 3 * 129);
    emit("emit 2-D", 300, 2, 0);
    emit("emit 3-D", 211, 3, 0);
    emit("emit 2-D, non-finite values, -0, negative axis", 300, 2, 1);
    emit("emit 3-D, no finite value on x", 90, 3, 2);
}

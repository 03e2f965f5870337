// tsne_bh.cu - one Barnes-Hut t-SNE iteration on the GPU, as the classic kernel
// sequence of Burtscher & Pingali's GPU Barnes-Hut (GPU Computing Gems, 2011), in 2-D
// (quadtree) and 3-D (octree):
//   bbox       min/max of the positions (per-block partials, then one block that also
//              sets up the root, the per-depth opening distances and zeroes Z, mean, KL)
//   build      lock-free insertion: a thread walks down to a child slot, locks it with
//              atomicCAS (-2), and either drops its point there or splits the occupied
//              slot into new cells (handed out downwards from the root by atomicSub)
//              until the two points part, building the new subtree privately and
//              publishing it with one store after a fence
//   summarise  centres of mass bottom-up: cells are made after their parents, so have
//              lower indices; threads walk their cells upwards and wait for children
//   sort       points in tree order (parents hand each child its first slot), so a warp
//              gets 32 neighbours in space and walks nearly the same cells
//   repulsion  warp-cooperative traversal from a shared per-warp stack: a cell is
//              summarised only when all 32 lanes find it far enough (side < theta *
//              distance, the CPU tree's test), else the whole warp opens it
//   attract    sum over the sparse P row of P_ij w_ij (y_i - y_j), w = 1 / (1 + d^2)
//   update     gradient exag * attr - rep / Z (no factor 4, as kernels/tsne/tsne_cpu.c), gains
//              (+0.2 / x0.8, floor 0.01), momentum, step; then re-centring
// Points closer than the deepest cell share a leaf through next[] (duplicates are
// common in q/k clouds), and each is still summed at its own position; the point itself
// is skipped, a duplicate counts q = 1 in Z and pushes nothing (as kernels/tsne/tsne_tree.c).
// Nothing here waits on the host: the whole iteration is enqueued on the head's stream.
// The grids of build, summarise and sort are no larger than what is resident at once
// (divided among the heads sharing the device), which the waits in summarise and sort
// need to make progress. Residency is not guaranteed all the same (another program
// sharing the GPU, kernels of other streams holding SMs): a wait that lasts
// TSNE_SPIN_LIMIT_NS gives up and sets TSNE_ERR_STALLED, every kernel of the head then
// returns at once, and the host reruns the head with one block per waiting kernel
// (tsne_run.cu). Nothing can hang.
// Memory order across blocks: a value another block wrote during the same kernel is
// read past L1 (volatile or __ldcg: an SM's L1 is not coherent with the others'), and
// after a fence that pairs with the writer's fence before it published (release: write,
// __threadfence, volatile store of the flag; acquire: read the flag, __threadfence, read).
#include "kernels/tsne/tsne_internal.cuh"

#include <math.h>

#define FULL 0xffffffffu
#define BB_BLOCK 512
#define BB_MAXGRID 1024
#define TREE_BLOCK 256
#define REP_BLOCK 256
#define PT_BLOCK 256

template <int DIM> struct nch { static const int v = 1 << DIM; };

struct tree_view {
    int n, nnodes;
    float *pos, *mass;
    int *count, *start, *child;
    av_gmem<int> next;   // chains: build links points into them under a slot's lock, from any block
    int *sorted;
    tsne_state *st;
    long long spin_ns;   // how long a wait in summarise or sort lasts before it gives up
};
static tree_view view(const tsne_gpu *h) {
    return {(int)h->n, (int)h->nnodes, h->pos, h->mass, h->count, h->start, h->child, h->next, h->sorted, h->st,
            TSNE_SPIN_LIMIT_NS};
}

// A wait that gave up (TSNE_ERR_STALLED) leaves the tree unfinished: from then on every
// kernel of the head returns at once (a kernel start sees what earlier kernels wrote).
__device__ __forceinline__ bool stalled(const tree_view &t) { return t.st->err & TSNE_ERR_STALLED; }

// The clock of one wait: expired() is called in each round of a spin and says when to
// give up: after t.spin_ns, or as soon as another thread has (then the tree is lost
// anyway). It reads the clock and the flag every 64 rounds, so that thousands of
// spinning threads do not crowd the flag's memory while the ones they wait for work.
struct spin_clock {
    long long start = -1;
    int rounds = 0;
    __device__ void restart() { start = -1; rounds = 0; }
    __device__ bool expired(const tree_view &t) {
        if (++rounds & 63) return false;
        long long now = av_time_ns();
        if (start < 0) start = now;
        if (*(volatile int *)&t.st->err & TSNE_ERR_STALLED) return true;
        if (now - start <= t.spin_ns) return false;
        atomicOr(&t.st->err, TSNE_ERR_STALLED);
        return true;
    }
};
#define CHILD(t, cell, c) (t).child[((cell) - (t).n) * nch<DIM>::v + (c)]

template <int DIM> __device__ __forceinline__ int octant(const float *p, const float *cx) {
    int j = 0;
    for (int a = 0; a < DIM; a++) j |= (p[a] > cx[a]) << a;
    return j;
}

// ---- bounding box ------------------------------------------------------------------
template <int DIM> __global__ void bbox_partial_kernel(tree_view t, float *part) {
    __shared__ float smin[DIM][BB_BLOCK], smax[DIM][BB_BLOCK];
    if (stalled(t)) return;
    float lo[DIM], hi[DIM];
    for (int a = 0; a < DIM; a++) { lo[a] = INFINITY; hi[a] = -INFINITY; }
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < t.n; i += gridDim.x * blockDim.x) {
        for (int a = 0; a < DIM; a++) {
            float v = t.pos[(int64_t)a * t.nnodes + i];
            lo[a] = fminf(lo[a], v);
            hi[a] = fmaxf(hi[a], v);
        }
        t.next[i] = -1;   // chains start empty every iteration
    }
    for (int a = 0; a < DIM; a++) { smin[a][threadIdx.x] = lo[a]; smax[a][threadIdx.x] = hi[a]; }
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) {
        if ((int)threadIdx.x < o)
            for (int a = 0; a < DIM; a++) {
                smin[a][threadIdx.x] = fminf(smin[a][threadIdx.x], smin[a][threadIdx.x + o]);
                smax[a][threadIdx.x] = fmaxf(smax[a][threadIdx.x], smax[a][threadIdx.x + o]);
            }
        __syncthreads();
    }
    if (threadIdx.x == 0)
        for (int a = 0; a < DIM; a++) { part[blockIdx.x * 2 * DIM + a] = smin[a][0]; part[blockIdx.x * 2 * DIM + DIM + a] = smax[a][0]; }
}

template <int DIM> __global__ void bbox_final_kernel(tree_view t, const float *part, int parts, float theta) {
    __shared__ float box[2 * DIM];
    if (stalled(t)) return;
    if (threadIdx.x < 2 * DIM) {
        int a = threadIdx.x;
        float v = a < DIM ? INFINITY : -INFINITY;
        for (int b = 0; b < parts; b++) v = a < DIM ? fminf(v, part[b * 2 * DIM + a]) : fmaxf(v, part[b * 2 * DIM + a]);
        box[a] = v;
    }
    __syncthreads();
    int root = t.nnodes - 1;
    if (threadIdx.x < nch<DIM>::v) CHILD(t, root, threadIdx.x) = -1;
    if (threadIdx.x == 0) {
        tsne_state *st = t.st;
        float r = 0;
        for (int a = 0; a < DIM; a++) {
            st->center[a] = 0.5f * (box[a] + box[DIM + a]);
            r = fmaxf(r, 0.5f * (box[DIM + a] - box[a]));
        }
        // a little wider, so the extreme points fall strictly inside; never zero
        r = fmaxf(r * 1.0001f, 1e-6f);
        st->radius = r;
        for (int dd = 0; dd <= TSNE_MAXDEPTH; dd++) {
            float side = 2.0f * r / (float)(1 << dd);
            st->dq[dd] = theta > 0 ? side * side / (theta * theta) : INFINITY;
        }
        st->bottom = root;
        // st->err is not cleared here: an overflow leaves points out of that iteration's
        // tree (their repulsion stale, Z short), so it must fail the run even when later
        // iterations fit (it is zeroed once, when the state is allocated)
        st->Z = 0;
        st->klp = 0;
        for (int a = 0; a < 3; a++) st->mean[a] = 0;
        t.mass[root] = -1.0f;
        t.start[root] = 0;
    }
}

// ---- tree build ----------------------------------------------------------------------
template <int DIM> __global__ void __launch_bounds__(TREE_BLOCK) build_kernel(tree_view t) {
    const int NCH = nch<DIM>::v;
    if (stalled(t)) return;
    volatile int *vchild = t.child;
    const int root = t.nnodes - 1;
    const float R = t.st->radius;
    float rc[DIM];
    for (int a = 0; a < DIM; a++) rc[a] = t.st->center[a];
    int i = blockIdx.x * blockDim.x + threadIdx.x, inc = gridDim.x * blockDim.x;
    bool fresh = true;
    int node = root, depth = 0, j = 0;
    float r = R, cx[DIM], p[DIM];
    while (i < t.n) {
        if (fresh) {
            fresh = false;
            node = root; depth = 0; r = R;
            for (int a = 0; a < DIM; a++) { cx[a] = rc[a]; p[a] = t.pos[(int64_t)a * t.nnodes + i]; }
            j = octant<DIM>(p, cx);
        }
        int ch = vchild[(node - t.n) * NCH + j];
        while (ch >= t.n) {   // a cell: go down
            node = ch; depth++; r *= 0.5f;
            for (int a = 0; a < DIM; a++) cx[a] += ((j >> a) & 1) ? r : -r;
            j = octant<DIM>(p, cx);
            ch = vchild[(node - t.n) * NCH + j];
        }
        if (ch == -2) continue;   // locked by another thread: read it again
        int locked = (node - t.n) * NCH + j;
        if (atomicCAS(&t.child[locked], ch, -2) != ch) continue;   // changed under us
        if (ch == -1) {
            vchild[locked] = i;
        } else {
            // Acquire the slot: the last holder linked into ch's chain before it released
            // the slot (its fence, then the unlocking store), possibly from another SM.
            __threadfence();
            // ch is a point: split until ch and i part, in a subtree no one else sees yet
            int patch = -1, slot_node = node, slot = j, other = ch, dd = depth;
            float rr = r, cc[DIM];
            for (int a = 0; a < DIM; a++) cc[a] = cx[a];
            bool ok = true;
            while (other >= 0 && dd < TSNE_MAXDEPTH) {
                int cell = atomicSub(&t.st->bottom, 1) - 1;
                if (cell < t.n) { atomicOr(&t.st->err, TSNE_ERR_CELLS); ok = false; break; }
                patch = max(patch, cell);
                rr *= 0.5f;
                for (int a = 0; a < DIM; a++) cc[a] += ((slot >> a) & 1) ? rr : -rr;
                for (int c = 0; c < NCH; c++) t.child[(cell - t.n) * NCH + c] = -1;
                t.mass[cell] = -1.0f;
                t.start[cell] = -1;
                if (patch != cell) t.child[(slot_node - t.n) * NCH + slot] = cell;
                float po[DIM];
                for (int a = 0; a < DIM; a++) po[a] = t.pos[(int64_t)a * t.nnodes + other];
                t.child[(cell - t.n) * NCH + octant<DIM>(po, cc)] = other;
                slot_node = cell; dd++;
                slot = octant<DIM>(p, cc);
                other = t.child[(cell - t.n) * NCH + slot];
            }
            if (ok) {
                if (other >= 0) {   // deepest cell reached: i joins other's chain
                    // The head's link past L1: a thread of another SM may have changed it
                    // since this SM last read it, and a stale link drops points.
                    t.next[i] = __ldcg(&t.next[other]);
                    t.next[other] = i;
                    if (patch < 0) patch = other;   // nothing was split: give the slot back
                } else {
                    t.child[(slot_node - t.n) * NCH + slot] = i;
                }
            } else if (patch < 0) {
                patch = ch;
            }
            __threadfence();
            vchild[locked] = patch;
        }
        i += inc;
        fresh = true;
    }
}

// ---- summarise -----------------------------------------------------------------------
template <int DIM> __global__ void __launch_bounds__(TREE_BLOCK) summarise_kernel(tree_view t) {
    const int NCH = nch<DIM>::v;
    if (stalled(t)) return;
    volatile float *vmass = t.mass;
    spin_clock clock;
    // after an overflow (st->err) bottom may have run below the first cell
    int bottom = max(*(volatile int *)&t.st->bottom, t.n);
    for (int k = bottom + blockIdx.x * blockDim.x + threadIdx.x; k < t.nnodes; k += gridDim.x * blockDim.x) {
        // Wait until every child cell is summarised (a mass >= 0), then one fence: the
        // acquire that pairs with the children's fence before their mass, so their
        // positions and counts below are the ones they published.
        bool cells = false;
        for (int c = 0; c < NCH; c++) {
            int ch = t.child[(k - t.n) * NCH + c];
            if (ch < t.n) continue;
            cells = true;
            clock.restart();
            while (vmass[ch] < 0.0f)
                if (clock.expired(t)) return;
        }
        if (cells) __threadfence();
        float m = 0, com[DIM];
        int cnt = 0;
        for (int a = 0; a < DIM; a++) com[a] = 0;
        for (int c = 0; c < NCH; c++) {
            int ch = t.child[(k - t.n) * NCH + c];
            if (ch >= t.n) {
                float mc = vmass[ch];
                for (int a = 0; a < DIM; a++) com[a] += mc * __ldcg(&t.pos[(int64_t)a * t.nnodes + ch]);
                m += mc;
                cnt += __ldcg(&t.count[ch]);
            } else if (ch >= 0) {
                for (int b = ch; b >= 0; b = t.next[b]) {
                    for (int a = 0; a < DIM; a++) com[a] += t.pos[(int64_t)a * t.nnodes + b];
                    m += 1.0f;
                    cnt++;
                }
            }
        }
        // release: position and count first, then the mass that says they are there
        t.count[k] = cnt;
        for (int a = 0; a < DIM; a++) t.pos[(int64_t)a * t.nnodes + k] = m > 0 ? com[a] / m : 0.0f;
        __threadfence();
        vmass[k] = m;
    }
}

// ---- sort ------------------------------------------------------------------------------
template <int DIM> __global__ void __launch_bounds__(TREE_BLOCK) sort_kernel(tree_view t) {
    const int NCH = nch<DIM>::v;
    if (stalled(t)) return;
    volatile int *vstart = t.start;
    spin_clock clock;
    int bottom = max(t.st->bottom, t.n), dec = gridDim.x * blockDim.x;
    int k = t.nnodes - 1 - (blockIdx.x * blockDim.x + threadIdx.x);
    // The wait is for the start only: the children and counts read after it were written
    // by earlier kernels (build, summarise), so no fence is needed here.
    while (k >= bottom) {
        int s = vstart[k];
        if (s < 0) {   // the parent has not placed this cell yet
            if (clock.expired(t)) return;
            continue;
        }
        clock.restart();
        for (int c = 0; c < NCH; c++) {
            int ch = t.child[(k - t.n) * NCH + c];
            if (ch >= t.n) {
                vstart[ch] = s;
                s += t.count[ch];
            } else if (ch >= 0) {
                for (int b = ch; b >= 0; b = t.next[b]) t.sorted[s++] = b;
            }
        }
        k -= dec;
    }
}

// ---- repulsion -------------------------------------------------------------------------
template <int DIM> struct rep_stack { static const int v = TSNE_MAXDEPTH * ((1 << DIM) - 1) + (1 << DIM) + 1; };

template <int DIM> __global__ void __launch_bounds__(REP_BLOCK) repulsion_kernel(tree_view t, float *rep) {
    const int NCH = nch<DIM>::v, S = rep_stack<DIM>::v, WARPS = REP_BLOCK / 32;
    __shared__ int snode[WARPS][S];
    __shared__ int sdep[WARPS][S];
    __shared__ float dq[TSNE_MAXDEPTH + 1];
    __shared__ double zpart[WARPS];
    if (stalled(t)) return;   // the same for every thread: no __syncthreads is left waiting
    if (threadIdx.x <= TSNE_MAXDEPTH) dq[threadIdx.x] = t.st->dq[threadIdx.x];
    __syncthreads();
    const int w = threadIdx.x / 32, lane = threadIdx.x & 31, root = t.nnodes - 1;
    const int gw = (blockIdx.x * blockDim.x + threadIdx.x) / 32, nw = gridDim.x * blockDim.x / 32;
    double zsum = 0;
    for (int base = gw * 32; base < t.n; base += nw * 32) {
        int s = base + lane;
        bool act = s < t.n;
        int i = act ? t.sorted[s] : 0;
        float p[DIM], f[DIM];
        for (int a = 0; a < DIM; a++) { p[a] = t.pos[(int64_t)a * t.nnodes + i]; f[a] = 0; }
        float qs = 0;
        if (lane == 0) { snode[w][0] = root; sdep[w][0] = 0; }
        int sp = 1;
        __syncwarp();
        while (sp > 0) {
            sp--;
            int node = snode[w][sp], dep = sdep[w][sp];
            __syncwarp();
            if (node >= t.n) {
                float diff[DIM], d2 = 0;
                for (int a = 0; a < DIM; a++) { diff[a] = p[a] - t.pos[(int64_t)a * t.nnodes + node]; d2 += diff[a] * diff[a]; }
                bool far = !act || d2 >= dq[dep];
                if (__all_sync(FULL, far)) {
                    if (act) {
                        float q = 1.0f / (1.0f + d2), mq = t.mass[node] * q;
                        qs += mq;
                        for (int a = 0; a < DIM; a++) f[a] += mq * q * diff[a];
                    }
                } else {
                    int ch = lane < NCH ? t.child[(node - t.n) * NCH + lane] : -1;
                    unsigned msk = __ballot_sync(FULL, ch >= 0);
                    if (ch >= 0) {
                        int o = sp + __popc(msk & ((1u << lane) - 1));
                        snode[w][o] = ch;
                        sdep[w][o] = dep + 1;
                    }
                    sp += __popc(msk);
                    __syncwarp();
                }
            } else if (act) {
                for (int b = node; b >= 0; b = t.next[b]) {
                    if (b == i) continue;
                    float diff[DIM], d2 = 0;
                    for (int a = 0; a < DIM; a++) { diff[a] = p[a] - t.pos[(int64_t)a * t.nnodes + b]; d2 += diff[a] * diff[a]; }
                    float q = 1.0f / (1.0f + d2);
                    qs += q;
                    for (int a = 0; a < DIM; a++) f[a] += q * q * diff[a];
                }
            }
        }
        if (act)
            for (int a = 0; a < DIM; a++) rep[(int64_t)a * t.n + i] = f[a];
        zsum += qs;
    }
    for (int o = 16; o > 0; o >>= 1) zsum += __shfl_xor_sync(FULL, zsum, o);
    if (lane == 0) zpart[w] = zsum;
    __syncthreads();
    if (threadIdx.x == 0) {
        double z = 0;
        for (int k = 0; k < WARPS; k++) z += zpart[k];
        atomicAdd(&t.st->Z, z);
    }
}

// ---- attraction, update, re-centring -----------------------------------------------
template <int DIM> __global__ void attract_kernel(tree_view t, tsne_P_dev P, float *attr, int want_kl) {
    __shared__ double kpart[PT_BLOCK / 32];
    if (stalled(t)) return;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    double kl = 0;
    if (i < t.n) {
        float yi[DIM], acc[DIM];
        for (int a = 0; a < DIM; a++) { yi[a] = t.pos[(int64_t)a * t.nnodes + i]; acc[a] = 0; }
        for (int e = P.rowptr[i]; e < P.rowptr[i + 1]; e++) {
            int j = P.col[e];
            float diff[DIM], d2 = 0;
            for (int a = 0; a < DIM; a++) { diff[a] = yi[a] - t.pos[(int64_t)a * t.nnodes + j]; d2 += diff[a] * diff[a]; }
            float pij = P.val[e], w = 1.0f / (1.0f + d2), pw = pij * w;
            for (int a = 0; a < DIM; a++) acc[a] += pw * diff[a];
            if (want_kl && pij > 0) kl += (double)pij * log((double)pij * (1.0 + (double)d2));
        }
        for (int a = 0; a < DIM; a++) attr[(int64_t)a * t.n + i] = acc[a];
    }
    if (!want_kl) return;
    for (int o = 16; o > 0; o >>= 1) kl += __shfl_xor_sync(FULL, kl, o);
    if ((threadIdx.x & 31) == 0) kpart[threadIdx.x / 32] = kl;
    __syncthreads();
    if (threadIdx.x == 0) {
        double s = 0;
        for (int k = 0; k < PT_BLOCK / 32; k++) s += kpart[k];
        atomicAdd(&t.st->klp, s);
    }
}

template <int DIM> __global__ void update_kernel(tree_view t, const float *attr, const float *rep, float *U, float *gains,
                                                 float exag, float mom, float lr) {
    __shared__ double mpart[DIM][PT_BLOCK / 32];
    if (stalled(t)) return;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    double Z = t.st->Z;
    float invZ = (float)(1.0 / (Z > 0 ? Z : 1e-300));
    double y[DIM];
    for (int a = 0; a < DIM; a++) y[a] = 0;
    if (i < t.n) {
        for (int a = 0; a < DIM; a++) {
            int64_t o = (int64_t)a * t.n + i;
            float g = exag * attr[o] - rep[o] * invZ;
            float gn = U[o] * g < 0 ? gains[o] + 0.2f : gains[o] * 0.8f;
            gn = fmaxf(gn, 0.01f);
            gains[o] = gn;
            float u = mom * U[o] - lr * gn * g;
            U[o] = u;
            float yn = t.pos[(int64_t)a * t.nnodes + i] + u;
            t.pos[(int64_t)a * t.nnodes + i] = yn;
            y[a] = yn;
        }
    }
    for (int a = 0; a < DIM; a++) {
        double v = y[a];
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL, v, o);
        if ((threadIdx.x & 31) == 0) mpart[a][threadIdx.x / 32] = v;
    }
    __syncthreads();
    if (threadIdx.x < DIM) {
        double s = 0;
        for (int k = 0; k < PT_BLOCK / 32; k++) s += mpart[threadIdx.x][k];
        atomicAdd(&t.st->mean[threadIdx.x], s);
    }
}

template <int DIM> __global__ void recentre_kernel(tree_view t) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= t.n || stalled(t)) return;
    for (int a = 0; a < DIM; a++) t.pos[(int64_t)a * t.nnodes + i] -= (float)(t.st->mean[a] / t.n);
}

template <int DIM> __global__ void exact_Z_kernel(tree_view t) {
    __shared__ double part[PT_BLOCK / 32];
    if (stalled(t)) return;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    double s = 0;
    if (i < t.n) {
        float yi[DIM];
        for (int a = 0; a < DIM; a++) yi[a] = t.pos[(int64_t)a * t.nnodes + i];
        for (int j = 0; j < t.n; j++) {
            if (j == i) continue;
            double d2 = 0;
            for (int a = 0; a < DIM; a++) { double u = (double)yi[a] - t.pos[(int64_t)a * t.nnodes + j]; d2 += u * u; }
            s += 1.0 / (1.0 + d2);
        }
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(FULL, s, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double z = 0;
        for (int k = 0; k < PT_BLOCK / 32; k++) z += part[k];
        atomicAdd(&t.st->Z, z);
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
// ---- host side -------------------------------------------------------------------------
template <int DIM> static int resident_grid(const void *kernel, int block, int *grid) {
    int dev, sms, per = 0;
    cudaCheck(cudaGetDevice(&dev));
    cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    cudaCheck(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, kernel, block, 0));
    if (per < 1) return av_fail("t-SNE on the GPU: a tree kernel cannot run with %d threads per block", block);
    *grid = sms * per;
    return AV_OK;
}

template <int DIM> static int alloc_dim(tsne_gpu *h) {
    av_proj_ctx *c = h->c;
    int64_t n = h->n;
    // cells: a point needs at most one new cell, a near-duplicate pair up to
    // TSNE_MAXDEPTH. A spread cloud takes ~0.7 n; one where every point has a partner
    // an ulp away takes ~8.1 n (measured with kernels/emu: 2-D, 20k points), which
    // overflowed the former 8 n budget; 16 n leaves room for it (overflow is reported).
    h->nnodes = n + 16 * n + 1024;
    int64_t cells = h->nnodes - n;
    // the child slots are indexed in 32-bit arithmetic ((cell - n) * 2^DIM + c)
    if (h->nnodes >= INT32_MAX || cells * nch<DIM>::v >= INT32_MAX)
        return av_fail("t-SNE on the GPU: %lld points is more than this build handles", (long long)n);
    if (resident_grid<DIM>((const void *)build_kernel<DIM>, TREE_BLOCK, &h->grid_build) != AV_OK ||
        resident_grid<DIM>((const void *)summarise_kernel<DIM>, TREE_BLOCK, &h->grid_sum) != AV_OK ||
        resident_grid<DIM>((const void *)sort_kernel<DIM>, TREE_BLOCK, &h->grid_sort) != AV_OK ||
        resident_grid<DIM>((const void *)repulsion_kernel<DIM>, REP_BLOCK, &h->grid_rep) != AV_OK)
        return AV_ERR;
    // The waits of summarise and sort need all of their blocks resident. Heads on other
    // streams may hold the rest of the device: with `share` heads side by side, each
    // waiting kernel takes its share of the device, so all of them fit at once. Where
    // that was not enough (TSNE_ERR_STALLED) the head is rerun with one block each: the
    // threads of one block are resident together, so those waits always end.
    int share = h->share > 1 ? h->share : 1;
    h->grid_build = h->grid_build / share > 0 ? h->grid_build / share : 1;
    h->grid_sum = h->one_block ? 1 : h->grid_sum / share > 0 ? h->grid_sum / share : 1;
    h->grid_sort = h->one_block ? 1 : h->grid_sort / share > 0 ? h->grid_sort / share : 1;
    h->grid_bbox = (int)(av_grid(n, BB_BLOCK) < BB_MAXGRID ? av_grid(n, BB_BLOCK) : BB_MAXGRID);
    h->grid_pt = (int)av_grid(n, PT_BLOCK);
    if (av_proj_new(c, &h->pos, (size_t)DIM * h->nnodes) != AV_OK || av_proj_new(c, &h->mass, (size_t)h->nnodes) != AV_OK ||
        av_proj_new(c, &h->count, (size_t)h->nnodes) != AV_OK || av_proj_new(c, &h->start, (size_t)h->nnodes) != AV_OK ||
        av_proj_new(c, &h->child, (size_t)cells * nch<DIM>::v) != AV_OK || av_proj_new(c, &h->next, (size_t)n) != AV_OK ||
        av_proj_new(c, &h->sorted, (size_t)n) != AV_OK || av_proj_new(c, &h->U, (size_t)DIM * n) != AV_OK ||
        av_proj_new(c, &h->gains, (size_t)DIM * n) != AV_OK || av_proj_new(c, &h->attr, (size_t)DIM * n) != AV_OK ||
        av_proj_new(c, &h->rep, (size_t)DIM * n) != AV_OK || av_proj_new(c, &h->bbox, (size_t)BB_MAXGRID * 2 * DIM) != AV_OK ||
        av_proj_new(c, &h->st, 1) != AV_OK)
        return AV_ERR;
    cudaCheck(cudaMemsetAsync(h->U, 0, (size_t)DIM * n * sizeof(float), c->s));
    cudaCheck(cudaMemsetAsync(h->st, 0, sizeof(tsne_state), c->s));
    return AV_OK;
}

__global__ void fill_kernel(float *x, int64_t m, float v) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < m) x[i] = v;
}

int tsne_gpu_alloc(tsne_gpu *h) {
    int rc = h->dim == 2 ? alloc_dim<2>(h) : alloc_dim<3>(h);
    if (rc != AV_OK) return rc;
    fill_kernel<<<av_grid((int64_t)h->dim * h->n, 256), 256, 0, h->c->s>>>(h->gains, (int64_t)h->dim * h->n, 1.0f);
    launchCheck();
    return AV_OK;
}

template <int DIM> static int gradient_dim(tsne_gpu *h, double theta, float exag, int want_kl) {
    cudaStream_t s = h->c->s;
    tree_view t = view(h);
    cudaCheck(cudaMemsetAsync(h->sorted, 0, (size_t)h->n * sizeof(int), s));
    bbox_partial_kernel<DIM><<<h->grid_bbox, BB_BLOCK, 0, s>>>(t, h->bbox);
    bbox_final_kernel<DIM><<<1, 32, 0, s>>>(t, h->bbox, h->grid_bbox, (float)theta);
    build_kernel<DIM><<<h->grid_build, TREE_BLOCK, 0, s>>>(t);
    summarise_kernel<DIM><<<h->grid_sum, TREE_BLOCK, 0, s>>>(t);
    sort_kernel<DIM><<<h->grid_sort, TREE_BLOCK, 0, s>>>(t);
    repulsion_kernel<DIM><<<h->grid_rep, REP_BLOCK, 0, s>>>(t, h->rep);
    attract_kernel<DIM><<<h->grid_pt, PT_BLOCK, 0, s>>>(t, h->P, h->attr, want_kl);
    launchCheck();
    return AV_OK;
}

int tsne_gpu_gradient(tsne_gpu *h, double theta, float exag, int want_kl) {
    (void)exag; // applied in the update
    return h->dim == 2 ? gradient_dim<2>(h, theta, exag, want_kl) : gradient_dim<3>(h, theta, exag, want_kl);
}

template <int DIM> static int update_dim(tsne_gpu *h, float exag, float mom, float lr) {
    tree_view t = view(h);
    update_kernel<DIM><<<h->grid_pt, PT_BLOCK, 0, h->c->s>>>(t, h->attr, h->rep, h->U, h->gains, exag, mom, lr);
    recentre_kernel<DIM><<<h->grid_pt, PT_BLOCK, 0, h->c->s>>>(t);
    launchCheck();
    return AV_OK;
}

int tsne_gpu_update(tsne_gpu *h, float exag, float mom, float lr) {
    return h->dim == 2 ? update_dim<2>(h, exag, mom, lr) : update_dim<3>(h, exag, mom, lr);
}

int tsne_gpu_exact_Z(tsne_gpu *h) {
    tree_view t = view(h);
    cudaCheck(cudaMemsetAsync(&h->st->Z, 0, sizeof(double), h->c->s));
    if (h->dim == 2) exact_Z_kernel<2><<<h->grid_pt, PT_BLOCK, 0, h->c->s>>>(t);
    else exact_Z_kernel<3><<<h->grid_pt, PT_BLOCK, 0, h->c->s>>>(t);
    launchCheck();
    return AV_OK;
}
#endif

// tsne_internal.cuh - the pieces of GPU t-SNE shared by tsne_affinities.cu (P on the
// device), tsne_bh.cu (the Barnes-Hut iteration kernels) and tsne_run.cu (the API,
// initialisation and the iteration loop). Everything here lives on the device of one
// head's context (av_proj_ctx) and is freed with it.
#ifndef AV_KERNELS_CUDA_TSNE_INTERNAL_CUH
#define AV_KERNELS_CUDA_TSNE_INTERNAL_CUH
#include "kernels/backend/project_internal.cuh"

// Cells deeper than this are not split: points closer than a cell of side
// 2 R / 2^TSNE_MAXDEPTH (below float resolution for any embedding size) share a leaf as
// a chain (next[]), and every point of a chain is still summed with its own position.
#define TSNE_MAXDEPTH 24

// Symmetric P (CSR, int32 indices, sums to 1), as av_tsne_affinities computes it.
struct tsne_P_dev {
    int64_t n, nnz;
    int *rowptr;   // [n + 1]
    int *col;      // [nnz]
    float *val;    // [nnz]
};
int tsne_affinities_dev(av_proj_ctx *c, const float *hX, const float *dX, int64_t n, int d, double perplexity,
                        av_metric metric, av_knn_method method, tsne_P_dev *P);

// Bits of tsne_state::err. Both are sticky: they are cleared only when the state is made.
enum {
    TSNE_ERR_CELLS = 1,      // the tree ran out of cells: points were left out of an iteration
    TSNE_ERR_STALLED = 2,    // a wait in summarise or sort gave up (its grid was not all resident
                             // at once): every kernel of the head does nothing from then on
};
// How long a thread of summarise or sort waits for another before it gives up. A wait
// for a thread that runs lasts microseconds; a context switch away (another program on
// the GPU) a few milliseconds; one for a block that is not resident, forever.
#define TSNE_SPIN_LIMIT_NS 1000000000LL

// Device-wide scalars of one head, written and read only by kernels (no host round
// trip inside the loop).
struct tsne_state {
    int bottom;              // next free cell + 1 (cells are handed out downwards)
    int err;                 // TSNE_ERR_* bits
    float radius;            // root half width
    float center[3];
    float dq[TSNE_MAXDEPTH + 1];  // (cell side at depth)^2 / theta^2: far enough to summarise
    double Z;                // sum over i != j of q_ij (BH estimate)
    double mean[3];          // sum of the new positions, for re-centring
    double klp;              // sum P_ij log(P_ij / w_ij) when asked
};

// One head's Barnes-Hut embedding on the device: positions are structure-of-arrays
// pos[a * nnodes + i] whose first n entries are the points and the rest tree cells.
struct tsne_gpu {
    av_proj_ctx *c;
    int dim;
    int share;               // heads running side by side on the device (>= 1)
    int one_block;           // summarise and sort as one block each: they cannot stall (a
                             // rerun after TSNE_ERR_STALLED), at the cost of speed
    int64_t n, nnodes;       // nnodes = n + cells; the root is nnodes - 1
    tsne_P_dev P;
    float *pos, *mass;       // [dim * nnodes], [nnodes]
    int *count, *start, *child, *next, *sorted;  // child [(nnodes - n) * 2^dim]
    float *U, *gains, *attr, *rep;               // [dim * n]
    float *bbox;             // per-block partial min/max
    tsne_state *st;
    int grid_bbox, grid_build, grid_sum, grid_sort, grid_rep, grid_pt;
};
// Allocates the tree and optimiser buffers of h (P must be set); positions left to the caller.
int tsne_gpu_alloc(tsne_gpu *h);
// Enqueues one gradient evaluation (tree, repulsion, attraction: Z, rep, attr; klp when
// want_kl) at the current positions.
int tsne_gpu_gradient(tsne_gpu *h, double theta, float exag, int want_kl);
// Enqueues the update with gains and momentum, then the re-centring.
int tsne_gpu_update(tsne_gpu *h, float exag, float mom, float lr);
// Enqueues the exact Z (all pairs) into st->Z.
int tsne_gpu_exact_Z(tsne_gpu *h);
#endif

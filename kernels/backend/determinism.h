/* determinism.h - how the CPU kernels give the same bits whatever the thread count.
 *
 * A seed and the same inputs give bit-identical q/k, projections and statistics on 1, 2
 * or 64 threads (OMP_NUM_THREADS). Floating-point addition is not associative, so every
 * result must be summed in an order that does not depend on how the work was split:
 *   - work is cut into blocks of a fixed size (AV_DET_ROWS rows, or a kernel's own fixed
 *     block), never into one share per thread; a block is computed by one thread, start
 *     to end, and block results are combined in block order;
 *   - OpenBLAS computes on the calling thread only (av_blas_single_thread): its own
 *     threads split a GEMM where its thread count says, and the kernel each part meets
 *     (full tiles or edge tiles, a different summation) moves with the split, so the
 *     same sgemm gave other bits on 1 and on 2 threads. The parallelism is ours, over
 *     fixed blocks, one single-threaded BLAS call each. (Running two pools side by side
 *     also made them fight for the cores: bench/RESULTS-extract.md.)
 * Integer counts are summed as integers (exact in any order). Measured cost of all this:
 * bench/RESULTS-determinism.md. */
#ifndef AV_KERNELS_BACKEND_DETERMINISM_H
#define AV_KERNELS_BACKEND_DETERMINISM_H
#include <stdint.h>

/* Rows per block of a row-parallel reduction or GEMM: big enough that a block's
 * single-threaded sgemm runs at full speed, small enough for many blocks per thread. */
#define AV_DET_ROWS 128

/* Makes OpenBLAS compute on the calling thread (every kernel that calls BLAS or LAPACK
 * calls this first; it stays so for the rest of the process). */
void av_blas_single_thread(void);

/* sum of x[0..n) in blocks of AV_DET_ROWS added in block order, the blocks summed in
 * parallel: the same double whatever the thread count. */
double av_det_sum(const double *x, int64_t n);
#endif

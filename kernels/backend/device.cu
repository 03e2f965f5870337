// device.cu - probes for a usable CUDA device. Any error (no driver, driver too old,
// no device) means "no GPU here": the caller falls back to the CPU.
#include <cuda_runtime.h>
#include <stdio.h>

extern "C" int av_cuda_probe(char *why, size_t why_len, char *name, size_t name_len) {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        if (why) snprintf(why, why_len, "no usable CUDA device: %s", cudaGetErrorString(err));
        cudaGetLastError(); // clear the sticky error so later calls start clean
        return 0;
    }
    if (n <= 0) {
        if (why) snprintf(why, why_len, "no CUDA device found");
        return 0;
    }
    cudaDeviceProp prop;
    err = cudaGetDeviceProperties(&prop, 0);
    if (err != cudaSuccess) {
        if (why) snprintf(why, why_len, "cannot query CUDA device 0: %s", cudaGetErrorString(err));
        cudaGetLastError();
        return 0;
    }
    // The kernels are built for sm_80 and sm_90 (plus PTX that newer cards compile at load
    // time); an older card would fail at the first launch, so it counts as no GPU.
    if (prop.major < 8) {
        if (why) snprintf(why, why_len, "CUDA device 0 (%s) has compute capability %d.%d; attnviz's kernels need 8.0 or newer",
                          prop.name, prop.major, prop.minor);
        return 0;
    }
    if (name) snprintf(name, name_len, "%s", prop.name);
    return n;
}

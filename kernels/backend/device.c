/* device.c - see device.h. The CUDA side (kernels/backend/device.cu) defines
 * av_cuda_probe() only in CUDA builds. */
#include "kernels/backend/device.h"

#include <stdio.h>
#include <string.h>
#include "base/util.h"

#ifdef AV_HAVE_CUDA
int av_cuda_probe(char *why, size_t why_len, char *name, size_t name_len);
#endif

static char device_name[256];

int av_cuda_device_count(char *why, size_t why_len) {
#ifdef AV_HAVE_CUDA
    return av_cuda_probe(why, why_len, device_name, sizeof device_name);
#else
    if (why) snprintf(why, why_len, "this build has no CUDA backend (nvcc was not found)");
    return 0;
#endif
}

const char *av_cuda_device_name(void) { return device_name; }

/* The line that says which device runs, when the caller wants it. */
static void say_device(char *line, size_t line_len, const char *what, const char *why) {
    if (line) snprintf(line, line_len, "using %s (%s)", what, why);
}

int av_device_choose(const char *want, av_device *out, char *line, size_t line_len) {
    char why[256] = "";
    if (!want || !strcmp(want, "auto")) {
        int n = av_cuda_device_count(why, sizeof why);
        *out = n > 0 ? AV_DEVICE_CUDA : AV_DEVICE_CPU;
        if (n > 0) say_device(line, line_len, "CUDA device 0", device_name);
        else say_device(line, line_len, "the CPU", why);
        return AV_OK;
    }
    if (!strcmp(want, "cpu")) {
        *out = AV_DEVICE_CPU;
        say_device(line, line_len, "the CPU", "asked for");
        return AV_OK;
    }
    if (!strcmp(want, "cuda")) {
        if (av_cuda_device_count(why, sizeof why) <= 0) return av_fail("--device cuda: no CUDA device: %s", why);
        *out = AV_DEVICE_CUDA;
        say_device(line, line_len, "CUDA device 0", device_name);
        return AV_OK;
    }
    return av_fail("--device: unknown device '%s' (expected auto, cpu or cuda)", want);
}

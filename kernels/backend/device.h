/* device.h - run-time device choice. The same binary runs everywhere: a build with the
 * CUDA backend still runs on a machine with no GPU or no driver, using the CPU. */
#ifndef AV_KERNELS_BACKEND_DEVICE_H
#define AV_KERNELS_BACKEND_DEVICE_H
#include <stddef.h>

typedef enum { AV_DEVICE_CPU = 0, AV_DEVICE_CUDA = 1 } av_device;

/* Number of usable CUDA devices; 0 with a reason in why when none (no CUDA in this build,
 * no driver, no device). Any CUDA error counts as "no GPU here". */
int av_cuda_device_count(char *why, size_t why_len);
/* Name of device 0 ("NVIDIA H100 80GB HBM3"), or "" when none. */
const char *av_cuda_device_name(void);

/* Resolves --device auto|cpu|cuda (NULL = auto). line (may be NULL) receives the one
 * line that says which device is used and why, for the caller to show ("using the CPU
 * (asked for)"). Returns AV_ERR with a message when cuda is asked for and absent, or the
 * name is unknown. */
int av_device_choose(const char *want, av_device *out, char *line, size_t line_len);
#endif

// emu_main.cpp - the CPU emulation's program: runs the case groups of the op folders
// (kernels/<op>/<op>_emu.cpp: each op's CUDA kernels, their own source compiled as C++
// under emu.h, checked against references), every one or those named.
//   emu [GROUP...]        (built and run by kernels/emu/run.sh)
// Exit 0 when every check passes, 1 when one fails, 2 for an unknown group.
#include <cstdio>
#include <cstring>
#include "kernels/emu/emu_check.h"

static const struct {
    const char *name;
    void (*run)();
} groups[] = {
    {"attention", emu_attention}, {"pack", emu_pack},     {"layernorm", emu_layernorm}, {"rmsnorm", emu_rmsnorm},
    {"rope", emu_rope},           {"swiglu", emu_swiglu}, {"half", emu_half},           {"embed", emu_embed},
    {"gelu", emu_gelu},           {"knn", emu_knn},       {"tree", emu_tsne_tree},      {"overflow", emu_tsne_overflow},
    {"stall", emu_tsne_stall},    {"step", emu_tsne_step}, {"affinities", emu_tsne_affinities}, {"umap", emu_umap},
    {"pca", emu_pca},             {"live", emu_live},
};

int main(int argc, char **argv) {
    for (int a = 1; a < argc; a++) {
        bool known = false;
        for (const auto &g : groups) known |= !strcmp(argv[a], g.name);
        if (!known) {
            fprintf(stderr, "emu: no group '%s'; the groups:", argv[a]);
            for (const auto &g : groups) fprintf(stderr, " %s", g.name);
            fprintf(stderr, "\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);   // each line as it is decided, also into a log
    printf("kernels/<op>/*.cu under CPU emulation (no GPU involved)\n");
    for (const auto &g : groups) {
        bool want = argc == 1;
        for (int a = 1; a < argc; a++) want |= !strcmp(argv[a], g.name);
        if (!want) continue;
        printf("%s\n", g.name);
        g.run();
    }
    printf("%s\n", emu_failures ? "FAILED" : "all kernels agree with their references");
    return emu_failures ? 1 : 0;
}

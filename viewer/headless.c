/* headless.c - EGL surfaceless context + FBO (see headless.h). */
#include "viewer/headless.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"

/* Keeps the GL driver (Mesa's DRI megadriver, loaded by EGL) mapped until exit. Without
 * this, eglTerminate unloads it, and the few blocks the driver keeps in its globals for
 * the life of the process turn into "leaks" of an unknown module under LeakSanitizer. */
static int pin_driver(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (info->dlpi_name && (strstr(info->dlpi_name, "/dri/") || strstr(info->dlpi_name, "libgallium")))
        dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    return 0;
}

void av_gl_pin_driver(void) { dl_iterate_phdr(pin_driver, NULL); }

/* A GPU's display where EGL lists one (EGL_EXT_platform_device: NVIDIA's driver makes
 * headless contexts there), skipping Mesa's software device, which the surfaceless
 * platform below reaches anyway. */
static EGLDisplay gpu_display(PFNEGLGETPLATFORMDISPLAYEXTPROC get_display) {
    PFNEGLQUERYDEVICESEXTPROC query = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
    PFNEGLQUERYDEVICESTRINGEXTPROC str = (PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
    EGLDeviceEXT devs[16];
    EGLint n = 0;
    if (!query || !str || !query(16, devs, &n)) return EGL_NO_DISPLAY;
    for (EGLint i = 0; i < n; i++) {
        const char *ext = str(devs[i], EGL_EXTENSIONS);
        if (ext && strstr(ext, "EGL_MESA_device_software")) continue;
        EGLDisplay dpy = get_display(EGL_PLATFORM_DEVICE_EXT, devs[i], NULL);
        EGLint major, minor;
        if (dpy != EGL_NO_DISPLAY && eglInitialize(dpy, &major, &minor)) return dpy;
    }
    return EGL_NO_DISPLAY;
}

int av_headless_open(av_headless *h, int width, int height) {
    memset(h, 0, sizeof *h);
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    if (!get_display) return av_fail("EGL: eglGetPlatformDisplayEXT is missing (no Mesa EGL?)");
    EGLDisplay dpy = gpu_display(get_display);
    EGLint major, minor;
    if (dpy == EGL_NO_DISPLAY) {
        dpy = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
        if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, &major, &minor))
            return av_fail("EGL: no surfaceless display (error 0x%x); is libegl-mesa0 installed?", eglGetError());
    }
    h->display = dpy;
    av_gl_pin_driver();
    const EGLint cfg_attr[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};
    EGLConfig cfg = NULL;
    EGLint ncfg = 0;
    eglChooseConfig(dpy, cfg_attr, &cfg, 1, &ncfg);
    if (!eglBindAPI(EGL_OPENGL_API)) { av_headless_close(h); return av_fail("EGL: OpenGL API not available"); }
    const EGLint ctx_attr[] = {EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 3,
                               EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
    EGLContext ctx = eglCreateContext(dpy, ncfg ? cfg : (EGLConfig)0, EGL_NO_CONTEXT, ctx_attr);
    if (ctx == EGL_NO_CONTEXT) {
        EGLint err = eglGetError();
        av_headless_close(h);
        return av_fail("EGL: cannot create an OpenGL 3.3 core context (error 0x%x)", err);
    }
    h->context = ctx;
    if (!eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
        av_headless_close(h);
        return av_fail("EGL: cannot make the context current (surfaceless contexts unsupported?)");
    }
    h->width = width;
    h->height = height;
    glGenFramebuffers(1, &h->fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, h->fbo);
    glGenRenderbuffers(1, &h->color_rb);
    glBindRenderbuffer(GL_RENDERBUFFER, h->color_rb);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, width, height);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, h->color_rb);
    glGenRenderbuffers(1, &h->depth_rb);
    glBindRenderbuffer(GL_RENDERBUFFER, h->depth_rb);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_DEPTH_COMPONENT24, width, height);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, h->depth_rb);
    if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
        av_headless_close(h);
        return av_fail("OpenGL: offscreen framebuffer %dx%d incomplete (too large?)", width, height);
    }
    glViewport(0, 0, width, height);
    return AV_OK;
}

void av_headless_read(const av_headless *h, uint8_t *out) {
    glBindFramebuffer(GL_READ_FRAMEBUFFER, h->fbo);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, 0, h->width, h->height, GL_RGBA, GL_UNSIGNED_BYTE, out);
    /* GL rows run bottom to top; PNG rows top to bottom */
    size_t row = (size_t)h->width * 4;
    uint8_t tmp[4 * 4096];
    for (int y = 0; y < h->height / 2; y++) {
        uint8_t *a = out + (size_t)y * row, *b = out + (size_t)(h->height - 1 - y) * row;
        for (size_t off = 0; off < row; off += sizeof tmp) {
            size_t n = row - off < sizeof tmp ? row - off : sizeof tmp;
            memcpy(tmp, a + off, n);
            memcpy(a + off, b + off, n);
            memcpy(b + off, tmp, n);
        }
    }
}

void av_headless_close(av_headless *h) {
    if (h->context) {
        if (h->fbo) glDeleteFramebuffers(1, &h->fbo);
        if (h->color_rb) glDeleteRenderbuffers(1, &h->color_rb);
        if (h->depth_rb) glDeleteRenderbuffers(1, &h->depth_rb);
        eglMakeCurrent(h->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
        eglDestroyContext(h->display, h->context);
    }
    if (h->display) eglTerminate(h->display);
    memset(h, 0, sizeof *h);
}

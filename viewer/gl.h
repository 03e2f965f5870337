/* gl.h - the one place the viewer includes OpenGL. Core-profile entry points are
 * declared by glext.h and resolved by libGL (glvnd exports every GL function and
 * dispatches to whichever context is current, GLX from GLFW or EGL when headless),
 * so no loader library is needed. */
#ifndef AV_VIEWER_GL_H
#define AV_VIEWER_GL_H
#define GL_GLEXT_PROTOTYPES 1
#include <GL/gl.h>
#include <GL/glext.h>
#endif

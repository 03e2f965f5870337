/* shader.h - compiling and linking GL programs from C strings. The caller owns the
 * returned program (glDeleteProgram); the shaders are deleted once linked. */
#ifndef AV_VIEWER_SHADER_H
#define AV_VIEWER_SHADER_H
/* Returns the program, or 0 with av_last_error() naming `what` and the GL log. */
unsigned av_gl_program(const char *vs, const char *fs, const char *what);
#endif

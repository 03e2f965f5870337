/* shader.c - GL program building (see shader.h). */
#include "viewer/shader.h"

#include "base/util.h"
#include "viewer/gl.h"

static GLuint compile(GLenum type, const char *src, const char *what) {
    GLuint s = glCreateShader(type);
    glShaderSource(s, 1, &src, NULL);
    glCompileShader(s);
    GLint ok = 0;
    glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[1024] = "";
        glGetShaderInfoLog(s, sizeof log, NULL, log);
        for (char *p = log; *p; p++) if (*p == '\n') *p = ' ';
        av_fail("%s %s shader: %s", what, type == GL_VERTEX_SHADER ? "vertex" : "fragment", log);
        glDeleteShader(s);
        return 0;
    }
    return s;
}

unsigned av_gl_program(const char *vs, const char *fs, const char *what) {
    GLuint v = compile(GL_VERTEX_SHADER, vs, what);
    if (!v) return 0;
    GLuint f = compile(GL_FRAGMENT_SHADER, fs, what);
    if (!f) { glDeleteShader(v); return 0; }
    GLuint p = glCreateProgram();
    glAttachShader(p, v);
    glAttachShader(p, f);
    glLinkProgram(p);
    glDeleteShader(v);
    glDeleteShader(f);
    GLint ok = 0;
    glGetProgramiv(p, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[1024] = "";
        glGetProgramInfoLog(p, sizeof log, NULL, log);
        for (char *q = log; *q; q++) if (*q == '\n') *q = ' ';
        av_fail("%s program: %s", what, log);
        glDeleteProgram(p);
        return 0;
    }
    return p;
}

// glibc's allocator controls (mallopt, mallinfo2); part of libc, nothing to link.
#include <malloc.h>

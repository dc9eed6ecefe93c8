// libdeflate (Debian: libdeflate-dev): whole-buffer gzip decompression straight into a caller's buffer.
#include <libdeflate.h>

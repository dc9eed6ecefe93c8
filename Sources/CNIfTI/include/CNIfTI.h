// libnifti2 (Debian: libnifti2-dev) reads and writes NIfTI-1 and NIfTI-2, plain or gzipped.
#include <nifti/nifti2_io.h>
// zlib (Debian: zlib1g-dev): used to peek at headers of plain or gzipped files before libnifti parses them.
#include <zlib.h>

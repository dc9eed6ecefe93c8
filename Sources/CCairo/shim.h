// cairo (Debian: libcairo2-dev): 2D drawing into PNG files, used for training's progress.png.
#include <cairo/cairo.h>

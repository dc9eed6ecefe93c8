// The CNIfTI target only carries headers (see include/); SwiftPM needs one source file to build a C target.
#include "CNIfTI.h"

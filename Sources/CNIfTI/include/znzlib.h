// Debian installs libnifti's headers in /usr/include/nifti, and nifti2_io.h includes <znzlib.h> by that bare
// name. A C target's public include folder reaches every target that depends on it, so this forwarding header
// resolves the include for the whole package and its clients without any unsafe build flag.
#include <nifti/znzlib.h>

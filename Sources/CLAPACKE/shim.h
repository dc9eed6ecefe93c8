// LAPACKE (Debian: liblapacke-dev): dense linear algebra (solves, decompositions).
#include <lapacke.h>

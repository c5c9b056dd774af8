/* funcsym.c - `jobhost_plugin` is a function, not a descriptor. */
#include <jobhost.h>

JH_EXPORT int jobhost_plugin(void);
JH_EXPORT int jobhost_plugin(void) { return 0; }

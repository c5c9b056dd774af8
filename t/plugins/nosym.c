/* nosym.c - a valid shared object without the `jobhost_plugin` symbol. */
#include <jobhost.h>

JH_EXPORT int nosym_answer(void);
JH_EXPORT int nosym_answer(void) { return 42; }

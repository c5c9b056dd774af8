/* bss.c - `jobhost_plugin` is a zero-filled (.bss) object: no bytes in the file. */
#include <jobhost.h>

JH_EXPORT jh_plugin_desc jobhost_plugin;

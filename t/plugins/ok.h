/*
 * ok.h - the state of the `ok` test plugin, shared with t/plugin/plugin.c so the
 * test can see what the plugin's code did.
 */
#ifndef JH_T_OK_H
#define JH_T_OK_H

typedef struct ok_state {
    int init_version;   /* VERSION of the build whose init ran */
    int last_version;   /* VERSION of the build whose `version` handler ran last */
    int calls;          /* handler calls */
    char greeting[64];  /* config `greeting` as init saw it */
    char marker[512];   /* config `marker`: fini writes here */
} ok_state;

#endif

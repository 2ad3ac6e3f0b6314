/* Starts and stops a gauth-emulator of one's own (not the shared CTest
 * fixture): for plain test programs (no Criterion) such as emu_load and the
 * concurrency programs, which run under ASan, valgrind and TSan. */
#ifndef GAUTH_EMU_SPAWN_H
#define GAUTH_EMU_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

typedef struct emu_proc {
  pid_t pid;
  int out_fd;    /* its stdout */
  char dir[512]; /* a new temporary directory: key file, stderr */
  char stderr_path[600];
  char key_file[600];    /* the invoker's key (--key-file) */
  char config_file[600]; /* --config, when one was given ("" otherwise) */
  char base[256];        /* "http://127.0.0.1:PORT" */
  char run_base[256]; /* its Cloud Run services' "http://127.0.0.1:RUNPORT" */
  int exit_status;    /* when it exited before its first lines: its status
                         (128 + N when killed by signal N); -1 otherwise */
} emu_proc;

/* Starts bin (prefixed by the words of $GAUTH_EMULATOR_WRAPPER, e.g.
 * valgrind) on 127.0.0.1:0 with --key-file, in a new directory named after
 * `tag` under $TMPDIR, and waits (up to 180 s) for its first lines (base
 * and run_base). Returns 0, or -1 with a message in msg (the child is
 * killed; exit_status says how it ended when it exited by itself, as it
 * does on a config it refuses). Either way emu_spawn_cleanup removes the
 * directory. */
int emu_spawn(emu_proc *em, const char *bin, const char *tag, char *msg,
              size_t msglen);

/* The same with a world of its own: config (a JSON object, see
 * docs/emulator.md "The config file") is written to config.json in the
 * directory and passed as --config. NULL: the default world. */
int emu_spawn_config(emu_proc *em, const char *bin, const char *tag,
                     const char *config, char *msg, size_t msglen);

/* SIGTERM, then its exit status (-1: it did not exit within 300 s and was
 * killed); `how` says how it ended. */
int emu_spawn_stop(emu_proc *em, char *how, size_t howlen);

/* Removes the directory and its files. */
void emu_spawn_cleanup(const emu_proc *em);

/* The last 20 lines of the emulator's stderr, on stderr. */
void emu_spawn_print_stderr_tail(const emu_proc *em);

#endif /* GAUTH_EMU_SPAWN_H */

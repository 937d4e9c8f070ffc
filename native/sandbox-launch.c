/*
 * sandbox-launch: the one small process June starts for a sandboxed command, in place of the chain
 * `sh -c 'echo $$ > cgroup.procs; exec …'` → `setpriv --pdeathsig KILL [--reuid …]` → GNU `time` that
 * each cost an exec (a few ms each on a loaded 2-core machine). It does the same things in order:
 *
 *   sandbox-launch [--cgroup DIR]… [--uid U --gid G] [--stats-fd N] -- PROGRAM ARGS…
 *
 *  1. enters each control group DIR (writes its pid to DIR/cgroup.procs; exit 125 when it cannot);
 *  2. asks for SIGKILL when its parent (June) dies (PR_SET_PDEATHSIG);
 *  3. drops to U/G with no supplementary groups when asked (after the cgroup, which needs root);
 *  4. with --stats-fd: forks, runs PROGRAM, waits for it and writes "USER SYS MAXRSS" (seconds, seconds,
 *     KB of the largest resident set of the tree: wait4's rusage) to fd N, the line GNU time -f '%U %S %M'
 *     wrote; exits with PROGRAM's code, or 128+signal. Without it, it execs PROGRAM in place.
 *
 * It has no privilege of its own and never runs inside the sandbox. Built by native/build-launch.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(int code, const char *what) {
  fprintf(stderr, "sandbox-launch: %s: %s\n", what, strerror(errno));
  _exit(code);
}

int main(int argc, char **argv) {
  long uid = -1, gid = -1;
  int stats_fd = -1;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (i + 1 >= argc) { fprintf(stderr, "sandbox-launch: %s needs a value\n", argv[i]); return 125; }
    if (strcmp(argv[i], "--cgroup") == 0) {
      char path[4096], pid[32];
      snprintf(path, sizeof path, "%s/cgroup.procs", argv[++i]);
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0) die(125, path);
      int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
      if (write(fd, pid, (size_t)n) != n) die(125, path);
      close(fd);
    } else if (strcmp(argv[i], "--uid") == 0) uid = atol(argv[++i]);
    else if (strcmp(argv[i], "--gid") == 0) gid = atol(argv[++i]);
    else if (strcmp(argv[i], "--stats-fd") == 0) stats_fd = atoi(argv[++i]);
    else { fprintf(stderr, "sandbox-launch: unknown option %s\n", argv[i]); return 125; }
  }
  if (i >= argc) { fprintf(stderr, "sandbox-launch: no program\n"); return 125; }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die(125, "prctl");
  if (getppid() == 1) _exit(137); /* June died before the death signal was armed */
  if (uid >= 0) {
    if (gid < 0) gid = uid;
    if (setgroups(0, NULL) != 0) die(125, "setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) die(125, "setresgid");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die(125, "setresuid");
  }
  if (stats_fd < 0) {
    execvp(argv[i], &argv[i]);
    die(127, argv[i]);
  }
  fcntl(stats_fd, F_SETFD, FD_CLOEXEC); /* the report stays out of the sandbox */
  pid_t child = fork();
  if (child < 0) die(125, "fork");
  if (child == 0) {
    execvp(argv[i], &argv[i]);
    die(127, argv[i]);
  }
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int status = 0;
  struct rusage ru;
  while (wait4(child, &status, 0, &ru) < 0) {
    if (errno != EINTR) die(125, "wait4");
  }
  dprintf(stats_fd, "%ld.%02ld %ld.%02ld %ld\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec / 10000,
          (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec / 10000, ru.ru_maxrss);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

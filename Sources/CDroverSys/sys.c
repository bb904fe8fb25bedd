#define _GNU_SOURCE
#include "CDroverSys.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int drover_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int drover_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}

void drover_eventfd_drain(int fd) {
    uint64_t value;
    while (read(fd, &value, sizeof value) == sizeof value) {
    }
}

int drover_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int drover_has_exited(pid_t pid) {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
        return errno == ECHILD ? 1 : 0;
    }
    return info.si_pid == pid ? 1 : 0;
}

// Everything below runs between fork and exec in a copy of a multi-threaded process: async-signal-safe calls only.

static void run_program(char *const argv[], char *const envp[], const char *cwd, int stdin_fd, int stdout_fd, int stderr_fd) {
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++) {
        signal(sig, SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &none, NULL);
    int input = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
    if (input < 0 || dup2(input, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) {
        _exit(126);
    }
    close_range(3, ~0U, 0);
    if (cwd != NULL && chdir(cwd) != 0) {
        _exit(126);
    }
    execve(argv[0], argv, envp);
    _exit(127);
}

static void guard(pid_t caller, char *const argv[], char *const envp[], const char *cwd, int stdin_fd, int stdout_fd, int stderr_fd) {
    // Every signal is blocked here (the caller blocked them around fork), so one sent to the caller's group in the
    // moment before this call stays pending instead of killing the guardian; see the forwarding below.
    setpgid(0, 0);
    sigset_t waited;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    sigaddset(&waited, SIGUSR2);
    sigaddset(&waited, SIGTERM);
    sigaddset(&waited, SIGINT);
    sigaddset(&waited, SIGHUP);
    sigprocmask(SIG_BLOCK, &waited, NULL);
    // SIGUSR2 means "reparented": the caller died, or only the thread that forked us ended (see the loop below);
    // checked once more after arming, in case the caller died before.
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
    if (getppid() != caller) {
        kill(0, SIGKILL);
    }
    pid_t program = fork();
    if (program < 0) {
        _exit(126);
    }
    if (program == 0) {
        run_program(argv, envp, cwd, stdin_fd, stdout_fd, stderr_fd);
    }
    // A stop request that arrived before the program existed is pending here, and pending signals are not
    // inherited across fork: pass it on, but only if our caller sent it (a terminate right after the start). A
    // signal meant for the caller's own group, caught here before setpgid, is not for the program.
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGHUP);
    struct timespec now = {0, 0};
    siginfo_t pending;
    int sig;
    while ((sig = sigtimedwait(&stops, &pending, &now)) > 0) {
        if (pending.si_pid == caller) {
            kill(program, sig);
        }
    }
    // The guardian keeps no copy of the output pipes, so readers see EOF when the program's side closes.
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
    }
    close_range(3, ~0U, 0);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&waited, &info);
        // The kernel sends it whenever the guardian is reparented: when the caller's thread that started it ends
        // (the guardian then belongs to another thread of the caller: nothing to do), and when the caller dies.
        if (sig == SIGUSR2 && getppid() != caller) {
            kill(0, SIGKILL);  // the whole group, the guardian included
        }
        if (sig == SIGCHLD) {
            int status = 0;
            pid_t done = waitpid(program, &status, WNOHANG);
            if (done == program) {
                if (WIFEXITED(status)) {
                    _exit(WEXITSTATUS(status));
                }
                _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
            }
        }
        // SIGTERM, SIGINT, SIGHUP were sent to the whole group: the program got them too; wait for it to end.
    }
}

pid_t drover_spawn_guarded(char *const argv[], char *const envp[], const char *cwd, int stdin_fd, int stdout_fd, int stderr_fd) {
    pid_t caller = getpid();
    // The child starts with every signal blocked: until it has its own group it shares ours, and a signal sent to
    // our group then (say the worker's SIGTERM) must not kill it.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        guard(caller, argv, envp, cwd, stdin_fd, stdout_fd, stderr_fd);
        _exit(126);
    }
    int error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        return -error;
    }
    // Also set the group from the parent side, so a signal sent to -pid right after we return cannot miss.
    setpgid(pid, pid);
    return pid;
}

int drover_terminal_size(int fd, int *columns, int *rows) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_col == 0) return -1;
    *columns = size.ws_col;
    *rows = size.ws_row;
    return 0;
}

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void drover_keep_freed_memory(int trim_threshold, int mmap_threshold, int top_pad) {
#if defined(__GLIBC__)
    mallopt(M_TRIM_THRESHOLD, trim_threshold);
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_TOP_PAD, top_pad);
#else
    (void)trim_threshold;
    (void)mmap_threshold;
    (void)top_pad;
#endif
}

int drover_is_connection_at(int fd, int port, const char *path) {
    struct sockaddr_storage local, peer;
    socklen_t local_size = sizeof local, peer_size = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_size) != 0) return 0;
    if (getsockname(fd, (struct sockaddr *)&local, &local_size) != 0) return 0;
    switch (local.ss_family) {
    case AF_INET:
        return port > 0 && ntohs(((struct sockaddr_in *)&local)->sin_port) == port;
    case AF_INET6:
        return port > 0 && ntohs(((struct sockaddr_in6 *)&local)->sin6_port) == port;
    case AF_UNIX: {
        const struct sockaddr_un *address = (const struct sockaddr_un *)&local;
        size_t room = local_size > offsetof(struct sockaddr_un, sun_path) ? local_size - offsetof(struct sockaddr_un, sun_path) : 0;
        return path != NULL && room > 0 && strncmp(address->sun_path, path, room) == 0 && strlen(path) < sizeof address->sun_path;
    }
    default:
        return 0;
    }
}

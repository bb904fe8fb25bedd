#ifndef CDROVERSYS_H
#define CDROVERSYS_H

#include <sys/types.h>

/// Creates a non-blocking, close-on-exec eventfd. Returns the fd or -1 (errno set).
int drover_eventfd(void);
/// Adds one to an eventfd's counter. Returns 0 or -1 (errno set).
int drover_eventfd_signal(int fd);
/// Resets an eventfd's counter to zero.
void drover_eventfd_drain(int fd);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends are not inherited by programs we start. Returns 0 or -1.
int drover_pipe_cloexec(int fds[2]);

/// Whether the child `pid` has exited, without reaping it (its pid, and so its process group id, stay reserved).
int drover_has_exited(pid_t pid);

/// Starts `argv` (argv[0] is the executable path) in a new process group led by a small guardian process.
///
/// The guardian is the group leader and the direct child of the caller. It runs the program as its own child, waits
/// for it, and exits with the program's status (128 + signal number when the program was killed by a signal). When
/// the caller dies, even by SIGKILL, the kernel tells the guardian (PR_SET_PDEATHSIG), and the guardian kills the whole
/// group, so no command outlives the worker that started it.
///
/// stdin comes from `stdin_fd`, or /dev/null when it is -1; stdout and stderr go to the given fds. Every other fd is
/// closed in the program. Returns the guardian's pid (which is also the process group id), or -errno.
pid_t drover_spawn_guarded(char *const argv[], char *const envp[], const char *cwd, int stdin_fd, int stdout_fd, int stderr_fd);

/// The size of the terminal on `fd`: 0 with `*columns` and `*rows` set, or -1 when `fd` is not a terminal.
int drover_terminal_size(int fd, int *columns, int *rows);

/// glibc's malloc: keep up to `trim_threshold` bytes free at the top of a heap instead of returning them to the kernel,
/// serve blocks up to `mmap_threshold` from the heaps, and grow them by `top_pad` at a time. Does nothing elsewhere.
void drover_keep_freed_memory(int trim_threshold, int mmap_threshold, int top_pad);

/// Whether `fd` is a connected socket (it has a peer) whose local end is tcp port `port` (when `port` > 0) or the
/// unix socket `path` (when `path` is not NULL): the check before shutting down a connection whose descriptor number
/// may since have been given to another file. Returns 1 or 0.
int drover_is_connection_at(int fd, int port, const char *path);

#endif

/* The simulated `qlik` as a compiled client of the fork server (forkserver.py): what forkclient.py
 * does, without an interpreter's start-up (about 1 ms instead of about 15 per call).
 *
 * `install_bin` copies it into DIR as `qlik`, beside `qlik-py` (the Python client, which also
 * starts the server and runs a call itself when no server answers) and `qlik-fork.addr` (the
 * server's abstract socket name). Anything unusual here (no address, no server, a closed stream,
 * QLIK_SIM_FORK=0) hands the call to `qlik-py` unchanged.
 *
 * Request: a 4-byte big-endian length, then NUL-terminated fields: the number of arguments, the
 * arguments, the number of environment entries, the entries, the working directory; the three
 * streams ride along as SCM_RIGHTS. Answer: the exit code, 4 bytes big-endian.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static char dir[PATH_MAX];

static void fallback(char **argv) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/qlik-py", dir);
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "simulator client: cannot run %s: %s\n", path, strerror(errno));
    _exit(70);
}

static int add(char **buf, size_t *len, size_t *cap, const char *text) {
    size_t n = strlen(text) + 1;
    if (*len + n > *cap) {
        size_t want = (*cap + n) * 2;
        char *grown = realloc(*buf, want);
        if (!grown) return -1;
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *len, text, n);
    *len += n;
    return 0;
}

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) return 70;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';

    const char *off = getenv("QLIK_SIM_FORK");
    if (off && strcmp(off, "0") == 0) fallback(argv);
    /* interpreter options a forked worker cannot take from its call (forkclient.py: INTERPRETER_ENV) */
    static const char *const interpreter_env[] = {
        "PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONWARNINGS",
        "PYTHONFAULTHANDLER", "PYTHONMALLOC", "PYTHONVERBOSE", "PYTHONDEBUG", "PYTHONINSPECT", NULL};
    for (const char *const *key = interpreter_env; *key; key++)
        if (getenv(*key)) fallback(argv);

    char addr_path[PATH_MAX], name[108];
    snprintf(addr_path, sizeof addr_path, "%s/qlik-fork.addr", dir);
    FILE *f = fopen(addr_path, "r");
    if (!f) fallback(argv);
    size_t name_len = fread(name, 1, sizeof name - 1, f);
    fclose(f);
    while (name_len && (name[name_len - 1] == '\n')) name_len--;
    if (name_len == 0) fallback(argv);

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    sa.sun_path[0] = '\0';  /* abstract namespace: the file holds the name without its NUL */
    if (name_len > sizeof sa.sun_path - 1) fallback(argv);
    memcpy(sa.sun_path + 1, name, name_len);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fallback(argv);
    if (connect(sock, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + name_len) < 0) {
        close(sock);
        fallback(argv);
    }

    size_t len = 4, cap = 4096;
    char *buf = malloc(cap), number[32], cwd[PATH_MAX];
    if (!buf || !getcwd(cwd, sizeof cwd)) fallback(argv);
    int envc = 0;
    for (char **e = environ; *e; e++) envc++;
    snprintf(number, sizeof number, "%d", argc - 1);
    int bad = add(&buf, &len, &cap, number);
    for (int i = 1; i < argc; i++) bad |= add(&buf, &len, &cap, argv[i]);
    snprintf(number, sizeof number, "%d", envc);
    bad |= add(&buf, &len, &cap, number);
    for (char **e = environ; *e; e++) bad |= add(&buf, &len, &cap, *e);
    bad |= add(&buf, &len, &cap, cwd);
    if (bad) fallback(argv);
    uint32_t size = htonl((uint32_t)(len - 4));
    memcpy(buf, &size, 4);

    int fds[3] = {0, 1, 2};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    struct iovec iov = {buf, len};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (sent < 0) {  /* a closed stream, say: nothing has run yet */
        close(sock);
        fallback(argv);
    }
    size_t done = (size_t)sent;
    while (done < len) {  /* the rest of a long request (the descriptors went with the first part) */
        ssize_t more = send(sock, buf + done, len - done, MSG_NOSIGNAL);
        if (more <= 0) {
            fprintf(stderr, "simulator fork server went away during the call\n");
            return 70;
        }
        done += (size_t)more;
    }

    unsigned char answer[4];
    size_t got = 0;
    while (got < sizeof answer) {
        ssize_t r = recv(sock, answer + got, sizeof answer - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            fprintf(stderr, "simulator fork server went away during the call\n");
            return 70;
        }
        got += (size_t)r;
    }
    uint32_t code;
    memcpy(&code, answer, 4);
    return (int)(int32_t)ntohl(code);
}

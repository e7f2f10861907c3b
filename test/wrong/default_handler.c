/*
 * default_handler.c -- misuse test of the default error handler (API.md,
 * "Errors": print "gcheap: <message>" on stderr and abort()).  Each misuse
 * runs in a forked child with no handler installed and its stderr on a
 * pipe: the child must die of SIGABRT (not return from the call, not
 * crash otherwise) after writing a line that starts with "gcheap: ".
 */
#include "../check.h"
#include "../../gcheap.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int stack_free(void)
{
    int local = 0;
    gc_free(&local);
    return local;
}

static int misuse(int which)
{
    char *p;
    switch (which) {
    case 0: /* double free, small */
        p = gc_alloc(32);
        gc_free(p);
        gc_free(p);
        break;
    case 1: /* double free, large */
        p = gc_alloc(1 << 20);
        gc_free(p);
        gc_free(p);
        break;
    case 2:
        return stack_free();
    case 3: /* interior pointer */
        p = gc_alloc(100);
        gc_free(p + 10);
        break;
    case 4: { /* malloc memory */
        void *m = malloc(64);
        gc_free(m);
        free(m);
        break;
    }
    default: /* gc_realloc of a freed object */
        p = gc_alloc(50);
        gc_free(p);
        if (gc_realloc(p, 100) == NULL)
            return 3;
        break;
    }
    return 2; /* the call returned: wrong */
}

static const char *const names[] = {
    "double free (small)", "double free (large)", "gc_free(stack)",
    "gc_free(interior)",   "gc_free(malloc)",     "gc_realloc(freed)"};

static void run(int which)
{
    int fds[2];
    int rc = pipe(fds);
    REQUIRE(rc == 0); /* REQUIRE evaluates its argument twice */
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        alarm(30);
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        _exit(misuse(which));
    }
    close(fds[1]);
    static char out[8192];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof out - 1) {
        got = read(fds[0], out + len, sizeof out - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    out[len] = 0;
    close(fds[0]);
    int status;
    pid_t waited;
    while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    REQUIRE(waited == pid);

    CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
           "%s: child %s %d, want SIGABRT", names[which],
           WIFSIGNALED(status) ? "killed by signal" : "exited with",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    int found = strncmp(out, "gcheap: ", 8) == 0 && out[8] && out[8] != '\n';
    for (const char *l = strchr(out, '\n'); !found && l; l = strchr(l, '\n')) {
        l++;
        found = strncmp(l, "gcheap: ", 8) == 0 && l[8] && l[8] != '\n';
    }
    CHECKF(found, "%s: no \"gcheap: <message>\" line on stderr; got \"%s\"",
           names[which], out);
    printf("%s: %s", names[which], len ? out : "(nothing)\n");
}

int main(void)
{
    gc_init(); /* forked children inherit an initialised library */
    for (int which = 0; which < (int)(sizeof names / sizeof names[0]); which++)
        run(which);
    return check_done();
}

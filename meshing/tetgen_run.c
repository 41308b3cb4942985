/* tetgen_run.c: ctw_tetgen_mesh, TetGen in a forked child. Debian's libtet keeps its assertions
 * and segfaults on some bad surfaces (build-notes gotcha 10), which would take the whole program
 * down; in a child they become a CTW_ERR_EXTERNAL message. The child streams the mesh back
 * through a pipe: a header with the counts (or an error message), then xyz, tets, tris and
 * tri_marker as raw native arrays. The child's stdout and stderr go to a second pipe, whose last
 * line (e.g. the failed assertion) is quoted when the child crashes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mesh.h"
#include "mesh_tetgen.h"

#define WIRE_MAGIC 0x43545447u /* "CTTG" */
#define WIRE_MAX_MSG 4096
#define TAIL_SIZE 2048

typedef struct wire_header {
	uint32_t magic;
	int32_t status; /* CTW_OK, or a ctw_status followed by msg_len bytes of message */
	int64_t n_points, n_tets, n_tris, msg_len;
} wire_header;

/* ---- child ------------------------------------------------------------------------------------ */

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void reset_signals(void)
{
	static const int sigs[] = { SIGABRT, SIGALRM, SIGBUS,  SIGCHLD, SIGFPE,  SIGHUP,
				    SIGILL,  SIGINT,  SIGPIPE, SIGQUIT, SIGSEGV, SIGTERM,
				    SIGTRAP, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGSYS };
	struct sigaction sa;
	sigset_t none;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Never returns: _exit(0) after sending a mesh, 1 after sending an error, 2 when the pipe broke.
 * _exit, not exit: no atexit handlers and no flushing of stdio buffers copied from the parent. */
static void child_main(ctw_ctx *ctx, const ctw_surface *s, const char *switches, int data_fd, int text_fd)
{
	wire_header h;
	ctw_tetmesh *m = NULL;
	const char *msg;

	reset_signals();
	if (text_fd != STDOUT_FILENO)
		dup2(text_fd, STDOUT_FILENO);
	if (text_fd != STDERR_FILENO)
		dup2(text_fd, STDERR_FILENO);
	if (text_fd != STDOUT_FILENO && text_fd != STDERR_FILENO)
		close(text_fd);

	memset(&h, 0, sizeof(h));
	h.magic = WIRE_MAGIC;
	h.status = ctw_tetgen_run(ctx, s, switches, &m);
	if (h.status != CTW_OK) {
		msg = ctw_errmsg(ctx);
		h.msg_len = (int64_t)strlen(msg);
		if (h.msg_len > WIRE_MAX_MSG)
			h.msg_len = WIRE_MAX_MSG;
		if (write_all(data_fd, &h, sizeof(h)) || write_all(data_fd, msg, (size_t)h.msg_len))
			_exit(2);
		_exit(1);
	}
	h.n_points = m->n_points;
	h.n_tets = m->n_tets;
	h.n_tris = m->n_tris;
	if (write_all(data_fd, &h, sizeof(h)) ||
	    write_all(data_fd, m->xyz, sizeof(double) * 3 * (size_t)m->n_points) ||
	    write_all(data_fd, m->tets, sizeof(int32_t) * 4 * (size_t)m->n_tets) ||
	    write_all(data_fd, m->tris, sizeof(int32_t) * 3 * (size_t)m->n_tris) ||
	    write_all(data_fd, m->tri_marker, sizeof(int32_t) * (size_t)m->n_tris))
		_exit(2);
	_exit(0);
}

/* ---- parent ----------------------------------------------------------------------------------- */

typedef struct reader {
	int data_fd, text_fd;       /* text_fd -1 once at EOF                       */
	int data_eof, timed_out, failed_errno;
	double deadline;            /* CLOCK_MONOTONIC seconds, 0: none             */
	char tail[TAIL_SIZE];       /* last bytes of the child's stdout and stderr  */
	size_t tail_len;
} reader;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void read_text(reader *r)
{
	char buf[TAIL_SIZE / 2];
	ssize_t k = read(r->text_fd, buf, sizeof(buf));

	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (k <= 0) {
		close(r->text_fd);
		r->text_fd = -1;
		return;
	}
	if (r->tail_len + (size_t)k > TAIL_SIZE) { /* k <= sizeof(buf) < TAIL_SIZE */
		size_t drop = r->tail_len + (size_t)k - TAIL_SIZE;
		memmove(r->tail, r->tail + drop, r->tail_len - drop);
		r->tail_len -= drop;
	}
	memcpy(r->tail + r->tail_len, buf, (size_t)k);
	r->tail_len += (size_t)k;
}

/* Reads n bytes of data into buf (NULL: wait for the data pipe's EOF, discarding), meanwhile
 * collecting the child's text. Returns the bytes read: n on success, fewer on EOF, timeout
 * (r->timed_out) or error (r->failed_errno). */
static size_t read_data(reader *r, void *buf, size_t n)
{
	char scratch[4096];
	size_t got = 0;

	while ((buf ? got < n : !r->data_eof) || (!buf && r->text_fd >= 0)) {
		struct pollfd p[2];
		int timeout_ms = -1, rc;

		if (buf && r->data_eof)
			return got;

		if (r->deadline > 0) {
			double left = r->deadline - now_s();
			if (left <= 0) {
				r->timed_out = 1;
				return got;
			}
			timeout_ms = left > 1e6 ? 1000000000 : (int)ceil(left * 1000.0);
		}
		p[0].fd = r->data_eof ? -1 : r->data_fd;
		p[0].events = POLLIN;
		p[0].revents = 0;
		p[1].fd = r->text_fd;
		p[1].events = POLLIN;
		p[1].revents = 0;
		rc = poll(p, 2, timeout_ms);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			r->failed_errno = errno;
			return got;
		}
		if (p[1].revents)
			read_text(r);
		if (p[0].revents) {
			char *dst = buf ? (char *)buf + got : scratch;
			size_t want = buf ? n - got : sizeof(scratch);
			ssize_t k = read(r->data_fd, dst, want > (1u << 30) ? (1u << 30) : want);
			if (k < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				r->failed_errno = errno;
				return got;
			}
			if (k == 0) {
				r->data_eof = 1;
				if (buf)
					return got;
				continue;
			}
			if (buf)
				got += (size_t)k;
		}
	}
	return got;
}

/* The last non-empty line of the child's output, without a trailing period, or "". */
static void last_line(const reader *r, char *out, size_t size)
{
	size_t end = r->tail_len, start;

	while (end > 0 && (r->tail[end - 1] == '\n' || r->tail[end - 1] == '\r' ||
			   r->tail[end - 1] == ' ' || r->tail[end - 1] == '.'))
		end--;
	start = end;
	while (start > 0 && r->tail[start - 1] != '\n')
		start--;
	if (end - start >= size)
		start = end - (size - 1);
	memcpy(out, r->tail + start, end - start);
	out[end - start] = '\0';
	/* "prog: /build/x/predicates.cxx:634: ...: Assertion ..." -> "predicates.cxx:634: ..." */
	if (strstr(out, "Assertion")) {
		char *path = strstr(out, ": /"), *colon, *slash;
		if (path && (colon = strchr(path + 2, ':'))) {
			*colon = '\0';
			slash = strrchr(path + 2, '/');
			*colon = ':';
			memmove(out, slash + 1, strlen(slash + 1) + 1);
		}
	}
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	case SIGPIPE: return "SIGPIPE";
	case SIGTRAP: return "SIGTRAP";
	default: return "signal";
	}
}

static pid_t wait_child(pid_t pid, int *status)
{
	pid_t w;

	do
		w = waitpid(pid, status, 0);
	while (w < 0 && errno == EINTR);
	return w;
}

/* Kills and reaps the child after the parent gave up on it. */
static void stop_child(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	wait_child(pid, &status);
}

static int check_input(ctw_ctx *ctx, const ctw_surface *s, const ctw_tetgen_opts *o)
{
	int64_t i;

	if (!(isfinite(o->max_radius_edge) && o->max_radius_edge >= 1.0) ||
	    !(isfinite(o->min_dihedral_deg) && o->min_dihedral_deg >= 0 && o->min_dihedral_deg < 70) ||
	    !(isfinite(o->max_volume_mm3) && o->max_volume_mm3 >= 0) ||
	    !(isfinite(o->timeout_s) && o->timeout_s >= 0))
		return ctw_error(ctx, CTW_ERR_INVALID, "tetgen",
				 "bad options: radius-edge %g (>= 1), min dihedral %g deg (0..70), "
				 "max volume %g mm^3 (>= 0), timeout %g s (>= 0)",
				 o->max_radius_edge, o->min_dihedral_deg, o->max_volume_mm3, o->timeout_s);
	if (s->n_points < 4 || s->n_tris < 4 || !s->xyz || !s->tris)
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
				 "surface too small to enclose a volume (%lld points, %lld triangles)",
				 (long long)s->n_points, (long long)s->n_tris);
	if (s->n_points > INT32_MAX / 3 || s->n_tris > INT32_MAX / 3)
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
				 "surface too large for TetGen (%lld points, %lld triangles)",
				 (long long)s->n_points, (long long)s->n_tris);
	for (i = 0; i < 3 * s->n_points; i++)
		if (!isfinite(s->xyz[i]))
			return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
					 "surface point %lld has a non-finite coordinate", (long long)(i / 3));
	for (i = 0; i < s->n_tris; i++) {
		const int32_t *t = s->tris + 3 * i;
		int k;
		for (k = 0; k < 3; k++)
			if (t[k] < 0 || t[k] >= s->n_points)
				return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
						 "surface triangle %lld refers to point %d of %lld",
						 (long long)i, (int)t[k], (long long)s->n_points);
		if (t[0] == t[1] || t[1] == t[2] || t[0] == t[2])
			return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
					 "surface triangle %lld repeats point %d; hint: repair the surface",
					 (long long)i, (int)(t[0] == t[1] || t[0] == t[2] ? t[0] : t[1]));
	}
	return CTW_OK;
}

/* What the finished child left: a status and a message on ctx. */
static int child_outcome(ctw_ctx *ctx, const reader *r, int wstatus, const ctw_tetgen_opts *o)
{
	char line[256];
	const char *sep;

	last_line(r, line, sizeof(line));
	sep = line[0] ? ": " : "";
	if (WIFSIGNALED(wstatus)) {
		int sig = WTERMSIG(wstatus);
		if (sig == SIGKILL)
			return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
					 "killed (signal 9: SIGKILL), probably for lack of memory%s%s; "
					 "hint: use a larger maximum tetrahedron volume (now %g mm^3) or a "
					 "coarser surface",
					 sep, line, o->max_volume_mm3);
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
				 "crashed (signal %d: %s) on this surface%s%s; hint: the surface may "
				 "self-intersect or be degenerate: check it first (the mesher does) or "
				 "resample the label map",
				 sig, signal_name(sig), sep, line);
	}
	if (WIFEXITED(wstatus))
		return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "child process exited with code %d%s%s",
				 WEXITSTATUS(wstatus), sep, line);
	return ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "child process ended abnormally%s%s", sep, line);
}

static int counts_sane(const wire_header *h)
{
	return h->n_points >= 4 && h->n_points <= INT32_MAX && h->n_tets >= 1 &&
	       h->n_tets <= INT32_MAX && h->n_tris >= 0 && h->n_tris <= INT32_MAX;
}

/* Reads the child's answer into *out or a message on ctx. The child is not reaped here. */
static int receive(ctw_ctx *ctx, reader *r, ctw_tetmesh **out, int *got_answer)
{
	wire_header h;
	ctw_tetmesh *m = NULL;
	char msg[WIRE_MAX_MSG + 1];
	int ret;

	*got_answer = 0;
	if (read_data(r, &h, sizeof(h)) != sizeof(h))
		return CTW_ERR_EXTERNAL; /* died or timed out: the caller words it */
	if (h.magic != WIRE_MAGIC)
		return ctw_error(ctx, CTW_ERR_INTERNAL, "tetgen", "garbled answer from the child process");
	if (h.status != CTW_OK) {
		if (h.msg_len < 0 || h.msg_len > WIRE_MAX_MSG)
			return ctw_error(ctx, CTW_ERR_INTERNAL, "tetgen", "garbled answer from the child process");
		if (read_data(r, msg, (size_t)h.msg_len) != (size_t)h.msg_len)
			return CTW_ERR_EXTERNAL;
		msg[h.msg_len] = '\0';
		*got_answer = 1;
		/* the message already starts with "tetgen: " (or another domain) */
		return ctw_error(ctx, h.status == CTW_ERR_INVALID ? CTW_ERR_INVALID : CTW_ERR_EXTERNAL,
				 NULL, "%s", msg[0] ? msg : "tetgen: failed");
	}
	if (!counts_sane(&h))
		return ctw_error(ctx, CTW_ERR_INTERNAL, "tetgen",
				 "implausible mesh size from the child process (%lld points, %lld tets, "
				 "%lld triangles)",
				 (long long)h.n_points, (long long)h.n_tets, (long long)h.n_tris);
	ret = ctw_tetmesh_new(ctx, h.n_points, h.n_tets, h.n_tris, &m);
	if (ret)
		return ret;
	if (read_data(r, m->xyz, sizeof(double) * 3 * (size_t)m->n_points) !=
		    sizeof(double) * 3 * (size_t)m->n_points ||
	    read_data(r, m->tets, sizeof(int32_t) * 4 * (size_t)m->n_tets) !=
		    sizeof(int32_t) * 4 * (size_t)m->n_tets ||
	    read_data(r, m->tris, sizeof(int32_t) * 3 * (size_t)m->n_tris) !=
		    sizeof(int32_t) * 3 * (size_t)m->n_tris ||
	    read_data(r, m->tri_marker, sizeof(int32_t) * (size_t)m->n_tris) !=
		    sizeof(int32_t) * (size_t)m->n_tris) {
		ctw_tetmesh_free(ctx, m);
		return CTW_ERR_EXTERNAL;
	}
	*got_answer = 1;
	if (ctw_tetmesh_check(ctx, "tetgen", m)) {
		ctw_tetmesh_free(ctx, m);
		return ctw_error(ctx, CTW_ERR_INTERNAL, "tetgen", "the child process sent a bad mesh");
	}
	*out = m;
	return CTW_OK;
}

static void set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int ctw_tetgen_mesh(ctw_ctx *ctx, const ctw_surface *s, const ctw_tetgen_opts *o, ctw_tetmesh **out)
{
	static const ctw_tetgen_opts defaults = CTW_TETGEN_OPTS_INIT;
	char sw[160];
	int dp[2] = { -1, -1 }, tp[2] = { -1, -1 };
	int ret, wstatus = 0, got_answer = 0;
	reader r;
	pid_t pid, w, parent;
	ctw_tetmesh *m = NULL;
	double ctx_deadline = ctw_ctx_deadline(ctx);

	*out = NULL;
	if (!o)
		o = &defaults;
	if ((ret = check_input(ctx, s, o)))
		return ret;
	if (o->max_volume_mm3 > 0)
		snprintf(sw, sizeof(sw), "pq%.12g/%.12ga%.12gQ", o->max_radius_edge, o->min_dihedral_deg,
			 o->max_volume_mm3);
	else
		snprintf(sw, sizeof(sw), "pq%.12g/%.12gQ", o->max_radius_edge, o->min_dihedral_deg);

	memset(&r, 0, sizeof(r));
	r.data_fd = r.text_fd = -1;
	if (o->timeout_s > 0)
		r.deadline = now_s() + o->timeout_s;
	if (ctx_deadline > 0 && (r.deadline <= 0 || ctx_deadline < r.deadline))
		r.deadline = ctx_deadline; /* the whole stage's time limit */
	if (ctw_ctx_past_deadline(ctx, "tetgen"))
		return CTW_ERR_CANCELLED;
	if (pipe(dp) || pipe(tp)) {
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	set_cloexec(dp[0]);
	set_cloexec(dp[1]);
	set_cloexec(tp[0]);
	set_cloexec(tp[1]);
	fflush(NULL); /* the child must not write out the parent's buffered stdio again */
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "cannot start a child process: %s",
				strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* die with the parent: a killed cardiotwin must not leave TetGen running (the
		   getppid() check closes the race of a parent killed before prctl) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(2);
		close(dp[0]);
		close(tp[0]);
		child_main(ctx, s, sw, dp[1], tp[1]);
	}
	close(dp[1]);
	close(tp[1]);
	r.data_fd = dp[0];
	r.text_fd = tp[0]; /* r owns both read ends now */
	dp[0] = dp[1] = tp[0] = tp[1] = -1;

	/* Read everything before waiting: a child blocked on a full pipe would never exit. */
	ret = receive(ctx, &r, &m, &got_answer);
	if ((got_answer || r.data_eof) && !r.timed_out && !r.failed_errno)
		read_data(&r, NULL, 0); /* the rest of the child's text (its last words when it
					   crashed), until both pipes close */
	if (r.timed_out || r.failed_errno ||
	    (ret != CTW_OK && ret != CTW_ERR_EXTERNAL && ret != CTW_ERR_INVALID)) {
		/* we gave up on the child (time, broken pipe, our allocation, garbled answer) */
		stop_child(pid);
		if (ret == CTW_OK && got_answer)
			goto out; /* complete and checked mesh; only the child's exit was late */
		ctw_tetmesh_free(ctx, m);
		m = NULL;
		if (r.timed_out && ctx_deadline > 0 && now_s() >= ctx_deadline) {
			ctw_ctx_past_deadline(ctx, "tetgen");
			ret = CTW_ERR_CANCELLED;
		} else if (r.timed_out)
			ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen",
					"gave up after %g s; hint: allow more time, or use a larger maximum "
					"tetrahedron volume or a coarser surface",
					o->timeout_s);
		else if (r.failed_errno)
			ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "cannot read from the child process: %s",
					strerror(r.failed_errno));
		goto out;
	}
	w = wait_child(pid, &wstatus);
	if (!got_answer) {
		/* the child died before answering: a crash, an abort or the OOM killer */
		if (w == pid)
			ret = child_outcome(ctx, &r, wstatus, o);
		else
			ret = ctw_error(ctx, CTW_ERR_EXTERNAL, "tetgen", "lost the child process: %s",
					strerror(errno));
	} else if (ret == CTW_OK && w == pid && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
		ctw_tetmesh_free(ctx, m);
		m = NULL;
		ret = child_outcome(ctx, &r, wstatus, o);
	}
out:
	if (ret == CTW_OK)
		*out = m;
	if (r.data_fd >= 0)
		close(r.data_fd);
	if (r.text_fd >= 0)
		close(r.text_fd);
	for (int k = 0; k < 2; k++) {
		if (dp[k] >= 0)
			close(dp[k]);
		if (tp[k] >= 0)
			close(tp[k]);
	}
	return ret;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The census of what in a process a CRIU dump would refuse, from /proc
 * and sock_diag.  It claims "dumps" only for kinds known to dump with
 * thaw's CRIU options (--tcp-established, no --ext-unix-sk, --shell-job
 * or plugin); anything it does not know is "unknown".  A socket's peer
 * is inside when the tree CRIU dumps (the root given and all its
 * descendants) holds it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <fnmatch.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hal-internal.h"
#include "util.h"

#define EXPORT __attribute__((visibility("default")))

/* CRIU keeps deleted files up to this size in the image (--ghost-limit). */
#define GHOST_LIMIT  (1 << 20)

#define MAX_POLICIES 64

struct policy {
	char *pattern;
	enum hal_device_policy policy;
};

static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy policies[MAX_POLICIES];
static size_t n_policies;

struct sock_info {
	unsigned long ino;
	unsigned long peer;
	int type;
	int state;
	char name[108];
};

/* One TCP socket of /proc/PID/net/tcp[6], addresses as IPv6 (mapped). */
struct tcp_info {
	unsigned long ino;
	int state;
	bool v6; /* listed in tcp6 */
	uint8_t laddr[16], raddr[16];
	unsigned lport, rport;
};

/* What one census gathers before it judges. */
struct scan {
	pid_t pid;
	pid_t root; /* the dumped tree's root: peers held below it are inside */
	bool self;
	unsigned long *tree_socks; /* socket inodes held by the tree */
	size_t n_tree_socks, cap_tree_socks;
	struct sock_info *unix_socks; /* sorted by ino */
	size_t n_unix;
	bool unix_loaded;
	struct tcp_info *tcp_socks;
	size_t n_tcp;
	bool tcp_loaded;
	struct hal_census *census;
	size_t cap_entries;
};

EXPORT const char *hal_verdict_to_string(enum hal_verdict verdict)
{
	static const char *const names[] = {
		[HAL_VERDICT_DUMPS] = "dumps",
		[HAL_VERDICT_HAL] = "hal",
		[HAL_VERDICT_BLOCKS] = "blocks",
		[HAL_VERDICT_UNKNOWN] = "unknown",
		[HAL_VERDICT_PLUGIN] = "plugin",
		[HAL_VERDICT_IGNORED] = "ignored",
	};

	if ((unsigned)verdict >= ARRAY_SIZE(names))
		return "invalid";
	return names[verdict];
}

EXPORT int hal_device_policy_add(const char *pattern,
				 enum hal_device_policy policy)
{
	char *p;
	int r = 0;

	if (!pattern || !*pattern || (unsigned)policy > HAL_DEVICE_IGNORE)
		return -EINVAL;

	p = strdup(pattern);
	if (!p)
		return -ENOMEM;

	pthread_mutex_lock(&policy_lock);
	if (n_policies == MAX_POLICIES)
		r = -E2BIG;
	else
		policies[n_policies++] = (struct policy){ p, policy };
	pthread_mutex_unlock(&policy_lock);

	if (r < 0)
		free(p);
	return r;
}

EXPORT void hal_device_policy_clear(void)
{
	pthread_mutex_lock(&policy_lock);
	for (size_t i = 0; i < n_policies; i++)
		free(policies[i].pattern);
	n_policies = 0;
	pthread_mutex_unlock(&policy_lock);
}

static enum hal_device_policy policy_for(const char *path)
{
	enum hal_device_policy p = HAL_DEVICE_REFUSE;

	pthread_mutex_lock(&policy_lock);
	for (size_t i = 0; i < n_policies; i++)
		if (fnmatch(policies[i].pattern, path, FNM_PATHNAME) == 0) {
			p = policies[i].policy;
			break;
		}
	pthread_mutex_unlock(&policy_lock);
	return p;
}

static struct hal_census_entry *entry_add(struct scan *s)
{
	struct hal_census *c = s->census;

	if (c->n_entries == s->cap_entries) {
		size_t cap = s->cap_entries ? s->cap_entries * 2 : 32;
		struct hal_census_entry *e;

		e = realloc(c->entries, cap * sizeof(*e));
		if (!e)
			return NULL;
		c->entries = e;
		s->cap_entries = cap;
	}

	memset(&c->entries[c->n_entries], 0, sizeof(c->entries[0]));
	return &c->entries[c->n_entries++];
}

static void judge(struct hal_census_entry *e, enum hal_verdict v,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void judge(struct hal_census_entry *e, enum hal_verdict v,
		  const char *fmt, ...)
{
	va_list ap;

	e->verdict = v;
	va_start(ap, fmt);
	vsnprintf(e->note, sizeof(e->note), fmt, ap);
	va_end(ap);
}

static int tree_sock_add(struct scan *s, unsigned long ino)
{
	if (s->n_tree_socks == s->cap_tree_socks) {
		size_t cap = s->cap_tree_socks ? s->cap_tree_socks * 2 : 64;
		unsigned long *t;

		t = realloc(s->tree_socks, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		s->tree_socks = t;
		s->cap_tree_socks = cap;
	}
	s->tree_socks[s->n_tree_socks++] = ino;
	return 0;
}

static bool tree_has_sock(const struct scan *s, unsigned long ino)
{
	for (size_t i = 0; i < s->n_tree_socks; i++)
		if (s->tree_socks[i] == ino)
			return true;
	return false;
}

/* Adds the socket inodes that process @pid holds. */
static int tree_socks_of(struct scan *s, pid_t pid)
{
	char dir[64], link[96], target[64];
	struct dirent *de;
	unsigned long ino;
	DIR *d;
	int r = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return 0; /* gone meanwhile */

	while (r == 0 && (de = readdir(d))) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%.20s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) == 1)
			r = tree_sock_add(s, ino);
	}

	closedir(d);
	return r;
}

/* Walks @pid and its descendants through /proc/.../children. */
static int tree_walk(struct scan *s, pid_t pid, int depth)
{
	char path[96];
	struct dirent *de;
	DIR *d;
	int r;

	r = tree_socks_of(s, pid);
	if (r < 0 || depth > 64)
		return r;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;

	while (r == 0 && (de = readdir(d))) {
		FILE *f;
		int child;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/children",
			 pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (r == 0 && fscanf(f, "%d", &child) == 1)
			r = tree_walk(s, child, depth + 1);
		fclose(f);
	}

	closedir(d);
	return r;
}

static int sock_cmp(const void *a, const void *b)
{
	const struct sock_info *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void unix_msg_parse(struct scan *s, struct nlmsghdr *h,
			   struct sock_info *si)
{
	struct unix_diag_msg *m = NLMSG_DATA(h);
	struct nlattr *a = (struct nlattr *)(m + 1);
	int left = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

	*si = (struct sock_info){ .ino = m->udiag_ino,
				  .type = m->udiag_type,
				  .state = m->udiag_state };

	while (left >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	       a->nla_len <= left) {
		void *data = (char *)a + NLA_HDRLEN;
		size_t len = a->nla_len - NLA_HDRLEN;

		if (a->nla_type == UNIX_DIAG_PEER && len >= 4)
			si->peer = *(uint32_t *)data;
		else if (a->nla_type == UNIX_DIAG_NAME && len > 0) {
			len = len < sizeof(si->name) - 1 ? len :
							   sizeof(si->name) - 1;
			memcpy(si->name, data, len);
			if (si->name[0] == '\0')
				si->name[0] = '@';
			si->name[len] = '\0';
		}
		left -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
}

static int unix_recv_all(struct scan *s, int fd)
{
	_cleanup_free_ char *buf = malloc(32768);
	size_t cap = 0;

	if (!buf)
		return -ENOMEM;

	for (;;) {
		ssize_t n = recv(fd, buf, 32768, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0)
			return negative_errno();

		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			if (s->n_unix == cap) {
				struct sock_info *t;

				cap = cap ? cap * 2 : 256;
				t = realloc(s->unix_socks, cap * sizeof(*t));
				if (!t)
					return -ENOMEM;
				s->unix_socks = t;
			}
			unix_msg_parse(s, h, &s->unix_socks[s->n_unix++]);
		}
	}
}

/* Loads every Unix socket of our network namespace once. */
static int unix_load(struct scan *s)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_UNIX,
			 .udiag_states = ~0u,
			 .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER },
	};
	int fd, r;

	if (s->unix_loaded)
		return 0;
	s->unix_loaded = true;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return negative_errno();

	r = send(fd, &q, sizeof(q), 0) < 0 ? negative_errno() :
					     unix_recv_all(s, fd);
	close_fd(fd);

	if (r == 0 && s->n_unix > 0)
		qsort(s->unix_socks, s->n_unix, sizeof(*s->unix_socks),
		      sock_cmp);
	return r;
}

static const struct sock_info *unix_find(const struct scan *s,
					 unsigned long ino)
{
	struct sock_info key = { .ino = ino };

	if (s->n_unix == 0)
		return NULL;
	return bsearch(&key, s->unix_socks, s->n_unix, sizeof(key), sock_cmp);
}

/* The state of an inet socket from /proc/PID/net/{tcp,udp}[6], or -1. */
static int inet_state(pid_t pid, const char *proto, unsigned long ino)
{
	char path[64], line[256];
	unsigned long i;
	unsigned st;
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, proto);
	f = fopen(path, "re");
	if (!f)
		return -1;

	while (found < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st,
			   &i) == 2 &&
		    i == ino)
			found = (int)st;

	fclose(f);
	return found;
}

static void judge_unix(struct scan *s, struct hal_census_entry *e,
		       const struct sock_info *si)
{
	const struct sock_info *peer;

	snprintf(e->type, sizeof(e->type), "unix");
	snprintf(e->name, sizeof(e->name), "%s", si->name);

	if (si->state == 10 /* TCP_LISTEN */) {
		judge(e, HAL_VERDICT_DUMPS, "listening");
		return;
	}
	if (si->peer == 0) {
		judge(e, HAL_VERDICT_DUMPS, "not connected");
		return;
	}
	if (tree_has_sock(s, si->peer)) {
		judge(e, HAL_VERDICT_DUMPS, "peer inside the dumped tree");
		return;
	}

	peer = unix_find(s, si->peer);
	snprintf(e->name, sizeof(e->name), "peer %s",
		 peer && peer->name[0] ? peer->name : "(unnamed)");
	judge(e, HAL_VERDICT_BLOCKS, "connected to a peer outside the tree");
}

/* "0100007F:1F90" (tcp) or 32 hex digits and a port (tcp6). */
static bool tcp_addr_parse(const char *text, bool v6, uint8_t addr[16],
			   unsigned *port)
{
	char hex[40], word[9] = { 0 };
	uint32_t w;

	if (sscanf(text, "%39[0-9A-Fa-f]:%x", hex, port) != 2 ||
	    strlen(hex) != (v6 ? 32 : 8))
		return false;

	/* The kernel prints each 32-bit word as a number of host order. */
	memset(addr, 0, 16);
	if (!v6) {
		w = (uint32_t)strtoul(hex, NULL, 16);
		addr[10] = addr[11] = 0xff; /* as ::ffff:a.b.c.d */
		memcpy(addr + 12, &w, 4);
		return true;
	}
	for (int i = 0; i < 4; i++) {
		memcpy(word, hex + 8 * i, 8);
		w = (uint32_t)strtoul(word, NULL, 16);
		memcpy(addr + 4 * i, &w, 4);
	}
	return true;
}

static int tcp_add(struct scan *s, const struct tcp_info *t, size_t *cap)
{
	if (s->n_tcp == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		struct tcp_info *p = realloc(s->tcp_socks, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->tcp_socks = p;
		*cap = n;
	}
	s->tcp_socks[s->n_tcp++] = *t;
	return 0;
}

static int tcp_load_proto(struct scan *s, bool v6, size_t *cap)
{
	char path[64], line[512], local[80], remote[80];
	unsigned st;
	int r = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", s->pid,
		 v6 ? "tcp6" : "tcp");
	f = fopen(path, "re");
	if (!f)
		return 0; /* no IPv6, say */

	while (r == 0 && fgets(line, sizeof(line), f)) {
		struct tcp_info t = { .v6 = v6 };

		if (sscanf(line, "%*s %79s %79s %x %*s %*s %*s %*s %*s %lu",
			   local, remote, &st, &t.ino) != 4 ||
		    !tcp_addr_parse(local, v6, t.laddr, &t.lport) ||
		    !tcp_addr_parse(remote, v6, t.raddr, &t.rport))
			continue;
		t.state = (int)st;
		r = tcp_add(s, &t, cap);
	}

	fclose(f);
	return r;
}

/* Loads every TCP socket of the process's network namespace once. */
static int tcp_load(struct scan *s)
{
	size_t cap = 0;
	int r;

	if (s->tcp_loaded)
		return 0;
	s->tcp_loaded = true;
	r = tcp_load_proto(s, false, &cap);
	return r < 0 ? r : tcp_load_proto(s, true, &cap);
}

static const struct tcp_info *tcp_find(const struct scan *s, unsigned long ino)
{
	for (size_t i = 0; i < s->n_tcp; i++)
		if (s->tcp_socks[i].ino == ino)
			return &s->tcp_socks[i];
	return NULL;
}

/* Whether the other end of connection @t is a socket the tree holds. */
static bool tcp_peer_inside(const struct scan *s, const struct tcp_info *t)
{
	for (size_t i = 0; i < s->n_tcp; i++) {
		const struct tcp_info *p = &s->tcp_socks[i];

		if (p->ino != 0 && p->lport == t->rport &&
		    p->rport == t->lport && !memcmp(p->laddr, t->raddr, 16) &&
		    !memcmp(p->raddr, t->laddr, 16) && tree_has_sock(s, p->ino))
			return true;
	}
	return false;
}

static void tcp_peer_name(const struct tcp_info *t, char *buf, size_t size)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char a[INET6_ADDRSTRLEN] = "?";

	if (!memcmp(t->raddr, mapped, 12)) {
		inet_ntop(AF_INET, t->raddr + 12, a, sizeof(a));
		snprintf(buf, size, "peer %s:%u", a, t->rport);
	} else {
		inet_ntop(AF_INET6, t->raddr, a, sizeof(a));
		snprintf(buf, size, "peer [%s]:%u", a, t->rport);
	}
}

static void judge_tcp(struct scan *s, struct hal_census_entry *e,
		      const struct tcp_info *t)
{
	snprintf(e->type, sizeof(e->type), "%s", t->v6 ? "tcp6" : "tcp");
	if (t->state == 10 /* TCP_LISTEN */) {
		judge(e, HAL_VERDICT_DUMPS, "listening");
		return;
	}
	if (t->state == 7 /* TCP_CLOSE */) {
		judge(e, HAL_VERDICT_DUMPS, "not connected");
		return;
	}

	tcp_peer_name(t, e->name, sizeof(e->name));
	if (t->state == 2 || t->state == 3) /* SYN_SENT, SYN_RECV */
		judge(e, HAL_VERDICT_BLOCKS, "tcp connection being set up");
	else if (tcp_peer_inside(s, t))
		judge(e, HAL_VERDICT_DUMPS,
		      "tcp connection inside the dumped tree");
	else
		judge(e, HAL_VERDICT_BLOCKS,
		      "tcp connection to a peer outside the tree");
}

static void judge_inet(struct scan *s, struct hal_census_entry *e,
		       unsigned long ino)
{
	static const char *const protos[] = { "udp", "udp6" };
	const struct tcp_info *t;

	if (tcp_load(s) == 0 && (t = tcp_find(s, ino))) {
		judge_tcp(s, e, t);
		return;
	}

	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		if (inet_state(s->pid, protos[i], ino) < 0)
			continue;
		snprintf(e->type, sizeof(e->type), "%s", protos[i]);
		judge(e, HAL_VERDICT_DUMPS, "not connected");
		return;
	}

	snprintf(e->type, sizeof(e->type), "socket");
	judge(e, HAL_VERDICT_UNKNOWN, "socket family not checked");
}

static void judge_socket(struct scan *s, struct hal_census_entry *e,
			 unsigned long ino)
{
	const struct sock_info *si;

	if (unix_load(s) == 0 && (si = unix_find(s, ino))) {
		judge_unix(s, e, si);
		return;
	}
	judge_inet(s, e, ino);
}

static void judge_anon(struct hal_census_entry *e, const char *target)
{
	static const char *const known[] = {
		"anon_inode:[eventfd]",	 "anon_inode:[eventpoll]",
		"anon_inode:[signalfd]", "anon_inode:[timerfd]",
		"anon_inode:inotify",	 "anon_inode:[fanotify]",
	};

	snprintf(e->type, sizeof(e->type), "anon");
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (streq(target, known[i])) {
			judge(e, HAL_VERDICT_DUMPS, "supported by CRIU");
			return;
		}
	judge(e, HAL_VERDICT_UNKNOWN, "kind not known to dump");
}

static bool is_tty_major(unsigned maj)
{
	return maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
}

static bool is_mem_dumpable(unsigned maj, unsigned min)
{
	/* null, zero, full, random, urandom: CRIU reopens them by path */
	return maj == 1 &&
	       (min == 3 || min == 5 || min == 7 || min == 8 || min == 9);
}

static void judge_device(struct scan *s, struct hal_census_entry *e,
			 const struct stat *st)
{
	unsigned maj = major(st->st_rdev), min = minor(st->st_rdev);

	snprintf(e->type, sizeof(e->type),
		 S_ISCHR(st->st_mode) ? "chr" : "blk");

	if (S_ISCHR(st->st_mode) && is_mem_dumpable(maj, min)) {
		judge(e, HAL_VERDICT_DUMPS, "memory device %u:%u", maj, min);
		return;
	}
	if (S_ISCHR(st->st_mode) && is_tty_major(maj)) {
		judge(e, HAL_VERDICT_UNKNOWN, "terminal %u:%u", maj, min);
		return;
	}

	switch (policy_for(e->name)) {
	case HAL_DEVICE_PLUGIN:
		judge(e, HAL_VERDICT_PLUGIN, "reopened by the plugin %u:%u",
		      maj, min);
		break;
	case HAL_DEVICE_IGNORE:
		judge(e, HAL_VERDICT_IGNORED, "left by policy %u:%u", maj, min);
		break;
	default:
		judge(e, HAL_VERDICT_BLOCKS, "unregistered device %u:%u", maj,
		      min);
	}
}

static int fd_flags(pid_t pid, int fd)
{
	char path[64], line[128];
	int flags = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", (unsigned *)&flags) == 1)
			break;
	fclose(f);
	return flags;
}

static void judge_regular(struct scan *s, struct hal_census_entry *e,
			  const struct stat *st)
{
	size_t len = strlen(e->name);
	int flags;

	snprintf(e->type, sizeof(e->type), "reg");
	if (strncmp(e->name, "/memfd:", 7) == 0) {
		snprintf(e->type, sizeof(e->type), "memfd");
		if (strncmp(e->name + 7, HAL_RESERVED_NAME,
			    strlen(HAL_RESERVED_NAME)) == 0)
			judge(e, HAL_VERDICT_HAL, "reserved for a released fd");
		else
			judge(e, HAL_VERDICT_DUMPS, "memfd");
		return;
	}

	if (len > 10 && streq(e->name + len - 10, " (deleted)")) {
		if (st->st_size <= GHOST_LIMIT)
			judge(e, HAL_VERDICT_DUMPS, "deleted, kept as a ghost");
		else
			judge(e, HAL_VERDICT_BLOCKS,
			      "deleted, over CRIU's ghost limit");
		return;
	}

	flags = fd_flags(s->pid, e->fd);
	if (flags >= 0 && (flags & O_ACCMODE) != O_RDONLY)
		judge(e, HAL_VERDICT_DUMPS,
		      "writable: a restore fails if its size changes");
	else
		judge(e, HAL_VERDICT_DUMPS, "regular file");
}

static bool registered_fd(const struct scan *s, int fd)
{
	return s->self && hal_registry_has_fd && hal_registry_has_fd(fd);
}

static void judge_fd(struct scan *s, struct hal_census_entry *e,
		     const char *target, const struct stat *st)
{
	unsigned long ino;

	snprintf(e->name, sizeof(e->name), "%s", target);

	if (sscanf(target, "socket:[%lu]", &ino) == 1)
		judge_socket(s, e, ino);
	else if (strncmp(target, "pipe:[", 6) == 0) {
		snprintf(e->type, sizeof(e->type), "pipe");
		judge(e, HAL_VERDICT_DUMPS, "pipe");
	} else if (strncmp(target, "anon_inode:", 11) == 0)
		judge_anon(e, target);
	else if (!st)
		judge(e, HAL_VERDICT_UNKNOWN, "cannot stat");
	else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		judge_device(s, e, st);
	else if (S_ISREG(st->st_mode))
		judge_regular(s, e, st);
	else if (S_ISDIR(st->st_mode) || S_ISFIFO(st->st_mode)) {
		snprintf(e->type, sizeof(e->type),
			 S_ISDIR(st->st_mode) ? "dir" : "fifo");
		judge(e, HAL_VERDICT_DUMPS, "%s", e->type);
	} else
		judge(e, HAL_VERDICT_UNKNOWN, "file type %o",
		      st->st_mode & S_IFMT);

	/* A registered fd is the HAL's, whatever the census made of it. */
	if (registered_fd(s, e->fd) && e->verdict != HAL_VERDICT_HAL)
		judge(e, HAL_VERDICT_HAL, "registered (%s)", e->note);
}

static int scan_fds(struct scan *s)
{
	char dir[64], link[96], target[256];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", s->pid);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? -ESRCH : negative_errno();

	while ((de = readdir(d))) {
		struct hal_census_entry *e;
		struct stat st;
		bool have_st;
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (s->self && fd == dirfd(d))
			continue;

		snprintf(link, sizeof(link), "%s/%.20s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		have_st = stat(link, &st) == 0;

		e = entry_add(s);
		if (!e) {
			closedir(d);
			return -ENOMEM;
		}
		e->fd = fd;
		judge_fd(s, e, target, have_st ? &st : NULL);
	}

	closedir(d);
	return 0;
}

static void judge_mapping(struct scan *s, struct hal_census_entry *e,
			  const char *path, bool shared, unsigned long ino)
{
	struct stat st;

	snprintf(e->name, sizeof(e->name), "%s", path);

	if (strncmp(path, "/SYSV", 5) == 0) {
		snprintf(e->type, sizeof(e->type), "sysv-shm");
		snprintf(e->name, sizeof(e->name), "key 0x%.8s shmid %lu",
			 path + 5, ino);
		if (s->self && hal_registry_has_mapping &&
		    hal_registry_has_mapping(e->start))
			judge(e, HAL_VERDICT_HAL, "registered");
		else
			judge(e, HAL_VERDICT_BLOCKS,
			      "System V shm outside an IPC namespace");
	} else if (strncmp(path, "/dev/", 5) == 0 &&
		   strncmp(path, "/dev/zero", 9) != 0 && stat(path, &st) == 0 &&
		   (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(e->type, sizeof(e->type), "device-map");
		judge(e, HAL_VERDICT_BLOCKS, "mapping of a device");
	} else if (streq(path, "/dev/zero (deleted)") || !*path ||
		   strncmp(path, "/memfd:", 7) == 0) {
		snprintf(e->type, sizeof(e->type), "shared-anon");
		judge(e, HAL_VERDICT_DUMPS, "shared anonymous memory");
	} else if (path[0] == '/' && !strstr(path, " (deleted)")) {
		snprintf(e->type, sizeof(e->type), "shared-file");
		judge(e, HAL_VERDICT_DUMPS, "shared file mapping");
	} else {
		snprintf(e->type, sizeof(e->type), "mapping");
		judge(e, HAL_VERDICT_UNKNOWN, "%s mapping not checked",
		      shared ? "shared" : "private");
	}
}

static bool mapping_listed(const char *perms, const char *path)
{
	if (perms[3] == 's')
		return true;
	/* Private mappings matter only when they map a device. */
	return strncmp(path, "/dev/", 5) == 0 &&
	       strncmp(path, "/dev/zero", 9) != 0;
}

static int scan_maps(struct scan *s)
{
	unsigned long start, end, ino;
	char perms[8], path[256], line[512];
	char file[64];
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/maps", s->pid);
	f = fopen(file, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : negative_errno();

	while (fgets(line, sizeof(line), f)) {
		struct hal_census_entry *e;

		path[0] = '\0';
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %255[^\n]", &start,
			   &end, perms, &ino, path) < 4)
			continue;
		if (!mapping_listed(perms, path))
			continue;

		e = entry_add(s);
		if (!e) {
			fclose(f);
			return -ENOMEM;
		}
		e->fd = -1;
		e->start = start;
		e->end = end;
		judge_mapping(s, e, path, perms[3] == 's', ino);
	}

	fclose(f);
	return 0;
}

EXPORT struct hal_census *hal_census_free(struct hal_census *census)
{
	if (census) {
		free(census->entries);
		free(census);
	}
	return NULL;
}

static void scan_done(struct scan *s)
{
	free(s->tree_socks);
	free(s->unix_socks);
	free(s->tcp_socks);
	hal_census_free(s->census);
}

EXPORT int hal_census_take(pid_t pid, struct hal_census **ret)
{
	return hal_census_take_tree(pid, pid, ret);
}

EXPORT int hal_census_take_tree(pid_t pid, pid_t root, struct hal_census **ret)
{
	struct scan s = { .pid = pid > 0 ? pid : getpid(),
			  .root = root > 0 ? root : getpid() };
	int r;

	if (pid < 0 || root < 0 || !ret)
		return -EINVAL;
	s.self = s.pid == getpid();

	s.census = calloc(1, sizeof(*s.census));
	if (!s.census)
		return -ENOMEM;
	s.census->pid = s.pid;

	/* Before the fd scan, so that their fds are not listed. */
	unix_load(&s);
	tcp_load(&s);

	r = tree_walk(&s, s.root, 0);
	if (r == 0)
		r = scan_fds(&s);
	if (r == 0)
		r = scan_maps(&s);
	if (r < 0) {
		scan_done(&s);
		return r;
	}

	for (size_t i = 0; i < s.census->n_entries; i++)
		if (s.census->entries[i].verdict == HAL_VERDICT_BLOCKS)
			s.census->n_blockers++;

	*ret = TAKE_PTR(s.census);
	scan_done(&s);
	return 0;
}

EXPORT int hal_census_format(const struct hal_census *census,
			     bool blockers_only, char **ret_text)
{
	struct hal_text t = { 0 };

	for (size_t i = 0; i < census->n_entries; i++) {
		const struct hal_census_entry *e = &census->entries[i];

		if (blockers_only && e->verdict != HAL_VERDICT_BLOCKS)
			continue;
		if (e->fd >= 0)
			hal_text_add(&t, "fd %d %s %s: %s (%s)\n", e->fd,
				     e->type, e->name,
				     hal_verdict_to_string(e->verdict),
				     e->note);
		else
			hal_text_add(&t, "map %lx-%lx %s %s: %s (%s)\n",
				     e->start, e->end, e->type, e->name,
				     hal_verdict_to_string(e->verdict),
				     e->note);
	}

	if (t.failed) {
		hal_text_done(&t);
		return -ENOMEM;
	}
	*ret_text = t.buf ? t.buf : strdup("");
	return *ret_text ? 0 : -ENOMEM;
}

// floor: the least a recursive relabel must do, as a baseline for
// bench/relabel.sh. Single-threaded; per directory one openat, getdents64
// calls with a 1 MiB buffer and a close; per entry one getxattrat and, only
// when the label differs (raw byte compare), one setxattrat. d_type decides
// what to descend into; no stat, no paths, no mount checks, no canonical
// compare, no error handling beyond counting. The root is labeled last.
//
//   cc -O2 -o floor floor.c && ./floor LABEL DIR
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SYS_setxattrat_ 463
#define SYS_getxattrat_ 464

struct xattr_args { uint64_t value; uint32_t size; uint32_t flags; };
struct d64 { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };

static const char *attr = "security.selinux";
static const char *want;
static size_t wantlen;
static long nvisit, nchange, nerr;
static char *buf;
#define BUFSZ (1 << 20)

static int matches(const char *v, ssize_t n) {
	while (n > 0 && v[n - 1] == 0) n--;
	return (size_t)n == wantlen && memcmp(v, want, n) == 0;
}

static void label_at(int dfd, const char *name) {
	char v[256];
	struct xattr_args a = { (uint64_t)(uintptr_t)v, sizeof v, 0 };
	ssize_t n = syscall(SYS_getxattrat_, dfd, name, AT_SYMLINK_NOFOLLOW, attr, &a, sizeof a);
	nvisit++;
	if (n >= 0 && matches(v, n)) return;
	struct xattr_args s = { (uint64_t)(uintptr_t)want, (uint32_t)wantlen + 1, 0 };
	if (syscall(SYS_setxattrat_, dfd, name, AT_SYMLINK_NOFOLLOW, attr, &s, sizeof s) != 0) nerr++;
	else nchange++;
}

static void walk(int dfd) {
	char **subs = NULL;
	size_t nsub = 0, cap = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, BUFSZ);
		if (n <= 0) break;
		for (long off = 0; off < n;) {
			struct d64 *d = (struct d64 *)(buf + off);
			off += d->reclen;
			if (d->name[0] == '.' && (!d->name[1] || (d->name[1] == '.' && !d->name[2]))) continue;
			label_at(dfd, d->name);
			if (d->type == DT_DIR) {
				if (nsub == cap) subs = realloc(subs, (cap = cap ? 2 * cap : 16) * sizeof *subs);
				subs[nsub++] = strdup(d->name);
			}
		}
	}
	for (size_t i = 0; i < nsub; i++) {
		int cfd = openat(dfd, subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd >= 0) { walk(cfd); close(cfd); } else nerr++;
		free(subs[i]);
	}
	free(subs);
}

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: floor LABEL DIR\n"); return 2; }
	want = argv[1];
	wantlen = strlen(want);
	buf = malloc(BUFSZ);
	int fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) { perror(argv[2]); return 2; }
	walk(fd);
	char v[256];
	ssize_t n = fgetxattr(fd, attr, v, sizeof v);
	nvisit++;
	if (!(n >= 0 && matches(v, n))) {
		if (fsetxattr(fd, attr, want, wantlen + 1, 0) != 0) nerr++; else nchange++;
	}
	fprintf(stderr, "floor: %ld visited, %ld changed, %ld errors\n", nvisit, nchange, nerr);
	return nerr ? 1 : 0;
}

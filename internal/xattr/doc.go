// Package xattr holds the Linux system calls of selmount's relabeler:
// extended attribute reads and writes by path, by descriptor and relative to
// a directory descriptor (getxattrat/setxattrat, Linux 6.13+, with fallbacks),
// and directory reading with getdents64.
//
// Every call retries EINTR. Errors are *os.PathError values that carry the
// path of the entry, built only when a call fails: the hot path of a tree
// walk allocates nothing. The one exception is a missing attribute, which is
// returned as the bare unix.ENODATA so that reading an unlabeled file stays
// free of allocations too.
//
// Names of directory entries are passed as byte slices that end with their
// NUL terminator, the form in which getdents64 returns them, so that they can
// be handed to the kernel without a copy.
//
// On other operating systems the package is empty.
package xattr

/*
 * sizes.c - the size of each kind of socket, against the memory targets
 * (256 bytes per established connection, 128 per request socket), and of
 * the replay's own per-connection bookkeeping.
 *
 * Build: cc -Istack -Isim bench/sizes.c
 */
#include <stdio.h>

#include "internal.h"
#include "tuplemap.h"

#define ROW(type, note) \
	printf("%-22s %5zu bytes%s\n", #type, sizeof(type), note)
/* A row with a target: the verdict is computed, not written in. */
#define TARGET(type, max, what) \
	printf("%-22s %5zu bytes   (target %d: %s; %s)\n", #type, sizeof(type), max, what, \
	       sizeof(type) <= (max) ? "met" : "NOT MET")

int main(void)
{
	TARGET(struct sock, 256, "established connection");
	TARGET(struct request_sock, 128, "request socket");
	ROW(struct tw_sock, "");
	ROW(struct sock_common, "   (in each of the three)");
	ROW(struct bind_node, "   (in sock and tw_sock)");
	ROW(struct timer, "   (in each of the three)");
	ROW(struct sock_bufs, "   (sock's two byte queues, malloc'd while either holds bytes; data >= 1024 bytes each)");
	ROW(struct listen_state, "   (listeners only, malloc'd)");
	ROW(struct ip_addr, "   (x2 in sock_common)");
	ROW(struct tentry, "   (replay: one per adopted SYN cookie, at most 65536; malloc'd)");
	return 0;
}

/* placeholder until the tcp suite lands */
#include "suites.h"
Suite *tcp_suite(void)
{
	return suite_create("tcp");
}

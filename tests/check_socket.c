/* placeholder until the socket suite lands */
#include "suites.h"
Suite *socket_suite(void)
{
	return suite_create("socket");
}

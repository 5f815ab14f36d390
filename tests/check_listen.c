/* placeholder until the listen suite lands */
#include "suites.h"
Suite *listen_suite(void)
{
	return suite_create("listen");
}

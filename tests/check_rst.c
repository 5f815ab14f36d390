/* placeholder until the rst suite lands */
#include "suites.h"
Suite *rst_suite(void)
{
	return suite_create("rst");
}

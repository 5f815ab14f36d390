/* placeholder until the ehash suite lands */
#include "suites.h"
Suite *ehash_suite(void)
{
	return suite_create("ehash");
}
